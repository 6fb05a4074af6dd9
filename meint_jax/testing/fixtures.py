"""Writers for fixture files laid out like the real datasets (generated, never real data)."""

import os

import numpy as np
import openpyxl
from PIL import Image
from scipy import ndimage


def write_sheet(path, rows):
    """An .xlsx coding sheet with `rows` in its first worksheet."""
    workbook = openpyxl.Workbook()
    for row in rows:
        workbook.active.append(row)
    workbook.save(path)
    return str(path)


# CASME2-coding-20140508.xlsx as released: one sheet, the header on row 1, nine columns with blank ones third and
# seventh (peers drop "Unnamed: 2" and "Unnamed: 6"), the subject an integer, a missing apex written "/".
CASME2_HEADER = ("Subject", "Filename", None, "OnsetFrame", "ApexFrame", "OffsetFrame", None, "Action Units",
                 "Estimated Emotion")

# SAMM_Micro_FACS_Codes_v2.xlsx as released: 13 rows of title, notes and symbol key (some blank) above the
# header on row 14; the subject is text ('006'), inducement code and objective class integers, -1 or "/" where
# an apex is missing.
SAMM_NOTES = (("SAMM Micro-Expression Database - FACS Codes",), (), ("Please cite the database papers.",), (),
              ("9/9/17 - New updates to the coding",), (), ("Symbol Key:",), ('"/" = or',),
              ('"?" = unclear offset',), (), ("AU Help:",), (), ())
SAMM_HEADER = ("Subject", "Filename", "Inducement Code", "Onset Frame", "Apex Frame", "Offset Frame", "Duration",
               "Micro", "Action Units", "Estimated Emotion", "Objective Classes", "Notes")


def casme2_sheet(path, rows, header=CASME2_HEADER):
    """CASME II's coding sheet laid out as released; `rows` are (subject, filename, onset, apex, offset,
    action units, emotion), placed in their columns around the blank ones (a shorter `header` drops the
    columns it lacks, e.g. the emotion)."""
    full = [(s, f, None, on, ap, off, None, au, em) for s, f, on, ap, off, au, em in
            (tuple(r) + (None,) * (7 - len(r)) for r in rows)]
    return write_sheet(path, [list(header)] + [list(r[:len(header)]) for r in full])


def samm_sheet(path, rows):
    """SAMM's coding sheet laid out as released; `rows` are (subject, filename, onset, apex, offset, action
    units, emotion); the other columns are filled as the release fills them."""
    full = [[subject, filename, int(filename.split("_")[1]) if filename.count("_") >= 1 else 1, on, ap, off,
             (off - on + 1) if isinstance(on, int) and isinstance(off, int) else None, "Micro - 1/2", au, emotion, 1,
             None] for subject, filename, on, ap, off, au, emotion in rows]
    return write_sheet(path, [list(r) for r in SAMM_NOTES] + [list(SAMM_HEADER)] + full)


def write_jpeg(path, rng, shape=(48, 40)):
    """A smooth, photo-like frame (random, so every frame differs)."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    pixels = ndimage.gaussian_filter(rng.uniform(0, 255, shape + (3,)), sigma=(3, 3, 0))
    pixels = (pixels - pixels.min()) / (np.ptp(pixels) + 1e-8) * 200 + 30
    Image.fromarray(pixels.astype(np.uint8)).save(path, quality=95)


# CASME-coded-20190721.xls as released: an old-format .xls, the header on row 1, twelve columns with blank ones third
# and eighth (peers drop "Unnamed: 2" and "Unnamed: 7"), the subject an integer, a backslash where ApexF2 (the last
# apex frame) is not coded, and Onset / Total the durations onset-apex and onset-offset in ms at 60 fps.
CASME_HEADER = ("Subject", "Filename", None, "OnsetF", "ApexF1", "ApexF2", "OffsetF", None, "Onset", "Total", "AU",
                "Emotion")


def casme_sheet(path, rows):
    """CASME's coding sheet laid out as released; `rows` are (subject, filename, onset, apex, offset, action units,
    emotion[, apex2]) and the other cells are filled as the release fills them."""
    from meint_jax.testing.long_fixtures import write_xls

    def ms(first, last):
        return (last - first + 1) * 1000 / 60 if isinstance(first, int) and isinstance(last, int) else "\\"

    full = [[s, f, None, on, ap, (rest or ("\\",))[0], off, None, ms(on, ap), ms(on, off), au, em]
            for s, f, on, ap, off, au, em, *rest in rows]
    return write_xls(path, {"Sheet1": [list(CASME_HEADER)] + full})


# MMEW_Micro_Exp.xlsx as released: the header on row 1, the subject an integer, the filename
# PersonIndex-EmotionIndex-SampleIndex (S01-01-001), a last "remarks" column mostly blank.
MMEW_HEADER = ("Subject", "Filename", "OnsetFrame", "ApexFrame", "OffsetFrame", "Action Units", "Estimated Emotion",
               "remarks")


def mmew_sheet(path, rows):
    """MMEW's micro-expression sheet laid out as released; `rows` are (subject, filename, onset, apex, offset,
    action units, emotion)."""
    return write_sheet(path, [list(MMEW_HEADER)] + [list(r) + [None] for r in rows])
