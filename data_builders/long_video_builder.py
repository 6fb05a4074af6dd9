"""What the long-video builders share: video sources -> face box and flow features -> records.

Two kinds of builder config (docs/design.md, "Long-video records"):
- `features`: one record per video holding its intervals and its per-frame
  flow features (36 numbers a frame), no frames: a few KB per video, what
  spotting trains on; `features_paper` holds paper 002's own flow features
  instead, in the same form (flow_features.PaperTracker);
- `frames_<size>`: the video's face frames too, as records of `chunk_frames`
  JPEG frames each, so a window at any position reads one or two records.

Records are stored as ArrayRecord (random access through
`builder.as_data_source()`), in generation order. Work runs in worker
processes, a bounded number of videos and chunks in flight, each worker
holding one chunk of frames at most: no step holds a whole video. Videos
whose face or frames cannot be read are skipped with their reason; the build
ends with `build_summary.json` beside the records (rows and videos skipped,
rows repaired, each with its reason).
"""

from __future__ import annotations

import collections
import dataclasses
import json
import os
import time

import numpy as np
import tensorflow_datasets as tfds
from absl import logging

from data_builders import clip_builder, schema
from meint_jax.common import files
from meint_jax.data import flow_features
from meint_jax.data.long import sources as long_sources
from meint_jax.data.long import videos as long_videos

FEATURES = ("ours", "paper")     # LongVideoConfig.features: flow_features.TrajectoryTracker | PaperTracker


@dataclasses.dataclass
class LongVideoConfig(tfds.core.BuilderConfig):
    frames: bool = False        # store the face frames (chunks) besides the flow features
    frame_size: int = 224       # side of the stored frames
    flow_size: int = 224        # side of the face crop the flow is computed on
    chunk_frames: int = 64      # frames per stored chunk
    anchor_every: int = 25      # frames between flow anchors (flow_features)
    face_tries: int = 7         # frames spread through a video that vote for its face box
    features: str = "ours"      # flow features: ours | paper (paper 002's own; see real_configs)

    def __post_init__(self):
        if self.features not in FEATURES:
            raise ValueError(f"features={self.features!r}: use one of {FEATURES}")


def analysis_job(cfg: LongVideoConfig, source) -> tuple:
    """(function, arguments) that a worker runs to analyse one video under `cfg`: its face and flow features."""
    if cfg.features == "paper":
        return long_sources.paper_analysis, (source, cfg.flow_size, cfg.face_tries)
    return long_sources.analyse, (source, cfg.flow_size, cfg.face_tries, cfg.anchor_every)


def video_record(video: long_videos.LongVideo, analysis: long_sources.Analysis, with_true_intensity: bool,
                 start: int = 0, stop: int | None = None) -> dict:
    """A video's record; with `start`/`stop`, the per-frame fields of those frames only (a chunk's)."""
    frames_slice = slice(start, stop)
    record = {
        "video_id": video.video_id, "subject": video.subject, "fps": video.fps, "num_frames": video.num_frames,
        "intervals": long_videos.intervals_record(video.intervals),
        "blinks": {"onset": [b[0] for b in video.blinks], "offset": [b[1] for b in video.blinks]},
        "face_box": np.asarray(analysis.box if analysis.box is not None else (-1, -1, -1, -1), np.int32),
        "landmarks": analysis.landmarks,
        "frame_numbers": video.frame_numbers[frames_slice],
        "flow": analysis.flow[frames_slice],
    }
    if with_true_intensity:
        record["true_intensity"] = video.true_intensity[frames_slice]
    return record


