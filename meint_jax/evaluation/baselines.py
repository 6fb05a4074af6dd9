"""Predictors that never look at a pixel, to say what a model adds.

The position prior predicts, at each of the T window positions, the mean
training target at that position. In the paper's trimmed protocol it already
scores high, because the window itself says where onset and offset are; in
the untrimmed protocol a model has to beat it by looking at the face.
"""

from __future__ import annotations

import numpy as np


def fit_position_prior(train_targets: np.ndarray) -> np.ndarray:
    """Mean target [T] over training windows [N, T]."""
    return np.asarray(train_targets, np.float64).mean(axis=0)


def predict_position_prior(prior: np.ndarray, num_windows: int) -> np.ndarray:
    return np.tile(prior, (num_windows, 1))
