"""LOSO (or leave-one-dataset-out) pooling of clip-recognition folds: every fold's clips scored together, as
the field reports UF1 and UAR, and on a composite (the MEGC 2019 one: `megc2019`) per dataset beside it, as the
challenge reports them."""

from __future__ import annotations

from absl import logging

from meint_jax.data import subjects
from meint_jax.tasks.recognition.evaluate import score_clips
from meint_jax.training import loso


def per_dataset(records: list[dict], classes) -> dict:
    """Dataset -> its clips' scores, for records whose subjects name their dataset (`data.subjects.dataset_of`);
    {} for a single dataset's. Each dataset is scored over the composite's classes, as MEGC 2019 scores its parts."""
    parts: dict[str, list[dict]] = {}
    for record in records:
        parts.setdefault(subjects.dataset_of(record["subject"]), []).append(record)
    if None in parts:
        return {}
    return {name: {"clips": len(clips), **score_clips(clips, classes)} for name, clips in sorted(parts.items())}


def _pool(folds: dict) -> dict:
    class_sets = [tuple(f["classes"]) for f in folds.values()]
    # Folds agree on the class set unless it is the native labels seen in training (sorted): then their union.
    classes = list(class_sets[0]) if len(set(class_sets)) == 1 else sorted({c for s in class_sets for c in s})
    records = [r for f in folds.values() for r in f["per_clip"]]
    pooled = {"classes": classes, "clips": len(records), **score_clips(records, classes),
              "per_fold": {s: {k: f["model"][k] for k in ("uf1", "uar", "pairs")} for s, f in folds.items()}}
    datasets = per_dataset(records, classes)
    return {**pooled, "per_dataset": datasets} if datasets else pooled


def write_results(workdir: str, folds: list[str] | None = None) -> dict:
    """Pools every finished fold's clips (`WORKDIR/fold_*/metrics.json`) and scores them together into
    `WORKDIR/results.json`: UF1 and UAR over all folds' predictions, as the field reports them (and per
    dataset on a composite)."""
    results = loso.write_pooled(workdir, folds, _pool, task="recognition")
    logging.info("%s recognition over %d folds, %d clips scored: model UF1 %.3f, UAR %.3f (majority %.3f/%.3f, "
                 "prior %.3f/%.3f)", results["protocol"].upper(), len(results["folds_done"]),
                 results["model"]["pairs"], results["model"]["uf1"], results["model"]["uar"],
                 results["majority"]["uf1"], results["majority"]["uar"], results["prior"]["uf1"],
                 results["prior"]["uar"])
    for name, scores in results.get("per_dataset", {}).items():
        logging.info("  %s: %d clips, UF1 %.3f, UAR %.3f (majority %.3f/%.3f)", name, scores["clips"],
                     scores["model"]["uf1"], scores["model"]["uar"], scores["majority"]["uf1"],
                     scores["majority"]["uar"])
    return results
