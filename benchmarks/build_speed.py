"""Long-video build throughput, plain and on Beam, and what a CAS(ME)^3 part A build and LOSO run would take.

    python -m benchmarks.build_speed                      # everything below (12 min on a busy 2-core VM)
    python -m benchmarks.build_speed --parts=train_step   # the per-fold figure alone (e.g. on a GPU host)

Parts (`--parts`, comma-separated):
- `build`: `synthetic_long` videos (--videos of --seconds at 112 px, the default config's size) built twice,
  the plain build (its worker pool) and on Beam's local engine (`FnApiRunner`, what the DirectRunner runs
  batch pipelines on) with --beam_workers processes; reported as video-minutes built per minute of wall time
  (Beam's start-up included: it is paid once a build).
- `analysis`: the real-dataset path at CAS(ME)^3 part A's size: --analysis_frames JPEG frames of
  --width x --height with a --face px rendered face, read by `FolderSource` and analysed as the `features`
  config does (dlib on 7 frames, decode, crop, 224-px Farneback flow), in this process (one core): the face
  search per video and the seconds per frame.
- `train_step`: `configs/spotting/casme3.py`'s model, window (50) and batch (256) on random flow features:
  seconds per train step (compilation excluded, median of --steps), times the config's steps per fold. On a
  CPU whose memory cannot hold the step at that batch (XLA's count, from compiling it), timed at
  --small_batch and scaled by the windows.
Then estimates: a part A `features` build (CASME3_VIDEOS videos, CASME3_FRAMES frames) and its 100-fold LOSO
run, on 2 cores, on 16 cores, and on a GPU (the GPU's step time: run `--parts=train_step` there).
Writes JSON to --out (default benchmarks/results/<backend>_build_speed.json).
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
import time

import numpy as np
from absl import app, flags

_PARTS = flags.DEFINE_list("parts", ["build", "analysis", "train_step"], "Which measurements to run.")
_VIDEOS = flags.DEFINE_integer("videos", 4, "Synthetic videos per build.")
_SECONDS = flags.DEFINE_float("seconds", 15.0, "Length of each synthetic video, at 30 fps.")
_BEAM_WORKERS = flags.DEFINE_integer("beam_workers", 2, "DirectRunner worker processes.")
_WIDTH = flags.DEFINE_integer("width", 1280, "Recorded frame width (CAS(ME)^3 part A: 1280x720).")
_HEIGHT = flags.DEFINE_integer("height", 720, "Recorded frame height.")
_FACE = flags.DEFINE_integer("face", 320, "Side of the face in the recorded frame, px.")
_ANALYSIS_FRAMES = flags.DEFINE_integer("analysis_frames", 120, "Frames of the generated recording analysed.")
_STEPS = flags.DEFINE_integer("steps", 3, "Train steps timed (after one that compiles).")
_SMALL_BATCH = flags.DEFINE_integer("small_batch", 16, "Batch timed where the config's does not fit in memory.")
_GPU_STEP_S = flags.DEFINE_float("gpu_step_s", None, "A GPU's seconds per train step (from --parts=train_step "
                                 "there), for the GPU row of the LOSO estimate.")
_OUT = flags.DEFINE_string("out", None, "Where to write the JSON figures.")

# CAS(ME)^3 part A as published: 100 subjects x 13 videos; its frame count is not given for part A alone:
# 8.0 M frames in all, less part B (1,508 videos, over 4.0 M) and part C (31 x 8 min at 30 fps, 0.45 M), about
# 3.5 M, i.e. about 2,700 frames (90 s) a video. Frame rate 30 fps (meint_jax/data/long/annotations.py).
CASME3_SUBJECTS = 100
CASME3_VIDEOS = 1300
CASME3_FRAMES = 3_500_000
CASME3_FPS = 30.0
MACHINES = {"2 cores": 2, "16 cores": 16}
PLAIN_WORKER_CAP = 8              # clip_builder.worker_count: a plain build uses at most 8 worker processes


def _build(data_dir: str, beam_workers: int | None) -> dict:
    """One synthetic_long build (plain, or on Beam with `beam_workers` processes): video-minutes per minute."""
    import tensorflow_datasets as tfds

    from data_builders.synthetic_long import synthetic_long_dataset_builder as synthetic_long

    generator = dataclasses.replace(synthetic_long.DEFAULT, num_subjects=_VIDEOS.value, videos_per_subject=1,
                                    min_seconds=_SECONDS.value, max_seconds=_SECONDS.value)
    config = synthetic_long.SyntheticLongConfig(name="bench", generator=generator, frame_size=generator.frame_size,
                                                flow_size=generator.frame_size, description="benchmark")
    download = {}
    if beam_workers:
        import apache_beam as beam
        from apache_beam.runners.portability import fn_api_runner

        options = beam.options.pipeline_options.PipelineOptions([], direct_num_workers=beam_workers,
                                                                direct_running_mode="multi_processing")
        download = dict(beam_runner=fn_api_runner.FnApiRunner(), beam_options=options)
    builder = synthetic_long.Builder(config=config, data_dir=data_dir)
    start = time.perf_counter()
    builder.download_and_prepare(download_config=tfds.download.DownloadConfig(**download))
    seconds = time.perf_counter() - start
    with open(os.path.join(builder.data_dir, "build_summary.json")) as f:
        frames = json.load(f)["frames"]
    video_minutes = frames / generator.fps / 60
    return {"frames": frames, "video_minutes": round(video_minutes, 2), "wall_seconds": round(seconds, 1),
            "video_minutes_per_minute": round(video_minutes / (seconds / 60), 3)}


def build_throughput() -> dict:
    with tempfile.TemporaryDirectory() as folder:
        return {"plain": _build(os.path.join(folder, "plain"), None),
                f"beam_direct_{_BEAM_WORKERS.value}_workers": _build(os.path.join(folder, "beam"),
                                                                      _BEAM_WORKERS.value)}


def analysis_cost() -> dict:
    """Seconds of the face search and of each frame, one process, on a recording of part A's size."""
    from data_builders import long_video_builder
    from meint_jax.data.long import sources as long_sources
    from meint_jax.data.long import videos as long_videos
    from meint_jax.testing import long_fixtures

    frames = _ANALYSIS_FRAMES.value
    pixels = long_fixtures.face_frames(7, frames, canvas=(_HEIGHT.value, _WIDTH.value), face=_FACE.value)
    cfg = long_video_builder.LongVideoConfig(name="features")      # the `features` config's sizes
    with tempfile.TemporaryDirectory() as folder:
        names = [f"{n}.jpg" for n in range(frames)]
        long_fixtures.write_frames(folder, names, pixels)
        video = long_videos.LongVideo(video_id="bench/a", subject="bench", frame_numbers=np.arange(frames),
                                      fps=CASME3_FPS, frame_paths=tuple(os.path.join(folder, n) for n in names))
        source = long_sources.FolderSource(video)
        source.face(cfg.flow_size, cfg.face_tries)          # loads dlib's models: once a worker, not timed
        start = time.perf_counter()
        source.face(cfg.flow_size, cfg.face_tries)
        face_seconds = time.perf_counter() - start
        start = time.perf_counter()
        long_sources.analyse(source, cfg.flow_size, cfg.face_tries, cfg.anchor_every)
        total = time.perf_counter() - start
    per_frame = (total - face_seconds) / frames
    return {"resolution": f"{_WIDTH.value}x{_HEIGHT.value}", "face_px": _FACE.value, "frames": frames,
            "face_search_seconds": round(face_seconds, 2), "seconds_per_frame": round(per_frame, 4),
            "frames_per_second_one_core": round(1 / per_frame, 1)}


