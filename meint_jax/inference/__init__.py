"""Inference: trained checkpoints on new recordings, without TensorFlow.

- `windows.py`: tiling an input with the model's windows and merging their answers.
- `estimator.py`: `IntensityEstimator` (checkpoint -> curve per frame).
- `readers.py`: frames folders, videos (PyAV), built TFDS clips (TensorFlow only there).
- `writers.py`: CSV, JSON and PNG per input, all or none.

Imports `common`, `data` (frames, faces, annotations, pseudo-labels: no TensorFlow),
`models`, `evaluation.plots` and `training.checkpoint`; never the training loop.
TensorFlow only for `tfds:` inputs, imported there.
"""
