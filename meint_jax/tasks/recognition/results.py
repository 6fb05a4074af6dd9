"""LOSO pooling of clip-recognition folds (every fold's clips scored together, as the field reports UF1 and
UAR), and the MEGC 2019 composite over several datasets' LOSO runs."""

from __future__ import annotations

import json
import os

from absl import logging

from meint_jax.common import files
from meint_jax.common.errors import ConfigError
from meint_jax.data import emotion_classes
from meint_jax.tasks.recognition.evaluate import score_clips
from meint_jax.training import loso


def _pool(folds: dict) -> dict:
    class_sets = [tuple(f["classes"]) for f in folds.values()]
    # Folds agree on the class set unless it is the native labels seen in training (sorted): then their union.
    classes = list(class_sets[0]) if len(set(class_sets)) == 1 else sorted({c for s in class_sets for c in s})
    records = [r for f in folds.values() for r in f["per_clip"]]
    return {"classes": classes, "clips": len(records), **score_clips(records, classes),
            "per_fold": {s: {k: f["model"][k] for k in ("uf1", "uar", "pairs")} for s, f in folds.items()}}


def write_results(workdir: str, subjects: list[str] | None = None) -> dict:
    """Pools every finished fold's clips (`WORKDIR/fold_*/metrics.json`) and scores them together into
    `WORKDIR/results.json`: UF1 and UAR over all folds' predictions, as the field reports them."""
    results = loso.write_pooled(workdir, subjects, _pool, task="recognition")
    logging.info("LOSO recognition over %d folds, %d clips scored: model UF1 %.3f, UAR %.3f (majority %.3f/%.3f, "
                 "prior %.3f/%.3f)", len(results["folds_done"]), results["model"]["pairs"], results["model"]["uf1"],
                 results["model"]["uar"], results["majority"]["uf1"], results["majority"]["uar"],
                 results["prior"]["uf1"], results["prior"]["uar"])
    return results


def write_composite(workdirs: list[str], output: str) -> dict:
    """The MEGC 2019 composite: the clips of several datasets' LOSO runs (e.g. CASME II and SAMM, each with
    the three classes) pooled and scored together into `output/results.json`; per dataset beside it. SMIC,
    the third dataset of MEGC 2019, is not read by meint-jax yet."""
    parts, records = {}, []
    for workdir in workdirs:
        folds = loso.finished_folds(workdir)
        labels = {f.get("emotion_labels", "three") for f in folds.values()}
        if labels != {"three"}:
            raise ConfigError(f"{workdir}: trained with data.emotion_labels={sorted(labels)}; the composite pools "
                              "the three classes (data.emotion_labels='three') only")
        name = next(iter(folds.values())).get("dataset", workdir)
        clips = [dict(r, subject=f"{name}/{r['subject']}") for f in folds.values() for r in f["per_clip"]]
        parts[name] = {"folds": len(folds), "clips": len(clips),
                       **score_clips(clips, emotion_classes.THREE)}
        records += clips
    results = {"protocol": "composite (LOSO per dataset, clips pooled)", "task": "recognition",
               "datasets": sorted(parts), "classes": list(emotion_classes.THREE), "clips": len(records),
               **score_clips(records, emotion_classes.THREE), "per_dataset": parts}
    files.write_text(os.path.join(files.writable_folder(output, "output"), "results.json"),
                     json.dumps(results, indent=2))
    logging.info("Composite over %s, %d clips scored: UF1 %.3f, UAR %.3f (majority %.3f/%.3f)",
                 ", ".join(sorted(parts)), results["model"]["pairs"], results["model"]["uf1"],
                 results["model"]["uar"], results["majority"]["uf1"], results["majority"]["uar"])
    return results
