"""Data: from a dataset's files (or a generator) to the arrays a model trains on.

- `clips.py`: the one clip type. `annotations.py`: coding sheets -> validated clips.
- `frames.py`: frame files -> cropped, resized uint8 arrays; `faces.py`: one dlib box per clip.
- `synthetic.py`: procedural clips with a true intensity. `pseudo_labels.py`: target shapes.
- `input_pipeline.py`: built TFDS clips -> windows -> pseudo-targets -> batches (TensorFlow).

Imports `meint_jax.common` only. TensorFlow is imported by `input_pipeline` alone,
so the readers serve prediction on a machine without it.
"""
