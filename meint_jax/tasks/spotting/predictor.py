"""`Spotter`: a trained spotting run that turns a long recording into intervals.

    Spotter.from_run(workdir).spot(video)   # StoredVideo (flow features) -> scores and intervals per kind
                                            # (each with its emotion where the model has an emotion head)

The run's checkpoint gives the model and how its features were made; its
`metrics.json` gives the decoder settings chosen on its validation subjects
(never tuned on what it is applied to). Long inputs (a folder of frames, a
video file) become flow features here, streamed a chunk at a time. Needs no
TensorFlow except for `tfds:` inputs.
"""

from __future__ import annotations

import dataclasses
import os

import jax
import ml_collections
import numpy as np
from absl import logging

from meint_jax import tasks
from meint_jax.common import files
from meint_jax.common.errors import PredictError
from meint_jax.data import faces, frames
from meint_jax.data.long import sources as long_sources
from meint_jax.data.long.pipeline import StoredVideo
from meint_jax.data.long.videos import LongVideo
from meint_jax.inference import batching, readers
from meint_jax.tasks.spotting import decoding, steps
from meint_jax.tasks.spotting import evaluate as spotting_protocol
from meint_jax.training.state import TrainState

SpottedInterval = spotting_protocol.SpottedInterval
RATE_TOLERANCE = 0.1   # a recording's rate within 10% of the training videos' is the same rate


class Spotter:
    def __init__(self, variables: dict, config: dict, decoders: dict, batch_size: int = 16):
        self.config = ml_collections.ConfigDict(config)
        self.decoders = {k: decoding.DecoderConfig(**v) for k, v in decoders.items()}
        model = tasks.create_model(self.config)
        self.classes = tuple(self.config.data.get("emotion_classes") or ()) if self.config.model.get(
            "emotion_outputs") else ()
        self.pooling = self.config.eval.get("emotion_pooling", "vote")
        self.batch_size = batch_size
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

    def spot(self, stored: StoredVideo) -> tuple[np.ndarray, np.ndarray, list[SpottedInterval]]:
        """(frame numbers of the step grid [M], scores [M, 2 (+ classes + neutral)], intervals best first per
        kind, each with its pooled emotion where the model has an emotion head).

        Frames without the face (`video.face_present`) are not scored: their scores are NaN, the decoder
        sees 0 there, and an interval reaching into them is dropped."""
        video = stored.video
        window = self.spec.length * self.spec.frame_step
        if video.num_frames < window:
            raise PredictError(f"{video.source or video.video_id}: {video.num_frames} frames, fewer than one window of "
                               f"the model ({window} frames): too short to spot in (a relative threshold finds a peak "
                               "in anything)")
        scores = spotting_protocol.video_scores(stored, self.spec, self.stride, self._predict_windows)
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

    def features_of_folder(self, folder: str, fps: float | None, face: str, progress=None) -> StoredVideo:
        """A folder of frames -> its flow features (face box from dlib on 7 frames, or frames already faces)."""
        numbered = frames.list_frames(folder)
        if len(numbered) < 2:
            raise PredictError(f"{folder}: fewer than 2 image frames")
        numbers = [n for n, _ in numbered]
        video = LongVideo(video_id=os.path.basename(os.path.normpath(folder)), subject="", frame_numbers=numbers,
                          fps=fps or 0.0, frame_paths=tuple(p for _, p in numbered), source=os.path.abspath(folder),
                          warnings=self.rate_warnings(folder, fps) + readers.gap_warnings(folder, numbers))
        return self._analyse(long_sources.FolderSource(video), face, progress)

    def features_of_video(self, path: str, face: str, progress=None, allow_truncated: bool = False) -> StoredVideo:
        """A video file -> its flow features, decoded with PyAV in passes (count and timestamps, the face
        frames, the flow, where the face is), never held whole."""
        source = VideoFileSource.open(path, allow_truncated)
        rate = self.rate_warnings(path, source.video.fps)
        return self._analyse(dataclasses.replace(source, video=dataclasses.replace(
            source.video, warnings=source.video.warnings + rate)), face, progress)

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

    def _analyse(self, source, face: str, progress) -> StoredVideo:
        d = self.config.data
        size, anchor = d.get("flow_size") or 224, d.get("anchor_every") or 25
        if face == "none":
            source = dataclasses.replace(source, whole_frames=True)
        try:
            analysis = long_sources.analyse(source, size, 7, anchor, progress=progress)
        except faces.FaceNotFoundError as e:
            raise PredictError(f"{e} (frames that are face crops already, in which dlib finds the face, take "
                               "--face=none)") from e
        except frames.FrameError as e:
            raise PredictError(str(e)) from e
        video, flow = source.video, analysis.flow
        if analysis.box is not None:      # where the face is: a few frames a second, whole
            present = faces.presence(video.num_frames, video.fps or None, analysis.box, source.images)
            video = dataclasses.replace(video, face_present=present, warnings=video.warnings + readers.absence_warnings(
                video.source, video.frame_numbers, present))
            flow = still_without_face(flow, present)
        return StoredVideo(video, flow)


def still_without_face(flow: np.ndarray, present: np.ndarray) -> np.ndarray:
    """Region trajectories [N, 36] that do not move into, across or out of frames without the face: the motion
    from one frame to the next is kept only where both show the face, so a face entering or leaving the picture
    is never read as an expression by the windows around it (their frames without the face are not scored)."""
    present = np.asarray(present, bool)
    if present.all():
        return flow
    steps = np.diff(flow, axis=0)
    steps[~(present[1:] & present[:-1])] = 0.0
    return (flow[0] + np.r_[np.zeros((1, flow.shape[1])), np.cumsum(steps, axis=0)]).astype(flow.dtype)


@dataclasses.dataclass(frozen=True, eq=False)
class VideoFileSource:
    """A video file as a video source for `long_sources.analyse`: frames decoded in order, a chunk at a time."""

    video: LongVideo
    path: str
    whole_frames: bool = False     # the frames are face crops already: no box

    @classmethod
    def open(cls, path: str, allow_truncated: bool = False) -> VideoFileSource:
        """The video's frames counted and timestamped (one decoding pass); a truncated file is refused."""
        import av

        path = os.path.abspath(path)
        stamps = []
        try:
            with av.open(path) as container:
                if not container.streams.video:
                    raise PredictError(f"{path}: no video stream")
                stream = container.streams.video[0]
                fps = float(stream.average_rate) if stream.average_rate else 0.0
                announced, trusted = readers.announced_frames(container, stream, fps)
                try:
                    for frame in container.decode(stream):     # appended one by one: an error keeps what decoded
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
                             times=times, warnings=warnings), path)

    def images(self, indices):
        """The whole frames at `indices` (sorted), upright, decoded in one pass."""
        return list(readers.video_images(self.path, indices))

    def face(self, size: int, tries: int = 7):
        return faces.recording_face(self.video.num_frames, self.video.fps or None,
                                    lambda indices: readers.video_images(self.path, indices), size, self.path, tries,
                                    whole=self.whole_frames)

    def chunks(self, box, size: int, length: int):
        """Every frame, upright, cropped and resized, `length` at a time: one decoding pass."""
        import av

        pending = []
        with av.open(self.path) as container:
            for frame in container.decode(container.streams.video[0]):
                pending.append(readers.upright(frame))
                if len(pending) == length:
                    yield frames.resize_clip(np.stack(pending), size, box)
                    pending = []
        if pending:
            yield frames.resize_clip(np.stack(pending), size, box)
