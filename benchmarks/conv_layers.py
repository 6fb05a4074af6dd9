"""Where a train step's time goes: ResNet18's convolutions one by one, JAX vs PyTorch.

    python -m benchmarks.conv_layers --frames=128 --size=112

For each distinct convolution of ResNet18 on `--frames` frames of `--size` pixels
(the 8 clips x 16 frames of a train batch), the forward pass and the two halves
of its backward pass, the gradient with respect to the input (dX) and to the
weights (dW): XLA's (`jax.vjp` of `lax.conv_general_dilated`, NHWC, as Flax runs
it), with jaxlib's default YNNPACK kernels (`jax ynnpack`) and with XLA's own
(`jax`, what meint_jax compiles with on CPU: meint_jax/common/xla_options.py), and
PyTorch's (`torch.nn.grad.conv2d_input/_weight`, oneDNN), on NCHW tensors (`torch`) and
channels-last ones (`torch cl`, the memory order of `benchmarks.run`'s contender). Medians of
--repeats calls after one warm-up call; float32. `count` is how many times
the shape occurs in the network, so count x time sums to the network's share.
"""

from __future__ import annotations

from meint_jax.common import cli, files

cli.restart_on_tcmalloc(__name__)  # Before the heavy imports: the process is replaced.

import functools
import json

import jax
import numpy as np
from absl import app, flags
from jax import lax

from benchmarks.timing import median_seconds
from meint_jax.common import xla_options

FLAGS = flags.FLAGS


def define_flags():
    """Defined only when run as a script, so importing the module (tests) adds no absl flags."""
    flags.DEFINE_integer("frames", 128, "Frames per batch (clips x frames per clip).")
    flags.DEFINE_integer("size", 112, "Frame side in pixels.")
    flags.DEFINE_integer("repeats", 5, "Timed calls; the median is reported.")
    flags.DEFINE_bool("torch", True, "Also measure PyTorch (skipped when it is not installed).")
    flags.DEFINE_bool("ynnpack", True, "Also measure jaxlib's default YNNPACK convolutions.")
    flags.DEFINE_string("json", None, "Also write the rows here.")


