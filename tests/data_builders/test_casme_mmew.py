"""CASME and MMEW builders on generated copies of their real layouts (no real data)."""

import json
import os

import numpy as np
import pytest
import tensorflow_datasets as tfds

from data_builders.casme import casme_dataset_builder as casme
from data_builders.mmew import mmew_dataset_builder as mmew
from meint_jax.data import emotion_classes
from meint_jax.data.clips import annotations
from meint_jax.testing.fixtures import casme_sheet, mmew_sheet, write_jpeg
from meint_jax.testing.long_fixtures import write_xls

SIZE = 32


def build(name, manual, data_dir):
    builder = tfds.builder(name, data_dir=str(data_dir))
    builder.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=str(manual)))
    return builder


def config_of(module, name):
    return [c for c in module.Builder.BUILDER_CONFIGS if c.name == name][0]


def small(monkeypatch, module, name):
    monkeypatch.setattr(config_of(module, name), "frame_size", SIZE)


def write_frames(folder, names, seed=0):
    rng = np.random.default_rng(seed)
    for name in names:
        write_jpeg(str(folder / name), rng)


# Rows of CASME-coded-20190721.xls: (subject, filename, onset, apex, offset, AU, emotion[, ApexF2]).
CASME_ROWS = [
    (1, "EP01_5", 8, 10, 13, 12, "happiness", 11),   # ApexF2 coded: the apex is still ApexF1
    (8, "EP02_01", 98, 100, 102, "4", "tense"),       # section B: frame numbers zero-padded to 3 digits
    (1, "EP03_1", 8, "\\", 13, "4+17", "repression"),  # a backslash for the apex
    (1, "EP05_4", 8, 10, 40, "14", "disgust"),        # offset past the clip's last frame
    (1, "EP01_5", 9, 10, 12, "12", "amusement"),      # its 2013 label
]


def casme_frames(section_a, section_b, prefix=""):
    """Frames of the sheet's clips as the release names them, <prefix><clip>-<n>.jpg; in section B (subjects 8-19)
    n has 3 digits."""
    write_frames(section_a / "sub01" / "EP01_5", [f"{prefix}EP01_5-{n}.jpg" for n in range(8, 14)])
    write_frames(section_a / "sub01" / "EP05_4", [f"{prefix}EP05_4-{n}.jpg" for n in range(8, 14)], 1)
    write_frames(section_a / "sub01" / "EP03_1", [f"{prefix}EP03_1-{n}.jpg" for n in range(8, 14)], 2)
    write_frames(section_b / "sub08" / "EP02_01", [f"{prefix}EP02_01-{n:03d}.jpg" for n in range(97, 103)], 3)


@pytest.fixture
def casme_manual(tmp_path):
    manual = tmp_path / "manual"
    casme_frames(manual / "Cropped", manual / "Cropped", prefix="reg_")
    casme_sheet(manual / "CASME-coded-20190721.xls", CASME_ROWS)
    return manual


def test_casme_clips_take_apexf1_from_the_coded_xls_and_skip_bad_rows_with_reasons(casme_manual, tmp_path,
                                                                                     monkeypatch):
    small(monkeypatch, casme, "cropped_128")
    builder = build("casme/cropped_128", casme_manual, tmp_path / "tfds")
    clips = {f"{ex['clip_id'].decode()}@{ex['onset']}": ex for ex in tfds.as_numpy(builder.as_dataset(split="train"))}
    assert sorted(clips) == ["01/EP01_5@8", "01/EP01_5@9", "08/EP02_01@98"]
    first = clips["01/EP01_5@8"]
    assert (first["onset"], first["apex"], first["offset"]) == (8, 10, 13)      # ApexF1 10, not ApexF2 11
    assert first["subject"].decode() == "01" and first["action_units"].decode() == "12"   # .xls 12.0 -> "12"
    np.testing.assert_array_equal(first["frame_numbers"], np.arange(8, 14))
    assert first["frames"].shape == (6, SIZE, SIZE, 3)
    emotion = builder.info.features["emotion"].int2str
    assert emotion(first["emotion"]) == "happiness" and emotion(clips["01/EP01_5@9"]["emotion"]) == "happiness"
    section_b = clips["08/EP02_01@98"]
    np.testing.assert_array_equal(section_b["frame_numbers"], np.arange(97, 103))   # 097.jpg -> 97
    assert emotion(section_b["emotion"]) == "tense"

    summary = json.load(open(os.path.join(builder.data_dir, "build_summary.json")))
    assert summary["clips"] == 3 and summary["skipped"] == 2
    assert summary["skipped_by_reason"] == {"annotated frames not on disk": 1, "missing apex": 1}
    assert [s["row"] for s in summary["skipped_rows"]] == [4, 5]
    assert summary["sheets"] == [str(casme_manual / "CASME-coded-20190721.xls")]


