"""The smic_e builder on generated copies of SMIC-E's HS layout: every ME of a row read back, every skipped or
repaired row counted with its reason, the copies' variants parsed alike, unusable files named in one line."""

import collections
import json
import os
import shutil

import numpy as np
import pytest
import tensorflow_datasets as tfds

from data_builders.smic_e import smic_e_dataset_builder as smic_e_builder  # registers smic_e
from meint_jax.data.clips.annotations import AnnotationError
from meint_jax.data.long import pipeline as long_pipeline
from meint_jax.testing import long_fixtures, smic_e_fixtures
from tests.data_builders.test_long_builders import one_joint_step

FLOW = 64     # flow crop side in these tests (224 in the real configs)


def as_tuples(video):
    return [(i.onset, i.apex, i.offset, i.kind, i.emotion, i.native_emotion) for i in video.intervals]


def rows_by_reason(rows) -> dict:
    found = collections.defaultdict(list)
    for row in rows:
        found[row["reason"].split(":")[0]].append(str(row["row"]))
    return {reason: sorted(labels) for reason, labels in found.items()}


def parse(tmp_path, manual):
    return smic_e_builder.Builder(config="features", data_dir=str(tmp_path / "tfds"))._parse(manual)


def test_smic_e_builds_every_me_of_a_row_at_100_fps_and_counts_every_skipped_and_repaired_row(tmp_path, monkeypatch):
    config = [c for c in smic_e_builder.Builder.BUILDER_CONFIGS if c.name == "features"][0]
    monkeypatch.setattr(config, "flow_size", FLOW)
    manual = smic_e_fixtures.smic_e(tmp_path)
    builder = tfds.builder("smic_e/features", data_dir=str(tmp_path / "tfds"))
    builder.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=manual))

    videos = {v.video.video_id: v for v in long_pipeline.load_videos(builder)}
    assert {k: as_tuples(v.video) for k, v in videos.items()} == smic_e_fixtures.EXPECTED
    assert all(not i.apex_annotated for v in videos.values() for i in v.video.intervals)
    padded = videos["s01/s1_po_01"].video                       # image017581.jpg ... image017620.jpg
    np.testing.assert_array_equal(padded.frame_numbers, np.arange(17581, 17581 + long_fixtures.FRAMES))
    gapped = videos["s02/s2_sur_01"].video
    assert gapped.num_frames == long_fixtures.FRAMES - len(smic_e_fixtures.GAP)
    assert not set(smic_e_fixtures.GAP) & set(gapped.frame_numbers.tolist())
    assert padded.subject == "s01" and padded.fps == 100.0
    assert videos["s01/s1_ne_01"].flow.shape == (long_fixtures.FRAMES, 36)

    with open(os.path.join(builder.data_dir, "build_summary.json")) as f:
        summary = json.load(f)
    skipped = rows_by_reason(summary["skipped_rows"])
    assert skipped == {reason: [str(r) for r in rows] for reason, rows in smic_e_fixtures.SKIPPED.items()}
    assert rows_by_reason(summary["repaired_rows"]) == {k: sorted(v) for k, v in smic_e_fixtures.REPAIRED.items()}
    assert summary["videos"] == 4 and summary["intervals_by_kind"] == {"micro": 4}
    assert [os.path.basename(p) for p in summary["sheets"]] == ["SMIC-HS-E_annotation.xlsx"]
    # Its spotting config trains on the build: micro-expressions only, the three classes recorded from them.
    classes = sorted({i.emotion for v in videos.values() for i in v.video.intervals})
    one_joint_step("smic_e", builder, ("negative", "positive", "surprise"), classes)


