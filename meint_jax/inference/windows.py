"""Windows over an input longer than one: where the model looks, and how its answers are merged.

A long input is covered by windows of the model's T positions, `frame_step`
frames apart, overlapping by half; their predictions are blended (windows
weigh their edges less, where a temporal model has seen least context) and
interpolated to every frame.
"""

from __future__ import annotations

import math

import numpy as np
from absl import logging


def window_positions(num_frames: int, window: int, frame_step: int) -> np.ndarray:
    """Frame indices [W, window] the model looks at to cover `num_frames` frames.

    An input no longer than one window's span gets a single window whose positions
    spread evenly over it (nearest frame), as the evaluation pipeline samples a clip.
    A longer one gets windows on a lattice `frame_step` frames apart that spans
    first to last frame, each starting half a window after the previous one.
    """
    if num_frames < 1:
        raise ValueError("no frames to predict")
    if num_frames <= (window - 1) * frame_step + 1:
        grid = np.linspace(0.0, num_frames - 1, window, dtype=np.float32)
        return np.argmin(np.abs(np.arange(num_frames)[None, :] - grid[:, None]), axis=1)[None, :]
    lattice_size = math.ceil((num_frames - 1) / frame_step) + 1
    lattice = np.round(np.linspace(0, num_frames - 1, lattice_size)).astype(np.int64)
    hop = max(window // 2, 1)
    starts = list(range(0, lattice_size - window + 1, hop))
    if starts[-1] != lattice_size - window:
        starts.append(lattice_size - window)
    return np.stack([lattice[s:s + window] for s in starts])


def merge_windows(positions: np.ndarray, predictions: np.ndarray, num_frames: int) -> tuple[np.ndarray, np.ndarray]:
    """(curve [num_frames], sampled [num_frames] bool): blended window predictions, interpolated."""
    window = positions.shape[1]
    weights = np.broadcast_to(np.sin(np.pi * (np.arange(window) + 0.5) / window), positions.shape)
    total = np.zeros(num_frames)
    weight = np.zeros(num_frames)
    np.add.at(total, positions, predictions * weights)
    np.add.at(weight, positions, weights)
    sampled = weight > 0
    index = np.flatnonzero(sampled)
    curve = np.interp(np.arange(num_frames), index, total[index] / weight[index])
    return curve.astype(np.float32), sampled


def default_frame_step(expression_frames: float | None, window: int) -> int:
    """Frames between a window's positions, so a window spans about twice the typical expression.

    That is the span of the untrimmed windows training sees on average (the
    expression plus up to one expression length on either side).
    """
    if not expression_frames:
        logging.warning("The checkpoint does not record its training clips' expression length; "
                        "using frame_step=1 (set --frame_step to match your frame rate).")
        return 1
    return max(1, round(2.0 * expression_frames / (window - 1)))