def _available_bytes() -> int:
    with open("/proc/meminfo") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith("MemAvailable:"))


def train_step_cost() -> dict:
    """Seconds per train step of the CAS(ME)^3 config's model on its window and batch (random features). Where
    the step at that batch needs more memory than the machine has (XLA's own count, from compiling it), it is
    timed at --small_batch and scaled to the config's batch by the windows (a step's cost is linear in them)."""
    import jax
    import jax.numpy as jnp

    from benchmarks import timing
    from configs.spotting import casme3
    from meint_jax import tasks
    from meint_jax.training import state as training_steps

    config = casme3.get_config()
    config.data.emotion_classes = ("negative", "positive", "surprise")     # recorded at training start
    config.model.emotion_outputs = len(config.data.emotion_classes) + 1
    config.loss.emotion_weights = (1.0,) * config.model.emotion_outputs
    batch, window = config.train.batch_size, config.data.window
    model, tx = tasks.create_model(config), training_steps.create_optimizer(config.train)
    state = training_steps.init_state(model, tx, (1, window, 36), seed=0, dtype=jnp.float32)
    train_step, _ = tasks.jit_steps(model, tx, config, donate=False)

    def data(size: int) -> dict:
        rng = np.random.default_rng(0)
        return {"inputs": rng.normal(size=(size, window, 36)).astype(np.float32),
                "targets": (rng.uniform(size=(size, window, 2)) < 0.1).astype(np.float32),
                "mask": np.ones((size, window), np.float32),
                "emotions": rng.integers(0, config.model.emotion_outputs, (size, window)).astype(np.int32)}

    memory = train_step.lower(state, jax.tree.map(lambda a: jax.ShapeDtypeStruct(a.shape, a.dtype), data(batch))
                              ).compile().memory_analysis()
    needed = getattr(memory, "temp_size_in_bytes", 0) + getattr(memory, "argument_size_in_bytes", 0)
    fits = jax.default_backend() != "cpu" or needed < 0.8 * _available_bytes()
    timed = batch if fits else _SMALL_BATCH.value
    windows = data(timed)
    start = time.perf_counter()
    jax.block_until_ready(train_step(state, windows))
    first = time.perf_counter() - start
    seconds = timing.median_seconds(lambda: train_step(state, windows), warmup=0, repeats=_STEPS.value,
                                    sync=jax.block_until_ready)
    per_step = seconds * batch / timed
    return {"backend": jax.default_backend(), "device": str(jax.devices()[0]), "batch": batch, "window": window,
            "step_memory_gb_at_batch": round(needed / 2**30, 1), "timed_batch": timed,
            "first_step_seconds": round(first, 1), "seconds_per_timed_step": round(seconds, 3),
            "seconds_per_step": round(per_step, 3), "scaled_from_timed_batch": timed != batch,
            "steps_per_fold": config.train.num_steps, "fold_train_seconds": round(per_step * config.train.num_steps)}


