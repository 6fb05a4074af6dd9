"""The selective scan against a plain loop of the same recurrence, and the Mamba block's causality."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from meint_jax.models import ssm


def inputs(seed=0, batch=2, length=37, channels=6, states=4):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(batch, length, channels)).astype(np.float32)
    delta = np.log1p(np.exp(rng.normal(size=(batch, length, channels)))).astype(np.float32)   # softplus > 0
    A = -np.exp(rng.normal(size=(channels, states))).astype(np.float32)
    B = rng.normal(size=(batch, length, states)).astype(np.float32)
    C = rng.normal(size=(batch, length, states)).astype(np.float32)
    D = rng.normal(size=(channels,)).astype(np.float32)
    return x, delta, A, B, C, D


def numpy_loop(x, delta, A, B, C, D):
    """The recurrence written out in float64 numpy, one step at a time."""
    x, delta, A, B, C, D = (np.asarray(a, np.float64) for a in (x, delta, A, B, C, D))
    batch, length, channels = x.shape
    y = np.zeros_like(x)
    for b in range(batch):
        h = np.zeros((channels, A.shape[1]))
        for t in range(length):
            h = np.exp(delta[b, t][:, None] * A) * h + (delta[b, t] * x[b, t])[:, None] * B[b, t][None, :]
            y[b, t] = h @ C[b, t] + D * x[b, t]
    return y


def test_both_scans_compute_the_written_out_recurrence():
    args = inputs()
    expected = numpy_loop(*args)
    for method in ssm.SCANS:
        np.testing.assert_allclose(ssm.selective_scan(*args, method=method), expected, rtol=2e-4, atol=2e-4,
                                   err_msg=method)


@pytest.mark.slow
def test_the_two_scans_have_the_same_gradients_for_every_input():
    args = [jnp.asarray(a) for a in inputs(seed=1, length=19)]
    weights = jnp.asarray(np.random.default_rng(2).normal(size=args[0].shape).astype(np.float32))

    def loss(scan):
        return lambda *a: jnp.sum(scan(*a) * weights)

    fast = jax.grad(loss(ssm.selective_scan_associative), argnums=range(6))(*args)
    slow = jax.grad(loss(ssm.selective_scan_sequential), argnums=range(6))(*args)
    for name, g_fast, g_slow in zip("x delta A B C D".split(), fast, slow):   # noqa: B007
        np.testing.assert_allclose(g_fast, g_slow, rtol=1e-3, atol=1e-3, err_msg=name)


def test_the_gradients_equal_finite_differences_of_the_written_out_recurrence():
    args = [np.asarray(a, np.float64) for a in inputs(seed=4, batch=1, length=6, channels=2, states=2)]
    grads = jax.grad(lambda d: jnp.sum(ssm.selective_scan_sequential(*[jnp.asarray(a, jnp.float32) for a in
                                                                       (args[0], d, *args[2:])])))(
        jnp.asarray(args[1], jnp.float32))
    eps, index = 1e-4, (0, 3, 1)
    up, down = args[1].copy(), args[1].copy()
    up[index] += eps
    down[index] -= eps
    numeric = (numpy_loop(args[0], up, *args[2:]).sum() - numpy_loop(args[0], down, *args[2:]).sum()) / (2 * eps)
    assert abs(float(grads[index]) - numeric) < 1e-2 * max(1.0, abs(numeric))


@pytest.mark.slow
def test_the_mamba_block_is_causal_and_keeps_the_shape():
    block = ssm.MambaBlock(d_model=8, d_state=4)
    u = jnp.asarray(np.random.default_rng(3).normal(size=(1, 20, 8)).astype(np.float32))
    params = block.init(jax.random.PRNGKey(0), u)
    out = block.apply(params, u)
    assert out.shape == u.shape
    changed = u.at[:, 12:].add(1.0)                       # only frames 12 onwards differ
    out2 = block.apply(params, changed)
    np.testing.assert_allclose(out[:, :12], out2[:, :12], atol=1e-5)
    assert np.abs(np.asarray(out[:, 12:] - out2[:, 12:])).max() > 1e-3
