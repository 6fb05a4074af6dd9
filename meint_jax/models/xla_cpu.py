"""ResNet18's convolution and max-pool rewritten around XLA:CPU's slow paths.

Each function computes the same values and gradients as the plain operation
it replaces (`lax.conv_general_dilated`, torch's max-pool), tested against it,
but takes a path XLA:CPU runs fast. The factory (`models/factory.py`) injects
them into `resnet.ResNet18` on the CPU backend only; figures and commands are
in benchmarks/README.md, LOG.md. Four slow paths are avoided:

- a stride-1 convolution on a map smaller than its kernel (`small_map_conv`);
- a convolution's weight gradient fused with the chain that made its input
  (`materialized`);
- a strided convolution's input gradient run as a generic loop
  (`strided_input_gradient`);
- the max-pool's gradient expanded into select-and-scatter (`max_pool`).
"""

from __future__ import annotations

import functools

import flax.linen as nn
import jax
import jax.numpy as jnp
from jax import lax


def _plain_nhwc(lhs, rhs, padding, args, kwargs) -> bool:
    """Whether a `conv_general_dilated` call is a plain 2-D one: NHWC/HWIO, explicit padding, no
    dilation, no groups (the only kind the rewrites below handle)."""
    if lhs.ndim != 4 or args or isinstance(padding, str):
        return False
    nhwc = lax.conv_dimension_numbers(lhs.shape, rhs.shape, ("NHWC", "HWIO", "NHWC"))
    undilated = all(kwargs.get(k) in (None, 1, (1, 1)) for k in ("lhs_dilation", "rhs_dilation"))
    ungrouped = all(kwargs.get(k, 1) == 1 for k in ("feature_group_count", "batch_group_count"))
    return (undilated and ungrouped
            and lax.conv_dimension_numbers(lhs.shape, rhs.shape, kwargs.get("dimension_numbers")) == nhwc)


def small_map_conv(lhs, rhs, window_strides, padding, *args, **kwargs):
    """`lax.conv_general_dilated`, but a stride-1 convolution on a map smaller than its kernel
    (ResNet18's last stage at 64 px: 2x2 maps, 3x3 kernels) runs as one matrix product.

    XLA swaps the operands of such a convolution and then runs it in a generic
    loop: three of them took 1.7 of the 2.0 s forward pass of 8x16x64, which
    takes 0.21 s with matrix products instead. Here the nine shifted views are
    concatenated along the channels and multiplied by the kernel (NHWC/HWIO only).
    """
    k_h, k_w = rhs.shape[:2]
    small = (_plain_nhwc(lhs, rhs, padding, args, kwargs) and tuple(window_strides) == (1, 1)
             and lhs.shape[1] * lhs.shape[2] < k_h * k_w)
    if not small:
        return lax.conv_general_dilated(lhs, rhs, window_strides, padding, *args, **kwargs)
    (top, bottom), (left, right) = padding
    x = jnp.pad(lhs, ((0, 0), (top, bottom), (left, right), (0, 0)))
    out_h, out_w = x.shape[1] - k_h + 1, x.shape[2] - k_w + 1
    columns = jnp.concatenate([x[:, i:i + out_h, j:j + out_w, :] for i in range(k_h) for j in range(k_w)], axis=-1)
    return jnp.dot(columns, rhs.reshape(-1, rhs.shape[-1]), precision=kwargs.get("precision"),
                   preferred_element_type=kwargs.get("preferred_element_type"))


def materialized(x: jnp.ndarray) -> jnp.ndarray:
    """`x`, through a conditional that XLA cannot fuse across (on CPU; elsewhere `x` itself).

    XLA:CPU computes a convolution's weight gradient from its input transposed
    batch-last, and fuses that transpose with the elementwise chain that made
    the input (BatchNorm, residual add, ReLU of up to two blocks), recomputing
    it in transposed order: 5-10x slower than transposing the stored tensor.
    Saving the input through this opaque identity makes the transpose read it:
    the 8x16x224 train step went from 13.4 to 11.5 s, 8x16x112 from 2.9 to 2.6 s
    (benchmarks/README.md, LOG.md). GPUs get `x`: their conditionals wait for the
    predicate on the host.
    """
    if jax.default_backend() != "cpu":
        return x
    first = x.reshape(-1)[0]
    return lax.cond(first == first, lambda v: v, lambda v: v + 0, x)   # both branches return x


