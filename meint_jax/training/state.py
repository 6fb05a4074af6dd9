"""The training state and the pure, jit-compiled steps: no TensorFlow, no I/O.

A plain pytree state (step, params, batch_stats, opt_state); `train_step` and
`predict_step` are pure functions of it and a batch of arrays, compiled once
by `jit_steps` with the per-backend compiler options of `common.xla_options`.
"""

from __future__ import annotations

import functools
from typing import Any

import flax
import jax
import jax.numpy as jnp
import ml_collections
import optax

from meint_jax.common import xla_options
from meint_jax.training import losses


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


def clip_input(config) -> jax.ShapeDtypeStruct:
    """One window of a clip run's inputs (a config or its saved dict): uint8 frames [1, T, S, S, 3], or for
    recognition on region motion (model.inputs='flow') float32 [1, T, 36]."""
    d, m = config["data"], config["model"]
    if m.get("inputs", "frames") == "flow":
        return jax.ShapeDtypeStruct((1, d["num_steps"], 36), jnp.float32)
    return jax.ShapeDtypeStruct((1, d["num_steps"], d["image_size"], d["image_size"], 3), jnp.uint8)


def init_state(model, tx, frames_shape, seed: int, dtype=jnp.uint8) -> TrainState:
    """A fresh state for inputs of `frames_shape` (uint8 frames; float32 for flow features)."""
    variables = jax.jit(functools.partial(model.init, train=False))(
        jax.random.PRNGKey(seed), jnp.zeros(frames_shape, dtype))
    params = variables["params"]
    return TrainState(step=jnp.zeros((), jnp.int32), params=params,
                      batch_stats=variables.get("batch_stats", {}), opt_state=tx.init(params))


def train_step(state: TrainState, batch: dict, *, model, tx, loss_config) -> tuple[TrainState, dict]:
    """One Adam step on the loss of docs/design.md: MSE + smoothness + apex ranking.

    A step whose loss or gradient is not finite changes nothing and reports
    `finite` 0, so the state the loop stops with is the last good one.
    """

    def loss_fn(params):
        pred, updates = model.apply({"params": params, "batch_stats": state.batch_stats},
                                    batch["frames"], train=True, mutable=["batch_stats"])
        pred = pred[0]
        loss, terms = losses.total_loss(pred, batch["targets"], loss_config.smooth_weight,
                                        loss_config.rank_weight, loss_config.rank_margin)
        return loss, (terms, updates["batch_stats"])

    return _apply(state, loss_fn, tx)


def _apply(state: TrainState, loss_fn, tx) -> tuple[TrainState, dict]:
    """The optimiser step on `loss_fn(params) -> (loss, (terms, batch_stats))`, applied only if finite."""
    (loss, (terms, batch_stats)), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params)
    updates, opt_state = tx.update(grads, state.opt_state, state.params)
    params = optax.apply_updates(state.params, updates)
    grad_norm = optax.global_norm(grads)
    finite = jnp.isfinite(loss) & jnp.isfinite(grad_norm)
    new_state = TrainState(step=state.step + 1, params=params, batch_stats=batch_stats, opt_state=opt_state)
    new_state = jax.tree_util.tree_map(lambda new, old: jnp.where(finite, new, old), new_state, state)
    return new_state, dict(terms, loss=loss, grad_norm=grad_norm, finite=finite)


