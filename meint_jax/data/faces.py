"""One face crop box per clip, from dlib's detector and 68-point landmarks.

The box comes from the onset frame only and is then used for every frame of
the clip, so the crop never jitters: per-frame boxes move by more than the
micro-expression itself. Models ship with `face-recognition-models`; nothing
is downloaded.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib.util
import os

import numpy as np
from absl import logging
from PIL import Image

from meint_jax.common.errors import UserError
from meint_jax.data import frames

# 68-point indices (iBUG 300-W): brows 17-26, eyes 36-47, mouth 48-67.
_FEATURE_POINTS = np.r_[17:27, 36:48, 48:68]


class FaceNotFoundError(UserError):
    """No face in the frame; the message names the frame."""


def landmark_model_path() -> str:
    """dlib's 68-point model inside the `face-recognition-models` package.

    Found without importing the package: its __init__ imports pkg_resources,
    which setuptools >= 81 no longer ships.
    """
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("face-recognition-models is not installed: pip install face-recognition-models")
    return os.path.join(spec.submodule_search_locations[0], "models", "shape_predictor_68_face_landmarks.dat")


@functools.lru_cache(maxsize=1)
def _detector():
    import dlib

    return dlib.get_frontal_face_detector()


@functools.lru_cache(maxsize=1)
def _models():
    """The detector and the 68-point model (about 100 MB, loaded only where landmarks are wanted)."""
    import dlib

    return _detector(), dlib.shape_predictor(landmark_model_path())


def landmarks(image: np.ndarray, upsample: int = 1) -> np.ndarray:
    """68 (x, y) landmarks [68, 2] of the largest face in an RGB uint8 image."""
    detector, predictor = _models()
    faces = detector(np.ascontiguousarray(image), upsample)
    if not faces:
        raise FaceNotFoundError("no face found")
    face = max(faces, key=lambda r: r.width() * r.height())
    shape = predictor(image, face)
    return np.array([(p.x, p.y) for p in shape.parts()], np.float64)


def crop_box(points: np.ndarray, image_size: tuple[int, int], margin: float = 0.25) -> frames.Box:
    """Square box around brows, eyes and mouth, grown by `margin` on each side, inside the image.

    `image_size` is (width, height).
    """
    features = points[_FEATURE_POINTS]
    (x0, y0), (x1, y1) = features.min(axis=0), features.max(axis=0)
    side = max(x1 - x0, y1 - y0) * (1.0 + 2.0 * margin)
    side = min(side, *image_size)
    cx = np.clip((x0 + x1) / 2, side / 2, image_size[0] - side / 2)
    cy = np.clip((y0 + y1) / 2, side / 2, image_size[1] - side / 2)
    left, top = int(round(cx - side / 2)), int(round(cy - side / 2))
    return left, top, left + int(round(side)), top + int(round(side))


def image_box(rgb: np.ndarray, margin: float = 0.25) -> frames.Box:
    """The crop box of the largest face in an RGB uint8 image."""
    return crop_box(landmarks(rgb), (rgb.shape[1], rgb.shape[0]), margin)


def clip_box(onset_frame_path: str, margin: float = 0.25) -> frames.Box:
    """The crop box of a clip, from its onset frame."""
    rgb = np.asarray(frames.open_rgb(onset_frame_path))
    try:
        return image_box(rgb, margin)
    except FaceNotFoundError as e:
        raise FaceNotFoundError(f"{onset_frame_path}: {e}") from e


def read_cropped_clip(paths, onset_path: str, size: int, margin: float = 0.25) -> np.ndarray:
    """uint8 [N, size, size, 3]: every frame cropped to the box of the onset frame."""
    return frames.read_clip(paths, size, clip_box(onset_path, margin))


@dataclasses.dataclass(frozen=True)
class FoundFace:
    """A recording's face in its whole frames, before any crop size is chosen: the median crop box (None when
    the frames are the face already), the median 68 landmarks and the frames' (height, width). Found once and
    scaled to each flow size by `scaled`; small enough to come back from a worker process."""

    box: frames.Box | None
    points: np.ndarray          # float64 [68, 2], whole-frame pixels
    shape: tuple[int, int]

    def scaled(self, size: int) -> tuple[frames.Box | None, np.ndarray]:
        """(crop box, the landmarks in the crop resized to `size` pixels)."""
        if self.box is None:
            height, width = self.shape
            return None, self.points * np.array([size / width, size / height])
        return self.box, (self.points - np.array(self.box[:2])) * size / (self.box[2] - self.box[0])


def face_of_images(images, size: int, name: str, whole: bool = False, margin: float = 0.25,
                   enough: int | None = None) -> tuple[frames.Box | None, np.ndarray]:
    """(crop box, 68 landmarks inside the crop resized to `size`): `found_face(...).scaled(size)`."""
    return found_face(images, name, whole, margin, enough).scaled(size)


def found_face(images, name: str, whole: bool = False, margin: float = 0.25, enough: int | None = None) -> FoundFace:
    """The face of several frames of one recording: the median of their boxes and of their landmarks, so a blink,
    a turn or a missed detection in one frame does not move it. `images` may stream (a generator); with
    `enough`, it is left once that many show a face. `whole`: the frames are the face already (no box).
    `FaceNotFoundError` naming `name` when no frame shows a face."""
    boxes, points, tried, shape = [], [], 0, None
    for rgb in images:
        tried, shape = tried + 1, rgb.shape
        try:
            found = landmarks(rgb)
        except FaceNotFoundError:
            continue
        boxes.append(crop_box(found, (rgb.shape[1], rgb.shape[0]), margin))
        points.append(found)
        if enough and len(boxes) >= enough:
            break
    if not boxes:
        raise FaceNotFoundError(f"{name}: no face in any of the {tried} frames tried")
    if len(boxes) < tried:
        logging.warning("%s: a face in %d of the %d frames tried; the box is the median of theirs", name,
                        len(boxes), tried)
    median_points = np.median(np.asarray(points), axis=0)
    if whole:
        return FoundFace(None, median_points, tuple(shape[:2]))
    x0, y0, x1, y1 = np.median(np.asarray(boxes, np.float64), axis=0)
    side = int(round(min(x1 - x0, y1 - y0)))
    box = (int(round(x0)), int(round(y0)), int(round(x0)) + side, int(round(y0)) + side)
    return FoundFace(box, median_points, tuple(shape[:2]))


SEARCH_LOOKS = 64     # frames looked at, at most, for a face that the spread tries all miss


def recording_face(count: int, fps: float | None, images_at, size: int, name: str, tries: int = 7,
                   margin: float = 0.25, whole: bool = False):
    """(crop box, landmarks in the `size`-pixel crop): `recording_found_face(...).scaled(size)`."""
    return recording_found_face(count, fps, images_at, name, tries, margin, whole).scaled(size)


def recording_found_face(count: int, fps: float | None, images_at, name: str, tries: int = 7, margin: float = 0.25,
                         whole: bool = False) -> FoundFace:
    """`found_face` of `tries` frames spread through a recording of `count` frames (`images_at(indices)`: its
    whole frames there, in order). Where none shows the face (it enters late or stays briefly), it is searched
    for a few times a second (`search_looks`), and the box comes from the first `tries` frames of those that
    show it: always from frames where the face is."""
    picks = spread_picks(count, tries)
    try:
        return found_face(images_at(picks), name, whole, margin)
    except FaceNotFoundError:
        looks = [int(i) for i in search_looks(count, fps) if i not in set(picks)]
        if not looks:
            raise
    try:
        return found_face(images_at(looks), name, whole, margin, enough=tries)
    except FaceNotFoundError as e:
        raise FaceNotFoundError(f"{name}: no face found in any of the {len(picks) + len(looks)} frames tried, a "
                                "few a second through the recording") from e


def spread_picks(count: int, tries: int) -> list[int]:
    """The frames a recording's face is first looked for in: `tries` spread through its `count`."""
    return sorted({int(round(x)) for x in np.linspace(0, count - 1, min(tries, count))})


