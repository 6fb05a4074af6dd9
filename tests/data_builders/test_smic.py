"""SMIC builder on generated fixture copies of SMIC's and SMIC-E's layouts (no real data)."""

import json
import os

import numpy as np
import pytest
import tensorflow_datasets as tfds
from PIL import Image

from data_builders.smic import smic_dataset_builder as smic_builder  # registers `smic`
from meint_jax.data import frames
from meint_jax.data.clips import smic
from meint_jax.data.clips.annotations import AnnotationError
from meint_jax.testing import smic_fixtures

SIZE = 32
CONFIGS = {c.name: c for c in smic_builder.Builder.BUILDER_CONFIGS}


def parse(manual, name):
    return smic_builder.Builder.parse_manual(str(manual), CONFIGS[name])


def annotated(parsed):
    return {(c.clip_id, c.onset): (c.emotion, c.onset, c.apex, c.offset, list(c.frame_numbers)) for c in parsed.clips}


def reasons(entries):
    return sorted((e["subject"], e["clip"], e["row"], e["reason"].split(":")[0]) for e in entries)


@pytest.fixture(scope="module")
def smic_manual(tmp_path_factory):
    return smic_fixtures.smic_copy(tmp_path_factory.mktemp("smic") / "manual")


@pytest.fixture(scope="module")
def smic_e_manual(tmp_path_factory):
    return smic_fixtures.smic_e_copy(tmp_path_factory.mktemp("smic_e") / "manual")


def test_smic_hs_clips_take_their_bounds_from_the_folder_and_the_apex_from_the_apex_sheet_or_the_middle_frame(
        smic_manual):
    parsed, sources = parse(smic_manual, "hs_cropped_224")
    assert annotated(parsed) == {
        ("01/s1_ne_01", 559740): ("negative", 559740, 559742, 559744, list(range(559740, 559745))),
        ("01/s1_po_01", 701843): ("positive", 701843, 701844, 701847, [701843, 701844, 701846, 701847]),
        ("01/s1_sur_01", 549990): ("surprise", 549990, 549992, 549993, list(range(549990, 549994))),
        ("02/s2_sur_01", 90868): ("surprise", 90868, 90870, 90872, list(range(90868, 90873))),
    }
    assert {c.subject for c in parsed.clips} == {"01", "02"}
    assert parsed.clips[0].frame_paths[0].endswith(os.path.join("s1", "micro", "negative", "s1_ne_01",
                                                                "reg_image559740.bmp"))
    assert sources["frames_root"] == str(smic_manual / "SMIC_all_cropped" / "HS")
    assert sources["sheets"] == [str(smic_manual / "smic_apex.xlsx")]
    assert sources["repaired_by_reason"] == {"apex placed": 2, "apex sheet label differs": 1}
    placed = [r for r in sources["repaired_rows"] if r["reason"].startswith("apex placed")]
    assert [(r["clip"], r["reason"].split(",")[0]) for r in placed] == [
        ("s1_po_01", "apex placed: frame 701844"), ("s2_sur_01", "apex placed: frame 90870")]


def test_every_bad_smic_clip_and_apex_sheet_row_is_skipped_with_its_reason_and_non_micro_is_not_read(smic_manual):
    parsed, _ = parse(smic_manual, "hs_cropped_224")
    assert reasons(parsed.skipped) == [
        ("02", "s2_01", None, "clip name not s<subject>_<ne|po|sur>_<number>"),
        ("02", "s2_ne_01", None, "no frames"),
        ("02", "s2_po_01", 4, "annotated frames not on disk"),     # the apex sheet puts apex and offset past it
        ("03", "s3_ne_03", 5, "clip not on disk"),
    ]
    outside = [s for s in parsed.skipped if s["clip"] == "s2_po_01"][0]
    assert "[76525, 76530]" in outside["reason"] and "apex sheet row 4" in outside["reason"]
    assert not any(n in json.dumps(parsed.skipped + [c.clip_id for c in parsed.clips]) for n in ("s2_n1", "s7"))