@pytest.mark.parametrize("frames_folder, sheet, subject_folder, manual_subdir", [
    ("SMIC-E_raw image/HS_long/SMIC-HS-E", "SMIC-E_raw image/HS_long/SMIC-HS-E/SMIC-HS-E_annotation.csv", "s{:02d}",
     ""),                                                       # no HS/ level; a .csv export beside the frames
    ("SMIC/SMIC-E_raw image/HS_long/SMIC_HS_E/HS", "SMIC/SMIC-E_raw image/HS_long/SMIC-HS-E_annotation_2019.xlsx",
     "s{}", ""),                                                # one level up; s1 for s01; the 2019 sheet
    ("HS_long/SMIC-HS-E/HS", "HS_long/SMIC-HS-E_annotation.xlsx", "s{:02d}", "HS_long"),   # manual_dir = HS_long
], ids=["csv_no_hs_folder", "unpadded_subjects", "manual_dir_hs_long"])
def test_smic_e_copies_that_unpack_or_export_the_sheet_otherwise_parse_alike(tmp_path, frames_folder, sheet,
                                                                              subject_folder, manual_subdir):
    manual = smic_e_fixtures.smic_e(tmp_path, frames_folder, sheet, subject_folder, faces=False)
    parsed, frames_root = parse(tmp_path, os.path.join(manual, manual_subdir))
    assert os.path.normpath(frames_root) == os.path.normpath(os.path.join(manual, *frames_folder.split("/")))
    assert {v.video_id: as_tuples(v) for v in parsed.videos} == smic_e_fixtures.EXPECTED
    assert rows_by_reason(parsed.skipped) == {k: [str(r) for r in v] for k, v in smic_e_fixtures.SKIPPED.items()}


def test_an_apexf_column_gives_the_first_me_its_apex_and_the_others_a_placed_one(tmp_path):
    manual = smic_e_fixtures.smic_e(tmp_path, faces=False)
    header = smic_e_fixtures.HEADER[:2] + ("ApexF",) + smic_e_fixtures.HEADER[3:]
    row = list(smic_e_fixtures.ROWS[0])
    row[2] = 559706
    sheet = os.path.join(manual, "SMIC-E_raw image", "HS_long", "SMIC-HS-E_annotation.xlsx")
    long_fixtures.write_xlsx(sheet, {"HS": [header, tuple(row)]})
    parsed, _ = parse(tmp_path, manual)
    first, second = {v.video_id: v for v in parsed.videos}["s01/s1_ne_01"].intervals
    assert (first.apex, first.apex_annotated) == (559706, True)
    assert (second.apex, second.apex_annotated) == ((559720 + 559726) // 2, False)


def test_a_smic_e_sheet_without_its_onset_column_is_named_in_one_line(tmp_path):
    manual = smic_e_fixtures.smic_e(tmp_path, faces=False)
    sheet = os.path.join(manual, "SMIC-E_raw image", "HS_long", "SMIC-HS-E_annotation.xlsx")
    header = tuple("Onset" if c == "OnsetF" else c for c in smic_e_fixtures.HEADER)
    long_fixtures.write_xlsx(sheet, {"HS": [header] + smic_e_fixtures.ROWS})
    with pytest.raises(AnnotationError) as error:
        parse(tmp_path, manual)
    message = str(error.value)
    assert "\n" not in message and message.startswith(f"{sheet}: the SMIC-E sheet's header (row 1) has no 'OnsetF'")


def test_two_smic_e_sheets_are_refused_and_a_missing_one_is_named_with_the_instructions(tmp_path):
    manual = smic_e_fixtures.smic_e(tmp_path, faces=False)
    sheet = os.path.join(manual, "SMIC-E_raw image", "HS_long", "SMIC-HS-E_annotation.xlsx")
    copy = os.path.join(manual, "SMIC-E_raw image", "HS_long", "SMIC-HS-E", "SMIC-HS-E_annotation_orig.xlsx")
    shutil.copy(sheet, copy)
    with pytest.raises(AnnotationError, match=r"2 candidates for the SMIC-HS-E annotation sheet \(.*_orig\.xlsx.*\): "
                                              r"keep the one to build from"):
        parse(tmp_path, manual)
    os.remove(copy)
    os.remove(sheet)
    with pytest.raises(FileNotFoundError, match="no SMIC-HS-E annotation sheet") as error:
        parse(tmp_path, manual)
    assert "SMIC is licensed" in str(error.value)
