"""Procedural micro-expression clips with a known intensity curve.

A stand-in for CASME II that can be shipped: one rendered face identity per
subject, a subtle AU-like local deformation whose amplitude follows a smooth,
deliberately non-triangular true intensity curve, neutral frames around it,
and the confounders of lab recordings (blinks, slow head drift, lighting
flicker, sensor noise). Annotated onset/apex/offset are read off the true
curve with annotator-like noise, so the triangular pseudo-label is wrong in
the same ways it is wrong on real data.

With a `LabelModel` (the `hard` builder configs) an emotion is no longer one
fixed AU set: classes are as imbalanced as CASME II's, some AU sets stand for
several classes, each subject shows AUs in its own way, and annotators flip a
share of the labels (docs/design.md, "Generated labels as hard as real ones").

Everything is a pure function of a seed: the same seed gives the same bytes.
Faces are evaluated analytically at (displaced) pixel coordinates, so sub-pixel
motion changes pixel values smoothly instead of snapping to the grid.
"""

from __future__ import annotations

import dataclasses
from typing import Iterator

import numpy as np
from scipy import ndimage

from meint_jax.data.clips.clip import Clip

# Facial action units the generator can produce: name -> (anchor, direction).
# Anchors are in face coordinates (u right, v down, face spans about [-1, 1]);
# directions are unit-ish image-space motion vectors of the tissue.
ACTION_UNITS = {
    "AU1": ((0.22, -0.42), (0.0, -1.0)),    # inner brow raiser
    "AU2": ((0.52, -0.40), (0.0, -1.0)),    # outer brow raiser
    "AU4": ((0.25, -0.38), (-0.5, 0.85)),   # brow lowerer: down and inwards
    "AU6": ((0.38, 0.02), (0.0, -1.0)),     # cheek raiser
    "AU7": ((0.38, -0.16), (0.0, -1.0)),    # lid tightener: lower lid up
    "AU10": ((0.10, 0.40), (0.0, -1.0)),    # upper lip raiser
    "AU12": ((0.32, 0.50), (0.55, -0.85)),  # lip corner puller: up and out
    "AU14": ((0.32, 0.50), (1.0, 0.0)),     # dimpler: corners outwards
    "AU15": ((0.32, 0.52), (0.0, 1.0)),     # lip corner depressor
    "AU17": ((0.0, 0.75), (0.0, -1.0)),     # chin raiser
}

# Spread of each AU's tissue motion in face units (the face is about 1.5 wide): a
# lip-corner pull moves the corner and the cheek around it, not a single point.
AU_RADIUS = 0.12

# AU combinations and the emotion an annotator would estimate for them.
EXPRESSIONS = (
    (("AU12",), "happiness"),
    (("AU6", "AU12"), "happiness"),
    (("AU1", "AU2"), "surprise"),
    (("AU4",), "repression"),
    (("AU4", "AU7"), "disgust"),
    (("AU10",), "disgust"),
    (("AU1", "AU15"), "sadness"),
    (("AU14",), "repression"),
    (("AU15", "AU17"), "others"),
    (("AU4", "AU15"), "others"),
)
EMOTIONS = ("happiness", "surprise", "disgust", "repression", "sadness", "others")

# CASME II's five classes by clip count (sadness 7 and fear 2 are left out, as its 5-class protocol does):
# the prior of a hard set's true emotions. Its 3-class composite is then 90 negative : 32 positive : 25 surprise.
CASME2_COUNTS = (("happiness", 32), ("surprise", 25), ("disgust", 63), ("repression", 27), ("others", 99))

# AU sets that several classes produce, so the AUs alone cannot tell which one a clip is (hard sets only).
AMBIGUOUS_EXPRESSIONS = (
    (("AU12",), ("happiness", "repression")),                 # a smile shown, or one held back
    (("AU14",), ("repression", "happiness", "others")),       # the dimpler: suppressed smile, contempt, nothing
    (("AU6", "AU7"), ("happiness", "disgust")),               # narrowed eyes without the mouth
    (("AU1", "AU2"), ("surprise", "others")),                 # raised brows: surprise, or attention
    (("AU1", "AU2", "AU4"), ("surprise", "disgust", "others")),   # raised and drawn-together brows
    (("AU4",), ("disgust", "repression", "others")),          # CASME's 'tense'
    (("AU15", "AU17"), ("repression", "others")),
)