def test_the_apex_sheet_as_shared_in_csv_gives_the_same_clips_as_its_xlsx_copy(smic_manual, tmp_path):
    csv_manual = smic_fixtures.smic_copy(tmp_path / "manual", apex="smic_apex.csv")
    from_csv, sources = parse(csv_manual, "hs_cropped_224")
    from_xlsx, _ = parse(smic_manual, "hs_cropped_224")
    assert annotated(from_csv) == annotated(from_xlsx)
    assert reasons(from_csv.skipped) == reasons(from_xlsx.skipped)
    assert sources["sheets"] == [str(csv_manual / "smic_apex.csv")]


def test_subject_codes_agree_across_the_tree_the_extended_folders_and_the_apex_sheet():
    assert {smic.subject_of(v) for v in ("s1", "s01", "S1", 1, "1", 1.0, "01")} == {"01"}
    assert smic.subject_of("s20") == smic.subject_of(20) == "20"
    assert smic.subject_of("subject1") is None and smic.subject_of("HS") is None
    assert smic.name_emotion("18", "s18_sur_03") == ("surprise", None)
    assert smic.name_emotion("01", "s2_ne_01")[1].startswith("clip name's subject differs")


def test_the_placed_apex_is_the_frame_on_disk_nearest_the_middle_and_the_earlier_of_two():
    assert smic.placed_apex([10, 11, 12, 13, 14], 10, 14) == 12
    assert smic.placed_apex([10, 11, 12, 13], 10, 13) == 11            # 11.5: rounded down
    assert smic.placed_apex([1, 2, 4, 5], 1, 5) == 2                   # the middle frame 3 is missing
    assert smic.placed_apex([1, 2, 3, 9, 10], 1, 10) == 3              # nearest to 5.5 on disk


def test_vis_and_nir_read_no_hs_apex_sheet_and_place_every_apex(smic_manual):
    for sub in ("vis", "nir"):
        parsed, sources = parse(smic_manual, f"{sub}_cropped_128")
        assert {k: v[:4] for k, v in annotated(parsed).items()} == {
            ("11/s11_ne_01", 8160): ("negative", 8160, 8162, 8165),
            ("11/s11_po_01", 19980): ("positive", 19980, 19982, 19985)}
        assert sources["sheets"] == [] and sources["repaired_by_reason"] == {"apex placed": 2}
        assert parsed.skipped == []


def test_smic_e_gives_a_record_per_expression_with_frames_up_to_the_subjects_other_expressions(smic_e_manual):
    parsed, sources = parse(smic_e_manual, "hs_e_dlib_224")
    assert annotated(parsed) == {
        ("01/s1_ne_01", 559740): ("negative", 559740, 559742, 559744, list(range(559736, 559749))),
        ("20/s20_ne_06", 17668812): ("negative", 17668812, 17668814, 17668816, list(range(17668810, 17668822))),
        ("20/s20_ne_06", 17668822): ("negative", 17668822, 17668824, 17668826, list(range(17668817, 17668831))),
        ("18/s18_sur_03", 1695782): ("negative", 1695782, 1695784, 1695786, list(range(1695780, 1695791))),
        ("03/s3_ne_02", 302330): ("negative", 302330, 302332, 302334, list(range(302325, 302336))),
    }
    assert sources["sheets"] == [str(smic_e_manual / "SMIC-HS-E_annotation.xlsx"),
                                 str(smic_e_manual / "smic_apex.xlsx")]
    assert sources["frames_root"].endswith(os.path.join("SMIC-E_raw image", "HS_long", "SMIC-HS-E"))
    assert sources["repaired_by_reason"] == {"apex placed": 4, "emotion differs from clip name": 1}
    note = [r for r in sources["repaired_rows"] if r["reason"].startswith("emotion differs")][0]
    assert (note["clip"], note["row"]) == ("s18_sur_03", 4) and "surprise by its name" in note["reason"]


def test_smic_e_rows_and_folders_that_cannot_be_used_are_skipped_with_their_reasons(smic_e_manual):
    parsed, _ = parse(smic_e_manual, "hs_e_dlib_224")
    assert reasons(parsed.skipped) == [
        ("01", "s1_po_05", None, "not in the annotation sheet HS"),
        ("03", "s3_ne_03", 6, "clip folder missing"),
        ("03", "s3_ne_20", 7, "clip folder missing"),     # its FirstF cell reads 'MISSING <-426679'
        ("09", "s9_sur_01", 8, "frames out of order"),
    ]


