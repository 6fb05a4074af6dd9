"""Spotting speed: paper 002's network over a whole video, and a long recording spotted end to end.

    python -m benchmarks.spotting_speed --minutes=5 --checkpoint=/tmp/meint-spot
    python -m benchmarks.spotting_speed --minutes=5 --model_only        # e.g. on a GPU host: no dlib, no data

1. `model_frames_per_second`: paper 002's flow stem + slow-fast network at its own size (8.36 M parameters,
   randomly initialised, float32) over the flow features of a --minutes long 30 fps video, windows of 50
   frames half overlapping (each frame scored twice), batches of --batch windows; compilation excluded,
   median of 3 passes.
2. With --checkpoint (a finished spotting run): a recording of --minutes at 30 fps is written as 640x480
   JPEG frames (a rendered face, its 10 s repeated), then `meint_jax.spot` runs on it as a user would:
   dlib on 7 frames, every frame decoded, cropped and resized, Farneback flow, the run's model, decoding.
   Reported: `end_to_end_seconds` (writing the frames is not timed). The face + flow features alone run
   at the build's speed (benchmarks/README.md, long_videos.py).
Writes JSON to --out (default benchmarks/results/<backend>_spotting_speed.json).
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
import time

import jax
import jax.numpy as jnp
import numpy as np
from absl import app, flags

from meint_jax import tasks
from meint_jax.common import files

_MINUTES = flags.DEFINE_float("minutes", 5.0, "Length of the recording, at 30 fps.")
_BATCH = flags.DEFINE_integer("batch", 64, "Windows per forward pass of the model.")
_CHECKPOINT = flags.DEFINE_string("checkpoint", None, "A finished spotting run, for the end-to-end figure.")
_MODEL_ONLY = flags.DEFINE_bool("model_only", False, "Only the model's throughput.")
_OUT = flags.DEFINE_string("out", None, "Where to write the JSON figures.")


def model_throughput(frames: int, batch: int) -> dict:
    from configs.spotting import base as spotting
    from meint_jax.data.long import pipeline as long_pipeline

    config = spotting.get_config()
    model = tasks.create_model(config)
    variables = model.init(jax.random.PRNGKey(0), jnp.zeros((1, 50, 36)))
    forward = jax.jit(lambda x: jax.nn.sigmoid(model.apply(variables, x, train=False)[0]))
    spec = long_pipeline.LongWindowSpec(length=50)
    starts = long_pipeline.tile_starts(frames, spec, 25)
    flow = np.random.default_rng(0).normal(size=(frames, 36)).astype(np.float32)
    windows = np.stack([flow[s:s + 50] - flow[s] for s in starts])
    padded = np.concatenate([windows, np.repeat(windows[-1:], (-len(windows)) % batch, axis=0)])
    jax.block_until_ready(forward(padded[:batch]))            # compile
    times = []
    for _ in range(3):
        start = time.perf_counter()
        for k in range(0, len(padded), batch):
            out = forward(padded[k:k + batch])
        jax.block_until_ready(out)
        times.append(time.perf_counter() - start)
    seconds = statistics.median(times)
    return {"model_parameters": int(sum(np.prod(p.shape) for p in jax.tree.leaves(variables["params"]))),
            "model_windows": len(windows), "model_seconds": round(seconds, 3),
            "model_frames_per_second": round(frames / seconds, 1)}


def end_to_end(frames: int, checkpoint: str) -> dict:
    from meint_jax import spot
    from meint_jax.data.long import synthetic as synthetic_long
    from meint_jax.testing import long_fixtures

    folder = tempfile.mkdtemp()
    cfg = synthetic_long.LongGeneratorConfig(frame_size=200, min_seconds=10, max_seconds=10, seed=1)
    face = synthetic_long.script(cfg, 0, 0).render(0, 300)
    canvas = np.full((480, 640, 3), 90, np.uint8)
    names = [f"img{n:05d}.jpg" for n in range(frames)]
    for n, name in enumerate(names):
        canvas[120:320, 220:420] = face[n % len(face)]
        long_fixtures.write_frames(folder, [name], canvas[None])
    start = time.perf_counter()
    summary = spot.run(checkpoint, folder, os.path.join(folder, "out"), fps=30.0)
    seconds = time.perf_counter() - start
    return {"end_to_end_frames": frames, "end_to_end_seconds": round(seconds, 1),
            "end_to_end_frames_per_second": round(frames / seconds, 1), "intervals": summary[0]["intervals"]}


def main(argv):
    del argv
    frames = int(round(_MINUTES.value * 60 * 30))
    figures = {"backend": jax.default_backend(), "devices": jax.device_count(), "cpus": os.cpu_count(),
               "frames": frames, **model_throughput(frames, _BATCH.value)}
    if _CHECKPOINT.value and not _MODEL_ONLY.value:
        figures.update(end_to_end(frames, _CHECKPOINT.value))
    print(json.dumps(figures, indent=2))
    out = _OUT.value or os.path.join(os.path.dirname(__file__), "results",
                                     f"{jax.default_backend()}_spotting_speed.json")
    files.write_text(out, json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    app.run(main)
