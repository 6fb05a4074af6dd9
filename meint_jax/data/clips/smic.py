"""SMIC's clip folders, SMIC-E's annotation workbook and the community's apex sheet -> validated clips.

SMIC ships no coding sheet for its micro-expression clips: the folder tree is
the annotation (`HS/s1/micro/negative/s1_ne_01/`), and each clip folder holds
the expression alone, so its first and last frames are its onset and offset.
SMIC-E's folders (`SMIC-HS-E/s01/s1_ne_01/`) hold longer stretches, and its
workbook (a sheet per camera) gives each expression's onset and offset, some
folders a second one. Neither gives an apex. The community's apex sheet
(`smic_apex.xlsx`, HS frame numbers) does where the user has it; elsewhere the
apex is placed on the middle frame and counted (`repaired`), since paper 001's
target peaks at the apex and a placed one trains on a guess. Subject codes are
rebuilt as two digits (`s1`, `s01` and `1` are `01`). Every clip folder and
sheet row is used or skipped with its reason.
"""

from __future__ import annotations

import collections
import csv
import dataclasses
import math
import os
import re

from absl import logging

from meint_jax.data import frames as frames_lib
from meint_jax.data.clips import annotations
from meint_jax.data.clips.annotations import AnnotationError
from meint_jax.data.clips.clip import Clip

EMOTIONS = ("negative", "positive", "surprise")
NAME_CODES = {"ne": "negative", "po": "positive", "sur": "surprise"}   # s1_ne_01, s1_po_01, s1_sur_01
LABELS = dict(enumerate(EMOTIONS))        # the apex sheet's label column: 0, 1, 2
SUB_DATASETS = ("HS", "VIS", "NIR")
SUBJECT_DIGITS = 2

# The community's apex sheet (smic_apex.csv, or .xlsx with the same columns on Sheet1): data, subject, clip,
# label, onset_frame, apex_frame, offset_frame and three frame paths; HS frame numbers.
APEX_SHEET = annotations.SheetLayout(
    name="SMIC apex sheet",
    columns={"subject": ("subject",), "filename": ("clip",), "onset": ("onsetframe",), "apex": ("apexframe",),
             "offset": ("offsetframe",), "emotion": ("label",)},
    subject_digits=SUBJECT_DIGITS,
    emotions=EMOTIONS,
    emotion_aliases={},
    clip_dir=lambda root, subject, filename: os.path.join(root, f"s{subject}", filename),
)

# SMIC-E's workbooks (SMIC-HS-E_annotation.xlsx: sheets HS and VIS; SMIC-VIS-E_ and SMIC-NIR-E_annotation.xlsx):
# Subject, Filename, a blank column, OnsetF, OffsetF, Onset2F, Offset2F (a second expression in the folder),
# FirstF, LastF, TotalMF1, TotalMF2, TotalVL, Emotion; some copies spell 'OnsetF NIR' or add an ApexF column.
EXTENDED_SHEET = annotations.SheetLayout(
    name="SMIC-E",
    columns={"subject": ("subject",), "filename": ("filename",), "onset": ("onsetf", "onsetfvis", "onsetfnir"),
             "offset": ("offsetf", "offsetfvis", "offsetfnir"), "emotion": ("emotion",)},
    subject_digits=SUBJECT_DIGITS,
    emotions=EMOTIONS,
    emotion_aliases={},
    clip_dir=APEX_SHEET.clip_dir,
)


@dataclasses.dataclass
class SmicParseResult(annotations.ParseResult):
    repaired: list[dict] = dataclasses.field(default_factory=list)   # clips used after a stated decision

    def summary(self) -> dict:
        return {**annotations.summarize(len(self.clips), self.skipped), **repairs_summary(self.repaired)}


def repairs_summary(repaired: list[dict]) -> dict:
    """Decisions made on used clips (a placed apex, a label taken over another), for `build_summary.json`."""
    reasons = collections.Counter(r["reason"].split(":")[0] for r in repaired)
    return {"repaired": len(repaired), "repaired_by_reason": dict(sorted(reasons.items())),
            "repaired_rows": repaired}