def resnet18_convolutions(size: int) -> list[dict]:
    """(input side, in, out, kernel, stride, count) of ResNet18's convolutions, torch's padding."""
    layers = [dict(side=size, cin=3, cout=64, kernel=7, stride=2, count=1, name="conv1")]
    side = -(-(-(-size // 2)) // 2)          # conv1 stride 2, then maxpool stride 2 (ceil, as padded)
    cin = 64
    for stage, cout in enumerate((64, 128, 256, 512), start=1):
        stride = 1 if stage == 1 else 2
        if stride == 2:
            layers.append(dict(side=side, cin=cin, cout=cout, kernel=3, stride=2, count=1,
                               name=f"layer{stage}_0.conv1"))
            layers.append(dict(side=side, cin=cin, cout=cout, kernel=1, stride=2, count=1,
                               name=f"layer{stage}_0.downsample"))
            side = -(-side // 2)
            layers.append(dict(side=side, cin=cout, cout=cout, kernel=3, stride=1, count=3, name=f"layer{stage} 3x3"))
        else:
            layers.append(dict(side=side, cin=cin, cout=cout, kernel=3, stride=1, count=4, name=f"layer{stage} 3x3"))
        cin = cout
    return layers


def measure_jax(layer: dict, frames: int, repeats: int, cpu_convolutions: str = "xla") -> dict:
    rng = np.random.default_rng(0)
    k, s = layer["kernel"], layer["stride"]
    x = jax.device_put(rng.standard_normal((frames, layer["side"], layer["side"], layer["cin"]), np.float32))
    w = jax.device_put(rng.standard_normal((k, k, layer["cin"], layer["cout"]), np.float32))
    padding = [(k // 2, k // 2)] * 2

    def conv(x, w):
        return lax.conv_general_dilated(x, w, (s, s), padding, dimension_numbers=("NHWC", "HWIO", "NHWC"))

    dy = jax.device_put(rng.standard_normal(jax.eval_shape(conv, x, w).shape, np.float32))
    jit = functools.partial(jax.jit, compiler_options=xla_options.step_options(cpu_convolutions))
    forward = jit(conv)
    d_input = jit(lambda x, w, dy: jax.vjp(lambda x: conv(x, w), x)[1](dy)[0])
    d_weight = jit(lambda x, w, dy: jax.vjp(lambda w: conv(x, w), w)[1](dy)[0])
    sync = jax.block_until_ready
    name = "jax" if cpu_convolutions == "xla" else f"jax_{cpu_convolutions}"
    return {f"{name}_fwd_ms": 1e3 * median_seconds(lambda: forward(x, w), 1, repeats, sync),
            f"{name}_dx_ms": 1e3 * median_seconds(lambda: d_input(x, w, dy), 1, repeats, sync),
            f"{name}_dw_ms": 1e3 * median_seconds(lambda: d_weight(x, w, dy), 1, repeats, sync)}


def measure_torch(layer: dict, frames: int, repeats: int, channels_last: bool = False) -> dict:
    import torch
    import torch.nn.functional as F

    k, s, p = layer["kernel"], layer["stride"], layer["kernel"] // 2
    layout = torch.channels_last if channels_last else torch.contiguous_format
    x = torch.randn(frames, layer["cin"], layer["side"], layer["side"]).to(memory_format=layout)
    w = torch.randn(layer["cout"], layer["cin"], k, k).to(memory_format=layout)
    name = "torch_cl" if channels_last else "torch"
    with torch.no_grad():
        dy = torch.randn_like(F.conv2d(x, w, stride=s, padding=p)).to(memory_format=layout)
        sync = lambda out: out  # noqa: E731 (eager: the call returns when done)

        def ms(fn):
            return 1e3 * median_seconds(fn, 1, repeats, sync)

        return {f"{name}_fwd_ms": ms(lambda: F.conv2d(x, w, stride=s, padding=p)),
                f"{name}_dx_ms": ms(lambda: torch.nn.grad.conv2d_input(x.shape, w, dy, stride=s, padding=p)),
                f"{name}_dw_ms": ms(lambda: torch.nn.grad.conv2d_weight(x, w.shape, dy, stride=s, padding=p))}


def main(argv):
    del argv
    try:
        import torch  # noqa: F401
        use_torch = FLAGS.torch
    except ImportError:
        use_torch = False
    rows = []
    for layer in resnet18_convolutions(FLAGS.size):
        row = dict(layer)
        if FLAGS.ynnpack:
            row.update(measure_jax(layer, FLAGS.frames, FLAGS.repeats, "ynnpack"))
        row.update(measure_jax(layer, FLAGS.frames, FLAGS.repeats, "xla"))
        if use_torch:
            row.update(measure_torch(layer, FLAGS.frames, FLAGS.repeats))
            row.update(measure_torch(layer, FLAGS.frames, FLAGS.repeats, channels_last=True))
        rows.append(row)
    frameworks = (("jax_ynnpack",) if FLAGS.ynnpack else ()) + ("jax",) + (("torch", "torch_cl") if use_torch else ())
    columns = [f"{f}_{p}_ms" for f in frameworks for p in ("fwd", "dx", "dw")]
    print(f"| conv ({FLAGS.frames} frames at {FLAGS.size} px) | input | in->out | k/s | count | "
          + " | ".join(c[:-3].replace("_", " ") + " ms" for c in columns) + " |")
    print("|---" * (5 + len(columns)) + "|")
    for r in rows:
        print(f"| {r['name']} | {r['side']}x{r['side']} | {r['cin']}->{r['cout']} | {r['kernel']}/{r['stride']} "
              f"| {r['count']} | " + " | ".join(f"{r[c]:.0f}" for c in columns) + " |")
    totals = {c: sum(r[c] * r["count"] for r in rows) for c in columns}
    print("| network total (count x time; conv1's dX is never needed) | | | | | "
          + " | ".join(f"{totals[c] - (rows[0][c] if c.endswith('dx_ms') else 0):.0f}" for c in columns) + " |")
    if FLAGS.json:
        files.write_text(FLAGS.json, json.dumps({"frames": FLAGS.frames, "size": FLAGS.size,
                                                 "device": jax.devices()[0].device_kind, "rows": rows}, indent=1))


if __name__ == "__main__":
    define_flags()
    app.run(main)
