"""The MEGC 2019 composite on generated copies of CASME II, SAMM and SMIC laid out as distributed: each part's
clips as its own builder reads them, relabelled to three classes, with subjects named by dataset; then the
challenge's leave-one-subject-out and leave-one-dataset-out runs end to end, on the copies and on the stand-in."""

import dataclasses
import json
import os

import numpy as np
import pytest
import tensorflow_datasets as tfds

from configs.recognition import megc2019 as megc2019_config
from data_builders.megc2019 import megc2019_dataset_builder as megc2019
from meint_jax import tasks
from meint_jax.testing import smic_fixtures
from meint_jax.testing.fixtures import casme2_sheet, samm_sheet, write_jpeg

SIZE = 32


def composite_copy(root) -> str:
    """CASME2/, SAMM/ and SMIC/ side by side, each a small copy of its dataset as distributed."""
    rng = np.random.default_rng(5)
    casme2 = (("01", "EP01_01", "happiness"), ("01", "EP02_02", "disgust"), ("02", "EP03_01", "surprise"),
              ("02", "EP04_01", "others"), ("03", "EP05_01", "repression"))
    for subject, clip, _ in casme2:
        for n in range(1, 7):
            write_jpeg(str(root / "CASME2" / "Cropped" / f"sub{subject}" / clip / f"reg_img{n}.jpg"), rng)
    casme2_sheet(root / "CASME2" / "CASME2-coding-20140508.xlsx",
                 [(int(s), c, 1, 3, 6, "12", e) for s, c, e in casme2])
    samm = (("006", "006_1_2", "Happiness"), ("006", "006_1_3", "Anger"), ("007", "007_2_1", "Surprise"),
            ("007", "007_2_2", "Other"), ("008", "008_3_1", "Contempt"))
    for subject, clip, _ in samm:
        for n in range(100, 106):
            write_jpeg(str(root / "SAMM" / "SAMM" / subject / clip / f"{subject}_{n:05d}.jpg"), rng)
    samm_sheet(root / "SAMM" / "SAMM_Micro_FACS_Codes_v2.xlsx", [(s, c, 100, 102, 105, "12", e) for s, c, e in samm])
    smic_fixtures.smic_copy(root / "SMIC", apex=None)
    return str(root)


# The copies' clips as the composite must hold them (SMIC's from the fixture's HS tree: smic_fixtures.smic_copy).
EXPECTED = {
    "casme2/01/EP01_01": ("casme2_01", "positive"), "casme2/01/EP02_02": ("casme2_01", "negative"),
    "casme2/02/EP03_01": ("casme2_02", "surprise"), "casme2/03/EP05_01": ("casme2_03", "negative"),
    "samm/006/006_1_2": ("samm_006", "positive"), "samm/006/006_1_3": ("samm_006", "negative"),
    "samm/007/007_2_1": ("samm_007", "surprise"), "samm/008/008_3_1": ("samm_008", "negative"),
    "smic/01/s1_ne_01": ("smic_01", "negative"), "smic/01/s1_po_01": ("smic_01", "positive"),
    "smic/01/s1_sur_01": ("smic_01", "surprise"), "smic/02/s2_sur_01": ("smic_02", "surprise"),
    "smic/02/s2_po_01": ("smic_02", "positive"),
}


@pytest.fixture
def small_parts(monkeypatch):
    """32-px frames, and SAMM's whole frames (the generated frames hold no face for dlib to crop)."""
    config = [c for c in megc2019.Builder.BUILDER_CONFIGS if c.name == "default_128"][0]
    monkeypatch.setattr(config, "frame_size", SIZE)
    parts = tuple(dataclasses.replace(p, config="whole_{size}") if p.name == "samm" else p for p in megc2019.PARTS)
    monkeypatch.setattr(megc2019, "PARTS", parts)


def build(name, manual, data_dir):
    builder = tfds.builder(name, data_dir=str(data_dir))
    builder.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=manual))
    return builder


