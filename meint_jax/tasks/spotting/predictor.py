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
import threading

import jax
import ml_collections
import numpy as np
from absl import logging

from meint_jax import tasks
from meint_jax.common import files, stages
from meint_jax.common.errors import PredictError
from meint_jax.data import faces, flow_features, frames
from meint_jax.data.long import semireal
from meint_jax.data.long import sources as long_sources
from meint_jax.data.long.pipeline import StoredVideo
from meint_jax.data.long.videos import LongVideo
from meint_jax.inference import batching, flow_stream, readers, video_file
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
        self._compiling: threading.Thread | None = None

    def compile_in_background(self) -> None:
        """Compiles the network for its one batch shape in a thread, while the recording's features are
        computed (XLA compiles without holding the GIL); `spot` waits for it. Saves the compilation's
        seconds after the features on a machine with a core to spare for it."""
        example = np.zeros((self.batch_size, self.spec.length, flow_features.NUM_FEATURES), np.float32)

        def compile_network():
            try:
                jax.block_until_ready(self._forward(example))
            except Exception as e:        # the first real batch meets it again, and reports it
                logging.warning("compiling the network ahead failed: %s", e)

        self._compiling = threading.Thread(target=compile_network, name="compile-network", daemon=True)
        self._compiling.start()

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
            if self._compiling is not None:
                self._compiling.join()
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
                           timer: stages.StageTimer | None = None, pool=None) -> StoredVideo:
        """A folder of frames -> its flow features (face box from dlib on 7 frames, or frames already faces);
        `pool`: a started `flow_stream.worker_pool` of `self.workers` processes to use."""
        numbered = frames.list_frames(folder)
        if len(numbered) < 2:
            raise PredictError(f"{folder}: fewer than 2 image frames")
        numbers = [n for n, _ in numbered]
        video = LongVideo(video_id=os.path.basename(os.path.normpath(folder)), subject="", frame_numbers=numbers,
                          fps=fps or 0.0, frame_paths=tuple(p for _, p in numbered), source=os.path.abspath(folder),
                          warnings=self.rate_warnings(folder, fps) + readers.gap_warnings(folder, numbers))
        return self._analyse(long_sources.FolderSource(video), face, progress, timer, pool=pool)

    def features_of_video(self, path: str, face: str, progress=None, allow_truncated: bool = False,
                          timer: stages.StageTimer | None = None, opening=None, pool=None) -> StoredVideo:
        """A video file -> its flow features, decoded with PyAV in two passes (count, timestamps and the face's
        frames; then the flow and the looks for the face), never held whole. `opening`: a future of that first
        pass and the face (`video_file.open_with_face`, which `spot` gives a worker while it starts); `pool`: a
        started `flow_stream.worker_pool` of `self.workers` processes to use."""
        timer = timer or stages.StageTimer()
        self.refuse_uncomputable(os.path.abspath(path))
        found = None
        if opening is None:
            with timer.stage("decode"):
                source = video_file.VideoFileSource.open(path, allow_truncated)
        else:
            try:
                opened = opening.result()
            except faces.FaceNotFoundError as e:
                raise no_face_error(e) from e
            source, found = opened.source, opened.face
            timer.add_all(opened.seconds, opened.cpu)
        rate = self.rate_warnings(path, source.video.fps)
        return self._analyse(dataclasses.replace(source, timer=timer, video=dataclasses.replace(
            source.video, warnings=source.video.warnings + rate)), face, progress, timer, found, pool)

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

    def refuse_uncomputable(self, what: str) -> None:
        """A one-line error when the run was trained on paper 002's flow features: the builders compute them,
        spot does not (ours in their place would be silently wrong input)."""
        name = self.config.data.name
        if name.split("/")[-1].endswith("features_paper"):
            raise PredictError(f"{what}: the run was trained on paper 002's flow features ({name}), which spot does "
                               "not compute from a video; score a built dataset (--input=tfds:NAME/features_paper) "
                               "or use a run trained on ours")

    def _analyse(self, source, face: str, progress, timer: stages.StageTimer | None,
                 found: faces.FoundFace | None = None, pool=None) -> StoredVideo:
        d = self.config.data
        self.refuse_uncomputable(getattr(source, "path", "this recording"))
        size, anchor = d.get("flow_size") or 224, d.get("anchor_every") or 25
        if face == "none":
            source = dataclasses.replace(source, whole_frames=True)
        try:
            analysis, present = flow_stream.analyse(source, size, anchor, workers=self.workers, timer=timer,
                                                    progress=progress, face=found, pool=pool)
        except faces.FaceNotFoundError as e:
            raise no_face_error(e) from e
        except frames.FrameError as e:
            raise PredictError(str(e)) from e
        video, flow = source.video, analysis.flow
        if present is not None:      # where the face is: a few frames a second, whole
            video = dataclasses.replace(video, face_present=present, warnings=video.warnings + readers.absence_warnings(
                video.source, video.frame_numbers, present))
            flow = still_without_face(flow, present)
        return StoredVideo(video, flow)


def no_face_error(e: faces.FaceNotFoundError) -> PredictError:
    return PredictError(f"{e} (frames that are face crops already, in which dlib finds the face, take --face=none)")


def still_without_face(flow: np.ndarray, present: np.ndarray) -> np.ndarray:
    """Region trajectories [N, 36] that do not move into, across or out of frames without the face: the motion
    from one frame to the next is kept only where both show the face, so a face entering or leaving the picture
    is never read as an expression by the windows around it (their frames without the face are not scored)."""
    present = np.asarray(present, bool)
    if present.all():
        return flow
    return semireal.held_still(flow, present)[0]      # the builders' rule, on the whole video at once
