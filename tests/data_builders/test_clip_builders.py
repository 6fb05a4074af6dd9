"""CASME II and SAMM builders on generated fixture copies of the real layouts (no real data)."""

import json
import os

import numpy as np
import pytest
import tensorflow_datasets as tfds
from PIL import Image

import data_builders  # noqa: F401  Registers the builders.
from meint_jax import tasks
from meint_jax.testing.fixtures import casme2_sheet, samm_sheet, write_jpeg

SIZE = 32


def resized(path):
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB").resize((SIZE, SIZE), Image.BILINEAR, reducing_gap=3.0))


@pytest.fixture
def casme2_manual(tmp_path):
    """CASME II as distributed: coding sheet + Cropped/subXX/EPxx/reg_imgN.jpg."""
    rng = np.random.default_rng(0)
    manual = tmp_path / "manual"
    for subject, clip, numbers in (("01", "EP02_01f", range(8, 14)), ("02", "EP03_02", range(98, 104)),
                                   ("02", "EP05_04", range(1, 6))):
        for n in numbers:
            write_jpeg(str(manual / "Cropped" / f"sub{subject}" / clip / f"reg_img{n}.jpg"), rng)
    (manual / "Cropped" / "sub02" / "EP05_04" / "reg_img3.jpg").write_bytes(b"\xff\xd8 truncated")
    casme2_sheet(manual / "CASME2-coding-20140508.xlsx", [
        (1, "EP02_01f", 8, 10, 13, "12", "happiness"),
        (2, "EP03_02", 98, 101, 103, "4+7", "disgust"),
        (2, "EP05_04", 1, 3, 5, "14", "repression"),     # its reg_img3.jpg is corrupt
        (2, "EP03_02", 98, "/", 103, "4", "disgust"),    # missing apex
    ])
    return manual


def build(name, manual, data_dir):
    builder = tfds.builder(name, data_dir=str(data_dir))
    builder.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=str(manual)))
    return builder


def test_casme2_clips_read_back_with_summary_of_skips(casme2_manual, tmp_path, monkeypatch):
    from data_builders.casme2 import casme2_dataset_builder as casme2

    config = [c for c in casme2.Builder.BUILDER_CONFIGS if c.name == "cropped_128"][0]
    monkeypatch.setattr(config, "frame_size", SIZE)
    builder = build("casme2/cropped_128", casme2_manual, tmp_path / "tfds")
    clips = {ex["clip_id"].decode(): ex for ex in tfds.as_numpy(builder.as_dataset(split="train"))}
    assert sorted(clips) == ["01/EP02_01f", "02/EP03_02"]
    clip = clips["01/EP02_01f"]
    assert clip["subject"].decode() == "01"
    assert (clip["onset"], clip["apex"], clip["offset"]) == (8, 10, 13)
    np.testing.assert_array_equal(clip["frame_numbers"], np.arange(8, 14))
    emotion = builder.info.features["emotion"].int2str(clip["emotion"])
    assert emotion == "happiness" and clip["action_units"].decode() == "12"
    sources = np.stack([resized(casme2_manual / "Cropped" / "sub01" / "EP02_01f" / f"reg_img{n}.jpg")
                        for n in range(8, 14)]).astype(float)
    for i, frame in enumerate(clip["frames"].astype(float)):
        distance = np.abs(sources - frame).mean(axis=(1, 2, 3))
        assert np.argmin(distance) == i and distance[i] < 5.0   # its own frame, up to JPEG re-encoding

    summary = json.load(open(os.path.join(builder.data_dir, "build_summary.json")))
    assert summary["clips"] == 2 and summary["skipped"] == 2
    assert summary["skipped_by_reason"] == {"missing apex": 1, "unreadable frame": 1}
    corrupt = [s for s in summary["skipped_rows"] if s["reason"].startswith("unreadable frame")][0]
    assert "reg_img3.jpg" in corrupt["reason"]


def test_samm_builds_from_its_layout(tmp_path, monkeypatch):
    from data_builders.samm import samm_dataset_builder as samm

    config = [c for c in samm.Builder.BUILDER_CONFIGS if c.name == "whole_128"][0]
    monkeypatch.setattr(config, "frame_size", SIZE)
    rng = np.random.default_rng(1)
    manual = tmp_path / "manual"
    for n in range(5560, 5567):
        write_jpeg(str(manual / "SAMM" / "006" / "006_1_2" / f"006_{n:05d}.jpg"), rng)
    samm_sheet(manual / "SAMM_Micro_FACS_Codes_v2.xlsx", [("006", "006_1_2", 5561, 5563, 5566, "R12", "Happiness")])
    builder = build("samm/whole_128", manual, tmp_path / "tfds")
    (clip,) = list(tfds.as_numpy(builder.as_dataset(split="train")))
    assert clip["subject"].decode() == "006" and clip["clip_id"].decode() == "006/006_1_2"
    np.testing.assert_array_equal(clip["frame_numbers"], np.arange(5560, 5567))
    assert clip["frames"].shape == (7, SIZE, SIZE, 3)


