"""The one long-video type: an untrimmed recording and the expressions annotated in it.

A long video (CAS(ME)^2, SAMM-LV, CAS(ME)^3, or a generated one) holds a few
micro-expressions, more macro-expressions and many distractors. Its intervals
keep the frame numbers of the source; their emotions keep the dataset's own
label and map to the field's three classes plus `others`
(docs/design.md, "Long videos").
"""

from __future__ import annotations

import dataclasses
import re

import numpy as np

KINDS = ("micro", "macro")
EMOTION_CLASSES = ("negative", "positive", "surprise", "others")

# The field's 3-class mapping (MEGC): every negative emotion of every dataset, happiness, surprise.
# CASME's 'tense' (AU4 alone, which its coders say may be disgust, anger or attention) names no class: others.
# CASME's 'amusement' (its 2013 paper's word, 'happiness' since) is positive; 'comtempt' a spelling of its sheets.
NEGATIVE = ("anger", "contempt", "disgust", "fear", "sadness", "repression")
EMOTION_ALIASES = {"happy": "happiness", "sad": "sadness", "angry": "anger", "other": "others",
                   "disgusting": "disgust", "surprised": "surprise", "fearful": "fear",
                   "amusement": "happiness", "comtempt": "contempt"}


def native_emotion(label) -> str:
    """A dataset's emotion label, lower-case and with its common spellings merged ('Sad' -> 'sadness');
    '' for a blank cell."""
    text = re.sub(r"[^a-z]", "", str(label).lower()) if label is not None else ""
    return EMOTION_ALIASES.get(text, text)


def emotion_class(native: str) -> str | None:
    """negative / positive / surprise / others for a (normalised) native label; None if it names no emotion."""
    if native in NEGATIVE or native == "negative":
        return "negative"
    if native in ("happiness", "positive"):
        return "positive"
    if native == "surprise":
        return "surprise"
    if native == "others":
        return "others"
    return None


@dataclasses.dataclass(frozen=True)
class Interval:
    """One annotated expression, in the source's frame numbers, inclusive at both ends."""

    onset: int
    apex: int
    offset: int
    kind: str                      # micro | macro
    emotion: str = "others"        # one of EMOTION_CLASSES
    native_emotion: str = ""       # the dataset's own label ('' where it gives none)
    action_units: str = ""
    apex_annotated: bool = True    # False: the sheet gave none and `apex` was placed (see the builders)

    def __post_init__(self):
        if self.kind not in KINDS or self.emotion not in EMOTION_CLASSES:
            raise ValueError(f"interval kind {self.kind!r} / emotion {self.emotion!r}: use {KINDS} / "
                             f"{EMOTION_CLASSES}")
        if not self.onset <= self.apex <= self.offset:
            raise ValueError(f"interval frames out of order: {self.onset}, {self.apex}, {self.offset}")


@dataclasses.dataclass(frozen=True, eq=False)   # arrays inside: compared by identity
class LongVideo:
    video_id: str                          # unique in its dataset, e.g. "s15/15_0101"
    subject: str
    frame_numbers: np.ndarray              # int32 [N], increasing (gaps allowed)
    fps: float
    intervals: tuple[Interval, ...] = ()
    blinks: tuple[tuple[int, int], ...] = ()   # (onset, offset) frame numbers: CAS(ME)^3 and the synthetic set
    frame_paths: tuple[str, ...] = ()      # the frame files, in frame-number order (real datasets)
    true_intensity: np.ndarray | None = None   # float32 [N, 2] (micro, macro): the synthetic set only
    source: str = ""
    times: np.ndarray | None = None        # float64 [N] seconds since the first frame, where a video file stamps them
    warnings: tuple[str, ...] = ()         # what reading a user's recording found wrong but usable
    face_present: np.ndarray | None = None   # bool [N] where the face was looked for: False frames are not scored

    def __post_init__(self):
        object.__setattr__(self, "frame_numbers", np.asarray(self.frame_numbers, np.int32))

    @property
    def num_frames(self) -> int:
        return len(self.frame_numbers)


def intervals_record(intervals) -> dict:
    """The `intervals` field of a long-video record: one list per attribute (TFDS Sequence of a dict)."""
    return {"onset": [i.onset for i in intervals], "apex": [i.apex for i in intervals],
            "offset": [i.offset for i in intervals], "kind": [i.kind for i in intervals],
            "emotion": [i.emotion for i in intervals], "native_emotion": [i.native_emotion for i in intervals],
            "action_units": [i.action_units for i in intervals],
            "apex_annotated": [i.apex_annotated for i in intervals]}


def intervals_from_record(record: dict, kinds=KINDS, emotions=EMOTION_CLASSES) -> tuple[Interval, ...]:
    """Inverse of `intervals_record` for a decoded record (class labels as ints, text as bytes)."""
    def text(x):
        return x.decode() if isinstance(x, bytes) else str(x)

    r = record
    return tuple(Interval(int(r["onset"][k]), int(r["apex"][k]), int(r["offset"][k]), kinds[int(r["kind"][k])],
                          emotions[int(r["emotion"][k])], text(r["native_emotion"][k]), text(r["action_units"][k]),
                          bool(r["apex_annotated"][k]))
                 for k in range(len(r["onset"])))
