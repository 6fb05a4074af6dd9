"""Per-frame optical-flow features of 18 facial regions (paper 002's input), from a well-kept flow.

For each frame, each region's mean (dx, dy) motion in pixels of a `size` x
`size` face crop, minus the nose's motion (which cancels head translation):
36 numbers per frame. Regions come from dlib's 68 landmarks, placed once per
video on the fixed crop (docs/design.md, "Flow features").

Stored form: each region's *trajectory*, its displacement since the video's
first frame. Frame i is compared by Farneback flow (OpenCV) with an anchor
frame, re-chosen every `anchor_every` frames, and the anchor's own trajectory
is added. The motion "relative to the start of its window", which models
take, is then `relative_to_window_start(trajectory)`: a window's rows minus its
first row, for a window at any position and of any length, and for every k-th
frame as cheaply as for all. Pooling is a plain mean, so differences of
trajectories are the motion between the two frames up to flow error (paper
002 pools the 20-30 % fastest pixels of each region instead: a non-linear pool
that cannot be differenced).
"""

from __future__ import annotations

from typing import Iterable

import numpy as np

# paper 002's Farneback settings (pyramid scale, levels, window, iterations, poly_n, poly_sigma, flags).
FARNEBACK = (0.5, 3, 15, 5, 7, 1.5, 0)

# Region name -> (landmark indices whose mean is its centre, or whose bounding box it is with "box").
# Sizes are fractions of the crop side; paper 002's 20-px boxes in its 320-px crop are 1/16.
POINT = 1 / 32          # half side of a point region
REGIONS = (
    ("left_brow", "box", range(17, 22)),
    ("left_brow_20", "point", (20,)),
    ("left_brow_19", "point", (19,)),
    ("left_brow_18", "point", (18,)),
    ("right_brow", "box", range(22, 27)),
    ("right_brow_23", "point", (23,)),
    ("right_brow_24", "point", (24,)),
    ("right_brow_25", "point", (25,)),
    ("mouth", "box", range(48, 67)),
    ("mouth_corner_48", "point", (48,)),
    ("mouth_corner_54", "point", (54,)),
    ("upper_lip_51", "point", (51,)),
    ("lower_lip_57", "point", (57,)),
    ("inner_lip_62", "point", (62,)),
    ("nose_side_31", "above", (31,)),
    ("nose_side_35", "above", (35,)),
    ("under_left_eye", "below", range(36, 42)),
    ("under_right_eye", "below", range(42, 48)),
)
REGION_NAMES = tuple(name for name, _, _ in REGIONS)
NUM_FEATURES = 2 * len(REGIONS)   # (dx, dy) per region, in REGIONS order: dx0, dy0, dx1, dy1, ...
NOSE = (29, 30)                   # the reference region: the nose bridge's lower end moves with the head


def region_boxes(landmarks: np.ndarray, size: int) -> np.ndarray:
    """int [19, 4] boxes (x0, y0, x1, y1; end exclusive) in a `size`-pixel crop: the 18 regions, then the nose.

    `landmarks` are the 68 (x, y) points in that crop's pixels.
    """
    pts = np.asarray(landmarks, np.float64)
    half = max(POINT * size, 1.5)
    margin = max(size / 64, 1.0)
    boxes = []
    for _, kind, index in REGIONS:
        p = pts[list(index)]
        if kind == "box":
            (x0, y0), (x1, y1) = p.min(axis=0) - margin, p.max(axis=0) + margin
        elif kind == "point":
            (cx, cy), = p
            x0, y0, x1, y1 = cx - half, cy - half, cx + half, cy + half
        elif kind == "above":      # beside the nostril, reaching up the nose's flank
            (cx, cy), = p
            x0, y0, x1, y1 = cx - half, cy - 2.5 * half, cx + half, cy + 0.5 * half
        else:                      # below: the cheek under an eye, as wide as the eye, half as tall
            (ex0, ey0), (ex1, ey1) = p.min(axis=0), p.max(axis=0)
            height = (ex1 - ex0) / 2
            centre = (ey0 + ey1) / 2
            x0, y0, x1, y1 = ex0, centre + height / 2, ex1, centre + 1.5 * height
        boxes.append((x0, y0, x1, y1))
    (cx, cy) = pts[list(NOSE)].mean(axis=0)
    nose_half = max(size * 13 / 320, 2.0)
    boxes.append((cx - nose_half, cy - nose_half, cx + nose_half, cy + nose_half))
    boxes = np.round(np.asarray(boxes))
    boxes[:, :2] = np.clip(boxes[:, :2], 0, size - 1)
    boxes[:, 2:] = np.clip(boxes[:, 2:], boxes[:, :2] + 1, size)
    return boxes.astype(np.int32)


def pooled_motion(flow: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """float [B, 2]: the mean (dx, dy) of a [H, W, 2] flow field inside each box."""
    return np.stack([flow[y0:y1, x0:x1].reshape(-1, 2).mean(axis=0) for x0, y0, x1, y1 in boxes])


def farneback(reference: np.ndarray, frame: np.ndarray) -> np.ndarray:
    """Dense flow [H, W, 2] from one grey uint8 frame to the next (OpenCV's Farneback)."""
    import cv2

    return cv2.calcOpticalFlowFarneback(reference, frame, None, *FARNEBACK)


def to_grey(frame: np.ndarray) -> np.ndarray:
    """uint8 [H, W, 3] RGB -> [H, W] luma (ITU-R 601, as OpenCV and PIL compute it)."""
    import cv2

    return cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2GRAY)


class TrajectoryTracker:
    """Feeds frames one at a time; returns each frame's 36 region trajectories (nose subtracted).

    Holds one anchor frame, never the video: what a builder needs to stream a long recording.
    """

    def __init__(self, landmarks: np.ndarray, size: int, anchor_every: int = 25):
        if anchor_every < 1:
            raise ValueError(f"anchor_every={anchor_every} must be at least 1")
        self.boxes = region_boxes(landmarks, size)
        self.size, self.anchor_every = size, anchor_every
        self.anchor = None
        self.anchor_position = np.zeros((len(self.boxes), 2))
        self.count = 0

    def update(self, frame: np.ndarray) -> np.ndarray:
        grey = frame if frame.ndim == 2 else to_grey(frame)
        if grey.shape != (self.size, self.size):
            raise ValueError(f"frame of shape {grey.shape}: the tracker was set up for {self.size}x{self.size}")
        if self.anchor is None:
            position = self.anchor_position
        else:
            position = self.anchor_position + pooled_motion(farneback(self.anchor, grey), self.boxes)
        if self.count % self.anchor_every == 0:
            self.anchor, self.anchor_position = grey, position
        self.count += 1
        relative = position[:-1] - position[-1]      # every region minus the nose
        return relative.reshape(-1).astype(np.float32)


def region_trajectories(frames: Iterable[np.ndarray], landmarks: np.ndarray, size: int,
                        anchor_every: int = 25) -> np.ndarray:
    """float32 [N, 36]: the stored features of a sequence of `size` x `size` face frames (RGB or grey)."""
    tracker = TrajectoryTracker(landmarks, size, anchor_every)
    rows = [tracker.update(frame) for frame in frames]
    return np.stack(rows) if rows else np.zeros((0, NUM_FEATURES), np.float32)


def relative_to_window_start(trajectories: np.ndarray) -> np.ndarray:
    """[..., T, 36] trajectories of windows -> each region's motion since its window's first frame."""
    trajectories = np.asarray(trajectories)
    return trajectories - trajectories[..., :1, :]