def test_missing_manual_files_name_what_to_put_where(tmp_path):
    manual = tmp_path / "manual"
    manual.mkdir()
    with pytest.raises(AssertionError, match="CASME2-coding-20140508.xlsx"):   # empty: TFDS's own message
        build("casme2/cropped_128", manual, tmp_path / "tfds")
    write_jpeg(str(manual / "Cropped" / "sub01" / "EP01_01" / "reg_img1.jpg"), np.random.default_rng(0))
    with pytest.raises(FileNotFoundError, match="no coding sheet") as error:
        build("casme2/cropped_128", manual, tmp_path / "tfds")
    assert "CASME2-coding-20140508.xlsx" in str(error.value)
    assert not os.path.exists(tmp_path / "tfds" / "casme2" / "cropped_128" / "1.0.0")


def test_a_cropped_casme2_config_never_falls_back_to_whole_frames_and_a_doubly_unpacked_folder_is_entered(tmp_path):
    """Whole frames under a `cropped_*` name would be faces to no one; `X/X/` is an archive unpacked twice."""
    from data_builders import clip_builder

    manual = tmp_path / "manual"
    write_jpeg(str(manual / "CASME2_RAW_selected" / "CASME2_RAW_selected" / "sub01" / "EP01_01" / "img1.jpg"),
               np.random.default_rng(0))
    casme2_sheet(manual / "CASME2-coding-20140508.xlsx", [(1, "EP01_01", 1, 1, 1, "12", "happiness")])
    with pytest.raises(FileNotFoundError, match=r"no frames folder \(Cropped or \*/Cropped or Cropped_original"):
        build("casme2/cropped_128", manual, tmp_path / "tfds")
    assert clip_builder.unnested(str(manual / "CASME2_RAW_selected")) == str(
        manual / "CASME2_RAW_selected" / "CASME2_RAW_selected")
    (manual / "CASME2_RAW_selected" / "notes.txt").write_text("the outer folder holds more: it is the root")
    assert clip_builder.unnested(str(manual / "CASME2_RAW_selected")) == str(manual / "CASME2_RAW_selected")


def test_a_samm_folder_that_also_holds_the_long_video_workbook_builds_from_the_micro_sheet(tmp_path, monkeypatch):
    from data_builders.samm import samm_dataset_builder as samm

    config = [c for c in samm.Builder.BUILDER_CONFIGS if c.name == "whole_128"][0]
    monkeypatch.setattr(config, "frame_size", SIZE)
    manual = tmp_path / "manual"
    for n in range(5560, 5567):
        write_jpeg(str(manual / "SAMM" / "006" / "006_1_2" / f"006_{n:05d}.jpg"), np.random.default_rng(n))
    samm_sheet(manual / "SAMM_Micro_FACS_Codes_v2.xlsx", [("006", "006_1_2", 5561, 5563, 5566, "R12", "Happiness")])
    samm_sheet(manual / "SAMM_LongVideos_V3_Release.xlsx", [("006", "006_1_2", 5561, 5563, 5566, "R12", None)])
    builder = build("samm/whole_128", manual, tmp_path / "tfds")
    summary = json.load(open(os.path.join(builder.data_dir, "build_summary.json")))
    assert summary["sheets"] == [str(manual / "SAMM_Micro_FACS_Codes_v2.xlsx")] and summary["clips"] == 1


