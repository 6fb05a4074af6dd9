"""Semi-real long videos: real face recordings with micro- and macro-movements written into them at known frames.

A recording is surveyed once, then decoded again for each use of each
rendition with its movements written in, always streaming (PyAV), never held
whole:
- a survey finds the face on every frame: dlib's detector a few times a second
  (at most `detect_width` pixels wide), its 68-point predictor on each frame
  between two detections that both found the face, the points then smoothed
  over time (dlib jitters by about a pixel) so that a movement rides on the
  head and not on landmark noise. A frame between a detection that found no
  face and its neighbours is face-less (as `faces.presence_mask` decides):
  nothing is written there, and it is marked;
- a script, seeded, places movements on frames with a face, non-overlapping
  and apart by neutral stretches: micro (0.2-0.5 s, 0.5-3 px at the apex for
  a 150 px face) and macro (0.5-4 s, larger). Each is an AU combination of the
  synthetic sets, hence an emotion; its true intensity is a smooth curve
  (`synthetic.intensity_curve`, never a triangle) and its interval is the
  curve's support, apex at the curve's peak;
- writing a frame moves its tissue by smooth local fields anchored on that
  frame's landmarks (brows, eyes, nose, mouth) and scaled with the face: the
  tissue at p lands at p + d(p) (the field inverted, then `cv2.remap`), and a
  movement too large for its AUs' reach is spread wider so that no tissue
  folds. The recording's own motion is kept: it is the distractor that real
  spotting faces.

`WrittenVideo` is a video source for `long_sources.analyse` and the long-video
builders (`face`, `chunks`, `read`), and cuts the clips of the clip variant.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Iterator

import numpy as np
from scipy import ndimage

from meint_jax.common.errors import UserError
from meint_jax.data import faces, frames
from meint_jax.data.clips import synthetic
from meint_jax.data.clips.clip import Clip
from meint_jax.data.long import videos as long_videos
from meint_jax.data.long.videos import Interval, LongVideo

REFERENCE_FACE_PX = 150.0   # movement sizes are given for a face this wide (landmarks 0 to 16), scaled with the face
AU_RADIUS = 0.08            # spread of an AU's tissue motion, as a share of the face's width
FACE_FRAMES = 25            # frames spread through a video whose landmarks are kept for its crop box

# AU -> (landmark groups whose means anchor it: (image-left side, image-right side) or (centre,), direction
# (outwards, downwards) in the face's own axes, radius as a share of AU_RADIUS). Image-left is the subject's right.
ACTION_UNITS = {
    "AU1": (((21, 20), (22, 23)), (0.0, -1.0), 1.0),        # inner brow raiser
    "AU2": (((17, 18), (26, 25)), (0.0, -1.0), 1.0),        # outer brow raiser
    "AU4": (((20, 21), (22, 23)), (-0.5, 0.85), 1.0),       # brow lowerer: down and inwards
    "AU6": (((40, 41, 1, 31), (47, 46, 15, 35)), (0.0, -1.0), 1.2),   # cheek raiser: the cheek under the eye
    "AU7": (((40, 41), (47, 46)), (0.0, -1.0), 0.6),        # lid tightener: the lower lid up
    "AU9": (((31, 39), (35, 42)), (-0.3, -0.95), 0.8),      # nose wrinkler: the nose's flanks up and in
    "AU10": (((49, 50), (53, 52)), (0.0, -1.0), 0.9),       # upper lip raiser
    "AU12": (((48,), (54,)), (0.55, -0.85), 1.0),           # lip corner puller: up and out
    "AU14": (((48,), (54,)), (1.0, 0.0), 0.9),              # dimpler: corners outwards
    "AU15": (((48,), (54,)), (0.0, 1.0), 1.0),              # lip corner depressor
    "AU17": (((57, 8),), (0.0, -1.0), 1.2),                 # chin raiser
}

# The synthetic sets' AU combinations and emotions, with the nose wrinkle and the lid tightener alone added.
EXPRESSIONS = synthetic.EXPRESSIONS + (
    (("AU9",), "disgust"),
    (("AU4", "AU9"), "disgust"),
    (("AU7",), "others"),
)
EMOTIONS = synthetic.EMOTIONS


class UnreadableVideo(UserError):
    """A video file that cannot be decoded (or has no frame rate); the message names it."""


@dataclasses.dataclass(frozen=True)
class SemirealConfig:
    """What is written into each recording; durations in seconds, sizes in px at the apex for a 150 px face."""

    renditions: int = 1                   # differently seeded versions of each recording (one subject: its own)
    min_micro: int = 1                    # movements tried per video: at least these, plus a Poisson number
    micro_per_minute: float = 4.0         # ... at these rates per minute of face
    min_macro: int = 1
    macro_per_minute: float = 3.0
    micro_seconds: tuple[float, float] = (0.2, 0.5)
    macro_seconds: tuple[float, float] = (0.5, 4.0)
    micro_px: tuple[float, float] = (0.5, 3.0)
    macro_px: tuple[float, float] = (4.0, 10.0)
    min_gap_seconds: float = 0.5          # neutral frames with a face around every movement
    smooth_seconds: float = 0.05          # Gaussian sigma of the landmarks' smoothing over time
    detect_width: int = 640               # frames are scaled to at most this for the face detector ...
    detect_upsample: int = 1              # ... which then doubles them this many times (1: faces from 40 px)
    seed: int = 0


# ------------------------------------------------------------------------------------------- reading

@dataclasses.dataclass(frozen=True, eq=False)
class Recording:
    """A video file and what its survey found: where the face is, and its landmarks on each frame."""

    path: str
    fps: float
    width: int
    height: int
    pts: np.ndarray | None       # int64 [N] each frame's timestamp (for seeking); None where a frame lacks one
    landmarks: np.ndarray | None   # float32 [N, 68, 2] smoothed, whole-frame pixels, NaN on face-less frames;
                                   # None in a script's copy, which keeps the frames it needs (`WrittenVideo.points`)
    present: np.ndarray          # bool [N]
    warnings: tuple[str, ...] = ()

    @property
    def num_frames(self) -> int:
        return len(self.present)


@functools.lru_cache(maxsize=1)
def _dlib():
    import dlib

    return dlib.get_frontal_face_detector(), dlib.shape_predictor(faces.landmark_model_path())


def _detect(rgb: np.ndarray, width: int, upsample: int):
    """(left, top, right, bottom) of the largest face, in the frame's pixels; None if there is none."""
    import cv2

    detector, _ = _dlib()
    scale = min(1.0, width / max(rgb.shape[:2]))
    small = rgb if scale == 1.0 else cv2.resize(rgb, (round(rgb.shape[1] * scale), round(rgb.shape[0] * scale)),
                                                interpolation=cv2.INTER_AREA)
    found = detector(np.ascontiguousarray(small), upsample)
    if not found:
        return None
    face = max(found, key=lambda r: r.width() * r.height())
    return np.array([face.left(), face.top(), face.right(), face.bottom()], np.float64) / scale


