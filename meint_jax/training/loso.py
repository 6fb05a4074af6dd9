"""Leave-one-subject-out, the field's protocol: folds, a subset of them per machine, one results.json over all.

Each fold trains its own model in `WORKDIR/fold_<subject>/` (a complete run:
checkpoints, metrics.json with per-clip scores, resumable). Folds can run on
several machines into copies of one workdir (`--config.eval.folds=0-12` here,
`13-25` there); every call aggregates the folds finished so far into
`WORKDIR/results.json`, pooling per-clip scores over folds, and says which are missing.
"""

from __future__ import annotations

import glob
import json
import os
import re

import jax
from absl import logging

from meint_jax.common import files
from meint_jax.common.errors import ConfigError

FOLD_PREFIX = "fold_"


def loso_folds(subjects: list[str]) -> list[tuple[list[str], str]]:
    """(training subjects, held-out subject) for every subject."""
    return [([s for s in subjects if s != held_out], held_out) for held_out in subjects]


def select_folds(subjects: list[str], spec: str | None) -> list[str]:
    """The held-out subjects named by `spec`: all when empty; else subject codes, indices and ranges ("0-4")."""
    if not spec:
        return list(subjects)
    chosen = []
    for item in (x.strip() for x in spec.split(",") if x.strip()):
        if item in subjects:
            chosen.append(item)
        elif re.fullmatch(r"\d+(-\d+)?", item):
            first, _, last = item.partition("-")
            if last and int(last) < int(first):
                raise ConfigError(f"config.eval.folds={spec!r}: the range {item} runs backwards (write it "
                                  f"{last}-{first})")
            for index in range(int(first), int(last or first) + 1):
                if index >= len(subjects):
                    raise ConfigError(f"config.eval.folds={spec!r}: fold {index} does not exist "
                                                 f"({len(subjects)} subjects, folds 0-{len(subjects) - 1})")
                chosen.append(subjects[index])
        else:
            raise ConfigError(f"config.eval.folds={spec!r}: {item!r} is neither a subject "
                                         f"({', '.join(subjects)}) nor a fold index or range like 0-4")
    if not chosen:
        raise ConfigError(f"config.eval.folds={spec!r} selects no fold: name subjects ({', '.join(subjects)}) or "
                          "fold indices")
    return list(dict.fromkeys(chosen))


def run_loso(config, workdir: str, data, subjects: list[str], run_fold, write) -> dict:
    """Trains and tests the selected folds (skipping finished ones) of `data` (a TFDS builder, or a task's
    loaded videos), then pools every finished fold with the task's `write(workdir, subjects)`."""
    folds = select_folds(subjects, config.eval.folds)
    logging.info("LOSO: %d of %d folds in this run (%s).", len(folds), len(subjects), ", ".join(folds))
    for held_out in folds:
        fold_dir = os.path.join(workdir, FOLD_PREFIX + held_out)
        if os.path.exists(os.path.join(fold_dir, "metrics.json")):
            logging.info("Fold %s is done already (%s).", held_out, fold_dir)
            continue
        logging.info("Fold %s: training on %d subjects.", held_out, len(subjects) - 1)
        run_fold(config, fold_dir, data, [s for s in subjects if s != held_out], [held_out])
    return write(workdir, subjects)


def finished_folds(workdir: str) -> dict[str, dict]:
    """held-out subject -> its fold's metrics.json, for every finished fold; ConfigError when there is none."""
    fold_metrics = {}
    for path in sorted(glob.glob(os.path.join(workdir, FOLD_PREFIX + "*", "metrics.json"))):
        held_out = os.path.basename(os.path.dirname(path))[len(FOLD_PREFIX):]
        with open(path) as f:
            fold_metrics[held_out] = json.load(f)
    if not fold_metrics:
        raise ConfigError(f"{workdir}: no finished LOSO fold (fold_*/metrics.json) to aggregate")
    return fold_metrics


def write_pooled(workdir: str, subjects: list[str] | None, pool, task: str | None = None) -> dict:
    """Pools every finished fold's metrics.json with `pool({held-out subject: metrics})` into
    `WORKDIR/results.json` (atomically, on process 0), and warns of folds still to run."""
    fold_metrics = finished_folds(workdir)
    results = {"protocol": "loso", **({"task": task} if task else {}), "folds_done": sorted(fold_metrics),
               "folds_missing": sorted(set(subjects or ()) - set(fold_metrics)), **pool(fold_metrics)}
    if jax.process_index() == 0:
        files.write_text(os.path.join(workdir, "results.json"), json.dumps(results, indent=2))
    if results["folds_missing"]:
        logging.warning("results.json covers %d folds; %d still to run: %s", len(fold_metrics),
                        len(results["folds_missing"]), ", ".join(results["folds_missing"]))
    return results
