"""The one fold skeleton every task runs on: subjects, a model trained (or resumed) on the engine, the
checkpoint to evaluate, and the fold's summary written.

A task's fold (`tasks/<task>/train.py`) calls, in order: `split_validation`, `train` (which opens or resumes
the run, builds the state, compiles the task's steps, feeds `fit.fit`, and keeps the best checkpoint by the
task's validation score), `select_checkpoint`, its own evaluation, then `finish` (metrics.json, figures).
It hands in only what is its own: its model and steps (`tasks.Task`), its example input, its batches, how
one goes on the devices, and how it validates.
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any, Callable

import jax
import numpy as np
from absl import logging
from flax import traverse_util

from data_builders import lookup
from meint_jax.common import allocator, files
from meint_jax.common.errors import ConfigError, first_line
from meint_jax.data import subjects as subjects_lib
from meint_jax.training import checkpoint, config_checks, fit, loso, sharding
from meint_jax.training.run_log import RunLog
from meint_jax.training.state import TrainState, create_optimizer, init_state, jit_steps


def prepare(config, workdir: str) -> tuple[str, Any]:
    """(absolute workdir, TFDS builder) of a config its task has checked; warns where glibc's malloc slows XLA."""
    workdir = config_checks.prepare_workdir(workdir)
    if jax.default_backend() == "cpu" and allocator.current() == "glibc":
        logging.warning("On glibc's malloc, XLA:CPU faults in fresh memory every step (0.5-0.9 s of kernel time "
                        "per 8x16x112 train step). "
                        "With tcmalloc installed (apt install libtcmalloc-minimal4) the command runs on it "
                        "(meint_jax/common/allocator.py).")
    return workdir, lookup.get_builder(config.data)


def run_folds(config, workdir: str, data, subjects: list[str], run_fold, write_results) -> dict:
    """The hold-out fold, or with eval.protocol='loso' ('lodo') every selected leave-one-subject-out
    (leave-one-dataset-out) fold pooled by `write_results(workdir, fold names)`."""
    if config.eval.protocol in loso.PROTOCOLS:
        return loso.run_loso(config, workdir, data, subjects, run_fold, write_results)
    try:
        train_subjects, test_subjects = subjects_lib.split_subjects(subjects, config.eval.holdout_subjects,
                                                                    config.seed)
    except ValueError as e:
        raise ConfigError(str(e)) from e
    return run_fold(config, workdir, data, train_subjects, test_subjects)


def split_validation(config, train_subjects: list[str], test_subjects: list[str],
                     why: str = "") -> tuple[list[str], list[str]]:
    """(training, validation) subjects: `config.eval.validation_subjects` of the training subjects (none if 0);
    `why` says in the error what the task needs them for."""
    validation_subjects = []
    if config.eval.validation_subjects:
        try:
            train_subjects, validation_subjects = subjects_lib.split_subjects(
                train_subjects, config.eval.validation_subjects, config.seed + 1)
        except ValueError as e:
            raise ConfigError(f"config.eval.validation_subjects: {e}{f' ({why})' if why else ''}") from e
    logging.info("Subjects: %d train, %d validation, %d test (%s).", len(train_subjects), len(validation_subjects),
                 len(test_subjects), ", ".join(test_subjects))
    return train_subjects, validation_subjects


def encoder_weights(path: str) -> dict:
    """{(collection, *path): array} of ResNet18 weights from a torchvision-layout file, or from a directory
    written by `python -m meint_jax.convert_weights`."""
    from meint_jax.models import pretrained

    if os.path.isdir(path):
        try:
            tree = checkpoint.load_tree(path)
        except (ValueError, OSError, KeyError, TypeError) as e:
            raise pretrained.PretrainedError(f"{path}: not a directory written by `python -m "
                                             f"meint_jax.convert_weights` ({first_line(e)})") from e
        return {k: np.asarray(v) for k, v in traverse_util.flatten_dict(tree).items()}
    return pretrained.load_encoder_weights(path)


def load_pretrained_encoder(state: TrainState, tx, init_from: str | None) -> TrainState:
    """The state with the encoder's weights from `init_from` (for a run that starts, not resumes)."""
    from meint_jax.models import pretrained

    if not init_from:
        logging.warning("config.model.init_from is unset: the encoder starts from random initialisation "
                        "(the paper starts from ImageNet weights).")
        return state
    path = os.path.expanduser(init_from)
    variables = pretrained.merge_encoder({"params": state.params, "batch_stats": state.batch_stats},
                                         encoder_weights(path), path)
    return state.replace(params=variables["params"], batch_stats=variables["batch_stats"],
                         opt_state=tx.init(variables["params"]))


@dataclasses.dataclass
class Trained:
    """A model trained in one workdir: its state (replicated over the mesh), its jitted steps, the seconds this
    process trained, its log (open: the fold evaluates into it) and the keeper of its best checkpoint."""
    state: TrainState
    step_fn: Any
    predict_fn: Any
    seconds: float
    run_log: RunLog
    best_ckpt: checkpoint.Checkpointer | None


