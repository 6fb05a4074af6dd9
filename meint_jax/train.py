"""Training and evaluation: `train_and_evaluate(config, workdir)`.

Pure, jit-compiled `train_step` and `predict_step` over a plain pytree state;
the loop around them feeds batches, logs, checkpoints, and at the end
evaluates the model and the position prior on held-out subjects in both
protocols (trimmed and untrimmed), writing `metrics.json` and `curves.png`.
"""

from __future__ import annotations

import copy
import functools
import json
import os
import time
from typing import Any

import flax
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
from absl import logging
from tqdm import tqdm

from meint_jax import baselines, checkpoint, losses, metrics, plots, validation
from meint_jax.models import create_model

PROTOCOLS = ("trimmed", "untrimmed")


@flax.struct.dataclass
class TrainState:
    step: jnp.ndarray
    params: Any
    batch_stats: Any
    opt_state: Any


def create_optimizer(train_config: ml_collections.ConfigDict) -> optax.GradientTransformation:
    lr = train_config.learning_rate
    if train_config.schedule == "cosine":
        schedule = optax.warmup_cosine_decay_schedule(
            0.0, lr, max(train_config.warmup_steps, 1), max(train_config.num_steps, 2))
    elif train_config.warmup_steps:
        schedule = optax.join_schedules(
            [optax.linear_schedule(0.0, lr, train_config.warmup_steps), optax.constant_schedule(lr)],
            [train_config.warmup_steps])
    else:
        schedule = lr
    return optax.adam(schedule)


def init_state(model, tx, frames_shape, seed: int) -> TrainState:
    variables = jax.jit(functools.partial(model.init, train=False))(
        jax.random.PRNGKey(seed), jnp.zeros(frames_shape, jnp.uint8))
    params = variables["params"]
    return TrainState(step=jnp.zeros((), jnp.int32), params=params,
                      batch_stats=variables["batch_stats"], opt_state=tx.init(params))


def load_pretrained_encoder(state: TrainState, tx, init_from: str | None) -> TrainState:
    """The state with the encoder's weights from `init_from` (for a run that starts, not resumes)."""
    from meint_jax import pretrained

    if not init_from:
        logging.warning("config.model.init_from is unset: the encoder starts from random initialisation "
                        "(the paper starts from ImageNet weights).")
        return state
    path = os.path.expanduser(init_from)
    variables = pretrained.merge_encoder({"params": state.params, "batch_stats": state.batch_stats},
                                         pretrained.load_encoder_weights(path), path)
    return state.replace(params=variables["params"], batch_stats=variables["batch_stats"],
                         opt_state=tx.init(variables["params"]))


def train_step(state: TrainState, batch: dict, *, model, tx, loss_config) -> tuple[TrainState, dict]:
    """One Adam step on the loss of DESIGN.md: MSE + smoothness + apex ranking."""

    def loss_fn(params):
        pred, updates = model.apply({"params": params, "batch_stats": state.batch_stats},
                                    batch["frames"], train=True, mutable=["batch_stats"])
        pred = pred[0]
        loss, terms = losses.total_loss(pred, batch["targets"], loss_config.smooth_weight,
                                        loss_config.rank_weight, loss_config.rank_margin)
        return loss, (terms, updates["batch_stats"])

    (loss, (terms, batch_stats)), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params)
    updates, opt_state = tx.update(grads, state.opt_state, state.params)
    params = optax.apply_updates(state.params, updates)
    new_state = TrainState(step=state.step + 1, params=params, batch_stats=batch_stats, opt_state=opt_state)
    return new_state, dict(terms, loss=loss, grad_norm=optax.global_norm(grads))


def predict_step(state: TrainState, frames: jnp.ndarray, *, model) -> jnp.ndarray:
    pred, _ = model.apply({"params": state.params, "batch_stats": state.batch_stats}, frames, train=False)
    return pred