def test_casme_raw_frames_split_over_the_two_sections_are_found_in_either(tmp_path):
    manual = tmp_path / "manual"
    casme_frames(manual / "CASME_A" / "Section A", manual / "CASME_B" / "Section B")
    casme_sheet(manual / "CASME-coded-20190721.xls", CASME_ROWS)
    parsed, sources = casme.Builder.parse_manual(str(manual), config_of(casme, "dlib_128"))
    folders = {c.clip_id: os.path.relpath(os.path.dirname(c.frame_paths[0]), manual) for c in parsed.clips}
    assert folders == {"01/EP01_5": os.path.join("CASME_A", "Section A", "sub01", "EP01_5"),
                       "08/EP02_01": os.path.join("CASME_B", "Section B", "sub08", "EP02_01")}
    assert sources["frames_root"] == str(manual)   # what holds both sections: the fingerprint covers both


def test_casme_prefers_a_merged_raw_folder_and_never_crops_whole_frames_as_faces(tmp_path):
    manual = tmp_path / "manual"
    casme_frames(manual / "CASME_raw_selected", manual / "CASME_raw_selected")
    casme_sheet(manual / "CASME-coded-20190721.xls", CASME_ROWS)
    parsed, sources = casme.Builder.parse_manual(str(manual), config_of(casme, "dlib_128"))
    assert sources["frames_root"] == str(manual / "CASME_raw_selected") and len(parsed.clips) == 3
    with pytest.raises(FileNotFoundError, match=r"no frames folder \(Cropped or \*/Cropped\)"):
        casme.Builder.parse_manual(str(manual), config_of(casme, "cropped_128"))
    os.rename(manual / "CASME_raw_selected", manual / "Cropped")
    with pytest.raises(FileNotFoundError, match="no frames folder") as error:   # nor any section
        casme.Builder.parse_manual(str(manual), config_of(casme, "dlib_128"))
    assert "CASME_A/Section A/subXX" in str(error.value)


def test_casme_sheet_errors_are_one_line_naming_the_file(tmp_path):
    manual = tmp_path / "manual"
    casme_frames(manual / "Cropped", manual / "Cropped", prefix="reg_")
    config = config_of(casme, "cropped_128")
    with pytest.raises(FileNotFoundError, match="no coding sheet") as missing:
        casme.Builder.parse_manual(str(manual), config)
    assert "CASME-coded-20190721.xls" in str(missing.value)          # the instructions name the file
    sheet = manual / "CASME-coded-20190721.xls"
    sheet.write_bytes(b"not a workbook")
    with pytest.raises(annotations.AnnotationError, match=r"CASME-coded-20190721.xls: not a readable .xls file"):
        casme.Builder.parse_manual(str(manual), config)
    # Without ApexF1 the header is refused: ApexF2 (the apex's last frame) never stands in for it.
    header = ("Subject", "Filename", None, "OnsetF", "ApexF2", "OffsetF", "AU", "Emotion")
    write_xls(sheet, {"Sheet1": [header, (1, "EP01_5", 8, 11, 13, "12", "happiness")]})
    with pytest.raises(annotations.AnnotationError, match=r"row 1 lacks 'apexf1'"):
        casme.Builder.parse_manual(str(manual), config)


def test_casme_and_mmew_labels_map_to_the_fields_three_classes():
    three = {label: emotion_classes.label(label, "three") for label in
             annotations.CASME_EMOTIONS + annotations.MMEW_EMOTIONS + ("amusement", "comtempt")}
    assert three == {"happiness": "positive", "amusement": "positive", "surprise": "surprise",
                     "sadness": "negative", "disgust": "negative", "contempt": "negative", "comtempt": "negative",
                     "fear": "negative", "repression": "negative", "anger": "negative",
                     "tense": "others", "others": "others"}
    assert emotion_classes.label("tense", "native") == "tense"          # its own class among native labels
    assert emotion_classes.label("Amusement", "native") == "happiness"