def test_smic_e_vis_reads_the_workbooks_vis_sheet_and_keeps_the_whole_folder(smic_e_manual):
    parsed, sources = parse(smic_e_manual, "vis_e_dlib_128")
    assert annotated(parsed) == {("11/s11_ne_01", 8160): ("negative", 8160, 8162, 8165, list(range(8150, 8171)))}
    assert sources["sheets"] == [str(smic_e_manual / "SMIC-HS-E_annotation.xlsx")]


def test_smic_e_nir_reads_its_own_workbook_with_the_apex_it_gives_and_frames_under_a_camera_folder(smic_e_manual):
    parsed, sources = parse(smic_e_manual, "nir_e_dlib_128")
    assert annotated(parsed) == {("11/s11_ne_01", 8160): ("negative", 8160, 8163, 8165, list(range(8150, 8171)))}
    assert sources["sheets"] == [str(smic_e_manual / "SMIC-E_raw image" / "NIR_long" / "SMIC-NIR-E_annotation.xlsx")]
    assert sources["repaired"] == 0 and parsed.skipped == []      # 'ApexF NIR' gives the apex: none placed
    assert parsed.clips[0].source.endswith(os.path.join("SMIC-NIR-E", "NIR", "s11", "s11_ne_01"))


def test_a_workbooks_own_apex_is_kept_over_an_apex_sheet_row_and_the_row_is_noted(smic_e_manual, tmp_path):
    nir = smic_e_manual / "SMIC-E_raw image" / "NIR_long"
    apex = smic_fixtures.apex_sheet(tmp_path / "smic_apex.csv", [(11, "s11_ne_01", 0, 8160, 8162, 8165)])
    parsed = smic.parse_extended(str(nir / "SMIC-NIR-E"), str(nir / "SMIC-NIR-E_annotation.xlsx"), "NIR", apex)
    assert [c.apex for c in parsed.clips] == [8163]
    assert [r["reason"] for r in parsed.repaired] == [
        "apex sheet row not used: the workbook's apex 8163 (row 2) kept over row 2's 8162"]


def test_an_apex_sheet_row_matching_no_smic_e_expression_is_skipped(smic_e_manual, tmp_path):
    manual = smic_fixtures.smic_e_copy(tmp_path / "manual", apex=None)
    smic_fixtures.apex_sheet(manual / "smic_apex.csv", [(1, "s1_ne_01", 0, 559741, 559742, 559744),
                                                        (3, "s3_ne_02", 0, 302330, 302340, 302334)])
    parsed, _ = parse(manual, "hs_e_dlib_224")
    assert ("01", "s1_ne_01", 2, "apex sheet row matches no annotated expression") in reasons(parsed.skipped)
    past = [s for s in parsed.skipped if s["clip"] == "s3_ne_02"]   # an apex past the offset: row 5's clip is lost
    assert [(s["row"], s["reason"]) for s in past] == [
        (5, "frames out of order: onset 302330, apex 302340, offset 302334 (apex sheet row 3)")]
    assert annotated(parsed)["01/s1_ne_01", 559740][2] == 559742                      # placed, as without a row


def test_a_clip_name_whose_code_disagrees_with_its_emotion_folder_keeps_the_folder_and_is_noted(tmp_path):
    rng = np.random.default_rng(0)
    smic_fixtures.write_frames(smic_fixtures.tree_folder(tmp_path, "HS", 18, "negative", "s18_sur_03"),
                               range(1695782, 1695787), rng)
    parsed = smic.parse_tree(str(tmp_path / "HS"))
    assert [c.emotion for c in parsed.clips] == ["negative"]
    assert reasons(parsed.repaired) == [("18", "s18_sur_03", None, "apex placed"),
                                        ("18", "s18_sur_03", None, "emotion differs from clip name")]


def test_smic_frame_names_number_frames_by_the_recordings_frame_numbers(tmp_path):
    rng = np.random.default_rng(0)
    smic_fixtures.write_frames(tmp_path / "bmp", (34208, 34209, 100000), rng)
    smic_fixtures.write_frames(tmp_path / "jpg", (9999999, 17581039), rng, prefix="image", ext="jpg")
    assert [n for n, _ in frames.list_frames(str(tmp_path / "bmp"))] == [34208, 34209, 100000]
    assert os.path.basename(frames.list_frames(str(tmp_path / "bmp"))[0][1]) == "reg_image034208.bmp"
    assert [n for n, _ in frames.list_frames(str(tmp_path / "jpg"))] == [9999999, 17581039]
    assert frames.read_clip([p for _, p in frames.list_frames(str(tmp_path / "bmp"))], SIZE).shape == (3, SIZE,
                                                                                                        SIZE, 3)