def spotting_train_step(state: TrainState, batch: dict, *, model, tx, loss_config) -> tuple[TrainState, dict]:
    """One step on paper 002's loss for a batch of windows: `inputs` (flow features or frames), `targets`
    [B, T, 2], `mask` [B, T], and with an emotion head `emotions` [B, T] (class indices):
    spotting_weight x `losses.spotting_mse` + emotion_weight x `losses.emotion_cross_entropy`."""

    def loss_fn(params):
        (logits, aux), updates = model.apply({"params": params, "batch_stats": state.batch_stats}, batch["inputs"],
                                             train=True, mutable=["batch_stats"])
        spot = losses.spotting_mse(logits, batch["targets"], batch["mask"],
                                   (loss_config.micro_weight, loss_config.macro_weight))
        terms = {"mse": spot}
        loss = loss_config.get("spotting_weight", 1.0) * spot
        if "emotions" in aux:
            terms["emotion_ce"] = losses.emotion_cross_entropy(aux["emotions"], batch["emotions"], batch["mask"],
                                                               loss_config.emotion_weights)
            loss = loss + loss_config.emotion_weight * terms["emotion_ce"]
        return loss, (terms, updates.get("batch_stats", {}))

    return _apply(state, loss_fn, tx)


def spotting_predict_step(state: TrainState, inputs: jnp.ndarray, *, model) -> jnp.ndarray:
    """Per-frame scores [B, T, 2 (+ C + 1)]: micro and macro in [0, 1], then with an emotion head the
    probabilities of the emotion classes and neutral (softmax)."""
    logits, aux = model.apply({"params": state.params, "batch_stats": state.batch_stats}, inputs, train=False)
    scores = jax.nn.sigmoid(logits)
    if "emotions" in aux:
        scores = jnp.concatenate([scores, jax.nn.softmax(aux["emotions"], axis=-1)], axis=-1)
    return scores


def recognition_train_step(state: TrainState, batch: dict, *, model, tx, loss_config) -> tuple[TrainState, dict]:
    """One step of clip recognition: weighted cross-entropy of the clips' `emotion` (class index; < 0 for a
    clip of no class, which weighs nothing) from their `frames`."""

    def loss_fn(params):
        (logits, _), updates = model.apply({"params": params, "batch_stats": state.batch_stats}, batch["frames"],
                                           train=True, mutable=["batch_stats"])
        ce = losses.emotion_cross_entropy(logits, batch["emotion"], jnp.ones(logits.shape[:1]),
                                          loss_config.emotion_weights)
        return ce, ({"emotion_ce": ce}, updates.get("batch_stats", {}))

    return _apply(state, loss_fn, tx)


def recognition_predict_step(state: TrainState, frames: jnp.ndarray, *, model) -> jnp.ndarray:
    """Class probabilities [B, C] of clips."""
    logits, _ = model.apply({"params": state.params, "batch_stats": state.batch_stats}, frames, train=False)
    return jax.nn.softmax(logits, axis=-1)


def predict_step(state: TrainState, frames: jnp.ndarray, *, model) -> jnp.ndarray:
    pred, _ = model.apply({"params": state.params, "batch_stats": state.batch_stats}, frames, train=False)
    return pred


def jit_steps(model, tx, config: ml_collections.ConfigDict, *, out_sharding=None, donate: bool = True):
    """(train step, forward pass), jit-compiled with `xla_options` for `config.train.cpu_convolutions`.

    The train step donates the state (`donate=True`; the caller must use the returned one). With
    `out_sharding` both steps place their outputs there (the loop: replicated over the mesh).
    The benchmarks build theirs here too, so they time the program training runs.
    """
    placed = lambda outputs: {} if out_sharding is None else {"out_shardings": outputs}
    cpu_convolutions = config.train.cpu_convolutions
    train_fn, forward_fn = STEPS[config.get("task", "intensity")]
    step_fn = jax.jit(functools.partial(train_fn, model=model, tx=tx, loss_config=config.loss),
                      compiler_options=xla_options.step_options(cpu_convolutions, step="train"),
                      donate_argnums=0 if donate else (), **placed((out_sharding, out_sharding)))
    predict_fn = jax.jit(functools.partial(forward_fn, model=model), **placed(out_sharding),
                         compiler_options=xla_options.step_options(cpu_convolutions, step="predict"))
    return step_fn, predict_fn


STEPS = {"intensity": (train_step, predict_step), "spotting": (spotting_train_step, spotting_predict_step),
         "recognition": (recognition_train_step, recognition_predict_step)}