# The AU beside each one that a subject may recruit in its place (hard sets: `LabelModel.substitution`).
SUBSTITUTES = {"AU1": "AU2", "AU2": "AU1", "AU4": "AU7", "AU6": "AU7", "AU7": "AU6", "AU10": "AU12",
               "AU12": "AU14", "AU14": "AU12", "AU15": "AU17", "AU17": "AU15"}

# Appended to (seed, subject) for the stream a subject's style is drawn from: clip streams are (seed, subject, clip).
STYLE_STREAM = 1 << 30


@dataclasses.dataclass(frozen=True)
class LabelModel:
    """How a hard set's emotions relate to its AUs: not one to one, as on real data.

    A clip's true emotion is drawn from `class_counts`; it shows one of its class's own AU sets (EXPRESSIONS)
    or, with probability `ambiguous`, a set it shares with other classes (AMBIGUOUS_EXPRESSIONS). The subject
    then shows that set in its own way (`subject_style`), and the annotator's label is another class with
    probability `noise`.
    """

    class_counts: tuple[tuple[str, float], ...] = CASME2_COUNTS
    ambiguous: float = 0.2          # share of a class's clips that show an AU set shared with other classes
    substitution: float = 0.1       # per subject and AU: the subject shows SUBSTITUTES[au] instead
    omission: float = 0.1           # per subject and AU: the subject leaves it out of sets of two or more AUs
    gain_spread: float = 0.3        # per subject and AU: log-sd of the AU's strength relative to the others
    amplitude_spread: float = 0.2   # per subject: log-sd of the expression's amplitude (x the drawn peak)
    noise: float = 0.05             # share of labels an annotator gives to another class (uniform among them)

    def __post_init__(self):
        unknown = sorted({e for e, _ in self.class_counts} - set(EMOTIONS))
        if unknown:
            raise ValueError(f"LabelModel.class_counts: unknown emotions {unknown}; use {EMOTIONS}")
        if min(c for _, c in self.class_counts) < 0 or sum(c for _, c in self.class_counts) <= 0:
            raise ValueError(f"LabelModel.class_counts={self.class_counts}: counts are >= 0, some > 0")
        for name in ("ambiguous", "substitution", "omission", "noise"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"LabelModel.{name}={getattr(self, name)}: a probability lies in [0, 1]")

    @property
    def classes(self) -> tuple[str, ...]:
        return tuple(e for e, count in self.class_counts if count > 0)

    @property
    def prior(self) -> np.ndarray:
        counts = np.array([count for _, count in self.class_counts if count > 0], np.float64)
        return counts / counts.sum()


@dataclasses.dataclass(frozen=True)
class SubjectStyle:
    """How one subject shows AUs: the same for all its clips."""

    substitutes: dict              # AU -> the AU this subject shows in its place
    omitted: frozenset             # AUs this subject leaves out of sets of two or more
    gains: dict                    # AU -> relative strength (1 where absent)
    amplitude: float               # x every expression's drawn peak displacement


NEUTRAL_STYLE = SubjectStyle(substitutes={}, omitted=frozenset(), gains={}, amplitude=1.0)


@dataclasses.dataclass(frozen=True)
class Expression:
    """One drawn expression: the AUs the face shows, the annotated emotion and the one behind it."""

    aus: tuple[str, ...]
    emotion: str                   # the annotator's label
    true_emotion: str              # before annotator noise
    gains: np.ndarray              # each AU's relative strength, the largest 1
    amplitude: float               # x the drawn peak displacement


