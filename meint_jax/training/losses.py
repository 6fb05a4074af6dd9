"""Losses more than one task trains with (each task's own sit in its room): weighted emotion cross-entropy, and
paper 002's class weights for it."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

# How the weighted cross-entropy is averaged. weighted_mean: over the examples' weights, as PyTorch's weighted
# CrossEntropyLoss does with class indices (ours); mean: over the examples, as it does with probability targets,
# which paper 002 gives it (one-hot rows): there the weights' scale sets the emotion loss's size.
REDUCTIONS = ("weighted_mean", "mean")
PAPER_NEUTRAL_FACTOR = 6.0      # paper 002 multiplies the neutral class's balanced weight by this


def emotion_cross_entropy(logits, labels, mask, class_weights, reduction: str = "weighted_mean"):
    """Weighted cross-entropy of emotion logits [..., C] against class indices [...]: each example weighs its
    class's weight times `mask`; labels < 0 (an expression of no class) weigh 0. Averaged by `reduction`
    (REDUCTIONS): over the weights, or over the examples `mask` keeps."""
    if reduction not in REDUCTIONS:
        raise ValueError(f"emotion loss reduction {reduction!r}: use one of {REDUCTIONS}")
    weights = jnp.asarray(class_weights, jnp.float32)
    valid = labels >= 0
    safe = jnp.where(valid, labels, 0)
    example_weight = weights[safe] * mask * valid
    log_p = jax.nn.log_softmax(logits.astype(jnp.float32), axis=-1)
    nll = -jnp.take_along_axis(log_p, safe[..., None], axis=-1)[..., 0]
    total = jnp.sum(nll * example_weight)
    if reduction == "mean":
        return total / jnp.maximum(jnp.sum(mask * valid), 1.0)
    return total / jnp.maximum(jnp.sum(example_weight), 1e-6)


def paper_class_weights(labels: np.ndarray, num_classes: int,
                        neutral_factor: float = PAPER_NEUTRAL_FACTOR) -> np.ndarray:
    """Paper 002's emotion class weights from the training frames' labels (0..num_classes - 1, neutral last;
    negative labels are no class and not counted): scikit-learn's `compute_class_weight('balanced')`,
    frames / (classes x the class's frames), with neutral's times `neutral_factor`. A class without a frame,
    where scikit-learn would refuse, weighs 1 (no frame carries it)."""
    labels = np.asarray(labels).ravel()
    counts = np.bincount(labels[labels >= 0], minlength=num_classes).astype(np.float64)
    weights = np.ones(num_classes)
    seen = counts > 0
    weights[seen] = counts.sum() / (num_classes * counts[seen])
    weights[-1] *= neutral_factor
    return weights
