"""Pseudo-intensity targets from onset/apex/offset (the method in docs/design.md).

Each shape is a pure function of the normalised time `t` (0 at onset, 1 at
offset) and the normalised apex `a`; it is 0 at and outside onset/offset and
1 at the apex. Targets are always computed from the frame positions actually
sampled, never from the sample index.
"""

from __future__ import annotations

import numpy as np

APEX_EPS = 1e-3


def triangular(t: np.ndarray, a: np.ndarray) -> np.ndarray:
    """The paper's target: linear rise to 1 at the apex, linear decay to 0."""
    return np.where(t <= a, t / a, (1.0 - t) / (1.0 - a))


GAUSSIAN_SIDES = 3.0     # onset and offset lie this many standard deviations from the apex
PLATEAU = 0.25           # trapezoid: the top quarter of each side is flat at 1


def gaussian(t: np.ndarray, a: np.ndarray) -> np.ndarray:
    """A bell on the apex, each side's width from its own length, shifted and scaled to reach 0 at the ends."""
    sigma = np.where(t <= a, a, 1.0 - a) / GAUSSIAN_SIDES
    edge = np.exp(-0.5 * GAUSSIAN_SIDES ** 2)
    return (np.exp(-0.5 * ((t - a) / sigma) ** 2) - edge) / (1.0 - edge)


def raised_cosine(t: np.ndarray, a: np.ndarray) -> np.ndarray:
    """Half a cosine period up to the apex and another down: smooth at onset, apex and offset."""
    phase = np.where(t <= a, t / a, 1.0 + (t - a) / (1.0 - a))
    return 0.5 * (1.0 - np.cos(np.pi * phase))


def trapezoid(t: np.ndarray, a: np.ndarray) -> np.ndarray:
    """The triangle with its top cut flat: intensity held at 1 around the apex."""
    return np.minimum(triangular(t, a) / (1.0 - PLATEAU), 1.0)


SHAPES = {"triangular": triangular, "gaussian": gaussian, "raised_cosine": raised_cosine, "trapezoid": trapezoid}


def normalised_time(positions, onset, apex, offset):
    """(t, a) for frame positions of clips with the given annotations.

    Shapes broadcast: positions [..., T] with onset/apex/offset [...].
    """
    onset = np.asarray(onset, np.float64)[..., None]
    apex = np.asarray(apex, np.float64)[..., None]
    offset = np.asarray(offset, np.float64)[..., None]
    duration = np.maximum(offset - onset, 1.0)
    t = (np.asarray(positions, np.float64) - onset) / duration
    a = np.clip((apex - onset) / duration, APEX_EPS, 1.0 - APEX_EPS)
    return t, a


def pseudo_intensity(positions, onset, apex, offset, shape: str = "triangular") -> np.ndarray:
    """Target intensity at `positions` (original frame numbers), float32 [..., T].

    Positions outside [onset, offset] (untrimmed windows) get 0.
    """
    if shape not in SHAPES:
        raise ValueError(f"unknown pseudo-label shape {shape!r}; choose one of {sorted(SHAPES)}")
    t, a = normalised_time(positions, onset, apex, offset)
    inside = (t >= 0.0) & (t <= 1.0)
    y = SHAPES[shape](np.clip(t, 0.0, 1.0), a)
    return np.where(inside, np.clip(y, 0.0, 1.0), 0.0).astype(np.float32)
