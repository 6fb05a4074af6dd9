"""The training state and what every task's steps share: no TensorFlow, no I/O, no task.

A plain pytree state (step, params, batch_stats, opt_state). Each task's `train_step` and `predict_step`
(`tasks/<task>/steps.py`) are pure functions of it and a batch of arrays; `apply_if_finite` is the update
they all end in, and `jit_steps` compiles a task's pair once with the per-backend compiler options of
`common.xla_options`.
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


def init_state(model, tx, frames_shape, seed: int, dtype=jnp.uint8) -> TrainState:
    """A fresh state for inputs of `frames_shape` (uint8 frames; float32 for flow features)."""
    variables = jax.jit(functools.partial(model.init, train=False))(
        jax.random.PRNGKey(seed), jnp.zeros(frames_shape, dtype))
    params = variables["params"]
    return TrainState(step=jnp.zeros((), jnp.int32), params=params,
                      batch_stats=variables.get("batch_stats", {}), opt_state=tx.init(params))


def apply_if_finite(state: TrainState, loss_fn, tx) -> tuple[TrainState, dict]:
    """The optimiser step on `loss_fn(params) -> (loss, (terms, batch_stats))`, applied only if finite.

    A step whose loss or gradient is not finite changes nothing and reports `finite` 0, so the state the
    loop stops with is the last good one."""
    (loss, (terms, batch_stats)), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params)
    updates, opt_state = tx.update(grads, state.opt_state, state.params)
    params = optax.apply_updates(state.params, updates)
    grad_norm = optax.global_norm(grads)
    finite = jnp.isfinite(loss) & jnp.isfinite(grad_norm)
    new_state = TrainState(step=state.step + 1, params=params, batch_stats=batch_stats, opt_state=opt_state)
    new_state = jax.tree_util.tree_map(lambda new, old: jnp.where(finite, new, old), new_state, state)
    return new_state, dict(terms, loss=loss, grad_norm=grad_norm, finite=finite)


def jit_steps(train_fn, predict_fn, model, tx, config: ml_collections.ConfigDict, *, out_sharding=None,
              donate: bool = True):
    """(train step, forward pass): a task's `train_fn(state, batch, *, model, tx, loss_config)` and
    `predict_fn(state, inputs, *, model)`, jit-compiled with `xla_options` for `config.train.cpu_convolutions`.

    The train step donates the state (`donate=True`; the caller must use the returned one). With
    `out_sharding` both steps place their outputs there (the loop: replicated over the mesh).
    The benchmarks build theirs here too, so they time the program training runs.
    """
    placed = lambda outputs: {} if out_sharding is None else {"out_shardings": outputs}
    cpu_convolutions = config.train.cpu_convolutions
    step_fn = jax.jit(functools.partial(train_fn, model=model, tx=tx, loss_config=config.loss),
                      compiler_options=xla_options.step_options(cpu_convolutions, step="train"),
                      donate_argnums=0 if donate else (), **placed((out_sharding, out_sharding)))
    predict_fn = jax.jit(functools.partial(predict_fn, model=model), **placed(out_sharding),
                         compiler_options=xla_options.step_options(cpu_convolutions, step="predict"))
    return step_fn, predict_fn

