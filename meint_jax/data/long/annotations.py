"""Coding workbooks of CAS(ME)^2, SAMM-LV and CAS(ME)^3 (part A) -> long videos with their intervals.

Each dataset ships its labels differently (docs/design.md, "Long videos";
README, "Long-video datasets"), with quirks that each get one decision here,
applied the same way everywhere and counted in the build summary:

- onset 0 where frames are numbered from 1 (CAS(ME)^2, SAMM-LV): the onset
  was not annotated: the row is skipped (CAS(ME)^3 numbers frames from 0);
- offset 0 there (CAS(ME)^2's 44 macro rows): not annotated: the apex is
  used as the offset (repaired, counted), as the authors of paper 002 do;
- apex missing (-1, blank, '/'): placed midway between onset and offset,
  rounded down, and marked `apex_annotated=False` (spotting needs only onset
  and offset; the apex only shapes targets);
- fractional frame numbers (SAMM-LV's 566.4): rounded to the nearest frame
  (peers truncate with int());
- a row whose frames are out of order, whose video folder is missing, or whose
  interval lies outside the video's frames is skipped with its reason.

Every video folder under the frames root is a video, with or without
intervals: a video without expressions still counts false positives.
"""

from __future__ import annotations

import bisect
import collections
import dataclasses
import glob
import math
import os
import re
from typing import NoReturn

from absl import logging

from meint_jax.data import frames as frames_lib
from meint_jax.data.clips import annotations
from meint_jax.data.clips.annotations import AnnotationError
from meint_jax.data.long import videos as long_videos
from meint_jax.data.long.videos import Interval, LongVideo


@dataclasses.dataclass
class LongParseResult:
    videos: list[LongVideo]
    skipped: list[dict]               # {"row", "subject", "clip", "reason"}: rows and videos not used
    repaired: list[dict]              # {"row", "subject", "clip", "reason"}: rows used after a stated repair
    sheets: list[str]                 # the workbook files read (for the source fingerprint)

    def summary(self) -> dict:
        out = annotations.summarize(len(self.videos), self.skipped)
        out["videos"] = out.pop("clips")
        out["intervals"] = sum(len(v.intervals) for v in self.videos)
        out["intervals_by_kind"] = dict(collections.Counter(i.kind for v in self.videos for i in v.intervals))
        reasons = collections.Counter(r["reason"].split(":")[0] for r in self.repaired)
        out.update(repaired=len(self.repaired), repaired_by_reason=dict(sorted(reasons.items())),
                   repaired_rows=self.repaired)
        return out


def read_workbook(path: str) -> dict[str, list[tuple]]:
    """Sheet name -> rows (tuples of cell values) of an .xlsx (openpyxl) or .xls (xlrd) workbook."""
    if not os.path.isfile(path):
        raise AnnotationError(f"{path}: annotation workbook not found")
    try:
        if path.lower().endswith(".xls"):
            import xlrd

            book = xlrd.open_workbook(path)
            return {sheet.name: [tuple(sheet.row_values(r)) for r in range(sheet.nrows)] for sheet in book.sheets()}
        import openpyxl

        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
        try:
            return {ws.title: [tuple(row) for row in ws.iter_rows(values_only=True)] for ws in book.worksheets}
        finally:
            book.close()
    except Exception as e:  # both readers raise many unrelated types for a damaged file
        raise AnnotationError(f"{path}: not a readable workbook ({type(e).__name__}: {e})") from e


def sheet(book: dict, name: str, path: str) -> list[tuple]:
    """The rows of sheet `name` (matched ignoring case and spaces)."""
    wanted = re.sub(r"\s", "", name.lower())
    for title, rows in book.items():
        if re.sub(r"\s", "", title.lower()) == wanted:
            return rows
    raise AnnotationError(f"{path}: no sheet {name!r} (it has {', '.join(map(repr, book))})")


