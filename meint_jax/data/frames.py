"""List a clip's frame files in order and read them into one uint8 array, cropped and resized alike.

Used by the dataset builders and by prediction on a user's own frames, so a
model sees the same preprocessing in both. One crop box per clip: per-frame
boxes jitter and drown the motion being measured.
"""

from __future__ import annotations

import collections
import functools
import math
import os
import re
from typing import Sequence

import numpy as np
from PIL import Image

from meint_jax.common.errors import UserError


class FrameError(UserError):
    """A frame file cannot be used; the message names the file."""


Box = tuple[int, int, int, int]  # left, top, right, bottom in pixels

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp")


def list_frames(folder: str) -> list[tuple[int, str]]:
    """(frame number, path) of the images in `folder`, in frame order (img9 before img10).

    Every name is read as text and runs of digits; the frame number is the one
    run that changes from file to file (`img46.jpg` -> 46, `006_05562.jpg` ->
    5562, `0088_cam2.jpg` -> 88). A folder whose names do not share one such
    pattern, where more than one number changes, or where two images share a
    frame number (`img40.png` beside `img40.jpg`) is refused with `FrameError`:
    any order chosen for it would be a guess. A folder of one image takes its
    last number (nothing changes to tell which).
    """
    names = sorted(n for n in os.listdir(folder) if os.path.splitext(n)[1].lower() in IMAGE_EXTENSIONS)
    if not names:
        return []
    parsed = {}
    for name in names:
        parts = re.split(r"(\d+)", os.path.splitext(name)[0])
        parsed[name] = (tuple(parts[0::2]), [int(d) for d in parts[1::2]])
    patterns = collections.defaultdict(list)
    for name, (text, digits) in parsed.items():
        patterns[(text, len(digits))].append(name)
    if len(patterns) > 1:
        examples = ", ".join(group[0] for group in patterns.values())
        raise FrameError(f"{folder}: image names follow {len(patterns)} patterns ({examples}): "
                         "cannot tell the frames' order; keep only the frames in this folder")
    (_, count), = patterns
    if count == 0:
        raise FrameError(f"{folder}: image names carry no frame number (e.g. {names[0]})")
    digits = [parsed[name][1] for name in names]
    changing = [i for i in range(count) if len({d[i] for d in digits}) > 1]
    if len(changing) > 1:
        raise FrameError(f"{folder}: more than one number changes between image names ({names[0]}, {names[-1]}): "
                         "cannot tell which is the frame number")
    position = changing[0] if changing else count - 1
    numbers = [d[position] for d in digits]
    repeated = [n for n, c in collections.Counter(numbers).items() if c > 1]
    if repeated:
        same = [name for name, n in zip(names, numbers) if n == repeated[0]]
        raise FrameError(f"{folder}: {len(same)} images for frame {repeated[0]} ({', '.join(same)}): keep one")
    return sorted((n, os.path.join(folder, name)) for n, name in zip(numbers, names))


def open_rgb(path: str) -> Image.Image:
    """One frame file as an RGB image, decoded whole; `FrameError` names a file that cannot be."""
    try:
        with Image.open(path) as image:
            image = image.convert("RGB")
            image.load()
            return image
    except (OSError, SyntaxError, ValueError) as e:
        raise FrameError(f"{path}: unreadable or corrupt image ({e})") from e


def read_clip(paths: Sequence[str], size: int, box: Box | None = None) -> np.ndarray:
    """uint8 [N, size, size, 3]: each frame cropped to `box` (or whole) and resized."""
    out = np.empty((len(paths), size, size, 3), np.uint8)
    first_shape = None
    for i, path in enumerate(paths):
        image = open_rgb(path)
        if first_shape is None:
            first_shape = image.size
        elif image.size != first_shape:
            raise FrameError(f"{path}: frame size {image.size} differs from the clip's first frame {first_shape}")
        out[i] = _crop_resize(image, size, box)
    return out


def _crop_resize(image: Image.Image, size: int, box: Box | None) -> np.ndarray:
    if box is not None:
        image = image.crop(box)
    return np.asarray(image.resize((size, size), Image.BILINEAR, reducing_gap=3.0))


def resize_clip(images: np.ndarray, size: int, box: Box | None = None) -> np.ndarray:
    """uint8 [N, H, W, 3] -> [N, size, size, 3], cropped and resized exactly as `read_clip` does."""
    return np.stack([_crop_resize(Image.fromarray(np.asarray(image, np.uint8)), size, box) for image in images])


def face_frames(frames: np.ndarray, size: int) -> np.ndarray:
    """Face-cropped uint8 frames [N, H, W, 3] at `size` (resized as `resize_clip` where they are not); a
    ValueError for anything else (a model's frames come through here before inference)."""
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ValueError(f"frames must be uint8 [N, H, W, 3]; got {frames.dtype} {frames.shape}")
    return frames if frames.shape[1:3] == (size, size) else resize_clip(frames, size)


@functools.lru_cache(maxsize=64)
def _area_weights(in_size: int, out_size: int) -> np.ndarray:
    """[out, in]: the fraction of each output pixel's footprint that each input pixel covers."""
    scale = in_size / out_size
    weights = np.zeros((out_size, in_size), np.float32)
    for i in range(out_size):
        lo, hi = i * scale, (i + 1) * scale
        for j in range(int(math.floor(lo)), min(int(math.ceil(hi)), in_size)):
            weights[i, j] = min(hi, j + 1) - max(lo, j)
    return weights / weights.sum(axis=1, keepdims=True)


def area_resize(images: np.ndarray, size: int) -> np.ndarray:
    """uint8 [N, H, W, 3] -> [N, size, size, 3] by area averaging (shrinking: TensorFlow's "area").

    The model's input resize, in numpy so that training (inside tf.data) and
    prediction (no TensorFlow) run the very same arithmetic.
    """
    images = np.asarray(images)
    rows, cols = _area_weights(images.shape[1], size), _area_weights(images.shape[2], size)
    x = rows @ images.transpose(0, 3, 1, 2).astype(np.float32) @ cols.T   # [N, 3, size, size], BLAS
    return np.clip(np.round(x), 0, 255).astype(np.uint8).transpose(0, 2, 3, 1)
