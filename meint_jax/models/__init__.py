"""Models: a frame encoder, temporal models and heads, composed in `factory.py` (each task picks
its composition: `meint_jax.tasks.create_model(config)`).

- `resnet.py`: ResNet18 as torchvision writes it; `xla_cpu.py`: its convolution and
  max-pool rewritten for XLA:CPU, injected by the factory on that backend.
- `temporal.py`: BiGRU and the frame-wise baseline; `ssm.py` and `slow_fast.py`: paper 002's Mamba blocks,
  slow-fast network and flow stem; `model.py`: the parts composed.
- `pretrained.py`: torchvision/timm ResNet18 weights -> Flax parameters.

Pure functions of arrays and configs: imports jax/flax and `meint_jax.common`
only (no TensorFlow, no data pipeline, no training loop).
"""

from meint_jax.models.factory import DTYPES  # noqa: F401
