"""Model factory: the only place a model is built from a config."""

from __future__ import annotations

import jax.numpy as jnp
import ml_collections

from meint_jax.models.temporal import IntensityModel

DTYPES = {"float32": jnp.float32, "bfloat16": jnp.bfloat16}


def create_model(model_config: ml_collections.ConfigDict) -> IntensityModel:
    return IntensityModel(temporal=model_config.temporal, gru_features=model_config.gru_features,
                          dtype=DTYPES[model_config.dtype],
                          # Checkpoints written before frame_input existed used frames.
                          frame_input=model_config.get("frame_input", "frames"))
