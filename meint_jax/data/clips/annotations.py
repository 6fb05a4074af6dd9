"""Coding sheets of CASME II and SAMM -> validated clips of one schema.

Both datasets ship an .xlsx sheet (one row per micro-expression) beside
folders of frames. Copies differ: SAMM releases may put note rows above the
header, cells can hold `/` for a missing apex, spreadsheet readers turn
zero-padded subject codes into integers. So the header row is searched for,
subject codes are rebuilt as the strings the folders use, and every row is
checked against the frames on disk. A row that fails is skipped with its
reason and counted, never silently dropped and never fatal.
"""

from __future__ import annotations

import collections
import dataclasses
import os
import re
from typing import Callable

from absl import logging

from meint_jax.common.errors import UserError
from meint_jax.data import frames as frames_lib
from meint_jax.data.clips.clip import Clip

CASME2_EMOTIONS = ("happiness", "disgust", "repression", "surprise", "fear", "sadness", "others")
SAMM_EMOTIONS = ("anger", "contempt", "disgust", "fear", "happiness", "sadness", "surprise", "other")


@dataclasses.dataclass
class ParseResult:
    clips: list[Clip]           # frames on disk: `frame_paths`, not yet read
    skipped: list[dict]              # {"row", "subject", "clip", "reason"}

    def summary(self) -> dict:
        return summarize(len(self.clips), self.skipped)


def summarize(num_clips: int, skipped: list[dict]) -> dict:
    """Clips kept and clips skipped by reason, for logs and the dataset's summary file."""
    reasons = collections.Counter(s["reason"].split(":")[0] for s in skipped)
    return {"clips": num_clips, "skipped": len(skipped),
            "skipped_by_reason": dict(sorted(reasons.items())), "skipped_rows": skipped}


class AnnotationError(UserError):
    """The sheet itself cannot be used (unreadable, or no header row)."""


@dataclasses.dataclass(frozen=True)
class SheetLayout:
    """How one dataset names its columns, subjects, folders and frames."""

    name: str
    columns: dict[str, tuple[str, ...]]   # field -> accepted header spellings (normalised)
    subject_digits: int
    emotions: tuple[str, ...]
    emotion_aliases: dict[str, str]
    clip_dir: Callable[[str, str, str], str]  # (frames_root, subject, filename) -> folder


def _normalise(text) -> str:
    return re.sub(r"[^a-z]", "", str(text).lower()) if text is not None else ""


# Both sheets name their columns alike ("OnsetFrame" in CASME II, "Onset Frame" in SAMM normalise
# to the same text): field -> accepted header spellings, normalised.
SHEET_COLUMNS = {"subject": ("subject",), "filename": ("filename",), "onset": ("onsetframe",),
                 "apex": ("apexframe",), "offset": ("offsetframe",), "action_units": ("actionunits",),
                 "emotion": ("estimatedemotion",)}

CASME2 = SheetLayout(
    name="CASME II",
    columns=SHEET_COLUMNS,
    subject_digits=2,
    emotions=CASME2_EMOTIONS,
    emotion_aliases={"other": "others", "happy": "happiness", "sad": "sadness"},
    clip_dir=lambda root, subject, filename: os.path.join(root, f"sub{subject}", filename),
)

SAMM = SheetLayout(
    name="SAMM",
    columns=SHEET_COLUMNS,
    subject_digits=3,
    emotions=SAMM_EMOTIONS,
    emotion_aliases={"others": "other", "happy": "happiness", "angry": "anger", "sad": "sadness"},
    clip_dir=lambda root, subject, filename: os.path.join(root, subject, filename),
)


def read_rows(path: str) -> list[tuple]:
    """All rows of the first worksheet as tuples of cell values."""
    import openpyxl

    if not os.path.isfile(path):
        raise AnnotationError(f"{path}: annotation sheet not found")
    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as e:  # openpyxl raises several unrelated types for a bad file.
        raise AnnotationError(f"{path}: not a readable .xlsx file ({e})") from e
    try:
        return [tuple(row) for row in workbook.worksheets[0].iter_rows(values_only=True)]
    finally:
        workbook.close()


# Columns a sheet may lack: intensity needs neither (a missing emotion reads as the layout's "others").
OPTIONAL_COLUMNS = ("action_units", "emotion")


def find_header(rows: list[tuple], layout: SheetLayout, path: str) -> tuple[int, dict[str, int]]:
    """(row index, field -> column index) of the first row holding every required column.

    Without one, the error names the columns missing from the row that comes closest.
    """
    required = [field for field in layout.columns if field not in OPTIONAL_COLUMNS]
    closest = (0, None, [])
    for index, row in enumerate(rows):
        cells = [_normalise(c) for c in row]
        found = {}
        for field, spellings in layout.columns.items():
            matches = [i for i, c in enumerate(cells) if c in spellings]
            if matches:
                found[field] = matches[0]
        present = [field for field in required if field in found]
        if len(present) == len(required):
            return index, found
        if len(present) > closest[0]:
            closest = (len(present), index, [f for f in required if f not in found])
    if closest[1] is None:
        wanted = ", ".join(layout.columns[f][0] for f in required)
        raise AnnotationError(f"{path}: no header row with the {layout.name} columns ({wanted})")
    missing = ", ".join(repr(layout.columns[f][0]) for f in closest[2])
    raise AnnotationError(f"{path}: no header row with the {layout.name} columns: row {closest[1] + 1} lacks "
                          f"{missing} (spelled without spaces or case); rename that column in a copy of the sheet")


