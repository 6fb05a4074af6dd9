"""Recognition metrics of the field, alone and after spotting (spot-then-recognise).

UF1 is the mean over classes of each class's F1 and UAR the mean of each class's recall, so a rare class
weighs as much as a common one. Spot-then-recognise scores the emotion of each spotted true positive:
F1_analysis is the harmonic mean of the class-mean precision and the class-mean recall over those pairs,
and STRS = F1_spot x F1_analysis. The public STRS scorer differs from ours in four ways that change its
numbers: it takes UAR as the mean of the precisions; a class whose binary confusion matrix collapses to
1x1 (all its pairs right, or the class absent) scores zero, and when every class does the score is NaN;
its ground truths of subjects without predictions and predictions of videos without ground truth never
enter the spotting counts. Here every class average is defined (0 where there is nothing to score, never
NaN), UAR is a mean of recalls, every video counts, and pairs come from `megc.matched_pairs`, the
same matching the spotting F1 counts. Labels are class names; a pair whose truth is outside `classes`
(`others` when it is left out) is not scored, one whose prediction is outside them is a miss.
"""

from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np

from meint_jax.metrics import megc


def _check(true_labels: Sequence, predicted_labels: Sequence, classes: Sequence[str]) -> None:
    if len(true_labels) != len(predicted_labels):
        raise ValueError(f"{len(true_labels)} true labels but {len(predicted_labels)} predicted")
    if len(set(classes)) != len(classes):
        raise ValueError(f"classes repeat: {list(classes)}")


def class_counts(true_labels: Sequence[str], predicted_labels: Sequence[str],
                 classes: Sequence[str]) -> dict[str, dict[str, int]]:
    """class -> {'true', 'predicted', 'correct'} over the pairs whose truth is in `classes`.

    Recall comes from `true`, not from a confusion row, so that a prediction outside `classes` still
    counts as a miss of its true class.
    """
    _check(true_labels, predicted_labels, classes)
    counts = {c: {"true": 0, "predicted": 0, "correct": 0} for c in classes}
    for truth, prediction in zip(true_labels, predicted_labels):
        if truth not in counts:
            continue
        counts[truth]["true"] += 1
        if prediction in counts:
            counts[prediction]["predicted"] += 1
        if prediction == truth:
            counts[truth]["correct"] += 1
    return counts


def confusion_matrix(true_labels: Sequence[str], predicted_labels: Sequence[str],
                     classes: Sequence[str]) -> np.ndarray:
    """[C, C] int counts, rows the true class and columns the predicted, in the order of `classes`.

    Pairs whose truth is outside `classes` are left out; a prediction outside them is in no column, so its
    row sums to less than the class's true count.
    """
    _check(true_labels, predicted_labels, classes)
    index = {c: i for i, c in enumerate(classes)}
    matrix = np.zeros((len(classes), len(classes)), dtype=np.int64)
    for truth, prediction in zip(true_labels, predicted_labels):
        if truth in index and prediction in index:
            matrix[index[truth], index[prediction]] += 1
    return matrix


def _scored(counts: dict) -> list[str]:
    """Classes UF1 and F1_analysis average over: true or predicted at least once. A class never true but
    predicted scores F1 0 and so punishes spurious predictions; one neither true nor predicted says nothing."""
    return [c for c, n in counts.items() if n["true"] or n["predicted"]]


def _mean(values: list[float]) -> float:
    return float(sum(values) / len(values)) if values else 0.0


def uf1_uar(true_labels: Sequence[str], predicted_labels: Sequence[str],
            classes: Sequence[str]) -> tuple[float, float]:
    """(UF1, UAR). F1_c = 2 correct / (true + predicted), averaged over classes true or predicted; recall_c =
    correct / true, averaged over classes true at least once (MEGC: a class absent from the truth has no
    recall). Nothing to score gives (0.0, 0.0)."""
    counts = class_counts(true_labels, predicted_labels, classes)
    f1s = [2 * counts[c]["correct"] / (counts[c]["true"] + counts[c]["predicted"]) for c in _scored(counts)]
    recalls = [n["correct"] / n["true"] for n in counts.values() if n["true"]]
    return _mean(f1s), _mean(recalls)


def analysis_f1(true_labels: Sequence[str], predicted_labels: Sequence[str], classes: Sequence[str]) -> float:
    """2 mean(P) mean(R) / (mean(P) + mean(R)) over the classes UF1 averages (P_c = correct / predicted,
    R_c = correct / true, each 0 when its denominator is); 0.0, never NaN, when both means are 0. One class,
    every pair right, gives 1.0 (the public scorer's 1x1 confusion matrix gives NaN)."""
    counts = class_counts(true_labels, predicted_labels, classes)
    scored = [counts[c] for c in _scored(counts)]
    precision = _mean([n["correct"] / n["predicted"] if n["predicted"] else 0.0 for n in scored])
    recall = _mean([n["correct"] / n["true"] if n["true"] else 0.0 for n in scored])
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def strs(f1_spot: float, f1_analysis: float) -> float:
    """Spot-then-recognise score: a missed or spurious interval costs as much as a wrong label."""
    return f1_spot * f1_analysis