def _number(value) -> float | None:
    """A cell as a number (text '12' included); None for blanks and words."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return None if isinstance(value, float) and math.isnan(value) else float(value)
    text = str(value).strip()
    try:
        return float(text)
    except ValueError:
        return None


def _text(value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value).strip()


class _Rows:
    """Collects intervals per video and the rows skipped or repaired on the way."""

    def __init__(self, sheet_name: str, zero_is_missing: bool = True):
        self.sheet_name = sheet_name
        self.zero_is_missing = zero_is_missing      # frames numbered from 1: a 0 is an empty cell
        self.by_video = collections.defaultdict(list)
        self.skipped, self.repaired = [], []

    def skip(self, row: int | None, subject, clip, reason: str) -> None:
        subject, clip = _text(subject), _text(clip)
        logging.warning("%s row %s (%s %s) skipped: %s", self.sheet_name, row, subject, clip, reason)
        self.skipped.append({"row": row, "subject": subject, "clip": clip, "reason": reason})
        if row is not None:   # a row skipped after its repairs were counted: it is skipped, not repaired
            self.repaired = [r for r in self.repaired if r["row"] != row]

    def repair(self, row: int, subject, clip, reason: str) -> None:
        self.repaired.append({"row": row, "subject": _text(subject), "clip": _text(clip), "reason": reason})

    def interval(self, row: int, subject, clip, onset, apex, offset, kind: str, native: str,
                 action_units: str = "", emotion: str | None = None) -> Interval | None:
        """The row's interval after the module's stated repairs, or None (skipped, with its reason)."""
        values = {"onset": _number(onset), "apex": _number(apex), "offset": _number(offset)}
        for name in ("onset", "offset"):
            if values[name] is None:
                return self.skip(row, subject, clip, f"missing {name}: {locals()[name]!r}")
        if values["onset"] == 0 and self.zero_is_missing:
            return self.skip(row, subject, clip, "onset 0: not annotated")
        fractional = [k for k, x in values.items() if x is not None and not float(x).is_integer()]
        if fractional:
            self.repair(row, subject, clip, f"fractional frame numbers rounded: {fractional}")
        on, off = (int(round(values[k])) for k in ("onset", "offset"))
        ap = values["apex"]
        apex_annotated = ap is not None and ap >= 0 and not (ap == 0 and self.zero_is_missing)
        ap = int(round(ap)) if apex_annotated else None
        if off == 0 and self.zero_is_missing:
            if ap is None:
                return self.skip(row, subject, clip, "offset 0 and no apex: interval not annotated")
            self.repair(row, subject, clip, "offset 0: apex used as offset")
            off = ap
        if ap is None:
            self.repair(row, subject, clip, f"apex not annotated ({apex!r}): placed midway")
            ap = (on + off) // 2
        if not on <= ap <= off:
            return self.skip(row, subject, clip, f"frames out of order: onset {on}, apex {ap}, offset {off}")
        if emotion is None:
            emotion = long_videos.emotion_class(native)
            if emotion is None:
                if native:
                    self.repair(row, subject, clip, f"emotion {native!r} in no class: kept as others")
                emotion = "others"
        return Interval(on, ap, off, kind, emotion, native, action_units, apex_annotated)


def _videos(rows: _Rows, folders: dict[str, tuple[str, str]], fps: float, source: str) -> list[LongVideo]:
    """One LongVideo per folder (video id -> (subject, folder)); intervals outside a video's frames are skipped."""
    videos = []
    for video_id in sorted(folders):
        subject, folder = folders[video_id]
        try:
            numbered = frames_lib.list_frames(folder)
        except frames_lib.FrameError as e:
            rows.skip(None, subject, video_id, f"ambiguous frame numbering: {e}")
            continue
        if len(numbered) < 2:
            rows.skip(None, subject, video_id, f"fewer than 2 frames in {folder}")
            continue
        numbers = [n for n, _ in numbered]
        kept, seen = [], {}
        for row, interval in rows.by_video.pop(video_id, []):
            if interval.onset < numbers[0] or interval.offset > numbers[-1]:
                rows.skip(row, subject, video_id, f"interval outside the video: frames {interval.onset}-"
                          f"{interval.offset}, the video has {numbers[0]}-{numbers[-1]}")
                continue
            inside = bisect.bisect_right(numbers, interval.offset) - bisect.bisect_left(numbers, interval.onset)
            if inside == 0:
                rows.skip(row, subject, video_id, f"interval's frames missing: none of frames {interval.onset}-"
                          f"{interval.offset} is on disk in {folder}")
                continue
            key = (interval.onset, interval.apex, interval.offset, interval.kind)
            if key in seen:
                rows.skip(row, subject, video_id, f"duplicate row: the same {interval.kind} interval as row "
                          f"{seen[key]}")
                continue
            seen[key] = row
            kept.append(interval)
        videos.append(LongVideo(video_id=video_id, subject=subject, frame_numbers=numbers, fps=fps,
                                intervals=tuple(sorted(kept, key=lambda i: (i.onset, i.offset))),
                                frame_paths=tuple(p for _, p in numbered), source=source))
    for video_id, pending in sorted(rows.by_video.items()):
        for row, _ in pending:
            rows.skip(row, video_id.split("/")[0], video_id, f"video folder missing: {video_id}")
    return videos