class LongVideoBuilder(tfds.core.GeneratorBasedBuilder, skip_registration=True):
    """Base of the long-video builders; a subclass says where its videos come from (`_sources`)."""

    WITH_TRUE_INTENSITY = False
    CITATION = ""
    HOMEPAGE = None

    def __init__(self, *, file_format=None, **kwargs):
        # ArrayRecord: windows read records by index (TFRecord can only be streamed).
        super().__init__(file_format=file_format or "array_record", **kwargs)

    def _info(self) -> tfds.core.DatasetInfo:
        make = schema.video_chunk_features if self.builder_config.frames else schema.long_video_features
        return self.dataset_info_from_configs(features=make(self.WITH_TRUE_INTENSITY), citation=self.CITATION,
                                              homepage=self.HOMEPAGE, disable_shuffling=True)

    def _sources(self, dl_manager) -> tuple[list, dict]:
        """(video sources, what the summary records of the input: paths, fingerprint, rows skipped/repaired)."""
        raise NotImplementedError

    def _split_generators(self, dl_manager: tfds.download.DownloadManager):
        sources, summary = self._sources(dl_manager)
        return {"train": self._generate_examples(sources, summary)}

    def _generate_examples(self, sources, summary: dict):
        cfg = self.builder_config
        skipped = list(summary.pop("skipped_rows", []))
        written = frames_written = 0
        kinds = collections.Counter()
        started = time.time()
        workers = clip_builder.worker_count()
        with clip_builder.worker_pool(workers) as pool:
            pending = iter(enumerate(sources))
            analyses = collections.deque()

            def top_up():
                while len(analyses) < workers:
                    item = next(pending, None)
                    if item is None:
                        return
                    number, source = item
                    job, arguments = analysis_job(cfg, source)
                    analyses.append((number, source, pool.submit(job, *arguments)))

            top_up()
            while analyses:
                number, source, future = analyses.popleft()
                video = source.video
                analysis = clip_builder.result_or_skip(future, video.subject, video.video_id, skipped)
                top_up()
                if analysis is None:
                    continue
                written += 1
                frames_written += video.num_frames
                kinds.update(i.kind for i in video.intervals)
                if not cfg.frames:
                    yield f"{number:06d}", video_record(video, analysis, self.WITH_TRUE_INTENSITY)
                    continue
                yield from self._chunks(pool, workers, number, source, analysis)
        summary.update(self._summary(written, skipped, summary))
        summary.update(frames=frames_written, intervals=sum(kinds.values()), intervals_by_kind=dict(kinds),
                       build_seconds=round(time.time() - started, 1))
        logging.info("%s: %d videos (%d frames) written, %d skipped %s, %d rows repaired %s", self.name,
                     written, frames_written, len(skipped), summary["skipped_by_reason"],
                     summary.get("repaired", 0), summary.get("repaired_by_reason", {}))
        files.write_text(os.path.join(self.data_dir, "build_summary.json"), json.dumps(summary, indent=2))

    def _chunks(self, pool, workers: int, number: int, source, analysis):
        """The video's chunk records, in order, with at most `workers` chunks being read at once."""
        cfg = self.builder_config
        video = source.video
        starts = list(range(0, video.num_frames, cfg.chunk_frames))
        in_flight = collections.deque()
        for chunk, start in enumerate(starts + [None] * workers):
            if start is not None:
                stop = min(start + cfg.chunk_frames, video.num_frames)
                in_flight.append((chunk, start, stop, pool.submit(
                    long_sources.encoded_chunk, source, start, stop, analysis.box, cfg.frame_size)))
            if in_flight and (len(in_flight) >= workers or start is None):
                k, first, last, future = in_flight.popleft()
                record = video_record(video, analysis, self.WITH_TRUE_INTENSITY, first, last)
                record.update(chunk=k, num_chunks=len(starts), first_index=first, frames=future.result())
                yield f"{number:06d}_{k:06d}", record

    @staticmethod
    def _summary(written: int, skipped: list, summary: dict) -> dict:
        from meint_jax.data.clips import annotations

        counts = annotations.summarize(written, skipped)
        counts["videos"] = counts.pop("clips")
        return counts


SIZES = (128, 224)


def real_configs(flow_size: int = 224) -> list[LongVideoConfig]:
    """The configs every real long-video dataset offers: features only, features with frames, and paper 002's
    own features (`features_paper`, no frames: flow_features.PaperTracker). The latter crops at 320 px, the
    size its pixel margins are set for, and anchors at its window starts (`flow_features.paper_hop` of the
    video's frame rate), so `anchor_every` is not used there."""
    return [LongVideoConfig(name="features", flow_size=flow_size,
                            description=f"Per-frame flow features of the face (cropped at {flow_size} px), no frames.")
            ] + [LongVideoConfig(name=f"frames_{size}", frames=True, frame_size=size, flow_size=flow_size,
                                 description=f"Flow features and the {size}x{size} face frames, in chunks of 64.")
                 for size in SIZES] + [
        LongVideoConfig(name="features_paper", features="paper", flow_size=flow_features.PAPER_SIZE,
                        description="Paper 002's own flow features (its face crop per window at "
                                    f"{flow_features.PAPER_SIZE} px, moved after the head; the fastest pixels of "
                                    "each region), as trajectories; no frames.")]


class ManualLongVideoBuilder(LongVideoBuilder, skip_registration=True):
    """Base of the real long-video datasets: the user's copy in manual_dir, parsed by `_parse`."""

    DEFAULT_CONFIG_NAME = "features"   # subclasses: BUILDER_CONFIGS = real_configs(), their own objects

    def _parse(self, manual_dir: str):
        """(LongParseResult, frames root) of the copy in `manual_dir`."""
        raise NotImplementedError

    def _manual_file(self, manual_dir, patterns, kind: str, required: bool = True):
        return clip_builder.manual_file(manual_dir, patterns, kind, self.MANUAL_DOWNLOAD_INSTRUCTIONS, required)

    def _sources(self, dl_manager):
        manual_dir = str(dl_manager.manual_dir)
        parsed, frames_root = self._parse(manual_dir)
        logging.info("%s: %d videos, sheets %s, frames in %s", self.name, len(parsed.videos), parsed.sheets,
                     frames_root)
        summary = {"manual_dir": os.path.abspath(manual_dir), "sheets": [os.path.abspath(p) for p in parsed.sheets],
                   "frames_root": os.path.abspath(frames_root),
                   "source_fingerprint": clip_builder.source_fingerprint(manual_dir, parsed.sheets, frames_root)}
        parse_summary = parsed.summary()
        summary.update(skipped_rows=parsed.skipped, repaired=parse_summary["repaired"],
                       repaired_by_reason=parse_summary["repaired_by_reason"], repaired_rows=parsed.repaired)
        return [long_sources.FolderSource(v) for v in parsed.videos], summary
