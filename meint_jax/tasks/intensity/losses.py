"""Paper 001's loss on intensity trajectories [B, T] (docs/design.md, "The loss")."""

from __future__ import annotations

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