@pytest.mark.slow
def test_casme2_config_builds_on_first_use_and_trains(tmp_path, monkeypatch):
    """The user's path: configs/intensity/casme2.py with manual_dir set builds, trains and evaluates."""
    from configs.intensity import casme2 as casme2_config
    from data_builders.casme2 import casme2_dataset_builder as casme2

    config_128 = [c for c in casme2.Builder.BUILDER_CONFIGS if c.name == "cropped_128"][0]
    monkeypatch.setattr(config_128, "frame_size", SIZE)
    rng = np.random.default_rng(2)
    manual = tmp_path / "manual"
    rows = []
    for s in range(1, 4):
        for e in range(2):
            for n in range(1, 13):
                write_jpeg(str(manual / "Cropped" / f"sub{s:02d}" / f"EP0{e}_01" / f"reg_img{n}.jpg"), rng)
            rows.append((s, f"EP0{e}_01", 3, 5 + e, 10, "12", "happiness"))
    casme2_sheet(manual / "CASME2-coding-20140508.xlsx", rows)

    (tmp_path / "tfds").mkdir()
    config = casme2_config.get_config()
    config.data.update(name="casme2/cropped_128", data_dir=str(tmp_path / "tfds"), manual_dir=str(manual),
                       image_size=SIZE, num_steps=4)
    config.model.gru_features = 8
    config.train.update(batch_size=2, num_steps=2, log_every=1, checkpoint_every=2)
    config.eval.update(holdout_subjects=1, untrimmed_windows=2, plot_clips=1)
    summary = tasks.train_and_evaluate(config, str(tmp_path / "run"))
    assert summary["train_steps"] == 2 and summary["trimmed"]["model"]["num_clips"] == 2
    assert "true_spearman" not in summary["trimmed"]["model"]   # real data has no true intensity


@pytest.mark.slow
def test_samm_dlib_crop_uses_one_box_per_clip_and_skips_faceless_clips(tmp_path, monkeypatch):
    from data_builders.samm import samm_dataset_builder as samm
    from meint_jax.data import faces
    from meint_jax.data.clips import synthetic

    config = [c for c in samm.Builder.BUILDER_CONFIGS if c.name == "dlib_128"][0]
    monkeypatch.setattr(config, "frame_size", SIZE)
    clip = next(synthetic.generate(synthetic.GeneratorConfig(
        num_subjects=1, clips_per_subject=1, frame_size=224, min_frames=20, max_frames=22, min_me_frames=8,
        max_me_frames=10, min_neutral=4)))
    manual = tmp_path / "manual"
    folder = manual / "SAMM" / "006" / "006_1_2"
    folder.mkdir(parents=True)
    for i in range(6):  # the face in the middle of a wider frame, as SAMM records it
        canvas = np.full((320, 480, 3), 90, np.uint8)
        canvas[48:272, 128:352] = clip.frames[i]
        Image.fromarray(canvas).save(folder / f"006_{100 + i:05d}.jpg", quality=95)
    empty = manual / "SAMM" / "007" / "007_3_1"
    empty.mkdir(parents=True)
    for i in range(6):
        Image.fromarray(np.full((320, 480, 3), 90, np.uint8)).save(empty / f"007_{200 + i:05d}.jpg")
    samm_sheet(manual / "SAMM_Micro_FACS_Codes_v2.xlsx", [("006", "006_1_2", 101, 103, 105, "12", "Happiness"),
                                                          ("007", "007_3_1", 200, 202, 205, "4", "Anger")])
    builder = build("samm/dlib_128", manual, tmp_path / "tfds")
    (built,) = list(tfds.as_numpy(builder.as_dataset(split="train")))
    box = faces.clip_box(str(folder / "006_00101.jpg"))   # from the onset frame
    for i, frame in enumerate(built["frames"]):
        with Image.open(folder / f"006_{100 + i:05d}.jpg") as image:
            expected = np.asarray(image.convert("RGB").crop(box).resize((SIZE, SIZE), Image.BILINEAR, reducing_gap=3.0))
        assert np.abs(frame.astype(float) - expected).mean() < 5.0
    summary = json.load(open(os.path.join(builder.data_dir, "build_summary.json")))
    assert summary["skipped_by_reason"] == {"no face found": 1}
    assert "007_00200.jpg" in summary["skipped_rows"][0]["reason"]


def test_an_interrupted_build_leaves_nothing_and_a_rebuild_completes(casme2_manual, tmp_path, monkeypatch):
    from data_builders.casme2 import casme2_dataset_builder as casme2
    from meint_jax.data.clips import annotations

    config = [c for c in casme2.Builder.BUILDER_CONFIGS if c.name == "cropped_128"][0]
    monkeypatch.setattr(config, "frame_size", SIZE)

    def crash(*args):
        raise RuntimeError("power cut")

    with monkeypatch.context() as patch:   # dies after every clip was generated, before the summary
        patch.setattr(annotations, "summarize", crash)
        with pytest.raises(RuntimeError, match="power cut"):
            build("casme2/cropped_128", casme2_manual, tmp_path / "tfds")
    assert not tfds.builder("casme2/cropped_128", data_dir=str(tmp_path / "tfds")).is_prepared()
    builder = build("casme2/cropped_128", casme2_manual, tmp_path / "tfds")
    assert builder.info.splits["train"].num_examples == 2
    assert json.load(open(os.path.join(builder.data_dir, "build_summary.json")))["clips"] == 2
