"""Inputs to predict on: a folder of frames, a video file, or clips of a built TFDS dataset.

Each becomes a `Clip` face-cropped at the training frame size: one dlib box per
input, from its first frame, as the builders crop (from the first frame that
shows the face where the recording starts without it; `--face=none` for frames
that are face crops already). Frames are read upright (a phone video's rotation
is honoured); a video's other streams (audio) are left alone.
"""

from __future__ import annotations

import os
from typing import Iterable, Iterator, Sequence

import numpy as np
from absl import logging

from meint_jax.common.errors import PredictError, first_line
from meint_jax.data import faces as faces_lib
from meint_jax.data import frames as frames_lib
from meint_jax.data.clips.clip import Clip

VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".mpg", ".mpeg", ".m4v")


def first_face_box(images_at, count: int, fps: float | None, source: str, margin: float) -> frames_lib.Box:
    """The crop box of the first frame showing a face, looked for in frame 0, then a few times a second
    (`faces.search_looks` of the `count` frames), `images_at(indices)` giving the whole frames there, in order:
    a face that enters after the first frame is still found, and its box comes from a frame where it is."""
    looks = np.unique(np.r_[0, faces_lib.search_looks(count, fps)])
    tried = 0
    for tried, image in enumerate(images_at(looks), 1):
        try:
            return faces_lib.image_box(image, margin)
        except faces_lib.FaceNotFoundError:
            continue
    raise PredictError(f"{source}: no face found in any of the {tried} frames looked at, a few a second "
                       "through the recording (frames that are face crops already take --face=none)")


def held_still(data: np.ndarray, present: np.ndarray | None) -> np.ndarray:
    """Frames without the face replaced by the last frame that shows it (the first, before it enters): they are
    not scored, and the face arriving or leaving must not reach the scored frames' windows as motion."""
    if present is None or present.all() or not present.any():
        return data
    shown = np.flatnonzero(present)
    last = shown[np.clip(np.searchsorted(shown, np.arange(len(present)), side="right") - 1, 0, None)]
    return data[last]


def read_folder(folder: str, size: int, face: str, margin: float, fps: float | None) -> Clip:
    folder = os.path.abspath(folder)
    try:
        listed = frames_lib.list_frames(folder)
    except OSError as e:
        raise PredictError(f"{folder}: cannot list the folder ({e.strerror})") from e
    if not listed:
        raise PredictError(f"{folder}: no numbered frame images (*.jpg, *.png, *.bmp named like img46.jpg)")
    numbers, paths = zip(*listed)
    box, present, warnings = None, None, ()
    if face == "dlib":
        def images_at(indices):
            return (np.asarray(frames_lib.open_rgb(paths[i])) for i in indices)

        box = first_face_box(images_at, len(paths), fps, folder, margin)
        present = faces_lib.presence(len(paths), fps, box, images_at)
        warnings = absence_warnings(folder, numbers, present)
    warnings += gap_warnings(folder, numbers)
    data = held_still(frames_lib.read_clip(paths, size, box), present)
    return Clip(clip_id=os.path.basename(folder.rstrip("/")), frame_numbers=numbers, frames=data, fps=fps,
                source=folder, face_present=present, warnings=warnings)


def absence_warnings(source: str, numbers, present) -> tuple[str, ...]:
    """The line (logged, and for the outputs) naming the frames of `source` without the face; () if none."""
    warning = faces_lib.absence_warning(np.asarray(numbers), present)
    if warning:
        logging.warning("%s: %s", source, warning)
    return (warning,) if warning else ()


def gap_warnings(source: str, numbers) -> tuple[str, ...]:
    """A line for frames missing from a numbered sequence (img29 then img51): time across the gap jumps,
    and the model sees the frames on either side as neighbours."""
    numbers = np.asarray(numbers)
    jumps = np.flatnonzero(np.diff(numbers) > 1)
    if not len(jumps):
        return ()
    missing = int(sum(numbers[j + 1] - numbers[j] - 1 for j in jumps))
    shown = ", ".join(f"{numbers[j] + 1}-{numbers[j + 1] - 1}" for j in jumps[:5]) + (", ..." if len(jumps) > 5 else "")
    warning = (f"frames missing: {missing} frame number(s) absent ({shown}); the frames either side of a gap "
               "are treated as neighbours")
    logging.warning("%s: %s", source, warning)
    return (warning,)


TRUNCATED = 0.95   # fewer decoded frames than this share of the announced count: a truncated file
UNEVEN = 1.5       # frame intervals spread wider than this ratio (longest / shortest): a variable frame rate


