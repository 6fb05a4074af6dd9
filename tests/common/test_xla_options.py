"""The CPU compile options move convolutions off YNNPACK, reductions onto it, and change no result
beyond rounding."""

import re

import jax
import numpy as np
import pytest
from jax import lax

from meint_jax.common import xla_options


def ynnpack_opcodes(hlo: str) -> set[str]:
    """The HLO opcodes inside the fusions that a compiled module hands to YNNPACK."""
    bodies = dict(re.findall(r"^%(\S+) .*?\{\n(.*?)\n\}", hlo, re.M | re.S))
    called = re.findall(r"calls=%([\w.-]+)[^\n]*__ynn_fusion", hlo)
    return {op for name in called for op in re.findall(r"= \S+ ([\w-]+)\(", bodies[name])}


def _conv_bn_loss(x, w):
    y = lax.conv_general_dilated(x, w, (1, 1), [(1, 1), (1, 1)], dimension_numbers=("NHWC", "HWIO", "NHWC"))
    mean = y.mean((0, 1, 2))
    var = (y ** 2).mean((0, 1, 2)) - mean ** 2
    return (((y - mean) * lax.rsqrt(var + 1e-5)) ** 3).mean()


def _inputs():
    rng = np.random.default_rng(0)
    return rng.standard_normal((16, 28, 28, 64), np.float32), rng.standard_normal((3, 3, 64, 64), np.float32) * 0.05


@pytest.mark.skipif(jax.default_backend() != "cpu", reason="CPU compile options")
def test_convolutions_leave_ynnpack_reductions_join_it_and_gradients_agree():
    x, w = _inputs()
    grad = jax.grad(_conv_bn_loss, argnums=(0, 1))
    default = jax.jit(grad)
    ours = jax.jit(grad, compiler_options=xla_options.step_options())
    ours_hlo = ours.lower(x, w).compile().as_text()
    assert "convolution" in ynnpack_opcodes(default.lower(x, w).compile().as_text())    # jaxlib's default
    assert "convolution" not in ynnpack_opcodes(ours_hlo) and "reduce" in ynnpack_opcodes(ours_hlo)
    assert "reduce-window" not in ours_hlo       # no tree of reduce-windows for the statistics
    for a, b in zip(default(x, w), ours(x, w)):
        np.testing.assert_allclose(np.asarray(b), np.asarray(a), rtol=1e-4, atol=1e-5 * float(np.abs(a).max()))


@pytest.mark.skipif(jax.default_backend() != "cpu", reason="CPU compile options")
def test_forward_pass_keeps_its_convolutions_on_xla_kernels():
    # A ResNet head: convolution, ReLU, global mean pool. Reductions on YNNPACK would pull the convolution
    # into the pooling's YNNPACK fusion, which runs it several times slower.
    x, w = _inputs()
    head = lambda x, w: jax.nn.relu(lax.conv_general_dilated(
        x, w, (1, 1), [(1, 1), (1, 1)], dimension_numbers=("NHWC", "HWIO", "NHWC"))).mean((1, 2))
    compiled = lambda options: jax.jit(head, compiler_options=options).lower(x, w).compile().as_text()
    assert "convolution" in ynnpack_opcodes(compiled(xla_options.step_options(step="train")))
    assert "convolution" not in ynnpack_opcodes(compiled(xla_options.step_options(step="predict")))


def test_options_per_backend_and_choice():
    assert xla_options.step_options(backend="gpu") is None
    assert xla_options.step_options("ynnpack", backend="cpu") is None
    assert xla_options.step_options(backend="cpu")
    with pytest.raises(ValueError, match="cpu_convolutions='onednn'"):
        xla_options.step_options("onednn")
    with pytest.raises(ValueError, match="step='eval'"):
        xla_options.step_options(step="eval")
