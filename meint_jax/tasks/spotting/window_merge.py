"""How the scores of overlapping windows become one score per frame of a whole video (`eval.window_merge`).

- `mean` (ours): a frame's score is the mean over every window holding it;
- `first` (paper 002's inference): a frame takes the scores of the first window, in start order, that holds
  it. With their stride of half a window this is what their code writes: the first window whole, then each
  later window's second half. (Their code keys "the first window" on a window's place in its test batch, not
  in its video, so a batch that starts mid-video rewrites half a window and a video that starts mid-batch keeps
  its first half window at 0; those follow the batch size and are not reproduced.)
"""

from __future__ import annotations

import numpy as np


def mean(starts, scores: np.ndarray, masks: np.ndarray, size: int) -> np.ndarray:
    """float [size, C]: each frame's mean over the windows holding it (0 where none does)."""
    total, count = np.zeros((size, scores.shape[-1])), np.zeros(size)
    for start, window_scores, mask in zip(starts, scores, masks):
        grid = int(start) + np.arange(len(window_scores))
        keep = (mask > 0) & (grid < size)
        np.add.at(total, grid[keep], window_scores[keep])
        np.add.at(count, grid[keep], 1.0)
    return total / np.maximum(count, 1.0)[:, None]


def first(starts, scores: np.ndarray, masks: np.ndarray, size: int) -> np.ndarray:
    """float [size, C]: each frame's scores from the earliest-starting window holding it (0 where none does)."""
    out, filled = np.zeros((size, scores.shape[-1])), np.zeros(size, bool)
    for k in np.argsort(np.asarray(starts), kind="stable"):
        grid = int(starts[k]) + np.arange(scores.shape[1])
        keep = (masks[k] > 0) & (grid < size)
        keep[keep] = ~filled[grid[keep]]
        out[grid[keep]] = scores[k][keep]
        filled[grid[keep]] = True
    return out


MERGES = {"mean": mean, "first": first}


def merge(starts, scores, masks, size: int, how: str = "mean") -> np.ndarray:
    """Windows' scores [K, W, C] at `starts` (rows of the video's step grid; `masks` [K, W] 0 for padding) ->
    float [size, C] per row, by `how` (one of MERGES)."""
    if how not in MERGES:
        raise ValueError(f"window merge {how!r}: choose one of {tuple(MERGES)}")
    return MERGES[how](np.asarray(starts), np.asarray(scores, np.float64), np.asarray(masks), size)
