"""ResNet18 with torchvision's parameter names and arithmetic.

Names follow torchvision (`conv1`, `bn1`, `layer1_0/conv1`, `layer2_0/downsample_0`,
...; dots become underscores) so ported ImageNet weights map one to one.
Padding is explicit and symmetric as in torch (never 'SAME', which pads
stride-2 convolutions asymmetrically), max-pooling pads with -inf, and
BatchNorm uses torch's defaults (momentum 0.1 == Flax 0.9, epsilon 1e-5).
"""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax.numpy as jnp

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def normalize_frames(frames: jnp.ndarray, dtype: Any = jnp.float32) -> jnp.ndarray:
    """uint8 RGB [..., H, W, 3] -> ImageNet-normalised floats, as torchvision's transforms."""
    x = frames.astype(jnp.float32) / 255.0
    x = (x - jnp.asarray(IMAGENET_MEAN)) / jnp.asarray(IMAGENET_STD)
    return x.astype(dtype)


class BasicBlock(nn.Module):
    features: int
    stride: int = 1
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x, train: bool):
        norm = lambda name: nn.BatchNorm(use_running_average=not train, momentum=0.9, epsilon=1e-5,
                                         dtype=self.dtype, name=name)
        conv = lambda f, k, s, p, name: nn.Conv(f, (k, k), (s, s), padding=((p, p), (p, p)),
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
    """Frames [N, H, W, 3] (normalised) -> pooled features [N, 512] and stage outputs."""

    dtype: Any = jnp.float32
    stage_sizes: tuple[int, ...] = (2, 2, 2, 2)

    @nn.compact
    def __call__(self, x, train: bool = False):
        stages = {}
        x = nn.Conv(64, (7, 7), (2, 2), padding=((3, 3), (3, 3)), use_bias=False, dtype=self.dtype,
                    name="conv1")(x)
        x = nn.BatchNorm(use_running_average=not train, momentum=0.9, epsilon=1e-5, dtype=self.dtype,
                         name="bn1")(x)
        x = nn.relu(x)
        stages["stem"] = x
        x = nn.max_pool(x, (3, 3), (2, 2), padding=((1, 1), (1, 1)))
        for i, blocks in enumerate(self.stage_sizes):
            features = 64 * 2 ** i
            for j in range(blocks):
                stride = 2 if i > 0 and j == 0 else 1
                x = BasicBlock(features, stride, self.dtype, name=f"layer{i + 1}_{j}")(x, train)
            stages[f"layer{i + 1}"] = x
        features = jnp.mean(x.astype(jnp.float32), axis=(1, 2))
        stages["pooled"] = features
        return features, stages
