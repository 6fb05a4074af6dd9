"""Procedural long videos: micro- and macro-expressions among distractors, with every truth stored.

The long-video counterpart of `synthetic` (same faces, same AU deformations):
per subject a few recordings of tens of seconds holding 0-3 micro-expressions
(1-3 px at 112 px, 0.2-0.5 s) and 1-4 macro-expressions (several px,
0.5-4 s) at random, non-overlapping times, with neutral stretches between
them, and the distractors of a real session everywhere: blinks every 3-5 s,
head drift and a few head turns, mouth movements that are no expression,
lighting flicker and sensor noise. Each expression's AUs decide its emotion
(the `synthetic.EXPRESSIONS` table), which maps to the field's classes; with a
label model (`labels`, the `hard` configs) they are drawn as the hard clip
sets' are (`synthetic.draw_expression`): imbalanced, ambiguous, in each
subject's style, a share mislabelled.

A video is first drawn as a `VideoScript` (every random choice, cheap), and any
range of its frames is then rendered on demand, a pure function of the seed
and the frame index: builders render chunks in worker processes and never
hold a whole video.
"""

from __future__ import annotations

import dataclasses
from typing import Iterator

import numpy as np
from scipy import ndimage

from meint_jax.data import frames
from meint_jax.data.clips import synthetic
from meint_jax.data.long import videos as long_videos
from meint_jax.data.long.videos import Interval, LongVideo

# Mouth movements that are no expression (speech, swallowing, pressing the lips): name -> (anchor, direction).
MOUTH_MOVEMENTS = {
    "jaw_drop": ((0.0, 0.60), (0.0, 1.0)),
    "lip_press_upper": ((0.0, 0.44), (0.0, 1.0)),
    "lip_press_lower": ((0.0, 0.58), (0.0, -1.0)),
    "lip_pucker": ((0.28, 0.50), (-1.0, 0.0)),
}
MOUTH_COMBINATIONS = (("jaw_drop",), ("lip_press_upper", "lip_press_lower"), ("lip_pucker",))


@dataclasses.dataclass(frozen=True)
class LongGeneratorConfig:
    """Size of the generated set, its videos and their events; durations in seconds, motions in px at 112 px."""

    num_subjects: int = 20
    videos_per_subject: int = 2
    frame_size: int = 112
    fps: float = 30.0
    min_seconds: float = 20.0
    max_seconds: float = 40.0
    max_micro: int = 3
    min_macro: int = 1
    max_macro: int = 4
    micro_seconds: tuple[float, float] = (0.2, 0.5)
    macro_seconds: tuple[float, float] = (0.5, 4.0)
    micro_px: tuple[float, float] = (1.0, 3.0)
    macro_px: tuple[float, float] = (4.0, 8.0)
    min_gap_seconds: float = 0.7          # neutral time between two expressions
    blink_every_seconds: tuple[float, float] = (3.0, 5.0)
    head_turns_per_minute: float = 2.0
    mouth_moves_per_minute: float = 4.0
    seed: int = 0
    labels: synthetic.LabelModel | None = None    # None: each emotion one fixed AU set; see synthetic.LabelModel


@dataclasses.dataclass(frozen=True, eq=False)
class Motion:
    """One deformation: unit displacement fields (face units) scaled by `curve` from frame `start` on."""

    start: int
    curve: np.ndarray                    # float32 [L]
    du: np.ndarray                       # [S, S]
    dv: np.ndarray

    def at(self, index: int) -> float:
        k = index - self.start
        return float(self.curve[k]) if 0 <= k < len(self.curve) else 0.0


