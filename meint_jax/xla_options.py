"""XLA compiler options for the model's jit-compiled steps, chosen per backend.

On CPU, jaxlib 0.10 hands convolutions to YNNPACK by default. YNNPACK computes
a convolution's weight gradient (a convolution whose window is the whole
feature map) 4-10x slower than the forward pass; XLA's own (Eigen) kernels take
1-3x (`python -m benchmarks.conv_layers`). Sending convolutions back to XLA's
kernels made the 8x16x80 train step 2.3x faster on the 2-core CPU here, and
inference no slower (benchmarks/README.md). Matrix products stay on YNNPACK.
Other backends get no options.
"""

from __future__ import annotations

import jax

CPU_CONVOLUTIONS = ("xla", "ynnpack")


def step_options(cpu_convolutions: str = "xla", backend: str | None = None) -> dict | None:
    """`compiler_options` for `jax.jit` of a train or predict step."""
    if cpu_convolutions not in CPU_CONVOLUTIONS:
        raise ValueError(f"cpu_convolutions={cpu_convolutions!r}: choose one of {CPU_CONVOLUTIONS}")
    if (backend or jax.default_backend()) != "cpu" or cpu_convolutions == "ynnpack":
        return None
    return {"xla_cpu_experimental_ynn_fusion_type": "LIBRARY_FUSION_TYPE_INDIVIDUAL_DOT"}
