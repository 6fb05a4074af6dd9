"""Long-video storage: build speed, bytes per frame, random window reads per second, peak memory of a build.

    python -m benchmarks.long_videos --dataset=synthetic_long/default --data_dir=/tmp/tfds
    python -m benchmarks.long_videos --dataset=casme3/frames_224 --manual_dir=/data/CASME3 --data_dir=/tmp/tfds
    python -m benchmarks.long_videos --dataset=casme_sq/features --fixture_frames=300 --data_dir=/tmp/tfds

`--fixture_frames=N` builds from a generated copy of CAS(ME)^2's layout at its resolution (640x480, a
200-px face), three videos of N frames (the tests' fixture, larger), written to a temporary folder.

Builds the dataset (unless it is built: then its recorded build time is reported, and no peak memory), then:
- `build_frames_per_second`: frames analysed (face, flow) and stored, per second of the build;
- `bytes_per_frame`: the ArrayRecord files' size over the frames they hold;
- `feature_windows_per_second`: random windows of --window frames cut from the in-memory flow features
  (what spotting trains on), with their targets;
- `frame_windows_per_second` (frames_* configs): random windows of face frames read from disk and decoded
  (the reader keeps the last two chunks: what one window spans at most);
- `peak_rss_mb`: the largest resident memory of the build's processes together (main and workers, sampled
  every 0.2 s from /proc), and `largest_video_frames`: the longest video's frame count, to read it against.
Writes the figures as JSON to --out (default benchmarks/results/cpu_long_videos_<name>.json).
"""

from __future__ import annotations

import glob
import json
import os
import threading
import time

import numpy as np
import tensorflow_datasets as tfds
from absl import app, flags

import data_builders  # noqa: F401  Registers the builders.
from meint_jax.common import files
from meint_jax.data.long import pipeline as long_pipeline

_DATASET = flags.DEFINE_string("dataset", "synthetic_long/tiny", "TFDS name/config of a long-video dataset.")
_DATA_DIR = flags.DEFINE_string("data_dir", None, "TFDS data_dir (built there if not yet).")
_MANUAL_DIR = flags.DEFINE_string("manual_dir", None, "The dataset's manual_dir (real datasets).")
_WINDOW = flags.DEFINE_integer("window", 50, "Frames per window.")
_READS = flags.DEFINE_integer("reads", 200, "Random windows read per measurement.")
_OUT = flags.DEFINE_string("out", None, "Where to write the JSON figures.")
_FIXTURE_FRAMES = flags.DEFINE_integer("fixture_frames", 0, "Build casme_sq from a generated copy with videos of "
                                       "this many frames (0: use --manual_dir).")


def _tree_rss_kb(pid: int) -> int:
    """Resident memory of a process and all its descendants, from /proc."""
    children = {}
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{entry}/stat") as f:
                parent = int(f.read().rsplit(")", 1)[1].split()[1])
            children.setdefault(parent, []).append(int(entry))
        except (OSError, ValueError, IndexError):
            continue
    total, queue = 0, [pid]
    while queue:
        current = queue.pop()
        queue.extend(children.get(current, []))
        try:
            with open(f"/proc/{current}/status") as f:
                total += next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
        except (OSError, StopIteration):
            continue
    return total


class PeakMemory:
    """Samples the resident memory of this process tree until stopped; `peak_mb` is the largest sum."""

    def __init__(self, every_s: float = 0.2):
        self.peak_kb, self.every_s, self._stop = 0, every_s, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            self.peak_kb = max(self.peak_kb, _tree_rss_kb(os.getpid()))
            self._stop.wait(self.every_s)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    @property
    def peak_mb(self) -> float:
        return self.peak_kb / 1024


def measure(name: str, data_dir: str | None, manual_dir: str | None, window: int, reads: int) -> dict:
    builder = tfds.builder(name, data_dir=data_dir)
    figures = {"dataset": name, "window": window, "cpus": os.cpu_count()}
    if not builder.is_prepared():
        with PeakMemory() as peak:
            started = time.time()
            builder.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=manual_dir))
            figures["build_seconds"] = round(time.time() - started, 1)
        figures["peak_rss_mb"] = round(peak.peak_mb, 1)
    else:
        with open(os.path.join(builder.data_dir, "build_summary.json")) as f:
            figures["build_seconds"] = json.load(f)["build_seconds"]
    videos = long_pipeline.load_videos(builder)
    frames = sum(v.video.num_frames for v in videos)
    stored = sum(os.path.getsize(p) for p in glob.glob(os.path.join(builder.data_dir, "*.array_record*")))
    figures.update(videos=len(videos), frames=frames, largest_video_frames=max(v.video.num_frames for v in videos),
                   build_frames_per_second=round(frames / figures["build_seconds"], 1),
                   bytes_per_frame=round(stored / frames, 1), stored_mb=round(stored / 2 ** 20, 2))

    spec = long_pipeline.LongWindowSpec(length=window)
    sampler = long_pipeline.WindowSampler(videos, spec)
    rng = np.random.default_rng(0)
    draws = [sampler.draw(rng) for _ in range(reads)]
    started = time.perf_counter()
    for number, start in draws:
        long_pipeline.make_window(videos[number], start, spec)
    figures["feature_windows_per_second"] = round(reads / (time.perf_counter() - started), 1)
    if videos[0].records:
        reader = long_pipeline.FrameReader(builder, cache_chunks=2)   # a window spans at most two chunks
        started = time.perf_counter()
        for number, start in draws:
            reader.read(videos[number], long_pipeline.window_indices(videos[number].video.num_frames, start, spec)[0])
        figures["frame_windows_per_second"] = round(reads / (time.perf_counter() - started), 1)
    return figures


def main(argv):
    del argv
    manual_dir = _MANUAL_DIR.value
    if _FIXTURE_FRAMES.value:
        import tempfile

        from meint_jax.testing import long_fixtures

        manual_dir = long_fixtures.casme_sq(tempfile.mkdtemp(), _FIXTURE_FRAMES.value, (480, 640), 200)
        long_fixtures.face_frames.cache_clear()    # the rendered frames must not count in the build's memory
    figures = measure(_DATASET.value, _DATA_DIR.value, manual_dir, _WINDOW.value, _READS.value)
    if _FIXTURE_FRAMES.value:
        figures["fixture"] = f"casme_sq layout, 640x480, 3 videos of {_FIXTURE_FRAMES.value} frames"
    print(json.dumps(figures, indent=2))
    out = _OUT.value or os.path.join(os.path.dirname(__file__), "results",
                                     f"cpu_long_videos_{_DATASET.value.replace('/', '_')}.json")
    files.write_text(out, json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    app.run(main)
