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

`paper_intervals` is paper 002's own interval selection as released (its extensible rule, SAMM-LV rule and NMS),
reproduced exactly, quirks included, for comparing against their numbers.
"""

from __future__ import annotations

import dataclasses
import itertools
from typing import Iterable, Sequence

import numpy as np
from scipy import ndimage, signal

from meint_jax.metrics import megc

RULES = ("ours", "paper")


@dataclasses.dataclass(frozen=True)
class DecoderConfig:
    smooth: int = 5             # moving-average width, frames
    p: float = 0.5              # threshold = mean + p (max - mean)
    min_distance: int = 5       # between peaks, frames (k_p)
    min_length: int = 1         # duration prior, frames, onset to offset inclusive
    max_length: int = 10 ** 9
    nms_iou: float = 0.5
    rule: str = "ours"          # ours (the steps above) | paper (paper 002's released selection: `paper_intervals`)
    strategy: bool = True       # paper: their extensible interval selection (False: peak -+ k_p)
    samm: bool = False          # paper: their SAMM rule (released for the MEGC SAMM test set only)

    def __post_init__(self):
        if self.rule not in RULES:
            raise ValueError(f"decoder rule {self.rule!r}: use one of {RULES}")
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


def paper_k_p(onsets_offsets: Sequence[tuple[int, int]], step: int = 1) -> int:
    """Paper 002's k_p from (onset, offset) frame numbers (1-based, as the datasets number them): each
    expression's length in rows as their labels have it, (offset - 1) // step - (onset - 1) // step; the upper
    median; (N + 1) / 2 rounded down. Theirs computes it over every subject, the test subject included: callers
    pass the training subjects' expressions only."""
    lengths = sorted((offset - 1) // step - (onset - 1) // step for onset, offset in onsets_offsets)
    return max(1, int((lengths[len(lengths) // 2] + 1) / 2)) if lengths else 1


def _paper_decode(scores: np.ndarray, config: DecoderConfig) -> list[Spotted]:
    """`paper_intervals` as `Spotted` (their order; each clipped to the sequence, as frames must be; the score is
    the raw one at their peak)."""
    found = []
    for start, end, peak in paper_intervals(scores, config.min_distance, config.samm, config.strategy):
        onset, offset = max(0, start), min(len(scores) - 1, end)
        peak = min(max(peak, onset), offset)
        found.append(Spotted(int(onset), int(peak), int(offset), float(scores[peak])))
    return found


def decode(scores: np.ndarray, config: DecoderConfig) -> list[Spotted]:
    """The intervals of one score sequence, best first (in paper 002's order with `rule='paper'`)."""
    scores = np.asarray(scores, np.float64)
    if scores.ndim != 1 or not len(scores):
        return []
    if config.rule == "paper":
        return _paper_decode(scores, config)
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


PAPER_P = 0.55                       # paper 002's threshold fraction ...
PAPER_P_SAMM = 0.65                  # ... and on SAMM (their MEGC SAMM test set)
PAPER_NMS_IOU = 0.2


def paper_intervals(scores, k_p: int, samm: bool = False, strategy: bool = True) -> list[tuple[int, int, int]]:
    """Paper 002's interval selection on one video's per-row scores, as their released code does it.

    Returns their intervals as (start, end, peak) in 0-based rows, inclusive, in their order: sorted by start
    after their NMS (`strategy` without `samm`), else in peak order. Theirs: a moving average over the 2 k_p
    rows t - k_p .. t + k_p - 1 (`np.convolve` "same": zeros past the ends, so even a constant curve has a
    plateau and a peak; another alignment on curves shorter than 2 k_p), threshold mean + p (max - mean) on it
    (p 0.55, 0.65 with `samm`), `find_peaks` at distance k_p (never the first or last row; a plateau gives its
    middle row, rounded down); then per peak the extensible rule (`_paper_extensible`), the SAMM rule
    (`_paper_samm`, theirs only for the MEGC SAMM test set) or, without `strategy`, peak -+ k_p.

    Quirks kept on purpose: peak -+ k_p is not clipped (it can start below 0 or end past the last row); the
    extensible rule searches the raw scores (all else the smoothed ones) and its first peak takes the video's
    length from the smoothed curve; an extension stops only at two rows in a row below the mean and, if it
    finds none, does not extend at all; with `strategy` the returned peak is the first maximum inside the
    interval (raw scores, smoothed with `samm`), not the detected one; NMS keeps the earliest start, not the best
    score.
    Where theirs fails: an empty curve gives [] (theirs raises in `np.convolve`); a curve shorter than 2 k_p
    rows, for which their smoothed curve is longer than the video, gives their result where they have one and
    raises ValueError where their extensible rule reads past the video's end (an IndexError in theirs).
    Scores are read as float64, as their pipeline holds them.
    """
    if k_p < 1:
        raise ValueError(f"k_p must be at least 1, got {k_p}")
    raw = np.asarray(scores, np.float64)
    if raw.ndim != 1:
        raise ValueError(f"scores must be one curve (1-D), got shape {raw.shape}")
    if not len(raw):
        return []
    smoothed = np.convolve(raw, np.ones(2 * k_p) / (2 * k_p), mode="same")
    mean = smoothed.mean()
    threshold = mean + (PAPER_P_SAMM if samm else PAPER_P) * (smoothed.max() - mean)
    peaks = [int(p) for p in signal.find_peaks(smoothed, height=threshold, distance=k_p)[0]]
    if not strategy:
        return [(p - k_p, p + k_p, p) for p in peaks]
    if samm:
        return [_paper_samm(smoothed, p, k_p) for p in peaks]
    try:
        # Theirs measures the video on the smoothed curve for the first peak and on the raw one after.
        found = [_paper_extensible(raw, p, k_p, len(smoothed) if i == 0 else len(raw)) for i, p in enumerate(peaks)]
    except IndexError:
        raise ValueError(f"a curve of {len(raw)} rows is shorter than 2 k_p = {2 * k_p}: paper 002's extensible "
                         "rule reads its scores past the end here") from None
    return _paper_nms(found, k_p)


def _first_max(curve: np.ndarray, start: int, end: int) -> int:
    if start >= len(curve):
        raise IndexError(start)
    return start + int(np.argmax(curve[start:end + 1]))


def _paper_extensible(raw: np.ndarray, peak: int, k_p: int, size: int) -> tuple[int, int, int]:
    """Their rule for CAS(ME)^3 and the rest, on the raw scores: within peak -+ k_p, start at the row before
    the first rise above mean / 1.5 and end at the row after the last fall above it; then, up to 5 k_p out,
    move each end to the near side of the first two rows in a row below the video's mean, if there are any."""
    mean = raw.mean()
    floor = mean / 1.5
    near_start, near_end = max(0, peak - k_p), min(size - 1, peak + k_p)
    start = next((i - 1 for i in range(near_start + 1, peak) if raw[i] > raw[i - 1] and raw[i] > floor),
                 near_start)
    end = next((i + 1 for i in range(near_end - 1, peak, -1) if raw[i] > raw[i + 1] and raw[i] > floor),
               near_end)
    far_start, far_end = max(0, peak - 5 * k_p), min(size - 1, peak + 5 * k_p)
    for i in range(start - 1, far_start - 1, -1):           # row 0 never ends a run: the pair needs i > 0
        if i > 0 and raw[i] < mean and raw[i - 1] < mean:
            start = i + 1
            break
    for j in range(end + 1, far_end + 1):                   # nor the last row
        if j < size - 1 and raw[j] < mean and raw[j + 1] < mean:
            end = j - 1
            break
    return start, end, _first_max(raw, start, end)


def _paper_samm(smoothed: np.ndarray, peak: int, k_p: int) -> tuple[int, int, int]:
    """Their rule for SAMM, on the smoothed scores: each end at the first two rows in a row below 0.2 within k_p
    of the peak, else below 0.8 from k_p to 2 k_p out, else at peak -+ 2 k_p (clipped). The start takes the
    pair's row nearer the peak, the end the farther one, and the end's search never looks at peak + k_p."""
    low, high, size = 0.2, 0.8, len(smoothed)
    below = lambda i, j, level: smoothed[i] < level and smoothed[j] < level
    near_start, far_start = max(0, peak - k_p), max(0, peak - 2 * k_p)
    near_end, far_end = min(size - 1, peak + k_p), min(size - 1, peak + 2 * k_p)
    start = next((i for i in range(peak - 1, near_start - 1, -1) if i > 0 and below(i, i - 1, low)), None)
    if start is None:
        start = next((i for i in range(near_start - 1, far_start - 1, -1) if i > 0 and below(i, i - 1, high)),
                     far_start)
    end = next((i + 1 for i in range(peak + 1, near_end) if i + 1 < size and below(i, i + 1, low)), None)
    if end is None:
        end = next((i + 1 for i in range(near_end + 1, far_end) if i + 1 < size and below(i, i + 1, high)),
                   far_end)
    return start, end, _first_max(smoothed, start, end)


def _paper_nms(intervals: list[tuple[int, int, int]], k_p: int) -> list[tuple[int, int, int]]:
    """Their NMS: by start (ties in peak order), keep an interval only if its IoU with every kept one is below
    0.2 and its peak is more than k_p rows from theirs. Their IoU uses end - start as lengths and the span of
    the two as the union (so a gap counts in it); one row against itself scores 0."""
    def iou(a, b):
        union = max(a[1], b[1]) - min(a[0], b[0])
        return max(0, min(a[1], b[1]) - max(a[0], b[0])) / union if union else 0.0

    kept = []
    for candidate in sorted(intervals, key=lambda interval: interval[0]):
        if all(iou(candidate, k) < PAPER_NMS_IOU and abs(candidate[2] - k[2]) > k_p for k in kept):
            kept.append(candidate)
    return kept
