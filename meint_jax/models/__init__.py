"""Models: a frame encoder, temporal models and heads, composed by `create_model(config.model)`.

- `resnet.py`: ResNet18 as torchvision writes it; `xla_cpu.py`: its convolution and
  max-pool rewritten for XLA:CPU, injected by the factory on that backend.
- `temporal.py`: BiGRU and the frame-wise baseline; `model.py`: the parts composed.
- `pretrained.py`: torchvision/timm ResNet18 weights -> Flax parameters.

Pure functions of arrays and configs: imports jax/flax and `meint_jax.common`
only (no TensorFlow, no data pipeline, no training loop).
"""

from meint_jax.models.factory import DTYPES, create_model  # noqa: F401