def subject_style(labels: LabelModel | None, seed: int, subject_index: int) -> SubjectStyle:
    """The subject's way of showing AUs, from its own stream: every draw is made whatever the probabilities,
    so a probability moves thresholds only."""
    if labels is None:
        return NEUTRAL_STYLE
    rng = np.random.default_rng([seed, subject_index, STYLE_STREAM])
    names = sorted(ACTION_UNITS)
    substitute, omit = rng.uniform(size=len(names)), rng.uniform(size=len(names))
    gains = np.exp(labels.gain_spread * rng.normal(size=len(names)))
    amplitude = float(np.exp(np.clip(labels.amplitude_spread * rng.normal(), -0.4, 0.4)))
    return SubjectStyle(
        substitutes={au: SUBSTITUTES[au] for au, u in zip(names, substitute) if u < labels.substitution},
        omitted=frozenset(au for au, u in zip(names, omit) if u < labels.omission),
        gains=dict(zip(names, gains.tolist())), amplitude=amplitude)


def shown_aus(aus: tuple[str, ...], style: SubjectStyle) -> tuple[str, ...]:
    """The AUs a subject shows for an expression's set: substituted, then omitted (never all), in order."""
    substituted = tuple(dict.fromkeys(style.substitutes.get(au, au) for au in aus))
    kept = tuple(au for au in substituted if au not in style.omitted)
    return kept or substituted[:1]


def _class_sets(emotion: str) -> tuple[list, list]:
    """(the class's own AU sets, the ambiguous sets it shares)."""
    own = [aus for aus, e in EXPRESSIONS if e == emotion]
    shared = [aus for aus, classes in AMBIGUOUS_EXPRESSIONS if emotion in classes]
    return own, shared


def draw_expression(labels: LabelModel | None, style: SubjectStyle, rng: np.random.Generator) -> Expression:
    """One expression; without a label model, one EXPRESSIONS entry (the default sets' draws, unchanged)."""
    if labels is None:
        aus, emotion = EXPRESSIONS[int(rng.integers(len(EXPRESSIONS)))]
        gains = rng.uniform(0.6, 1.0, len(aus))
        return Expression(aus, emotion, emotion, gains / gains.max(), 1.0)
    classes = labels.classes
    true_emotion = classes[int(rng.choice(len(classes), p=labels.prior))]
    own, shared = _class_sets(true_emotion)
    ambiguous, flipped = rng.uniform(size=2) < (labels.ambiguous, labels.noise)
    pool = shared if shared and (ambiguous or not own) else own
    aus = shown_aus(pool[int(rng.integers(len(pool)))], style)
    others = [c for c in classes if c != true_emotion]
    emotion = others[int(rng.integers(len(others)))] if flipped and others else true_emotion
    gains = rng.uniform(0.6, 1.0, len(aus)) * np.array([style.gains.get(au, 1.0) for au in aus])
    return Expression(aus, emotion, true_emotion, gains / gains.max(), style.amplitude)


@dataclasses.dataclass(frozen=True)
class GeneratorConfig:
    """Size of the generated dataset and of its clips."""

    num_subjects: int = 32    # many identities, few clips each: as in CASME II (26 subjects, 255 clips)
    clips_per_subject: int = 3
    frame_size: int = 112
    min_frames: int = 56
    max_frames: int = 96
    min_me_frames: int = 24   # true onset to true offset
    max_me_frames: int = 48
    min_neutral: int = 8      # neutral frames before onset and after offset
    peak_px: tuple[float, float] = (1.0, 3.0)   # largest tissue displacement at the apex, px at 112 px
    seed: int = 0
    labels: LabelModel | None = None    # None: each emotion one fixed AU set (EXPRESSIONS); the hard sets' model


@dataclasses.dataclass(frozen=True)
class Identity:
    """Everything that makes one subject's face look like that subject."""

    skin: np.ndarray          # RGB in [0, 1]
    background: np.ndarray
    hair: np.ndarray
    lips: np.ndarray
    iris: np.ndarray
    face_width: float         # half-width in face units relative to frame
    face_height: float
    eye_y: float
    eye_dx: float
    eye_size: float
    brow_y: float
    brow_thickness: float
    mouth_y: float
    mouth_width: float
    nose_length: float
    hairline: float
    texture: np.ndarray       # [S, S] low-frequency skin texture, zero mean
    texture_strength: float


