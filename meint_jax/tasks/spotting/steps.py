"""Paper 002's pure steps: the spotting MSE on sigmoid scores, with the emotion head's weighted cross-entropy
(no TensorFlow, no I/O)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from meint_jax.data import flow_features
from meint_jax.training import losses
from meint_jax.training.state import TrainState, apply_if_finite


def example_input(config) -> jax.ShapeDtypeStruct:
    """One window of a run's flow features (a config or its saved dict): float32 [1, W, 36]. (A run on face
    frames, model.inputs='frames', takes their side from its build: `train.py`.)"""
    return jax.ShapeDtypeStruct((1, config["data"]["window"], flow_features.NUM_FEATURES), np.float32)


def spotting_mse(logits, targets, mask, channel_weights):
    """Paper 002's spotting loss: squared error of sigmoid scores against per-frame targets, over the frames
    that `mask` keeps, each channel (micro, macro) weighted; logits and targets [B, T, 2], mask [B, T]."""
    weights = jnp.asarray(channel_weights, jnp.float32)
    error = (jax.nn.sigmoid(logits) - targets) ** 2 * weights
    return jnp.sum(error * mask[..., None]) / jnp.maximum(jnp.sum(mask) * jnp.sum(weights), 1.0)


def train_step(state: TrainState, batch: dict, *, model, tx, loss_config) -> tuple[TrainState, dict]:
    """One step on paper 002's loss for a batch of windows: `inputs` (flow features or frames), `targets`
    [B, T, 2], `mask` [B, T], and with an emotion head `emotions` [B, T] (class indices):
    spotting_weight x `spotting_mse` + emotion_weight x `losses.emotion_cross_entropy`."""

    # Drop-path's draws (model.drop_path), from the step alone: a resumed run draws what an uninterrupted one would.
    dropout = jax.random.fold_in(jax.random.PRNGKey(0), state.step)

    def loss_fn(params):
        (logits, aux), updates = model.apply({"params": params, "batch_stats": state.batch_stats}, batch["inputs"],
                                             train=True, mutable=["batch_stats"], rngs={"dropout": dropout})
        spot = spotting_mse(logits, batch["targets"], batch["mask"],
                            (loss_config.micro_weight, loss_config.macro_weight))
        terms = {"mse": spot}
        loss = loss_config.get("spotting_weight", 1.0) * spot
        if "emotions" in aux:
            terms["emotion_ce"] = losses.emotion_cross_entropy(
                aux["emotions"], batch["emotions"], batch["mask"], loss_config.emotion_weights,
                loss_config.get("emotion_reduction", "weighted_mean"))
            loss = loss + loss_config.emotion_weight * terms["emotion_ce"]
        return loss, (terms, updates.get("batch_stats", {}))

    return apply_if_finite(state, loss_fn, tx)


def predict_step(state: TrainState, inputs: jnp.ndarray, *, model) -> jnp.ndarray:
    """Per-frame scores [B, T, 2 (+ C + 1)]: micro and macro in [0, 1], then with an emotion head the
    probabilities of the emotion classes and neutral (softmax)."""
    logits, aux = model.apply({"params": state.params, "batch_stats": state.batch_stats}, inputs, train=False)
    scores = jax.nn.sigmoid(logits)
    if "emotions" in aux:
        scores = jnp.concatenate([scores, jax.nn.softmax(aux["emotions"], axis=-1)], axis=-1)
    return scores