def _entry(row, subject, clip, reason: str) -> dict:
    return {"row": row, "subject": "" if subject is None else str(subject),
            "clip": "" if clip is None else str(clip), "reason": reason}


def _skip(skipped: list, row, subject, clip, reason: str) -> None:
    logging.warning("SMIC %s %s%s skipped: %s", subject, clip, f" (row {row})" if row else "", reason)
    skipped.append(_entry(row, subject, clip, reason))


def subject_of(name) -> str | None:
    """'s1', 's01', 1 or '1' -> '01'; None for anything else."""
    text = str(name).strip()
    match = re.fullmatch(r"s?(\d+)(\.0+)?", text, re.IGNORECASE)
    return f"{int(match.group(1)):0{SUBJECT_DIGITS}d}" if match else None


def name_emotion(subject: str, name: str) -> tuple[str | None, str | None]:
    """(the emotion a clip name's code says, None) or (None, why the name cannot be used)."""
    match = re.fullmatch(r"s(\d+)_([a-z]+)_(\d+)", name, re.IGNORECASE)
    if not match or match.group(2).lower() not in NAME_CODES:
        return None, f"clip name not s<subject>_<ne|po|sur>_<number>: {name}"
    if subject_of(match.group(1)) != subject:
        return None, f"clip name's subject differs from its subject: {name} under subject {subject}"
    return NAME_CODES[match.group(2).lower()], None


def _subfolders(path: str) -> list[str]:
    return sorted(n for n in os.listdir(path)
                  if not n.startswith((".", "__")) and os.path.isdir(os.path.join(path, n)))


def _frames(folder: str) -> list[tuple[int, str]] | str:
    """(frame number, path) of a clip folder, or why it cannot be a clip."""
    try:
        frames = frames_lib.list_frames(folder)
    except frames_lib.FrameError as e:
        return f"ambiguous frame numbering: {e}"
    if len(frames) < 2:
        return f"{'one frame only' if frames else 'no frames'}: {folder}"
    return frames


def placed_apex(numbers, onset: int, offset: int) -> int:
    """The frame on disk nearest the middle of [onset, offset], the earlier of two as near (the middle rounded
    down where no frame is missing)."""
    middle = (onset + offset) / 2
    return min((n for n in numbers if onset <= n <= offset), key=lambda n: (abs(n - middle), n))


# ---- the apex sheet ----

@dataclasses.dataclass(frozen=True)
class ApexRow:
    row: int
    subject: str
    clip: str
    onset: int | None
    apex: int | None
    offset: int | None
    label: str | None             # the row's emotion; None where the label is blank or unknown
    reason: str | None = None     # why the row cannot be used


def _csv_rows(path: str) -> list[tuple]:
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            return [tuple(c if c.strip() else None for c in row) for row in csv.reader(f)]
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise AnnotationError(f"{path}: not a readable .csv file ({e})") from e


def _label(value) -> str | None:
    number = annotations.frame_number(value)
    if number is not None:
        return LABELS.get(number)
    text = re.sub(r"[^a-z]", "", str(value).lower()) if value is not None else ""
    return text if text in EMOTIONS else NAME_CODES.get(text)


def read_apex_sheet(path: str, skipped: list) -> dict[tuple[str, str], list[ApexRow]]:
    """The sheet's rows by (subject, clip); rows naming no clip go to `skipped`. A row whose frames cannot be
    used keeps its reason: its clip is skipped with it."""
    rows = _csv_rows(path) if path.lower().endswith(".csv") else annotations.read_rows(path)
    header, columns = annotations.find_header(rows, APEX_SHEET, path)
    by_clip = collections.defaultdict(list)
    for index in range(header + 1, len(rows)):
        row = rows[index]
        if all(c is None or str(c).strip() == "" for c in row):
            continue
        cell = {field: row[col] if col < len(row) else None for field, col in columns.items()}
        subject, clip = subject_of(cell["subject"]), str(cell["filename"] or "").strip()
        if subject is None or not clip:
            _skip(skipped, index + 1, cell["subject"], cell["filename"], "missing subject or clip in the apex sheet")
            continue
        onset, apex, offset = (annotations.frame_number(cell[k]) for k in ("onset", "apex", "offset"))
        reason = None
        if None in (onset, apex, offset):
            reason = f"missing frame number: onset={cell['onset']!r}, apex={cell['apex']!r}, offset={cell['offset']!r}"
        elif not onset <= apex <= offset or onset == offset:
            reason = f"frames out of order: onset {onset}, apex {apex}, offset {offset}"
        by_clip[subject, clip].append(ApexRow(index + 1, subject, clip, onset, apex, offset,
                                              _label(cell.get("emotion")), reason))
    return by_clip