def _points(rgb: np.ndarray, box) -> np.ndarray:
    import dlib

    _, predictor = _dlib()
    rect = dlib.rectangle(*(int(round(v)) for v in box))
    return np.array([(p.x, p.y) for p in predictor(np.ascontiguousarray(rgb), rect).parts()], np.float32)


def _open(path: str):
    import av

    try:
        container = av.open(path)
    except (av.error.FFmpegError, UnicodeDecodeError) as e:
        raise UnreadableVideo(f"{path}: cannot open the video ({e})") from e
    if not container.streams.video:
        container.close()
        raise UnreadableVideo(f"{path}: no video stream")
    return container, container.streams.video[0]


def survey(path: str, cfg: SemirealConfig) -> Recording:
    """One decoding pass: the face's landmarks on every frame where it is. `UnreadableVideo` for a file that
    cannot be decoded, `faces.FaceNotFoundError` for one with no face anywhere."""
    import av

    container, stream = _open(path)
    stamps, points, present = [], [], []
    with container:
        rate = stream.average_rate or stream.guessed_rate
        if not rate or rate <= 0:
            raise UnreadableVideo(f"{path}: the video states no frame rate")
        fps = float(rate)
        every = faces.presence_every(fps)
        pending, last = [], None           # frames since the last detection; (index, box or None) of that one

        def settle(index, box):
            for k, rgb in pending:         # a frame has the face where the detections either side found it
                if k == index or (last is not None and last[1] is not None):
                    here = box is not None
                else:
                    here = False
                present.append(here)
                if not here:
                    points.append(np.full((68, 2), np.nan, np.float32))
                    continue
                t = 1.0 if k == index else (k - last[0]) / (index - last[0])
                points.append(_points(rgb, box if k == index else (1 - t) * last[1] + t * box))

        size, warnings = None, []
        try:
            for index, frame in enumerate(container.decode(stream)):
                rgb = frame.to_ndarray(format="rgb24")
                size = size or (rgb.shape[1], rgb.shape[0])
                stamps.append(frame.pts)
                pending.append((index, rgb))
                if index % every == 0:
                    box = _detect(rgb, cfg.detect_width, cfg.detect_upsample)
                    settle(index, box)
                    pending, last = [], (index, box)
        except av.error.FFmpegError as e:
            if not stamps:
                raise UnreadableVideo(f"{path}: cannot decode the video ({e})") from e
            warnings.append(f"decoding stopped after {len(stamps)} frames ({e})")
        if pending:                        # the last frame is always looked at
            index, rgb = pending[-1]
            box = _detect(rgb, cfg.detect_width, cfg.detect_upsample)
            settle(index, box)
    if not stamps:
        raise UnreadableVideo(f"{path}: the video has no frames")
    present = np.asarray(present, bool)
    if not present.any():
        raise faces.FaceNotFoundError(f"{path}: no face in any of the {len(present)} frames")
    pts = None if any(s is None for s in stamps) else np.asarray(stamps, np.int64)
    return Recording(path, fps, size[0], size[1], pts, smooth(np.stack(points), present,
                                                               cfg.smooth_seconds * fps), present, tuple(warnings))


