"""Coding sheets of CASME II, SAMM, CASME and MMEW -> validated clips of one schema.

Each dataset ships a sheet (.xlsx; CASME's is an old-format .xls), one row per
micro-expression, beside folders of frames. Copies differ: SAMM releases may put note rows above the
header, cells can hold `/` for a missing apex, spreadsheet readers turn
zero-padded subject codes into integers. So the header row is searched for,
subject codes are rebuilt as the strings the folders use, and every row is
checked against the frames on disk. A row that fails is skipped with its
reason and counted, never silently dropped and never fatal.
"""

from __future__ import annotations

import collections
import dataclasses
import glob
import os
import re
from typing import Callable

from absl import logging

from meint_jax.common.errors import UserError
from meint_jax.data import frames as frames_lib
from meint_jax.data.clips.clip import Clip

CASME2_EMOTIONS = ("happiness", "disgust", "repression", "surprise", "fear", "sadness", "others")
SAMM_EMOTIONS = ("anger", "contempt", "disgust", "fear", "happiness", "sadness", "surprise", "other")
# CASME's labels as its 2019 recoding writes them ('amusement' of the 2013 paper became 'happiness').
CASME_EMOTIONS = ("happiness", "sadness", "disgust", "surprise", "contempt", "fear", "repression", "tense")
MMEW_EMOTIONS = ("happiness", "surprise", "anger", "disgust", "fear", "sadness", "others")


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


class ClipFolderError(ValueError):
    """A layout's `clip_dir` found the clip in more than one folder: its row is skipped with this reason."""


@dataclasses.dataclass(frozen=True)
class SheetLayout:
    """How one dataset names its columns, subjects, folders and frames."""

    name: str
    columns: dict[str, tuple[str, ...]]   # field -> accepted header spellings (normalised)
    subject_digits: int
    emotions: tuple[str, ...]
    emotion_aliases: dict[str, str]
    clip_dir: Callable[[str, str, str], str]  # (frames_root, subject, filename) -> folder


def _normalise(text, digits: bool = False) -> str:
    """Lower-case letters only ('Onset Frame' -> 'onsetframe'); with `digits`, numbers are kept ('ApexF1' ->
    'apexf1'), for the header spellings that need them to tell two columns apart."""
    return re.sub(r"[^a-z0-9]" if digits else r"[^a-z]", "", str(text).lower()) if text is not None else ""


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

# CASME-coded-20190721.xls: Subject, Filename, (blank), OnsetF, ApexF1, ApexF2, OffsetF, (blank), Onset, Total, AU,
# Emotion. ApexF1 is the apex (its first frame; ApexF2, often a backslash, its last), so the apex spelling keeps
# its digit and ApexF2 never stands in for it. 'Onset' and 'Total' are durations in ms, not frames.
CASME = SheetLayout(
    name="CASME",
    columns={"subject": ("subject",), "filename": ("filename",), "onset": ("onsetf", "onsetframe"),
             "apex": ("apexf1", "apexframe"), "offset": ("offsetf", "offsetframe"),
             "action_units": ("au", "aus", "actionunits"), "emotion": ("emotion", "estimatedemotion")},
    subject_digits=2,
    emotions=CASME_EMOTIONS,
    # 'amusement': the 2013 paper's name for happiness; 'comtempt': how code reading the section sheets spells it.
    emotion_aliases={"amusement": "happiness", "comtempt": "contempt", "happy": "happiness", "sad": "sadness"},
    clip_dir=lambda root, subject, filename: os.path.join(root, f"sub{subject}", filename),
)


def clip_in_emotion_folder(root: str, subject: str, filename: str) -> str:
    """MMEW files a clip under its emotion (Micro_Expression/<emotion>/S01-01-001), or per subject first
    (<S01>/<emotion>/S01-01-001) in copies unpacked so. The folder's emotion need not be the sheet's (its
    'others' rows sit in a 'repression' folder in some releases), so the clip is found by its name."""
    found = [p for pattern in ("*", os.path.join("*", "*"))
             for p in sorted(glob.glob(os.path.join(glob.escape(root), pattern, glob.escape(filename))))
             if os.path.isdir(p)]
    if len(found) > 1:
        raise ClipFolderError(f"{filename} is in {len(found)} folders "
                              f"({', '.join(os.path.relpath(p, root) for p in found)}): keep one")
    return found[0] if found else os.path.join(root, "*", filename)


# MMEW_Micro_Exp.xlsx: Subject (an integer), Filename, OnsetFrame, ApexFrame, OffsetFrame, Action Units, Estimated
# Emotion, remarks; the header on row 1.
MMEW = SheetLayout(
    name="MMEW",
    columns={**SHEET_COLUMNS, "action_units": ("actionunits", "aus")},
    subject_digits=2,
    emotions=MMEW_EMOTIONS,
    emotion_aliases={"other": "others", "happy": "happiness", "angry": "anger", "sad": "sadness"},
    clip_dir=clip_in_emotion_folder,
)


def read_rows(path: str) -> list[tuple]:
    """All rows of the first worksheet as tuples of cell values (.xlsx, or an old-format .xls)."""
    import openpyxl

    if not os.path.isfile(path):
        raise AnnotationError(f"{path}: annotation sheet not found")
    if path.lower().endswith(".xls"):
        return _read_xls_rows(path)
    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as e:  # openpyxl raises several unrelated types for a bad file.
        raise AnnotationError(f"{path}: not a readable .xlsx file ({e})") from e
    try:
        return [tuple(row) for row in workbook.worksheets[0].iter_rows(values_only=True)]
    finally:
        workbook.close()


def _read_xls_rows(path: str) -> list[tuple]:
    """An .xls sheet's rows with cells as openpyxl gives them: None for a blank, 12 (not 12.0) for a whole number."""
    import xlrd

    try:
        sheet = xlrd.open_workbook(path).sheet_by_index(0)
    except Exception as e:  # xlrd raises several unrelated types for a bad file.
        raise AnnotationError(f"{path}: not a readable .xls file ({e})") from e

    def cell(value):
        if value == "":
            return None
        return int(value) if isinstance(value, float) and value.is_integer() else value

    return [tuple(cell(v) for v in sheet.row_values(r)) for r in range(sheet.nrows)]


# Columns a sheet may lack: intensity needs neither (a missing emotion reads as the layout's "others").
OPTIONAL_COLUMNS = ("action_units", "emotion")


def find_header(rows: list[tuple], layout: SheetLayout, path: str) -> tuple[int, dict[str, int]]:
    """(row index, field -> column index) of the first row holding every required column.

    Without one, the error names the columns missing from the row that comes closest.
    """
    required = [field for field in layout.columns if field not in OPTIONAL_COLUMNS]
    closest = (0, None, [])
    for index, row in enumerate(rows):
        cells = [(_normalise(c), _normalise(c, digits=True)) for c in row]
        found = {}
        for field, spellings in layout.columns.items():
            matches = [i for i, (letters, numbered) in enumerate(cells)
                       if letters in spellings or numbered in spellings]
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
    try:
        folder = layout.clip_dir(frames_root, subject, filename)
    except ClipFolderError as e:
        return f"ambiguous clip folder: {e}"
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
