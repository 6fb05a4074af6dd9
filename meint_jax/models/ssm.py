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

`MambaBlock.weight_init` picks how its weights start (WEIGHT_INITS): `ours` (flax's defaults, with Mamba's
log-uniform step sizes), `mamba` (mamba-ssm's Mamba block as it constructs it: torch's default layers, the
step projection uniform in +-dt_rank^-1/2, its bias the inverse softplus of a log-uniform step floored at
`dt_init_floor`) or `paper` (paper 002's network after its re-initialisation: every projection N(0, 0.02) with
zero bias, so every step starts at softplus(0) = ln 2, and the out-projection torch's default divided by 2).
A_log (S4D's 1..N) and D (ones) start alike in all three.
"""

from __future__ import annotations

import math
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


WEIGHT_INITS = ("ours", "mamba", "paper")
PAPER_OUT_PROJ_LAYERS = 4      # paper 002 rescales each out-projection by 1/sqrt(4) (its n_layer=4)


def uniform(bound: float):
    return lambda key, shape, dtype=jnp.float32: jax.random.uniform(key, shape, dtype, -bound, bound)


def torch_default(fan_in: int):
    """torch's default for Linear and Conv weights and biases: U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
    return uniform(1.0 / math.sqrt(fan_in))


def dt_bias_init(dt_min: float, dt_max: float, floor: float | None = None):
    """Mamba's step bias: softplus(bias) log-uniform over [dt_min, dt_max] (floored at `floor`, as mamba-ssm's
    dt_init_floor), through softplus's inverse dt + log(1 - exp(-dt))."""
    def init(key, shape, dtype=jnp.float32):
        dt0 = jnp.exp(jax.random.uniform(key, shape, dtype) * (jnp.log(dt_max) - jnp.log(dt_min)) + jnp.log(dt_min))
        if floor is not None:
            dt0 = jnp.maximum(dt0, floor)
        return dt0 + jnp.log(-jnp.expm1(-dt0))
    return init


def layer_inits(weight_init: str, d_model: int, d_inner: int, dt_rank: int, d_conv: int, dt_min: float, dt_max: float,
                dt_init_floor: float) -> dict[str, dict]:
    """The initialisers of each layer of the block (`MambaBlock.weight_init`), as keyword arguments per layer name."""
    if weight_init == "ours":
        return {"in_proj": {}, "conv1d": {}, "x_proj": {}, "out_proj": {},
                "dt_proj": {"bias_init": dt_bias_init(dt_min, dt_max)}}
    conv1d = {"kernel_init": torch_default(d_conv), "bias_init": torch_default(d_conv)}    # depthwise: fan_in d_conv
    if weight_init == "mamba":
        return {"in_proj": {"kernel_init": torch_default(d_model)}, "conv1d": conv1d,
                "x_proj": {"kernel_init": torch_default(d_inner)},
                "dt_proj": {"kernel_init": uniform(dt_rank ** -0.5),
                            "bias_init": dt_bias_init(dt_min, dt_max, dt_init_floor)},
                "out_proj": {"kernel_init": torch_default(d_inner)}}
    if weight_init == "paper":
        small = {"kernel_init": nn.initializers.normal(0.02)}
        return {"in_proj": small, "conv1d": conv1d, "x_proj": small,
                "dt_proj": {**small, "bias_init": nn.initializers.zeros},
                "out_proj": {"kernel_init": uniform(1.0 / math.sqrt(d_inner * PAPER_OUT_PROJ_LAYERS))}}
    raise ValueError(f"unknown weight_init {weight_init!r}; use one of {WEIGHT_INITS}")


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
    dt_init_floor: float = 1e-4       # weight_init='mamba' only
    scan: str = "sequential"
    weight_init: str = "ours"         # WEIGHT_INITS
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, u):
        d_inner = self.expand * self.d_model
        dt_rank = max(1, -(-self.d_model // 16))
        inits = layer_inits(self.weight_init, self.d_model, d_inner, dt_rank, self.d_conv, self.dt_min, self.dt_max,
                            self.dt_init_floor)
        xz = nn.Dense(2 * d_inner, use_bias=False, dtype=self.dtype, name="in_proj", **inits["in_proj"])(u)
        x, z = jnp.split(xz, 2, axis=-1)
        x = nn.Conv(d_inner, (self.d_conv,), padding=[(self.d_conv - 1, 0)], feature_group_count=d_inner,
                    dtype=self.dtype, name="conv1d", **inits["conv1d"])(x)
        x = nn.silu(x)
        projected = nn.Dense(dt_rank + 2 * self.d_state, use_bias=False, dtype=self.dtype, name="x_proj",
                             **inits["x_proj"])(x)
        dt, B, C = jnp.split(projected, [dt_rank, dt_rank + self.d_state], axis=-1)
        delta = nn.softplus(nn.Dense(d_inner, dtype=self.dtype, name="dt_proj", **inits["dt_proj"])(dt))
        A_log = self.param("A_log", lambda key, shape: jnp.log(jnp.broadcast_to(
            jnp.arange(1, self.d_state + 1, dtype=jnp.float32), shape)), (d_inner, self.d_state))
        D = self.param("D", nn.initializers.ones, (d_inner,))
        y = selective_scan(x.astype(jnp.float32), delta.astype(jnp.float32), -jnp.exp(A_log),
                           B.astype(jnp.float32), C.astype(jnp.float32), D, self.scan)
        y = y.astype(self.dtype) * nn.silu(z)
        return nn.Dense(self.d_model, use_bias=False, dtype=self.dtype, name="out_proj", **inits["out_proj"])(y)