def announced_frames(container, stream, fps: float | None) -> tuple[int | None, bool]:
    """(frame count a video's header announces, whether that count can be trusted): the stream's count, or
    its own duration x rate, both trusted; else the container's duration x rate (mkv, webm), trusted when the
    video is its only stream (a longer audio track would overstate it)."""
    if stream.frames:
        return int(stream.frames), True
    if stream.duration and stream.time_base and fps:
        return int(round(float(stream.duration * stream.time_base) * fps)), True
    if container.duration and fps:
        return int(round(container.duration / 1e6 * fps)), len(container.streams) == 1   # microseconds
    return None, False


def video_warnings(path: str, decoded: int, announced: int | None, trusted: bool, times: np.ndarray,
                   allow_truncated: bool) -> tuple[str, ...]:
    """What is wrong but usable in a decoded video, for its outputs to carry; PredictError for a video that
    decodes short of what its header announces (truncated, damaged), unless `allow_truncated`."""
    warnings = []
    if announced and decoded < TRUNCATED * announced:
        if trusted and not allow_truncated:
            raise PredictError(f"{path}: decoded {decoded} of the {announced} frames its header announces: the file "
                               "is truncated or damaged (copy it again, or pass --allow_truncated to use the "
                               f"{decoded} frames, marked so in every output)")
        warnings.append(f"truncated: decoded {decoded} of the {announced} frames its header "
                        + ("announces" if trusted else "suggests (by its duration)"))
    steps = np.diff(times) if times is not None and len(times) > 2 else np.zeros(0)
    if len(steps) and steps.min() > 0 and steps.max() / steps.min() > UNEVEN:
        warnings.append(f"variable frame rate: {steps.min() * 1e3:.1f}-{steps.max() * 1e3:.1f} ms between frames; "
                        "seconds are the frames' own timestamps, but the model sees frames as evenly spaced")
    for warning in warnings:
        logging.warning("%s: %s", path, warning)
    return tuple(warnings)


def frame_times(times) -> np.ndarray | None:
    """Seconds since the first frame, from the decoded frames' timestamps (`frame.time`); None where a frame
    has none."""
    if any(t is None for t in times) or not times:
        return None
    times = np.asarray(times, np.float64)
    return times - times[0]


def upright(frame) -> np.ndarray:
    """A decoded video frame as RGB uint8 [H, W, 3], turned as its display matrix says (a phone's portrait
    video is stored sideways, with a rotation for players to apply); flips in the matrix are not applied."""
    rgb = frame.to_ndarray(format="rgb24")
    turns = int(round((getattr(frame, "rotation", 0) or 0) / 90)) % 4     # counter-clockwise quarter turns
    return np.ascontiguousarray(np.rot90(rgb, turns)) if turns else rgb


def video_images(path: str, indices):
    """The upright whole frames of a video at `indices` (sorted), decoded in one pass; it ends early where the
    file does (a truncated file: the reading pass has said so)."""
    import av

    wanted, i = sorted(set(int(k) for k in indices)), 0
    if not wanted:
        return
    with av.open(path) as container:
        try:
            for index, frame in enumerate(container.decode(container.streams.video[0])):
                if index == wanted[i]:
                    yield upright(frame)
                    i += 1
                    if i == len(wanted):
                        return
        except av.error.FFmpegError:
            return


def read_video(path: str, size: int, face: str, margin: float, allow_truncated: bool = False) -> Clip:
    """Decodes with PyAV (FFmpeg), upright, cropping and resizing each frame as it arrives (the face's box
    found first, where the face is, in a pass that stops there)."""
    import av

    path = os.path.abspath(path)
    images, stamps, box = [], [], None
    try:
        with av.open(path) as container:
            if not container.streams.video:
                raise PredictError(f"{path}: no video stream")
            stream = container.streams.video[0]
            fps = float(stream.average_rate) if stream.average_rate and stream.average_rate > 0 else None
            announced, trusted = announced_frames(container, stream, fps)
            if face == "dlib":
                box = first_face_box(lambda indices: video_images(path, indices),
                                     announced or faces_lib.SEARCH_LOOKS * faces_lib.presence_every(fps), fps, path,
                                     margin)
            try:
                for frame in container.decode(stream):
                    images.append(frames_lib.resize_clip(upright(frame)[None], size, box)[0])
                    stamps.append(frame.time)
            except av.error.FFmpegError as e:
                if not images:
                    raise
                logging.warning("%s: decoding stopped after %d frames (%s)", path, len(images), e)
            times = frame_times(stamps)
    except (av.error.FFmpegError, UnicodeDecodeError) as e:
        raise PredictError(f"{path}: cannot decode the video ({e})") from e
    if not images:
        raise PredictError(f"{path}: the video has no frames")
    warnings = video_warnings(path, len(images), announced, trusted, times, allow_truncated)
    present = None
    if face == "dlib":
        present = faces_lib.presence(len(images), fps, box, lambda indices: video_images(path, indices))
        warnings += absence_warnings(path, np.arange(len(images)), present)
    return Clip(clip_id=os.path.splitext(os.path.basename(path))[0], frame_numbers=np.arange(len(images)),
                frames=held_still(np.stack(images), present), fps=fps, source=path, warnings=warnings, times=times,
                face_present=present)