def video_face(paths, size: int, tries: int = 7, margin: float = 0.25, whole: bool = False):
    """`recording_face` of a video's frame files."""
    return recording_face(len(paths), None, lambda indices: (np.asarray(frames.open_rgb(paths[i])) for i in indices),
                          size, os.path.dirname(paths[0]), tries, margin, whole)


# ------------------------------------------------------------------------------------- where the face is

PRESENCE_PER_SECOND = 4        # frames checked for the face per second of recording
PRESENCE_EVERY = 8             # ... every this many frames where the rate is unknown
PRESENCE_SIDE = 160            # the face box is scaled to about this many pixels before detection


def presence_every(fps: float | None) -> int:
    """Frames between two looks for the face: a few per second."""
    return max(1, int(round(fps / PRESENCE_PER_SECOND))) if fps else PRESENCE_EVERY


def presence_samples(count: int, fps: float | None) -> np.ndarray:
    """Indices of the frames to look for the face in: every `presence_every`-th, the last included."""
    return np.unique(np.r_[np.arange(0, count, presence_every(fps)), count - 1])


def face_in_box(image: np.ndarray, box: frames.Box) -> bool:
    """Whether dlib finds a face whose centre lies in `box` (the recording's one crop box) in a whole frame,
    scaled so that the box is about PRESENCE_SIDE pixels (fast, and large enough for the detector)."""
    detector = _detector()
    scale = min(1.0, PRESENCE_SIDE / max(1, box[2] - box[0]))
    if scale < 1.0:
        image = np.asarray(Image.fromarray(np.asarray(image, np.uint8)).resize(
            (max(1, int(image.shape[1] * scale)), max(1, int(image.shape[0] * scale))), Image.BILINEAR))
    for face in detector(np.ascontiguousarray(image), 0 if scale < 1.0 else 1):
        cx, cy = (face.left() + face.right()) / 2 / scale, (face.top() + face.bottom()) / 2 / scale
        if box[0] <= cx <= box[2] and box[1] <= cy <= box[3]:
            return True
    return False


