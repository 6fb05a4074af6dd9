"""Leave-one-subject-out, the field's protocol: folds, a subset of them per machine, one results.json over all.
Leave-one-dataset-out (`eval.protocol='lodo'`) runs the same way with a dataset's subjects as the held-out group,
on a composite whose subjects carry their dataset's name (`casme2_01`, `samm_006`: `data.subjects.dataset_of`).

Each fold trains its own model in `WORKDIR/fold_<subject or dataset>/` (a complete run:
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
from meint_jax.data import subjects as subjects_lib

FOLD_PREFIX = "fold_"


PROTOCOLS = ("loso", "lodo")   # the fold protocols (beside 'holdout', one subject-disjoint split)


def loso_folds(subjects: list[str]) -> list[tuple[list[str], str]]:
    """(training subjects, held-out subject) for every subject."""
    return [([s for s in subjects if s != held_out], held_out) for held_out in subjects]


def held_out_groups(subjects: list[str], protocol: str) -> dict[str, list[str]]:
    """Fold name -> the subjects it holds out: each subject alone ('loso'), or each dataset's subjects ('lodo',
    which needs subjects of 2 or more datasets, named by `subjects.dataset_of`)."""
    if protocol == "loso":
        return {s: [s] for s in subjects}
    if protocol != "lodo":
        raise ConfigError(f"config.eval.protocol={protocol!r}: use one of {PROTOCOLS} for folds")
    unnamed = [s for s in subjects if subjects_lib.dataset_of(s) is None]
    if unnamed:
        raise ConfigError(f"config.eval.protocol='lodo' leaves one dataset out, but subjects {', '.join(unnamed[:5])} "
                          "name no dataset: use a composite (e.g. config.data.name='megc2019/cropped_224')")
    groups: dict[str, list[str]] = {}
    for subject in subjects:
        groups.setdefault(subjects_lib.dataset_of(subject), []).append(subject)
    if len(groups) < 2:
        raise ConfigError(f"config.eval.protocol='lodo': the subjects come from one dataset ({', '.join(groups)}); "
                          "leaving it out leaves nothing to train on")
    return groups


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
    loaded videos), then pools every finished fold with the task's `write(workdir, fold names)`. A fold holds
    out one subject, or with eval.protocol='lodo' one dataset's subjects."""
    protocol = config.eval.protocol
    groups = held_out_groups(subjects, protocol)
    folds = select_folds(list(groups), config.eval.folds)
    logging.info("%s: %d of %d folds in this run (%s).", protocol.upper(), len(folds), len(groups), ", ".join(folds))
    for held_out in folds:
        fold_dir = os.path.join(workdir, FOLD_PREFIX + held_out)
        if os.path.exists(os.path.join(fold_dir, "metrics.json")):
            logging.info("Fold %s is done already (%s).", held_out, fold_dir)
            continue
        test_subjects = groups[held_out]
        train_subjects = [s for s in subjects if s not in test_subjects]
        logging.info("Fold %s: training on %d subjects, testing on %d.", held_out, len(train_subjects),
                     len(test_subjects))
        run_fold(config, fold_dir, data, train_subjects, test_subjects)
    return write(workdir, list(groups))


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
    lodo = any(len(m.get("test_subjects", ())) > 1 for m in fold_metrics.values())
    results = {"protocol": "lodo" if lodo else "loso", **({"task": task} if task else {}),
               "folds_done": sorted(fold_metrics), "folds_missing": sorted(set(subjects or ()) - set(fold_metrics)),
               **pool(fold_metrics)}
    if jax.process_index() == 0:
        files.write_text(os.path.join(workdir, "results.json"), json.dumps(results, indent=2))
    if results["folds_missing"]:
        logging.warning("results.json covers %d folds; %d still to run: %s", len(fold_metrics),
                        len(results["folds_missing"]), ", ".join(results["folds_missing"]))
    return results
