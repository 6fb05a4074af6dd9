"""A copy of SMIC-E's HS layout, generated (never real data): the annotation sheet with its columns, blank
columns and notes, and frames of rendered faces named by large absolute frame numbers, so that dlib finds a
face as it would in the recordings.

`smic_e` returns the manual_dir; `EXPECTED`, `SKIPPED` and `REPAIRED` are what a correct build must hold,
worked out by hand from the rows written here.
"""

import csv
import os

import numpy as np

from meint_jax.testing import long_fixtures

# The header as distributed: blank columns after Filename and after Offset3F (and two at the end).
HEADER = ("Subject", "Filename", None, "OnsetF", "OffsetF", "Onset2F", "Offset2F", "Onset3F", "Offset3F", None,
          "FirstF", "LastF", "TotalVL", "TotalMF1", "TotalMF2", "TotalMF3", "Emotion", None, None)

# video folder (subject number, file name) -> (first frame number, seed of its face); 40 frames each.
VIDEOS = {(1, "s1_ne_01"): (559700, 11), (1, "s1_po_01"): (17581, 12), (2, "s2_sur_01"): (308850, 13),
          (2, "s2_ne_01"): (400000, 14)}
GAP = range(308860, 308870)     # frames missing from s2_sur_01

# video id -> intervals (onset, apex, offset, kind, emotion, native); apexes placed midway.
EXPECTED = {
    "s01/s1_ne_01": [(559705, 559708, 559712, "micro", "negative", "negative"),
                     (559720, 559723, 559726, "micro", "negative", "negative")],
    "s01/s1_po_01": [(17590, 17595, 17600, "micro", "positive", "positive")],
    "s02/s2_ne_01": [],
    "s02/s2_sur_01": [(308875, 308877, 308880, "micro", "surprise", "surprise")],
}
# reason (up to its colon) -> the sheet rows skipped or repaired for it ("5 (Onset2F)": row 5's second ME).
SKIPPED = {"duplicate row": [4], "interval's frames missing": [5], "interval outside the video": [6],
           "unknown emotion": [7], "video folder missing": [8],
           "not a coding row (no subject number or file name)": [10]}
REPAIRED = {"apex not annotated (None)": ["2", "2 (Onset2F)", "3", "5 (Onset2F)"],
            "emotion blank": ["5 (Onset2F)"]}


def _row(subject, filename, mes, emotion, first, count=long_fixtures.FRAMES):
    """A sheet row: up to three (onset, offset) MEs, the video's span and the MEs' lengths as the sheet has them."""
    cells = [None] * len(HEADER)
    cells[0], cells[1], cells[16] = subject, filename, emotion
    for k, (onset, offset) in enumerate(mes):
        cells[3 + 2 * k], cells[4 + 2 * k], cells[13 + k] = onset, offset, offset - onset + 1
    cells[10], cells[11], cells[12] = first, first + count - 1, count
    return tuple(cells)


ROWS = [   # sheet rows 2 onwards
    _row(1, "s1_ne_01", [(559705, 559712), (559720, 559726)], "negative", 559700),
    _row(1, "s1_po_01", [(17590, 17600)], "Positive", 17581),
    _row(1, "s1_po_01", [(17590, 17600)], "Positive", 17581),                         # row 4: row 3 again
    _row(2, "s2_sur_01", [(308861, 308868), (308875, 308880)], None, 308850),       # row 5: ME 1 in the gap
    _row(2, "s2_ne_01", [(400030, 400050)], "negative", 400000),                    # row 6: past the video's end
    _row(2, "s2_ne_01", [(400005, 400010)], "neutral", 400000),                     # row 7: not a SMIC label
    _row(2, "s2_sur_02", [(1200, 1210)], "surprise", 1190),                         # row 8: no such folder
    (),                                                                             # row 9: blank
    ("Note: the frame numbers are the numbers in the image file names.",),          # row 10
]


def smic_e(root, frames_folder: str = "SMIC-E_raw image/HS_long/SMIC-HS-E/HS",
           sheet: str = "SMIC-E_raw image/HS_long/SMIC-HS-E_annotation.xlsx", subject_folder: str = "s{:02d}",
           faces: bool = True) -> str:
    """SMIC-E's HS part as distributed (under root/smic_e): the sheet (`HS`) and the frames,
    `image<number>.jpg` zero-padded to six digits. Copies differ in where the frames unpack
    (`frames_folder`), where the sheet lies and its format (`sheet`: .xlsx or .csv) and the subject folders'
    names (`subject_folder`); `faces=False` writes faceless frames, for tests that only parse."""
    manual = os.path.join(root, "smic_e")
    for (subject, name), (first, seed) in VIDEOS.items():
        numbers = [n for n in range(first, first + long_fixtures.FRAMES) if n not in GAP]
        pixels = long_fixtures.face_frames(seed) if faces else long_fixtures.blank_frames(long_fixtures.FRAMES)
        folder = os.path.join(manual, *frames_folder.split("/"), subject_folder.format(subject), name)
        long_fixtures.write_frames(folder, [f"image{n:06d}.jpg" for n in numbers],
                                   pixels[np.asarray(numbers) - first])
    path = os.path.join(manual, *sheet.split("/"))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if path.endswith(".csv"):
        with open(path, "w", newline="") as f:
            csv.writer(f).writerows([["" if c is None else c for c in row] for row in [HEADER] + ROWS])
    else:
        long_fixtures.write_xlsx(path, {"HS": [HEADER] + ROWS})
    return manual
