"""Where a train step or forward pass spends its time, HLO operation by operation.

    python -m benchmarks.profile_step --shape=8x16x112 --step=train --top=25

Traces a few calls of the jit-compiled step with `jax.profiler`, reads the
trace (an XSpace protobuf, parsed with TensorFlow's copy of its schema) and
prints the milliseconds per call of each HLO operation that the runtime reports,
the largest first, grouped by kind (`transpose_copy_fusion.25` -> `transpose_copy_fusion`)
and one by one with its output shape. On CPU, times are summed over threads,
and operations that run asynchronously (XLA's own convolutions) report only
their dispatch. This is how session 4 found BatchNorm's reduce-window trees and
the max-pool's select-and-scatter expansion (benchmarks/README.md).
`--dump=DIR` also writes the optimised HLO there.
"""

from __future__ import annotations

from meint_jax.common import cli

cli.restart_on_tcmalloc(__name__)  # Before the heavy imports: the process is replaced.

import collections
import glob
import os
import re
import tempfile

import jax
from absl import app, flags

FLAGS = flags.FLAGS

_THUNK_THREADS = ("XLAEigen", "PjRtCpuClient", "Stream", "XLA Ops")


def define_flags():
    """Defined only when run as a script, so importing the module (tests) adds no absl flags."""
    flags.DEFINE_string("shape", "8x16x112", "Clips x frames x pixels.")
    flags.DEFINE_enum("step", "train", ["train", "predict"], "Which jit-compiled step to profile.")
    flags.DEFINE_enum("cpu_convolutions", "xla", ["xla", "ynnpack"], "On CPU, whose convolution kernels XLA uses.")
    flags.DEFINE_integer("calls", 2, "Traced calls (after two untraced ones).")
    flags.DEFINE_integer("top", 20, "Rows per table.")
    flags.DEFINE_string("dump", None, "Also write the optimised HLO text to this folder.")


def build_step(shape, step: str, cpu_convolutions: str):
    """(jitted step, its arguments) for random clips of `shape`, as training compiles it (not donating
    the state, which every traced call reuses)."""
    from benchmarks import model_steps

    built = model_steps.build(shape, cpu_convolutions=cpu_convolutions, donate=False)
    if step == "train":
        return built.train_step, (built.state, built.batch)
    return built.predict_step, (built.state, built.frames)


def operation_times(trace_dir: str, calls: int) -> collections.Counter:
    """Milliseconds per call of each HLO operation in the XSpace trace under `trace_dir`."""
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    paths = glob.glob(os.path.join(trace_dir, "**", "*.xplane.pb"), recursive=True)
    if not paths:
        raise FileNotFoundError(f"no *.xplane.pb under {trace_dir}: the profiler wrote no trace")
    space = xplane_pb2.XSpace()
    with open(paths[0], "rb") as f:
        space.ParseFromString(f.read())
    times = collections.Counter()
    for plane in space.planes:
        names = {key: meta.name for key, meta in plane.event_metadata.items()}
        for line in plane.lines:
            if not any(t in line.name for t in _THUNK_THREADS):
                continue
            for event in line.events:
                name = names.get(event.metadata_id, "")
                if name and not name.startswith(("ThunkExecutor", "SlinkyThreadPool")):
                    times[name] += event.duration_ps / 1e9 / calls
    return times


def by_kind(times: collections.Counter) -> collections.Counter:
    kinds = collections.Counter()
    for name, ms in times.items():
        kinds[re.sub(r"\.\d+$", "", name)] += ms
    return kinds


def output_shapes(hlo: str) -> dict[str, str]:
    """Operation name -> its output shape, from the optimised HLO text."""
    return dict(re.findall(r"^\s*(?:ROOT )?%?([\w.-]+) = (\S+?\[[^\]]*\]|\([^)]*\))", hlo, re.M))


def profile(shape, step: str, cpu_convolutions: str, calls: int, dump: str | None = None):
    fn, args = build_step(shape, step, cpu_convolutions)
    hlo = fn.lower(*args).compile().as_text()
    if dump:
        os.makedirs(dump, exist_ok=True)
        with open(os.path.join(dump, f"{step}_{'x'.join(map(str, shape))}.hlo.txt"), "w") as f:
            f.write(hlo)
    for _ in range(2):
        jax.block_until_ready(fn(*args))
    with tempfile.TemporaryDirectory() as trace_dir:
        with jax.profiler.trace(trace_dir):
            for _ in range(calls):
                jax.block_until_ready(fn(*args))
        times = operation_times(trace_dir, calls)
    return times, output_shapes(hlo)


def main(argv):
    del argv
    shape = tuple(int(n) for n in FLAGS.shape.lower().split("x"))
    times, shapes = profile(shape, FLAGS.step, FLAGS.cpu_convolutions, FLAGS.calls, FLAGS.dump)
    print(f"{FLAGS.step} step, {FLAGS.shape}, {jax.devices()[0].device_kind}: "
          f"{sum(times.values()):.0f} ms per call in the operations below (summed over threads)")
    print(f"\n{'ms/call':>9}  kind")
    for kind, ms in by_kind(times).most_common(FLAGS.top):
        print(f"{ms:9.1f}  {kind}")
    print(f"\n{'ms/call':>9}  {'operation':32s} output")
    for name, ms in times.most_common(FLAGS.top):
        print(f"{ms:9.1f}  {name:32s} {shapes.get(name, '')}")


if __name__ == "__main__":
    define_flags()
    app.run(main)
