"""Spotting runs end to end on the tiny synthetic long videos: metrics beside both baselines, decoder
settings that the test subject cannot move, resumption, leave-one-subject-out pooling, config errors."""

import dataclasses
import json
import os

import numpy as np
import pytest
import tensorflow_datasets as tfds

import data_builders  # noqa: F401  Registers the builders.
from configs.spotting import base as spotting_configs
from configs.spotting import synthetic as synthetic_spotting
from meint_jax import tasks
from meint_jax.common.errors import ConfigError
from meint_jax.data.long import pipeline as long_pipeline
from meint_jax.data.long.videos import Interval
from meint_jax.tasks.spotting import baselines
from meint_jax.tasks.spotting import evaluate as spotting_protocol


@pytest.fixture(scope="module")
def data_dir(long_data_dir):
    return long_data_dir


def tiny(data_dir, **changes):
    config = synthetic_spotting.get_config("size=tiny")
    config.data.data_dir = data_dir
    for key, value in changes.items():
        section, name = key.split(".")
        config[section][name] = value
    return config


def test_a_tiny_spotting_run_reports_the_model_beside_both_baselines_and_draws_timelines(tiny_spotting_run,
                                                                                       tmp_path):
    import shutil

    trained, data_dir = tiny_spotting_run
    workdir = str(tmp_path / "run")
    shutil.copytree(trained, workdir)           # a copy: the shared run stays as it is
    saved = json.load(open(os.path.join(workdir, "metrics.json")))
    assert saved["task"] == "spotting" and saved["train_steps"] == 6
    for name in ("model", "motion", "chance"):
        for kind in ("micro", "macro", "overall"):
            assert 0.0 <= saved[name][kind]["f1"] <= 1.0
    # The counts behind the model's F1 add up: TP + FN is every annotated interval of the test videos.
    truth = sum(len(v["truth"][k]) for v in saved["per_video"] for k in ("micro", "macro"))
    counts = saved["model"]["counts"]
    assert sum(counts[k][0] + counts[k][2] for k in ("micro", "macro")) == truth
    assert set(saved["model"]["decoders"]) == {"micro", "macro"}
    assert saved["test_subjects"] and not set(saved["test_subjects"]) & set(saved["validation_subjects"])
    assert os.path.getsize(os.path.join(workdir, "timelines.png")) > 1000
    # Spot-then-recognise beside its baselines: the matched label pairs are the spotting TPs, STRS = F1 x F1_a.
    assert saved["classes"] == ["negative", "positive", "surprise"]
    for rec in [saved[name]["recognition"] for name in ("model", "model_neutral_dropped", "majority")] + [
            saved["class_prior"]["recognition_per_run"][0], saved["chance"]["recognition_per_run"][0]]:
        assert len(rec["label_pairs"]["micro"]) == rec["counts"]["micro"][0]
        assert rec["micro"]["strs"] == pytest.approx(rec["micro"]["f1_spot"] * rec["micro"]["f1_analysis"])
    assert saved["model"]["recognition"]["micro"]["f1_spot"] == pytest.approx(saved["model"]["micro"]["f1"])
    assert saved["majority"]["recognition"]["counts"] == saved["model"]["recognition"]["counts"]
    assert saved["class_prior"]["runs"] == len(saved["class_prior"]["recognition_per_run"]) == 3
    assert 0.0 <= saved["chance"]["recognition"]["micro"]["strs"] <= 1.0
    emotions = [i["emotion"] for v in saved["per_video"] for i in v["intervals"]]
    assert emotions and set(emotions) <= set(saved["classes"])
    # Started again: resumed from the last checkpoint, nothing retrained, the same figures.
    again = tasks.train_and_evaluate(tiny(data_dir), workdir)
    assert again["model"] == saved["model"] and again["train_seconds_this_run"] < 5.0
    assert "resumed from" in open(os.path.join(workdir, "train.log")).read()


def test_the_decoder_settings_of_a_fold_do_not_move_when_only_its_test_subjects_labels_change(data_dir):
    builder = tfds.builder("synthetic_long/tiny", data_dir=data_dir)
    videos = long_pipeline.load_videos(builder)
    config = tiny(data_dir)

    def predict(features):     # an unlearned stand-in for a model: how far the regions moved in the window
        moved = np.abs(features).mean(axis=-1, keepdims=True)
        return np.concatenate([moved, moved], axis=-1) / (moved.max() + 1e-6)

    fit, validation, test = ["s01"], ["s02"], ["s03"]
    results, _ = spotting_protocol.evaluate(config, videos, predict, fit, validation, test)
    relabelled = []
    for stored in videos:
        if stored.video.subject in test:      # every test interval moved and re-typed
            moved = tuple(Interval(i.onset + 3, i.onset + 4, i.offset + 5, "macro" if i.kind == "micro" else "micro")
                          for i in stored.video.intervals if i.offset + 5 <= stored.video.frame_numbers[-1])
            stored = dataclasses.replace(stored, video=dataclasses.replace(stored.video, intervals=moved))
        relabelled.append(stored)
    again, _ = spotting_protocol.evaluate(config, relabelled, predict, fit, validation, test)
    for name in ("model", "motion"):
        assert again[name]["decoders"] == results[name]["decoders"]
    assert again["model"]["counts"] != results["model"]["counts"]      # the test labels did count


