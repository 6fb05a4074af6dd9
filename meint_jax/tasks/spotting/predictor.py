"""`Spotter`: a trained spotting run that turns a long recording into intervals.

    Spotter.from_run(workdir).spot(video)   # StoredVideo (flow features) -> scores and intervals per kind
                                            # (each with its emotion where the model has an emotion head)

The run's checkpoint gives the model and how its features were made; its
`metrics.json` gives the decoder settings chosen on its validation subjects
(never tuned on what it is applied to). Long inputs (a folder of frames, a
video file) become flow features here, streamed a chunk at a time through
worker processes (`inference/flow_stream.py`); a `StageTimer` passed along
says where the time went. Needs no TensorFlow except for `tfds:` inputs.
"""

from __future__ import annotations

import dataclasses
import os

import jax
import ml_collections
import numpy as np
from absl import logging

from meint_jax import tasks
from meint_jax.common import files, stages
from meint_jax.common.errors import PredictError
from meint_jax.data import faces, frames
from meint_jax.data.long import semireal
from meint_jax.data.long import sources as long_sources
from meint_jax.data.long.pipeline import StoredVideo
from meint_jax.data.long.videos import LongVideo
from meint_jax.inference import batching, flow_stream, readers
from meint_jax.tasks.spotting import decoding, steps
from meint_jax.tasks.spotting import evaluate as spotting_protocol
from meint_jax.training.state import TrainState

SpottedInterval = spotting_protocol.SpottedInterval
RATE_TOLERANCE = 0.1   # a recording's rate within 10% of the training videos' is the same rate