def _hours(seconds: float) -> float:
    return round(seconds / 3600, 1)


def estimates(figures: dict) -> dict:
    """Part A's `features` build and 100-fold LOSO training, from the measured costs, scaling with cores."""
    out = {}
    analysis, step = figures.get("analysis"), figures.get("train_step")
    if analysis:
        cpu_seconds = CASME3_VIDEOS * analysis["face_search_seconds"] + CASME3_FRAMES * analysis["seconds_per_frame"]
        out["build_cpu_hours"] = _hours(cpu_seconds)
        for name, cores in MACHINES.items():
            out[f"build_hours_plain_{name}"] = _hours(cpu_seconds / min(cores, PLAIN_WORKER_CAP))
            out[f"build_hours_beam_{name}"] = _hours(cpu_seconds / cores)
        out["build_note"] = ("the flow is OpenCV on the CPU: a GPU host builds at its cores' rate; "
                             "ideal scaling over worker processes assumed")
    if step:
        folds = CASME3_SUBJECTS
        out["loso_folds"] = folds
        if step["backend"] == "cpu":
            # XLA:CPU uses every core for one step: time scales with cores, at best.
            measured_cores = os.cpu_count() or 1
            for name, cores in MACHINES.items():
                fold = step["fold_train_seconds"] * measured_cores / cores
                out[f"loso_train_hours_{name}"] = _hours(fold * folds)
        gpu = step["seconds_per_step"] if step["backend"] == "gpu" else _GPU_STEP_S.value
        out["loso_train_hours_gpu"] = _hours(gpu * step["steps_per_fold"] * folds) if gpu else None
    return out


def main(argv):
    del argv
    import jax

    from meint_jax.common import files

    value = lambda flag: ",".join(flag.value) if isinstance(flag.value, list) else flag.value
    figures = {"command": "python -m benchmarks.build_speed " + " ".join(
        f"--{f.name}={value(f)}" for f in (_PARTS, _VIDEOS, _SECONDS, _BEAM_WORKERS, _WIDTH, _HEIGHT, _FACE,
                                           _ANALYSIS_FRAMES, _STEPS, _SMALL_BATCH)),
               "cpu_count": os.cpu_count(), "load_average_at_start": os.getloadavg()}
    parts = {"build": build_throughput, "analysis": analysis_cost, "train_step": train_step_cost}
    out = _OUT.value or os.path.join(os.path.dirname(__file__), "results", f"{jax.default_backend()}_build_speed.json")
    for name in _PARTS.value:
        if name not in parts:
            raise app.UsageError(f"--parts: {name!r} is not one of {sorted(parts)}")
        start = time.perf_counter()
        figures[name] = parts[name]()
        figures[name]["measured_in_seconds"] = round(time.perf_counter() - start, 1)
        print(name, json.dumps(figures[name]), flush=True)
        figures["estimates"] = estimates(figures)
        files.write_text(out, json.dumps(figures, indent=2))     # after each part: a later one may fail
    print("estimates", json.dumps(figures["estimates"], indent=1))
    print("wrote", out)


if __name__ == "__main__":
    app.run(main)
