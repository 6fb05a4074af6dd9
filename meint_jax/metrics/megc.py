"""The MEGC spotting metric, counted once per ground truth.

Intervals are inclusive frame sets [onset, offset]. A prediction is a true
positive when its IoU with a ground truth not yet matched is at least 0.5;
each ground truth is matched at most once, so two predictions over one
expression are one TP and one FP (the public scorer of paper 002's code
counts that ground truth twice). FP = predictions - TP, FN = ground truths -
TP. Counts are summed over every video of every fold before precision, recall
and F1 = 2TP / (2TP + FP + FN) are taken, for micro, macro and both together.
A video with predictions and no ground truth adds FPs; ground truths of a
video or subject without predictions add FNs: pass every video, predicted or not.
"""

from __future__ import annotations

import dataclasses
from typing import Iterable, Sequence

IOU_THRESHOLD = 0.5
KINDS = ("micro", "macro")


def iou(a: tuple[int, int], b: tuple[int, int]) -> float:
    """Intersection over union of two inclusive frame intervals."""
    inter = min(a[1], b[1]) - max(a[0], b[0]) + 1
    if inter <= 0:
        return 0.0
    union = (a[1] - a[0] + 1) + (b[1] - b[0] + 1) - inter
    return inter / union


def matched_pairs(ground_truths: Sequence[tuple[int, int]], predictions: Sequence[tuple[int, int]],
                  threshold: float = IOU_THRESHOLD) -> list[tuple[int, int]]:
    """(ground-truth index, prediction index) of each true positive, in prediction order: the one matching
    rule, so that recognition scores the very pairs spotting counts.

    Predictions are taken in the order given (pass them best first); each takes the unmatched ground truth
    it overlaps most, if that IoU reaches `threshold` (of equal IoUs the later ground truth).
    """
    for onset, offset in list(ground_truths) + list(predictions):
        if offset < onset:
            raise ValueError(f"interval ({onset}, {offset}) ends before it starts")
    matched = [False] * len(ground_truths)
    pairs = []
    for j, prediction in enumerate(predictions):
        best, best_iou = None, threshold
        for k, truth in enumerate(ground_truths):
            if not matched[k]:
                overlap = iou(truth, prediction)
                if overlap >= best_iou:
                    best, best_iou = k, overlap
        if best is not None:
            matched[best] = True
            pairs.append((best, j))
    return pairs


def match_intervals(ground_truths: Sequence[tuple[int, int]], predictions: Sequence[tuple[int, int]],
                    threshold: float = IOU_THRESHOLD) -> tuple[int, int, int]:
    """(tp, fp, fn) of one video's predictions against its ground truths, both lists of inclusive
    (onset, offset) frame pairs.

    Predictions are taken in the order given (pass them best first); each takes the unmatched ground truth
    it overlaps most, if that IoU reaches `threshold`.
    """
    tp = len(matched_pairs(ground_truths, predictions, threshold))  # refuses backwards intervals
    return tp, len(predictions) - tp, len(ground_truths) - tp


@dataclasses.dataclass
class SpotCounts:
    """TP/FP/FN summed over videos and folds."""

    tp: int = 0
    fp: int = 0
    fn: int = 0

    def add(self, tp: int, fp: int, fn: int) -> None:
        self.tp, self.fp, self.fn = self.tp + tp, self.fp + fp, self.fn + fn

    def __add__(self, other: SpotCounts) -> SpotCounts:
        return SpotCounts(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn)

    def scores(self) -> dict:
        """precision, recall, F1 (0 where undefined: nothing predicted or nothing to find) and the counts."""
        precision = self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0
        recall = self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0
        denominator = 2 * self.tp + self.fp + self.fn
        return {"tp": self.tp, "fp": self.fp, "fn": self.fn, "precision": precision, "recall": recall,
                "f1": 2 * self.tp / denominator if denominator else 0.0}


def count_videos(videos: Iterable[tuple[dict, dict]]) -> dict[str, SpotCounts]:
    """kind -> counts summed over videos, each given as (ground truths, predictions), both dicts
    kind -> list of (onset, offset); predictions best first. A kind missing from a dict has none."""
    counts = {kind: SpotCounts() for kind in KINDS}
    for truths, predictions in videos:
        for kind in KINDS:
            counts[kind].add(*match_intervals(truths.get(kind, ()), predictions.get(kind, ())))
    return counts


def scores(counts: dict[str, SpotCounts]) -> dict:
    """Micro, macro and overall precision, recall and F1 from each kind's counts."""
    return {"micro": counts["micro"].scores(), "macro": counts["macro"].scores(),
            "overall": (counts["micro"] + counts["macro"]).scores()}


def score_videos(videos: Iterable[tuple[dict, dict]]) -> dict:
    """Micro, macro and overall scores over videos (see `count_videos`)."""
    return scores(count_videos(videos))
