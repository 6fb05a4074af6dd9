"""What the CASME II and SAMM builders share: manual files -> validated clips -> tfrecord.

Frames are decoded, cropped and resized in worker processes (a bounded number
of clips in flight, so memory stays flat), written JPEG-encoded in the clip
schema. Rows and clips that cannot be used are skipped with their reason; the
build ends with a summary that is logged and saved as `build_summary.json`
beside the dataset's files (written inside TFDS's temporary build directory,
so it appears only with a completed build).
"""

from __future__ import annotations

import collections
import concurrent.futures
import dataclasses
import glob
import hashlib
import json
import multiprocessing
import os

import numpy as np
import tensorflow_datasets as tfds
from absl import logging

from data_builders import schema
from meint_jax.common import files, processes
from meint_jax.data import faces, frames
from meint_jax.data.clips import annotations
from meint_jax.data.clips.clip import Clip

CROPS = ("none", "dlib")


def source_fingerprint(manual_dir: str, sheets, frames_root: str) -> str:
    """A hash of what a build reads: the coding sheets' bytes (one path or several), and every file under the
    frames folder by path (relative to `manual_dir`, so a moved copy matches) and size. Hidden files and
    Excel's `~$` lock files do not count. `OSError` for a file that cannot be examined (a dangling link)."""
    digest = hashlib.sha256()
    for sheet in [sheets] if isinstance(sheets, str) else sheets:
        with open(sheet, "rb") as f:
            digest.update(hashlib.sha256(f.read()).digest())
    for folder, subfolders, names in os.walk(frames_root, followlinks=True):
        subfolders.sort()
        for name in sorted(names):
            if not name.startswith((".", "~$")):
                path = os.path.join(folder, name)
                digest.update(f"{os.path.relpath(path, manual_dir)}\0{os.path.getsize(path)}\n".encode())
    return digest.hexdigest()


def sources_of(manual_dir: str, sheets: list[str], frames_root: str) -> dict:
    """What a build read, for `build_summary.json` (and `lookup`'s check that a built copy is still current)."""
    return {"manual_dir": os.path.abspath(manual_dir), "sheets": [os.path.abspath(s) for s in sheets],
            "frames_root": os.path.abspath(frames_root),
            "source_fingerprint": source_fingerprint(manual_dir, sheets, frames_root)}


def manual_file(manual_dir, patterns, kind: str, instructions: str = "", required: bool = True) -> str | None:
    """The one file or folder of `kind` that the first matching glob pattern finds under `manual_dir`.

    Two candidates are refused (which one was meant is a guess); none is an error with the dataset's
    instructions, or None when the file is optional.
    """
    for pattern in patterns:
        found = sorted(p for p in glob.glob(os.path.join(str(manual_dir), pattern))
                       if not os.path.basename(p).startswith("~$"))
        if len(found) > 1:
            raise annotations.AnnotationError(
                f"{manual_dir}: {len(found)} candidates for the {kind} "
                f"({', '.join(map(os.path.basename, found))}): keep the one to build from and move the others out")
        if found:
            return found[0]
    if not required:
        return None
    raise FileNotFoundError(f"{manual_dir}: no {kind} ({' or '.join(patterns)}).\n{instructions}")


def unnested(folder: str) -> str:
    """`X/X/...` (an archive unpacked into a folder of its own name) -> the inner `X`, where the outer holds
    nothing else: otherwise every clip folder would be looked for one level too high."""
    while True:
        inner = os.path.join(folder, os.path.basename(os.path.normpath(folder)))
        if not os.path.isdir(inner) or any(n != os.path.basename(inner) and not n.startswith(".")
                                           for n in os.listdir(folder)):
            return folder
        folder = inner


def worker_count() -> int:
    return max(1, min(os.cpu_count() or 1, 8))


def worker_pool(workers: int) -> concurrent.futures.ProcessPoolExecutor:
    """Processes that read and decode frames for a build, and exit with the command that started them."""
    # forkserver: workers start clean instead of forking a process that runs TensorFlow threads.
    return concurrent.futures.ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("forkserver"),
                                                  initializer=processes.start_worker, initargs=(os.getpid(),))


def result_or_skip(future: concurrent.futures.Future, subject: str, name: str, skipped: list):
    """A worker's result, or None after recording why the clip or video `name` is skipped (no face, bad frame)."""
    try:
        return future.result()
    except (frames.FrameError, faces.FaceNotFoundError) as e:
        kind = "no face found" if isinstance(e, faces.FaceNotFoundError) else "unreadable frame"
        logging.warning("%s skipped: %s", name, e)
        skipped.append({"row": None, "subject": subject, "clip": name, "reason": f"{kind}: {e}"})
        return None


