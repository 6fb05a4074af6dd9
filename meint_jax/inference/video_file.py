"""A video file as `flow_stream`'s source: counted and timestamped in one decoding pass, then decoded again a
frame at a time as the flow is computed, never held whole.

`open_with_face` is that first pass and the search for the face as one job for a worker process: `spot` hands
it to a flow worker before it imports JAX, so the counting and the face search run beside the imports and
the checkpoint's restoring instead of after them. Needs no JAX (the worker re-imports this module).
"""

from __future__ import annotations

import dataclasses
import os

import numpy as np
from absl import logging

from meint_jax.common import stages
from meint_jax.common.errors import PredictError
from meint_jax.data import faces
from meint_jax.data.long.videos import LongVideo
from meint_jax.inference import readers


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
                picks = set(faces.spread_picks(announced, face_tries)) if announced else set()
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
        """(crop box, landmarks in the `size`-pixel crop), as every video source gives them."""
        return self.found_face(tries).scaled(size)

    def found_face(self, tries: int = 7) -> faces.FoundFace:
        """The face in the whole frames, from `tries` frames spread through the video (`faces.recording_found_face`)."""
        try:
            return faces.recording_found_face(self.video.num_frames, self.video.fps or None, self.image_stream,
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


@dataclasses.dataclass(frozen=True)
class Opened:
    """A video file opened and its face found, with the seconds each took (wall and CPU, per stage)."""

    source: VideoFileSource
    face: faces.FoundFace
    seconds: dict
    cpu: dict


def open_with_face(path: str, allow_truncated: bool = False, whole_frames: bool = False, tries: int = 7) -> Opened:
    """`VideoFileSource.open` (stage "decode") and its `found_face` (stage "face"): the first pass over a video
    and its face, in one call a worker can make."""
    timer = stages.StageTimer()
    with timer.stage("decode"):
        source = VideoFileSource.open(path, allow_truncated, tries)
    if whole_frames:
        source = dataclasses.replace(source, whole_frames=True)
    with timer.stage("face"):
        face = source.found_face(tries)
    return Opened(source, face, timer.seconds, timer.cpu)
