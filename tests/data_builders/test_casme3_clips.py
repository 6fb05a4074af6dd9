"""casme3_clips on a generated copy of CAS(ME)^3 part A as distributed (`casme3_clip_fixtures`): micro-expressions
trimmed from the long videos read back as written, every one that is no clip skipped with its reason, dlib crops
of the whole frames, the seven native classes and the field's three and four."""

import json
import os
import shutil

import numpy as np
import pytest
import tensorflow_datasets as tfds

from data_builders.casme3_clips import casme3_clips_dataset_builder as casme3_clips
from meint_jax.data import emotion_classes, faces, frames
from meint_jax.testing import casme3_clip_fixtures as fixture

SIZE = 32
LABELS = os.path.join("annotation", "cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx")
COLOR_A = os.path.join("part_A", "data", "part_A", "spNO.1", "a", "color")


def parse(manual):
    return casme3_clips.Builder.parse_manual(manual, casme3_clips.Builder.BUILDER_CONFIGS[0])


def as_expected(clip_id, numbers, onset, apex, offset, emotion, action_units):
    return clip_id, ([int(n) for n in numbers], int(onset), int(apex), int(offset), emotion, action_units)


def test_casme3_clips_are_the_micro_expressions_trimmed_onset_to_offset_in_the_videos_frame_numbers(tmp_path):
    manual = fixture.casme3_clips(tmp_path)
    parsed, sources = parse(manual)
    assert dict(as_expected(c.clip_id, c.frame_numbers, c.onset, c.apex, c.offset, c.emotion, c.action_units)
                for c in parsed.clips) == fixture.EXPECTED
    gap = [c for c in parsed.clips if c.clip_id == "spNO.1/a@11"][0]          # frames 12 and 13 are not on disk
    assert list(gap.frame_paths) == [os.path.join(manual, COLOR_A, f"{n}.jpg") for n in (11, 14, 15, 16)]
    assert {c.subject for c in parsed.clips} == {"spNO.1", "spNO.2"}
    assert sources["macro_expressions_left_out"] == fixture.MACRO_LEFT_OUT
    assert sources["sheets"] == [os.path.join(manual, "annotation", "CAS(ME)3_part_A_v2.xls"),
                                 os.path.join(manual, LABELS)]
    assert sources["frames_root"] == os.path.join(manual, "part_A", "data", "part_A")


def test_every_micro_expression_that_is_no_clip_is_skipped_with_its_reason(tmp_path):
    parsed, _ = parse(fixture.casme3_clips(tmp_path))
    ambiguous_id, count = fixture.AMBIGUOUS
    assert {s["clip"]: s["reason"].split(":")[0] for s in parsed.skipped if s["clip"] != ambiguous_id} \
        == fixture.SKIPPED
    ambiguous = sorted(s["reason"] for s in parsed.skipped if s["clip"] == ambiguous_id)
    assert len(ambiguous) == count and all(r.startswith("ambiguous onset: 2 micro-expressions") for r in ambiguous)
    assert ["ends at 18" in ambiguous[0], "ends at 19" in ambiguous[1]] == [True, True]   # each one named
    assert len(parsed.skipped) == len(fixture.SKIPPED) + count
    missing = [s["reason"] for s in parsed.skipped if s["clip"] == "spNO.1/a@13"][0]
    assert missing.endswith(f"[13] in {os.path.join(tmp_path, 'casme3', COLOR_A)}")


def test_casme3_clips_build_from_dlib_crops_of_the_whole_frames_and_read_back(tmp_path, monkeypatch):
    config = [c for c in casme3_clips.Builder.BUILDER_CONFIGS if c.name == "dlib_128"][0]
    monkeypatch.setattr(config, "frame_size", SIZE)
    manual = fixture.casme3_clips(tmp_path)
    builder = tfds.builder("casme3_clips/dlib_128", data_dir=str(tmp_path / "tfds"))
    builder.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=manual))
    names = builder.info.features["emotion"].names
    assert names == list(casme3_clips.EMOTIONS)
    clips = {ex["clip_id"].decode(): ex for ex in tfds.as_numpy(builder.as_dataset(split="train"))}
    assert dict(as_expected(k, ex["frame_numbers"], ex["onset"], ex["apex"], ex["offset"], names[ex["emotion"]],
                            ex["action_units"].decode()) for k, ex in clips.items()) == fixture.EXPECTED
    assert all(ex["subject"].decode() == k.split("/")[0] for k, ex in clips.items())

    # Every clip found its face (none skipped for it); the frames are the video's, cropped to the onset's box.
    clip = clips["spNO.1/a@11"]
    paths = [os.path.join(manual, COLOR_A, f"{n}.jpg") for n in (11, 14, 15, 16)]
    box = faces.clip_box(paths[0])
    assert abs((box[0] + box[2]) / 2 - 160) < 20 and abs((box[1] + box[3]) / 2 - 104) < 25   # the drawn face
    assert clip["frames"].shape == (4, SIZE, SIZE, 3)
    assert np.abs(clip["frames"].astype(float) - frames.read_clip(paths, SIZE, box)).mean() < 5.0

    with open(os.path.join(builder.data_dir, "build_summary.json")) as f:
        summary = json.load(f)
    assert summary["clips"] == len(fixture.EXPECTED) and "no face found" not in summary["skipped_by_reason"]
    ambiguous_id, count = fixture.AMBIGUOUS
    by_reason = {}
    for reason in list(fixture.SKIPPED.values()) + ["ambiguous onset"] * count:
        by_reason[reason] = by_reason.get(reason, 0) + 1
    assert summary["skipped_by_reason"] == dict(sorted(by_reason.items()))
    assert summary["macro_expressions_left_out"] == fixture.MACRO_LEFT_OUT and summary["source_fingerprint"]


@pytest.mark.parametrize("native, three", [("anger", "negative"), ("disgust", "negative"), ("fear", "negative"),
                                           ("happiness", "positive"), ("sadness", "negative"),
                                           ("surprise", "surprise"), ("others", "others")])
def test_each_native_class_is_its_own_label_and_maps_to_one_of_the_fields_three_or_others(native, three):
    assert native in casme3_clips.EMOTIONS
    assert emotion_classes.label(native, "native") == native
    assert emotion_classes.label(native, "three") == three


def test_the_label_sets_give_the_fields_three_casme3s_four_and_the_seven_native_classes():
    natives = casme3_clips.EMOTIONS
    assert emotion_classes.classes("three", "exclude", natives) == ("negative", "positive", "surprise")
    assert emotion_classes.classes("three", "class", natives) == ("negative", "positive", "surprise", "others")
    assert emotion_classes.classes("native", "class", natives) == tuple(sorted(natives))
    assert len(emotion_classes.classes("native", "class", natives)) == 7


def test_a_copy_without_its_me_label_workbook_is_refused_with_the_instructions(tmp_path):
    manual = fixture.casme3_clips(tmp_path)
    os.remove(os.path.join(manual, LABELS))
    with pytest.raises(FileNotFoundError) as error:
        parse(manual)
    first, instructions = str(error.value).split("\n", 1)
    assert first.startswith(f"{os.path.join(manual, 'annotation')}: no ME label workbook")
    assert "part_A/data/part_A/spNO.1/a/color/0.jpg" in instructions


def test_a_copy_without_its_frames_names_the_folders_looked_for(tmp_path):
    manual = fixture.casme3_clips(tmp_path)
    shutil.rmtree(os.path.join(manual, "part_A"))
    with pytest.raises(FileNotFoundError, match=r"no frames folder \(part_A/data/part_A/\) \(part_A/data/part_A or"):
        parse(manual)
