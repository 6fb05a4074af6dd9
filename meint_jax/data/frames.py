"""Read a clip's frame files into one uint8 array, cropped and resized alike.

Used by the dataset builders and by prediction on a user's own frames, so a
model sees the same preprocessing in both. One crop box per clip: per-frame
boxes jitter and drown the motion being measured.
"""

from __future__ import annotations

import functools
import math
from typing import Sequence

import numpy as np
from PIL import Image

from meint_jax.common.errors import UserError


class FrameError(UserError):
    """A frame file cannot be used; the message names the file."""


Box = tuple[int, int, int, int]  # left, top, right, bottom in pixels


def read_clip(paths: Sequence[str], size: int, box: Box | None = None) -> np.ndarray:
    """uint8 [N, size, size, 3]: each frame cropped to `box` (or whole) and resized."""
    out = np.empty((len(paths), size, size, 3), np.uint8)
    first_shape = None
    for i, path in enumerate(paths):
        try:
            with Image.open(path) as image:
                image = image.convert("RGB")
                image.load()
        except (OSError, SyntaxError, ValueError) as e:
            raise FrameError(f"{path}: unreadable or corrupt image ({e})") from e
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