def not_a_photo(path: str) -> None:
    """PredictError for a single image file: what is read is motion, and one frame has none."""
    if path.lower().endswith(frames_lib.IMAGE_EXTENSIONS):
        raise PredictError(f"{path}: a single image; expressions are read from motion, so give a recording: a "
                           "video, or a folder of its frames")


def built_dataset(name: str, data_dir: str | None):
    """The TFDS builder of `name` (NAME/CONFIG), built already; PredictError naming it otherwise."""
    import tensorflow_datasets as tfds

    import data_builders  # noqa: F401  Registers the builders.

    try:
        builder = tfds.builder(name, data_dir=data_dir and os.path.expanduser(data_dir))
    except Exception as e:  # TFDS raises several types for unknown or unbuilt datasets.
        raise PredictError(f"tfds:{name}: cannot open the dataset ({first_line(e)})") from e
    if not builder.is_prepared():
        raise PredictError(f"tfds:{name}: not built in {builder.data_dir}; train on it once or run `tfds build`")
    return builder


def split_ranges(name: str, split: str, sizes: dict) -> list[tuple[str, int, int]]:
    """(split, start, stop) of each part of a TFDS split spec (`train`, `train[:2]`, `train[50%:]+test`) over
    splits of `sizes` ({split: count}); PredictError naming `tfds:NAME` for a split it does not have."""
    import types

    import tensorflow_datasets as tfds

    infos = {k: types.SimpleNamespace(num_examples=n) for k, n in sizes.items()}
    try:
        parts = tfds.core.ReadInstruction.from_spec(split).to_absolute(infos)
    except (ValueError, AssertionError) as e:
        raise PredictError(f"tfds:{name}:{split}: not a split of the dataset ({first_line(e)}; splits: "
                           f"{', '.join(f'{k} ({n})' for k, n in sizes.items())})") from e
    return [(p.splitname, p.from_ or 0, sizes[p.splitname] if p.to is None else p.to) for p in parts]


def read_tfds(spec: str, data_dir: str | None, clip_ids: Sequence[str] | None) -> Iterator[Clip]:
    """Clips of a built TFDS dataset, `NAME/CONFIG[:SPLIT]`; their frames are already face-cropped."""
    import tensorflow_datasets as tfds

    name, _, split = spec.partition(":")
    builder = built_dataset(name, data_dir)
    split_ranges(name, split or "train", {k: v.num_examples for k, v in builder.info.splits.items()})
    wanted = set(clip_ids or ())
    found = set()
    emotions = builder.info.features["emotion"].names
    for ex in tfds.as_numpy(builder.as_dataset(split=split or "train")):
        clip_id = ex["clip_id"].decode()
        if wanted and clip_id not in wanted:
            continue
        found.add(clip_id)
        yield Clip(clip_id=clip_id, frame_numbers=ex["frame_numbers"], subject=ex["subject"].decode(),
                   frames=ex["frames"], onset=int(ex["onset"]), apex=int(ex["apex"]), offset=int(ex["offset"]),
                   emotion=emotions[int(ex["emotion"])], true_intensity=ex.get("true_intensity"),
                   source=f"tfds:{name}")
    if wanted - found:
        raise PredictError(f"tfds:{name}: no clips {sorted(wanted - found)} in split {split or 'train'}")


def read_inputs(path: str, size: int, *, face: str = "dlib", margin: float = 0.25, fps: float | None = None,
                data_dir: str | None = None, clip_ids: Sequence[str] | None = None,
                allow_truncated: bool = False) -> Iterable[Clip]:
    """The clips of a folder of frames, a video file, or `tfds:NAME/CONFIG[:SPLIT]`."""
    if path.startswith("tfds:"):
        return read_tfds(path[len("tfds:"):], data_dir, clip_ids)
    path = os.path.expanduser(path)   # `--input=~/x`: the shell leaves a tilde after `=` alone
    if os.path.isdir(path):
        return [read_folder(path, size, face, margin, fps)]
    if not os.path.exists(path):
        raise PredictError(f"{path}: no such file or folder")
    if path.lower().endswith(VIDEO_EXTENSIONS):
        return [read_video(path, size, face, margin, allow_truncated)]
    not_a_photo(path)
    raise PredictError(f"{path}: not a folder of frames, a video ({', '.join(VIDEO_EXTENSIONS)}) or tfds:NAME")