def make_identity(rng: np.random.Generator) -> Identity:
    """Draws one procedural face identity."""
    tone = rng.uniform(0.25, 0.85)
    skin = np.array([0.95, 0.78, 0.62]) * (0.45 + 0.55 * tone) + rng.normal(0, 0.02, 3)
    texture = ndimage.gaussian_filter(rng.normal(size=(64, 64)), sigma=rng.uniform(1.5, 4.0))
    texture /= texture.std() + 1e-8
    return Identity(
        skin=np.clip(skin, 0.05, 1.0),
        background=rng.uniform(0.15, 0.75, 3),
        hair=rng.uniform(0.02, 0.35) * np.array([1.0, rng.uniform(0.7, 1.0), rng.uniform(0.5, 0.9)]),
        lips=np.clip(skin * np.array([0.95, 0.62, 0.62]) + rng.normal(0, 0.03, 3), 0, 1),
        iris=rng.uniform(0.05, 0.45) * np.array([1.0, rng.uniform(0.8, 1.1), rng.uniform(0.6, 1.2)]),
        face_width=rng.uniform(0.66, 0.80),
        face_height=rng.uniform(0.86, 0.98),
        eye_y=rng.uniform(-0.26, -0.16),
        eye_dx=rng.uniform(0.30, 0.40),
        eye_size=rng.uniform(0.085, 0.12),
        brow_y=rng.uniform(-0.46, -0.38),
        brow_thickness=rng.uniform(0.025, 0.05),
        mouth_y=rng.uniform(0.42, 0.55),
        mouth_width=rng.uniform(0.22, 0.32),
        nose_length=rng.uniform(0.18, 0.30),
        hairline=rng.uniform(-0.78, -0.62),
        texture=texture,
        texture_strength=rng.uniform(0.015, 0.04),
    )


def _soft(signed_distance: np.ndarray, width: float) -> np.ndarray:
    """Anti-aliased inside-mask: 1 inside, 0 outside, a smooth edge of `width`."""
    return 1.0 / (1.0 + np.exp(np.clip(signed_distance / width, -40, 40)))


def _ellipse(u, v, cu, cv, ru, rv):
    return np.sqrt(((u - cu) / ru) ** 2 + ((v - cv) / rv) ** 2) - 1.0