def _kind(text) -> str | None:
    word = re.sub(r"[^a-z]", "", str(text).lower())
    return "micro" if word.startswith("micro") else "macro" if word.startswith("macro") else None


def _subfolders(folder: str) -> list[str]:
    return sorted(n for n in os.listdir(folder) if os.path.isdir(os.path.join(folder, n))) \
        if os.path.isdir(folder) else []


# ---------------------------------------------------------------------------------------------- CAS(ME)^2

CASME_SQ_SHEETS = ("CASFEcode_final", "naming rule1", "naming rule2")


def find_casme_sq_workbook(manual_dir: str) -> str:
    """The coding workbook, found by its three sheets (copies circulate under other names)."""
    candidates = sorted(glob.glob(os.path.join(manual_dir, "*.xlsx"))
                        + glob.glob(os.path.join(manual_dir, "*", "*.xlsx")))
    matches = []
    for path in candidates:
        if os.path.basename(path).startswith("~$"):
            continue
        try:
            import openpyxl

            book = openpyxl.load_workbook(path, read_only=True)
            titles = {re.sub(r"\s", "", t.lower()) for t in book.sheetnames}
            book.close()
        except Exception:   # not a workbook we can open: not the coding file
            continue
        if all(re.sub(r"\s", "", s.lower()) in titles for s in CASME_SQ_SHEETS):
            matches.append(path)
    if len(matches) != 1:
        found = "none" if not matches else ", ".join(map(os.path.basename, matches))
        raise AnnotationError(f"{manual_dir}: {'no' if not matches else len(matches)} .xlsx with the sheets "
                              f"{', '.join(CASME_SQ_SHEETS)} ({found}); keep exactly one")
    return matches[0]


CASME_SQ_SUBJECT_LAYOUTS = ("(folder number, folder name, subject index) as CAS(ME)^2 ships it, "
                            "or (subject index, folder name); at most one header row")


def _integer(value) -> int | None:
    number = _number(value)
    return int(number) if number is not None and number.is_integer() else None


def casme_sq_subjects(rows: list[tuple], workbook: str) -> dict[int, str]:
    """Subject index (the first column of `CASFEcode_final`) -> folder name, from sheet `naming rule1`.

    The release's sheet has no header and one (15, 's15', 1) row per coding row: its FIRST column is the
    folder's number, never the index (index 22 is s40), so reading it as the index skips most coding rows
    and files the rest under the wrong subjects. The layout is therefore checked row by row, and a sheet
    that fits none is refused rather than guessed.
    """
    def refuse(row, what: str) -> NoReturn:
        raise AnnotationError(f"{workbook}: sheet 'naming rule1' {row} {what}; expected {CASME_SQ_SUBJECT_LAYOUTS}")

    data = [(n, tuple(_text(c) for c in cells)) for n, cells in enumerate(rows, 1) if any(_text(c) for c in cells)]
    if data and all(_number(c) is None for c in data[0][1] if c):
        data = data[1:]                                   # a header row: no number in it
    if not data:
        refuse("has", "no subject rows")
    first = data[0][0]
    width = max(i for i, c in enumerate(data[0][1]) if c) + 1
    subjects, own_numbers = {}, 0
    for n, cells in data:
        cells = cells[:max(i for i, c in enumerate(cells) if c) + 1]
        if width not in (2, 3):
            refuse(f"row {n}", f"is {cells}: {width} columns")
        if len(cells) != width:
            refuse(f"row {n}", f"is {cells}: {len(cells)} columns where row {first} has {width}")
        if not all(cells):
            refuse(f"row {n}", f"is {cells}: a blank cell")
        index, name = _integer(cells[-1] if width == 3 else cells[0]), cells[1]
        if index is None or _number(name) is not None:
            refuse(f"row {n}", f"is {cells}: no whole-number subject index and folder name where the layout puts them")
        digits = re.sub(r"\D", "", name)
        if width == 3 and (not digits or int(digits) != _integer(cells[0])):
            refuse(f"row {n}", f"is {cells}: its first column is not the number of folder {name!r}")
        if subjects.setdefault(index, name) != name:
            refuse(f"row {n}", f"is {cells}: subject index {index} is already folder {subjects[index]!r}")
        own_numbers += bool(digits) and int(digits) == index
    if width == 2 and own_numbers == len(data):
        refuse("pairs", "each folder with its own number, not with the subject index that sheet 'CASFEcode_final' "
               "uses (the index column is missing)")
    return subjects


