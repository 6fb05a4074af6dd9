"""`create_model(config.model)`: the only place a model is built from a config."""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections

from meint_jax.models import resnet, temporal, xla_cpu
from meint_jax.models.model import IntensityModel

DTYPES = {"float32": jnp.float32, "bfloat16": jnp.bfloat16}
TEMPORAL_MODELS = ("bigru", "none")


def create_encoder(dtype, backend: str | None = None) -> resnet.ResNet18:
    """ResNet18, with the XLA:CPU rewrites of `xla_cpu` on the CPU backend (the same values, faster there)."""
    if (backend or jax.default_backend()) == "cpu":
        return resnet.ResNet18(dtype=dtype, conv=xla_cpu.Conv, max_pool=xla_cpu.max_pool, name="encoder")
    return resnet.ResNet18(dtype=dtype, name="encoder")


def create_temporal(kind: str, features: int, dtype) -> nn.Module:
    if kind == "bigru":
        return temporal.BiGRU(features, dtype)
    if kind == "none":
        return temporal.FrameWise()
    raise ValueError(f"unknown temporal model {kind!r}; use one of {TEMPORAL_MODELS}")


def create_model(model_config: ml_collections.ConfigDict, backend: str | None = None) -> IntensityModel:
    dtype = DTYPES[model_config.dtype]
    return IntensityModel(
        encoder=create_encoder(dtype, backend),
        temporal=create_temporal(model_config.temporal, model_config.gru_features, dtype),
        head=nn.Dense(1, dtype=jnp.float32, name="head"),
        # Checkpoints written before frame_input existed used frames.
        frame_input=model_config.get("frame_input", "frames"), dtype=dtype)
