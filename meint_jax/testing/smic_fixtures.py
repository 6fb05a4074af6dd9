"""Fixture copies of SMIC laid out as distributed (generated frames, never real data).

SMIC's cropped release: `SMIC_all_cropped/HS/s1/micro/negative/s1_ne_01/reg_image559740.bmp` (the raw
release `SMIC_all_raw/...` names frames `image559740.bmp`), with `non_micro/` folders beside `micro/`;
frame numbers are the recording's, zero-padded to six digits (`image034208`), wider ones as they are
(`image17581039`). SMIC-E: `SMIC-E_raw image/HS_long/SMIC-HS-E/s01/s1_ne_01/image559700.jpg` (subject
folders two-digit, clip names not) and `SMIC-HS-E_annotation.xlsx`, a sheet per camera. The community's
apex sheet: `smic_apex.csv` (or .xlsx, Sheet1), HS frame numbers.
"""

import os

import numpy as np
import openpyxl

from meint_jax.testing.fixtures import write_jpeg

# SMIC-HS-E_annotation.xlsx as distributed: sheet HS (blank third and eighth columns, two trailing unnamed
# ones), sheet VIS (no LastF), then empty Sheet2 and Sheet3; blank rows after the last clip.
E_HEADERS = {
    "HS": ("Subject", "Filename", None, "OnsetF", "OffsetF", "Onset2F", "Offset2F", None, "FirstF", "LastF",
           "TotalMF1", "TotalMF2", "TotalVL", "Emotion", None, None),
    "VIS": ("Subject", "Filename", None, "OnsetF", "OffsetF", "Onset2F", "Offset2F", None, "FirstF", "TotalMF1",
            "TotalMF2", "TotalVL", "Emotion", None, None),
}
# A copy's SMIC-NIR-E_annotation.xlsx: one sheet, the camera in the column names, an ApexF column.
NIR_E_HEADER = ("Subject", "Filename", None, "OnsetF NIR", "ApexF NIR", "OffsetF NIR", None, "FirstF", "TotalVL",
                "Emotion")
# smic_apex.csv as the community shares it (label 0 negative, 1 positive, 2 surprise; subject an integer).
APEX_HEADER = ("data", "subject", "clip", "label", "onset_frame", "apex_frame", "offset_frame", "onset_frame_path",
               "apex_frame_path", "offset_frame_path")


def write_frames(folder, numbers, rng, prefix="reg_image", ext="bmp"):
    """One generated frame per number, named as SMIC names them (`reg_image034208.bmp`)."""
    for n in numbers:
        write_jpeg(os.path.join(str(folder), f"{prefix}{n:06d}.{ext}"), rng)


def tree_folder(root, sub, subject: int, emotion: str, name: str):
    """`<root>/<sub>/s<subject>/micro/<emotion>/<name>`, as SMIC_all_cropped and SMIC_all_raw lay clips out."""
    return os.path.join(str(root), sub, f"s{subject}", "micro", emotion, name)


def extended_folder(root, sub, subject: int, name: str, camera_folder: bool = False):
    """`<root>/SMIC-E_raw image/<sub>_long/SMIC-<sub>-E/s<NN>/<name>`, as SMIC-E lays its folders out (some copies
    with a folder for the camera before the subjects: `SMIC-NIR-E/NIR/s11/`)."""
    camera = [sub] if camera_folder else []
    return os.path.join(str(root), "SMIC-E_raw image", f"{sub}_long", f"SMIC-{sub}-E", *camera, f"s{subject:02d}", name)


def extended_workbook(path, sheets: dict):
    """SMIC-HS-E_annotation.xlsx; `sheets` maps HS / VIS to rows (subject, filename, onset, offset, onset2,
    offset2, first, last, emotion), placed in their columns with the counts filled as the release fills them."""
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for sub, rows in sheets.items():
        sheet = workbook.create_sheet(sub)
        sheet.append(list(E_HEADERS[sub]))
        for subject, name, on, off, on2, off2, first, last, emotion in rows:
            total1 = off - on + 1 if isinstance(on, int) and isinstance(off, int) else None
            total2 = off2 - on2 + 1 if on2 is not None else None
            length = last - first + 1 if isinstance(first, int) and isinstance(last, int) else None
            if sub == "HS":
                sheet.append([subject, name, None, on, off, on2, off2, None, first, last, total1, total2, length,
                              emotion, None, None])
            else:
                sheet.append([subject, name, None, on, off, on2, off2, None, first, total1, total2, length, emotion,
                              None, None])
        for _ in range(6):
            sheet.append([None] * len(E_HEADERS[sub]))
    workbook.create_sheet("Sheet2")
    workbook.create_sheet("Sheet3")
    workbook.save(path)
    return str(path)


