"""The recognition baselines that need no learning: the training labels' majority class and their class
prior, whose labels are drawn at random (spotting's per kind of expression, clip recognition's per clip)."""

from __future__ import annotations

from typing import Sequence

import numpy as np


class ClassPrior:
    """Training labels counted over `classes`: each class's share, the majority class (the first in class order
    on a tie), and labels drawn from the shares. Labels of no class are not counted; with none counted every
    class weighs the same."""

    def __init__(self, labels: Sequence[str], classes: Sequence[str]):
        self.classes = tuple(classes)
        self.counts = {c: sum(label == c for label in labels) for c in self.classes}
        counts = np.array([self.counts[c] for c in self.classes], np.float64)
        if not len(counts) or not counts.sum():
            counts = np.ones(len(self.classes))
        self.shares = counts / max(counts.sum(), 1.0)
        self.majority = self.classes[int(np.argmax(counts))] if self.classes else None

    def draw(self, rng: np.random.Generator) -> str:
        """One label drawn from the shares."""
        return self.classes[int(rng.choice(len(self.classes), p=self.shares))]

    def draws(self, rng: np.random.Generator, shape) -> np.ndarray:
        """Class indices of `shape` drawn from the shares."""
        return rng.choice(len(self.classes), shape, p=self.shares)
