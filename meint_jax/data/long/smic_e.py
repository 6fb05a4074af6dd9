"""SMIC-E (HS) annotation sheet and frame folders -> long videos with their micro-expression intervals.

SMIC-E extends each clip of SMIC's high-speed part into the longer recording it was cut from (100 fps).
Its HS part ships one sheet, `SMIC-HS-E_annotation.xlsx` (sheet `HS`, header on row 1, a few rows of notes
below the data; some copies convert it to .csv), and the frames, `SMIC-HS-E/HS/s01/s1_ne_01/image559700.jpg`,
numbered as in the recording (large absolute numbers, zero-padded to six digits). One row is one video:
`OnsetF`/`OffsetF` and, where it holds more MEs, `Onset2F`/`Offset2F` and `Onset3F`/`Offset3F`, all in the
file names' numbers; `FirstF`, `LastF`, `TotalVL` and `TotalMF1..3` repeat the video's span and the MEs'
lengths and are not read (the frames on disk decide). Decisions, each counted in the build summary:

- every interval is micro: SMIC codes no macro-expressions; a row's emotion is each of its MEs';
- no apex is given: placed midway and marked `apex_annotated=False` (as SAMM-LV's -1 is), unless a copy adds
  an `ApexF` column (read for the first ME only);
- the emotion cell names one of SMIC's three classes (any spelling `videos.native_emotion` merges); a blank
  one is read from the file name's code (`ne`, `po`, `sur`) and counted as repaired; any other label is
  skipped, as the row is then not one SMIC coded;
- a row without a subject number or file name is a note, skipped with its reason;
- the second and third MEs of sheet row 12 are reported as rows "12 (Onset2F)" and "12 (Onset3F)", so that
  skipping one leaves the others' repairs counted.

Subject folders are `s01` as distributed (`s1` in some copies, matched by number); subjects are `s01`.
"""

from __future__ import annotations

import csv
import os
import re

from meint_jax.data.clips.annotations import AnnotationError
from meint_jax.data.long import annotations as long_annotations
from meint_jax.data.long import videos as long_videos

FPS = 100.0

# field -> accepted header spellings, lower-case with only letters and digits kept ("Onset2F" -> "onset2f";
# the clip sheets' normaliser drops digits, which would make OnsetF and Onset2F one column).
COLUMNS = {"subject": ("subject",), "filename": ("filename",), "onset": ("onsetf", "onset1f", "onsetf1"),
           "offset": ("offsetf", "offset1f", "offsetf1"), "onset2": ("onset2f", "onsetf2"),
           "offset2": ("offset2f", "offsetf2"), "onset3": ("onset3f", "onsetf3"), "offset3": ("offset3f", "offsetf3"),
           "apex": ("apexf", "apexf1"), "emotion": ("emotion",)}
REQUIRED = ("subject", "filename", "onset", "offset", "emotion")
HEADER_NAMES = {"onset": "OnsetF", "offset": "OffsetF", "onset2": "Onset2F", "onset3": "Onset3F",
                "subject": "Subject", "filename": "Filename", "emotion": "Emotion"}
MES = (("onset", "offset"), ("onset2", "offset2"), ("onset3", "offset3"))

CLASSES = ("negative", "positive", "surprise")
FILE_CODES = {"ne": "negative", "po": "positive", "sur": "surprise"}   # s1_ne_01, s3_po_08, s9_sur_02


def _cell_name(value) -> str:
    return re.sub(r"[^a-z0-9]", "", str(value).lower()) if value is not None else ""


def _header(rows: list[tuple], path: str) -> tuple[int, dict[str, int]]:
    """(row index, field -> column) of the first row naming every required column; else the closest row's
    missing columns, in one line."""
    closest = (0, None, list(REQUIRED))
    for index, row in enumerate(rows):
        cells = [_cell_name(c) for c in row]
        found = {}
        for field, spellings in COLUMNS.items():
            matches = [i for i, c in enumerate(cells) if c in spellings]
            if matches:
                found[field] = matches[0]
        missing = [f for f in REQUIRED if f not in found]
        if not missing:
            return index, found
        if len(REQUIRED) - len(missing) > closest[0]:
            closest = (len(REQUIRED) - len(missing), index, missing)
    if closest[1] is None:
        raise AnnotationError(f"{path}: no header row with the SMIC-E columns "
                              f"({', '.join(HEADER_NAMES[f] for f in REQUIRED)})")
    raise AnnotationError(f"{path}: the SMIC-E sheet's header (row {closest[1] + 1}) has no "
                          f"{', '.join(repr(HEADER_NAMES[f]) for f in closest[2])} column (spelled without spaces "
                          "or case); rename that column in a copy of the sheet")


def _csv_rows(path: str) -> list[tuple]:
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            return [tuple(row) for row in csv.reader(f)]
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise AnnotationError(f"{path}: not a readable CSV file ({type(e).__name__}: {e})") from e


