"""A long recording's flow features for `meint_jax.spot`: streamed a chunk at a time, the flow computed in
worker processes, the very numbers of the build's serial `long_sources.analyse`.

The main process finds the face (its box and landmarks), then reads the recording once, in order: a video
is decoded there and each frame cut to the face box (a folder's frame files are read by the workers). Chunks
of `chunk_frames` new frames go to a pool of `workers` processes, at most AHEAD per worker in flight, so memory
stays that of a few chunks however long the recording. Each chunk starts on a flow anchor and shares its
first frame with the previous chunk's last, so a worker holds every anchor its frames are compared with
(`flow_features.anchor_motions`); the main process chains the motions in frame order
(`flow_features.TrajectoryChain`). A worker also looks for the face in the frames of its chunk that
`faces.presence_samples` names, where it is decoded already; the looks between two that disagree are made
at the end, as `faces.presence` makes them. `workers <= 1` runs the same chunks in this process.

A source has `video` (a `LongVideo`) and `face(size, tries)`, as `long_sources`' do; its frames are
`video.frame_paths` (files) or else come from `frames()` (every whole frame, in order) and
`image_stream(indices)` (those at `indices`), as `inference/video_file.VideoFileSource` gives them.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import functools
import multiprocessing
import os
from concurrent import futures

import numpy as np

from meint_jax.common import processes, stages
from meint_jax.data import faces, flow_features, frames
from meint_jax.data.long import sources as long_sources

AHEAD = 2              # chunks in flight per worker: one computing, one queued while the next is decoded


def chunk_frames(anchor_every: int) -> int:
    """New frames per chunk: about `long_sources.READ_CHUNK`, a whole number of anchor intervals."""
    return anchor_every * max(1, round(long_sources.READ_CHUNK / anchor_every))


def default_workers() -> int:
    """The cores this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


@dataclasses.dataclass(frozen=True)
class FlowChunk:
    """What a worker needs for frames first .. first + len(pictures) - 1."""

    first: int                  # 0 or an anchor: the previous chunk's last frame
    pictures: list              # per frame: the face box's pixels (uint8 [h, w, 3]) or a frame file's path
    looks: dict                 # frame index -> whole frame (or its file's path) to look for the face in
    box: tuple | None           # the face box in whole frames; None: the pictures are faces already
    size: int                   # side of the face crop the flow is computed on
    regions: np.ndarray         # flow_features.region_boxes of the crop
    anchor_every: int


@dataclasses.dataclass(frozen=True)
class ChunkResult:
    motions: np.ndarray         # float64 [len(pictures) - 1, regions, 2]: flow_features.anchor_motions
    found: dict                 # frame index -> whether the face is in its box
    seconds: dict               # stage -> wall seconds the worker spent
    cpu: dict                   # stage -> its CPU seconds


def box_pixels(image: np.ndarray, box) -> np.ndarray:
    """The pixels of `box` (x0, y0, x1, y1) in `image`, zero where it leaves the picture (as PIL's crop is):
    what the worker resizes is then exactly `frames.resize_clip(image, size, box)`'s input."""
    x0, y0, x1, y1 = box
    height, width = image.shape[:2]
    out = np.zeros((y1 - y0, x1 - x0) + image.shape[2:], image.dtype)
    left, top, right, bottom = max(x0, 0), max(y0, 0), min(x1, width), min(y1, height)
    if right > left and bottom > top:
        out[top - y0:bottom - y0, left - x0:right - x0] = image[top:bottom, left:right]
    return out


def work(chunk: FlowChunk) -> ChunkResult:
    """A worker's job: the chunk's face crops, its looks for the face, its frames' motions."""
    timer = stages.StageTimer()
    with timer.stage("decode"):
        if chunk.pictures and isinstance(chunk.pictures[0], str):
            crops = frames.read_clip(chunk.pictures, chunk.size, chunk.box)
        else:
            crops = frames.resize_clip(np.stack(chunk.pictures), chunk.size)
    found = {}
    for index, image in chunk.looks.items():
        if isinstance(image, str):
            with timer.stage("decode"):
                image = np.asarray(frames.open_rgb(image))
        with timer.stage("face"):
            found[index] = faces.face_in_box(image, chunk.box)
    with timer.stage("flow"):
        greys = [flow_features.to_grey(crop) for crop in crops]
        motions = flow_features.anchor_motions(greys, chunk.regions, chunk.first, chunk.anchor_every)
    return ChunkResult(motions, found, timer.seconds, timer.cpu)


def warm_up() -> None:
    """A new worker's first job: its imports done and dlib's face detector loaded, before any chunk comes."""
    faces.face_in_box(np.zeros((8, 8, 3), np.uint8), (0, 0, 8, 8))


class _Done:
    """A finished future: the serial path's."""

    def __init__(self, value):
        self.value = value

    def result(self):
        return self.value


class _InThisProcess:
    """The serial path's pool: `submit` runs the call at once."""

    @staticmethod
    def submit(fn, *args):
        return _Done(fn(*args))


