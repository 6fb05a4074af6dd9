"""Reading a long video for a builder: its face once, then its frames a chunk at a time.

A video source has `video` (a `LongVideo`), `face(size, tries)` -> (crop box
or None, 68 landmarks in the `size`-pixel crop) and `read(start, stop, box,
size)` -> uint8 [stop - start, size, size, 3]. `FolderSource` reads a real
dataset's frame files; `synthetic_long.VideoScript` renders. The functions
here run in builder worker processes (numpy, PIL, dlib, OpenCV: never
TensorFlow) and hold at most one chunk of frames.
"""

from __future__ import annotations

import dataclasses
import io

import numpy as np
from absl import logging
from PIL import Image

from meint_jax.data import faces, flow_features, frames
from meint_jax.data.long.videos import LongVideo

READ_CHUNK = 64      # frames read at a time while computing the flow features
JPEG_QUALITY = 90


@dataclasses.dataclass(frozen=True, eq=False)
class FolderSource:
    """A video of frame files on disk, cropped to one face box."""

    video: LongVideo
    whole_frames: bool = False     # the frames are face crops already: landmarks found on them, no box

    def face(self, size: int, tries: int = 7):
        return faces.video_face(self.video.frame_paths, size, tries, whole=self.whole_frames)

    def read(self, start: int, stop: int, box, size: int) -> np.ndarray:
        return frames.read_clip(self.video.frame_paths[start:stop], size, box)

    def images(self, indices) -> list[np.ndarray]:
        """The whole frames at `indices`."""
        return [np.asarray(frames.open_rgb(self.video.frame_paths[i])) for i in indices]


@dataclasses.dataclass(frozen=True)
class Analysis:
    """What a builder keeps of a video besides its frames."""

    box: tuple[int, int, int, int] | None     # crop box in the source frames; None: the frames are the face
    landmarks: np.ndarray                     # float32 [68, 2] in the flow crop's pixels
    flow: np.ndarray                          # float32 [N, 36] region trajectories


def chunks(source, box, size: int):
    """The source's frames cropped and resized, READ_CHUNK at a time, in order (a source may stream them)."""
    if hasattr(source, "chunks"):
        yield from source.chunks(box, size, READ_CHUNK)
        return
    for start in range(0, source.video.num_frames, READ_CHUNK):
        yield source.read(start, min(start + READ_CHUNK, source.video.num_frames), box, size)


def analyse(source, flow_size: int, face_tries: int, anchor_every: int, progress=None) -> Analysis:
    """The face box, then every frame's flow features, streaming the video a chunk at a time.

    `progress(frames)` is called after each chunk (a progress bar's update)."""
    box, landmarks = source.face(flow_size, face_tries)
    tracker = flow_features.TrajectoryTracker(landmarks, flow_size, anchor_every)
    rows = []
    for chunk in chunks(source, box, flow_size):
        rows.extend(tracker.update(frame) for frame in chunk)
        if progress is not None:
            progress(len(chunk))
    return Analysis(box, np.asarray(landmarks, np.float32), np.stack(rows))


def encode_jpeg(frame: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(frame).save(out, format="JPEG", quality=JPEG_QUALITY)
    return out.getvalue()


def decode_jpeg(data: bytes) -> np.ndarray:
    """uint8 [H, W, 3] from one stored frame."""
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("RGB"))


def encoded_chunk(source, start: int, stop: int, box, size: int) -> list[bytes]:
    """Frames `start` to `stop` cropped, resized and JPEG-encoded: one stored chunk."""
    return [encode_jpeg(frame) for frame in source.read(start, stop, box, size)]


WHOLE_FRAMES_AT_ONCE = 16     # whole recording frames held by a worker (SAMM-LV's are 2040x1088)


def paper_analysis(source, size: int = flow_features.PAPER_SIZE, face_tries: int = 7, progress=None):
    """`analyse` with paper 002's features: the video's face box and landmarks as ours (what the
    record and the `frames_*` configs keep), the flow from its whole frames (`source.images`), streamed."""
    box, landmarks = source.face(size, face_tries)
    if not hasattr(source, "images"):
        raise TypeError(f"{type(source).__name__} gives no whole frames (images): paper 002's features need them")
    video = source.video
    # A source that knows its face's geometry (generated videos) gives the points; real ones: dlib.
    tracker = flow_features.PaperTracker(flow_features.paper_hop(video.fps), size,
                                         find_landmarks=getattr(source, "find_landmarks", None))
    rows = []
    for start in range(0, video.num_frames, WHOLE_FRAMES_AT_ONCE):
        stop = min(start + WHOLE_FRAMES_AT_ONCE, video.num_frames)
        rows.extend(tracker.update(image) for image in source.images(range(start, stop)))
        if progress is not None:
            progress(stop - start)
    if tracker.missed:
        logging.warning("%s: no face at %d window starts or frames after them (zero motion there, as theirs)",
                        video.video_id, tracker.missed)
    return Analysis(box, np.asarray(landmarks, np.float32), np.stack(rows))