def test_the_composite_holds_every_parts_clips_in_three_classes_with_subjects_named_by_their_dataset(
        tmp_path, small_parts):
    builder = build("megc2019/default_128", composite_copy(tmp_path / "manual"), tmp_path / "tfds")
    names = builder.info.features["emotion"].names
    assert names == ["negative", "positive", "surprise"]
    clips = {ex["clip_id"].decode(): (ex["subject"].decode(), names[ex["emotion"]])
             for ex in tfds.as_numpy(builder.as_dataset(split="train"))}
    assert clips == EXPECTED
    summary = json.load(open(os.path.join(builder.data_dir, "build_summary.json")))
    assert summary["parts"]["casme2"] == {"subjects": 3, "negative": 2, "positive": 1, "surprise": 1}
    assert summary["parts"]["samm"] == {"subjects": 3, "negative": 2, "positive": 1, "surprise": 1}
    assert summary["clips"] == len(EXPECTED)
    left_out = {s["clip"]: s["reason"] for s in summary["skipped_rows"]}
    assert left_out["casme2/02/EP04_01"] == "not one of the composite's three classes: 'others'"
    assert left_out["samm/007/007_2_2"] == "not one of the composite's three classes: 'other'"
    assert left_out["smic/s2_ne_01"].startswith("no frames") and left_out["smic/s2_01"].startswith("clip name not")
    assert {s["subject"] for s in summary["skipped_rows"]} == {"casme2_02", "samm_007", "smic_02"}
    assert summary["repaired_by_reason"] == {"apex placed": 5}     # SMIC gives no apex without the sheet
    assert len(summary["sheets"]) == 2 and len(summary["source_fingerprint"]) == 64


def test_a_composite_missing_a_part_names_the_folder_to_add(tmp_path, small_parts):
    manual = composite_copy(tmp_path / "manual")
    os.rename(os.path.join(manual, "SMIC"), os.path.join(manual, "elsewhere"))
    with pytest.raises(Exception, match=r"no smic folder \(SMIC or smic\)") as error:
        build("megc2019/default_128", manual, tmp_path / "tfds")
    assert "SMIC/" in str(error.value)     # the instructions say what goes where


def _tiny(config, data_dir, name, manual=None):
    os.makedirs(data_dir, exist_ok=True)
    config.data.update(name=name, data_dir=str(data_dir), manual_dir=manual, image_size=SIZE, num_steps=4)
    config.model.gru_features = 8
    config.train.update(batch_size=2, num_steps=1, log_every=1, checkpoint_every=1)
    return config


@pytest.mark.slow
def test_leave_one_dataset_out_and_leave_one_subject_out_run_end_to_end_on_the_composite(tmp_path, small_parts):
    manual = composite_copy(tmp_path / "manual")
    config = _tiny(megc2019_config.get_config("protocol=lodo"), tmp_path / "tfds", "megc2019/default_128", manual)
    results = tasks.train_and_evaluate(config, str(tmp_path / "lodo"))
    assert results["protocol"] == "lodo" and results["folds_done"] == ["casme2", "samm", "smic"]
    assert sorted(results["per_dataset"]) == ["casme2", "samm", "smic"]
    assert results["clips"] == len(EXPECTED)
    fold = json.load(open(tmp_path / "lodo" / "fold_samm" / "metrics.json"))
    assert fold["test_subjects"] == ["samm_006", "samm_007", "samm_008"]
    assert not any(s.startswith("samm") for s in fold["train_subjects"])
    assert {c["clip_id"] for c in fold["per_clip"]} == {c for c in EXPECTED if c.startswith("samm/")}

    config = _tiny(megc2019_config.get_config(), tmp_path / "tfds", "megc2019/default_128", manual)
    config.eval.folds = "samm_007"          # one fold of the challenge's LOSO over all 8 subjects
    results = tasks.train_and_evaluate(config, str(tmp_path / "loso"))
    assert results["protocol"] == "loso" and results["folds_done"] == ["samm_007"]
    assert len(results["folds_missing"]) == 7 and list(results["per_dataset"]) == ["samm"]


@pytest.mark.slow
def test_the_synthetic_stand_in_runs_leave_one_dataset_out_with_no_licensed_data(tmp_path):
    config = megc2019_config.get_config("data=synthetic_tiny,protocol=lodo")
    config.data.data_dir = str(tmp_path / "tfds")
    (tmp_path / "tfds").mkdir()
    config.train.update(num_steps=1, warmup_steps=0, checkpoint_every=1)
    first, *others = sorted(megc2019.STANDIN_PARTS)
    config.eval.folds = first            # one fold: the other test runs every fold of the real layout
    results = tasks.train_and_evaluate(config, str(tmp_path / "run"))
    assert results["folds_done"] == [first] and list(results["per_dataset"]) == [first]
    assert sorted(results["folds_missing"]) == others
    builder = tfds.builder("megc2019/synthetic_tiny", data_dir=str(tmp_path / "tfds"))
    assert "stand-in" in builder.builder_config.description