@dataclasses.dataclass(frozen=True, eq=False)
class VideoScript:
    """Everything drawn for one video; `render` turns any frame range into pixels."""

    video: LongVideo
    identity: synthetic.Identity
    motions: tuple[Motion, ...]          # expressions and mouth movements
    drift: np.ndarray                    # [N, 2] head translation, face units
    lid: np.ndarray                      # [N] eyelid closure
    light: np.ndarray                    # [N] brightness factor
    noise_sigma: float
    seed: tuple[int, ...]
    size: int

    def landmarks(self) -> np.ndarray:
        """[68, 2] pixel landmarks of the neutral face (the synthetic frames are the face crop)."""
        return synthetic.face_landmarks(self.identity, self.size)

    def face(self, size: int, tries: int = 0):
        """(no crop box: the frames are the face, the landmarks at `size` px): a video source's face."""
        del tries   # the geometry is known: nothing to detect
        return None, synthetic.face_landmarks(self.identity, size)

    def images(self, indices) -> list[np.ndarray]:
        """Whole frames (the rendered face fills them), as paper 002's features read a video."""
        return [self.render(i, i + 1)[0] for i in indices]

    def find_landmarks(self, grey: np.ndarray) -> np.ndarray | None:
        """The neutral face's 68 points on a whole frame; None on any other image (a crop), whose points are then
        mapped in from the frame's: the `find_landmarks` of `flow_features.PaperTracker`, with nothing to detect.
        The head's drift (a pixel or two) is not followed: their tracker's nose-tip alignment takes it up."""
        return self.landmarks() if grey.shape[:2] == (self.size, self.size) else None

    def read(self, start: int, stop: int, box, size: int) -> np.ndarray:
        """uint8 [stop - start, size, size, 3]: a video source's frames (rendered, resized if asked)."""
        del box
        rendered = self.render(start, stop)
        return rendered if size == self.size else frames.resize_clip(rendered, size)

    def render(self, start: int, stop: int) -> np.ndarray:
        """uint8 [stop - start, S, S, 3]: frames `start` to `stop` (indices, not frame numbers)."""
        size = self.size
        coords = (np.arange(size) + 0.5) / size * 2.0 - 1.0
        v0, u0 = np.meshgrid(coords, coords, indexing="ij")
        out = np.empty((stop - start, size, size, 3), np.uint8)
        for k, i in enumerate(range(start, stop)):
            u, v = u0 - self.drift[i, 0], v0 - self.drift[i, 1]
            for motion in self.motions:
                amount = motion.at(i)
                if amount:
                    u, v = u - motion.du * amount, v - motion.dv * amount
            img = synthetic.render_face(self.identity, u, v, self.lid[i], 2.0 / size) * self.light[i]
            img = img + np.random.default_rng(self.seed + (i,)).normal(0, self.noise_sigma, img.shape)
            out[k] = np.clip(np.round(img * 255.0), 0, 255).astype(np.uint8)
        return out


def _place(lengths: list[int], n: int, gap: int, rng: np.random.Generator) -> list[int] | None:
    """Random starts of non-overlapping events of `lengths` in n frames, at least `gap` apart and from the ends."""
    if not lengths:
        return []
    slack = n - sum(lengths) - (len(lengths) + 1) * gap
    if slack < 0:
        return None
    shares = np.floor(slack * rng.dirichlet(np.ones(len(lengths) + 1))).astype(int)
    starts, position = [], 0
    for length, share in zip(lengths, shares):
        position += gap + share
        starts.append(position)
        position += length
    return starts


def _smooth_step(n: int, at: int, duration: int) -> np.ndarray:
    t = np.clip((np.arange(n) - at) / max(duration, 1), 0.0, 1.0)
    return 0.5 - 0.5 * np.cos(np.pi * t)


