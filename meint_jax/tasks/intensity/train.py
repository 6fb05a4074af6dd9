"""The training loop: `train_and_evaluate(config, workdir)`.

Feeds batches to the jitted steps of `steps.py` over a device mesh, logs
(`run_log.py`), checkpoints (the latest few and the best on validation
subjects), stops on a non-finite loss, and at the end evaluates the model and
the position prior on held-out subjects in both protocols, writing
`metrics.json` and `curves.png`. `config.eval.protocol` chooses one
subject-disjoint hold-out or leave-one-subject-out (`evaluation/loso.py`).
Spotting (`spotting_run.py`) and clip emotion recognition (`recognition_run.py`)
run their folds on the same `fit.fit`.
"""

from __future__ import annotations

import copy
import functools
import json
import os

import jax
import numpy as np
from absl import logging
from flax import traverse_util

from data_builders import lookup
from meint_jax.common import allocator, files
from meint_jax.common.errors import ConfigError, first_line
from meint_jax.data.clips import pipeline as input_pipeline
from meint_jax.metrics import plots
from meint_jax.models import create_model
from meint_jax.tasks.intensity import evaluate as intensity
from meint_jax.training import checkpoint, config_checks, fit, loso, sharding
from meint_jax.training.fit import TrainingDiverged  # noqa: F401  (raised by fit; imported from here by users)
from meint_jax.training.run_log import RunLog
from meint_jax.training.state import TrainState, clip_input, create_optimizer, init_state, jit_steps


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


def _log_results(results: dict, log) -> None:
    for protocol, by_predictor in results.items():
        for predictor, r in by_predictor.items():
            truth = f", vs truth {r['true_spearman']:.3f}/{r['true_kendall']:.3f}" if "true_spearman" in r else ""
            paired = r.get("vs_prior", {}).get("spearman")
            versus = (f"; better than the prior on {paired['clips_better']}/{r['num_clips']} clips, "
                      f"Wilcoxon p={paired['wilcoxon_p']:.2g}") if paired else ""
            log("%-9s %-14s Spearman/Kendall %.3f/%.3f%s (%d clips)%s", protocol, predictor,
                r["spearman"], r["kendall"], truth, r["num_clips"], versus)


def record_dataset_facts(config, builder, train_subjects):
    """A copy of `config` with what prediction on new video needs to know of the training data."""
    config = copy.deepcopy(config)
    stored = builder.info.features["frames"].shape[1]
    if config.data.frame_size not in (None, stored):
        raise ConfigError(f"config.data.frame_size={config.data.frame_size} but {builder.info.full_name} "
                          f"stores {stored}px frames: leave data.frame_size unset")
    config.data.frame_size = stored
    if config.data.expression_frames is None:
        config.data.expression_frames = input_pipeline.expression_frames(builder, train_subjects)
    return config


def augmentation(data_config) -> input_pipeline.Augmentation:
    return input_pipeline.Augmentation(flip=data_config.flip, min_crop=data_config.min_crop,
                                       brightness=data_config.brightness, contrast=data_config.contrast)


def batch_predictor(predict_fn, state: TrainState, mesh, batch_size: int):
    """frames [batch_size, T, H, W, 3] (the global batch) -> predictions [batch_size, T], sharded over `mesh`."""
    rows = sharding.local_rows(batch_size)
    return lambda frames: np.asarray(predict_fn(state, sharding.shard_batch({"frames": frames[rows]}, mesh)["frames"]))


def train_and_evaluate(config, workdir: str) -> dict:
    """Trains and evaluates by `config.eval.protocol`; returns metrics.json's (or results.json's) content."""
    config_checks.check_config(config)
    if config.get("task", "intensity") == "recognition" and not (
            isinstance(config.eval.get("chance_runs"), int) and config.eval.chance_runs >= 1):
        raise ConfigError(f"config.eval.chance_runs={config.eval.get('chance_runs')!r}: use a positive integer "
                          "(draws of the class-prior baseline)")
    workdir = config_checks.prepare_workdir(workdir)
    if jax.default_backend() == "cpu" and allocator.current() == "glibc":
        logging.warning("On glibc's malloc, XLA:CPU faults in fresh memory every step (0.5-0.9 s of kernel time "
                        "per 8x16x112 train step). "
                        "With tcmalloc installed (apt install libtcmalloc-minimal4) the command runs on it "
                        "(meint_jax/common/allocator.py).")
    builder = lookup.get_builder(config.data)
    if config.get("task", "intensity") == "spotting":
        return _spotting(config, workdir, builder)
    if config.get("task", "intensity") == "recognition":
        return _recognition(config, workdir, builder)
    subjects = input_pipeline.list_subjects(builder)
    if config.eval.protocol == "loso":
        return loso.run_loso(config, workdir, builder, subjects, run_fold)
    return run_fold(config, workdir, builder, *_holdout(config, subjects))


