"""LOSO pooling of spotting folds: every predictor's MEGC counts (and matched label pairs) summed over the
folds, then scored; one log line per predictor."""

from __future__ import annotations

from absl import logging

from meint_jax.tasks.spotting import evaluate
from meint_jax.training import loso


def log_results(results: dict, log) -> None:
    """One line per predictor: spotting F1 (and STRS and its parts where emotions are scored)."""
    for name in ("model", "model_neutral_dropped", "motion", "chance", "majority", "class_prior"):
        r = results.get(name)
        if r is None:
            continue
        line = (f"F1 micro {r['micro']['f1']:.3f}, macro {r['macro']['f1']:.3f}, overall {r['overall']['f1']:.3f}"
                if "micro" in r else "(the model's intervals)")
        if "recognition" in r:
            rec = r["recognition"]["micro"]
            line += (f"; micro STRS {rec['strs']:.3f} (F1_analysis {rec['f1_analysis']:.3f}, UF1 {rec['uf1']:.3f}, "
                     f"UAR {rec['uar']:.3f})")
        log("%-22s %s", name, line)


def write_results(workdir: str, subjects: list[str] | None = None) -> dict:
    """Pools every finished fold's counts (`WORKDIR/fold_*/metrics.json`) into `WORKDIR/results.json`."""
    results = loso.write_pooled(workdir, subjects, lambda folds: evaluate.pool_folds(list(folds.values())),
                                task="spotting")
    logging.info("LOSO spotting over %d folds:", len(results["folds_done"]))
    log_results(results, logging.info)
    return results
