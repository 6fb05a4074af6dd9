"""Copies of the long-video datasets' layouts, generated (never real data): workbooks with their quirks, and
frames of rendered faces in larger frames, so that dlib finds a face as it would in the real recordings.

Each writer returns the manual_dir and what a correct build must hold (`EXPECTED_*`), worked out by hand from
the rows written here.
"""

import functools
import os

import numpy as np
import openpyxl
from PIL import Image

from meint_jax.data.long import synthetic as synthetic_long

FRAMES = 40                 # per video
CANVAS = (240, 320)         # height, width of a recorded frame
FACE = 128                  # side of the face in it


@functools.lru_cache(maxsize=16)
def face_frames(seed: int, count: int = FRAMES, canvas: tuple[int, int] = CANVAS, face: int = FACE) -> np.ndarray:
    """uint8 [count, H, W, 3]: a rendered face (moving a little) in a grey recording frame, 40 px from the top
    and centred."""
    cfg = synthetic_long.LongGeneratorConfig(frame_size=face, min_seconds=count / 30, max_seconds=count / 30,
                                             seed=seed)
    faces = synthetic_long.script(cfg, 0, 0).render(0, count)
    out = np.full((count,) + canvas + (3,), 90, np.uint8)
    left = (canvas[1] - face) // 2
    out[:, 40:40 + face, left:left + face] = faces
    return out


def write_frames(folder, names, pixels) -> None:
    os.makedirs(folder, exist_ok=True)
    for name, frame in zip(names, pixels):
        Image.fromarray(frame).save(os.path.join(folder, name), quality=95)


def blank_frames(count: int) -> np.ndarray:
    """A recording with no face in it."""
    return np.random.default_rng(3).integers(80, 100, (count,) + CANVAS + (3,), dtype=np.uint8)


def write_xlsx(path, sheets: dict) -> str:
    """An .xlsx with one worksheet per (name -> rows)."""
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for name, rows in sheets.items():
        sheet = workbook.create_sheet(name)
        for row in rows:
            sheet.append(list(row))
    workbook.save(path)
    return str(path)


def write_xls(path, sheets: dict) -> str:
    """An old-format .xls (as CAS(ME)^3 ships its annotations) with one sheet per (name -> rows)."""
    import xlwt

    workbook = xlwt.Workbook()
    for name, rows in sheets.items():
        sheet = workbook.add_sheet(name)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if value is not None:
                    sheet.write(r, c, value)
    workbook.save(str(path))
    return str(path)


# ------------------------------------------------------------------------------------------------ CAS(ME)^2

# video id -> intervals (onset, apex, offset, kind, emotion, native), what the build must hold.
EXPECTED_CASME_SQ = {
    "s15/15_0101": [(5, 10, 16, "micro", "negative", "negative"), (20, 25, 25, "macro", "negative", "negative")],
    "s15/15_0102": [(3, 8, 30, "macro", "negative", "negative")],
    "s16/16_0502": [(10, 12, 15, "micro", "positive", "positive")],
}
CASME_SQ_FOLDERS = {1: (15, "s15"), 2: (16, "s16")}    # subject index -> (folder number, folder name)
SKIPPED_CASME_SQ = {"subject 3 not in sheet 'naming rule1'", "expression 'sad1' not in sheet 'naming rule2'",
                    "frames out of order", "interval outside the video", "unknown expression type", "no face found"}


def casme_sq(root, frames: int = FRAMES, canvas: tuple[int, int] = CANVAS, face: int = FACE) -> str:
    """CAS(ME)^2 as distributed: the coding workbook under another name, rawpic/sNN/NN_CODEdescription/imgN.jpg.

    `frames`, `canvas` and `face` size the recordings (the benchmarks use CAS(ME)^2's 640x480).
    """
    manual = os.path.join(root, "casme_sq")
    names = [f"img{n}.jpg" for n in range(1, frames + 1)]
    for folder, seed in (("s15/15_0101disgustingteeth", 1), ("s15/15_0102eatingworms", 4),
                         ("s16/16_0502funnyerrors", 5)):
        write_frames(os.path.join(manual, "rawpic", folder), names, face_frames(seed, frames, canvas, face))
    write_frames(os.path.join(manual, "rawpic", "s16", "16_0101disgustingteeth"), names[:10], blank_frames(10))
    code = [   # no header row: subject index, name, onset, apex, offset, AUs, class, type, self-report
        (1, "disgust1_1", 5, 10, 16, "4+7", "negative", "micro-expression", "disgust"),
        (1, "disgust1_2", 20, 25, 0, "4", "negative", "macro-expression", "disgust"),   # offset 0: apex used
        (1, "anger1_1", 3, 8, 30, "4+10", "negative", "macro-expression", "anger"),
        (2, "happy1_1", 10, 12, 15, "12", "positive", "micro-expression", "happy"),
        (3, "happy1_1", 1, 2, 3, "12", "positive", "micro-expression", "happy"),        # subject 3 unknown
        (1, "sad1_1", 4, 5, 6, "15", "negative", "micro-expression", "sad"),            # stem unknown
        (2, "happy1_2", 30, 25, 35, "12", "positive", "macro-expression", "happy"),     # out of order
        (2, "happy1_3", 30, 35, 60, "12", "positive", "macro-expression", "happy"),     # past the video's end
        (2, "disgust1_1", 2, 4, 6, "4", "others", "micro-expression", "disgust"),       # its video has no face
        (1, "anger1_2", 5, 6, 9, "", "surprise", "blink", "anger"),                     # unknown type
    ]
    write_xlsx(os.path.join(manual, "CAS(ME)2_code_copy.xlsx"), {
        "CASFEcode_final": code,
        # As released: no header, (folder number, folder name, subject index), one row per coding row in its
        # order; none for subject 3, whose rows are then skipped.
        "naming rule1": [CASME_SQ_FOLDERS[row[0]] + (row[0],) for row in code if row[0] in CASME_SQ_FOLDERS],
        "naming rule2": [("0101", "disgust1"), ("0102", "anger1"), (502, "happy1")],   # 502: a number cell
    })
    write_xlsx(os.path.join(manual, "notes.xlsx"), {"Sheet1": [("not", "the coding file")]})
    return manual


