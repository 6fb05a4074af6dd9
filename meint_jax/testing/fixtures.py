"""Writers for fixture files laid out like the real datasets (generated, never real data)."""

import os

import numpy as np
import openpyxl
from PIL import Image
from scipy import ndimage


def write_sheet(path, rows):
    """An .xlsx coding sheet with `rows` in its first worksheet."""
    workbook = openpyxl.Workbook()
    for row in rows:
        workbook.active.append(row)
    workbook.save(path)
    return str(path)


def write_jpeg(path, rng, shape=(48, 40)):
    """A smooth, photo-like frame (random, so every frame differs)."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    pixels = ndimage.gaussian_filter(rng.uniform(0, 255, shape + (3,)), sigma=(3, 3, 0))
    pixels = (pixels - pixels.min()) / (np.ptp(pixels) + 1e-8) * 200 + 30
    Image.fromarray(pixels.astype(np.uint8)).save(path, quality=95)
