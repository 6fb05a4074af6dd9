"""Spot micro- and macro-expressions in long recordings, from a trained spotting run.

    python -m meint_jax.spot --checkpoint=WORKDIR --input=PATH --output=DIR

PATH is a folder of frames, a video file, or `tfds:NAME/CONFIG[:SPLIT]` of a long-video dataset (e.g.
`tfds:synthetic_long/default`, whose videos carry their annotations; `:train[:2]` its first two videos);
writes NAME.csv, NAME.json and NAME.png (the timeline) per video. The Python API is `tasks.spotting.predictor.Spotter`.
Flow features are computed by --workers processes (default: one per core); each video's time per stage (decode,
face, flow, network, decoding, writing) is logged, and printed as a table with --profile.
"""

from meint_jax.common import cli

cli.restart_on_tcmalloc(__name__)  # Before the heavy imports: the process is replaced.

import contextlib
import os
import time

from absl import flags, logging
from tqdm import tqdm

from meint_jax.common import files, stages
from meint_jax.common.errors import PredictError
from meint_jax.inference import flow_stream, readers, video_file, writers

VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv")


def _tfds_videos(spec: str, data_dir: str | None):
    from meint_jax.data.long import pipeline as long_pipeline

    name, _, split = spec.partition(":")
    builder = readers.built_dataset(name, data_dir)
    if "flow" not in builder.info.features:
        raise PredictError(f"tfds:{name}: not a long-video dataset (no flow features)")
    videos = long_pipeline.load_videos(builder)
    # A long video is stored in chunks: the split selects whole videos (`train[:2]`: the first two built).
    parts = readers.split_ranges(name, split or "train", {"train": len(videos)})
    return [video for _, start, stop in parts for video in videos[start:stop]]


def run(checkpoint: str, input_path: str, output: str, *, step: int | None = None, face: str = "dlib",
        fps: float | None = None, batch_size: int = 16, data_dir: str | None = None,
        allow_truncated: bool = False, workers: int | None = None, profile: bool = False) -> list[dict]:
    """The command's work: every input video -> interval files in `output`; returns a summary per video (its
    "stages" and "cpu": wall and CPU seconds per stage)."""
    if fps is not None and not fps > 0:
        raise PredictError(f"--fps={fps}: use the recording's frame rate, a positive number")
    if batch_size < 1:
        raise PredictError(f"--batch_size={batch_size}: windows per forward pass, at least 1")
    if workers is not None and workers < 1:
        raise PredictError(f"--workers={workers}: processes computing the flow features, at least 1")
    output = files.writable_folder(output, "--output")
    kind, path = _input_kind(input_path)
    if kind != "tfds":
        name = os.path.basename(os.path.normpath(path)) if kind == "folder" else os.path.splitext(
            os.path.basename(path))[0]
        writers.claim(output, name, os.path.abspath(path))   # before the decoding, not after
    workers = flow_stream.default_workers() if workers is None else workers
    with flow_stream.worker_pool(workers) if kind != "tfds" else contextlib.nullcontext() as pool:
        begun = time.perf_counter() if kind == "video" else None
        # A worker counts the video's frames and finds its face while this process imports JAX and restores.
        opening = pool.submit(video_file.open_with_face, path, allow_truncated, face == "none") if (
            kind == "video") else None
        from meint_jax.tasks.spotting.predictor import Spotter  # here: a flow worker re-imports this module

        spotter = Spotter.from_run(checkpoint, step, batch_size=batch_size, workers=workers)
        spotter.compile_in_background()
        if kind == "tfds":
            sources = [lambda v=v: v for v in _tfds_videos(input_path[len("tfds:"):], data_dir)]
        elif kind == "folder":
            sources = [lambda bar, timer: spotter.features_of_folder(path, fps, face, bar, timer, pool)]
        else:
            sources = [lambda bar, timer: spotter.features_of_video(path, face, bar, allow_truncated, timer,
                                                                    opening, pool)]
        return _spot_all(spotter, sources, input_path, output, checkpoint, profile, begun)


