"""Paper 001's pure steps: MSE + smoothness + apex ranking on per-frame intensity (no TensorFlow, no I/O)."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from meint_jax.data import flow_features
from meint_jax.tasks.intensity import losses
from meint_jax.training.state import TrainState, apply_if_finite


def example_input(config) -> jax.ShapeDtypeStruct:
    """One window of a run's inputs (a config or its saved dict): uint8 frames [1, T, S, S, 3], or for a run
    on region motion (model.inputs='flow') float32 [1, T, 36]."""
    d = config["data"]
    if config["model"].get("inputs", "frames") == "flow":     # runs saved before the field read frames
        return jax.ShapeDtypeStruct((1, d["num_steps"], flow_features.NUM_FEATURES), jnp.float32)
    return jax.ShapeDtypeStruct((1, d["num_steps"], d["image_size"], d["image_size"], 3), jnp.uint8)


def train_step(state: TrainState, batch: dict, *, model, tx, loss_config) -> tuple[TrainState, dict]:
    """One Adam step on the loss of docs/design.md for `frames` [B, T, S, S, 3] (or a flow run's region motion
    [B, T, 36]) and `targets` [B, T]."""

    def loss_fn(params):
        pred, updates = model.apply({"params": params, "batch_stats": state.batch_stats},
                                    batch["frames"], train=True, mutable=["batch_stats"])
        pred = pred[0]
        loss, terms = losses.total_loss(pred, batch["targets"], loss_config.smooth_weight,
                                        loss_config.rank_weight, loss_config.rank_margin)
        return loss, (terms, updates["batch_stats"])

    return apply_if_finite(state, loss_fn, tx)


def predict_step(state: TrainState, frames: jnp.ndarray, *, model) -> jnp.ndarray:
    """Intensity [B, T] of windows of frames (or of region motion)."""
    pred, _ = model.apply({"params": state.params, "batch_stats": state.batch_stats}, frames, train=False)
    return pred