@contextlib.contextmanager
def worker_pool(workers: int):
    """A pool whose `submit(fn, *args)` returns a future: worker processes that exit with this one (started
    now, so they import and load the detector while other work goes on), or this process for `workers <= 1`.
    Left by an error, it waits for no job still running (a long first pass, say): its workers are stopped."""
    if workers <= 1:
        yield _InThisProcess()
        return
    # forkserver: workers start clean instead of forking a process that runs JAX's threads.
    pool = futures.ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("forkserver"),
                                       initializer=processes.start_worker, initargs=(os.getpid(),))
    try:
        for _ in range(workers):
            pool.submit(warm_up)
        yield pool
    except BaseException:
        stop_workers(pool)
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def stop_workers(pool: futures.ProcessPoolExecutor) -> None:
    """Ends `pool`'s worker processes now, whatever they are running."""
    stop = getattr(pool, "terminate_workers", None)       # Python 3.14
    if stop is not None:
        stop()
        return
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        process.terminate()


def in_order(submit, chunks, ahead: int):
    """The results of `chunks` in their order, at most `ahead` submitted and not yet taken."""
    pending = collections.deque()
    for chunk in chunks:
        pending.append(submit(chunk))
        if len(pending) >= ahead:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()


def pictures(source):
    """Every frame of `source` in order: its file's path (a folder's), else the decoded whole frame."""
    paths = source.video.frame_paths
    return iter(paths) if paths else source.frames()


def flow_chunks(source, box, size: int, regions: np.ndarray, anchor_every: int, looks: set, length: int):
    """The source's frames as FlowChunks of `length` new frames, in order, read as they are needed."""
    batch, seen, first, last = [], {}, 0, None
    for index, picture in enumerate(pictures(source)):
        if index in looks:
            seen[index] = picture
        batch.append(picture if isinstance(picture, str) or box is None else box_pixels(picture, box))
        if len(batch) == length + 1:
            yield FlowChunk(first, batch, seen, box, size, regions, anchor_every)
            batch, seen, first = batch[-1:], {}, index
        last = index
    if len(batch) > 1 or last == 0:
        yield FlowChunk(first, batch, seen, box, size, regions, anchor_every)


def whole_frames(source, indices):
    """The whole frames at `indices` (sorted), one at a time: read from their files, or streamed by the source."""
    paths = source.video.frame_paths
    return (np.asarray(frames.open_rgb(paths[i])) for i in indices) if paths else source.image_stream(indices)


def face_presence(count: int, fps: float | None, box, found: dict, images_at) -> np.ndarray:
    """`faces.presence` from its first looks made already (`found`: frame index -> face in the box)."""
    sampled = np.asarray(sorted(found), int)
    looked = np.asarray([found[i] for i in sampled], bool)
    between = [i for k in np.flatnonzero(looked[1:] != looked[:-1]) for i in range(sampled[k] + 1, sampled[k + 1])]
    if between:
        sampled = np.r_[sampled, between]
        looked = np.r_[looked, [faces.face_in_box(image, box) for image in images_at(between)]]
        order = np.argsort(sampled)
        sampled, looked = sampled[order], looked[order]
    return faces.presence_mask(count, sampled, looked)


def analyse(source, size: int, anchor_every: int, *, workers: int | None = None, face_tries: int = 7,
            timer: stages.StageTimer | None = None, progress=None, chunk: int | None = None,
            face: faces.FoundFace | None = None, pool=None):
    """(`long_sources.Analysis` of `source`, bool [N] where the face is, None for frames that are faces
    already). `progress(frames)` after each chunk of `chunk` frames (a multiple of `anchor_every`). `face`: the
    source's face found already (else `source.face` is asked); `pool`: a started `worker_pool` (else one of
    `workers` processes of its own)."""
    timer = timer or stages.StageTimer()
    workers = default_workers() if workers is None else workers
    chunk = chunk or chunk_frames(anchor_every)
    if chunk % anchor_every:
        raise ValueError(f"chunks of {chunk} frames: use a multiple of anchor_every={anchor_every}")
    video = source.video
    with contextlib.nullcontext(pool) if pool is not None else worker_pool(workers) as pool:
        with timer.stage("face"):
            box, landmarks = face.scaled(size) if face is not None else source.face(size, face_tries)
        regions = flow_features.region_boxes(landmarks, size)
        looks = set(faces.presence_samples(video.num_frames, video.fps or None).tolist()) if box is not None else set()
        chain = flow_features.TrajectoryChain(len(regions), anchor_every)
        rows, found = [chain.first_row()[None]], {}
        chunks = timer.timed("decode", flow_chunks(source, box, size, regions, anchor_every, looks, chunk))
        for result in in_order(functools.partial(pool.submit, work), chunks, AHEAD * max(workers, 1)):
            rows.append(chain.extend(result.motions))
            found.update(result.found)
            timer.add_all(result.seconds, result.cpu)
            if progress is not None:
                progress(len(result.motions) + (len(rows) == 2))
    flow = np.concatenate(rows)
    if len(flow) != video.num_frames:
        raise frames.FrameError(f"{video.source or video.video_id}: {len(flow)} frames read, "
                                f"{video.num_frames} counted")
    present = None
    if box is not None:
        with timer.stage("face"):
            present = face_presence(video.num_frames, video.fps or None, box, found,
                                    lambda indices: whole_frames(source, indices))
    return long_sources.Analysis(box, np.asarray(landmarks, np.float32), flow), present