@dataclasses.dataclass(frozen=True)
class Validation:
    """How a fold scores its validation subjects at each checkpoint: `score(step, state, predict_fn, run_log)
    -> (score, words for the log)`; the checkpoint with the highest `metric` is kept in WORKDIR/best. `best`
    names the score in the log's "(best ... at step N)"."""
    metric: str
    score: Callable
    best: str = ""


def train(config, workdir: str, task, example, batches: Callable, to_device: Callable, example_ids: Callable,
          mesh, pretrained: bool = False, validation: Validation | None = None) -> Trained:
    """Trains (or resumes) `task`'s model on `batches(start_step, run_log)` in `workdir` up to
    config.train.num_steps.

    `example` is one input window (its shape and dtype); with `pretrained`, a run that starts loads
    ResNet18's weights from config.model.init_from; `to_device` and `example_ids` are `fit.fit`'s."""
    ckpt, saved = fit.open_run(workdir, config)
    model = task.create_model(config.model)
    tx = create_optimizer(config.train)
    state = init_state(model, tx, example.shape, config.seed, example.dtype)
    best_ckpt = None
    if validation is not None:
        best_ckpt = checkpoint.Checkpointer(os.path.join(workdir, "best"), max_to_keep=1,
                                            best_metric=validation.metric)
    if saved is not None:
        state, _ = ckpt.restore(state)
    elif pretrained:
        state = load_pretrained_encoder(state, tx, config.model.init_from)
    state = sharding.replicate(state, mesh)
    start_step = int(state.step)
    step_fn, predict_fn = jit_steps(task.train_step, task.predict_step, model, tx, config,
                                    out_sharding=sharding.replicated(mesh))
    run_log = RunLog(workdir, start_step)
    if start_step:
        run_log.text("resumed from %s", ckpt.step_dir(start_step))

    def on_checkpoint(step, state):
        score, words = validation.score(step, state, predict_fn, run_log)
        best_ckpt.save(step, state, config.to_dict(), metrics={validation.metric: score})
        best = best_ckpt.best()
        run_log.text("step %d: validation %s (best %s%.3f at step %d)", step, words, validation.best,
                     best[1] if best else score, best[0] if best else step)

    state, seconds = fit.fit(config, state, step_fn, batches(start_step, run_log), to_device=to_device,
                             example_ids=example_ids, ckpt=ckpt, run_log=run_log,
                             on_checkpoint=on_checkpoint if best_ckpt is not None else None, closing=(best_ckpt,))
    return Trained(state, step_fn, predict_fn, seconds, run_log, best_ckpt)


def batch_predictor(predict_fn, state: TrainState, mesh, batch_size: int, key: str = "frames"):
    """inputs [batch_size, ...] (the global batch) -> `predict_fn`'s outputs, the batch sharded over `mesh`."""
    rows = sharding.local_rows(batch_size)
    return lambda inputs: np.asarray(predict_fn(state, sharding.shard_batch({key: inputs[rows]}, mesh)[key]))


def select_checkpoint(config, trained: Trained) -> tuple[TrainState, str]:
    """(the state to evaluate, which it is): the last, or with eval.select='best' the best on validation."""
    best_ckpt = trained.best_ckpt
    if config.eval.get("select", "last") == "best" and best_ckpt is not None and best_ckpt.best() is not None:
        best_step, _ = best_ckpt.best()
        state, _ = best_ckpt.restore(trained.state, best_step)
        return state, f"best (step {best_step})"
    return trained.state, "last"


def count_compilations(step_fn, predict_fn, run_log) -> dict:
    """How often each jitted step compiled; more than once is logged (an input changed shape or type)."""
    compilations = {"train_step": step_fn._cache_size(), "predict_step": predict_fn._cache_size()}
    if max(compilations.values()) > 1:
        run_log.text("warning: a step was compiled more than once (%s): some input changed shape or type",
                     compilations)
    return compilations


def summary(task: str, config, state, seconds: float, compilations: dict, train_subjects, validation_subjects,
            test_subjects, **task_fields) -> dict:
    """A fold's metrics.json: what every task records of a fold, then the task's own fields and results."""
    return {"task": task, "dataset": config.data.name, "variant": config.variant,
            "train_steps": int(state.step), "train_seconds_this_run": round(seconds, 1),
            "compilations": compilations, **task_fields, "train_subjects": train_subjects,
            "validation_subjects": validation_subjects, "test_subjects": test_subjects}


def finish(workdir: str, results: dict, figures: dict[str, Callable[[str], None]] | None = None) -> None:
    """Writes `results` as WORKDIR/metrics.json and each figure (name -> draw(path)), atomically, on process 0."""
    if jax.process_index() != 0:
        return
    files.write_text(os.path.join(workdir, "metrics.json"), json.dumps(results, indent=2))
    for name, draw in (figures or {}).items():
        files.write_with(os.path.join(workdir, name), draw)
    logging.info("Wrote %s.", ", ".join(os.path.join(workdir, n) for n in ("metrics.json", *(figures or {}))))
