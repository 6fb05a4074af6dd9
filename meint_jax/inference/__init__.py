"""Inference helpers every task's predictor shares, without TensorFlow.

- `batching.py`: the one padded, fixed-shape batcher (training-time evaluation uses it too).
- `windows.py`: tiling an input with the model's windows and merging their answers.
- `readers.py`: frames folders, videos (PyAV), built TFDS clips (TensorFlow only there).
- `writers.py`: CSV, JSON and PNG per input, all or none.

The predictors themselves live in their task's room (`tasks/<task>/predictor.py`). Imports `common`, `data`
(no TensorFlow), `models`, `metrics.plots` and `training`; never a task.
TensorFlow only for `tfds:` inputs, imported there.
"""
