"""ResNet18 as torchvision writes it, in Flax: the frame encoder of paper 001.

Names follow torchvision (`conv1`, `bn1`, `layer1_0/conv1`, `layer2_0/downsample_0`,
...; dots become underscores) so ported ImageNet weights map one to one
(`models/pretrained.py`). The arithmetic is torch's too: explicit symmetric
padding (never 'SAME', which pads stride-2 convolutions asymmetrically),
max-pooling padded with -inf, and torch's BatchNorm (momentum 0.1 == Flax 0.9,
epsilon 1e-5, running variance moved towards the unbiased batch variance).

The blocks' convolution and the max-pool are fields (`conv`, `max_pool`), as
in flax's examples/imagenet: the factory swaps in `xla_cpu`'s versions on CPU,
which compute the same values along paths XLA:CPU runs fast.
"""

from __future__ import annotations

import functools
from typing import Any, Callable

import flax.linen as nn
import jax
import jax.numpy as jnp
from jax import lax

ModuleDef = Any

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def normalize_frames(frames: jnp.ndarray, dtype: Any = jnp.float32) -> jnp.ndarray:
    """uint8 RGB [..., H, W, 3] -> ImageNet-normalised floats, as torchvision's transforms."""
    x = frames.astype(jnp.float32) / 255.0
    x = (x - jnp.asarray(IMAGENET_MEAN)) / jnp.asarray(IMAGENET_STD)
    return x.astype(dtype)


def max_pool(x: jnp.ndarray, window: int = 3, stride: int = 2, padding: int = 1) -> jnp.ndarray:
    """torch's `max_pool2d` over [N, H, W, C]: square window, symmetric -inf padding."""
    pad = (padding, padding)
    return lax.reduce_window(x, -jnp.inf, lax.max, (1, window, window, 1), (1, stride, stride, 1),
                             ((0, 0), pad, pad, (0, 0)))


class TorchBatchNorm(nn.Module):
    """`torch.nn.BatchNorm2d` over the last axis, with Flax's variable names.

    Normalises with the biased batch variance in training, but moves the
    running variance towards the unbiased one (n / (n - 1)), as torch does, so
    ImageNet statistics fine-tuned here evolve as in the paper's PyTorch code.
    """

    momentum: float = 0.9       # Flax convention: running = momentum * running + (1 - momentum) * batch
    epsilon: float = 1e-5
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x, train: bool):
        features = x.shape[-1]
        scale = self.param("scale", nn.initializers.ones, (features,), jnp.float32)
        bias = self.param("bias", nn.initializers.zeros, (features,), jnp.float32)
        ra_mean = self.variable("batch_stats", "mean", jnp.zeros, (features,), jnp.float32)
        ra_var = self.variable("batch_stats", "var", jnp.ones, (features,), jnp.float32)
        if train:
            axes = tuple(range(x.ndim - 1))
            x32 = x.astype(jnp.float32)
            mean = jnp.mean(x32, axes)
            var = jnp.maximum(jnp.mean(jnp.square(x32), axes) - jnp.square(mean), 0.0)
            if not self.is_initializing():
                n = x.size // features
                unbiased = var * (n / max(n - 1, 1))
                ra_mean.value = self.momentum * ra_mean.value + (1 - self.momentum) * jax.lax.stop_gradient(mean)
                ra_var.value = self.momentum * ra_var.value + (1 - self.momentum) * jax.lax.stop_gradient(unbiased)
        else:
            mean, var = ra_mean.value, ra_var.value
        mul = scale * jax.lax.rsqrt(var + self.epsilon)
        y = (x.astype(jnp.float32) - mean) * mul + bias
        return y.astype(self.dtype)


class BasicBlock(nn.Module):
    """torchvision's BasicBlock: two 3x3 convolutions and a shortcut (1x1 convolution when the shape changes)."""

    features: int
    stride: int = 1
    conv: ModuleDef = nn.Conv
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x, train: bool):
        norm = lambda name: functools.partial(TorchBatchNorm(dtype=self.dtype, name=name), train=train)
        conv = lambda f, k, s, p, name: self.conv(f, (k, k), (s, s), padding=((p, p), (p, p)),
                                                  use_bias=False, dtype=self.dtype, name=name)
        residual = x
        y = conv(self.features, 3, self.stride, 1, "conv1")(x)
        y = nn.relu(norm("bn1")(y))
        y = conv(self.features, 3, 1, 1, "conv2")(y)
        y = norm("bn2")(y)
        if self.stride != 1 or x.shape[-1] != self.features:
            residual = conv(self.features, 1, self.stride, 0, "downsample_0")(x)
            residual = norm("downsample_1")(residual)
        return nn.relu(y + residual)


class ResNet18(nn.Module):
    """Frames [N, H, W, 3] (normalised) -> pooled features [N, 512] and stage outputs.

    `conv` builds the blocks' convolutions; the stem's 7x7 convolution is always
    `nn.Conv` (the CPU rewrites were measured, and pay, on the blocks).
    """

    dtype: Any = jnp.float32
    stage_sizes: tuple[int, ...] = (2, 2, 2, 2)
    conv: ModuleDef = nn.Conv
    max_pool: Callable[..., jnp.ndarray] = max_pool

    @nn.compact
    def __call__(self, x, train: bool = False):
        stages = {}
        x = nn.Conv(64, (7, 7), (2, 2), padding=((3, 3), (3, 3)), use_bias=False, dtype=self.dtype,
                    name="conv1")(x)
        x = TorchBatchNorm(dtype=self.dtype, name="bn1")(x, train)
        x = nn.relu(x)
        stages["stem"] = x
        x = self.max_pool(x, 3, 2, 1)
        for i, blocks in enumerate(self.stage_sizes):
            features = 64 * 2 ** i
            for j in range(blocks):
                stride = 2 if i > 0 and j == 0 else 1
                x = BasicBlock(features, stride, self.conv, self.dtype, name=f"layer{i + 1}_{j}")(x, train)
            stages[f"layer{i + 1}"] = x
        features = jnp.mean(x.astype(jnp.float32), axis=(1, 2))
        stages["pooled"] = features
        return features, stages
