"""Per-clip agreement between predicted and reference trajectories (scipy.stats).

The paper's figures are per-clip Spearman's rho and Kendall's tau-b averaged
over clips. A constant prediction has no defined correlation: it counts as 0
and the number of such clips is reported, so a collapsed model cannot hide.
"""

from __future__ import annotations

import numpy as np
from scipy import stats


def _correlation(fn, pred: np.ndarray, ref: np.ndarray) -> float:
    if np.ptp(pred) == 0.0 or np.ptp(ref) == 0.0:
        return 0.0
    value = fn(pred, ref).statistic
    return 0.0 if np.isnan(value) else float(value)


def per_clip_correlations(pred: np.ndarray, ref: np.ndarray) -> dict[str, np.ndarray]:
    """Spearman and Kendall tau-b of each row of pred [N, T] against ref [N, T]."""
    spearman = np.array([_correlation(stats.spearmanr, p, r) for p, r in zip(pred, ref)])
    kendall = np.array([_correlation(lambda x, y: stats.kendalltau(x, y, variant="b"), p, r)
                        for p, r in zip(pred, ref)])
    return {"spearman": spearman, "kendall": kendall}


def summarize(pred: np.ndarray, target: np.ndarray, positions: np.ndarray, apex: np.ndarray,
              true_intensity: np.ndarray | None = None, clip_index: np.ndarray | None = None,
              per_clip: bool = False) -> dict:
    """Mean per-clip metrics of windows pred/target/positions [N, T].

    Several windows of one clip (`clip_index`) are averaged into one clip score
    first, so every clip weighs the same. `per_clip` adds each clip's scores
    (in order of `clip_index`), so folds can be pooled clip by clip.
    """
    pred, target = np.asarray(pred, np.float64), np.asarray(target, np.float64)
    clip_index = np.arange(len(pred)) if clip_index is None else np.asarray(clip_index)
    per_window = per_clip_correlations(pred, target)
    per_window["apex_error_frames"] = np.abs(
        positions[np.arange(len(pred)), np.argmax(pred, axis=1)] - apex).astype(np.float64)
    if true_intensity is not None:
        truth = per_clip_correlations(pred, true_intensity)
        per_window["true_spearman"] = truth["spearman"]
        per_window["true_kendall"] = truth["kendall"]
        per_window["true_mae"] = np.mean(np.abs(pred - true_intensity), axis=1)
    clips = np.unique(clip_index)
    clip_scores = {name: [float(values[clip_index == c].mean()) for c in clips] for name, values in per_window.items()}
    result = {name: float(np.mean(scores)) for name, scores in clip_scores.items()}
    if per_clip:
        result["per_clip"] = clip_scores
    result["num_clips"] = int(len(clips))
    result["num_windows"] = int(len(pred))
    result["constant_predictions"] = int(np.sum(np.ptp(pred, axis=1) == 0.0))
    return result


def compare_paired(scores, baseline_scores) -> dict:
    """Whether per-clip `scores` beat `baseline_scores` of the same clips, beyond chance.

    Clips better and worse, and the two-sided Wilcoxon signed-rank p-value
    (1.0 when no clip differs): a mean that beats a baseline by a few hundredths
    means little unless most clips agree.
    """
    scores, baseline_scores = np.asarray(scores, np.float64), np.asarray(baseline_scores, np.float64)
    if scores.shape != baseline_scores.shape or scores.ndim != 1:
        raise ValueError(f"paired scores must be two lists of one score per clip, got shapes "
                         f"{scores.shape} and {baseline_scores.shape}")
    difference = scores - baseline_scores
    p = float(stats.wilcoxon(scores, baseline_scores).pvalue) if np.any(difference) else 1.0
    return {"clips_better": int(np.sum(difference > 0)), "clips_worse": int(np.sum(difference < 0)),
            "wilcoxon_p": p}