def subject_code(value, digits: int) -> str:
    """6, 6.0, '6' or '006' -> '006' for 3 digits; other text is kept as written."""
    text = str(value).strip()
    if re.fullmatch(r"\d+(\.0+)?", text):
        return f"{int(float(text)):0{digits}d}"
    if re.fullmatch(r"(sub|s)\d+", text, re.IGNORECASE):
        return f"{int(re.sub(r'[^0-9]', '', text)):0{digits}d}"
    return text


def frame_number(value) -> int | None:
    """An integer frame number from a cell, or None for '/', blanks, text, fractions and negatives (SAMM marks
    a missing apex -1)."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return int(value) if float(value).is_integer() and value >= 0 else None
    text = str(value).strip()
    return int(text) if re.fullmatch(r"\d+", text) else None


def _validate_row(values: dict, layout: SheetLayout, frames_root: str) -> Clip | str:
    """The row's clip record, or the reason it cannot be used."""
    if not values["subject"] or not values["filename"]:
        return "missing subject or filename"
    subject = subject_code(values["subject"], layout.subject_digits)
    filename = str(values["filename"]).strip()
    onset, apex, offset = (frame_number(values[k]) for k in ("onset", "apex", "offset"))
    if onset is None or offset is None:
        return f"missing onset or offset: onset={values['onset']!r}, offset={values['offset']!r}"
    if apex is None:
        return f"missing apex: {values['apex']!r}"
    if not onset <= apex <= offset or onset == offset:   # an apex on the onset or offset is annotated so
        return f"frames out of order: onset {onset}, apex {apex}, offset {offset}"
    emotion = _normalise(values["emotion"])
    emotion = layout.emotion_aliases.get(emotion, emotion)
    if emotion not in layout.emotions:
        return f"unknown emotion: {values['emotion']!r}"
    folder = layout.clip_dir(frames_root, subject, filename)
    if not os.path.isdir(folder):
        return f"clip folder missing: {folder}"
    try:
        frames = frames_lib.list_frames(folder)
    except frames_lib.FrameError as e:
        return f"ambiguous frame numbering: {e}"
    numbers = [n for n, _ in frames]
    absent = [n for n in (onset, apex, offset) if n not in numbers]
    if absent:
        return f"annotated frames not on disk: {absent} in {folder}"
    return Clip(subject=subject, clip_id=f"{subject}/{filename}",
                      frame_paths=tuple(p for _, p in frames), frame_numbers=numbers,
                      onset=onset, apex=apex, offset=offset, emotion=emotion,
                      action_units=str(values["action_units"] or "").strip())


def parse(sheet_path: str, frames_root: str, layout: SheetLayout) -> ParseResult:
    """Every row of the sheet as a clip record, or as a skipped row with its reason."""
    rows = read_rows(sheet_path)
    header, columns = find_header(rows, layout, sheet_path)
    for field in OPTIONAL_COLUMNS:
        if field not in columns:
            logging.warning("%s: no %r column; every clip gets %s", os.path.basename(sheet_path),
                            layout.columns[field][0], "emotion 'others'" if field == "emotion" else "no AUs")
    result = ParseResult(clips=[], skipped=[])
    first_row = {}   # (clip id, onset) -> the sheet row that gave that clip
    for index in range(header + 1, len(rows)):
        row = rows[index]
        if all(c is None or str(c).strip() == "" for c in row):
            continue
        values = {field: row[col] if col < len(row) else None for field, col in columns.items()}
        values.setdefault("emotion", "others")
        values.setdefault("action_units", "")
        outcome = _validate_row(values, layout, frames_root)
        if isinstance(outcome, Clip) and (outcome.clip_id, outcome.onset) in first_row:
            outcome = f"duplicate row: the same clip and onset as row {first_row[outcome.clip_id, outcome.onset]}"
        if isinstance(outcome, Clip):
            first_row[outcome.clip_id, outcome.onset] = index + 1
            result.clips.append(outcome)
        else:
            skipped = {"row": index + 1, "subject": str(values["subject"]), "clip": str(values["filename"]),
                       "reason": outcome}
            logging.warning("%s row %d (%s %s) skipped: %s", os.path.basename(sheet_path), index + 1,
                            skipped["subject"], skipped["clip"], outcome)
            result.skipped.append(skipped)
    return result