def predict_windows(predict_fn, state, windows: dict, batch_size: int) -> np.ndarray:
    """Model predictions [N, T] for every window, in fixed-size (never recompiled) batches."""
    from meint_jax import input_pipeline

    outputs = []
    for batch in input_pipeline.as_batches(windows, batch_size):
        pred = np.asarray(predict_fn(state, batch["frames"]))
        outputs.append(pred[batch["mask"] > 0])
    return np.concatenate(outputs)


def _window_spec(config, kind: str, jitter: bool):
    from meint_jax import input_pipeline

    d = config.data
    return input_pipeline.WindowSpec(kind=kind, num_steps=d.num_steps,
                                     untrimmed_probability=d.untrimmed_probability,
                                     max_margin=d.max_margin, jitter=jitter)


def _augmentation(data_config):
    from meint_jax import input_pipeline

    return input_pipeline.Augmentation(flip=data_config.flip, min_crop=data_config.min_crop,
                                       brightness=data_config.brightness, contrast=data_config.contrast)


def _summarize(pred, windows) -> dict:
    return metrics.summarize(pred, windows["targets"], windows["positions"], windows["apex"],
                             windows.get("true_intensity"), windows["clip_index"])


def evaluate(config, builder, predict_fn, state, train_subjects, test_subjects) -> tuple[dict, list]:
    """Model and position prior on held-out subjects, per protocol; plus plot panels."""
    from meint_jax import input_pipeline

    results, panels = {}, []
    for protocol in PROTOCOLS:
        spec = _window_spec(config, protocol, jitter=False)
        num_windows = 1 if protocol == "trimmed" else config.eval.untrimmed_windows
        common = dict(windows_per_clip=num_windows, image_size=config.data.image_size,
                      label_shape=config.data.pseudo_label)
        train_windows = input_pipeline.eval_windows(builder, train_subjects, spec, seed=config.eval.seed + 1,
                                                    decode=False, **common)
        prior = baselines.fit_position_prior(train_windows["targets"])
        test_windows = input_pipeline.eval_windows(builder, test_subjects, spec, seed=config.eval.seed,
                                                   **common)
        pred = predict_windows(predict_fn, state, test_windows, config.train.batch_size)
        prior_pred = baselines.predict_position_prior(prior, len(pred))
        results[protocol] = {"model": _summarize(pred, test_windows),
                             "position_prior": _summarize(prior_pred, test_windows)}
        first_window = np.unique(test_windows["clip_index"], return_index=True)[1]
        for i in first_window[:config.eval.plot_clips]:
            panels.append({
                "protocol": protocol, "clip_id": test_windows["clip_id"][i].decode(),
                "positions": test_windows["positions"][i], "prediction": pred[i],
                "target": test_windows["targets"][i], "prior": prior_pred[i],
                "true_intensity": test_windows["true_intensity"][i] if "true_intensity" in test_windows else None,
                "onset": test_windows["onset"][i], "apex": test_windows["apex"][i],
                "offset": test_windows["offset"][i]})
    return results, panels


def _write_atomically(path: str, text: str) -> None:
    """Writes `text` to `path` through a temporary file, so a crash never leaves half a file."""
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.replace(path + ".tmp", path)


def _log_results(results: dict) -> None:
    for protocol, by_predictor in results.items():
        for predictor, r in by_predictor.items():
            truth = f", vs truth {r['true_spearman']:.3f}/{r['true_kendall']:.3f}" if "true_spearman" in r else ""
            logging.info("%-9s %-14s Spearman/Kendall %.3f/%.3f%s (%d clips)", protocol, predictor,
                         r["spearman"], r["kendall"], truth, r["num_clips"])


def _record_dataset_facts(config, builder, train_subjects):
    """A copy of `config` with what prediction on new video needs to know of the training data."""
    from meint_jax import input_pipeline

    config = copy.deepcopy(config)
    stored = builder.info.features["frames"].shape[1]
    if config.data.frame_size not in (None, stored):
        raise validation.ConfigError(f"config.data.frame_size={config.data.frame_size} but {builder.info.full_name} "
                                     f"stores {stored}px frames: leave data.frame_size unset")
    config.data.frame_size = stored
    if config.data.expression_frames is None:
        config.data.expression_frames = input_pipeline.expression_frames(builder, train_subjects)
    return config


