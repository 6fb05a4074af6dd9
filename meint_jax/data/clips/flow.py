"""Paper 002's region motion for trimmed clips: a clip's face frames -> each window's [T, 36] motion.

Clip recognition with `model.inputs='flow'` trains on what the spotting network sees in long videos: each
of the 18 regions' Farneback motion, nose subtracted (`flow_features`). As for long videos, each clip's
region trajectories are computed once (its expression's frames, onset to offset, at `size` pixels) and a
window's motion is its rows minus its first row, so training, evaluation, resumed runs and prediction all
read the same numbers whatever windows they draw.

The regions are placed by dlib's 68 points on the clip's stored onset frame (enlarged so that small crops
are found) or, where dlib finds no face or `landmarks='template'`, by a template: the mean of the synthetic
generator's faces, framed as our dlib crops are (brows, eyes and mouth in the middle two thirds). A
dataset's own crops, such as CASME II's, may be framed otherwise, so each clip records which placed its
regions. On the synthetic faces the template is the better of the two (mean error 1.0-1.9 px at 112 px
against dlib's 2.9-5.9 px: dlib finds the procedural faces when enlarged but misreads them), so their
configs use it.
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np

from meint_jax.data import faces, flow_features
from meint_jax.data import frames as frames_lib
from meint_jax.data.clips import synthetic

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


@dataclasses.dataclass(frozen=True)
class ClipMotion:
    """One clip's region trajectories over its expression's frames, and where its regions came from."""

    frame_numbers: np.ndarray     # int [N]: the frames from onset to offset
    trajectories: np.ndarray      # float32 [N, 36]: each region's displacement since the onset frame
    landmarks: str                # "dlib" or "template"

    def window(self, positions: np.ndarray) -> np.ndarray:
        """float32 [T, 36]: the motion since the window's first frame at frame numbers `positions` (each
        taken at the nearest of the clip's expression frames)."""
        index = np.clip(np.searchsorted(self.frame_numbers, positions), 0, len(self.frame_numbers) - 1)
        before = np.maximum(index - 1, 0)
        closer = np.abs(self.frame_numbers[before] - positions) < np.abs(self.frame_numbers[index] - positions)
        rows = self.trajectories[np.where(closer, before, index)]
        return flow_features.relative_to_window_start(rows)


def clip_motion(frames: np.ndarray, frame_numbers: np.ndarray, onset: int, offset: int, size: int,
                landmarks: str = "dlib") -> ClipMotion:
    """The `ClipMotion` of a clip's uint8 square face frames [N, S, S, 3] numbered `frame_numbers`, between
    onset and offset (frame numbers), computed at `size` pixels (at most S: frames are never enlarged)."""
    if landmarks not in LANDMARKS:
        raise ValueError(f"unknown landmarks {landmarks!r}; use one of {LANDMARKS}")
    frames, numbers = np.asarray(frames), np.asarray(frame_numbers)
    if size > frames.shape[1]:
        raise ValueError(f"a flow size of {size} px is larger than the {frames.shape[1]}-px frames "
                         f"(config.data.flow_size): use at most {frames.shape[1]}")
    inside = np.flatnonzero((numbers >= onset) & (numbers <= offset))
    if len(inside) == 0:
        raise ValueError(f"no frame between onset {onset} and offset {offset}")
    # dlib reads the stored onset frame (finer than the flow's size); its points are scaled to that size.
    points = crop_landmarks(frames[inside[0]]) if landmarks == "dlib" else None
    source = "dlib" if points is not None else "template"
    points = template_landmarks(size) if points is None else points * size / frames.shape[1]
    crops = frames_lib.area_resize(frames[inside], size)
    return ClipMotion(numbers[inside], flow_features.region_trajectories(crops, points, size), source)


def motion_key(clip_id, onset) -> str:
    """A clip's key among motions: its id and onset (two expressions of one recording share the id)."""
    return f"{_text(clip_id)}@{int(onset)}"


def windows_of(motions: dict, clip_ids, onsets, positions) -> np.ndarray:
    """float32 [B, T, 36]: the motion of each window (its clip's id and onset, its frame numbers)."""
    return np.stack([motions[motion_key(c, o)].window(p) for c, o, p in zip(clip_ids, onsets, positions)])


def _text(x) -> str:
    return x.decode() if isinstance(x, bytes) else str(x)