def recognition_scores(true_labels: Sequence[str], predicted_labels: Sequence[str], classes: Sequence[str]) -> dict:
    """UF1, UAR, F1_analysis, accuracy, the number of pairs scored (truth in `classes`) and the confusion
    matrix (rows true): what metrics.json stores."""
    counts = class_counts(true_labels, predicted_labels, classes)
    pairs = sum(n["true"] for n in counts.values())
    uf1, uar = uf1_uar(true_labels, predicted_labels, classes)
    return {"uf1": uf1, "uar": uar, "f1_analysis": analysis_f1(true_labels, predicted_labels, classes),
            "accuracy": sum(n["correct"] for n in counts.values()) / pairs if pairs else 0.0, "pairs": pairs,
            "confusion": confusion_matrix(true_labels, predicted_labels, classes).tolist(), "classes": list(classes)}


def label_pairs(truths: Sequence[tuple[int, int]], predictions: Sequence[tuple[int, int]],
                truth_labels: Sequence[str], prediction_labels: Sequence[str],
                threshold: float = megc.IOU_THRESHOLD) -> list[tuple[str, str]]:
    """(true label, predicted label) of each of one video's spotted true positives, in prediction order."""
    if len(truths) != len(truth_labels) or len(predictions) != len(prediction_labels):
        raise ValueError("each interval needs one label")
    return [(truth_labels[k], prediction_labels[j])
            for k, j in megc.matched_pairs(truths, predictions, threshold)]


def _split(intervals, kind: str | None) -> tuple[dict, dict]:
    """(kind -> frame pairs, kind -> labels) of one video's (onset, offset, label) triples."""
    by_kind = intervals if kind is None else {kind: intervals}
    unknown = set(by_kind) - set(megc.KINDS)
    if unknown:
        raise ValueError(f"unknown kinds {sorted(unknown)}; expected {megc.KINDS}")
    frames = {k: [(onset, offset) for onset, offset, _ in v] for k, v in by_kind.items()}
    return frames, {k: [label for _, _, label in v] for k, v in by_kind.items()}


def _score(counts: dict[str, list[int]], pairs: dict[str, list], classes: Sequence[str]) -> dict:
    """The layout both `spot_then_recognise` and `pool_spot_then_recognise` return."""
    f1_spot = {k: v["f1"] for k, v in megc.scores({k: megc.SpotCounts(*counts[k])
                                                       for k in megc.KINDS}).items()}
    result = {"classes": list(classes), "counts": {k: list(counts[k]) for k in megc.KINDS},
              "label_pairs": {k: [list(p) for p in pairs[k]] for k in megc.KINDS}}
    pooled = dict(pairs, overall=[p for k in megc.KINDS for p in pairs[k]])
    for name, scored in pooled.items():
        truth, predicted = [p[0] for p in scored], [p[1] for p in scored]
        scores = recognition_scores(truth, predicted, classes)
        result[name] = {"f1_spot": f1_spot[name], "f1_analysis": scores["f1_analysis"], "uf1": scores["uf1"],
                        "uar": scores["uar"], "accuracy": scores["accuracy"],
                        "strs": strs(f1_spot[name], scores["f1_analysis"]), "pairs": scores["pairs"],
                        "confusion": scores["confusion"]}
    return result


def spot_then_recognise(videos: Iterable[tuple], classes: Sequence[str], kind: str | None = None) -> dict:
    """Micro, macro and overall spotting F1, recognition of the spotted pairs and STRS over every video.

    Each video is (truths, predictions), dicts kind -> list of (onset, offset, label), predictions best
    first; with `kind` given, both are plain lists of that kind. Spotting counts are those of
    `megc.count_videos`: a video with predictions and no truth adds FPs, one with truths and no
    predictions FNs. Also returns `counts` ([tp, fp, fn]) and `label_pairs` per kind, for pooling folds.
    """
    intervals, pairs = [], {k: [] for k in megc.KINDS}
    for truths, predictions in videos:
        truth_frames, truth_labels = _split(truths, kind)
        predicted_frames, predicted_labels = _split(predictions, kind)
        intervals.append((truth_frames, predicted_frames))
        for k in megc.KINDS:
            pairs[k] += label_pairs(truth_frames.get(k, []), predicted_frames.get(k, []),
                                    truth_labels.get(k, []), predicted_labels.get(k, []))
    counts = megc.count_videos(intervals)
    return _score({k: [c.tp, c.fp, c.fn] for k, c in counts.items()}, pairs, classes)


def pool_spot_then_recognise(parts: list[dict], classes: Sequence[str]) -> dict:
    """Folds' `spot_then_recognise` results pooled: counts summed and label pairs joined, then scored anew
    (a mean of the folds' scores would weigh a small fold like a large one)."""
    counts = {k: [sum(part["counts"][k][i] for part in parts) for i in range(3)] for k in megc.KINDS}
    pairs = {k: [tuple(p) for part in parts for p in part["label_pairs"][k]] for k in megc.KINDS}
    return _score(counts, pairs, classes)