@dataclasses.dataclass
class ClipBuilderConfig(tfds.core.BuilderConfig):
    frame_size: int = 224
    crop: str = "none"        # none: frames used whole (already face-cropped); dlib: one box per clip
    frame_roots: tuple[str, ...] = ()   # frame folders under manual_dir, in order of preference


def _submit(pool, clip: Clip, size: int, crop: str) -> concurrent.futures.Future:
    """Reads a clip's frames in a worker. The functions sent live in light modules
    (PIL, numpy, dlib), so workers never import TensorFlow."""
    if crop == "dlib":
        onset_path = clip.frame_paths[int(np.flatnonzero(clip.frame_numbers == clip.onset)[0])]
        return pool.submit(faces.read_cropped_clip, clip.frame_paths, onset_path, size)
    return pool.submit(frames.read_clip, clip.frame_paths, size)


class ClipDatasetBuilder(tfds.core.GeneratorBasedBuilder, skip_registration=True):
    """Base of the real-dataset builders; subclasses set the class attributes below."""

    LAYOUT: annotations.SheetLayout
    SHEET_GLOBS: tuple[str, ...]       # where the coding sheet may be, relative to manual_dir
    CITATION = ""

    def _info(self) -> tfds.core.DatasetInfo:
        return self.dataset_info_from_configs(
            features=schema.clip_features(self.builder_config.frame_size, self.LAYOUT.emotions),
            citation=self.CITATION,
        )

    @classmethod
    def _manual_file(cls, manual_dir, patterns, kind: str) -> str:
        return manual_file(manual_dir, patterns, kind, cls.MANUAL_DOWNLOAD_INSTRUCTIONS)

    @classmethod
    def parse_manual(cls, manual_dir: str, config: ClipBuilderConfig) -> tuple[annotations.ParseResult, dict]:
        """(every clip of the copy at `manual_dir`, or its row skipped with the reason; the sources for
        `build_summary.json`: manual_dir, sheets, frames_root, source_fingerprint). A classmethod, so that a
        composite (`megc2019`) reads each part as its own builder does. Builders of a dataset laid out
        otherwise (SMIC: no sheet) override it."""
        sheet = cls._manual_file(manual_dir, cls.SHEET_GLOBS, "coding sheet")
        frames_root = unnested(cls._manual_file(manual_dir, config.frame_roots, "frames folder"))
        logging.info("%s: coding sheet %s, frames in %s", cls.__name__, sheet, frames_root)
        parsed = annotations.parse(sheet, frames_root, cls.LAYOUT)
        return parsed, sources_of(manual_dir, [sheet], frames_root)

    def _split_generators(self, dl_manager: tfds.download.DownloadManager):
        parsed, sources = self.parse_manual(str(dl_manager.manual_dir), self.builder_config)
        return {"train": self._generate_examples(parsed, sources)}

    def _generate_examples(self, parsed: annotations.ParseResult, sources: dict, crops: dict | None = None):
        """`crops`: clip id -> crop, for a composite whose parts are cropped differently (the config's by default)."""
        size, crop = self.builder_config.frame_size, self.builder_config.crop
        for name in {crop, *(crops or {}).values()}:
            if name not in CROPS:
                raise ValueError(f"builder config {self.builder_config.name}: crop={name!r}, use one of {CROPS}")
        skipped = list(parsed.skipped)
        written = 0
        workers = worker_count()
        with worker_pool(workers) as pool:
            in_flight = collections.deque()
            clips = iter(parsed.clips)
            while True:
                while len(in_flight) < 2 * workers:
                    clip = next(clips, None)
                    if clip is None:
                        break
                    in_flight.append((clip, _submit(pool, clip, size, (crops or {}).get(clip.clip_id, crop))))
                if not in_flight:
                    break
                clip, future = in_flight.popleft()
                clip_frames = result_or_skip(future, clip.subject, clip.clip_id, skipped)
                if clip_frames is None:
                    continue
                written += 1
                yield f"{clip.clip_id}@{clip.onset}", clip.example(clip_frames)
        summary = {**sources, **annotations.summarize(written, skipped)}
        logging.info("%s: %d clips written, %d skipped %s", self.name, summary["clips"], summary["skipped"],
                     summary["skipped_by_reason"])
        files.write_text(os.path.join(self.data_dir, "build_summary.json"), json.dumps(summary, indent=2))
