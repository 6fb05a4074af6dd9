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


def _interval_features() -> tfds.features.Sequence:
    from meint_jax.data.long import videos as long_videos

    return tfds.features.Sequence({
        "onset": np.int32, "apex": np.int32, "offset": np.int32,
        "kind": tfds.features.ClassLabel(names=long_videos.KINDS),
        "emotion": tfds.features.ClassLabel(names=long_videos.EMOTION_CLASSES),
        "native_emotion": tfds.features.Text(),
        "action_units": tfds.features.Text(),
        "apex_annotated": np.bool_,
    })


def _video_fields(with_true_intensity: bool) -> dict:
    from meint_jax.data import flow_features

    fields = {
        "video_id": tfds.features.Text(),
        "subject": tfds.features.Text(),
        "fps": np.float32,
        "num_frames": np.int32,
        "intervals": _interval_features(),
        "blinks": tfds.features.Sequence({"onset": np.int32, "offset": np.int32}),
        "face_box": tfds.features.Tensor(shape=(4,), dtype=np.int32),     # -1s: the frames are the face
        "landmarks": tfds.features.Tensor(shape=(68, 2), dtype=np.float32),
        "frame_numbers": tfds.features.Tensor(shape=(None,), dtype=np.int32),
        "flow": tfds.features.Tensor(shape=(None, flow_features.NUM_FEATURES), dtype=np.float32),
    }
    if with_true_intensity:
        fields["true_intensity"] = tfds.features.Tensor(shape=(None, 2), dtype=np.float32)
    return fields


def long_video_features(with_true_intensity: bool = False) -> tfds.features.FeaturesDict:
    """One record per long video (docs/design.md, "Long-video records"): its intervals and per-frame flow
    features, no frames: a few KB per video."""
    return tfds.features.FeaturesDict(_video_fields(with_true_intensity))


def video_chunk_features(with_true_intensity: bool = False) -> tfds.features.FeaturesDict:
    """One record per chunk of a long video's face frames: the video's fields (frame numbers, flow and true
    intensity for the chunk's frames only), the chunk's place, and its frames as JPEG bytes, decoded only
    when a window reads them."""
    fields = _video_fields(with_true_intensity)
    fields.update(chunk=np.int32, num_chunks=np.int32, first_index=np.int32,
                  frames=tfds.features.Tensor(shape=(None,), dtype=np.object_))
    return tfds.features.FeaturesDict(fields)