def _apex_problem(row: ApexRow, numbers: set) -> str | None:
    if row.reason:
        return f"{row.reason} (apex sheet row {row.row})"
    absent = [n for n in (row.onset, row.apex, row.offset) if n not in numbers]
    return f"annotated frames not on disk: {absent} (apex sheet row {row.row})" if absent else None


def _unmatched_rows(apex_rows: dict, skipped: list, why) -> None:
    """Apex-sheet rows no clip took, each skipped: `why(key, row)` says why for a row that is fine in itself."""
    for key, rows in sorted(apex_rows.items()):
        for row in rows:
            _skip(skipped, row.row, row.subject, row.clip, row.reason or why(key, row))


# ---- SMIC: the folder tree ----

def _tree_folders(root: str, skipped: list) -> dict[tuple[str, str], tuple[str, str]]:
    """(subject, clip name) -> (clip folder, emotion folder) under `root/sN/micro/<emotion>/`. The `non_micro`
    folders beside `micro` hold other facial movements, not micro-expressions: they are not read."""
    found = {}
    for subject_name in _subfolders(root):
        subject, subject_dir = subject_of(subject_name), os.path.join(root, subject_name)
        micro = os.path.join(subject_dir, "micro")
        if subject is None:
            _skip(skipped, None, subject_name, "", f"not a subject folder (sN): {subject_dir}")
            continue
        if not os.path.isdir(micro):   # subjects recorded without a micro-expression
            logging.info("SMIC: %s has no micro/ folder: no clips", subject_dir)
            continue
        for emotion in _subfolders(micro):
            for name in _subfolders(os.path.join(micro, emotion)):
                folder = os.path.join(micro, emotion, name)
                if emotion.lower() not in EMOTIONS:
                    _skip(skipped, None, subject, name, f"unknown emotion folder: {folder}")
                elif (subject, name) in found:
                    _skip(skipped, None, subject, name, f"duplicate clip: {folder} and {found[subject, name][0]}")
                else:
                    found[subject, name] = (folder, emotion.lower())
    return found


def parse_tree(root: str, apex_sheet: str | None = None) -> SmicParseResult:
    """Every clip folder of a SMIC tree (`HS/s1/micro/negative/s1_ne_01/`) as a clip, or skipped with its
    reason: onset and offset are its first and last frames, or the apex sheet's row for it."""
    result = SmicParseResult(clips=[], skipped=[])
    apex_rows = read_apex_sheet(apex_sheet, result.skipped) if apex_sheet else {}
    for (subject, name), (folder, emotion) in sorted(_tree_folders(root, result.skipped).items()):
        rows = apex_rows.pop((subject, name), [])
        for extra in rows[1:]:
            _skip(result.skipped, extra.row, subject, name, f"duplicate row: the same clip as row {rows[0].row}")
        outcome = _tree_clip(subject, name, folder, emotion, rows[0] if rows else None, result.repaired)
        if isinstance(outcome, Clip):
            result.clips.append(outcome)
        else:
            _skip(result.skipped, rows[0].row if rows else None, subject, name, outcome)
    _unmatched_rows(apex_rows, result.skipped, lambda key, row: f"clip not on disk: no folder {key[1]} under {root}")
    return result