@pytest.fixture
def mmew_manual(tmp_path):
    """MMEW as distributed: MMEW_Final/ with the sheet and Micro_Expression/<emotion>/<clip>/N.jpg."""
    final = tmp_path / "manual" / "MMEW_Final"
    micro = final / "Micro_Expression"
    write_frames(micro / "happiness" / "S01-01-001", [f"{n}.jpg" for n in range(1, 8)])
    write_frames(micro / "repression" / "S02-08-003", [f"{n}.jpg" for n in range(1, 6)], 1)   # 'others' rows
    write_frames(micro / "surprise" / "S03-02-001", [f"{n}.jpg" for n in range(1, 6)], 2)
    write_frames(micro / "fear" / "S03-02-001", [f"{n}.jpg" for n in range(1, 6)], 3)        # the same clip twice
    mmew_sheet(final / "MMEW_Micro_Exp.xlsx", [
        (1, "S01-01-001", 2, 4, 7, "AU6+AU12", "happiness"),
        (2, "S02-08-003", 1, 3, 5, "AU4", "others"),
        (3, "S03-02-001", 1, 2, 5, "AU1+AU2", "surprise"),
        (4, "S04-05-002", 1, 2, 5, "AU4", "fear"),      # no such folder
        (1, "S01-01-001", 2, 3, 7, "AU12", "contempt"),  # not an MMEW label
    ])
    return tmp_path / "manual"


def test_mmew_clips_are_found_under_any_emotion_folder_with_bad_rows_skipped(mmew_manual, tmp_path, monkeypatch):
    small(monkeypatch, mmew, "whole_128")
    builder = build("mmew/whole_128", mmew_manual, tmp_path / "tfds")
    clips = {ex["clip_id"].decode(): ex for ex in tfds.as_numpy(builder.as_dataset(split="train"))}
    assert sorted(clips) == ["01/S01-01-001", "02/S02-08-003"]
    first = clips["01/S01-01-001"]
    assert (first["subject"].decode(), first["onset"], first["apex"], first["offset"]) == ("01", 2, 4, 7)
    np.testing.assert_array_equal(first["frame_numbers"], np.arange(1, 8))
    emotion = builder.info.features["emotion"].int2str
    assert emotion(first["emotion"]) == "happiness" and first["action_units"].decode() == "AU6+AU12"
    assert emotion(clips["02/S02-08-003"]["emotion"]) == "others"      # the sheet's label, not the folder's

    summary = json.load(open(os.path.join(builder.data_dir, "build_summary.json")))
    assert summary["skipped_by_reason"] == {"ambiguous clip folder": 1, "clip folder missing": 1,
                                            "unknown emotion": 1}
    reasons = {s["row"]: s["reason"] for s in summary["skipped_rows"]}
    assert "fear/S03-02-001" in reasons[4] and "surprise/S03-02-001" in reasons[4]
    assert reasons[5].endswith(os.path.join("Micro_Expression", "*", "S04-05-002"))
    assert summary["frames_root"] == str(mmew_manual / "MMEW_Final" / "Micro_Expression")


def test_mmew_copies_unpacked_per_subject_first_are_read_too(tmp_path):
    manual = tmp_path / "manual"
    write_frames(manual / "Micro_Expression" / "S01" / "happiness" / "S01-01-001", [f"{n}.jpg" for n in range(1, 6)])
    mmew_sheet(manual / "MMEW_Micro_Exp.xlsx", [("S01", "S01-01-001", 1, 3, 5, "AU12", "Happiness")])
    parsed, _ = mmew.Builder.parse_manual(str(manual), config_of(mmew, "dlib_128"))
    (clip,) = parsed.clips
    assert (clip.subject, clip.clip_id, clip.emotion) == ("01", "01/S01-01-001", "happiness")


def test_a_missing_mmew_sheet_names_the_file_to_put_where(tmp_path):
    manual = tmp_path / "manual"
    write_frames(manual / "Micro_Expression" / "happiness" / "S01-01-001", ["1.jpg"])
    with pytest.raises(FileNotFoundError, match="no coding sheet") as error:
        mmew.Builder.parse_manual(str(manual), config_of(mmew, "whole_128"))
    assert "MMEW_Micro_Exp.xlsx" in str(error.value)