def smooth(points: np.ndarray, present: np.ndarray, sigma: float) -> np.ndarray:
    """[N, 68, 2] landmarks smoothed over time within each run of frames with the face (never across a gap)."""
    out = np.array(points, np.float32)
    if sigma <= 0:
        return out
    edges = np.flatnonzero(np.diff(np.r_[0, present.astype(np.int8), 0]))
    for start, stop in zip(edges[0::2], edges[1::2]):
        out[start:stop] = ndimage.gaussian_filter1d(points[start:stop].astype(np.float64), sigma, axis=0,
                                                    mode="nearest")
    return out


def held_still(flow: np.ndarray, present: np.ndarray, before: tuple | None = None) -> tuple[np.ndarray, tuple]:
    """(region trajectories [N, 36] that do not move into, across or out of frames without the face, what the
    next chunk needs): each frame-to-frame step is kept only where both frames show the face, as
    `meint_jax.spot` reads a recording, so a face leaving the picture is never motion. `before` is what the
    call on the video's previous chunk returned (None on its first)."""
    flow, present = np.asarray(flow), np.asarray(present, bool)
    last_raw, last_held, last_present = before if before is not None else (flow[0], flow[0], False)
    steps = np.diff(np.concatenate([last_raw[None], flow]), axis=0)
    shown = np.r_[last_present, present]
    steps[~(shown[1:] & shown[:-1])] = 0.0
    held = (last_held + np.cumsum(steps, axis=0)).astype(flow.dtype)
    return held, (flow[-1], held[-1], bool(present[-1]))


def decoded(recording: Recording, start: int, stop: int) -> Iterator[np.ndarray]:
    """The recording's RGB frames `start` to `stop` (indices): sought to by timestamp where the file allows it,
    else (or from the first frame whose timestamp is not the survey's) decoded from the first frame."""
    given = 0
    if start > 0 and recording.pts is not None:
        given = yield from _after_seek(recording, start, stop)
    if start + given < stop:
        yield from _from_first(recording, start + given, stop)


def _after_seek(recording: Recording, start: int, stop: int):
    """Frames from `start` after a seek to the key frame before it; returns how many it gave (fewer than asked
    where the file's timestamps are not the survey's)."""
    container, stream = _open(recording.path)
    given = 0
    with container:
        container.seek(int(recording.pts[start]), stream=stream, backward=True, any_frame=False)
        for frame in container.decode(stream):
            if not given and frame.pts is not None and frame.pts < recording.pts[start]:
                continue
            if frame.pts != recording.pts[start + given]:
                return given
            yield frame.to_ndarray(format="rgb24")
            given += 1
            if start + given == stop:
                return given
    return given


def _from_first(recording: Recording, start: int, stop: int):
    container, stream = _open(recording.path)
    with container:
        for index, frame in enumerate(container.decode(stream)):
            if index >= stop:
                return
            if index >= start:
                yield frame.to_ndarray(format="rgb24")


# ------------------------------------------------------------------------------------------- placing

