"""The only place a model is built from a config section: its parts (encoder, temporal model) and the three
compositions a task picks (`tasks/<task>/__init__.py` names its own)."""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections

from meint_jax.models import resnet, slow_fast, temporal, xla_cpu
from meint_jax.models.model import ClipRecognitionModel, IntensityModel, SpottingModel

DTYPES = {"float32": jnp.float32, "bfloat16": jnp.bfloat16}
TEMPORAL_MODELS = ("bigru", "none")
SPOTTING_TEMPORAL_MODELS = ("slow_fast", "bigru", "none")


def create_encoder(dtype, backend: str | None = None) -> resnet.ResNet18:
    """ResNet18, with the XLA:CPU rewrites of `xla_cpu` on the CPU backend (the same values, faster there)."""
    if (backend or jax.default_backend()) == "cpu":
        return resnet.ResNet18(dtype=dtype, conv=xla_cpu.Conv, max_pool=xla_cpu.max_pool, name="encoder")
    return resnet.ResNet18(dtype=dtype, name="encoder")


def create_clip_encoder(model_config: ml_collections.ConfigDict, backend: str | None = None) -> nn.Module:
    """The encoder of a model on clips: ResNet18, or paper 002's flow stem for `inputs='flow'` (configs saved
    before the field read frames)."""
    dtype = DTYPES[model_config.dtype]
    if model_config.get("inputs", "frames") == "flow":
        return slow_fast.FlowStem(model_config.stem_features, dtype=dtype, name="encoder")
    return create_encoder(dtype, backend)


def create_temporal(kind: str, features: int, dtype) -> nn.Module:
    if kind == "bigru":
        return temporal.BiGRU(features, dtype)
    if kind == "none":
        return temporal.FrameWise()
    raise ValueError(f"unknown temporal model {kind!r}; use one of {TEMPORAL_MODELS}")


def create_spotting_model(model_config: ml_collections.ConfigDict, backend: str | None = None) -> SpottingModel:
    """Encoder (flow stem or ResNet18) x temporal model (slow-fast, BiGRU, none) x a Dense(2) head, and a
    Dense(emotion_outputs) emotion head where the config records its classes (`emotion_outputs`).

    `model.weight_init='paper'` starts the flow stem, the slow-fast network and both heads as paper 002's network
    starts (heads N(0, 0.02), zero bias); `model.drop_path` is the slow-fast network's drop-path rate."""
    m = model_config
    dtype = DTYPES[m.dtype]
    weight_init = m.get("weight_init", "ours")      # configs saved before these fields had neither
    if m.inputs == "flow":
        encoder = slow_fast.FlowStem(m.stem_features, weight_init=weight_init, dtype=dtype, name="encoder")
    else:
        encoder = create_encoder(dtype, backend)
    if m.temporal == "slow_fast":
        network = slow_fast.SlowFast(m.slow_features, m.stages, m.layers_per_stage, tuple(m.lateral_after),
                                     m.d_state, m.get("scan", "sequential"), drop_path=m.get("drop_path", 0.0),
                                     weight_init=weight_init, dtype=dtype, name="temporal")
    elif m.temporal == "bigru":
        network = temporal.BiGRU(m.gru_features, dtype, name="temporal")
    elif m.temporal == "none":
        network = temporal.FrameWise(name="temporal")
    else:
        raise ValueError(f"unknown temporal model {m.temporal!r}; use one of {SPOTTING_TEMPORAL_MODELS}")
    heads = {"kernel_init": nn.initializers.normal(0.02)} if weight_init == "paper" else {}
    outputs = m.get("emotion_outputs")
    emotion_head = nn.Dense(outputs, dtype=jnp.float32, name="emotion_head", **heads) if outputs else None
    return SpottingModel(encoder=encoder, temporal=network, head=nn.Dense(2, dtype=jnp.float32, name="head", **heads),
                         emotion_head=emotion_head, inputs=m.inputs, dtype=dtype)


def create_recognition_model(model_config: ml_collections.ConfigDict, backend: str | None = None):
    """Clip recognition: paper 001's parts (or paper 002's flow stem, `inputs='flow'`) with an emotion head of
    `emotion_outputs` classes."""
    dtype = DTYPES[model_config.dtype]
    inputs = model_config.get("inputs", "frames")
    return ClipRecognitionModel(
        encoder=create_clip_encoder(model_config, backend),
        temporal=create_temporal(model_config.temporal, model_config.gru_features, dtype),
        head=nn.Dense(model_config.emotion_outputs, dtype=jnp.float32, name="head"),
        frame_input=model_config.get("frame_input", "frames"), inputs=inputs, dtype=dtype)


def create_intensity_model(model_config: ml_collections.ConfigDict, backend: str | None = None):
    """Paper 001's intensity model: ResNet18 (or paper 002's flow stem, `inputs='flow'`) x BiGRU (or frame-wise)
    x Dense(1)."""
    dtype = DTYPES[model_config.dtype]
    return IntensityModel(
        encoder=create_clip_encoder(model_config, backend),
        temporal=create_temporal(model_config.temporal, model_config.gru_features, dtype),
        head=nn.Dense(1, dtype=jnp.float32, name="head"),
        # Checkpoints written before frame_input (or inputs) existed used frames.
        frame_input=model_config.get("frame_input", "frames"), inputs=model_config.get("inputs", "frames"),
        dtype=dtype)
