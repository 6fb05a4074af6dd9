"""The CPU compile options move convolutions off YNNPACK and change no result beyond rounding."""

import jax
import numpy as np
import pytest
from jax import lax

from meint_jax import xla_options


def _conv_loss(x, w):
    y = lax.conv_general_dilated(x, w, (1, 1), [(1, 1), (1, 1)], dimension_numbers=("NHWC", "HWIO", "NHWC"))
    return (y ** 2).mean()


def _inputs():
    rng = np.random.default_rng(0)
    return rng.standard_normal((16, 28, 28, 64), np.float32), rng.standard_normal((3, 3, 64, 64), np.float32) * 0.05


@pytest.mark.skipif(jax.default_backend() != "cpu", reason="CPU compile options")
def test_convolutions_leave_ynnpack_and_gradients_agree():
    x, w = _inputs()
    grad = jax.grad(_conv_loss, argnums=(0, 1))
    default = jax.jit(grad)
    ours = jax.jit(grad, compiler_options=xla_options.step_options())
    default_hlo = default.lower(x, w).compile().as_text()
    ours_hlo = ours.lower(x, w).compile().as_text()
    assert "__ynn_fusion" in default_hlo        # jaxlib's default sends these convolutions to YNNPACK
    assert "__ynn_fusion" not in ours_hlo
    for a, b in zip(default(x, w), ours(x, w)):
        np.testing.assert_allclose(np.asarray(b), np.asarray(a), rtol=1e-4, atol=1e-6 * float(np.abs(a).max()))


def test_options_per_backend_and_choice():
    assert xla_options.step_options(backend="gpu") is None
    assert xla_options.step_options("ynnpack", backend="cpu") is None
    assert xla_options.step_options(backend="cpu")
    with pytest.raises(ValueError, match="cpu_convolutions='onednn'"):
        xla_options.step_options("onednn")