@dataclasses.dataclass(frozen=True, eq=False)
class Movement:
    """One written movement: its frames (indices, inclusive), AUs, size and true intensity."""

    onset: int
    apex: int
    offset: int
    kind: str                           # micro | macro
    action_units: tuple[str, ...]
    gains: tuple[float, ...]
    native_emotion: str
    peak_px: float                      # at the apex, for a 150 px face
    curve: np.ndarray                   # float32 [offset - onset + 1], > 0 throughout, 1 at the apex

    def interval(self) -> Interval:
        return Interval(self.onset, self.apex, self.offset, self.kind, long_videos.emotion_class(self.native_emotion),
                        self.native_emotion, "+".join(a[2:] for a in self.action_units))


def feasible_starts(present: np.ndarray, taken: np.ndarray, length: int, gap: int) -> np.ndarray:
    """bool [N]: where a movement of `length` frames may start: it and `gap` frames either side inside the
    video, on frames with the face and free of other movements."""
    n = len(present)
    window = length + 2 * gap
    out = np.zeros(n, bool)
    if window > n:
        return out
    usable = np.r_[0, np.cumsum(present & ~taken)]
    whole = usable[window:] - usable[:-window] == window          # [n - window + 1]: window at j is usable
    out[gap:gap + len(whole)] = whole
    return out


def _spans(mask: np.ndarray) -> list[tuple[int, int]]:
    edges = np.flatnonzero(np.diff(np.r_[0, mask.astype(np.int8), 0]))
    return [(int(a), int(b) - 1) for a, b in zip(edges[0::2], edges[1::2])]


def place(present: np.ndarray, taken: np.ndarray, length: int, min_length: int, gap: int,
          rng: np.random.Generator) -> tuple[int | None, int, str | None]:
    """(start or None, length, why it was moved, shortened or dropped; None when placed where drawn) of one
    movement: drawn anywhere in the video; moved to a random place that fits where its frames (or the neutral
    `gap` around them) lack a face or meet another movement; shortened, not below `min_length`, when no
    place fits it whole; else dropped."""
    n = len(present)
    wanted = min(int(rng.integers(gap, max(gap + 1, n - length - gap + 1))), n - 1)
    fits = feasible_starts(present, taken, length, gap)
    if fits[wanted]:
        return wanted, length, None
    low, high = max(0, wanted - gap), min(n, wanted + length + gap)
    faceless = _spans(~present[low:high])
    if wanted + length + gap > n:
        why = f"it would run past the video's last frame ({n - 1})"
    elif faceless:
        why = "no face in frames " + ", ".join(f"{low + a}-{low + b}" for a, b in faceless)
    else:
        why = "meets another movement"
    if not fits.any():
        free = [b - a + 1 for a, b in _spans(present & ~taken)]
        longest = max(free, default=0) - 2 * gap
        if longest < min_length:
            return None, length, (f"dropped: drawn at frame {wanted}, where {why}; no stretch of "
                                  f"{min_length + 2 * gap} frames with the face and free of other movements is left")
        fits, why = feasible_starts(present, taken, longest, gap), f"{why}; shortened from {length} to {longest} frames"
        length = longest
    start = int(rng.choice(np.flatnonzero(fits)))
    return start, length, f"moved from frame {wanted} to {start}: {why}"


def neutral_frames(cfg: SemirealConfig, fps: float) -> int:
    """Frames with the face and no movement kept before and after every movement."""
    return max(1, int(round(cfg.min_gap_seconds * fps)))