def _holdout(config, subjects: list[str]) -> tuple[list[str], list[str]]:
    """(training, test) subjects of the hold-out protocol."""
    try:
        return input_pipeline.split_subjects(subjects, config.eval.holdout_subjects, config.seed)
    except ValueError as e:
        raise ConfigError(str(e)) from e


def _spotting(config, workdir: str, builder) -> dict:
    """A spotting run: the long videos loaded once, then hold-out or LOSO folds of `spotting_run`."""
    from meint_jax.data.long import pipeline as long_pipeline
    from meint_jax.tasks.spotting import train as spotting_run

    if "flow" not in builder.info.features:
        raise ConfigError(f"config.data.name={config.data.name!r} is not a long-video dataset (e.g. "
                          "synthetic_long/default, casme3/features)")
    if config.model.inputs == "frames":
        if "chunk" not in builder.info.features:
            raise ConfigError(f"config.model.inputs='frames' needs face frames: config.data.name="
                              f"{config.data.name!r} stores flow features only; use its frames_* config")
        run_fold = functools.partial(spotting_run.run_fold, frames=long_pipeline.FrameReader(builder))
    else:
        run_fold = spotting_run.run_fold
    config = copy.deepcopy(config)
    for key in ("flow_size", "anchor_every"):    # new recordings must get the features the model learnt on
        if config.data.get(key) is None:
            config.data[key] = int(getattr(builder.builder_config, key))
    videos = long_pipeline.load_videos(builder)
    subjects = long_pipeline.list_subjects(videos)
    if config.eval.protocol == "loso":
        return loso.run_loso(config, workdir, videos, subjects, run_fold, spotting_run.write_results)
    return run_fold(config, workdir, videos, *_holdout(config, subjects))


def _recognition(config, workdir: str, builder) -> dict:
    """An emotion recognition run on trimmed clips: hold-out or LOSO folds of `recognition_run`."""
    from meint_jax.tasks.recognition import train as recognition_run

    features = builder.info.features
    if "onset" not in features or "emotion" not in features:
        raise ConfigError(f"config.data.name={config.data.name!r} is not a clip dataset with emotion labels "
                          "(e.g. synthetic_me/default, casme2/cropped_224, samm/dlib_224)")
    subjects = recognition_run.scored_subjects(config, builder)
    left_out = sorted(set(input_pipeline.list_subjects(builder)) - set(subjects))
    if left_out:
        logging.info("Subjects %s are left out: none of their clips has a class of data.emotion_labels=%r.",
                     ", ".join(left_out), config.data.emotion_labels)
    if config.eval.protocol == "loso":
        return loso.run_loso(config, workdir, builder, subjects, recognition_run.run_fold,
                             recognition_run.write_results)
    return recognition_run.run_fold(config, workdir, builder, *_holdout(config, subjects))


def split_validation(config, train_subjects: list[str], test_subjects: list[str]) -> tuple[list[str], list[str]]:
    """(training, validation) subjects: `config.eval.validation_subjects` of the training subjects (none if 0)."""
    validation_subjects = []
    if config.eval.validation_subjects:
        try:
            train_subjects, validation_subjects = input_pipeline.split_subjects(
                train_subjects, config.eval.validation_subjects, config.seed + 1)
        except ValueError as e:
            raise ConfigError(f"config.eval.validation_subjects: {e}") from e
    logging.info("Subjects: %d train, %d validation, %d test (%s).", len(train_subjects), len(validation_subjects),
                 len(test_subjects), ", ".join(test_subjects))
    return train_subjects, validation_subjects


def start_clip_run(config, workdir: str, ckpt, saved, mesh, validation_subjects, best_metric: str):
    """(model, optimiser, replicated state, keeper of the best checkpoint by `best_metric` or None) of a run
    on clips: restored from its latest checkpoint, or new with ResNet18's weights from model.init_from (a
    flow stem starts from random initialisation)."""
    model = create_model(config.model)
    tx = create_optimizer(config.train)
    example = clip_input(config)
    state = init_state(model, tx, example.shape, config.seed, example.dtype)
    best_ckpt = None
    if validation_subjects:
        best_ckpt = checkpoint.Checkpointer(os.path.join(workdir, "best"), max_to_keep=1, best_metric=best_metric)
    if saved is not None:
        state, _ = ckpt.restore(state)
    elif config.model.get("inputs", "frames") != "flow":          # the flow stem has no pretrained weights
        state = load_pretrained_encoder(state, tx, config.model.init_from)
    return model, tx, sharding.replicate(state, mesh), best_ckpt


def select_checkpoint(config, state, best_ckpt) -> tuple[TrainState, str]:
    """(the state to evaluate, which it is): the last, or with eval.select='best' the best on validation."""
    if config.eval.select == "best" and best_ckpt is not None and best_ckpt.best() is not None:
        best_step, _ = best_ckpt.best()
        state, _ = best_ckpt.restore(state, best_step)
        return state, f"best (step {best_step})"
    return state, "last"