def nir_workbook(path, rows):
    """A SMIC-NIR-E_annotation.xlsx as NIR_E_HEADER lays it out; `rows` are (subject, filename, onset, apex, offset,
    first, emotion)."""
    workbook = openpyxl.Workbook()
    workbook.active.title = "Sheet1"
    workbook.active.append(list(NIR_E_HEADER))
    for subject, name, on, apex, off, first, emotion in rows:
        workbook.active.append([subject, name, None, on, apex, off, None, first, off - first + 1, emotion])
    workbook.save(path)
    return str(path)


def apex_sheet(path, rows):
    """The community's apex sheet; `rows` are (subject, clip, label, onset, apex, offset). `.csv` as shared, or
    `.xlsx` with the same columns on Sheet1."""
    def frame_path(subject, clip, n):
        return f"smic/HS_long/SMIC_HS_E/s{subject:02d}/{clip}/image{n:06d}.jpg"

    table = [list(APEX_HEADER)] + [
        ["smic", subject, clip, label, on, apex, off, frame_path(subject, clip, on), frame_path(subject, clip, apex),
         frame_path(subject, clip, off)] for subject, clip, label, on, apex, off in rows]
    if str(path).endswith(".csv"):
        with open(path, "w") as f:
            f.writelines(",".join("" if c is None else str(c) for c in row) + "\n" for row in table)
    else:
        workbook = openpyxl.Workbook()
        workbook.active.title = "Sheet1"
        for row in table:
            workbook.active.append(row)
        workbook.save(path)
    return str(path)


def smic_copy(manual, apex="smic_apex.xlsx", seed=0):
    """A SMIC copy with both releases' trees and the apex sheet, hand-worked:

    SMIC_all_cropped/HS (reg_image*.bmp):
      s1 negative s1_ne_01   559740..559744       apex row (label 0): 559740, 559742, 559744
      s1 positive s1_po_01   701843,844,846,847   no row: apex placed on 701844 (middle 701845 missing)
      s1 surprise s1_sur_01  549990..549993       apex row labelled 0 (negative): 549990, 549992, 549993
      s2 surprise s2_sur_01  90868..90872         no row: apex placed on 90870 (files image090868.bmp)
      s2 positive s2_po_01   76518..76521         apex row 76518, 76525, 76530: apex outside the clip
      s2 negative s2_ne_01   empty folder
      s2 negative s2_01      a name without an emotion code
      s2 non_micro s2_n1     not a micro-expression: not read
      s7 non_micro s7_n1     a subject without micro-expressions: no clips, nothing skipped
      apex row for s3_ne_03, a clip not on disk
    SMIC_all_cropped/VIS and /NIR: s11 negative s11_ne_01 8160..8165, s11 positive s11_po_01 19980..19985.
    SMIC_all_raw/HS: s1 negative s1_ne_01 (image*.bmp, whole frames).
    """
    rng = np.random.default_rng(seed)
    cropped, raw = os.path.join(str(manual), "SMIC_all_cropped"), os.path.join(str(manual), "SMIC_all_raw")
    clips = [(1, "negative", "s1_ne_01", range(559740, 559745)), (1, "positive", "s1_po_01", (701843, 701844,
             701846, 701847)), (1, "surprise", "s1_sur_01", range(549990, 549994)),
             (2, "surprise", "s2_sur_01", range(90868, 90873)), (2, "positive", "s2_po_01", range(76518, 76522)),
             (2, "negative", "s2_01", range(1, 4))]
    for subject, emotion, name, numbers in clips:
        write_frames(tree_folder(cropped, "HS", subject, emotion, name), numbers, rng)
    os.makedirs(tree_folder(cropped, "HS", 2, "negative", "s2_ne_01"))
    write_frames(os.path.join(cropped, "HS", "s2", "non_micro", "s2_n1"), range(5, 9), rng)
    write_frames(os.path.join(cropped, "HS", "s7", "non_micro", "s7_n1"), range(5, 9), rng)
    for sub in ("VIS", "NIR"):
        write_frames(tree_folder(cropped, sub, 11, "negative", "s11_ne_01"), range(8160, 8166), rng)
        write_frames(tree_folder(cropped, sub, 11, "positive", "s11_po_01"), range(19980, 19986), rng)
    write_frames(tree_folder(raw, "HS", 1, "negative", "s1_ne_01"), range(559740, 559745), rng, prefix="image")
    if apex:
        apex_sheet(os.path.join(str(manual), apex), [
            (1, "s1_ne_01", 0, 559740, 559742, 559744), (1, "s1_sur_01", 0, 549990, 549992, 549993),
            (2, "s2_po_01", 1, 76518, 76525, 76530), (3, "s3_ne_03", 0, 302370, 302375, 302380)])
    return manual