def strided_input_gradient(grad, rhs, input_shape, window_strides, padding, precision=None):
    """The input gradient of a strided NHWC/HWIO convolution, as one stride-1 convolution per
    output phase.

    XLA writes this gradient as a convolution of `grad` dilated by the stride,
    which XLA:CPU's kernels do not take, so it runs as a generic loop: 1.0 s of
    thread time per 8x16x224 train step for ResNet18's three strided 3x3
    convolutions. Input rows (and columns) s*m + a receive only the kernel taps
    a, a + s, ...: each phase (a, b) is a small stride-1 convolution of `grad`
    with those taps, flipped and with input and output channels swapped; the
    phases are then interleaved.
    """
    n, h, w, channels = input_shape
    (s_h, s_w), ((lo_h, hi_h), (lo_w, hi_w)) = window_strides, padding
    rows_out, cols_out = -(-(lo_h + h + hi_h) // s_h), -(-(lo_w + w + hi_w) // s_w)   # per phase, padded
    phases = []
    for a in range(s_h):
        for b in range(s_w):
            taps = rhs[a::s_h, b::s_w][::-1, ::-1]
            t_h, t_w = taps.shape[:2]
            if t_h == 0 or t_w == 0:                # a kernel smaller than the stride never reaches this phase
                phases.append(jnp.zeros((n, rows_out, cols_out, channels), grad.dtype))
                continue
            pad = ((t_h - 1, rows_out - grad.shape[1]), (t_w - 1, cols_out - grad.shape[2]))
            phases.append(small_map_conv(grad, jnp.swapaxes(taps, 2, 3), (1, 1), pad, precision=precision,
                                         dimension_numbers=("NHWC", "HWIO", "NHWC")))   # 1x1 maps below 64 px
    # [n, rows, s_h, cols, s_w, c] -> the padded input's rows s_h*m + a and columns s_w*m' + b.
    stacked = jnp.stack(phases, axis=2).reshape(n, rows_out, s_h, s_w, cols_out, channels).swapaxes(3, 4)
    padded = stacked.reshape(n, rows_out * s_h, cols_out * s_w, channels)
    return padded[:, lo_h:lo_h + h, lo_w:lo_w + w]


def resnet_conv(lhs, rhs, window_strides, padding, *args, **kwargs):
    """ResNet18's convolution (for `nn.Conv(conv_general_dilated=...)`): `small_map_conv`, whose
    backward pass reads its input `materialized` and computes a strided convolution's input
    gradient by `strided_input_gradient`."""
    conv = lambda x, w: small_map_conv(x, w, window_strides, padding, *args, **kwargs)
    strided = _plain_nhwc(lhs, rhs, padding, args, kwargs) and tuple(window_strides) != (1, 1)

    @jax.custom_vjp
    def saving_input(x, w):
        return conv(x, w)

    def forward(x, w):
        return conv(x, w), (materialized(x), w)

    def backward(residuals, grad):
        x, w = residuals
        if not strided:
            return jax.vjp(conv, x, w)[1](grad)
        grad_w = jax.vjp(lambda w: conv(x, w), w)[1](grad)[0]
        grad_x = strided_input_gradient(grad, w, x.shape, window_strides, padding, kwargs.get("precision"))
        return grad_x.astype(x.dtype), grad_w

    saving_input.defvjp(forward, backward)
    return saving_input(lhs, rhs)


def _pool_windows(x, window: int, stride: int, padding: int):
    """The window*window strided views of `x` (padded with -inf) whose elementwise max is the pool."""
    n, h, w, c = x.shape
    out_h, out_w = (h + 2 * padding - window) // stride + 1, (w + 2 * padding - window) // stride + 1
    xp = jnp.pad(x, ((0, 0), (padding, padding), (padding, padding), (0, 0)), constant_values=-jnp.inf)
    return [lax.slice(xp, (0, i, j, 0), (n, i + stride * (out_h - 1) + 1, j + stride * (out_w - 1) + 1, c),
                      (1, stride, stride, 1))
            for i in range(window) for j in range(window)]


def _max_pool_forward(x, window, stride, padding):
    views = _pool_windows(x, window, stride, padding)
    out, argmax = views[0], jnp.zeros(views[0].shape, jnp.int8)
    for k, view in enumerate(views[1:], 1):
        better = (view > out) | jnp.isnan(view)     # the first maximum wins, NaN propagates: torch's rule
        out = jnp.where(better, view, out)
        argmax = jnp.where(better, jnp.int8(k), argmax)
    return out, argmax


@functools.partial(jax.custom_vjp, nondiff_argnums=(1, 2, 3))
def max_pool(x: jnp.ndarray, window: int = 3, stride: int = 2, padding: int = 1) -> jnp.ndarray:
    """torch's `max_pool2d` over [N, H, W, C] (square window, symmetric -inf padding).

    Its gradient goes to the first maximum of each window, through the window
    index saved in the forward pass. Why not `nn.max_pool`: XLA:CPU expands the
    gradient of `reduce_window` (select-and-scatter) into an argmax
    reduce-window over four int32 index arrays plus a scatter, 3x slower over
    the whole stem (benchmarks/README.md, LOG.md).
    """
    return _max_pool_forward(x, window, stride, padding)[0]


def _max_pool_fwd(x, window, stride, padding):
    out, argmax = _max_pool_forward(x, window, stride, padding)
    return out, (argmax, x.shape)


def _max_pool_bwd(window, stride, padding, residuals, grad):
    argmax, (n, h, w, c) = residuals
    padded_h, padded_w = h + 2 * padding, w + 2 * padding
    zero = jnp.zeros((), grad.dtype)
    dx = jnp.zeros((n, padded_h, padded_w, c), grad.dtype)
    for k in range(window * window):
        i, j = divmod(k, window)
        routed = jnp.where(argmax == k, grad, zero)
        # Back onto rows i, i + stride, ... of the padded input: interior padding spreads the strides.
        dx = dx + lax.pad(routed, zero, ((0, 0, 0),
                                         (i, padded_h - i - stride * (grad.shape[1] - 1) - 1, stride - 1),
                                         (j, padded_w - j - stride * (grad.shape[2] - 1) - 1, stride - 1),
                                         (0, 0, 0)))
    return (dx[:, padding:padding + h, padding:padding + w, :],)


max_pool.defvjp(_max_pool_fwd, _max_pool_bwd)




# ResNet18's block convolution on CPU: `nn.Conv` computing through `resnet_conv`.
Conv = functools.partial(nn.Conv, conv_general_dilated=resnet_conv)
