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

`PaperTracker` (builder config `features_paper`) computes paper 002's own
features instead, stored in the same [N, 36] form: see its section below.
"""

from __future__ import annotations

from typing import Callable, Iterable

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


def anchor_motions(greys, boxes: np.ndarray, first: int, anchor_every: int = 25) -> np.ndarray:
    """float64 [n - 1, B, 2]: what `TrajectoryTracker` adds to an anchor's position for frames first + 1 ..
    first + n - 1, from n grey frames starting at frame `first` (0 or an anchor: a multiple of `anchor_every`),
    whose anchors then all lie among them. Chunks that share their end frames run apart (in parallel) and
    `TrajectoryChain` joins them into the tracker's very numbers."""
    if first % anchor_every:
        raise ValueError(f"a chunk starting at frame {first} does not start on an anchor (every {anchor_every})")
    motions = np.empty((max(len(greys) - 1, 0), len(boxes), 2))
    for k in range(1, len(greys)):
        anchor = (first + k - 1) // anchor_every * anchor_every - first
        motions[k - 1] = pooled_motion(farneback(greys[anchor], greys[k]), boxes)
    return motions


class TrajectoryChain:
    """`TrajectoryTracker`'s rows from the motions `anchor_motions` gives, fed in frame order: the same sums in
    the same order, so the same float32 rows. Frame 0 is the origin (`first_row`)."""

    def __init__(self, num_boxes: int, anchor_every: int = 25):
        self.anchor_every = anchor_every
        self.anchor_position = np.zeros((num_boxes, 2))
        self.count = 1

    def first_row(self) -> np.ndarray:
        return np.zeros(2 * (len(self.anchor_position) - 1), np.float32)

    def extend(self, motions: np.ndarray) -> np.ndarray:
        """float32 [m, 36]: the rows of the next m frames, from their motions [m, B, 2]."""
        positions = np.empty_like(motions)
        for k, motion in enumerate(motions):
            positions[k] = self.anchor_position + motion
            if self.count % self.anchor_every == 0:
                self.anchor_position = positions[k]
            self.count += 1
        return (positions[:, :-1] - positions[:, -1:]).reshape(len(motions), -1).astype(np.float32)


def relative_to_window_start(trajectories: np.ndarray) -> np.ndarray:
    """[..., T, 36] trajectories of windows -> each region's motion since its window's first frame."""
    trajectories = np.asarray(trajectories)
    return trajectories - trajectories[..., :1, :]


# ------------------------------------------------------------------ paper 002's own features (features="paper")
# PaperTracker's docstring says what is theirs and how it is stored; the numbers below are theirs.

PAPER_SIZE = 320          # their crop side (every margin below is in its pixels)
FASTEST = {"whole": 0.3, "left_brow_point": 0.2, "right_brow_point": 0.3, "mouth_point": 0.2,
           "nose_point": 0.2, "under_eye": 0.3, "nose_tip": 0.7}
# Their two settings, (frame rate, frames skipped, window k): CAS(ME)^2 / CAS(ME)^3 and SAMM-LV.
PAPER_WINDOWS = ((30.0, 1, 50), (200.0, 7, 30))


