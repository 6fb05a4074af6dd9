"""Temporal models: per-frame features [B, T, D] -> features in the context of the window [B, T, D'].

`BiGRU` is paper 001's (a bidirectional GRU, H units per direction, torch's
parametrisation); `FrameWise` is its baseline's (no recurrence: each frame on
its own), so the two models differ only here.
"""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax.numpy as jnp


class BiGRU(nn.Module):
    """Forward and backward GRUs over time, their outputs concatenated: [B, T, D] -> [B, T, 2H]."""

    features: int = 256
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x: jnp.ndarray, train: bool = False) -> jnp.ndarray:
        del train   # no batch statistics or dropout
        return nn.Bidirectional(
            nn.RNN(nn.GRUCell(self.features, dtype=self.dtype), name="forward"),
            nn.RNN(nn.GRUCell(self.features, dtype=self.dtype), name="backward"),
            name="bigru")(x)


class FrameWise(nn.Module):
    """No temporal model: every frame's features pass unchanged."""

    @nn.compact
    def __call__(self, x: jnp.ndarray, train: bool = False) -> jnp.ndarray:
        del train
        return x
