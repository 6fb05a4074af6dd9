"""The model as parts: a frame encoder, a temporal model and a head, each callable on its own.

    frames [B, T, H, W, 3] --encode--> [B, T, D] --contextualize--> [B, T, D'] --heads--> intensity [B, T]

`model.apply(variables, frames)` runs all three; `method="encode"`,
`"contextualize"` and `"heads"` run one, so overlapping windows can share
their frames' encoder features (inference) and a second head can share the
encoder and the temporal model. Parts are built by `factory.py`.

`frame_input="residual"` feeds the encoder each frame minus its window's mean
frame: the face's identity, framing and lighting cancel and what changes over
the window (the expression, blinks, drift) remains. Off in the paper's
configs. A frame's features then depend on its whole window, so overlapping
windows cannot share them (`frames_encoded_alone` says which case holds).

The temporal model's parameters sit at the top of the tree (`GRUCell_0`,
`GRUCell_1`), beside `encoder` and `head`, where checkpoints have always kept them.
"""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax.numpy as jnp

from meint_jax.models.resnet import normalize_frames

FRAME_INPUTS = ("frames", "residual")
CLIP_INPUTS = ("frames", "flow")


class IntensityModel(nn.Module):
    """Intensity [B, T] of windows of frames, or with `inputs="flow"` of paper 002's region motion [B, T, 36]
    (`data/clips/flow.py`), encoded by its flow stem in place of ResNet18."""

    encoder: nn.Module          # per-frame features: ResNet18 (or, for flow, the flow stem) named "encoder"
    temporal: nn.Module         # BiGRU or FrameWise
    head: nn.Module             # Dense(1) named "head"
    frame_input: str = "frames"
    dtype: Any = jnp.float32
    inputs: str = "frames"      # frames | flow (CLIP_INPUTS)

    preserve_adopted_names = True   # the parts keep the names the factory gave them

    def setup(self):
        if self.frame_input not in FRAME_INPUTS:
            raise ValueError(f"unknown frame_input {self.frame_input!r}; use one of {FRAME_INPUTS}")
        nn.share_scope(self, self.temporal)

    def __call__(self, frames: jnp.ndarray, train: bool = False) -> tuple[jnp.ndarray, dict]:
        """(intensity [B, T], {"features": temporal features, "encoder": stage outputs}) for uint8 clips."""
        features, stages = self.encode(frames, train, with_stages=True)
        context = self.contextualize(features)
        return self.heads(context), {"features": context, "encoder": stages}

    def encode(self, frames: jnp.ndarray, train: bool = False, with_stages: bool = False):
        """Encoder features [B, T, D] of uint8 clips [B, T, H, W, 3] or of region motion [B, T, 36] (and the
        stage outputs if asked: none for the flow stem)."""
        if self.inputs not in CLIP_INPUTS:
            raise ValueError(f"unknown inputs {self.inputs!r}; use one of {CLIP_INPUTS}")
        if self.inputs == "flow":
            features = self.encoder(frames.astype(self.dtype), train)
            return (features, {}) if with_stages else features
        batch, steps = frames.shape[:2]
        x = normalize_frames(frames, self.dtype)
        if self.frame_input == "residual":
            x = x - x.mean(axis=1, keepdims=True)
        features, stages = self.encoder(x.reshape((batch * steps,) + frames.shape[2:]), train)
        features = features.reshape(batch, steps, -1)
        return (features, stages) if with_stages else features

    def contextualize(self, features: jnp.ndarray) -> jnp.ndarray:
        """The temporal model over a window's per-frame features [B, T, D]."""
        return self.temporal(features)

    def heads(self, context: jnp.ndarray) -> jnp.ndarray:
        """Intensity [B, T] (float32) from the temporal model's features."""
        return self.head(context.astype(jnp.float32))[..., 0]

    def from_features(self, features: jnp.ndarray) -> jnp.ndarray:
        """Intensity [B, T] from encoder features computed before by `encode` (windows that share frames)."""
        return self.heads(self.contextualize(features))

    @property
    def frames_encoded_alone(self) -> bool:
        """Whether a frame's encoder features depend on that frame alone, so windows can share them (not for
        region motion: a window's motion is measured from its first frame)."""
        return self.frame_input == "frames" and self.inputs == "frames"


class ClipRecognitionModel(IntensityModel):
    """A trimmed clip's emotion: paper 001's parts with a Dense(classes) head, its per-frame logits averaged
    over the clip's T frames (every frame votes, so the logits' mean is the clip's) -> logits [B, classes].

    `inputs="flow"` takes paper 002's region motion [B, T, 36] (`data/clips/flow.py`) instead of frames,
    encoded by the flow stem."""

    def heads(self, context: jnp.ndarray) -> jnp.ndarray:
        return self.head(context.astype(jnp.float32)).mean(axis=1)


SPOTTING_INPUTS = ("flow", "frames")


class SpottingModel(nn.Module):
    """Per-frame spotting scores of a window: micro and macro channels (logits; sigmoid gives the score),
    and with an emotion head each frame's emotion logits (the classes, then neutral).

        flow [B, T, 36] or frames [B, T, H, W, 3] --encode--> [B, T, D] --contextualize--> [B, T, D']
            --heads--> logits [B, T, 2] (+ emotion_head --> [B, T, classes + 1] in the aux dict)

    The same parts as `IntensityModel`, any of each: the flow stem or ResNet18 as encoder, paper 002's
    slow-fast network, a BiGRU or none as temporal model, a Dense head per output. The two heads share
    every other parameter (paper 002's joint training of spotting and recognition).
    """

    encoder: nn.Module          # FlowStem (flow) or ResNet18 (frames), named "encoder"
    temporal: nn.Module         # SlowFast, BiGRU or FrameWise, named "temporal"
    head: nn.Module             # Dense(2) named "head"
    emotion_head: nn.Module | None = None   # Dense(classes + 1) named "emotion_head", or none
    inputs: str = "flow"
    dtype: Any = jnp.float32

    preserve_adopted_names = True

    def setup(self):
        if self.inputs not in SPOTTING_INPUTS:
            raise ValueError(f"unknown spotting inputs {self.inputs!r}; use one of {SPOTTING_INPUTS}")

    def __call__(self, inputs: jnp.ndarray, train: bool = False) -> tuple[jnp.ndarray, dict]:
        context = self.contextualize(self.encode(inputs, train), train)
        aux = {"features": context}
        if self.emotion_head is not None:
            aux["emotions"] = self.emotion_head(context.astype(jnp.float32))
        return self.heads(context), aux

    def encode(self, inputs: jnp.ndarray, train: bool = False) -> jnp.ndarray:
        if self.inputs == "flow":
            return self.encoder(inputs, train)
        batch, steps = inputs.shape[:2]
        x = normalize_frames(inputs, self.dtype).reshape((batch * steps,) + inputs.shape[2:])
        features, _ = self.encoder(x, train)
        return features.reshape(batch, steps, -1)

    def contextualize(self, features: jnp.ndarray, train: bool = False) -> jnp.ndarray:
        return self.temporal(features, train)

    def heads(self, context: jnp.ndarray) -> jnp.ndarray:
        return self.head(context.astype(jnp.float32))
