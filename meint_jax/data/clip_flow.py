"""Paper 002's region motion for trimmed clips: windows of face frames [B, T, S, S, 3] -> [B, T, 36].

Clip recognition with `model.inputs='flow'` trains on what the spotting network sees in long videos: each
of the 18 regions' Farneback motion since the window's first frame, nose subtracted (`flow_features`).
The regions are placed by dlib's 68 points found on the clip's face crop (upsampled so that small crops
are found) or, where dlib finds no face or `landmarks='template'`, by a template: the mean of the synthetic
generator's faces, which are framed as the builders' face crops are (brows, eyes and mouth in the middle
two thirds). On the synthetic faces the template is the better of the two (mean error 1.0-1.9 px at 112 px
against dlib's 2.9-5.9 px, which finds the procedural faces but misreads them), so their configs use it.
A clip's points are found once and kept under its id, so every window of it uses the same.
"""

from __future__ import annotations

import functools

import numpy as np
from absl import logging

from meint_jax.data import faces, flow_features, synthetic
from meint_jax.data import frames as frames_lib

LANDMARKS = ("dlib", "template")
DETECTION_SIZE = 224          # crops are enlarged to this side for dlib, whose detector misses small faces


@functools.lru_cache(maxsize=8)
def template_landmarks(size: int) -> np.ndarray:
    """float [68, 2]: the mean face of 32 synthetic identities, in pixels of a `size` crop."""
    identities = [synthetic.make_identity(np.random.default_rng(seed)) for seed in range(32)]
    return np.mean([synthetic.face_landmarks(identity, size) for identity in identities], axis=0)


def crop_landmarks(frame: np.ndarray) -> np.ndarray | None:
    """dlib's 68 points on one uint8 face crop [S, S, 3], in its pixels; None where no face is found."""
    size = frame.shape[0]
    scale = max(1.0, DETECTION_SIZE / size)
    image = frames_lib.area_resize(frame[None], int(round(size * scale)))[0] if scale > 1 else frame
    try:
        return faces.landmarks(image) / scale
    except faces.FaceNotFoundError:
        return None


class ClipFlow:
    """Windows of face crops -> region motion, with each clip's points found once (`found`/`templated`
    count the clips placed by dlib and by the template)."""

    def __init__(self, landmarks: str = "dlib"):
        if landmarks not in LANDMARKS:
            raise ValueError(f"unknown landmarks {landmarks!r}; use one of {LANDMARKS}")
        self.detect = landmarks == "dlib"
        self._points: dict = {}
        self.found = self.templated = 0

    def points(self, key, frame: np.ndarray) -> np.ndarray:
        if key is not None and key in self._points:
            return self._points[key]
        points = crop_landmarks(frame) if self.detect else None
        if points is None:
            points = template_landmarks(frame.shape[0])
            self.templated += 1
        else:
            self.found += 1
        if key is not None:
            self._points[key] = points
        return points

    def __call__(self, windows: np.ndarray, keys=None) -> np.ndarray:
        """float32 [B, T, 36] for uint8 windows [B, T, S, S, 3]; `keys` (one per window, e.g. clip ids)
        let later windows of a clip reuse its points."""
        windows = np.asarray(windows)
        if windows.ndim != 5 or windows.dtype != np.uint8:
            raise ValueError(f"expected uint8 windows [B, T, S, S, 3], got {windows.dtype} {windows.shape}")
        size, steps = windows.shape[2], windows.shape[1]
        out = np.empty(windows.shape[:2] + (flow_features.NUM_FEATURES,), np.float32)
        for i, window in enumerate(windows):
            points = self.points(None if keys is None else keys[i], window[0])
            # Every frame against the window's first (T frames of one expression: small motion).
            out[i] = flow_features.region_trajectories(window, points, size, anchor_every=steps + 1)
        return flow_features.relative_to_window_start(out)

    def log_counts(self, log=logging.info) -> None:
        log("clip flow: regions placed by dlib on %d clips, by the template on %d", self.found, self.templated)