def parse_casme_sq(workbook: str, rawpic: str) -> LongParseResult:
    """CAS(ME)^2: `CASFEcode_final` (no header) joined to folders through the two naming-rule sheets."""
    book = read_workbook(workbook)
    rows = _Rows(os.path.basename(workbook))
    subject_folder = casme_sq_subjects(sheet(book, "naming rule1", workbook), workbook)
    video_code = {}
    for row in sheet(book, "naming rule2", workbook):
        if len(row) > 1 and _number(row[0]) is not None and _text(row[1]):
            code = row[0]
            code = f"{int(code):04d}" if isinstance(code, (int, float)) else _text(code)
            video_code[_text(row[1]).lower()] = code
    folders = {}
    for folder_name in _subfolders(rawpic):
        for video in _subfolders(os.path.join(rawpic, folder_name)):
            prefix = re.match(r"\d+_\d+", video)
            if prefix:
                folders.setdefault(f"{folder_name}/{prefix.group(0)}", []).append(video)
    video_folders = {}
    for video_id, names in folders.items():
        subject = video_id.split("/")[0]
        if len(names) > 1:
            rows.skip(None, subject, video_id, f"ambiguous video folders: {', '.join(names)} share the prefix")
            continue
        video_folders[video_id] = (subject, os.path.join(rawpic, subject, names[0]))
    for index, row in enumerate(sheet(book, "CASFEcode_final", workbook)):
        row = tuple(row) + (None,) * (9 - len(row))
        number, name = _number(row[0]), _text(row[1])
        if number is None or not name:
            if any(_text(c) for c in row):
                rows.skip(index + 1, row[0], row[1], "not a coding row (no subject number or expression name)")
            continue
        folder = subject_folder.get(int(number))
        if folder is None:
            rows.skip(index + 1, number, name, f"subject {int(number)} not in sheet 'naming rule1'")
            continue
        stem = re.sub(r"_\d+$", "", name).lower()
        code = video_code.get(stem)
        if code is None:
            rows.skip(index + 1, folder, name, f"expression {stem!r} not in sheet 'naming rule2'")
            continue
        kind = _kind(row[7])
        if kind is None:
            rows.skip(index + 1, folder, name, f"unknown expression type: {row[7]!r}")
            continue
        digits = re.sub(r"\D", "", folder)
        video_id = f"{folder}/{digits}_{code}"
        native = long_videos.native_emotion(row[6])
        interval = rows.interval(index + 1, folder, name, row[2], row[3], row[4], kind, native, _text(row[5]))
        if interval is not None:
            rows.by_video[video_id].append((index + 1, interval))
    videos = _videos(rows, video_folders, 30.0, rawpic)
    return LongParseResult(videos, rows.skipped, rows.repaired, [workbook])


# ---------------------------------------------------------------------------------------------- SAMM-LV

SAMM_LV_COLUMNS = {"subject": ("subject",), "filename": ("filename",), "onset": ("onset", "onsetframe"),
                   "apex": ("apex", "apexframe"), "offset": ("offset", "offsetframe"), "type": ("type",),
                   "action_units": ("actionunits",)}


def _columns(rows, columns: dict, path: str, name: str, optional=("action_units",)):
    """(header row, field -> column) of a sheet that must hold every column of `columns` but `optional`."""
    layout = annotations.SheetLayout(name=name, columns=columns, subject_digits=3, emotions=(),
                                     emotion_aliases={}, clip_dir=None)
    header, col = annotations.find_header(rows, layout, path)
    missing = [spellings[0] for field, spellings in columns.items() if field not in col and field not in optional]
    if missing:
        raise AnnotationError(f"{path}: the {name} sheet's header (row {header + 1}) has no "
                              f"{', '.join(map(repr, missing))} column (spelled without spaces or case); rename that "
                              "column in a copy of the sheet")
    return header, col


