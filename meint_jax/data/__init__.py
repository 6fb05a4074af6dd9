"""Data: from a dataset's files (or a generator) to the arrays a model trains on.

- `clips.py`: the one clip type. `annotations.py`: coding sheets -> validated clips.
- `frames.py`: frame files -> cropped, resized uint8 arrays; `faces.py`: one dlib box per clip.
- `synthetic.py`: procedural clips with a true intensity. `pseudo_labels.py`: target shapes.
- `input_pipeline.py`: built TFDS clips -> windows -> pseudo-targets -> batches (TensorFlow).

Long videos (spotting and recognition):
- `long_videos.py`: the one long-video type, its intervals, the 3-class emotion mapping.
- `long_annotations.py`: CAS(ME)^2, SAMM-LV and CAS(ME)^3 workbooks -> long videos, every quirk counted.
- `flow_features.py`: 18 facial regions' Farneback motion (36 numbers a frame), stored as trajectories.
- `clip_flow.py`: the same regions' trajectories for trimmed clips, each window's motion read off them.
- `long_sources.py`: a video's face box, then its flow and frames a chunk at a time (builder workers).
- `synthetic_long.py`: procedural long videos with micro/macro-expressions and distractors.
- `long_pipeline.py`: built long videos -> balanced windows -> per-frame targets and emotions -> batches
  (reads records by index: no TensorFlow).

Imports `meint_jax.common` only. TensorFlow is imported by `input_pipeline` alone,
so the readers serve prediction on a machine without it.
"""