def paper_hop(fps: float | None) -> int:
    """Frames between two of paper 002's window starts: k/2 of every `skip`-th frame. At 30 fps theirs is
    25 (every frame, k = 50); from 60 fps on, SAMM-LV's k = 30 with the skip scaled to the frame rate (7 at
    200 fps: 105; 4 at SMIC-E's 100 fps, as configs/spotting/smic_e.py takes)."""
    (_, skip, k), (high_fps, high_skip, high_k) = PAPER_WINDOWS
    if fps and fps >= 60:
        skip, k = max(1, round(high_skip * fps / high_fps)), high_k
    return skip * (k // 2)


def fastest_mean(flow: np.ndarray, fraction: float) -> np.ndarray:
    """float64 (dx, dy): the mean flow of the `fraction` of pixels that move fastest; (0, 0) for no pixels."""
    import cv2

    if flow.size == 0:
        return np.zeros(2)
    magnitude, _ = cv2.cartToPolar(np.ascontiguousarray(flow[..., 0]), np.ascontiguousarray(flow[..., 1]))
    order = np.argsort(np.ravel(magnitude))
    kept = order[int(len(order) * (1 - fraction)):]
    return flow.reshape(-1, 2)[kept].astype(np.float64).mean(axis=0)


def _bounds(points: np.ndarray, first: int, stop: int, grow: int = 0) -> tuple[int, int, int, int]:
    """(x0, x1, y0, y1): the extremes of landmarks first..stop-1, grown by `grow`."""
    p = points[first:stop]
    return int(p[:, 0].min()) - grow, int(p[:, 0].max()) + grow, int(p[:, 1].min()) - grow, int(p[:, 1].max()) + grow


def paper_patches(points: np.ndarray) -> tuple[tuple, list[tuple]]:
    """Paper 002's patches of a 320-px crop from its int landmarks [68, 2]: (nose-tip patch, [region patches]).

    A patch is (rows, cols, pools), slices of the crop; each pool (rows, cols, fraction) is a box of the
    patch's flow, one per region in REGIONS' order. Slices keep their arithmetic as theirs, negative ends
    included (numpy then counts from the far side, as it does for them)."""
    p = np.asarray(points).astype(np.int64)

    def box(r, c, dy=(10, 10), dx=(10, 10)):
        return slice(r - dy[0], r + dy[1]), slice(c - dx[0], c + dx[1])

    patches = []
    x0, x1, y0, y1 = _bounds(p, 17, 22)          # left brow (in the image) and its points 20, 19, 18
    top = max(0, y0 - 15)
    trim_top = max(0, 10 + min(0, y0 - 15))
    trim_bottom = 4 if y1 + 5 - top - 3 < 10 + trim_top else 10
    pools = [(slice(trim_top, -trim_bottom), slice(10, -10), FASTEST["whole"])]
    pools += [(*box(p[k, 1] - (y0 - 15), p[k, 0] - (x0 - 5)), FASTEST["left_brow_point"]) for k in (20, 19, 18)]
    patches.append((slice(top, y1 + 5), slice(max(0, x0 - 5), x1), pools))

    x0, x1, y0, y1 = _bounds(p, 22, 27)          # right brow and its points 23, 24, 25
    trim_top = max(0, 10 + min(0, y0 - 15))
    pools = [(slice(trim_top, -10), slice(10, -10), FASTEST["whole"])]
    pools += [(*box(p[k, 1] - (y0 - 15), p[k, 0] - x0), FASTEST["right_brow_point"]) for k in (23, 24, 25)]
    patches.append((slice(max(0, y0 - 15), y1 + 5), slice(x0, x1), pools))

    x0, x1, y0, y1 = _bounds(p, 48, 67)          # mouth: corners 48, 54 (boxes reaching outwards), lips 51, 57, 62
    at = {k: (p[k, 1] - (y0 - 15), p[k, 0] - (x0 - 20)) for k in (48, 54, 51, 57, 62)}
    pools = [(slice(10, -10), slice(10, -10), FASTEST["whole"]),
             (*box(*at[48], dx=(10, 20)), FASTEST["mouth_point"]), (*box(*at[54], dx=(20, 10)), FASTEST["mouth_point"])]
    pools += [(*box(*at[k]), FASTEST["mouth_point"]) for k in (51, 57, 62)]
    patches.append((slice(y0 - 15, y1 + 10), slice(max(0, x0 - 20), x1 + 20), pools))

    x0, x1, y0, y1 = _bounds(p, 30, 36)          # the nose's sides, beside points 31 and 35, reaching up
    at = {k: (p[k, 1] - (y0 - 20), p[k, 0] - (x0 - 30)) for k in (31, 35)}
    pools = [(*box(*at[31], dy=(20, 5), dx=(20, 10)), FASTEST["nose_point"]),
             (*box(*at[35], dy=(20, 5), dx=(10, 20)), FASTEST["nose_point"])]
    patches.append((slice(y0 - 20, y1 + 5), slice(max(0, x0 - 30), x1 + 30), pools))

    for first in (36, 42):                       # under each eye: as wide as the eye, half as tall
        x0, x1, y0, y1 = _bounds(p, first, first + 6)
        height = (x1 - x0) / 2
        centre = (y1 + y0) / 2
        rows = slice(int(centre + height / 2), int(centre + 3 * height / 2))
        patches.append((rows, slice(max(0, x0), x1), [(slice(5, -5), slice(5, -5), FASTEST["under_eye"])]))

    x0, x1, y0, y1 = _bounds(p, 29, 31, grow=13)   # the nose tip: the head's motion, subtracted from every region
    nose = (slice(y0, y1), slice(x0, x1), [(slice(15, -10), slice(5, -5), FASTEST["nose_tip"])])
    return nose, patches


def _patch_motion(reference: np.ndarray, grey: np.ndarray, patch) -> list[np.ndarray]:
    """Each pool's fastest-pixel motion of one patch, from the reference crop to this one; zeros where the
    patch is empty (theirs checks the eyes' patches only, and stops with an error on the others)."""
    rows, cols, pools = patch
    before, after = reference[rows, cols], grey[rows, cols]
    if before.size == 0:
        return [np.zeros(2) for _ in pools]
    flow = farneback(np.ascontiguousarray(before), np.ascontiguousarray(after))
    return [fastest_mean(flow[r, c], fraction) for r, c, fraction in pools]


def paper_box(points: np.ndarray) -> list[int]:
    """[top, bottom, left, right] of paper 002's face crop in the whole frame, from its 68 landmarks: 9 g a
    side around the inner eye corners (g half their distance), 3.5 g above and 5.5 g below them, its top and
    left kept inside the frame (bottom and right are cut by the frame's edge when cropping)."""
    (lx, ly), (rx, ry) = points[39], points[42]
    g = int((rx - lx) / 2)
    cx, cy = int((rx + lx) / 2), int((ry + ly) / 2)
    return [max(cy - int(3.5 * g), 0), cy + int(5.5 * g), max(cx - int(4.5 * g), 0), cx + int(4.5 * g)]


def dlib_landmarks(grey: np.ndarray) -> np.ndarray | None:
    """68 (x, y) landmarks of the face dlib finds without upsampling (theirs: the first; here the largest),
    as whole pixels; None when there is none."""
    from meint_jax.data import faces

    try:
        return np.trunc(faces.landmarks(grey, upsample=0))
    except faces.FaceNotFoundError:
        return None


class PaperTracker:
    """Feeds whole grey (or RGB) frames one at a time; returns paper 002's 36 features of each as a trajectory.

    Theirs, for a window of k frames starting every k/2 (`hop`, `paper_hop`):
    - at its first frame, dlib's face (no upsampling) and 68 landmarks in the whole frame give a crop of 9 g a
      side around the inner eye corners (`paper_box`), resized to PAPER_SIZE = 320 px; the landmarks are found
      again in the crop (else the whole frame's are mapped in). Face, crop and regions are placed anew in
      every window;
    - seven patches of the crop (`paper_patches`: each brow, the mouth, the nose's sides, under each eye, and
      the nose tip), margins in pixels of the 320-px crop; the first frame's are the references;
    - each later frame is cropped with that box, first moved after the head: while the nose tip's motion
      exceeds 1 px (at most three times) the box shifts by it, taken as whole-frame pixels, and stays moved
      for the rest of the window;
    - Farneback flow (FARNEBACK, as ours) of each patch against its reference; each of the 18 regions (REGIONS'
      order) is the mean of the fastest pixels of its patch or of a box in it (`fastest_mean`, FASTEST: 30 %
      for whole patches and the right brow's points, 20 % for the other points, 70 % for the nose tip), minus
      the nose tip's. Their output is [36, k] per window; zeros until a frame of the window shows a face.

    Stored as ours is, a trajectory [N, 36]: anchors at their window starts; a frame holds the anchor's row
    plus its window's features; at the next start the old window's reading of that frame becomes the anchor.
    A window starting on their grid thus reads back (`relative_to_window_start`) exactly their features for
    its first hop + 1 frames; beyond them, the next window's chained on (theirs still compares with the first
    frame). Where ours differs: one face box and one set of regions per video on a fixed 224-px crop, plain
    means, a nose-bridge box for the head. Where this differs from theirs: every frame is read (SAMM-LV's
    every 7th in theirs, so the box may follow the head by other whole pixels there), the largest face rather
    than dlib's first, grey from RGB rather than decoded grey, and empty patches read zero (theirs stops).

    `find_landmarks(grey image)`: 68 (x, y) points or None (`dlib_landmarks` by default).
    """

    def __init__(self, hop: int, size: int = PAPER_SIZE, find_landmarks: Callable | None = None):
        if hop < 1:
            raise ValueError(f"hop={hop} must be at least 1")
        self.hop, self.size = hop, size
        self.find_landmarks = find_landmarks or dlib_landmarks
        self.anchor_position = np.zeros(NUM_FEATURES)
        self.window = None          # (box [top, bottom, left, right] in the whole frame, reference crop, patches)
        self.count = 0
        self.missed = 0             # frames at a window's start (or after it) where no face was found

    def _crop(self, grey: np.ndarray, box) -> np.ndarray | None:
        import cv2

        top, bottom, left, right = box
        face = grey[top:bottom, left:right]
        return cv2.resize(face, (self.size, self.size)) if face.size else None

    def _reference(self, grey: np.ndarray):
        """The window's box, reference crop and patches, from this frame; None when it shows no face."""
        points = self.find_landmarks(grey)
        if points is None:
            return None
        box = paper_box(points)
        crop = self._crop(grey, box)
        if crop is None:
            return None
        inside = self.find_landmarks(crop)
        if inside is None:     # the whole frame's points, mapped into the crop (truncated to whole pixels)
            scale = np.array([self.size / (box[3] - box[2]), self.size / (box[1] - box[0])])
            inside = np.trunc((np.asarray(points, np.float64) - (box[2], box[0])) * scale)
        return box, crop, paper_patches(inside)

    def _motion(self, grey: np.ndarray) -> np.ndarray:
        """[36]: this frame's regions against the window's first frame, minus the nose tip; the box follows
        the head first (their alignment)."""
        box, reference, (nose, patches) = self.window
        crop = self._crop(grey, box)
        if crop is None:
            return np.zeros(NUM_FEATURES)
        head = _patch_motion(reference, crop, nose)[0]
        moves = 0
        while head @ head > 1.0:
            moves += 1
            if moves > 3:
                break
            dx, dy = int(round(float(head[0]))), int(round(float(head[1])))
            box[2], box[0] = max(box[2] + dx, 0), max(box[0] + dy, 0)
            box[3], box[1] = box[3] + dx, box[1] + dy
            crop = self._crop(grey, box)
            if crop is None:
                return np.zeros(NUM_FEATURES)
            head = _patch_motion(reference, crop, nose)[0]
        regions = [m for patch in patches for m in _patch_motion(reference, crop, patch)]
        return (np.asarray(regions) - head).reshape(-1)

    def update(self, frame: np.ndarray) -> np.ndarray:
        grey = frame if frame.ndim == 2 else to_grey(frame)
        position = self.anchor_position if self.window is None else self.anchor_position + self._motion(grey)
        if self.count > 0 and self.count % self.hop == 0:       # a window starts: its first frame is the anchor
            self.anchor_position, self.window = position, None
        if self.window is None:
            self.window = self._reference(grey)
            self.missed += self.window is None
        self.count += 1
        return position.astype(np.float32)


def paper_trajectories(frames: Iterable[np.ndarray], hop: int, size: int = PAPER_SIZE,
                       find_landmarks: Callable | None = None) -> np.ndarray:
    """float32 [N, 36]: paper 002's features of a sequence of whole frames (grey or RGB), as trajectories."""
    tracker = PaperTracker(hop, size, find_landmarks)
    rows = [tracker.update(frame) for frame in frames]
    return np.stack(rows) if rows else np.zeros((0, NUM_FEATURES), np.float32)
