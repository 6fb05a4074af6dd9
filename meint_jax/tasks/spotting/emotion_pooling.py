"""A spotted interval's emotion from the per-frame class probabilities inside it.

`probabilities` [L, C + 1] are the emotion head's softmax over the interval's frames: C emotion classes,
then neutral. Two rules (`config.eval.emotion_pooling`):
- `vote` (paper 002): each frame votes for its most probable class; the interval takes the class with most
  votes among the C emotions (ties: the higher mean probability), and is "voted neutral" when neutral has
  more votes than every emotion;
- `mean`: the classes' mean probabilities; the interval takes the most probable emotion and is "voted
  neutral" when neutral's mean is the highest.
An interval always gets an emotion; whether one voted neutral is dropped is the caller's option (reported
with and without).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

RULES = ("vote", "mean")


class PooledEmotion(NamedTuple):
    index: int            # the class, 0..C-1
    probability: float    # its mean probability over the interval's frames
    neutral: bool         # neutral won the pooling


def pool(probabilities: np.ndarray, rule: str = "vote") -> PooledEmotion:
    probabilities = np.asarray(probabilities, np.float64)
    if probabilities.ndim != 2 or probabilities.shape[1] < 2 or not len(probabilities):
        raise ValueError(f"probabilities of shape {probabilities.shape}: want [frames >= 1, classes + neutral]")
    mean = probabilities.mean(axis=0)
    emotions = probabilities.shape[1] - 1
    if rule == "vote":
        votes = np.bincount(probabilities.argmax(axis=1), minlength=emotions + 1)
        best = max(range(emotions), key=lambda c: (votes[c], mean[c]))
        return PooledEmotion(best, float(mean[best]), bool(votes[emotions] > votes[best]))
    if rule == "mean":
        best = int(np.argmax(mean[:emotions]))
        return PooledEmotion(best, float(mean[best]), bool(mean[emotions] > mean[best]))
    raise ValueError(f"emotion pooling {rule!r}: use one of {RULES}")
