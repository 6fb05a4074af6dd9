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

Given a Beam runner or pipeline options (`tfds build --beam_pipeline_options=...`,
or `DownloadConfig(beam_runner=...)`), as TFDS does for its Beam datasets, the
build is a Beam pipeline instead: one element per video, analysed and turned
into its records by whichever worker gets it, so a build spreads over a
cluster; each video's outcome goes to a side output that one last step turns
into the same `build_summary.json`. Without them, nothing changes.
"""

from __future__ import annotations

import collections
import dataclasses
import functools
import json
import os
import pickle
import time
from typing import Callable

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


SUMMARY_FILE = "build_summary.json"
STAGED_SOURCES = "beam_sources"   # under the build's data dir while a Beam build runs: one pickled source a video
OUTCOMES = "outcomes"          # the Beam side output of per-video outcomes
KEY_STRIDE = 1_000_000         # Beam keys: video number * KEY_STRIDE + chunk (sorted keys keep the build's order)


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


def as_made(source, records):
    del source
    return records


@dataclasses.dataclass(frozen=True)
class RecordMaker:
    """How an analysed video becomes its records: all a Beam worker receives of the builder."""

    cfg: LongVideoConfig
    with_true_intensity: bool
    finish: Callable = as_made     # (source, its (key, record)s in order) -> them as the builder stores them

    def record(self, source, analysis, start: int = 0, stop: int | None = None) -> dict:
        return video_record(source.video, analysis, self.with_true_intensity, start, stop)

    def chunk_bounds(self, num_frames: int) -> list[tuple[int, int]]:
        return [(start, min(start + self.cfg.chunk_frames, num_frames))
                for start in range(0, num_frames, self.cfg.chunk_frames)]


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What the summary keeps of one video: its frames and interval kinds when written, else why it was not."""

    number: int
    frames: int = 0
    kinds: tuple[str, ...] = ()
    skipped: dict | None = None     # the skip note (clip_builder.result_or_skip) of a video not written


def written(number: int, video: long_videos.LongVideo) -> Outcome:
    return Outcome(number, video.num_frames, tuple(i.kind for i in video.intervals))


@dataclasses.dataclass(frozen=True)
class _RunHere:
    """A job run in this process, in the form `clip_builder.result_or_skip` reads (a future's `result()`),
    so that a Beam worker skips a video for the same reasons a pool's worker does."""

    function: Callable
    arguments: tuple

    def result(self):
        return self.function(*self.arguments)


def stage_sources(folder: str, sources) -> list[tuple[int, str]]:
    """(number, path) of each source pickled into `folder` (the build's data dir: one place every worker reads,
    a bucket on a cluster). A Beam element then carries a path, not a real video's thousands of frame paths,
    which would all go into the job's graph (Beam's Create holds its elements)."""
    folder = tfds.core.Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    staged = []
    for number, source in enumerate(sources):
        path = folder / f"{number:06d}.pkl"
        path.write_bytes(pickle.dumps(source))
        staged.append((number, os.fspath(path)))
    return staged


def video_outputs(item: tuple[int, str], maker: RecordMaker):
    """One Beam element, a staged (number, source path): the video's (key, record)s and, tagged OUTCOMES, its
    Outcome. Analysis and chunks run in this worker, one chunk of frames held at a time."""
    beam = tfds.core.lazy_imports.apache_beam
    number, path = item
    source = pickle.loads(tfds.core.Path(path).read_bytes())
    video, note = source.video, []
    analysis = clip_builder.result_or_skip(_RunHere(*analysis_job(maker.cfg, source)), video.subject,
                                           video.video_id, note)
    if analysis is None:
        yield beam.pvalue.TaggedOutput(OUTCOMES, Outcome(number, skipped=note[0]))
        return
    yield from maker.finish(source, _records_here(maker, number, source, analysis))
    yield beam.pvalue.TaggedOutput(OUTCOMES, written(number, video))