def test_missing_or_unusable_smic_files_are_one_line_errors_naming_the_file(smic_manual, smic_e_manual, tmp_path):
    with pytest.raises(FileNotFoundError, match=r"no frames folder \(SMIC_all_cropped/HS") as error:
        parse(tmp_path, "hs_cropped_224")
    assert "SMIC_all_cropped/HS/s1/micro/negative/s1_ne_01" in str(error.value)   # the instructions follow
    with pytest.raises(FileNotFoundError, match="whole frames .SMIC_all_raw. for the face-crop config"):
        parse(smic_manual / "SMIC_all_raw", "hs_cropped_224")

    manual = smic_fixtures.smic_e_copy(tmp_path / "e", apex=None)
    os.remove(manual / "SMIC-HS-E_annotation.xlsx")
    with pytest.raises(FileNotFoundError, match="no SMIC-E annotation workbook"):
        parse(manual, "hs_e_dlib_224")
    smic_fixtures.extended_workbook(manual / "SMIC-HS-E_annotation.xlsx", {"HS": []})
    with pytest.raises(AnnotationError, match=r"SMIC-HS-E_annotation.xlsx: no sheet 'VIS' \(its sheets: HS, Sheet2"):
        parse(manual, "vis_e_dlib_224")

    bad_apex = smic_fixtures.smic_copy(tmp_path / "a", apex=None)
    (bad_apex / "smic_apex.csv").write_text("subject,clip,onset,apex,offset\n1,s1_ne_01,559740,559742,559744\n")
    with pytest.raises(AnnotationError, match=r"smic_apex.csv: no header row with the SMIC apex sheet columns"):
        parse(bad_apex, "hs_cropped_224")


def resized(path):
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB").resize((SIZE, SIZE), Image.BILINEAR, reducing_gap=3.0))


def test_a_built_smic_hs_dataset_reads_back_its_frames_and_keeps_skips_and_repairs_in_its_summary(
        smic_manual, tmp_path, monkeypatch):
    monkeypatch.setattr(CONFIGS["hs_cropped_128"], "frame_size", SIZE)
    builder = tfds.builder("smic/hs_cropped_128", data_dir=str(tmp_path / "tfds"))
    builder.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=str(smic_manual)))
    clips = {ex["clip_id"].decode(): ex for ex in tfds.as_numpy(builder.as_dataset(split="train"))}
    assert sorted(clips) == ["01/s1_ne_01", "01/s1_po_01", "01/s1_sur_01", "02/s2_sur_01"]
    clip = clips["01/s1_po_01"]
    assert (clip["subject"].decode(), clip["onset"], clip["apex"], clip["offset"]) == ("01", 701843, 701844, 701847)
    assert builder.info.features["emotion"].names == ["negative", "positive", "surprise"]
    assert builder.info.features["emotion"].int2str(clip["emotion"]) == "positive"
    folder = smic_manual / "SMIC_all_cropped" / "HS" / "s1" / "micro" / "positive" / "s1_po_01"
    sources = np.stack([resized(folder / f"reg_image{n}.bmp") for n in clip["frame_numbers"]]).astype(float)
    for i, frame in enumerate(clip["frames"].astype(float)):
        distance = np.abs(sources - frame).mean(axis=(1, 2, 3))
        assert np.argmin(distance) == i and distance[i] < 5.0   # its own frame, up to JPEG re-encoding

    summary = json.load(open(os.path.join(builder.data_dir, "build_summary.json")))
    assert (summary["clips"], summary["skipped"], summary["repaired"]) == (4, 4, 3)
    assert summary["skipped_by_reason"] == {"annotated frames not on disk": 1, "clip not on disk": 1,
                                            "clip name not s<subject>_<ne|po|sur>_<number>": 1, "no frames": 1}
    assert summary["repaired_by_reason"] == {"apex placed": 2, "apex sheet label differs": 1}
    assert summary["sheets"] == [str(smic_manual / "smic_apex.xlsx")]
