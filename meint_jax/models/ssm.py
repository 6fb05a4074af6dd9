"""The selective state-space scan and the Mamba block built on it (paper 002's temporal layers), in JAX.

The recurrence, per channel d and state n (Mamba's S6, zero-order hold on A,
Euler on B):

    h_t = exp(delta_t[d] * A[d, n]) * h_{t-1} + delta_t[d] * B_t[n] * x_t[d]
    y_t[d] = sum_n C_t[n] * h_t[d, n] + D[d] * x_t[d]

`selective_scan` runs it either with `jax.lax.scan`, one step after another
(`sequential`, the default: the fastest on a CPU, and at paper 002's window
lengths of 25-50 steps on any device), or with `jax.lax.associative_scan`
(`associative`: log depth, every step's state at once; for long sequences on
an accelerator). The tests hold both to a plain loop of the recurrence, values
and gradients. Written from the recurrence, not from mamba-ssm's CUDA kernels.
"""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp


def _discretise(x, delta, A, B):
    """(decay [B, L, D, N], input [B, L, D, N]) of the recurrence."""
    decay = jnp.exp(delta[..., None] * A)
    drive = (delta * x)[..., None] * B[:, :, None, :]
    return decay, drive


SCANS = ("sequential", "associative")


def selective_scan_associative(x, delta, A, B, C, D):
    """y [B, L, D] from x, delta [B, L, D], A [D, N], B, C [B, L, N], D [D], by an associative scan over time
    (log depth; holds every step's [B, D, N] state at once)."""
    decay, drive = _discretise(x, delta, A, B)

    def combine(earlier, later):
        a1, b1 = earlier
        a2, b2 = later
        return a1 * a2, a2 * b1 + b2

    _, states = jax.lax.associative_scan(combine, (decay, drive), axis=1)
    return jnp.einsum("bldn,bln->bld", states, C) + D * x


def selective_scan_sequential(x, delta, A, B, C, D):
    """The same, one time step after another (`lax.scan`), each step discretised inside the loop, so no
    [B, L, D, N] array is ever made: 13-16x faster than the associative scan on a CPU (benchmarks/README.md)."""
    def step(h, inputs):
        d, u, b, c = inputs
        h = jnp.exp(d[..., None] * A) * h + (d * u)[..., None] * b[:, None, :]
        return h, jnp.einsum("bdn,bn->bd", h, c)

    h0 = jnp.zeros((x.shape[0], x.shape[2], A.shape[1]), jnp.result_type(x, delta, A, B))
    _, ys = jax.lax.scan(step, h0, tuple(jnp.moveaxis(a, 1, 0) for a in (delta, x, B, C)))
    return jnp.moveaxis(ys, 0, 1) + D * x


def selective_scan(x, delta, A, B, C, D, method: str = "sequential"):
    """The recurrence by `method`: 'sequential' (lax.scan) or 'associative' (lax.associative_scan)."""
    if method == "sequential":
        return selective_scan_sequential(x, delta, A, B, C, D)
    if method == "associative":
        return selective_scan_associative(x, delta, A, B, C, D)
    raise ValueError(f"unknown scan {method!r}; use one of {SCANS}")


class MambaBlock(nn.Module):
    """Mamba's mixer: [B, L, d_model] -> [B, L, d_model] (no norm or residual: the caller adds them).

    In-projection to x and a gate z (each expand x d_model), a causal depthwise convolution and SiLU on x,
    input-dependent delta, B and C, the selective scan, the output gated by SiLU(z), out-projection.
    """

    d_model: int
    d_state: int = 16
    d_conv: int = 4
    expand: int = 2
    dt_min: float = 1e-3
    dt_max: float = 1e-1
    scan: str = "sequential"
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, u):
        d_inner = self.expand * self.d_model
        dt_rank = max(1, -(-self.d_model // 16))
        xz = nn.Dense(2 * d_inner, use_bias=False, dtype=self.dtype, name="in_proj")(u)
        x, z = jnp.split(xz, 2, axis=-1)
        x = nn.Conv(d_inner, (self.d_conv,), padding=[(self.d_conv - 1, 0)], feature_group_count=d_inner,
                    dtype=self.dtype, name="conv1d")(x)
        x = nn.silu(x)
        projected = nn.Dense(dt_rank + 2 * self.d_state, use_bias=False, dtype=self.dtype, name="x_proj")(x)
        dt, B, C = jnp.split(projected, [dt_rank, dt_rank + self.d_state], axis=-1)

        def dt_bias(key, shape, dtype=jnp.float32):
            # Mamba's init: softplus(bias) spread log-uniformly over [dt_min, dt_max].
            dt0 = jnp.exp(jax.random.uniform(key, shape, dtype) * (jnp.log(self.dt_max) - jnp.log(self.dt_min))
                          + jnp.log(self.dt_min))
            return dt0 + jnp.log(-jnp.expm1(-dt0))

        delta = nn.softplus(nn.Dense(d_inner, dtype=self.dtype, bias_init=dt_bias, name="dt_proj")(dt))
        A_log = self.param("A_log", lambda key, shape: jnp.log(jnp.broadcast_to(
            jnp.arange(1, self.d_state + 1, dtype=jnp.float32), shape)), (d_inner, self.d_state))
        D = self.param("D", nn.initializers.ones, (d_inner,))
        y = selective_scan(x.astype(jnp.float32), delta.astype(jnp.float32), -jnp.exp(A_log),
                           B.astype(jnp.float32), C.astype(jnp.float32), D, self.scan)
        y = y.astype(self.dtype) * nn.silu(z)
        return nn.Dense(self.d_model, use_bias=False, dtype=self.dtype, name="out_proj")(y)