def _tree_clip(subject, name, folder, emotion, row: ApexRow | None, repaired: list) -> Clip | str:
    _, bad_name = name_emotion(subject, name)
    frames = _frames(folder)
    if bad_name or isinstance(frames, str):
        return bad_name or frames
    numbers = [n for n, _ in frames]
    notes = _name_notes(None, subject, name, emotion, "its emotion folder")
    if row is not None:
        problem = _apex_problem(row, set(numbers))
        if problem:
            return problem
        onset, apex, offset = row.onset, row.apex, row.offset
        notes += _label_notes(row, emotion, "its folder")
    else:
        onset, offset = numbers[0], numbers[-1]
        apex = placed_apex(numbers, onset, offset)
        notes.append(_entry(None, subject, name, f"apex placed: frame {apex}, the middle of {onset}..{offset} "
                                                 "(no apex sheet row)"))
    repaired.extend(notes)
    return Clip(subject=subject, clip_id=f"{subject}/{name}", frame_paths=tuple(p for _, p in frames),
                frame_numbers=numbers, onset=onset, apex=apex, offset=offset, emotion=emotion, source=folder)


def _label_notes(row: ApexRow, emotion: str, by_what: str) -> list[dict]:
    """A note where the apex sheet's label disagrees with the label used (it only cross-checks)."""
    if row.label is None or row.label == emotion:
        return []
    return [_entry(row.row, row.subject, row.clip, f"apex sheet label differs: {row.label} in row {row.row}, "
                                                   f"{emotion} by {by_what}; the latter kept")]


def _name_notes(row, subject, name, emotion, by_what: str) -> list[dict]:
    """A note where the clip name's code (s18_sur_03) disagrees with the label used."""
    said, _ = name_emotion(subject, name)
    if said is None or said == emotion:
        return []
    return [_entry(row, subject, name, f"emotion differs from clip name: {emotion} by {by_what}, {said} by its "
                                       "name; the former kept")]


# ---- SMIC-E: long folders and the annotation workbooks ----

@dataclasses.dataclass(frozen=True)
class Expression:
    """One micro-expression of a SMIC-E workbook."""

    row: int
    subject: str
    clip: str
    onset: int
    offset: int
    emotion: str
    apex: int | None = None       # where a copy of the workbook adds an ApexF column


def _sheet_rows(path: str, sub_dataset: str) -> list[tuple]:
    """The rows of the workbook's sheet named for the camera (SMIC-HS-E_annotation.xlsx holds HS and VIS), or of
    the first sheet of that camera's own workbook (SMIC-NIR-E_annotation.xlsx)."""
    import openpyxl

    if not os.path.isfile(path):
        raise AnnotationError(f"{path}: annotation workbook not found")
    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as e:  # openpyxl raises several unrelated types for a bad file.
        raise AnnotationError(f"{path}: not a readable .xlsx file ({e})") from e
    try:
        sheets = {ws.title.strip().upper(): ws for ws in workbook.worksheets}
        own = f"SMIC-{sub_dataset}-E" in os.path.basename(path).upper().replace("_", "-")
        sheet = sheets.get(sub_dataset, workbook.worksheets[0] if own else None)
        if sheet is None:
            names = ", ".join(ws.title for ws in workbook.worksheets)
            raise AnnotationError(f"{path}: no sheet {sub_dataset!r} (its sheets: {names}); put "
                                  f"SMIC-{sub_dataset}-E_annotation.xlsx beside it")
        return [tuple(row) for row in sheet.iter_rows(values_only=True)]
    finally:
        workbook.close()


def _numbered_columns(header: tuple, what: str) -> dict[int, int]:
    """k -> column of `what` (onset, offset, apex) k: OnsetF (1), Onset2F (2), 'OnsetF NIR' (1), ..."""
    found = {}
    for col, cell in enumerate(header):
        name = re.sub(r"[^a-z0-9]", "", str(cell or "").lower())
        match = re.fullmatch(rf"{what}(\d*)f(\d*)(hs|vis|nir)?", name)
        if match:
            found.setdefault(int(match.group(1) or match.group(2) or 1), col)
    return found