def _input_kind(input_path: str) -> tuple[str, str | None]:
    """("tfds" | "folder" | "video", the path); a one-line error for anything else."""
    if input_path.startswith("tfds:"):
        return "tfds", None
    path = os.path.expanduser(input_path)
    if os.path.isdir(path):
        return "folder", path
    if not os.path.exists(path):
        raise PredictError(f"{path}: no such file or folder")
    if path.lower().endswith(VIDEO_EXTENSIONS):
        return "video", path
    readers.not_a_photo(path)
    raise PredictError(f"{path}: not a folder of frames, a video ({', '.join(VIDEO_EXTENSIONS)}) or tfds:NAME")


def _spot_all(spotter, sources, input_path: str, output: str, checkpoint: str, profile: bool,
              begun: float | None) -> list[dict]:
    """Each source's features -> scores, intervals and files; a summary per video. The first video's seconds
    count from `begun` where given (its first pass ran beside the restoring), else from its start."""
    settings = {"checkpoint": os.path.abspath(checkpoint), "window": spotter.spec.length,
                "frame_step": spotter.spec.frame_step,
                "decoders": {k: vars(d) for k, d in spotter.decoders.items()}}
    summaries = []
    for source in tqdm(sources, desc="videos", unit="video", disable=len(sources) < 2):
        start, timer = (begun if begun and not summaries else time.perf_counter()), stages.StageTimer()
        if input_path.startswith("tfds:"):
            stored = source()
        else:
            with tqdm(desc="flow features", unit="frame") as bar:
                stored = source(bar.update, timer)
        numbers, scores, intervals = spotter.spot(stored, timer)
        seconds = time.perf_counter() - start
        with timer.stage("writing"):
            written = writers.write_intervals(output, stored, numbers, scores, intervals, settings, spotter.classes)
        video = stored.video
        media = video.num_frames / video.fps if video.fps else None     # seconds of recording
        summaries.append({"name": video.video_id, "frames": video.num_frames, "intervals": len(intervals),
                          "seconds": seconds, "files": written, "stages": timer.seconds, "cpu": timer.cpu,
                          "wall": time.perf_counter() - start, "media": media})
        logging.info("%s: %d frames, %d intervals, %.1f frames/s -> %s; seconds per stage: %s", video.video_id,
                     video.num_frames, len(intervals), video.num_frames / seconds,
                     written[0].rsplit(".", 1)[0] + ".{csv,json,png}",
                     ", ".join(f"{k} {v:.2f}" for k, v in timer.seconds.items()))
    if not summaries:
        raise PredictError(f"{input_path}: no videos to spot")
    frames = sum(s["frames"] for s in summaries)
    seconds = sum(s["seconds"] for s in summaries)
    print(f"Spotted {len(summaries)} video(s), {frames} frames at {frames / seconds:.1f} frames/s "
          f"(first call includes compilation); outputs in {os.path.abspath(output)}")
    if profile:
        print(stages.table(summaries))
    return summaries


FLAGS = flags.FLAGS


def define_flags():
    cli.define_input_flags(
        checkpoint_help="Workdir of a finished spotting run (its checkpoints/ and metrics.json).",
        face_help="Crop the face with dlib (one box per video, from 7 frames), or use frames that are already "
                  "face crops (landmarks still found by dlib).",
        fps_help="Frame rate of a folder of frames (videos carry theirs): gives the seconds.", batch_size=16)
    flags.DEFINE_integer("workers", None, "Processes computing the flow features (default: one per core).")
    flags.DEFINE_bool("profile", False, "Print each video's seconds per stage (decode, face, flow, network, "
                      "decoding, writing) as a table.")
    flags.adopt_module_key_flags(cli)   # --help lists the shared flags too


def main(argv):
    del argv
    run(FLAGS.checkpoint, FLAGS.input, FLAGS.output, step=FLAGS.step, face=FLAGS.face, fps=FLAGS.fps,
        batch_size=FLAGS.batch_size, data_dir=FLAGS.data_dir, allow_truncated=FLAGS.allow_truncated,
        workers=FLAGS.workers, profile=FLAGS.profile)


if __name__ == "__main__":
    define_flags()
    cli.run(main, "meint_jax.spot")
