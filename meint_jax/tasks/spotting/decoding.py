"""From per-frame scores to intervals ("prior-guided interval selection", after paper 002).

For one score channel of one video (micro or macro), in order:
1. smooth the scores (a moving average of `smooth` frames);
2. threshold relative to the video's own scores: mean + p x (max - mean);
3. peaks above it at least `min_distance` frames apart (`scipy.signal.find_peaks`; paper 002's
   k_p = (median ME length + 1) / 2);
4. each interval grown from its peak while the smoothed score stays at or above the threshold;
5. the duration prior: intervals shorter than `min_length` or longer than `max_length` (from the
   training folds' expression lengths) are widened or cut around their peak;
6. non-maximum suppression by score at `nms_iou`.

Every setting is in `DecoderConfig`. `tune` picks settings by F1 on validation videos, which the caller
draws from the training subjects only: nothing here sees a test fold.
"""

from __future__ import annotations

import dataclasses
import itertools
from typing import Iterable, Sequence

import numpy as np
from scipy import ndimage, signal

from meint_jax.metrics import megc


@dataclasses.dataclass(frozen=True)
class DecoderConfig:
    smooth: int = 5             # moving-average width, frames
    p: float = 0.5              # threshold = mean + p (max - mean)
    min_distance: int = 5       # between peaks, frames (k_p)
    min_length: int = 1         # duration prior, frames, onset to offset inclusive
    max_length: int = 10 ** 9
    nms_iou: float = 0.5

    def __post_init__(self):
        if self.smooth < 1 or self.min_distance < 1 or not 1 <= self.min_length <= self.max_length:
            raise ValueError(f"decoder settings {self}: smooth, min_distance and min_length must be at least 1 and "
                             "min_length at most max_length")


@dataclasses.dataclass(frozen=True)
class Spotted:
    """One decoded interval, in indices of the scored sequence (inclusive)."""

    onset: int
    peak: int
    offset: int
    score: float


def with_duration_prior(config: DecoderConfig, lengths: Sequence[int], low: float = 0.5,
                        high: float = 2.0) -> DecoderConfig:
    """`config` with k_p = (median + 1) // 2 and lengths kept within [low, high] x median of the training
    folds' expression lengths (frames, inclusive)."""
    if not len(lengths):
        return config
    median = float(np.median(lengths))
    return dataclasses.replace(config, min_distance=max(1, int((median + 1) // 2)),
                               min_length=max(1, int(round(low * median))),
                               max_length=max(1, int(round(high * median))))


def _fit_length(onset: int, peak: int, offset: int, config: DecoderConfig, size: int) -> tuple[int, int]:
    length = offset - onset + 1
    target = min(max(length, config.min_length), config.max_length, size)
    if target == length:
        return onset, offset
    onset = peak - (target - 1) // 2
    onset = min(max(onset, 0), size - target)
    return onset, onset + target - 1


def decode(scores: np.ndarray, config: DecoderConfig) -> list[Spotted]:
    """The intervals of one score sequence, best first."""
    scores = np.asarray(scores, np.float64)
    if scores.ndim != 1 or not len(scores):
        return []
    smoothed = ndimage.uniform_filter1d(scores, config.smooth, mode="nearest") if config.smooth > 1 else scores
    mean, top = smoothed.mean(), smoothed.max()
    if top <= mean:
        return []                                   # a flat curve holds nothing to spot
    threshold = mean + config.p * (top - mean)
    peaks, _ = signal.find_peaks(np.pad(smoothed, 1, constant_values=-np.inf), height=threshold,
                                 distance=config.min_distance)
    above = smoothed >= threshold
    found = []
    for peak in peaks - 1:
        onset = peak
        while onset > 0 and above[onset - 1]:
            onset -= 1
        offset = peak
        while offset < len(scores) - 1 and above[offset + 1]:
            offset += 1
        onset, offset = _fit_length(onset, peak, offset, config, len(scores))
        found.append(Spotted(int(onset), int(peak), int(offset), float(smoothed[peak])))
    kept = []
    for candidate in sorted(found, key=lambda s: -s.score):
        if all(megc.iou((candidate.onset, candidate.offset), (k.onset, k.offset)) < config.nms_iou
               for k in kept):
            kept.append(candidate)
    return kept


def grid_span(onset: int, offset: int, frame_numbers: np.ndarray, step: int = 1) -> tuple[int, int]:
    """(first, last) frame number of rows onset..offset of a video scored on every `step`-th frame.

    An expression's boundary lies anywhere between two scored frames, so each end widens by half a step
    (clipped to the video): mapping the rows to their own frames alone would make every interval on
    average step - 1 frames shorter than the expression it spots (6 on SAMM-LV's 7-frame grid).
    `frame_numbers` are all the video's frames, not only the scored ones.
    """
    first = max(0, onset * step - (step - 1) // 2)
    last = min(len(frame_numbers) - 1, offset * step + step // 2)
    return int(frame_numbers[first]), int(frame_numbers[last])


def to_frames(spotted: Iterable[Spotted], frame_numbers: np.ndarray, step: int = 1) -> list[tuple[int, int]]:
    """(onset, offset) in the video's frame numbers for intervals found on its every `step`-th frame."""
    return [grid_span(s.onset, s.offset, frame_numbers, step) for s in spotted]


def tune(candidates: Iterable[DecoderConfig], validation: Sequence[tuple[np.ndarray, np.ndarray, list]],
         step: int = 1) -> tuple[DecoderConfig, float]:
    """(the candidate with the best F1 on the validation videos, that F1); ties go to the earlier candidate.

    `validation` holds, per video, (scores on every `step`-th frame [M], all its frame numbers [N],
    ground truths [(onset, offset)]).
    """
    best, best_f1 = None, -1.0
    for config in candidates:
        counts = megc.SpotCounts()
        for scores, numbers, truths in validation:
            counts.add(*megc.match_intervals(truths, to_frames(decode(scores, config), numbers, step)))
        f1 = counts.scores()["f1"]
        if f1 > best_f1:
            best, best_f1 = config, f1
    if best is None:
        raise ValueError("no decoder settings to choose from")
    return best, best_f1


def grid(base: DecoderConfig, **values: Sequence) -> list[DecoderConfig]:
    """Every combination of the given field values on top of `base`: the candidates for `tune`."""
    names = sorted(values)
    return [dataclasses.replace(base, **dict(zip(names, combo)))
            for combo in itertools.product(*(values[n] for n in names))]
