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


SCHEDULES = ("constant", "cosine", "onecycle")
# torch.optim.lr_scheduler.OneCycleLR's defaults, which paper 002 keeps: the rate rises from peak / 25 and ends at
# peak / 25 / 1e4; Adam's beta1 (its momentum) falls from 0.95 to 0.85 while the rate rises, and climbs back.
ONECYCLE_DIV, ONECYCLE_FINAL_DIV = 25.0, 1e4
ONECYCLE_MOMENTUM = (0.95, 0.85)


def onecycle(num_steps: int, rise_steps: int, start: float, peak: float, end: float):
    """torch's OneCycleLR curve (two phases, cosine annealing) as a schedule of the step: `start` to `peak` by step
    `rise_steps` - 1, then to `end` by step `num_steps` - 1 (torch's pct_start = rise_steps / num_steps); held
    at `end` past it, where torch would raise."""
    rise_end, last = float(rise_steps) - 1.0, float(num_steps) - 1.0

    def anneal(a, b, pct):     # torch's b + (a - b) (cos(pi pct) + 1) / 2, without float32's cancellation near 1
        return b + (a - b) * jnp.cos(jnp.pi / 2.0 * pct) ** 2

    def schedule(step):
        step = jnp.asarray(step, jnp.float32)
        rising = anneal(start, peak, step / rise_end if rise_end > 0 else jnp.ones_like(step))
        falling = anneal(peak, end, jnp.clip((step - rise_end) / max(last - rise_end, 1e-9), 0.0, 1.0))
        return jnp.where(step <= rise_end, rising, falling)

    return schedule


def create_optimizer(train_config: ml_collections.ConfigDict) -> optax.GradientTransformation:
    """Adam under `train_config.schedule`: constant (after any linear warm-up), cosine (warm-up from 0, then
    cosine decay to 0), or onecycle (paper 002's: torch's OneCycleLR with its rising phase `warmup_steps` long,
    cycling Adam's beta1 as torch does)."""
    lr = train_config.learning_rate
    if train_config.schedule == "onecycle":
        steps, rise = train_config.num_steps, train_config.warmup_steps
        start = lr / ONECYCLE_DIV
        rate = onecycle(steps, rise, start, lr, start / ONECYCLE_FINAL_DIV)
        momentum = onecycle(steps, rise, ONECYCLE_MOMENTUM[0], ONECYCLE_MOMENTUM[1], ONECYCLE_MOMENTUM[0])
        return optax.inject_hyperparams(optax.adam)(learning_rate=rate, b1=momentum)
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