def render_face(identity: Identity, u: np.ndarray, v: np.ndarray, lid_closure: float,
                pixel: float) -> np.ndarray:
    """Evaluates the face at face coordinates (u, v); returns RGB in [0, 1].

    `lid_closure` in [0, 1] closes both upper eyelids (blinks); `pixel` is the
    size of one pixel in face units and sets the edge softness.
    """
    idt = identity
    edge = 0.7 * pixel
    img = np.broadcast_to(idt.background, u.shape + (3,)).copy()
    img *= (1.0 - 0.15 * (v[..., None] + 1.0) / 2.0)

    face = _soft(_ellipse(u, v, 0.0, 0.05, idt.face_width, idt.face_height), edge / idt.face_width)
    radial = np.clip(((u / idt.face_width) ** 2 + ((v - 0.05) / idt.face_height) ** 2), 0, 1)
    tex_coords = np.stack([(v + 1.0) * 31.5, (u + 1.0) * 31.5])
    texture = ndimage.map_coordinates(idt.texture, tex_coords, order=1, mode="reflect")
    skin = idt.skin * (1.0 - 0.22 * radial[..., None]) * (1.0 + idt.texture_strength * texture[..., None])
    img = img * (1 - face[..., None]) + skin * face[..., None]

    hair = face * _soft(v - idt.hairline - 0.08 * u ** 2, edge)
    img = img * (1 - hair[..., None]) + idt.hair * hair[..., None]

    for side in (-1.0, 1.0):
        cu = side * idt.eye_dx
        # Brow: a thick arc whose inner end sits a little lower.
        arc_v = idt.brow_y + 0.05 * ((u - cu) / 0.2) ** 2 + 0.02 * side * (cu - u) / 0.2
        brow_dist = np.abs(v - arc_v) - idt.brow_thickness
        brow_span = np.abs(u - cu) - 0.17
        brow = _soft(np.maximum(brow_dist, brow_span), edge)
        img = img * (1 - 0.85 * brow[..., None]) + idt.hair * 0.85 * brow[..., None]

        # Eye: sclera, iris, pupil, then the upper lid sweeping down over it.
        rv = idt.eye_size * 0.55
        eye = _soft(_ellipse(u, v, cu, idt.eye_y, idt.eye_size * 1.5, rv), edge / rv * 0.5)
        iris = _soft(_ellipse(u, v, cu, idt.eye_y, rv * 0.95, rv * 0.95), edge / rv)
        pupil = _soft(_ellipse(u, v, cu, idt.eye_y, rv * 0.4, rv * 0.4), edge / rv)
        eye_rgb = np.array([0.92, 0.9, 0.88]) * (1 - iris[..., None]) + idt.iris * iris[..., None]
        eye_rgb = eye_rgb * (1 - pupil[..., None]) + 0.03 * pupil[..., None]
        lid_line = idt.eye_y - rv + 2.0 * rv * lid_closure
        open_part = eye * _soft(lid_line - v, edge)
        img = img * (1 - open_part[..., None]) + eye_rgb * open_part[..., None]
        crease = _soft(np.abs(v - (lid_line - 0.012)) - 0.006, edge) * _soft(
            _ellipse(u, v, cu, idt.eye_y, idt.eye_size * 1.5, rv * 1.6), edge)
        img *= (1 - 0.35 * crease[..., None])

    # Nose: a soft shadow line and two nostrils.
    nose = _soft(np.maximum(np.abs(u) - 0.012, np.abs(v - (idt.eye_y + idt.nose_length / 2 + 0.05))
                            - idt.nose_length / 2), edge)
    nostrils = sum(_soft(_ellipse(u, v, s * 0.06, idt.eye_y + idt.nose_length + 0.1, 0.035, 0.018), edge / 0.02)
                   for s in (-1.0, 1.0))
    img *= (1 - 0.12 * nose[..., None] - 0.45 * nostrils[..., None])

    # Mouth: upper and lower lip, a dark line between them.
    mw = idt.mouth_width
    lips = _soft(_ellipse(u, v, 0.0, idt.mouth_y, mw, 0.06), edge / 0.06)
    img = img * (1 - lips[..., None]) + idt.lips * lips[..., None]
    line = _soft(np.maximum(np.abs(v - idt.mouth_y - 0.01 * (u / mw) ** 2) - 0.008, np.abs(u) - mw * 0.98), edge)
    img *= (1 - 0.6 * line[..., None])
    return np.clip(img, 0.0, 1.0)


def face_landmarks(identity: Identity, size: int) -> np.ndarray:
    """dlib's 68 points (iBUG 300-W order, x right, y down, in pixels of a `size` frame) of the neutral face.

    Read off the face's geometry, so flow regions sit where the rendered brows, eyes, nose and mouth are
    (dlib's detector needs faces larger than the generated frames).
    """
    idt = identity
    u, v = [], []
    theta = np.linspace(np.pi, 0.0, 17)                                 # jaw 0-16, ear to ear under the chin
    u += list(idt.face_width * np.cos(theta))
    v += list(0.05 + idt.face_height * np.sin(theta))
    for side in (-1.0, 1.0):                                            # brows 17-21, 22-26 (image left first)
        cu = side * idt.eye_dx
        bu = np.linspace(cu - 0.17, cu + 0.17, 5)
        u += list(bu)
        v += list(idt.brow_y + 0.05 * ((bu - cu) / 0.2) ** 2 + 0.02 * side * (cu - bu) / 0.2)
    u += [0.0] * 4                                                      # nose bridge 27-30
    v += list(np.linspace(idt.eye_y, idt.eye_y + idt.nose_length + 0.05, 4))
    u += [-0.1, -0.05, 0.0, 0.05, 0.1]                                  # nostrils 31-35
    v += [idt.eye_y + idt.nose_length + 0.1] * 5
    ru, rv = idt.eye_size * 1.5, idt.eye_size * 0.55
    for side in (-1.0, 1.0):                                            # eyes 36-41, 42-47: corner, top, corner, bottom
        cu = side * idt.eye_dx
        u += [cu - ru, cu - ru / 3, cu + ru / 3, cu + ru, cu + ru / 3, cu - ru / 3]
        v += [idt.eye_y, idt.eye_y - rv, idt.eye_y - rv, idt.eye_y, idt.eye_y + rv, idt.eye_y + rv]
    outer = np.pi + np.arange(12) * 2 * np.pi / 12                     # mouth 48-59 from the left corner over the top
    u += list(idt.mouth_width * np.cos(outer))
    v += list(idt.mouth_y + 0.06 * np.sin(outer))
    inner = np.pi + np.arange(8) * 2 * np.pi / 8                        # inner lips 60-67
    u += list(0.8 * idt.mouth_width * np.cos(inner))
    v += list(idt.mouth_y + 0.01 * np.sin(inner))
    points = np.stack([np.asarray(u), np.asarray(v)], axis=1)
    return (points + 1.0) / 2.0 * size - 0.5