def count_compilations(step_fn, predict_fn, run_log) -> dict:
    """How often each jitted step compiled; more than once is logged (an input changed shape or type)."""
    compilations = {"train_step": step_fn._cache_size(), "predict_step": predict_fn._cache_size()}
    if max(compilations.values()) > 1:
        run_log.text("warning: a step was compiled more than once (%s): some input changed shape or type",
                     compilations)
    return compilations


def run_fold(config, workdir: str, builder, train_subjects: list[str], test_subjects: list[str]) -> dict:
    """Trains on `train_subjects` (less any validation subjects), tests on `test_subjects`."""
    os.makedirs(workdir, exist_ok=True)
    train_subjects, validation_subjects = split_validation(config, train_subjects, test_subjects)
    config = record_dataset_facts(config, builder, train_subjects)
    t = config.train
    ckpt, saved = fit.open_run(workdir, config)

    mesh = sharding.data_mesh()
    d = config.data
    model, tx, state, best_ckpt = start_clip_run(config, workdir, ckpt, saved, mesh, validation_subjects,
                                                 "validation_spearman")
    start_step = int(state.step)

    step_fn, predict_fn = jit_steps(model, tx, config, out_sharding=sharding.replicated(mesh))
    batches = input_pipeline.train_batches(
        builder, train_subjects, intensity.window_spec(config, d.train_window, d.jitter), batch_size=t.batch_size,
        image_size=d.image_size, label_shape=d.pseudo_label, augment=augmentation(d), seed=config.seed,
        start_step=start_step, process_index=jax.process_index(), process_count=jax.process_count())
    run_log = RunLog(workdir, start_step)
    if start_step:
        run_log.text("resumed from %s", ckpt.step_dir(start_step))

    def on_checkpoint(step, state):
        if best_ckpt is not None:
            _validate(config, builder, batch_predictor(predict_fn, state, mesh, t.batch_size),
                      train_subjects, validation_subjects, state, best_ckpt, run_log, step)

    state, train_seconds = fit.fit(
        config, state, step_fn, batches,
        to_device=lambda batch: sharding.shard_batch({"frames": batch["frames"], "targets": batch["targets"]}, mesh),
        example_ids=lambda batch: "clips " + ", ".join(c.decode() for c in batch["clip_id"]),
        ckpt=ckpt, run_log=run_log, on_checkpoint=on_checkpoint, closing=(best_ckpt,))

    state, selected = select_checkpoint(config, state, best_ckpt)
    results, panels = intensity.evaluate(config, builder, batch_predictor(predict_fn, state, mesh, t.batch_size),
                                        train_subjects, test_subjects)
    _log_results(results, run_log.text)
    for protocol, by_predictor in intensity.without_per_clip(results).items():
        for predictor, r in by_predictor.items():
            run_log.scalars(int(state.step), {k: v for k, v in r.items() if isinstance(v, float)},
                            prefix=f"test/{protocol}/{predictor}")
    compilations = count_compilations(step_fn, predict_fn, run_log)
    run_log.close()
    summary = {
        "dataset": d.name, "variant": config.variant, "pseudo_label": d.pseudo_label,
        "train_steps": int(state.step), "evaluated_checkpoint": selected, "compilations": compilations,
        "train_seconds_this_run": round(train_seconds, 1), "train_subjects": train_subjects,
        "validation_subjects": validation_subjects, "test_subjects": test_subjects, **results,
    }
    if jax.process_index() == 0:
        files.write_text(os.path.join(workdir, "metrics.json"), json.dumps(summary, indent=2))
        files.write_with(os.path.join(workdir, "curves.png"), lambda path: plots.plot_curves(
            path, panels, f"{d.name} ({config.variant}), held-out subjects, step {int(state.step)}"))
        logging.info("Wrote %s and %s.", os.path.join(workdir, "metrics.json"), os.path.join(workdir, "curves.png"))
    return summary


def _validate(config, builder, predict_batch, train_subjects, validation_subjects, state, best_ckpt, run_log,
              step: int) -> None:
    """Scores the model on the validation subjects and keeps the checkpoint if it is the best so far."""
    protocol = config.eval.validation_protocol
    results, _ = intensity.evaluate(config, builder, predict_batch, train_subjects, validation_subjects,
                                    protocols=(protocol,))
    score = results[protocol]["model"]["spearman"]
    run_log.scalars(step, {"spearman": score, "kendall": results[protocol]["model"]["kendall"]},
                    prefix=f"validation/{protocol}")
    best_ckpt.save(step, state, config.to_dict(), metrics={"validation_spearman": score})
    best = best_ckpt.best()
    run_log.text("step %d: validation %s Spearman %.3f (best %.3f at step %d)", step, protocol, score,
                 best[1] if best else score, best[0] if best else step)