def script(recording: Recording, cfg: SemirealConfig, seed, video_id: str, subject: str
           ) -> tuple[WrittenVideo, list[dict]]:
    """(the video with its movements, notes on the movements moved, shortened or dropped) for one rendition;
    the same recording and seed give the same script."""
    rng = np.random.default_rng(seed)
    n, fps = recording.num_frames, recording.fps
    minutes = recording.present.sum() / fps / 60.0
    kinds = (["micro"] * (cfg.min_micro + int(rng.poisson(cfg.micro_per_minute * minutes)))
             + ["macro"] * (cfg.min_macro + int(rng.poisson(cfg.macro_per_minute * minutes))))
    gap = neutral_frames(cfg, fps)
    taken = np.zeros(n, bool)
    movements, notes = [], []
    for kind in kinds:                    # micros first: they are what the set is for, and the shorter
        seconds, px = (cfg.micro_seconds, cfg.micro_px) if kind == "micro" else (cfg.macro_seconds, cfg.macro_px)
        length = max(3, int(round(rng.uniform(*seconds) * fps)))
        aus, native = EXPRESSIONS[int(rng.integers(len(EXPRESSIONS)))]
        gains = rng.uniform(0.6, 1.0, len(aus))
        peak = float(rng.uniform(*px))
        start, length, note = place(recording.present, taken, length, max(3, int(round(seconds[0] * fps))), gap, rng)
        curve = synthetic.intensity_curve(length + 2, 0, length + 1, rng)[1:-1]   # > 0 on every frame written
        if note is not None:
            notes.append({"video": video_id, "kind": kind, "action_units": "+".join(a[2:] for a in aus),
                          "onset": start, "reason": note})
        if start is None:
            continue
        taken[start:start + length] = True
        movements.append(Movement(start, start + int(np.argmax(curve)), start + length - 1, kind, aus,
                                  tuple(float(g) for g in gains / gains.max()), native, peak, curve))
    movements.sort(key=lambda m: m.onset)
    truth = np.zeros((n, 2), np.float32)
    for m in movements:
        truth[m.onset:m.offset + 1, long_videos.KINDS.index(m.kind)] = m.curve
    video = LongVideo(video_id=video_id, subject=subject, frame_numbers=np.arange(n), fps=fps,
                      intervals=tuple(m.interval() for m in movements), true_intensity=truth, source=recording.path,
                      warnings=recording.warnings, face_present=recording.present)
    # The landmarks go with the video to every worker: only those of the frames written and of frames spread
    # through the face's stretches (for the crop box), not the whole recording's.
    shown = np.flatnonzero(recording.present)
    spread = shown[np.unique(np.linspace(0, len(shown) - 1, min(FACE_FRAMES, len(shown))).round().astype(int))]
    kept = sorted(set(spread.tolist()) | set(np.flatnonzero(truth.any(axis=1)).tolist()))
    return WrittenVideo(video, dataclasses.replace(recording, landmarks=None), tuple(movements),
                        {i: recording.landmarks[i] for i in kept}, tuple(spread.tolist())), notes


# ------------------------------------------------------------------------------------------- writing

def face_size(points: np.ndarray) -> float:
    """The face's width in pixels: from landmark 0 to 16 (the jaw's ends at the temples)."""
    return float(np.linalg.norm(points[16] - points[0]))


MAX_SLOPE = 0.5       # largest change of the motion per pixel moved: tissue stretches and squeezes, never folds
INVERSION_STEPS = 12  # fixed-point steps from the tissue's motion to the motion each pixel shows (error x 0.5 each)