def intensity_curve(num_frames: int, onset: int, offset: int, rng: np.random.Generator) -> np.ndarray:
    """A smooth true intensity in [0, 1] with asymmetric rise and decay.

    Rise and decay use raised-cosine ramps with different exponents and lengths,
    and about a third of the curves hold a plateau at the apex, so none is a
    triangle.
    """
    length = offset - onset
    plateau = rng.uniform(0.1, 0.3) * length if rng.uniform() < 0.35 else 0.0
    rise = rng.uniform(0.25, 0.5) * (length - plateau)
    decay = length - plateau - rise
    gamma_rise, gamma_decay = rng.uniform(0.6, 1.8), rng.uniform(0.6, 1.8)
    t = np.arange(num_frames, dtype=np.float64)
    y = np.zeros(num_frames)
    s_rise = np.clip((t - onset) / rise, 0, 1)
    s_decay = np.clip((t - onset - rise - plateau) / decay, 0, 1)
    up = (0.5 - 0.5 * np.cos(np.pi * s_rise)) ** gamma_rise
    down = (0.5 + 0.5 * np.cos(np.pi * s_decay)) ** gamma_decay
    y = np.where(t < onset + rise + plateau, up, down)
    y[(t <= onset) | (t >= offset)] = 0.0
    return (y / y.max()).astype(np.float32)


def annotate(true_intensity: np.ndarray, rng: np.random.Generator, threshold: float = 0.05):
    """Reads onset/apex/offset indices off the true curve as a human coder would.

    Coders mark the first and last visibly moving frames and one frame of the
    peak, each a few frames off; within a plateau any frame can be chosen.
    """
    n = len(true_intensity)
    active = np.flatnonzero(true_intensity > threshold)
    onset = active[0] + int(round(rng.normal(0, 1.5)))
    offset = active[-1] + int(round(rng.normal(0, 2.5)))
    near_peak = np.flatnonzero(true_intensity >= 0.97)
    apex = int(rng.choice(near_peak)) + int(round(rng.normal(0, 2.0)))
    onset = int(np.clip(onset, 0, n - 3))
    offset = int(np.clip(offset, onset + 2, n - 1))
    apex = int(np.clip(apex, onset + 1, offset - 1))
    return onset, apex, offset


def _displacement(u, v, active_aus, gains, scale, table=ACTION_UNITS):
    """Tissue motion (du, dv) in face units for unit intensity, both sides of the face.

    `table` maps each name in `active_aus` to its (anchor, direction), as ACTION_UNITS does.
    """
    du = np.zeros_like(u)
    dv = np.zeros_like(v)
    for au, gain in zip(active_aus, gains):
        (au_u, au_v), (dir_u, dir_v) = table[au]
        for side in (-1.0, 1.0) if au_u else (1.0,):
            bump = gain * np.exp(-((u - side * au_u) ** 2 + (v - au_v) ** 2) / (2 * AU_RADIUS ** 2))
            du += bump * dir_u * side * scale
            dv += bump * dir_v * scale
    return du, dv


