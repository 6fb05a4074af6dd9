"""Seconds per train step and per forward pass of the model, for several frame sizes.

    python -m benchmarks.step_time --sizes=64,80,112 --batch=8 --steps=16

Feeds random uint8 clips from memory (no TensorFlow), so it runs wherever JAX
does. Medians of `--repeats` timed calls after one warm-up call (which also
compiles; its time is reported as compile_s). Prints a table and, with
--json=PATH, writes the rows.
"""

from meint_jax.common import cli, files

cli.restart_on_tcmalloc(__name__)  # Before the heavy imports: the process is replaced.

import json
import time

import jax
from absl import app, flags

from benchmarks import model_steps
from benchmarks.timing import median_seconds

flags.DEFINE_list("sizes", ["64", "80", "112"], "Frame sizes (pixels, square).")
flags.DEFINE_integer("batch", 8, "Clips per batch.")
flags.DEFINE_integer("steps", 16, "Frames per clip (T).")
flags.DEFINE_integer("repeats", 3, "Timed calls per measurement.")
flags.DEFINE_enum("temporal", "bigru", ["bigru", "none"], "Temporal head.")
flags.DEFINE_enum("cpu_convolutions", "xla", ["xla", "ynnpack"], "On CPU, whose convolution kernels XLA uses.")
flags.DEFINE_string("json", None, "Also write the rows to this file.")
FLAGS = flags.FLAGS


def _first_call_and_median(fn, repeats):
    """(seconds of the first call, which compiles; median of `repeats` calls after it)."""
    start = time.perf_counter()
    jax.block_until_ready(fn())
    return time.perf_counter() - start, median_seconds(fn, 0, repeats, jax.block_until_ready)


def measure(size: int, batch: int, steps: int, temporal: str, repeats: int, cpu_convolutions: str = "xla") -> dict:
    built = model_steps.build((batch, steps, size), temporal=temporal, cpu_convolutions=cpu_convolutions)
    holder = {"state": built.state}     # as the training loop runs it: the state donated and replaced every step

    def train_once():
        holder["state"], metrics = built.train_step(holder["state"], built.batch)
        return metrics

    train_compile, train_s = _first_call_and_median(train_once, repeats)
    state = holder["state"]
    infer_compile, infer_s = _first_call_and_median(lambda: built.predict_step(state, built.frames), repeats)
    return {"size": size, "batch": batch, "steps": steps, "temporal": temporal,
            "device": jax.devices()[0].device_kind, "train_s_per_step": round(train_s, 3),
            "train_compile_s": round(train_compile, 1), "infer_s_per_step": round(infer_s, 3),
            "infer_compile_s": round(infer_compile, 1),
            "train_frames_per_s": round(batch * steps / train_s, 1),
            "infer_frames_per_s": round(batch * steps / infer_s, 1)}


def main(argv):
    del argv
    rows = [measure(int(s), FLAGS.batch, FLAGS.steps, FLAGS.temporal, FLAGS.repeats, FLAGS.cpu_convolutions)
            for s in FLAGS.sizes]
    print(f"{'size':>5} {'train s/step':>13} {'infer s/step':>13} {'train fr/s':>11} {'infer fr/s':>11}")
    for r in rows:
        print(f"{r['size']:>5} {r['train_s_per_step']:>13} {r['infer_s_per_step']:>13} "
              f"{r['train_frames_per_s']:>11} {r['infer_frames_per_s']:>11}")
    if FLAGS.json:
        files.write_text(FLAGS.json, json.dumps(rows, indent=2))


if __name__ == "__main__":
    app.run(main)