# Subject indices that are also folder numbers (in the release, index 22 is s40 and index 6 is s22).
EXPECTED_CASME_SQ_INDICES = {"s22/22_0101": [(3, 5, 7, "macro", "negative", "negative")],
                             "s40/40_0101": [(2, 4, 6, "micro", "negative", "negative")]}
CASME_SQ_INDEX_ROWS = [(40, "s40", 22), (22, "s22", 6)]     # sheet 'naming rule1' as released, for the code rows


def casme_sq_indices(root, naming_rule1=CASME_SQ_INDEX_ROWS) -> tuple[str, str]:
    """(workbook, rawpic) of a two-video CAS(ME)^2 whose subject indices 22 and 6 are folders s40 and s22, with
    `naming_rule1` as that sheet's rows; blank frames: for the parser, not a build."""
    manual = os.path.join(root, "casme_sq_indices")
    for folder in ("s22/22_0101disgustingteeth", "s40/40_0101disgustingteeth"):
        write_frames(os.path.join(manual, "rawpic", folder), [f"img{n}.jpg" for n in range(1, 11)], blank_frames(10))
    workbook = write_xlsx(os.path.join(manual, "CAS(ME)^2code_final.xlsx"), {
        "CASFEcode_final": [(22, "disgust1_1", 2, 4, 6, "4", "negative", "micro-expression", "disgust"),
                            (6, "disgust1_2", 3, 5, 7, "4", "negative", "macro-expression", "disgust")],
        "naming rule1": naming_rule1,
        "naming rule2": [("0101", "disgust1")],
    })
    return workbook, os.path.join(manual, "rawpic")


# ------------------------------------------------------------------------------------------------ SAMM-LV

EXPECTED_SAMM_LV = {
    "006/006_1": [(5, 12, 20, "macro", "others", ""), (24, 27, 30, "micro", "negative", "anger")],
    "007/007_2": [(3, 4, 6, "micro", "others", ""), (10, 14, 18, "micro", "positive", "happiness")],
}
SKIPPED_SAMM_LV = {"onset 0", "interval outside the video", "interval's frames missing", "duplicate row"}
GAP_SAMM_LV = range(33, 38)     # frames missing from 006_1
REPAIRED_SAMM_LV = {"apex not annotated (-1)": 1, "fractional frame numbers rounded": 1,
                    "micro row without an emotion in the SAMM sheet": 1}


