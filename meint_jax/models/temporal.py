"""Per-frame encoder + temporal head: clips [B, T, H, W, 3] -> intensity [B, T].

`bigru` is the paper's model (ResNet18 -> BiGRU(H per direction) -> Dense(1));
`none` is its frame-wise baseline (the same encoder, Dense(1) per frame, no
recurrence), so the two differ only in the temporal head.

`frame_input="residual"` feeds the encoder each frame minus its window's mean
frame: the face's identity, framing and lighting cancel and what changes over
the window (the expression, blinks, drift) remains. Off in the paper's configs.
"""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax.numpy as jnp

from meint_jax.models.resnet import ResNet18, normalize_frames


class IntensityModel(nn.Module):
    temporal: str = "bigru"
    gru_features: int = 256
    dtype: Any = jnp.float32
    frame_input: str = "frames"

    @nn.compact
    def __call__(self, frames: jnp.ndarray | None, train: bool = False, *, features: jnp.ndarray | None = None,
                 encode_only: bool = False):
        """(intensity [B, T], extras) for uint8 clips [B, T, H, W, 3], or for their encoder
        `features` [B, T, D] computed before by `encode` (then `frames` is ignored)."""
        stages = {}
        if features is None:
            batch, steps = frames.shape[:2]
            x = normalize_frames(frames, self.dtype)
            if self.frame_input == "residual":
                x = x - x.mean(axis=1, keepdims=True)
            elif self.frame_input != "frames":
                raise ValueError(f"unknown frame_input {self.frame_input!r}; use 'frames' or 'residual'")
            x = x.reshape((batch * steps,) + frames.shape[2:])
            features, stages = ResNet18(dtype=self.dtype, name="encoder")(x, train)
            features = features.reshape(batch, steps, -1)
            if encode_only:
                return features
        if self.temporal == "bigru":
            features = nn.Bidirectional(
                nn.RNN(nn.GRUCell(self.gru_features, dtype=self.dtype), name="forward"),
                nn.RNN(nn.GRUCell(self.gru_features, dtype=self.dtype), name="backward"),
                name="bigru")(features)
        elif self.temporal != "none":
            raise ValueError(f"unknown temporal head {self.temporal!r}; use 'bigru' or 'none'")
        intensity = nn.Dense(1, dtype=jnp.float32, name="head")(features.astype(jnp.float32))[..., 0]
        return intensity, {"features": features, "encoder": stages}

    def encode(self, frames: jnp.ndarray) -> jnp.ndarray:
        """Encoder features [B, T, D] of uint8 clips [B, T, H, W, 3], in inference mode.

        With `frame_input="frames"` each frame's features depend on that frame
        alone, so windows that share frames (predict.py's overlapping windows)
        can share them too: `model.apply(v, None, features=...)` finishes the job.
        """
        if self.frame_input != "frames":
            raise ValueError(f"frame_input={self.frame_input!r}: a frame's features depend on its window")
        return self(frames, train=False, encode_only=True)