def search_looks(count: int, fps: float | None) -> np.ndarray:
    """Frames to search for a face that the spread tries missed: the presence looks, at most SEARCH_LOOKS of
    them spread through the recording (a long recording without a face is not searched frame by frame)."""
    looks = presence_samples(count, fps)
    if len(looks) > SEARCH_LOOKS:
        looks = looks[np.linspace(0, len(looks) - 1, SEARCH_LOOKS).round().astype(int)]
    return looks


def presence(count: int, fps: float | None, box: frames.Box, images_at) -> np.ndarray:
    """bool [count]: where a recording of `count` frames shows its face, from `images_at(indices)` (the whole
    frames at those indices, in order) looked at `presence_samples` times; where two neighbouring looks
    disagree (the face enters or leaves between them), every frame between them is looked at too, so the
    frames without the face are found to the frame."""
    sampled = presence_samples(count, fps)
    found = np.asarray([face_in_box(image, box) for image in images_at(sampled)], bool)
    between = [i for k in np.flatnonzero(found[1:] != found[:-1]) for i in range(sampled[k] + 1, sampled[k + 1])]
    if between:
        sampled = np.r_[sampled, between]
        found = np.r_[found, [face_in_box(image, box) for image in images_at(between)]]
        order = np.argsort(sampled)
        sampled, found = sampled[order], found[order]
    return presence_mask(count, sampled, found)


def presence_mask(count: int, sampled: np.ndarray, found: np.ndarray) -> np.ndarray:
    """bool [count]: a frame shows the face when the checked frames on both sides of it (itself, if checked)
    do; anything between a checked frame without the face and its neighbours is taken as face-less."""
    sampled, found = np.asarray(sampled), np.asarray(found, bool)
    position = np.arange(count)
    after = np.clip(np.searchsorted(sampled, position, side="left"), 0, len(sampled) - 1)
    before = np.clip(np.searchsorted(sampled, position, side="right") - 1, 0, len(sampled) - 1)
    return found[before] & found[after]


def missing_spans(frame_numbers: np.ndarray, present: np.ndarray) -> list[tuple[int, int]]:
    """(first, last) frame numbers of each run of frames without the face."""
    spans, start, previous = [], None, None
    for number, here in zip(np.asarray(frame_numbers).tolist(), np.asarray(present).tolist()):
        if not here and start is None:
            start = number
        if here and start is not None:
            spans.append((start, previous))
            start = None
        previous = number
    if start is not None:
        spans.append((start, previous))
    return spans


def absence_warning(frame_numbers: np.ndarray, present: np.ndarray) -> str | None:
    """The line prediction outputs carry when the face is missing from some frames (None when it never is)."""
    spans = missing_spans(frame_numbers, present)
    if not spans:
        return None
    shown = ", ".join(f"{a}-{b}" if a != b else f"{a}" for a, b in spans[:5]) + (", ..." if len(spans) > 5 else "")
    return (f"no face in {int((~np.asarray(present)).sum())} of {len(present)} frames ({shown}): "
            "they are not scored")
