"""CAS(ME)^3 part A laid out as distributed, with the micro-expression rows the clip builder decides on.

`long_fixtures.casme3` writes the frames (spNO.1/a: frames 0-39 but 12 and 13; spNO.1/j: 0-29; spNO.2/b:
0-19) and its workbooks; `casme3_clips` rewrites both workbooks with its rows and more: every native emotion
once at least, written as the label workbook writes them ('happy', 'sad', capitals), and one row for each
reason a micro-expression is not a clip. Generated, never real data.
"""

import os

from meint_jax.testing import long_fixtures

MAIN_HEADER = ("Subject", "Filename", "Onset", "Apex", "Offset", "AU", "Expression type", "Objective class")
LABEL_HEADER = ("Subject", "Filename", "Onset", "Apex", "Offset", "AU", "Objective class", "emotion")
MICRO, MACRO = "Micro-expression", "Macro-expression"

# (subject, filename, onset, apex, offset, AU, type, objective class, emotion in the label workbook or None: no
# label row), in the order of the expressions workbook.
ROWS = [
    ("spNO.1", "a", 3, 6, 10, "4", MICRO, 1, "disgust"),
    ("spNO.1", "a", "15", "25", "35", "12", "Macro-expression ", "2", None),   # text cells, as v1 writes them
    ("spNO.1", "J", 0, 4, 8, "1+2", MICRO, 3, "Surprise"),             # upper-case J: folder j
    ("spNO.2", "b", 5, 8, 7, "4", MICRO, 1, "disgust"),                # out of order (the long parse skips it)
    ("spNO.2", "c", 2, 3, 4, "4", MACRO, 1, None),                     # no such folder (skipped there too)
    ("spNO.1", "a", 20, 22, 26, "L12", MICRO, 2, "happy"),
    ("spNO.1", "a", 11, 14, 16, "4", MICRO, 1, "fear"),                # frames 12 and 13 are missing: kept
    ("spNO.1", "a", 13, 14, 17, "4", MICRO, 1, "fear"),                # its onset frame is missing
    ("spNO.1", "a", 28, None, 31, "15", MICRO, 1, "sad"),              # no apex
    ("spNO.1", "a", 36, 36, 36, "12", MICRO, 2, "happy"),              # one frame
    ("spNO.1", "j", 10, 12, 15, "4", MICRO, 1, None),                  # no row in the label workbook
    ("spNO.1", "j", 18, 19, 22, "4+5", MICRO, 1, "anger"),
    ("spNO.1", "j", 24, 26, 28, "14", MICRO, 1, "contempt"),           # not one of CAS(ME)^3's labels
    ("spNO.2", "b", 2, 3, 5, "15", MICRO, 1, "Sad"),
    ("spNO.2", "b", 8, 10, 12, "", MICRO, 7, "others"),
    ("spNO.2", "b", 14, 15, 16, "1+4", MICRO, 1, "fear"),
    ("spNO.2", "b", 17, 18, 19, "4", MICRO, 1, "disgust"),             # two MEs start at 17: which emotion is
    ("spNO.2", "b", 17, 18, 18, "4", MICRO, 1, None),                  # whose, the label workbook cannot say
]

# clip id -> (frame numbers, onset, apex, offset, emotion, AUs): what a correct build holds.
EXPECTED = {
    "spNO.1/a@3": (list(range(3, 11)), 3, 6, 10, "disgust", "4"),
    "spNO.1/a@11": ([11, 14, 15, 16], 11, 14, 16, "fear", "4"),
    "spNO.1/a@20": (list(range(20, 27)), 20, 22, 26, "happiness", "L12"),
    "spNO.1/j@0": (list(range(0, 9)), 0, 4, 8, "surprise", "1+2"),
    "spNO.1/j@18": (list(range(18, 23)), 18, 19, 22, "anger", "4+5"),
    "spNO.2/b@2": (list(range(2, 6)), 2, 3, 5, "sadness", "15"),
    "spNO.2/b@8": (list(range(8, 13)), 8, 10, 12, "others", ""),
    "spNO.2/b@14": (list(range(14, 17)), 14, 15, 16, "fear", "1+4"),
}
# clip (the file name or video of a row the long parse skipped) -> reason, up to its first ":".
SKIPPED = {
    "b": "frames out of order",
    "spNO.2/c": "video folder missing",
    "spNO.1/a@13": "annotated frames not on disk",
    "spNO.1/a@28": "missing apex",
    "spNO.1/a@36": "single-frame interval",
    "spNO.1/j@10": "no emotion in the label workbook",
    "spNO.1/j@24": "unknown emotion",
}
AMBIGUOUS = ("spNO.2/b@17", 2)    # two skipped micro-expressions, each for the same reason
MACRO_LEFT_OUT = 1                # spNO.1/a's; spNO.2/c's row was skipped by the long parse


def casme3_clips(root) -> str:
    """CAS(ME)^3 part A as distributed (see `long_fixtures.casme3`) with the rows above; its manual_dir."""
    manual = long_fixtures.casme3(root)
    annotation = os.path.join(manual, "annotation")
    long_fixtures.write_xls(os.path.join(annotation, "CAS(ME)3_part_A_v2.xls"), {
        "AU+Emotion": [MAIN_HEADER] + [row[:8] for row in ROWS],
        "eye blink": [("Subject", "Filename", "Onset", "Offset"), ("spNO.1", "a", 20, 23)],
    })
    long_fixtures.write_xlsx(os.path.join(annotation, "cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx"), {"label": [
        LABEL_HEADER] + [row[:6] + (str(row[7]), row[8]) for row in ROWS if row[6] == MICRO and row[8]]})
    return manual