def render_clip(identity: Identity, subject: str, clip_index: int, cfg: GeneratorConfig,
                rng: np.random.Generator, style: SubjectStyle = NEUTRAL_STYLE) -> Clip:
    """Renders one clip: neutral, expression, neutral, with confounders throughout."""
    size = cfg.frame_size
    n = int(rng.integers(cfg.min_frames, cfg.max_frames + 1))
    me_len = int(rng.integers(cfg.min_me_frames, cfg.max_me_frames + 1))
    me_len = min(me_len, n - 2 * cfg.min_neutral - 1)
    true_onset = int(rng.integers(cfg.min_neutral, n - cfg.min_neutral - me_len + 1))
    true_intensity = intensity_curve(n, true_onset, true_onset + me_len, rng)
    onset_i, apex_i, offset_i = annotate(true_intensity, rng)

    expression = draw_expression(cfg.labels, style, rng)
    aus, gains = expression.aus, expression.gains
    # Largest tissue displacement at the apex: 1-3 pixels at 112x112 by default (x the subject's amplitude).
    peak_px = rng.uniform(*cfg.peak_px) * size / 112.0 * expression.amplitude
    pixel = 2.0 / size  # face units per pixel (the frame spans [-1, 1])

    # Confounders at lab sizes. Slow head drift (a smoothed random walk) of 0.1-0.4 px
    # at 112 px: registered crops of a still-seated participant over a fraction of a
    # second. LED lighting flicker of 0.2-0.8 %. Sensor noise of 1-2.5 grey levels.
    # Blinks (about 0.8 per clip), which move far more pixels than the expression.
    drift = np.cumsum(rng.normal(0, 1, (n, 2)), axis=0)
    drift = ndimage.gaussian_filter1d(drift, sigma=8, axis=0)
    drift -= drift[0]
    drift *= rng.uniform(0.1, 0.4) * pixel * size / 112.0 / (np.abs(drift).max() + 1e-8)
    flicker = 1.0 + rng.uniform(0.002, 0.008) * np.sin(
        2 * np.pi * rng.uniform(0.02, 0.08) * np.arange(n) + rng.uniform(0, 2 * np.pi))
    noise_sigma = rng.uniform(1.0, 2.5) / 255.0
    lid = np.zeros(n)
    for _ in range(int(rng.poisson(0.8))):
        start, duration = int(rng.integers(0, n)), int(rng.integers(6, 14))
        s = np.arange(n) - start
        lid += np.where((s >= 0) & (s < duration), np.sin(np.pi * np.clip(s / duration, 0, 1)), 0)
    lid = np.clip(lid, 0, 1)

    coords = (np.arange(size) + 0.5) / size * 2.0 - 1.0
    v0, u0 = np.meshgrid(coords, coords, indexing="ij")
    du_unit, dv_unit = _displacement(u0, v0, aus, gains, peak_px * pixel)
    frames = np.empty((n, size, size, 3), np.uint8)
    for i in range(n):
        # Backward warp: the pixel at x shows the tissue that moved there from x - d.
        u = u0 - du_unit * true_intensity[i] - drift[i, 0]
        v = v0 - dv_unit * true_intensity[i] - drift[i, 1]
        img = render_face(identity, u, v, lid[i], pixel) * flicker[i]
        img = img + rng.normal(0, noise_sigma, img.shape)
        frames[i] = np.clip(np.round(img * 255.0), 0, 255).astype(np.uint8)

    first_number = int(rng.integers(1, 400))
    return Clip(
        subject=subject,
        clip_id=f"{subject}_EP{clip_index:02d}",
        frames=frames,
        frame_numbers=np.arange(first_number, first_number + n, dtype=np.int32),
        onset=first_number + onset_i,
        apex=first_number + apex_i,
        offset=first_number + offset_i,
        emotion=expression.emotion,
        action_units="+".join(a[2:] for a in aus),
        true_intensity=true_intensity,
    )


def subject_code(index: int) -> str:
    return f"s{index + 1:02d}"


def generate(cfg: GeneratorConfig) -> Iterator[Clip]:
    """Yields every clip of the dataset, deterministically from `cfg.seed`."""
    for s in range(cfg.num_subjects):
        subject_rng = np.random.default_rng([cfg.seed, s])
        identity = make_identity(subject_rng)
        style = subject_style(cfg.labels, cfg.seed, s)
        for c in range(cfg.clips_per_subject):
            yield render_clip(identity, subject_code(s), c, cfg, np.random.default_rng([cfg.seed, s, c]), style)
