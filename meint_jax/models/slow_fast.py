"""Paper 002's temporal network over per-frame flow features: a 1-D convolutional stem, then a fast path at
the full frame rate and a slow path at half rate, each a stack of Mamba layers, joined by strided lateral
convolutions (fast -> slow) and, at the end, by upsampling the slow path and concatenating.

Sizes follow paper 002's code (BoostingVRME, network.py): stem 36 -> 128 -> 128 (k=3), slow stem 128 -> 256
(k=3, stride 2), 3 stages of 4 Mamba layers per path (d_state 64, d_conv 4, expand 2), laterals after stages
1 and 2, output 128 + 256 = 384 features a frame: 8.36 M parameters before the heads. Each Mamba layer is
x + LayerNorm(Mamba(LayerNorm(x))), as there. Two of its training choices are options, off by default:
`drop_path` (stochastic depth on each layer's residual branch, at their per-layer rates: `drop_path_rates`)
and `weight_init='paper'` (their re-initialisation: `ssm.WEIGHT_INITS`; the convolutions then start as torch's).
"""

from __future__ import annotations

from typing import Any, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from meint_jax.models.ssm import WEIGHT_INITS, MambaBlock, torch_default


def drop_path_rates(rate: float, layers: int) -> tuple[float, ...]:
    """Each layer's drop-path rate within a stage, as paper 002 sets them: linspace(0, rate, layers) shifted one
    layer later (a 0 prepended, the last rate never used), the same in every stage and path: 0.2 over 4
    layers gives 0, 0, 0.067, 0.133."""
    if layers <= 1:
        return (0.0,) * layers
    return tuple([0.0] + [rate * i / (layers - 1) for i in range(layers - 1)])


class StochasticDepth(nn.Module):
    """Drop-path: in training each example's branch is zeroed with probability `rate` and the kept ones scaled
    by 1 / (1 - rate) (an independent draw per example, from the `dropout` rng); the identity at eval."""

    rate: float = 0.0

    @nn.compact
    def __call__(self, branch, deterministic: bool = True):
        if deterministic or self.rate == 0.0:
            return branch
        keep = 1.0 - self.rate
        mask = jax.random.bernoulli(self.make_rng("dropout"), keep, (branch.shape[0],) + (1,) * (branch.ndim - 1))
        return branch * mask.astype(branch.dtype) / jnp.asarray(keep, branch.dtype)


class ConvBNReLU(nn.Module):
    """Conv1d (k=3, padding 1, with bias) -> BatchNorm (torch's momentum 0.1, eps 1e-5) -> ReLU, over [B, T, C]."""

    features: int
    stride: int = 1
    weight_init: str = "ours"          # paper: torch's default (paper 002's convolutions); else flax's
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x, train: bool = False):
        torch_like = {}
        if self.weight_init == "paper":
            fan_in = 3 * x.shape[-1]
            torch_like = {"kernel_init": torch_default(fan_in), "bias_init": torch_default(fan_in)}
        x = nn.Conv(self.features, (3,), strides=(self.stride,), padding=[(1, 1)], dtype=self.dtype, **torch_like)(x)
        x = nn.BatchNorm(use_running_average=not train, momentum=0.9, epsilon=1e-5, dtype=self.dtype)(x)
        return nn.relu(x)


class FlowStem(nn.Module):
    """Per-frame flow features [B, T, 36] -> [B, T, features]: two ConvBNReLU layers."""

    features: int = 128
    weight_init: str = "ours"
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x, train: bool = False):
        x = ConvBNReLU(self.features, weight_init=self.weight_init, dtype=self.dtype)(x.astype(self.dtype), train)
        return ConvBNReLU(self.features, weight_init=self.weight_init, dtype=self.dtype)(x, train)


class MambaLayer(nn.Module):
    """x + DropPath(LayerNorm(Mamba(LayerNorm(x)))), [B, T, D] -> [B, T, D] (drop-path only in training)."""

    d_state: int = 64
    d_conv: int = 4
    expand: int = 2
    scan: str = "sequential"
    drop_path: float = 0.0
    weight_init: str = "ours"
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x, train: bool = False):
        y = nn.LayerNorm(epsilon=1e-5, dtype=self.dtype)(x)
        y = MambaBlock(x.shape[-1], self.d_state, self.d_conv, self.expand, scan=self.scan,
                       weight_init=self.weight_init, dtype=self.dtype)(y)
        y = nn.LayerNorm(epsilon=1e-5, dtype=self.dtype)(y)
        return x + StochasticDepth(self.drop_path)(y, deterministic=not train)


class SlowFast(nn.Module):
    """[B, T, fast_features] (a stem's output) -> [B, T, fast_features + slow_features]."""

    slow_features: int = 256
    stages: int = 3
    layers_per_stage: int = 4
    lateral_after: Sequence[int] = (1, 2)      # stages (from 1) after which the fast path feeds the slow one
    d_state: int = 64
    scan: str = "sequential"                   # ssm.SCANS
    drop_path: float = 0.0                     # the largest drop-path rate (drop_path_rates); 0: none
    weight_init: str = "ours"                  # ssm.WEIGHT_INITS
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, fast, train: bool = False):
        if self.weight_init not in WEIGHT_INITS:
            raise ValueError(f"unknown weight_init {self.weight_init!r}; use one of {WEIGHT_INITS}")
        steps = fast.shape[1]
        conv = dict(stride=2, weight_init=self.weight_init, dtype=self.dtype)
        slow = ConvBNReLU(self.slow_features, name="slow_stem", **conv)(fast, train)
        for stage in range(1, self.stages + 1):
            for layer, rate in enumerate(drop_path_rates(self.drop_path, self.layers_per_stage)):
                mamba = dict(scan=self.scan, drop_path=rate, weight_init=self.weight_init, dtype=self.dtype)
                fast = MambaLayer(self.d_state, name=f"fast_{stage}_{layer}", **mamba)(fast, train)
                slow = MambaLayer(self.d_state, name=f"slow_{stage}_{layer}", **mamba)(slow, train)
            if stage in self.lateral_after:
                slow = slow + ConvBNReLU(self.slow_features, name=f"lateral_{stage}", **conv)(fast, train)
        upsampled = jnp.repeat(slow, 2, axis=1)[:, :steps]       # nearest, cropped for an odd T
        return jnp.concatenate([fast, upsampled], axis=-1)