def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str) -> dict:
    """Trains on the training subjects, evaluates on held-out ones; returns metrics.json's content."""
    from meint_jax import datasets, input_pipeline

    validation.check_config(config)
    workdir = validation.prepare_workdir(workdir)
    _write_atomically(os.path.join(workdir, "config.json"), config.to_json_best_effort(indent=2))

    builder = datasets.get_builder(config.data)
    subjects = input_pipeline.list_subjects(builder)
    try:
        train_subjects, test_subjects = input_pipeline.split_subjects(
            subjects, config.eval.holdout_subjects, config.seed)
    except ValueError as e:
        raise validation.ConfigError(str(e)) from e
    logging.info("Subjects: %d train, %d held out (%s).", len(train_subjects), len(test_subjects),
                 ", ".join(test_subjects))
    config = _record_dataset_facts(config, builder, train_subjects)
    _write_atomically(os.path.join(workdir, "config.json"), config.to_json_best_effort(indent=2))

    model = create_model(config.model)
    tx = create_optimizer(config.train)
    d, t = config.data, config.train
    state = init_state(model, tx, (1, d.num_steps, d.image_size, d.image_size, 3), config.seed)
    ckpt = checkpoint.Checkpointer(os.path.join(workdir, "checkpoints"))
    if ckpt.latest_step() is not None:
        state, _ = ckpt.restore(state)
        logging.info("Resumed from the checkpoint at step %d.", int(state.step))
    else:
        state = load_pretrained_encoder(state, tx, config.model.init_from)
    start_step = int(state.step)

    step_fn = jax.jit(functools.partial(train_step, model=model, tx=tx, loss_config=config.loss),
                      donate_argnums=0)
    predict_fn = jax.jit(functools.partial(predict_step, model=model))
    batches = input_pipeline.train_batches(
        builder, train_subjects, _window_spec(config, d.train_window, d.jitter), batch_size=t.batch_size,
        image_size=d.image_size, label_shape=d.pseudo_label, augment=_augmentation(d), seed=config.seed,
        start_step=start_step)

    log_path = os.path.join(workdir, "train_log.jsonl")
    train_start = time.time()
    progress = tqdm(range(start_step, t.num_steps), initial=start_step, total=t.num_steps,
                    desc="train", unit="step", dynamic_ncols=True)
    for step in progress:
        batch = next(batches)
        state, step_metrics = step_fn(state, {"frames": batch["frames"], "targets": batch["targets"]})
        if (step + 1) % t.log_every == 0 or step + 1 == t.num_steps:
            values = {k: float(v) for k, v in jax.device_get(step_metrics).items()}
            if not np.isfinite(values["loss"]):
                raise FloatingPointError(f"loss is {values['loss']} at step {step + 1}; stopping")
            progress.set_postfix(loss=f"{values['loss']:.4f}")
            with open(log_path, "a") as f:
                f.write(json.dumps({"step": step + 1, **values}) + "\n")
        if (step + 1) % t.checkpoint_every == 0 or step + 1 == t.num_steps:
            ckpt.save(step + 1, state, config.to_dict())
    progress.close()
    ckpt.close()
    train_seconds = time.time() - train_start

    results, panels = evaluate(config, builder, predict_fn, state, train_subjects, test_subjects)
    _log_results(results)
    summary = {
        "dataset": d.name, "variant": config.variant, "train_steps": int(state.step),
        "train_seconds_this_run": round(train_seconds, 1), "train_subjects": train_subjects,
        "test_subjects": test_subjects, **results,
    }
    _write_atomically(os.path.join(workdir, "metrics.json"), json.dumps(summary, indent=2))
    plots.plot_curves(os.path.join(workdir, "curves.png"), panels,
                      f"{d.name} ({config.variant}), held-out subjects, step {int(state.step)}")
    logging.info("Wrote %s and %s.", os.path.join(workdir, "metrics.json"), os.path.join(workdir, "curves.png"))
    return summary