def samm_lv(root) -> str:
    """SAMM-LV as distributed: the long-video workbook (nine rows of notes, the header on row 10 with two blank
    columns after it, subjects as text), SAMM's micro sheet laid out as released, the frames."""
    from meint_jax.testing.fixtures import SAMM_HEADER, SAMM_NOTES

    manual = os.path.join(root, "samm_lv")
    for video, seed in (("006_1", 6), ("007_2", 7)):
        numbers = [n for n in range(1, FRAMES + 1) if not (video == "006_1" and n in GAP_SAMM_LV)]
        write_frames(os.path.join(manual, "SAMM_longvideos", video), [f"{video}_{n:04d}.jpg" for n in numbers],
                     face_frames(seed)[np.asarray(numbers) - 1])
    header = ("Subject", "Filename", "Inducement Code", "Onset", "Apex", "Offset", "Duration", "Type",
              "Action Units", "Notes", None, None)
    notes = [("SAMM Long Videos Dataset - FACS Codes",), (), ("Please cite the dataset papers.",), (), (),
             ("Frame numbers as in the file names",),
             (None,) * 5 + ("NOTE: Subjects with Apex Frame not annotated were labelled as -1.",), (), ()]
    write_xlsx(os.path.join(manual, "SAMM_LongVideos_V3_Release.xlsx"), {"FACS_Movement_Only": notes + [
        header,
        ("006", "006_1_1", 1, 5, 12, 20, 16, "Macro", "12", None),
        ("006", "006_1_2", 1, 24, -1, 30, 7, "Micro - 1/2", "4", None),         # apex -1: placed midway
        ("006", "006_1_3", 1, 0, 5, 9, 10, "Macro", "4", None),                  # onset 0: skipped
        ("006", "006_1_4", 1, 33, 35, 36, 4, "Macro", "4", None),                # its frames are not on disk
        ("007", "007_2_1", 2, 10.4, 14, 17.6, 8, "Micro - 1/2", "12", None),     # fractional: 10 and 18
        ("007", "007_2_2", 2, 30, 35, 80, 51, "Macro", "12", None),              # past the video's end
        ("007", "007_2_3", 2, 3, 4, 6, 4, "Micro - 2", "1", None),               # not in the micro sheet: others
        ("007", "007_2_3", 2, 3, 4, 6, 4, "Micro - 2", "1", None),               # the row again: skipped
    ]})
    write_xlsx(os.path.join(manual, "SAMM_Micro_FACS_Codes_v2.xlsx"), {"MICRO_ONLY": SAMM_NOTES + (
        SAMM_HEADER,
        ("006", "006_1_2", 1, 24, 27, 30, 7, "Micro - 1/2", "4", "Anger", 1, None),
        ("007", "007_2_1", 2, 10, 14, 18, 8, "Micro - 1/2", "12", "Happiness", 2, None),
    )})
    return manual


# ------------------------------------------------------------------------------------------------ CAS(ME)^3

EXPECTED_CASME3 = {
    "spNO.1/a": [(3, 6, 10, "micro", "negative", "disgust"), (15, 25, 35, "macro", "others", "")],
    "spNO.1/j": [(0, 4, 8, "micro", "surprise", "surprise")],
    "spNO.2/b": [],
}
BLINKS_CASME3 = {"spNO.1/a": [(20, 23)]}
SKIPPED_CASME3 = {"frames out of order", "video folder missing"}
GAPS_CASME3 = (12, 13)      # frames missing from spNO.1/a


def casme3(root, frames_folder: str = "part_A/data/part_A", sheets: tuple[str, str] = ("AU+Emotion", "eye blink"),
           labels_folder: str = "annotation") -> str:
    """CAS(ME)^3 part A as distributed: the v2 .xls (header on row 1, numeric cells; one row of text cells as
    v1 has), the ME label workbook, colour and depth frames. Copies differ in where the frames unpack
    (`frames_folder`), the sheet names (`sheets`: expressions, blinks) and where the label workbook lies."""
    manual = os.path.join(root, "casme3")
    data = os.path.join(manual, *frames_folder.split("/"))
    numbers = [n for n in range(FRAMES) if n not in GAPS_CASME3]
    write_frames(os.path.join(data, "spNO.1", "a", "color"), [f"{n}.jpg" for n in numbers], face_frames(8))
    write_frames(os.path.join(data, "spNO.1", "a", "depth"), ["0.png"], blank_frames(1))
    write_frames(os.path.join(data, "spNO.1", "j", "color"), [f"{n}.jpg" for n in range(30)], face_frames(9, 30))
    write_frames(os.path.join(data, "spNO.2", "b", "color"), [f"{n}.jpg" for n in range(20)], face_frames(10, 20))
    os.makedirs(os.path.join(manual, "annotation"), exist_ok=True)
    write_xls(os.path.join(manual, "annotation", "CAS(ME)3_part_A_v2.xls"), {
        sheets[0]: [
            ("Subject", "Filename", "Onset", "Apex", "Offset", "AU", "Expression type", "Objective class"),
            ("spNO.1", "a", 3, 6, 10, "4", "Micro-expression", 1),
            ("spNO.1", "a", "15", "25", "35", "12", "Macro-expression ", "2"),  # text cells, a trailing space
            ("spNO.1", "J", 0, 4, 8, "1+2", "Micro-expression", 3),              # upper-case J: folder j
            ("spNO.2", "b", 5, 8, 7, "4", "Micro-expression", 1),                # out of order
            ("spNO.2", "c", 2, 3, 4, "4", "Macro-expression", 1),                # no such folder
        ],
        sheets[1]: [("Subject", "Filename", "Onset", "Offset"), ("spNO.1", "a", 20, 23)],
    })
    os.makedirs(os.path.join(manual, labels_folder), exist_ok=True)
    write_xlsx(os.path.join(manual, labels_folder, "cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx"), {"label": [
        ("Subject", "Filename", "Onset", "Apex", "Offset", "AU", "Objective class", "emotion"),
        ("spNO.1", "a", 3, 6, 10, "4", "1", "disgust"),
        ("spNO.1", "J", 0, 4, 8, "1+2", "3", "Surprise"),
    ]})
    return manual
