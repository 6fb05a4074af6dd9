"""The one clip type: a sequence of face frames and what is known of it.

A dataset's annotated clip (frames still on disk: `frame_paths`), a generated
one (`frames` and `true_intensity`), and a user's recording to predict on
(`frames`, maybe `fps`) are all a `Clip`. `example()` turns one into the
record every builder writes (docs/design.md, "The clip schema").
"""

from __future__ import annotations

import dataclasses

import numpy as np


@dataclasses.dataclass(frozen=True, eq=False)   # arrays inside: compared by identity
class Clip:
    clip_id: str                          # unique in its dataset, e.g. "006/006_1_2"; names prediction outputs
    frame_numbers: np.ndarray             # int32 [N], as numbered in the source, increasing
    subject: str = ""
    frames: np.ndarray | None = None      # uint8 [N, H, W, 3] once read
    frame_paths: tuple[str, ...] = ()     # the frame files, in frame-number order, before they are read
    onset: int | None = None              # annotated, in original frame numbers
    apex: int | None = None
    offset: int | None = None
    emotion: str | None = None
    action_units: str = ""
    true_intensity: np.ndarray | None = None   # float32 [N]: the synthetic sets only
    fps: float | None = None
    source: str = ""                      # the file, folder or dataset it came from
    warnings: tuple[str, ...] = ()        # what reading it found wrong but usable; prediction outputs record them
    times: np.ndarray | None = None       # float64 [N] seconds since the first frame, where the video stamps them
    face_present: np.ndarray | None = None   # bool [N] where the face was looked for: False frames are not scored

    def __post_init__(self):
        object.__setattr__(self, "frame_numbers", np.asarray(self.frame_numbers, np.int32))

    @property
    def annotated(self) -> bool:
        return self.onset is not None

    def example(self, frames: np.ndarray | None = None) -> dict:
        """The clip-schema record of a builder; `frames` replaces the clip's own (read elsewhere)."""
        frames = self.frames if frames is None else frames
        if frames is None or not self.annotated:
            raise ValueError(f"clip {self.clip_id}: a dataset record needs frames and onset/apex/offset")
        record = {"subject": self.subject, "clip_id": self.clip_id, "frames": frames,
                  "frame_numbers": self.frame_numbers, "onset": self.onset, "apex": self.apex,
                  "offset": self.offset, "emotion": self.emotion, "action_units": self.action_units}
        if self.true_intensity is not None:
            record["true_intensity"] = self.true_intensity
        return record