def _sheet_with(book: dict, columns: dict, path: str, name: str, preferred: str) -> list[tuple]:
    """The sheet named `preferred` (ignoring case and spaces), else the first whose header holds `columns`:
    copies of a release differ in sheet names, never in column names."""
    try:
        return sheet(book, preferred, path)
    except AnnotationError:
        pass
    for rows in book.values():
        try:
            _columns(rows, columns, path, name)
        except AnnotationError:
            continue
        return rows
    raise AnnotationError(f"{path}: no sheet holds the {name} columns ({', '.join(c[0] for c in columns.values())}); "
                          f"its sheets: {', '.join(map(repr, book))}")


def parse_samm_lv(workbook: str, micro_sheet: str | None, frames_root: str) -> LongParseResult:
    """SAMM-LV: the long-video workbook (notes above its header), emotions of micro rows from SAMM's sheet."""
    rows_in = next(iter(read_workbook(workbook).values()))
    header, col = _columns(rows_in, SAMM_LV_COLUMNS, workbook, "SAMM-LV")
    rows = _Rows(os.path.basename(workbook))
    emotions = {}
    if micro_sheet:
        micro_rows = next(iter(read_workbook(micro_sheet).values()))
        m_header, m_col = annotations.find_header(micro_rows, annotations.SAMM, micro_sheet)
        if "emotion" not in m_col:
            raise AnnotationError(f"{micro_sheet}: no 'Estimated Emotion' column to take the micro rows' emotions from")
        for row in micro_rows[m_header + 1:]:
            if len(row) > max(m_col["filename"], m_col["emotion"]) and _text(row[m_col["filename"]]):
                emotions[_text(row[m_col["filename"]])] = long_videos.native_emotion(row[m_col["emotion"]])
    for index in range(header + 1, len(rows_in)):
        row = rows_in[index]
        if all(_text(c) == "" for c in row):
            continue
        value = {k: row[c] if c < len(row) else None for k, c in col.items()}
        filename = _text(value["filename"])
        match = re.fullmatch(r"(\d+)_(\d+)(_\d+)?", filename)
        if not match:
            rows.skip(index + 1, value["subject"], filename, f"filename not <subject>_<video>_<index>: {filename!r}")
            continue
        kind = _kind(value["type"])
        if kind is None:
            rows.skip(index + 1, value["subject"], filename, f"unknown expression type: {value['type']!r}")
            continue
        subject = match.group(1)
        native = emotions.get(filename, "") if kind == "micro" else ""
        interval = rows.interval(index + 1, subject, filename, value["onset"], value["apex"], value["offset"],
                                 kind, native, _text(value.get("action_units")))
        if interval is not None:
            if kind == "micro" and not native:
                rows.repair(index + 1, subject, filename, "micro row without an emotion in the SAMM sheet: others")
            rows.by_video[f"{subject}/{subject}_{match.group(2)}"].append((index + 1, interval))
    video_folders = {}
    for name in _subfolders(frames_root):
        match = re.fullmatch(r"(\d+)_(\d+)", name)
        if match:
            video_folders[f"{match.group(1)}/{name}"] = (match.group(1), os.path.join(frames_root, name))
    videos = _videos(rows, video_folders, 200.0, frames_root)
    return LongParseResult(videos, rows.skipped, rows.repaired, [workbook] + ([micro_sheet] if micro_sheet else []))


# ---------------------------------------------------------------------------------------------- CAS(ME)^3

CASME3_COLUMNS = {"subject": ("subject",), "filename": ("filename",), "onset": ("onset",), "apex": ("apex",),
                  "offset": ("offset",), "action_units": ("au",), "type": ("expressiontype",)}
CASME3_BLINK_COLUMNS = {"subject": ("subject",), "filename": ("filename",), "onset": ("onset",),
                        "offset": ("offset",)}
CASME3_LABEL_COLUMNS = {"subject": ("subject",), "filename": ("filename",), "onset": ("onset",),
                        "emotion": ("emotion",)}