def test_the_chance_spotter_scores_near_zero_on_videos_with_rare_short_expressions():
    rng = np.random.default_rng(0)
    truths = [(1000 * k + 500, 1000 * k + 509) for k in range(10)]     # ten 10-frame MEs in 10,000 frames
    tp = fp = fn = 0
    from meint_jax.metrics.megc import match_intervals
    for _ in range(50):
        guess = baselines.chance_intervals(10000, 10 / 10000, 10, rng)
        a, b, c = match_intervals(truths, guess)
        tp, fp, fn = tp + a, fp + b, fn + c
    assert 2 * tp / (2 * tp + fp + fn) < 0.05


def test_a_spotting_config_without_validation_subjects_is_refused(data_dir, tmp_path):
    with pytest.raises(ConfigError, match="validation_subjects"):
        tasks.train_and_evaluate(tiny(data_dir, **{"eval.validation_subjects": 0}), str(tmp_path / "run"))
    with pytest.raises(ConfigError, match="target_shape"):
        tasks.train_and_evaluate(tiny(data_dir, **{"data.target_shape": "square"}), str(tmp_path / "run"))


@pytest.mark.slow
def test_leave_one_subject_out_pools_the_counts_of_every_fold(data_dir, tmp_path):
    workdir = str(tmp_path / "loso")
    config = tiny(data_dir, **{"eval.protocol": "loso", "eval.validation_subjects": 1})
    results = tasks.train_and_evaluate(config, workdir)
    assert results["folds_done"] == ["s01", "s02", "s03"] and not results["folds_missing"]
    folds = [json.load(open(os.path.join(workdir, f"fold_{s}", "metrics.json"))) for s in ("s01", "s02", "s03")]
    for kind in ("micro", "macro"):
        summed = np.sum([f["model"]["counts"][kind] for f in folds], axis=0).tolist()
        assert results["model"]["counts"][kind] == summed
        pairs = [p for f in folds for p in f["model"]["recognition"]["label_pairs"][kind]]
        assert results["model"]["recognition"]["label_pairs"][kind] == pairs
    assert json.load(open(os.path.join(workdir, "results.json")))["model"] == results["model"]


@pytest.mark.parametrize("module", ["casme3", "samm_lv", "casme_sq", "synthetic"])
@pytest.mark.parametrize("variant", spotting_configs.VARIANTS)
def test_every_spotting_config_and_variant_passes_the_checks_and_builds_its_model(module, variant):
    import importlib

    import jax

    from meint_jax.training import config_checks

    config = importlib.import_module(f"configs.spotting.{module}").get_config(f"variant={variant}")
    config_checks.check_spotting_config(config)
    assert config.variant == variant and config.task == "spotting"
    model = tasks.create_model(config)
    shapes = jax.eval_shape(lambda: model.init(jax.random.PRNGKey(0), np.zeros((1, config.data.window, 36),
                                                                                np.float32)))
    assert shapes["params"]["head"]["kernel"].shape[-1] == 2


def test_the_samm_lv_config_spots_on_every_seventh_frame_but_counts_in_frame_numbers(data_dir):
    from configs.spotting import samm_lv as samm_lv_spotting

    config = samm_lv_spotting.get_config()
    assert config.data.frame_step == 7 and config.data.window == 30
    builder = tfds.builder("synthetic_long/tiny", data_dir=data_dir)
    stored = long_pipeline.load_videos(builder)[0]
    numbers = spotting_protocol.grid_numbers(stored, 7)
    np.testing.assert_array_equal(numbers, stored.video.frame_numbers[::7])     # original numbering kept


@pytest.mark.slow
def test_paper_001s_resnet18_plugs_in_on_face_frames(data_dir, tmp_path):
    tfds.builder("synthetic_long/tiny_frames", data_dir=data_dir).download_and_prepare()
    config = synthetic_spotting.get_config("size=tiny,inputs=frames")
    config.data.data_dir = data_dir
    config.train.num_steps = 2
    config.train.warmup_steps = 1
    config.train.checkpoint_every = 2
    summary = tasks.train_and_evaluate(config, str(tmp_path / "frames"))
    assert summary["train_steps"] == 2 and 0.0 <= summary["model"]["overall"]["f1"] <= 1.0
    with pytest.raises(ConfigError, match="frames_"):
        tasks.train_and_evaluate(tiny(data_dir, **{"model.inputs": "frames"}), str(tmp_path / "flow_only"))


def test_a_resumed_run_scales_each_window_as_an_uninterrupted_one():
    """The feature augmentation draws from (seed, step): a run resumed at step 2 scales steps 2 and 3 as the
    run that never stopped did, one factor per window within U(1 - s, 1 + s)."""
    from meint_jax.tasks.spotting import train as spotting_train

    config = synthetic_spotting.get_config("size=tiny")
    batches = lambda steps: ({"features": np.ones((3, 4, 36), np.float32)} for _ in range(steps))
    whole = [b["features"] for b in spotting_train._augmented(batches(4), config, 0)]
    resumed = [b["features"] for b in spotting_train._augmented(batches(2), config, 2)]
    np.testing.assert_array_equal(np.stack(whole[2:]), np.stack(resumed))
    factors = np.stack(whole)[..., 0, 0]                      # [steps, windows]
    assert np.all(np.abs(factors - 1.0) <= config.data.feature_scale) and len(np.unique(factors)) == 12
    assert np.all(np.stack(whole) == factors[..., None, None])