def read_sheet(path: str) -> tuple[list[tuple], int, dict[str, int]]:
    """(rows, header row index, field -> column) of the annotation: a .csv, or the workbook's sheet `HS`
    (ignoring case), else its first sheet whose header holds the columns (copies rename sheets)."""
    if path.lower().endswith(".csv"):
        rows = _csv_rows(path)
        return (rows,) + _header(rows, path)
    book = long_annotations.read_workbook(path)
    errors = []
    for title in sorted(book, key=lambda title: _cell_name(title) != "hs"):   # HS first, then in order
        try:
            return (book[title],) + _header(book[title], path)
        except AnnotationError as e:
            errors.append(e)
    if not errors:
        raise AnnotationError(f"{path}: the workbook has no sheet")
    raise errors[0]   # the HS (or first) sheet's: it names what is missing


def _subject_number(value) -> int | None:
    """1, 1.0, '1', 's1', 's01' -> 1; None for blanks and other text."""
    text = long_annotations._text(value)
    match = re.fullmatch(r"s?0*(\d+)", text, re.IGNORECASE)
    return int(match.group(1)) if match else None


def _emotion(cell, filename: str) -> tuple[str | None, str, str | None]:
    """(class or None, native label, repair or None) of a row; None: its label is none of SMIC's."""
    native = long_videos.native_emotion(cell)
    if native:
        emotion = long_videos.emotion_class(native)
        return (emotion if emotion in CLASSES else None), native, None
    code = re.fullmatch(r"s\d+_([a-z]+)_\d+", filename.lower())
    emotion = FILE_CODES.get(code.group(1)) if code else None
    repair = f"emotion blank: {emotion} from the file name's code {code.group(1)!r}" if emotion else None
    return emotion, emotion or "", repair


def video_folders(frames_root: str) -> dict[str, tuple[str, str]]:
    """Video id ('s01/s1_ne_01') -> (subject, folder) of every video folder in the subject folders."""
    by_number = {}
    for name in long_annotations._subfolders(frames_root):
        match = re.fullmatch(r"s0*(\d+)", name, re.IGNORECASE)
        if not match:
            continue
        number = int(match.group(1))
        if number in by_number:
            raise AnnotationError(f"{frames_root}: folders {by_number[number]!r} and {name!r} both hold subject "
                                  f"{number}: keep one")
        by_number[number] = name
    if not by_number:
        raise AnnotationError(f"{frames_root}: no subject folders (s01, s02, ...) with the video folders in them")
    folders = {}
    for number, name in sorted(by_number.items()):
        subject = f"s{number:02d}"
        for video in long_annotations._subfolders(os.path.join(frames_root, name)):
            folders[f"{subject}/{video.lower()}"] = (subject, os.path.join(frames_root, name, video))
    return folders


def parse_smic_e(sheet_path: str, frames_root: str) -> long_annotations.LongParseResult:
    """SMIC-E HS: every row's (up to three) MEs joined to the video folder its subject and file name name."""
    table, header, col = read_sheet(sheet_path)
    text = long_annotations._text
    rows = long_annotations._Rows(os.path.basename(sheet_path))   # numbers from 1: a 0 is an empty cell
    for index in range(header + 1, len(table)):
        row = table[index]
        if all(text(c) == "" for c in row):
            continue
        value = {k: row[c] if c < len(row) else None for k, c in col.items()}
        number, filename = _subject_number(value["subject"]), text(value["filename"])
        if number is None or not filename:
            rows.skip(index + 1, value["subject"], filename, "not a coding row (no subject number or file name)")
            continue
        subject = f"s{number:02d}"
        emotion, native, repair = _emotion(value["emotion"], filename)
        if emotion is None:
            reason = (f"unknown emotion: {value['emotion']!r} (SMIC labels negative, positive, surprise)" if native
                      else f"no emotion: a blank cell and no ne/po/sur code in the file name {filename!r}")
            rows.skip(index + 1, subject, filename, reason)
            continue
        for k, (on, off) in enumerate(MES):
            onset, offset = value.get(on), value.get(off)
            if k and text(onset) == "" and text(offset) == "":
                continue                                   # the row holds fewer MEs
            label = index + 1 if k == 0 else f"{index + 1} ({HEADER_NAMES[on]})"
            apex = value.get("apex") if k == 0 else None
            apex = None if text(apex) == "" else apex
            interval = rows.interval(label, subject, filename, onset, apex, offset, "micro", native, emotion=emotion)
            if interval is not None:
                if repair:
                    rows.repair(label, subject, filename, repair)
                rows.by_video[f"{subject}/{filename.lower()}"].append((label, interval))
    videos = long_annotations._videos(rows, video_folders(frames_root), FPS, frames_root)
    return long_annotations.LongParseResult(videos, rows.skipped, rows.repaired, [sheet_path])
