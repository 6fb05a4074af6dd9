"""Frames per second of `IntensityEstimator` on a long recording, with and without shared frames.

    python -m benchmarks.predict_speed --frames=600 --size=112 --window=16 --frame_step=1

inference/windows.py covers a long input with windows that overlap by half. With
`frame_input="frames"` it runs each frame through the encoder once and hands the
windows their features (`shared`); the alternative runs every window through the
whole model (`per window`), so most frames twice. Random uint8 frames already at
the model's size, a randomly initialised model (ResNet18 + BiGRU(256)), float32;
the two ways are timed in turn, medians of --repeats calls after a warm-up call.
"""

from __future__ import annotations

from meint_jax.common import cli, files

cli.restart_on_tcmalloc(__name__)  # Before the heavy imports: the process is replaced.

import json

import jax
import numpy as np
from absl import app, flags

from benchmarks.timing import alternating_medians
from configs.intensity import base as default_config
from meint_jax import tasks
from meint_jax.inference import windows
from meint_jax.tasks.intensity import predictor as estimator_lib
from meint_jax.training import state as training_steps

FLAGS = flags.FLAGS


def define_flags():
    """Defined only when run as a script, so importing the module (tests) adds no absl flags."""
    flags.DEFINE_integer("frames", 600, "Frames in the recording.")
    flags.DEFINE_integer("size", 112, "Frame side in pixels (the model's input size).")
    flags.DEFINE_integer("window", 16, "Positions per window (the model's T).")
    flags.DEFINE_integer("frame_step", 1, "Frames between a window's positions.")
    flags.DEFINE_integer("batch_size", 8, "Windows per forward pass.")
    flags.DEFINE_integer("repeats", 3, "Timed calls of each way.")
    flags.DEFINE_string("json", None, "Also write the results here.")


def estimator(size: int, window: int, frame_step: int, batch_size: int) -> estimator_lib.IntensityEstimator:
    """An estimator around a randomly initialised frames-input model, as a checkpoint would give."""
    config = default_config.get_config()
    config.model.frame_input = "frames"
    config.data.update(num_steps=window, image_size=size)
    model = tasks.create_model(config)
    tx = training_steps.create_optimizer(config.train)
    state = training_steps.init_state(model, tx, (1, window, size, size, 3), seed=0)
    variables = {"params": state.params, "batch_stats": state.batch_stats}
    return estimator_lib.IntensityEstimator(variables, config.to_dict(), frame_step=frame_step, batch_size=batch_size)


def measure(frames: int, size: int, window: int, frame_step: int, batch_size: int, repeats: int) -> dict:
    shared = estimator(size, window, frame_step, batch_size)
    per_window = estimator(size, window, frame_step, batch_size)
    per_window.shares_frames = False
    clip = np.random.default_rng(0).integers(0, 256, (frames, size, size, 3), dtype=np.uint8)
    positions = windows.window_positions(frames, window, frame_step)
    calls = {name: (lambda e=e: e.predict_positions(clip, positions), lambda out: out)
             for name, e in (("shared", shared), ("per window", per_window))}
    seconds = alternating_medians(calls, warmup=1, repeats=repeats)
    return {"frames": frames, "size": size, "window": window, "frame_step": frame_step, "windows": len(positions),
            "frames_seen": int(positions.size), "distinct_frames": int(len(np.unique(positions))),
            **{f"{name} s": s for name, s in seconds.items()},
            **{f"{name} frames/s": frames / s for name, s in seconds.items()},
            "speed-up": seconds["per window"] / seconds["shared"], "backend": jax.default_backend()}


def main(argv):
    del argv
    result = measure(FLAGS.frames, FLAGS.size, FLAGS.window, FLAGS.frame_step, FLAGS.batch_size, FLAGS.repeats)
    print(json.dumps(result, indent=1))
    if FLAGS.json:
        files.write_text(FLAGS.json, json.dumps(result, indent=2))


if __name__ == "__main__":
    define_flags()
    app.run(main)