class Spotter:
    def __init__(self, variables: dict, config: dict, decoders: dict, batch_size: int = 16,
                 workers: int | None = None):
        self.config = ml_collections.ConfigDict(config)
        self.decoders = {k: decoding.DecoderConfig(**v) for k, v in decoders.items()}
        model = tasks.create_model(self.config)
        self.classes = tuple(self.config.data.get("emotion_classes") or ()) if self.config.model.get(
            "emotion_outputs") else ()
        self.pooling = self.config.eval.get("emotion_pooling", "vote")
        self.batch_size = batch_size
        self.workers = workers          # flow feature processes; None: one per core
        self._forward = jax.jit(lambda x: steps.predict_step(
            TrainState(0, variables["params"], variables.get("batch_stats", {}), None), x, model=model))
        self.spec = spotting_protocol.window_spec(self.config)
        self.stride = self.config.eval.stride or max(1, self.spec.length // 2)

    @classmethod
    def from_run(cls, workdir: str, step: int | None = None, **kwargs) -> Spotter:
        variables, config, _ = tasks.restore_for_inference(workdir, step)
        if tasks.name_of(config) != "spotting":
            raise PredictError(f"{workdir}: a {tasks.name_of(config)} run, not a spotting run "
                               "(use meint_jax.predict for intensity)")
        if config["model"].get("inputs", "flow") != "flow":
            raise PredictError(f"{workdir}: a model of face frames; meint_jax.spot runs models of flow features")
        # The run's folder: the workdir itself, above its checkpoints/ folder, or above a step folder.
        path = os.path.abspath(os.path.expanduser(workdir))
        runs = [p for p in (path, os.path.dirname(path), os.path.dirname(os.path.dirname(path)))
                if os.path.isdir(os.path.join(p, "checkpoints"))]
        metrics = os.path.join(runs[0] if runs else path, "metrics.json")
        if not os.path.exists(metrics):
            raise PredictError(f"{workdir}: no metrics.json in {'its run ' + runs[0] if runs else 'the folder'}, so "
                               "no decoder settings chosen on validation subjects; " + (
                                   "let the run finish its evaluation first" if runs else
                                   "name the run's workdir (a step folder copied out of it lacks them)"))
        saved = files.read_json(metrics, PredictError, "not readable", "rerun the evaluation")
        if "model" not in saved or "decoders" not in saved["model"]:
            raise PredictError(f"{metrics}: holds no decoder settings (a LOSO fold's workdir has them)")
        return cls(variables, config, saved["model"]["decoders"], **kwargs)

    def _predict_windows(self, features: np.ndarray) -> np.ndarray:
        return batching.in_batches(self._forward, features, self.batch_size)

    def spot(self, stored: StoredVideo, timer: stages.StageTimer | None = None
             ) -> tuple[np.ndarray, np.ndarray, list[SpottedInterval]]:
        """(frame numbers of the step grid [M], scores [M, 2 (+ classes + neutral)], intervals best first per
        kind, each with its pooled emotion where the model has an emotion head).

        Frames without the face (`video.face_present`) are not scored: their scores are NaN, the decoder
        sees 0 there, and an interval reaching into them is dropped."""
        timer = timer or stages.StageTimer()
        video = stored.video
        window = self.spec.length * self.spec.frame_step
        if video.num_frames < window:
            raise PredictError(f"{video.source or video.video_id}: {video.num_frames} frames, fewer than one window of "
                               f"the model ({window} frames): too short to spot in (a relative threshold finds a peak "
                               "in anything)")
        with timer.stage("network"):
            scores = spotting_protocol.video_scores(stored, self.spec, self.stride, self._predict_windows,
                                                    merge=self.config.eval.get("window_merge", "mean"))
        with timer.stage("decoding"):
            return self._decode(stored, scores)

    def _decode(self, stored: StoredVideo, scores: np.ndarray):
        video = stored.video
        numbers = spotting_protocol.grid_numbers(stored, self.spec.frame_step)
        if video.face_present is None:
            return numbers, scores, spotting_protocol.spot_video(stored, scores, self.decoders, self.spec.frame_step,
                                                                 self.classes, self.pooling)
        present = np.asarray(video.face_present, bool)
        on_grid = present[np.searchsorted(video.frame_numbers, numbers)]
        decoded = scores.copy()
        decoded[~on_grid, :2] = 0.0
        found = spotting_protocol.spot_video(stored, decoded, self.decoders, self.spec.frame_step, self.classes,
                                             self.pooling)
        faceless = video.frame_numbers[~present]
        kept = [i for i in found if not np.any((faceless >= i.onset) & (faceless <= i.offset))]
        scores = scores.astype(np.float64)
        scores[~on_grid] = np.nan
        return numbers, scores, kept

    # ------------------------------------------------------------------------------------------- inputs

    def features_of_folder(self, folder: str, fps: float | None, face: str, progress=None,
                           timer: stages.StageTimer | None = None) -> StoredVideo:
        """A folder of frames -> its flow features (face box from dlib on 7 frames, or frames already faces)."""
        numbered = frames.list_frames(folder)
        if len(numbered) < 2:
            raise PredictError(f"{folder}: fewer than 2 image frames")
        numbers = [n for n, _ in numbered]
        video = LongVideo(video_id=os.path.basename(os.path.normpath(folder)), subject="", frame_numbers=numbers,
                          fps=fps or 0.0, frame_paths=tuple(p for _, p in numbered), source=os.path.abspath(folder),
                          warnings=self.rate_warnings(folder, fps) + readers.gap_warnings(folder, numbers))
        return self._analyse(long_sources.FolderSource(video), face, progress, timer)

    def features_of_video(self, path: str, face: str, progress=None, allow_truncated: bool = False,
                          timer: stages.StageTimer | None = None) -> StoredVideo:
        """A video file -> its flow features, decoded with PyAV in two passes (count, timestamps and the face's
        frames; then the flow and the looks for the face), never held whole."""
        timer = timer or stages.StageTimer()
        with timer.stage("decode"):
            source = VideoFileSource.open(path, allow_truncated)
        rate = self.rate_warnings(path, source.video.fps)
        return self._analyse(dataclasses.replace(source, timer=timer, video=dataclasses.replace(
            source.video, warnings=source.video.warnings + rate)), face, progress, timer)

    def rate_warnings(self, source: str, fps: float | None) -> tuple[str, ...]:
        """A line when the recording's rate is not the training videos' (`data.fps`, recorded by the run): the
        model's windows then span another length of time, and its expressions another number of frames."""
        trained = self.config.data.get("fps")
        if not fps or not trained or abs(fps / trained - 1) <= RATE_TOLERANCE:
            return ()
        warning = (f"frame rate {fps:g} fps, the model was trained at {trained:g} fps: an expression spans "
                   f"{fps / trained:.2g}x the frames it did in training (resample the recording to {trained:g} fps)")
        logging.warning("%s: %s", source, warning)
        return (warning,)

    def _analyse(self, source, face: str, progress, timer: stages.StageTimer | None) -> StoredVideo:
        d = self.config.data
        if d.name.split("/")[-1].endswith("features_paper"):
            # Paper 002's features are computed by the builders only: ours here would be silently wrong input.
            raise PredictError(f"{getattr(source, 'path', 'this recording')}: the run was trained on paper 002's "
                               f"flow features ({d.name}), which spot does not compute from a video; score a built "
                               "dataset (--input=tfds:NAME/features_paper) or use a run trained on ours")
        size, anchor = d.get("flow_size") or 224, d.get("anchor_every") or 25
        if face == "none":
            source = dataclasses.replace(source, whole_frames=True)
        try:
            analysis, present = flow_stream.analyse(source, size, anchor, workers=self.workers, timer=timer,
                                                    progress=progress)
        except faces.FaceNotFoundError as e:
            raise PredictError(f"{e} (frames that are face crops already, in which dlib finds the face, take "
                               "--face=none)") from e
        except frames.FrameError as e:
            raise PredictError(str(e)) from e
        video, flow = source.video, analysis.flow
        if present is not None:      # where the face is: a few frames a second, whole
            video = dataclasses.replace(video, face_present=present, warnings=video.warnings + readers.absence_warnings(
                video.source, video.frame_numbers, present))
            flow = still_without_face(flow, present)
        return StoredVideo(video, flow)


def face_picks(count: int, tries: int) -> list[int]:
    """The frames `faces.recording_face` first looks for the face in: `tries` spread through `count`."""
    return sorted({int(round(x)) for x in np.linspace(0, count - 1, min(tries, count))})


def still_without_face(flow: np.ndarray, present: np.ndarray) -> np.ndarray:
    """Region trajectories [N, 36] that do not move into, across or out of frames without the face: the motion
    from one frame to the next is kept only where both show the face, so a face entering or leaving the picture
    is never read as an expression by the windows around it (their frames without the face are not scored)."""
    present = np.asarray(present, bool)
    if present.all():
        return flow
    return semireal.held_still(flow, present)[0]      # the builders' rule, on the whole video at once


@dataclasses.dataclass(frozen=True, eq=False)
class VideoFileSource:
    """A video file as a video source for `flow_stream.analyse`: frames decoded in order, one at a time."""

    video: LongVideo
    path: str
    whole_frames: bool = False     # the frames are face crops already: no box
    timer: stages.StageTimer | None = None     # counts the decoding of the face passes
    kept: dict = dataclasses.field(default_factory=dict, repr=False)    # index -> whole frame, from `open`

    @classmethod
    def open(cls, path: str, allow_truncated: bool = False, face_tries: int = 7) -> VideoFileSource:
        """The video's frames counted and timestamped (one decoding pass); a truncated file is refused. The
        frames the face is first looked for in are kept on the way (where the header's count is right, the
        face needs no pass of its own)."""
        import av

        path = os.path.abspath(path)
        stamps, kept = [], {}
        try:
            with av.open(path) as container:
                if not container.streams.video:
                    raise PredictError(f"{path}: no video stream")
                stream = container.streams.video[0]
                stream.thread_type = "AUTO"       # decoded on several cores: the same frames, sooner
                fps = float(stream.average_rate) if stream.average_rate else 0.0
                announced, trusted = readers.announced_frames(container, stream, fps)
                picks = set(face_picks(announced, face_tries)) if announced else set()
                try:
                    for frame in container.decode(stream):     # appended one by one: an error keeps what decoded
                        if len(stamps) in picks:
                            kept[len(stamps)] = readers.upright(frame)
                        stamps.append(frame.time)
                except av.error.FFmpegError as e:
                    if not stamps:
                        raise
                    logging.warning("%s: decoding stopped (%s)", path, e)
        except (av.error.FFmpegError, UnicodeDecodeError) as e:
            raise PredictError(f"{path}: cannot decode the video ({e})") from e
        if len(stamps) < 2:
            raise PredictError(f"{path}: fewer than 2 frames")
        times = readers.frame_times(stamps)
        warnings = readers.video_warnings(path, len(stamps), announced, trusted, times, allow_truncated)
        name = os.path.splitext(os.path.basename(path))[0]
        return cls(LongVideo(video_id=name, subject="", frame_numbers=np.arange(len(stamps)), fps=fps, source=path,
                             times=times, warnings=warnings), path,
                   kept=kept if len(stamps) == announced else {})

    def images(self, indices) -> list[np.ndarray]:
        """The whole frames at `indices`, upright, in order."""
        return list(self.image_stream(indices))

    def image_stream(self, indices):
        """The whole frames at `indices`, upright, in order: the kept ones, or decoded in one pass as taken."""
        wanted = sorted(set(int(i) for i in indices))
        if wanted and all(i in self.kept for i in wanted):
            return iter([self.kept[i] for i in wanted])
        return self._timed(readers.video_images(self.path, wanted))

    def face(self, size: int, tries: int = 7):
        try:
            return faces.recording_face(self.video.num_frames, self.video.fps or None, self.image_stream, size,
                                        self.path, tries, whole=self.whole_frames)
        finally:
            self.kept.clear()      # whole frames: not held for the rest of the video

    def frames(self):
        """Every frame, upright and whole, in order: one decoding pass (`flow_stream` cuts and resizes them)."""
        import av

        with av.open(self.path) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"       # frames decoded on several cores: the same frames
            try:
                for index, frame in enumerate(container.decode(stream)):
                    if index == self.video.num_frames:
                        return
                    yield readers.upright(frame)
            except av.error.FFmpegError:      # a truncated file ends where the reading pass found it ended
                return

    def _timed(self, images):
        return self.timer.timed("decode", images) if self.timer is not None else images