def script(cfg: LongGeneratorConfig, subject_index: int, video_index: int) -> VideoScript:
    """Draws one video; the same (seed, subject, video) gives the same script and the same pixels."""
    identity = synthetic.make_identity(np.random.default_rng([cfg.seed, subject_index]))
    style = synthetic.subject_style(cfg.labels, cfg.seed, subject_index)
    seed = (cfg.seed, subject_index, video_index)
    rng = np.random.default_rng(seed + (1 << 20,))
    size, fps = cfg.frame_size, cfg.fps
    pixel = 2.0 / size                                  # face units per pixel
    px = size / 112.0                                   # motions are specified at 112 px
    n = int(round(rng.uniform(cfg.min_seconds, cfg.max_seconds) * fps))

    # Expressions: kinds, lengths, non-overlapping places (macros dropped if they cannot all fit).
    kinds = ["micro"] * int(rng.integers(0, cfg.max_micro + 1)) + \
            ["macro"] * int(rng.integers(cfg.min_macro, cfg.max_macro + 1))
    kinds = [kinds[i] for i in rng.permutation(len(kinds))]
    lengths = [max(3, int(round(rng.uniform(*(cfg.micro_seconds if k == "micro" else cfg.macro_seconds)) * fps)))
               for k in kinds]
    gap = int(round(cfg.min_gap_seconds * fps))
    starts = _place(lengths, n, gap, rng)
    while starts is None:
        drop = max((i for i, k in enumerate(kinds) if k == "macro"), key=lambda i: lengths[i], default=0)
        del kinds[drop], lengths[drop]
        starts = _place(lengths, n, gap, rng)

    coords = (np.arange(size) + 0.5) / size * 2.0 - 1.0
    v0, u0 = np.meshgrid(coords, coords, indexing="ij")
    first_number = 1
    motions, intervals = [], []
    true_intensity = np.zeros((n, 2), np.float32)
    for kind, length, start in zip(kinds, lengths, starts):
        expression = synthetic.draw_expression(cfg.labels, style, rng)
        aus, native, gains = expression.aus, expression.emotion, expression.gains
        peak = rng.uniform(*(cfg.micro_px if kind == "micro" else cfg.macro_px)) * px * expression.amplitude
        curve = synthetic.intensity_curve(length + 1, 0, length, rng)
        du, dv = synthetic._displacement(u0, v0, aus, gains, peak * pixel)
        motions.append(Motion(start, curve, du, dv))
        channel = long_videos.KINDS.index(kind)
        stop = min(start + length + 1, n)
        true_intensity[start:stop, channel] = curve[:stop - start]
        pad = min(gap // 2, 6)
        padded = np.zeros(length + 1 + 2 * pad, np.float32)
        padded[pad:pad + length + 1] = curve
        onset, apex, offset = synthetic.annotate(padded, rng)
        onset, apex, offset = (int(np.clip(start - pad + x, 0, n - 1)) for x in (onset, apex, offset))
        intervals.append(Interval(first_number + onset, first_number + apex, first_number + offset, kind,
                                  long_videos.emotion_class(native), native, "+".join(a[2:] for a in aus)))

    # Mouth movements that are not expressions, where no expression is.
    busy = np.zeros(n, bool)
    for start, length in zip(starts, lengths):
        busy[max(0, start - gap // 2):start + length + gap // 2] = True
    for _ in range(int(rng.poisson(cfg.mouth_moves_per_minute * n / fps / 60))):
        length = int(round(rng.uniform(0.3, 1.5) * fps))
        start = int(rng.integers(0, max(1, n - length)))
        if busy[start:start + length].any():
            continue
        names = MOUTH_COMBINATIONS[int(rng.integers(len(MOUTH_COMBINATIONS)))]
        du, dv = synthetic._displacement(u0, v0, names, np.ones(len(names)), rng.uniform(1.0, 4.0) * px * pixel,
                                         table=MOUTH_MOVEMENTS)
        motions.append(Motion(start, synthetic.intensity_curve(length + 1, 0, length, rng), du, dv))

    # Blinks, about one every 3-5 s, 0.1-0.3 s each.
    lid = np.zeros(n)
    blinks = []
    t = rng.uniform(0, cfg.blink_every_seconds[1]) * fps
    while t < n - 2:
        start, length = int(t), max(2, int(round(rng.uniform(0.1, 0.3) * fps)))
        s = np.arange(n) - start
        lid += np.where((s >= 0) & (s < length), np.sin(np.pi * np.clip((s + 0.5) / length, 0, 1)), 0)
        blinks.append((first_number + start, first_number + min(start + length - 1, n - 1)))
        t += rng.uniform(*cfg.blink_every_seconds) * fps

    # Head: slow drift of 0.2-0.8 px plus a few turns of 2-6 px over 0.3-1 s, half of them returning.
    drift = ndimage.gaussian_filter1d(np.cumsum(rng.normal(0, 1, (n, 2)), axis=0), sigma=fps, axis=0)
    drift -= drift[0]
    drift *= rng.uniform(0.2, 0.8) * px * pixel / (np.abs(drift).max() + 1e-8)
    for _ in range(int(rng.poisson(cfg.head_turns_per_minute * n / fps / 60))):
        angle = rng.normal(0, 0.4) + (np.pi if rng.uniform() < 0.5 else 0.0)   # mostly sideways
        shift = rng.uniform(2.0, 6.0) * px * pixel * np.array([np.cos(angle), np.sin(angle)])
        at, duration = int(rng.integers(0, n)), int(round(rng.uniform(0.3, 1.0) * fps))
        step = _smooth_step(n, at, duration)
        if rng.uniform() < 0.5:
            step -= _smooth_step(n, at + duration + int(rng.uniform(1, 4) * fps), duration)
        drift += step[:, None] * shift

    frame = np.arange(n)
    light = (1.0 + rng.uniform(0.002, 0.008) * np.sin(2 * np.pi * rng.uniform(0.02, 0.08) * frame
                                                      + rng.uniform(0, 2 * np.pi))
             + rng.uniform(0.0, 0.02) * np.sin(2 * np.pi * frame / (rng.uniform(10, 30) * fps)))

    subject = synthetic.subject_code(subject_index)
    video = LongVideo(video_id=f"{subject}/{subject}_{video_index + 1:02d}", subject=subject,
                      frame_numbers=first_number + frame, fps=fps,
                      intervals=tuple(sorted(intervals, key=lambda i: i.onset)), blinks=tuple(blinks),
                      true_intensity=true_intensity, source="synthetic_long")
    return VideoScript(video=video, identity=identity, motions=tuple(motions), drift=drift, lid=np.clip(lid, 0, 1),
                       light=light, noise_sigma=rng.uniform(1.0, 2.5) / 255.0, seed=seed, size=size)


def generate(cfg: LongGeneratorConfig) -> Iterator[VideoScript]:
    """Every video's script, in subject order, deterministically from `cfg.seed`."""
    for s in range(cfg.num_subjects):
        for v in range(cfg.videos_per_subject):
            yield script(cfg, s, v)

