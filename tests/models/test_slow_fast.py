"""Paper 002's slow-fast network: its size against the reference code's, counted by hand, and its shapes."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from meint_jax.models import slow_fast


def torch_parameter_count(fast=128, slow=256, d_state=64, stages=3, layers=4, laterals=2):
    """Parameters of BoostingVRME's METST_SF before its heads and without its unused norm2, from the layer
    formulas of torch's Conv1d (with bias), BatchNorm1d (weight, bias), LayerNorm and mamba-ssm's Mamba."""
    def conv(c_in, c_out):
        return c_in * c_out * 3 + c_out + 2 * c_out            # + BatchNorm

    def mamba(d):
        e, r = 2 * d, -(-d // 16)
        in_proj, conv1d, x_proj = d * 2 * e, e * 4 + e, e * (r + 2 * d_state)
        dt_proj, a_log, skip, out_proj = r * e + e, e * d_state, e, e * d
        return in_proj + conv1d + x_proj + dt_proj + a_log + skip + out_proj + 2 * 2 * d   # + two LayerNorms

    stem = conv(36, fast) + conv(fast, fast)
    return (stem + conv(fast, slow) + laterals * conv(fast, slow)
            + stages * layers * (mamba(fast) + mamba(slow)))


def test_the_paper_sized_network_has_the_reference_codes_parameter_count():
    x = jnp.zeros((1, 50, 36))
    stem, network = slow_fast.FlowStem(128), slow_fast.SlowFast()
    stem_vars = jax.eval_shape(lambda: stem.init(jax.random.PRNGKey(0), x))
    net_vars = jax.eval_shape(lambda: network.init(jax.random.PRNGKey(0), jnp.zeros((1, 50, 128))))
    count = sum(np.prod(p.shape) for v in (stem_vars, net_vars) for p in jax.tree.leaves(v["params"]))
    assert count == torch_parameter_count() == 8_357_376


@pytest.mark.slow
def test_frames_keep_their_number_and_get_fast_plus_slow_features_for_odd_and_even_lengths():
    for steps in (30, 31):
        x = jnp.asarray(np.random.default_rng(0).normal(size=(2, steps, 36)).astype(np.float32))
        stem = slow_fast.FlowStem(16)
        network = slow_fast.SlowFast(slow_features=24, stages=2, layers_per_stage=1, d_state=4, lateral_after=(1,))
        stem_vars = stem.init(jax.random.PRNGKey(0), x)
        features = stem.apply(stem_vars, x)
        net_vars = network.init(jax.random.PRNGKey(1), features)
        out, updates = network.apply(net_vars, features, train=True, mutable=["batch_stats"])
        assert out.shape == (2, steps, 16 + 24) and np.isfinite(np.asarray(out)).all()
        assert "batch_stats" in updates