def read_extended_sheet(path: str, sub_dataset: str, skipped: list) -> tuple[list[Expression], set]:
    """(every expression of the workbook's sheet for `sub_dataset`, the (subject, clip) of every row naming one);
    rows that cannot be used go to `skipped`."""
    rows = _sheet_rows(path, sub_dataset)
    header, columns = annotations.find_header(rows, EXTENDED_SHEET, f"{path} (sheet {sub_dataset})")
    onsets, offsets, apexes = (_numbered_columns(rows[header], w) for w in ("onset", "offset", "apex"))
    if "emotion" not in columns:
        logging.warning("%s: no 'Emotion' column; each clip's emotion is its name's code", path)
    expressions, named = [], set()
    for index in range(header + 1, len(rows)):
        row = rows[index] + (None,) * len(rows[header])
        if all(c is None or str(c).strip() == "" for c in row):
            continue
        subject, name = subject_of(row[columns["subject"]]), str(row[columns["filename"]] or "").strip()
        said, bad_name = name_emotion(subject, name) if subject and name else (None, "missing subject or filename")
        stated = row[columns["emotion"]] if "emotion" in columns else said
        emotion = re.sub(r"[^a-z]", "", str(stated).lower()) if stated is not None else ""
        emotion = NAME_CODES.get(emotion, emotion)
        problem = bad_name or (None if emotion in EMOTIONS else f"unknown emotion: {stated!r}")
        if subject and name:
            named.add((subject, name))
        if problem:
            _skip(skipped, index + 1, row[columns["subject"]], name, problem)
            continue
        for k in sorted(set(onsets) & set(offsets)):
            on_cell, off_cell = row[onsets[k]], row[offsets[k]]
            if k > 1 and on_cell is None and off_cell is None:
                continue
            onset, offset = annotations.frame_number(on_cell), annotations.frame_number(off_cell)
            apex = annotations.frame_number(row[apexes[k]]) if k in apexes else None
            which = "" if k == 1 else f" (expression {k})"
            if onset is None or offset is None:
                _skip(skipped, index + 1, subject, name, f"missing onset or offset{which}: onset={on_cell!r}, "
                                                         f"offset={off_cell!r}")
            elif onset >= offset or (apex is not None and not onset <= apex <= offset):
                _skip(skipped, index + 1, subject, name, f"frames out of order{which}: onset {onset}, "
                                                         f"apex {apex}, offset {offset}")
            else:
                expressions.append(Expression(index + 1, subject, name, onset, offset, emotion, apex))
    return expressions, named


def extended_root(root: str, sub_dataset: str) -> str:
    """The folder holding SMIC-E's subject folders: the frames folder itself (SMIC-HS-E/s01/), or the folder
    named for the camera inside it (SMIC-HS-E/HS/s01/), as some copies hold them."""
    inner = os.path.join(root, sub_dataset)
    if os.path.isdir(inner) and not any(subject_of(n) for n in _subfolders(root)):
        return inner
    return root


def _extended_folders(root: str, skipped: list) -> dict[tuple[str, str], str]:
    """(subject, clip name) -> clip folder under `root/s01/`."""
    found = {}
    for subject_name in _subfolders(root):
        subject = subject_of(subject_name)
        if subject is None:
            _skip(skipped, None, subject_name, "", f"not a subject folder (sNN): {os.path.join(root, subject_name)}")
            continue
        for name in _subfolders(os.path.join(root, subject_name)):
            folder = os.path.join(root, subject_name, name)
            if (subject, name) in found:
                _skip(skipped, None, subject, name, f"duplicate clip: {folder} and {found[subject, name]}")
            else:
                found[subject, name] = folder
    return found


def _between(expression: Expression, others: list[Expression]) -> tuple[float, float]:
    """The open range of frames a record keeps: up to the nearest other expression of the subject on each side,
    so an untrimmed window never takes another annotated expression for neutral frames (frame numbers run on
    per subject: s3_ne_02 and s3_ne_03 share a stretch)."""
    before = [o.offset for o in others if o.offset < expression.onset]
    after = [o.onset for o in others if o.onset > expression.offset]
    return max(before, default=-math.inf), min(after, default=math.inf)