@dataclasses.dataclass(frozen=True, eq=False)
class Field:
    """The tissue motion of some AUs on one face: Gaussian bumps anchored on landmarks, along the face's axes,
    scaled so that its largest length is the movement's size. Evaluated over `box`, where it is not negligible."""

    anchors: np.ndarray         # [K, 2] pixels
    directions: np.ndarray      # [K, 2] gains included
    radii: np.ndarray           # [K] pixels
    box: tuple[int, int, int, int]   # left, top, right, bottom (end exclusive) in the frame
    scale: float = 1.0

    def at(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """[..., 2] the motion of the tissue at (x, y)."""
        out = np.zeros(x.shape + (2,), np.float32)
        for (ax, ay), direction, radius in zip(self.anchors, self.directions, self.radii):
            bump = np.exp(-((x - ax) ** 2 + (y - ay) ** 2) / (2 * radius ** 2)) * self.scale
            out += bump[..., None] * direction.astype(np.float32)
        return out

    def grid(self) -> tuple[np.ndarray, np.ndarray]:
        left, top, right, bottom = self.box
        y, x = np.mgrid[top:bottom, left:right].astype(np.float32)
        return x, y

    def forward(self) -> np.ndarray:
        """[h, w, 2] how far the tissue at each pixel of the box moves."""
        return self.at(*self.grid())

    def slope(self) -> float:
        """The largest change of the motion per pixel (the Jacobian's Frobenius norm): below 1, no fold."""
        d = self.forward()
        if min(d.shape[:2]) < 2:
            return 0.0
        down, across = np.gradient(d, axis=0), np.gradient(d, axis=1)      # [h, w, 2] each
        return float(np.sqrt((down ** 2).sum(axis=-1) + (across ** 2).sum(axis=-1)).max())

    def backward(self) -> np.ndarray:
        """[h, w, 2] b with b(x) = d(x - b(x)): the motion of the tissue that each pixel of the box shows once
        moved (the inverse of the forward warp; the slope is at most MAX_SLOPE, so the steps converge)."""
        x, y = self.grid()
        moved = self.at(x, y)
        for _ in range(INVERSION_STEPS):
            moved = self.at(x - moved[..., 0], y - moved[..., 1])
        return moved


def displacement(points: np.ndarray, action_units, gains, peak: float, shape) -> Field:
    """The tissue motion of `action_units` (with `gains`) on a face with landmarks `points` in a frame of
    `shape`; its largest length over the pixels of its box is `peak`. Bumps are AU_RADIUS of the face wide, wider
    where a movement is so large that its slope would pass MAX_SLOPE."""
    size = face_size(points)
    across = points[42:48].mean(axis=0) - points[36:42].mean(axis=0)
    ex = across / (np.linalg.norm(across) + 1e-8)            # the face's own axes: along the eyes, and down
    ey = np.array([-ex[1], ex[0]])
    anchors, directions, radii = [], [], []
    for au, gain in zip(action_units, gains):
        groups, (out, down), spread = ACTION_UNITS[au]
        for side, group in zip((-1.0, 1.0) if len(groups) == 2 else (0.0,), groups):
            anchors.append(points[list(group)].mean(axis=0))
            directions.append(gain * (side * out * ex + down * ey))
            radii.append(AU_RADIUS * spread * size)
    anchors, directions, radii = np.asarray(anchors, np.float64), np.asarray(directions), np.asarray(radii)
    field = _scaled(anchors, directions, radii, peak, shape)
    for _ in range(3):              # spread a movement too large for its AUs' reach wider, so no tissue folds
        slope = field.slope()
        if slope <= MAX_SLOPE:
            break
        radii = radii * slope / MAX_SLOPE
        field = _scaled(anchors, directions, radii, peak, shape)
    return field


def _scaled(anchors, directions, radii, peak: float, shape) -> Field:
    reach = 3.5 * radii.max()
    (left, top), (right, bottom) = np.floor(anchors.min(axis=0) - reach), np.ceil(anchors.max(axis=0) + reach)
    left, top = int(np.clip(left, 0, shape[1] - 1)), int(np.clip(top, 0, shape[0] - 1))
    right, bottom = int(np.clip(right, left + 1, shape[1])), int(np.clip(bottom, top + 1, shape[0]))
    unit = Field(anchors, directions, radii, (left, top, right, bottom))
    longest = float(np.sqrt((unit.forward() ** 2).sum(axis=-1)).max())
    return dataclasses.replace(unit, scale=peak / longest if longest > 0 else 0.0)


def write(rgb: np.ndarray, points: np.ndarray, movement: Movement, intensity: float) -> np.ndarray:
    """The frame with the movement at `intensity` (0-1) written in: the tissue at p moves to p + d(p), d the
    movement's field (cubic interpolation, which blurs sub-pixel shifts less than linear)."""
    import cv2

    peak = intensity * movement.peak_px * face_size(points) / REFERENCE_FACE_PX
    field = displacement(points, movement.action_units, movement.gains, peak, rgb.shape)
    x, y = field.grid()
    moved = field.backward()
    patch = cv2.remap(np.ascontiguousarray(rgb), x - moved[..., 0], y - moved[..., 1], cv2.INTER_CUBIC,
                      borderMode=cv2.BORDER_REFLECT101)
    left, top, right, bottom = field.box
    out = np.array(rgb)
    out[top:bottom, left:right] = patch
    return out


@dataclasses.dataclass(frozen=True, eq=False)
class WrittenVideo:
    """A recording with its movements: a video source for the long-video builders (`face`, `chunks`, `read`)."""

    video: LongVideo
    recording: Recording                 # without its landmarks
    movements: tuple[Movement, ...]
    points: dict[int, np.ndarray]        # frame index -> [68, 2] landmarks, for the frames written and `face_frames`
    face_frames: tuple[int, ...]         # frames with the face spread through the video, that the crop box comes from

    def movement_at(self, index: int) -> Movement | None:
        for m in self.movements:
            if m.onset <= index <= m.offset:
                return m
        return None

    def apex_px(self, movement: Movement) -> float:
        """The movement's largest displacement at its apex, in the recording's pixels."""
        return movement.peak_px * face_size(self.points[movement.apex]) / REFERENCE_FACE_PX

    def render(self, start: int, stop: int, written: bool = True) -> Iterator[np.ndarray]:
        """Whole RGB frames `start` to `stop`, with the movements written in (or as recorded)."""
        for index, rgb in enumerate(decoded(self.recording, start, stop), start):
            movement = self.movement_at(index) if written else None
            if movement is None:
                yield rgb
            else:
                yield write(rgb, self.points[index], movement,
                            float(movement.curve[index - movement.onset]))

    def face(self, size: int, tries: int = 7):
        """(crop box, landmarks in the `size` crop): the median of `tries` frames with the face, as
        `faces.face_of_images` does, from the survey's landmarks (nothing detected again)."""
        rec, shown = self.recording, self.face_frames
        picks = np.unique(np.linspace(0, len(shown) - 1, min(tries, len(shown))).round().astype(int))
        points = np.stack([self.points[shown[k]] for k in picks]).astype(np.float64)
        boxes = [faces.crop_box(p, (rec.width, rec.height)) for p in points]
        x0, y0, x1, y1 = np.median(np.asarray(boxes, np.float64), axis=0)
        side = int(round(min(x1 - x0, y1 - y0)))
        box = (int(round(x0)), int(round(y0)), int(round(x0)) + side, int(round(y0)) + side)
        return box, (np.median(points, axis=0) - np.array(box[:2])) * size / side

    def images(self, indices) -> Iterator[np.ndarray]:
        """The whole written frames at `indices` (ascending), from one decoding pass over their span: what paper
        002's features read (`long_sources.paper_analysis`)."""
        indices = list(indices)
        if not indices:
            return
        wanted = set(indices)
        for index, rgb in enumerate(self.render(indices[0], indices[-1] + 1), indices[0]):
            if index in wanted:
                yield rgb

    def chunks(self, box, size: int, length: int) -> Iterator[np.ndarray]:
        """Every written frame cropped and resized, `length` at a time: one decoding pass."""
        pending = []
        for rgb in self.render(0, self.video.num_frames):
            pending.append(frames.resize_clip(rgb[None], size, box)[0])
            if len(pending) == length:
                yield np.stack(pending)
                pending = []
        if pending:
            yield np.stack(pending)

    def read(self, start: int, stop: int, box, size: int) -> np.ndarray:
        """uint8 [stop - start, size, size, 3]: written frames cropped and resized (a stored chunk)."""
        return np.stack([frames.resize_clip(rgb[None], size, box)[0] for rgb in self.render(start, stop)])

    def clip(self, movement: Movement, margin: int, size: int) -> Clip:
        """The movement trimmed with `margin` neutral frames either side (frames with the face, free of other
        movements: the script keeps that much around each), one crop box from its onset frame."""
        rec = self.recording
        start, stop = max(0, movement.onset - margin), min(rec.num_frames, movement.offset + margin + 1)
        box = faces.crop_box(self.points[movement.onset].astype(np.float64), (rec.width, rec.height))
        truth = np.zeros(stop - start, np.float32)
        truth[movement.onset - start:movement.offset - start + 1] = movement.curve
        interval = movement.interval()
        return Clip(clip_id=f"{self.video.video_id}@{movement.onset}", frame_numbers=np.arange(start, stop),
                    subject=self.video.subject, frames=self.read(start, stop, box, size), onset=movement.onset,
                    apex=movement.apex, offset=movement.offset, emotion=movement.native_emotion,
                    action_units=interval.action_units, true_intensity=truth, fps=rec.fps, source=rec.path)

    def summary(self) -> dict:
        """What `build_summary.json` lists of this video: every written interval, every span without a face."""
        intervals = []
        for m in self.movements:
            i = m.interval()
            intervals.append({"video": self.video.video_id, "subject": self.video.subject, "onset": i.onset,
                              "apex": i.apex, "offset": i.offset, "kind": i.kind, "action_units": i.action_units,
                              "emotion": i.emotion, "native_emotion": i.native_emotion,
                              "peak_px": round(m.peak_px, 3), "apex_px": round(self.apex_px(m), 3),
                              "face_px": round(face_size(self.points[m.apex]), 1)})
        faceless = [{"video": self.video.video_id, "first": a, "last": b}
                    for a, b in faces.missing_spans(self.video.frame_numbers, self.recording.present)]
        return {"written_intervals": intervals, "faceless_spans": faceless}