def _records_here(maker: RecordMaker, number: int, source, analysis):
    """The video's (key, record)s, its chunks' frames read in this process."""
    if not maker.cfg.frames:
        yield number * KEY_STRIDE, maker.record(source, analysis)
        return
    bounds = maker.chunk_bounds(source.video.num_frames)
    for chunk, (start, stop) in enumerate(bounds):
        record = maker.record(source, analysis, start, stop)
        record.update(chunk=chunk, num_chunks=len(bounds), first_index=start, frames=long_sources.encoded_chunk(
            source, start, stop, analysis.box, maker.cfg.frame_size))
        yield number * KEY_STRIDE + chunk, record


def write_summary(path, summary: dict) -> None:
    """Atomically on a local disk; through TFDS's paths (epath) where the data dir is a bucket (gs://) that a
    cluster's workers share."""
    text = json.dumps(summary, indent=2)
    if "://" in os.fspath(path):
        tfds.core.Path(path).write_text(text)
    else:
        files.write_text(os.fspath(path), text)


def finish_summary(name: str, summary: dict, path, started: float, outcomes) -> dict:
    """`summary` (what `_sources` recorded of the input, its skipped rows included) completed with the videos'
    outcomes, whatever order they come in, logged and written to `path`."""
    outcomes = sorted(outcomes, key=lambda o: o.number)
    summary = dict(summary)
    skipped = list(summary.pop("skipped_rows", [])) + [o.skipped for o in outcomes if o.skipped is not None]
    kept = [o for o in outcomes if o.skipped is None]
    kinds = collections.Counter(kind for o in kept for kind in o.kinds)
    frames_written = sum(o.frames for o in kept)
    summary.update(_skip_counts(len(kept), skipped))
    summary.update(frames=frames_written, intervals=sum(kinds.values()), intervals_by_kind=dict(kinds),
                   build_seconds=round(time.time() - started, 1))
    logging.info("%s: %d videos (%d frames) written, %d skipped %s, %d rows repaired %s", name, len(kept),
                 frames_written, len(skipped), summary["skipped_by_reason"], summary.get("repaired", 0),
                 summary.get("repaired_by_reason", {}))
    write_summary(path, summary)
    return summary


def _skip_counts(written_videos: int, skipped: list) -> dict:
    from meint_jax.data.clips import annotations

    counts = annotations.summarize(written_videos, skipped)
    counts["videos"] = counts.pop("clips")
    return counts


def uses_beam(download_config) -> bool:
    """TFDS's rule for its Beam datasets: a runner or pipeline options were passed (`tfds build
    --beam_pipeline_options` sets the options)."""
    return download_config.beam_runner is not None or download_config.beam_options is not None


