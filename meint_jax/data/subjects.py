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


DATASET_SEPARATOR = "_"         # a composite's subject: <dataset>_<the dataset's own code> (`samm_006`)


def composite_subject(dataset: str, subject: str) -> str:
    """The subject code a composite stores: its dataset's name, then the dataset's own code."""
    return f"{dataset}{DATASET_SEPARATOR}{subject}"


def dataset_of(subject: str) -> str | None:
    """The dataset a composite's subject belongs to (`samm_006` -> `samm`); None for a plain subject code."""
    name, separator, _ = subject.partition(DATASET_SEPARATOR)
    return name if separator and name else None
