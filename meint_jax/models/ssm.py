"""The selective state-space scan and the Mamba block built on it (paper 002's temporal layers), in JAX.

The recurrence, per channel d and state n (Mamba's S6, zero-order hold on A,
Euler on B):

    h_t = exp(delta_t[d] * A[d, n]) * h_{t-1} + delta_t[d] * B_t[n] * x_t[d]
    y_t[d] = sum_n C_t[n] * h_t[d, n] + D[d] * x_t[d]

`selective_scan` runs it with `jax.lax.associative_scan` (log-depth, all time
steps at once: what makes it fast on an accelerator); `selective_scan_loop` is
the same recurrence as a plain `lax.scan`, the reference the tests compare it
with, forward and gradients. Written from the recurrence, not from mamba-ssm's
CUDA kernels.
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


def selective_scan(x, delta, A, B, C, D):
    """y [B, L, D] from x, delta [B, L, D], A [D, N], B, C [B, L, N], D [D], by an associative scan over time."""
    decay, drive = _discretise(x, delta, A, B)

    def combine(earlier, later):
        a1, b1 = earlier
        a2, b2 = later
        return a1 * a2, a2 * b1 + b2

    _, states = jax.lax.associative_scan(combine, (decay, drive), axis=1)
    return jnp.einsum("bldn,bln->bld", states, C) + D * x


def selective_scan_loop(x, delta, A, B, C, D):
    """The same recurrence one time step after another (`lax.scan`): the reference."""
    decay, drive = _discretise(x, delta, A, B)

    def step(h, inputs):
        a, b, c = inputs
        h = a * h + b
        return h, jnp.einsum("bdn,bn->bd", h, c)

    h0 = jnp.zeros(decay.shape[:1] + decay.shape[2:], decay.dtype)
    _, ys = jax.lax.scan(step, h0, (jnp.moveaxis(decay, 1, 0), jnp.moveaxis(drive, 1, 0), jnp.moveaxis(C, 1, 0)))
    return jnp.moveaxis(ys, 0, 1) + D * x


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
                           B.astype(jnp.float32), C.astype(jnp.float32), D)
        y = y.astype(self.dtype) * nn.silu(z)
        return nn.Dense(self.d_model, use_bias=False, dtype=self.dtype, name="out_proj")(y)
