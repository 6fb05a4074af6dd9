"""Training losses: intensity trajectories [B, T] (docs/design.md, "The loss"), spotting scores [B, T, 2]."""

from __future__ import annotations

import jax
import jax.numpy as jnp


def mse(pred: jnp.ndarray, target: jnp.ndarray) -> jnp.ndarray:
    return jnp.mean((pred - target) ** 2)


def smoothness(pred: jnp.ndarray) -> jnp.ndarray:
    """Mean squared first difference along time: penalises jagged curves."""
    return jnp.mean((pred[:, 1:] - pred[:, :-1]) ** 2)


def apex_ranking(pred: jnp.ndarray, target: jnp.ndarray, margin: float) -> jnp.ndarray:
    """Hinge pushing the prediction at the target's apex above every other step by `margin`."""
    apex_index = jnp.argmax(target, axis=1)
    apex_pred = jnp.take_along_axis(pred, apex_index[:, None], axis=1)
    hinge = jnp.maximum(0.0, margin - (apex_pred - pred))
    others = jnp.arange(pred.shape[1])[None, :] != apex_index[:, None]
    return jnp.sum(hinge * others) / jnp.sum(others)


def total_loss(pred, target, smooth_weight: float, rank_weight: float, rank_margin: float):
    """L = L_mse + λ_s L_smooth + λ_r L_rank; returns (loss, dict of the terms)."""
    terms = {
        "mse": mse(pred, target),
        "smooth": smoothness(pred),
        "rank": apex_ranking(pred, target, rank_margin),
    }
    loss = terms["mse"] + smooth_weight * terms["smooth"] + rank_weight * terms["rank"]
    return loss, terms


def spotting_mse(logits, targets, mask, channel_weights):
    """Paper 002's spotting loss: squared error of sigmoid scores against per-frame targets, over the frames
    that `mask` keeps, each channel (micro, macro) weighted; logits and targets [B, T, 2], mask [B, T]."""
    weights = jnp.asarray(channel_weights, jnp.float32)
    error = (jax.nn.sigmoid(logits) - targets) ** 2 * weights
    return jnp.sum(error * mask[..., None]) / jnp.maximum(jnp.sum(mask) * jnp.sum(weights), 1.0)


def emotion_cross_entropy(logits, labels, mask, class_weights):
    """Weighted cross-entropy of emotion logits [..., C] against class indices [...]: each example weighs its
    class's weight times `mask`; labels < 0 (an expression of no class) weigh 0. The weighted mean, as
    PyTorch's weighted CrossEntropyLoss takes it (paper 002 down-weights the neutral class this way)."""
    weights = jnp.asarray(class_weights, jnp.float32)
    valid = labels >= 0
    safe = jnp.where(valid, labels, 0)
    example_weight = weights[safe] * mask * valid
    log_p = jax.nn.log_softmax(logits.astype(jnp.float32), axis=-1)
    nll = -jnp.take_along_axis(log_p, safe[..., None], axis=-1)[..., 0]
    return jnp.sum(nll * example_weight) / jnp.maximum(jnp.sum(example_weight), 1e-6)
