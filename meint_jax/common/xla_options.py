"""XLA compiler options for the model's jit-compiled steps, chosen per backend.

On CPU, jaxlib 0.10 hands convolutions and matrix products to YNNPACK by
default, and nothing else:
- YNNPACK computes a convolution's weight gradient (a convolution whose window
  is the whole feature map) 4-10x slower than the forward pass; XLA's own
  (Eigen) kernels take 1-3x (`python -m benchmarks.conv_layers`). Convolutions
  go back to XLA's kernels: the 8x16x80 train step became 2.3x faster.
- XLA:CPU rewrites a large reduction (BatchNorm's batch statistics and their
  gradients) into a reduce-window tree that it runs 15x slower than YNNPACK's
  reduction (10 vs 150 ms for one 128x56x56x64 BatchNorm's statistics). So
  reductions go to YNNPACK in the train step: the 8x16x112 step went from
  3.5 to 2.8 s. Not in the predict step, which has no large reduction: there
  YNNPACK would take the last convolution into the pooling's fusion and run
  it several times slower (0.78 vs 0.65 s for 8x16x112).
Matrix products stay on YNNPACK. Other backends get no options. Figures and
commands: benchmarks/README.md, LOG.md.
"""

from __future__ import annotations

import jax

CPU_CONVOLUTIONS = ("xla", "ynnpack")
STEPS = ("train", "predict")


def step_options(cpu_convolutions: str = "xla", backend: str | None = None, step: str = "train") -> dict | None:
    """`compiler_options` for `jax.jit` of a train step (`step="train"`) or a forward pass."""
    if cpu_convolutions not in CPU_CONVOLUTIONS:
        raise ValueError(f"cpu_convolutions={cpu_convolutions!r}: choose one of {CPU_CONVOLUTIONS}")
    if step not in STEPS:
        raise ValueError(f"step={step!r}: choose one of {STEPS}")
    if (backend or jax.default_backend()) != "cpu" or cpu_convolutions == "ynnpack":
        return None
    fusions = ["LIBRARY_FUSION_TYPE_INDIVIDUAL_DOT"] + (["LIBRARY_FUSION_TYPE_REDUCE"] if step == "train" else [])
    return {"xla_cpu_experimental_ynn_fusion_type": ",".join(fusions)}
