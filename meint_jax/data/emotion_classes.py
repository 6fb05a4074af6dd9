"""Which emotion classes a model predicts, and each expression's class (docs/design.md, "Emotion classes").

Two class sets: the field's three (negative / positive / surprise, after MEGC 2019's mapping of every
dataset's labels) and a dataset's own labels (`native`). An expression with no emotion of the set (the
datasets' `others`, or a macro-expression annotated without one) is `others`: excluded by default, as the
MEGC analyses do (never a training target, never scored), or its own class (`others=class`). Per frame,
`neutral` (outside every expression) follows the named classes, so a head has len(classes) + 1 outputs.
"""

from __future__ import annotations

from typing import Iterable

from meint_jax.data.long import videos as long_videos

THREE = ("negative", "positive", "surprise")
LABEL_SETS = ("three", "native")
OTHERS = ("exclude", "class")
NEUTRAL = "neutral"
IGNORED = -1          # the class index of an expression whose label is not a class (not a target)


def check(label_set: str, others: str) -> None:
    if label_set not in LABEL_SETS:
        raise ValueError(f"emotion labels {label_set!r}: use one of {LABEL_SETS}")
    if others not in OTHERS:
        raise ValueError(f"others={others!r}: use one of {OTHERS}")


def label(native: str, label_set: str) -> str:
    """An expression's label in the class set, from the dataset's own label ('' or unknown -> others)."""
    native = long_videos.native_emotion(native)
    if label_set == "native":
        return native if native and native != "other" else "others"
    return long_videos.emotion_class(native) or "others"


def interval_label(interval: long_videos.Interval, label_set: str) -> str:
    """A long-video interval's label: its stored 3-class emotion, or its own label (`native`)."""
    return interval.emotion if label_set == "three" else label(interval.native_emotion, "native")


def classes(label_set: str, others: str, native_labels: Iterable[str] = ()) -> tuple[str, ...]:
    """The classes a model predicts: the three (+ others), or the sorted native labels seen in training."""
    check(label_set, others)
    if label_set == "three":
        names = THREE + ("others",)
    else:
        names = tuple(sorted({label(n, "native") for n in native_labels}))
    return names if others == "class" else tuple(n for n in names if n != "others")


def index(name: str, names: tuple[str, ...]) -> int:
    """The class index of a label, IGNORED when it is not one of `names` (others, when excluded)."""
    return names.index(name) if name in names else IGNORED
