"""Losses more than one task trains with (each task's own sit in its room): weighted emotion cross-entropy."""

from __future__ import annotations

import jax
import jax.numpy as jnp


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
