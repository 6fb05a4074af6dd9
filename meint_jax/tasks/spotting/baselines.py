"""Spotters that need no learning, to say what a model adds: a chance spotter that never sees a pixel, and an
unlearned motion detector whose scores go through the model's decoder."""

from __future__ import annotations

import numpy as np


def expression_rate(lengths_and_frames: list[tuple[int, int]]) -> float:
    """Expressions per frame over training videos, given (expressions, frames) per video."""
    expressions = sum(e for e, _ in lengths_and_frames)
    frames = sum(f for _, f in lengths_and_frames)
    return expressions / frames if frames else 0.0


def chance_intervals(num_frames: int, rate: float, length: int, rng: np.random.Generator) -> list[tuple[int, int]]:
    """A spotter that never sees a pixel: Poisson(rate x frames) intervals of `length` frames (inclusive),
    uniformly placed; indices into the video's frames."""
    length = int(min(max(1, length), num_frames))
    count = int(rng.poisson(rate * num_frames))
    onsets = rng.integers(0, num_frames - length + 1, size=count)
    return [(int(o), int(o) + length - 1) for o in np.sort(onsets)]


def motion_scores(trajectories: np.ndarray, lag: int) -> np.ndarray:
    """An unlearned motion detector's per-frame score: the mean over facial regions of how far each moved in
    the last `lag` frames (region trajectories [N, 36] from `flow_features`, head motion already removed),
    as the MEGC 2020 baseline scores frame differences at a fixed interval."""
    trajectories = np.asarray(trajectories, np.float64)
    lag = max(1, int(lag))
    earlier = np.concatenate([np.repeat(trajectories[:1], lag, axis=0), trajectories[:-lag]])
    moved = (trajectories - earlier).reshape(len(trajectories), -1, 2)
    return np.linalg.norm(moved, axis=-1).mean(axis=-1)
