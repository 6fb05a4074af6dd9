"""Coding-sheet parsing on generated fixtures laid out like CASME II and SAMM (no real data)."""

import os

import pytest

from meint_jax.data.clips import annotations
from meint_jax.testing.fixtures import casme2_sheet, samm_sheet, write_sheet


def make_frames(folder, names):
    os.makedirs(folder, exist_ok=True)
    for name in names:
        open(os.path.join(folder, name), "wb").close()


@pytest.fixture
def casme2(tmp_path):
    root = tmp_path / "CASME2_RAW_selected"
    make_frames(root / "sub01" / "EP02_01f", [f"img{i}.jpg" for i in range(8, 14)])   # img8 .. img13
    make_frames(root / "sub02" / "EP03_02", [f"img{i}.jpg" for i in range(100, 110)])
    make_frames(root / "sub02" / "EP09_01", [f"img{i}.jpg" for i in (1, 2, 4, 5)])     # img3 lost
    make_frames(root / "sub02" / "EP11_01", [f"img{i}.jpg" for i in range(1, 6)])
    rows = [(1, "EP02_01f", 8, 10, 13, "12", "happiness"),
            (2, "EP03_02", 100, "/", 109, "4", "disgust"),               # missing apex
            (2, "EP03_02", 100, 109, 105, "4", "disgust"),               # offset before apex
            (2, "EP09_01", 1, 3, 5, "1+2", "surprise"),                  # apex frame not on disk
            (2, "EP99_99", 1, 2, 3, "14", "repression"),                 # no such folder
            (2, "EP03_02", 101, 104, 108, "4", "Contempt"),              # not a CASME II label
            (None, None, None, None, None, None, None),                  # blank line: ignored
            (None, "EP03_02", 100, 104, 108, "4", "disgust"),            # no subject
            (2, "EP03_02", None, 104, 108, "4", "disgust"),              # no onset
            (2, "EP03_02", 100, 104.5, 108, "4", "disgust"),             # fractional apex: not a frame
            (2, "EP03_02", 100, -1, 108, "4", "disgust"),                # -1: SAMM's mark of a missing apex
            (2, "EP11_01", 1, 1, 5, "4", "disgust"),                     # apex on the onset: a clip
            ("02", "EP03_02", 101, 104, 108, "4+7", "Others")]
    return casme2_sheet(tmp_path / "CASME2-coding-20140508.xlsx", rows), str(root)


def test_casme2_rows_become_clips_or_counted_skips(casme2):
    sheet, root = casme2
    result = annotations.parse(sheet, root, annotations.CASME2)
    assert [c.clip_id for c in result.clips] == ["01/EP02_01f", "02/EP11_01", "02/EP03_02"]
    first = result.clips[0]
    assert (first.subject, first.onset, first.apex, first.offset) == ("01", 8, 10, 13)
    # Frames in numeric order: img9 before img10, not the string order img10, img11, ..., img8, img9.
    assert first.frame_numbers.tolist() == [8, 9, 10, 11, 12, 13]
    assert [os.path.basename(p) for p in first.frame_paths][:3] == ["img8.jpg", "img9.jpg", "img10.jpg"]
    assert (result.clips[1].onset, result.clips[1].apex) == (1, 1)
    assert result.clips[2].emotion == "others" and result.clips[2].action_units == "4+7"
    summary = result.summary()
    assert summary["clips"] == 3 and summary["skipped"] == 9
    assert summary["skipped_by_reason"] == {
        "annotated frames not on disk": 1, "clip folder missing": 1, "frames out of order": 1,
        "missing apex": 3, "missing onset or offset": 1, "missing subject or filename": 1, "unknown emotion": 1}
    assert [s["row"] for s in summary["skipped_rows"]] == [3, 4, 5, 6, 7, 9, 10, 11, 12]


def test_samm_header_below_notes_and_zero_padded_subjects(tmp_path):
    root = tmp_path / "SAMM"
    make_frames(root / "006" / "006_1_2", [f"006_{i:05d}.jpg" for i in range(5560, 5570)])
    make_frames(root / "011" / "011_2_3", [f"011_{i:05d}.jpg" for i in range(898, 905)])
    rows = [(6, "006_1_2", 5562, 5565, 5568, "R12", "Happiness"),          # a copy with integer subjects
            ("011", "011_2_3", 899, 901, 904, "4+7", "Anger")]
    sheet = samm_sheet(tmp_path / "SAMM_Micro_FACS_Codes_v2.xlsx", rows)
    result = annotations.parse(sheet, str(root), annotations.SAMM)
    assert [c.subject for c in result.clips] == ["006", "011"]
    assert result.clips[0].frame_numbers[0] == 5560 and result.clips[0].emotion == "happiness"
    assert result.clips[1].emotion == "anger" and not result.skipped


def test_subject_codes_keep_their_padding():
    assert annotations.subject_code(6, 3) == "006"
    assert annotations.subject_code(6.0, 3) == "006"
    assert annotations.subject_code("sub07", 2) == "07"
    assert annotations.subject_code("01", 2) == "01"


def test_a_sheet_without_the_header_or_missing_is_a_clear_error(tmp_path):
    sheet = write_sheet(tmp_path / "wrong.xlsx", [["Name", "Start", "End"], ["a", 1, 2]])
    with pytest.raises(annotations.AnnotationError, match=r"wrong.xlsx: no header row with the SAMM columns"):
        annotations.parse(sheet, str(tmp_path), annotations.SAMM)
    with pytest.raises(annotations.AnnotationError, match="annotation sheet not found"):
        annotations.parse(str(tmp_path / "absent.xlsx"), str(tmp_path), annotations.CASME2)
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"this is not a zip file")
    with pytest.raises(annotations.AnnotationError, match="broken.xlsx: not a readable .xlsx file"):
        annotations.parse(str(broken), str(tmp_path), annotations.CASME2)
