"""Clip recognition's pure steps: class-weighted cross-entropy of a clip's emotion (no TensorFlow, no I/O)."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from meint_jax.data import flow_features
from meint_jax.training import losses
from meint_jax.training.state import TrainState, apply_if_finite


def example_input(config) -> jax.ShapeDtypeStruct:
    """One window of a run's inputs (a config or its saved dict): uint8 frames [1, T, S, S, 3], or for a run
    on region motion (model.inputs='flow') float32 [1, T, 36]."""
    d, m = config["data"], config["model"]
    if m.get("inputs", "frames") == "flow":
        return jax.ShapeDtypeStruct((1, d["num_steps"], flow_features.NUM_FEATURES), jnp.float32)
    return jax.ShapeDtypeStruct((1, d["num_steps"], d["image_size"], d["image_size"], 3), jnp.uint8)


def train_step(state: TrainState, batch: dict, *, model, tx, loss_config) -> tuple[TrainState, dict]:
    """One step of clip recognition: weighted cross-entropy of the clips' `emotion` (class index; < 0 for a
    clip of no class, which weighs nothing) from their `frames`."""

    def loss_fn(params):
        (logits, _), updates = model.apply({"params": params, "batch_stats": state.batch_stats}, batch["frames"],
                                           train=True, mutable=["batch_stats"])
        ce = losses.emotion_cross_entropy(logits, batch["emotion"], jnp.ones(logits.shape[:1]),
                                          loss_config.emotion_weights)
        return ce, ({"emotion_ce": ce}, updates.get("batch_stats", {}))

    return apply_if_finite(state, loss_fn, tx)


def predict_step(state: TrainState, frames: jnp.ndarray, *, model) -> jnp.ndarray:
    """Class probabilities [B, C] of clips."""
    logits, _ = model.apply({"params": state.params, "batch_stats": state.batch_stats}, frames, train=False)
    return jax.nn.softmax(logits, axis=-1)
