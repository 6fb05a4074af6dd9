"""Subject-disjoint splits, for clips and long videos alike (no TensorFlow)."""

from __future__ import annotations

import numpy as np


def split_subjects(subjects: list[str], num_holdout: int, seed: int) -> tuple[list[str], list[str]]:
    """Subject-disjoint (train, test) split with `num_holdout` test subjects."""
    if not 0 < num_holdout < len(subjects):
        raise ValueError(f"eval.holdout_subjects={num_holdout} must be between 1 and "
                         f"{len(subjects) - 1} for a dataset of {len(subjects)} subjects")
    order = np.random.default_rng(seed).permutation(len(subjects))
    test = sorted(subjects[i] for i in order[:num_holdout])
    return sorted(set(subjects) - set(test)), test
