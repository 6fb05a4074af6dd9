"""Several seeds of one run (`--config.seeds=N`): seed k trains in `WORKDIR/seed_<k>/` with `config.seed = k`, as a
complete run of its own (resumable, LOSO included), then `WORKDIR/seeds.json` holds every metric's mean, sample
standard deviation and per-seed values. One run says little where seeds differ more than the rows compared."""

from __future__ import annotations

import copy
import json
import os

import jax
import numpy as np
from absl import logging

from meint_jax.common import files

SEED_PREFIX = "seed_"
# Per-clip and per-video records, counts and settings are not metrics to average.
SKIPPED_KEYS = {"per_clip", "per_video", "per_fold", "counts", "counts_per_run", "recognition_per_run",
                "decoders", "train_subjects", "validation_subjects", "test_subjects", "folds_done", "folds_missing",
                "compilations", "class_weights", "classes", "train_class_counts", "confusion"}


def metrics_of(results: dict, prefix: str = "") -> dict[str, float]:
    """Every number in a run's results, flattened to `a/b/c` keys (booleans, records and settings left out)."""
    found = {}
    for key, value in results.items():
        if key in SKIPPED_KEYS:
            continue
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            found.update(metrics_of(value, name + "/"))
        elif isinstance(value, (int, float)) and not isinstance(value, bool) and np.isfinite(value):
            found[name] = float(value)
    return found


def summarize(runs: list[dict]) -> dict:
    """metric -> {mean, sd (sample, ddof 1), per_seed}, for the metrics every seed has."""
    per_run = [metrics_of(r) for r in runs]
    shared = sorted(set.intersection(*(set(m) for m in per_run))) if per_run else []
    return {name: {"mean": float(np.mean(v)), "sd": float(np.std(v, ddof=1)) if len(v) > 1 else 0.0,
                   "per_seed": v}
            for name in shared for v in [[m[name] for m in per_run]]}


def run_seeds(config, workdir: str, train_and_evaluate) -> dict:
    """Seeds 0..config.seeds-1, each with `train_and_evaluate(config with that seed and seeds=1, its folder)`
    (finished ones return their results again: a rerun resumes where it stopped); writes `seeds.json`."""
    runs = []
    for seed in range(config.seeds):
        one = copy.deepcopy(config)
        one.seed, one.seeds = seed, 1
        logging.info("Seed %d of %d.", seed + 1, config.seeds)
        runs.append(train_and_evaluate(one, os.path.join(workdir, f"{SEED_PREFIX}{seed}")))
    summary = {"seeds": config.seeds, "metrics": summarize(runs)}
    if jax.process_index() == 0:
        files.write_text(os.path.join(workdir, "seeds.json"), json.dumps(summary, indent=1))
    logging.info("Wrote %s: %d metrics over %d seeds.", os.path.join(workdir, "seeds.json"),
                 len(summary["metrics"]), config.seeds)
    return summary
