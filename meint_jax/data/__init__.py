"""Data: from a dataset's files (or a generator) to the arrays a model trains on.

Shared by clips and long videos:
- `subjects.py`: subject-disjoint splits. `frames.py`: frame files -> cropped, resized uint8 arrays;
  `faces.py`: one dlib box per clip. `pseudo_labels.py`: target shapes. `emotion_classes.py`: label sets.
- `flow_features.py`: 18 facial regions' Farneback motion (36 numbers a frame), stored as trajectories.

`clips/` (trimmed clips: intensity and clip recognition):
- `clip.py`: the one clip type. `annotations.py`: coding sheets -> validated clips.
- `synthetic.py`: procedural clips with a true intensity.
- `pipeline.py`: built TFDS clips -> windows -> pseudo-targets -> batches (TensorFlow).
- `flow.py`: the regions' trajectories for trimmed clips, each window's motion read off them.

`long/` (long videos: spotting):
- `videos.py`: the one long-video type and its intervals.
- `annotations.py`: CAS(ME)^2, SAMM-LV and CAS(ME)^3 workbooks -> long videos, every quirk counted.
- `sources.py`: a video's face box, then its flow and frames a chunk at a time (builder workers).
- `synthetic.py`: procedural long videos with micro/macro-expressions and distractors.
- `pipeline.py`: built long videos -> balanced windows -> per-frame targets and emotions -> batches
  (reads records by index: no TensorFlow).

Imports `meint_jax.common` only. TensorFlow is imported by `clips/pipeline.py` alone,
so the readers serve prediction on a machine without it.
"""
