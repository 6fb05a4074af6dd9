"""Paper 002's temporal network over per-frame flow features: a 1-D convolutional stem, then a fast path at
the full frame rate and a slow path at half rate, each a stack of Mamba layers, joined by strided lateral
convolutions (fast -> slow) and, at the end, by upsampling the slow path and concatenating.

Sizes follow paper 002's code (BoostingVRME, network.py): stem 36 -> 128 -> 128 (k=3), slow stem 128 -> 256
(k=3, stride 2), 3 stages of 4 Mamba layers per path (d_state 64, d_conv 4, expand 2), laterals after stages
1 and 2, output 128 + 256 = 384 features a frame: 8.36 M parameters before the heads. Each Mamba layer is
x + LayerNorm(Mamba(LayerNorm(x))), as there (its drop-path, a regulariser, is left out here).
"""

from __future__ import annotations

from typing import Any, Sequence

import flax.linen as nn
import jax.numpy as jnp

from meint_jax.models.ssm import MambaBlock


class ConvBNReLU(nn.Module):
    """Conv1d (k=3, padding 1, with bias) -> BatchNorm (torch's momentum 0.1, eps 1e-5) -> ReLU, over [B, T, C]."""

    features: int
    stride: int = 1
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x, train: bool = False):
        x = nn.Conv(self.features, (3,), strides=(self.stride,), padding=[(1, 1)], dtype=self.dtype)(x)
        x = nn.BatchNorm(use_running_average=not train, momentum=0.9, epsilon=1e-5, dtype=self.dtype)(x)
        return nn.relu(x)


class FlowStem(nn.Module):
    """Per-frame flow features [B, T, 36] -> [B, T, features]: two ConvBNReLU layers."""

    features: int = 128
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x, train: bool = False):
        x = ConvBNReLU(self.features, dtype=self.dtype)(x.astype(self.dtype), train)
        return ConvBNReLU(self.features, dtype=self.dtype)(x, train)


class MambaLayer(nn.Module):
    """x + LayerNorm(Mamba(LayerNorm(x))), [B, T, D] -> [B, T, D]."""

    d_state: int = 64
    d_conv: int = 4
    expand: int = 2
    scan: str = "sequential"
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x):
        y = nn.LayerNorm(epsilon=1e-5, dtype=self.dtype)(x)
        y = MambaBlock(x.shape[-1], self.d_state, self.d_conv, self.expand, scan=self.scan, dtype=self.dtype)(y)
        return x + nn.LayerNorm(epsilon=1e-5, dtype=self.dtype)(y)


class SlowFast(nn.Module):
    """[B, T, fast_features] (a stem's output) -> [B, T, fast_features + slow_features]."""

    slow_features: int = 256
    stages: int = 3
    layers_per_stage: int = 4
    lateral_after: Sequence[int] = (1, 2)      # stages (from 1) after which the fast path feeds the slow one
    d_state: int = 64
    scan: str = "sequential"                   # ssm.SCANS
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, fast, train: bool = False):
        steps = fast.shape[1]
        slow = ConvBNReLU(self.slow_features, stride=2, dtype=self.dtype, name="slow_stem")(fast, train)
        for stage in range(1, self.stages + 1):
            for layer in range(self.layers_per_stage):
                fast = MambaLayer(self.d_state, scan=self.scan, dtype=self.dtype, name=f"fast_{stage}_{layer}")(fast)
                slow = MambaLayer(self.d_state, scan=self.scan, dtype=self.dtype, name=f"slow_{stage}_{layer}")(slow)
            if stage in self.lateral_after:
                slow = slow + ConvBNReLU(self.slow_features, stride=2, dtype=self.dtype,
                                         name=f"lateral_{stage}")(fast, train)
        upsampled = jnp.repeat(slow, 2, axis=1)[:, :steps]       # nearest, cropped for an odd T
        return jnp.concatenate([fast, upsampled], axis=-1)
