"""LOSO pooling of intensity folds: every per-clip correlation pooled over the folds' clips, beside the
fold means, with the model compared clip by clip with the position prior."""

from __future__ import annotations

import numpy as np
from absl import logging

from meint_jax.tasks.intensity import evaluate
from meint_jax.training import loso


def _pooled(values: list[float]) -> dict:
    values = np.asarray(values, np.float64)
    return {"mean": float(values.mean()), "std": float(values.std(ddof=1)) if len(values) > 1 else 0.0,
            "n": int(len(values))}


def aggregate(fold_metrics: dict[str, dict]) -> dict:
    """Per protocol and predictor: every per-clip metric pooled over folds (mean, std over clips), the fold
    means' mean and std over folds, and the pooled per-clip scores themselves (`per_clip`, as a hold-out run's
    metrics.json has them, so that rows of a table can be paired clip by clip)."""
    out = {}
    first = next(iter(fold_metrics.values()))
    for protocol in ("trimmed", "untrimmed"):
        if protocol not in first:
            continue
        out[protocol] = {}
        for predictor in first[protocol]:
            per_fold = [m[protocol][predictor] for m in fold_metrics.values()]
            pooled = {name: [v for f in per_fold for v in f["per_clip"][name]] for name in per_fold[0]["per_clip"]}
            out[protocol][predictor] = {
                name: {"clips": _pooled(values), "folds": _pooled([f[name] for f in per_fold])}
                for name, values in pooled.items() if name != "clip_id"}
            out[protocol][predictor]["num_clips"] = sum(len(f["per_clip"]["clip_id"]) for f in per_fold)
            out[protocol][predictor]["per_clip"] = pooled
        if {"model", "position_prior"} <= set(first[protocol]):
            out[protocol]["model"]["vs_prior"] = evaluate.compare_with_prior(
                out[protocol]["model"]["per_clip"], out[protocol]["position_prior"]["per_clip"])
    return out


def write_results(workdir: str, subjects: list[str] | None = None) -> dict:
    """Pools `WORKDIR/fold_*/metrics.json` into `WORKDIR/results.json` (written atomically)."""
    results = loso.write_pooled(workdir, subjects, aggregate)
    model = results.get("trimmed", {}).get("model", {}).get("spearman")
    if model:
        logging.info("LOSO trimmed model Spearman %.3f ± %.3f over %d clips.", model["clips"]["mean"],
                     model["clips"]["std"], model["clips"]["n"])
    return results