def parse_extended(root: str, workbook: str, sub_dataset: str, apex_sheet: str | None = None) -> SmicParseResult:
    """Every expression of a SMIC-E workbook's sheet as a clip of its folder's frames, or skipped with its
    reason. Each folder is a clip of its own: one not in the sheet is skipped, not guessed at."""
    result = SmicParseResult(clips=[], skipped=[])
    expressions, annotated = read_extended_sheet(workbook, sub_dataset, result.skipped)
    apex_rows = read_apex_sheet(apex_sheet, result.skipped) if apex_sheet else {}
    root = extended_root(root, sub_dataset)
    folders = _extended_folders(root, result.skipped)
    by_subject = collections.defaultdict(list)
    for e in expressions:
        by_subject[e.subject].append(e)
    listed, first_row = {}, {}
    for e in expressions:
        key = (e.subject, e.clip)
        if (key, e.onset) in first_row:
            _skip(result.skipped, e.row, e.subject, e.clip,
                  f"duplicate row: the same clip and onset as row {first_row[key, e.onset]}")
            continue
        first_row[key, e.onset] = e.row
        if key not in folders:
            _skip(result.skipped, e.row, e.subject, e.clip, f"clip folder missing: no {e.clip} for subject "
                                                             f"{e.subject} under {root}")
            continue
        if key not in listed:
            listed[key] = _frames(folders[key])
        row = next((r for r in apex_rows.get(key, []) if r.onset == e.onset), None)
        if row is not None:
            apex_rows[key].remove(row)
        outcome = _extended_clip(e, folders[key], listed[key], row, _between(e, by_subject[e.subject]),
                                 result.repaired)
        if isinstance(outcome, Clip):
            result.clips.append(outcome)
        else:
            _skip(result.skipped, e.row, e.subject, e.clip, outcome)
    for key in sorted(set(folders) - annotated):
        _skip(result.skipped, None, key[0], key[1], f"not in the annotation sheet {sub_dataset}: {folders[key]}")

    def why(key, row):
        if key in folders and any(e.subject == key[0] and e.clip == key[1] for e in expressions):
            return f"apex sheet row matches no annotated expression: no expression of {key[1]} has onset {row.onset}"
        return f"clip not on disk: no folder {key[1]} under {root}"

    _unmatched_rows({k: v for k, v in apex_rows.items() if v}, result.skipped, why)
    return result


def _extended_clip(e: Expression, folder: str, frames, row: ApexRow | None, between: tuple[float, float],
                   repaired: list) -> Clip | str:
    if isinstance(frames, str):
        return frames
    numbers = {n for n, _ in frames}
    absent = [n for n in (e.onset, e.apex, e.offset) if n is not None and n not in numbers]
    if absent:
        return f"annotated frames not on disk: {absent} in {folder}"
    notes = _name_notes(e.row, e.subject, e.clip, e.emotion, f"the annotation sheet (row {e.row})")
    apex = e.apex
    if row is not None and apex is not None:
        notes.append(_entry(row.row, e.subject, e.clip, f"apex sheet row not used: the workbook's apex {apex} "
                                                        f"(row {e.row}) kept over row {row.row}'s {row.apex}"))
    elif row is not None:
        problem = _apex_problem(row, numbers)
        if problem:
            return problem
        apex = row.apex
        if not e.onset <= apex <= e.offset:
            return f"frames out of order: apex {apex} outside {e.onset}..{e.offset} (apex sheet row {row.row})"
        notes += _label_notes(row, e.emotion, "the annotation sheet")
    elif apex is None:
        apex = placed_apex(numbers, e.onset, e.offset)
        notes.append(_entry(e.row, e.subject, e.clip, f"apex placed: frame {apex}, the middle of "
                                                      f"{e.onset}..{e.offset} (no apex sheet row)"))
    repaired.extend(notes)
    kept = [(n, p) for n, p in frames if between[0] < n < between[1]]
    return Clip(subject=e.subject, clip_id=f"{e.subject}/{e.clip}", frame_paths=tuple(p for _, p in kept),
                frame_numbers=[n for n, _ in kept], onset=e.onset, apex=apex, offset=e.offset, emotion=e.emotion,
                source=folder)