def smic_e_copy(manual, apex="smic_apex.xlsx", seed=0):
    """A SMIC-E copy (image*.jpg) with its workbook and the apex sheet, hand-worked:

    HS_long/SMIC-HS-E:
      s01/s1_ne_01    559736..559748   row 2: 559740..559744 negative; apex row 559740, 559742, 559744
      s20/s20_ne_06   17668810..830    row 3: 17668812..816 and 17668822..826: two records, each stopping short
                                       of the other expression; apexes placed on 17668814 and 17668824
      s18/s18_sur_03  1695780..790     row 4: 1695782..786, Emotion 'negative' against its name's 'sur'
      s03/s3_ne_02    302325..340      row 5: 302330..334; frames kept up to 302335 (s3_ne_03 starts at 302336)
      (no folder)     s3_ne_03         row 6: 302336..338, folder missing
      (no folder)     s3_ne_20         row 7: FirstF 'MISSING <-426679', folder missing
      s09/s9_sur_01   61200..61210     row 8: offset before onset
      s01/s1_po_05    701840..701845   not in the sheet
    VIS_long/SMIC-VIS-E: s11/s11_ne_01 8150..8170, sheet VIS row 2: 8160..8165 negative.
    NIR_long/SMIC-NIR-E/NIR: s11/s11_ne_01 8150..8170, NIR_long/SMIC-NIR-E_annotation.xlsx row 2: 8160..8165,
      ApexF 8163, negative.
    """
    rng = np.random.default_rng(seed)
    folders = [("HS", 1, "s1_ne_01", range(559736, 559749)), ("HS", 20, "s20_ne_06", range(17668810, 17668831)),
               ("HS", 18, "s18_sur_03", range(1695780, 1695791)), ("HS", 3, "s3_ne_02", range(302325, 302341)),
               ("HS", 9, "s9_sur_01", range(61200, 61211)), ("HS", 1, "s1_po_05", range(701840, 701846)),
               ("VIS", 11, "s11_ne_01", range(8150, 8171))]
    for sub, subject, name, numbers in folders:
        write_frames(extended_folder(manual, sub, subject, name), numbers, rng, prefix="image", ext="jpg")
    write_frames(extended_folder(manual, "NIR", 11, "s11_ne_01", camera_folder=True), range(8150, 8171), rng,
                 prefix="image", ext="jpg")
    nir_workbook(os.path.join(str(manual), "SMIC-E_raw image", "NIR_long", "SMIC-NIR-E_annotation.xlsx"),
                 [(11, "s11_ne_01", 8160, 8163, 8165, 8150, "negative")])
    extended_workbook(os.path.join(str(manual), "SMIC-HS-E_annotation.xlsx"), {
        "HS": [(1, "s1_ne_01", 559740, 559744, None, None, 559736, 559748, "negative"),
               (20, "s20_ne_06", 17668812, 17668816, 17668822, 17668826, 17668810, 17668830, "negative"),
               (18, "s18_sur_03", 1695782, 1695786, None, None, 1695780, 1695790, "negative"),
               (3, "s3_ne_02", 302330, 302334, None, None, 302325, 302340, "negative"),
               (3, "s3_ne_03", 302336, 302338, None, None, 302325, 302340, "negative"),
               (3, "s3_ne_20", 426679, 426709, None, None, "MISSING <-426679", None, "negative"),
               (9, "s9_sur_01", 61206, 61204, None, None, 61200, 61210, "surprise")],
        "VIS": [(11, "s11_ne_01", 8160, 8165, None, None, 8150, 8170, "negative")]})
    if apex:
        apex_sheet(os.path.join(str(manual), apex), [(1, "s1_ne_01", 0, 559740, 559742, 559744)])
    return manual
