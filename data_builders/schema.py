"""The clip schema every builder writes (docs/design.md, "The clip schema"): one definition for all datasets."""

from __future__ import annotations

import numpy as np
import tensorflow_datasets as tfds


def clip_features(frame_size: int, emotions, with_true_intensity: bool = False) -> tfds.features.FeaturesDict:
    """Frames are JPEG-encoded per frame, so a pipeline decodes only the frames it samples."""
    features = {
        "subject": tfds.features.Text(),
        "clip_id": tfds.features.Text(),
        "frames": tfds.features.Video(shape=(None, frame_size, frame_size, 3), encoding_format="jpeg"),
        "frame_numbers": tfds.features.Tensor(shape=(None,), dtype=np.int32),
        "onset": np.int32,
        "apex": np.int32,
        "offset": np.int32,
        "emotion": tfds.features.ClassLabel(names=emotions),
        "action_units": tfds.features.Text(),
    }
    if with_true_intensity:
        features["true_intensity"] = tfds.features.Tensor(shape=(None,), dtype=np.float32)
    return tfds.features.FeaturesDict(features)