class LongVideoBuilder(tfds.core.GeneratorBasedBuilder, skip_registration=True):
    """Base of the long-video builders; a subclass says where its videos come from (`_sources`)."""

    WITH_TRUE_INTENSITY = False
    CITATION = ""
    HOMEPAGE = None

    def __init__(self, *, file_format=None, **kwargs):
        # ArrayRecord: windows read records by index (TFRecord can only be streamed).
        super().__init__(file_format=file_format or "array_record", **kwargs)
        self._beam = False

    def _info(self) -> tfds.core.DatasetInfo:
        make = schema.video_chunk_features if self.builder_config.frames else schema.long_video_features
        return self.dataset_info_from_configs(features=make(self.WITH_TRUE_INTENSITY), citation=self.CITATION,
                                              homepage=self.HOMEPAGE, disable_shuffling=True)

    @staticmethod
    def _video_records(source, records):
        """A subclass's last word on one video's (key, record)s, given in order: it may add fields or change
        them, chunk after chunk (semireal_long). A static method: Beam workers receive it, not the builder."""
        return as_made(source, records)

    def _sources(self, dl_manager) -> tuple[list, dict]:
        """(video sources, what the summary records of the input: paths, fingerprint, rows skipped/repaired)."""
        raise NotImplementedError

    def _download_and_prepare(self, dl_manager, download_config):
        self._beam = uses_beam(download_config)
        if self._beam and download_config.nondeterministic_order:
            raise ValueError(f"{self.name}: nondeterministic_order writes through Beam's file sinks, which have "
                             "no ArrayRecord writer in TFDS; build without it (the order is the videos')")
        return super()._download_and_prepare(dl_manager, download_config)

    def _split_generators(self, dl_manager: tfds.download.DownloadManager):
        sources, summary = self._sources(dl_manager)
        if self._beam:
            return {"train": self._beam_examples(sources, summary)}
        return {"train": self._generate_examples(sources, summary)}

    def _record_maker(self) -> RecordMaker:
        return RecordMaker(self.builder_config, self.WITH_TRUE_INTENSITY, type(self)._video_records)

    def _beam_examples(self, sources, summary: dict):
        """The build as a Beam transform: videos spread over the workers, then one step for the summary."""
        beam = tfds.core.lazy_imports.apache_beam
        maker = self._record_maker()
        finish = functools.partial(finish_summary, self.name, summary, os.path.join(self.data_dir, SUMMARY_FILE),
                                   time.time())
        staged = stage_sources(os.path.join(self.data_dir, STAGED_SOURCES), sources)

        @beam.ptransform_fn
        def build(pipeline):
            outputs = (pipeline
                       | "Videos" >> beam.Create(staged)
                       | "Records" >> beam.FlatMap(video_outputs, maker).with_outputs(OUTCOMES, main="records"))
            _ = (outputs[OUTCOMES]
                 | "AllOutcomes" >> beam.combiners.ToList()
                 | "Summary" >> beam.Map(finish))
            return outputs.records

        return build()   # pylint: disable=no-value-for-parameter

    def _process_pipeline_result(self, pipeline_result):
        del pipeline_result   # the pipeline has finished: its staged sources go, before the build is moved in place
        tfds.core.Path(self.data_dir, STAGED_SOURCES).rmtree(missing_ok=True)

    def _generate_examples(self, sources, summary: dict):
        maker = self._record_maker()
        outcomes = []
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
                    job, arguments = analysis_job(maker.cfg, source)
                    analyses.append((number, source, pool.submit(job, *arguments)))

            top_up()
            while analyses:
                number, source, future = analyses.popleft()
                video, note = source.video, []
                analysis = clip_builder.result_or_skip(future, video.subject, video.video_id, note)
                top_up()
                if analysis is None:
                    outcomes.append(Outcome(number, skipped=note[0]))
                    continue
                outcomes.append(written(number, video))
                if not maker.cfg.frames:
                    yield from maker.finish(source, iter([(f"{number:06d}", maker.record(source, analysis))]))
                    continue
                yield from maker.finish(source, self._chunks(pool, workers, maker, number, source, analysis))
        finish_summary(self.name, summary, os.path.join(self.data_dir, SUMMARY_FILE), started, outcomes)

    @staticmethod
    def _chunks(pool, workers: int, maker: RecordMaker, number: int, source, analysis):
        """The video's chunk records, in order, with at most `workers` chunks being read at once."""
        bounds = maker.chunk_bounds(source.video.num_frames)
        in_flight = collections.deque()
        for chunk, bound in enumerate(bounds + [None] * workers):
            if bound is not None:
                start, stop = bound
                in_flight.append((chunk, start, stop, pool.submit(
                    long_sources.encoded_chunk, source, start, stop, analysis.box, maker.cfg.frame_size)))
            if in_flight and (len(in_flight) >= workers or bound is None):
                k, first, last, future = in_flight.popleft()
                record = maker.record(source, analysis, first, last)
                record.update(chunk=k, num_chunks=len(bounds), first_index=first, frames=future.result())
                yield f"{number:06d}_{k:06d}", record


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