def _casme3_subject(value) -> str:
    """'spNO.1', 'spno.1', 1, '1' -> 'spNO.1' (the folder's spelling)."""
    text = _text(value)
    digits = re.findall(r"\d+", text)
    return f"spNO.{int(digits[-1])}" if digits else text


def parse_casme3(workbook: str, label_workbook: str | None, data_root: str) -> LongParseResult:
    """CAS(ME)^3 part A: the expressions (numbers or text cells), blinks from a sheet named for them, ME emotions
    from the label workbook. Sheets are found by their columns (peers read "the first sheet"; names vary)."""
    book = read_workbook(workbook)
    rows = _Rows(os.path.basename(workbook), zero_is_missing=False)   # its frames are numbered from 0
    main = _sheet_with(book, CASME3_COLUMNS, workbook, "CAS(ME)^3 AU+Emotion", "AU+Emotion")
    header, col = _columns(main, CASME3_COLUMNS, workbook, "CAS(ME)^3 AU+Emotion")

    def key(subject, filename, onset):
        number = _number(onset)
        return (_casme3_subject(subject), _text(filename).lower(), None if number is None else int(round(number)))

    emotions = {}
    if label_workbook:
        labels = _sheet_with(read_workbook(label_workbook), {k: v for k, v in CASME3_LABEL_COLUMNS.items()
                                                               if k != "emotion"}, label_workbook, "CAS(ME)^3 label",
                             "label")
        l_header, l_col = _columns(labels, CASME3_LABEL_COLUMNS, label_workbook, "CAS(ME)^3 label")
        for row in labels[l_header + 1:]:
            value = {k: row[c] if c < len(row) else None for k, c in l_col.items()}
            if _text(value["filename"]):
                emotions[key(value["subject"], value["filename"], value["onset"])] = \
                    long_videos.native_emotion(value["emotion"])
    for index in range(header + 1, len(main)):
        row = main[index]
        if all(_text(c) == "" for c in row):
            continue
        value = {k: row[c] if c < len(row) else None for k, c in col.items()}
        subject, filename = _casme3_subject(value["subject"]), _text(value["filename"]).lower()
        kind = _kind(value["type"])
        if kind is None:
            rows.skip(index + 1, subject, filename, f"unknown expression type: {value['type']!r}")
            continue
        native = emotions.get(key(value["subject"], value["filename"], value["onset"]), "") if kind == "micro" else ""
        interval = rows.interval(index + 1, subject, filename, value["onset"], value["apex"], value["offset"],
                                 kind, native, _text(value["action_units"]))
        if interval is not None:
            if kind == "micro" and not native:
                rows.repair(index + 1, subject, filename, "micro row without an emotion in the label sheet: others")
            rows.by_video[f"{subject}/{filename}"].append((index + 1, interval))
    blinks = collections.defaultdict(list)
    blink_sheets = [rows_ for title, rows_ in book.items() if "blink" in title.lower() and rows_ is not main]
    blink_rows = blink_sheets[0] if blink_sheets else []
    if not blink_rows:
        logging.warning("%s: no sheet named for eye blinks; videos get no blink intervals", workbook)
    else:
        b_header, b_col = _columns(blink_rows, CASME3_BLINK_COLUMNS, workbook, "CAS(ME)^3 eye blink")
        for row in blink_rows[b_header + 1:]:
            value = {k: row[c] if c < len(row) else None for k, c in b_col.items()}
            onset, offset = _number(value["onset"]), _number(value["offset"])
            if _text(value["filename"]) and onset is not None and offset is not None and onset <= offset:
                video_id = f"{_casme3_subject(value['subject'])}/{_text(value['filename']).lower()}"
                blinks[video_id].append((int(round(onset)), int(round(offset))))
    video_folders = {}
    for subject_dir in _subfolders(data_root):
        for video in _subfolders(os.path.join(data_root, subject_dir)):
            color = os.path.join(data_root, subject_dir, video, "color")
            if os.path.isdir(color):
                subject = _casme3_subject(subject_dir)
                video_folders[f"{subject}/{video.lower()}"] = (subject, color)
    videos = [dataclasses.replace(v, blinks=tuple(sorted(blinks.get(v.video_id, ()))))
              for v in _videos(rows, video_folders, 30.0, data_root)]
    return LongParseResult(videos, rows.skipped, rows.repaired,
                           [workbook] + ([label_workbook] if label_workbook else []))
