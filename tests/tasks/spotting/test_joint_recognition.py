"""Spotting and recognition together (paper 002): class sets, per-frame emotion labels and their loss, an
interval's pooled emotion, the recognition baselines' freedom from the test fold, the `separate` ablation."""

import dataclasses
import json

import jax.numpy as jnp
import numpy as np
import pytest
import tensorflow_datasets as tfds

import data_builders  # noqa: F401  Registers the builders.
from configs.spotting import synthetic as synthetic_spotting
from meint_jax import paper_tables
from meint_jax.data import emotion_classes
from meint_jax.data.long import pipeline as long_pipeline
from meint_jax.data.long.videos import Interval
from meint_jax.metrics import recognition
from meint_jax.tasks.spotting import decoding, emotion_pooling
from meint_jax.tasks.spotting import evaluate as spotting_protocol
from meint_jax.tasks.spotting import train as spotting_run
from meint_jax.training import losses


def test_the_three_classes_leave_others_out_unless_asked_and_native_labels_come_from_training():
    assert emotion_classes.classes("three", "exclude") == ("negative", "positive", "surprise")
    assert emotion_classes.classes("three", "class") == ("negative", "positive", "surprise", "others")
    natives = ["Happiness", "disgust", "", "Other", "happy", "repression"]
    assert emotion_classes.classes("native", "exclude", natives) == ("disgust", "happiness", "repression")
    assert emotion_classes.classes("native", "class", natives) == ("disgust", "happiness", "others", "repression")
    assert emotion_classes.label("Contempt", "three") == "negative" and emotion_classes.label("", "three") == "others"
    with pytest.raises(ValueError, match="emotion labels"):
        emotion_classes.classes("seven", "exclude")


def test_frames_of_an_excluded_class_are_ignored_not_neutral():
    intervals = [Interval(10, 11, 12, "micro", "others", "others"),
                 Interval(20, 21, 22, "micro", "surprise", "surprise"),
                 Interval(30, 32, 34, "macro", "negative", "disgust")]
    positions = np.array([9, 10, 12, 13, 21, 30, 34, 35])
    three = long_pipeline.frame_emotions(positions, intervals, emotion_classes.THREE)
    np.testing.assert_array_equal(three, [3, -1, -1, 3, 2, 0, 0, 3])        # neutral = 3 = len(classes)
    native = long_pipeline.frame_emotions(positions, intervals, ("disgust", "others", "surprise"), "native")
    np.testing.assert_array_equal(native, [3, 1, 1, 3, 2, 0, 0, 3])


def test_the_emotion_loss_is_torchs_weighted_cross_entropy_with_unlabelled_frames_left_out():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(3, 7, 4)).astype(np.float32)
    labels = rng.integers(-1, 4, size=(3, 7)).astype(np.int32)
    mask = np.ones((3, 7), np.float32)
    mask[2, 5:] = 0.0                                       # padding of a short video
    weights = (1.0, 2.5, 0.7, 0.1)
    ours = float(losses.emotion_cross_entropy(jnp.asarray(logits), jnp.asarray(labels), jnp.asarray(mask), weights))
    kept = mask.reshape(-1) > 0
    reference = torch.nn.functional.cross_entropy(
        torch.from_numpy(logits.reshape(-1, 4)[kept]), torch.from_numpy(labels.reshape(-1)[kept]).long(),
        weight=torch.tensor(weights), ignore_index=-1)
    assert ours == pytest.approx(float(reference), rel=1e-5)


def test_an_intervals_emotion_is_its_frames_vote_and_neutral_can_win_it():
    p = np.array([[0.6, 0.1, 0.1, 0.2],     # votes negative
                  [0.1, 0.5, 0.1, 0.3],     # positive
                  [0.1, 0.5, 0.0, 0.4],     # positive
                  [0.2, 0.1, 0.1, 0.6]])    # neutral
    voted = emotion_pooling.pool(p, "vote")
    assert voted.index == 1 and voted.probability == pytest.approx(0.3) and not voted.neutral
    tie = emotion_pooling.pool(p[[0, 1]], "vote")            # one vote each: the higher mean wins (0.35 vs 0.30)
    assert tie.index == 0
    mostly_neutral = emotion_pooling.pool(p[[0, 3, 3]], "vote")
    assert mostly_neutral.index == 0 and mostly_neutral.neutral
    mean = emotion_pooling.pool(p, "mean")                   # means 0.25, 0.30, 0.075, 0.375: neutral highest
    assert mean.index == 1 and mean.neutral
    with pytest.raises(ValueError, match="pooling"):
        emotion_pooling.pool(p, "max")


def test_a_spotted_interval_takes_the_emotion_of_its_own_frames():
    scores = np.zeros((40, 2 + 3 + 1))
    scores[:, 5] = 1.0                                       # neutral everywhere ...
    scores[10:15, 0] = 1.0                                   # ... but a micro-expression at 10-14, surprise
    scores[10:15, 5], scores[10:15, 4] = 0.0, 1.0
    scores[25:30, 0] = 0.9                                   # and one at 25-29, negative
    scores[25:30, 5], scores[25:30, 2] = 0.0, 1.0
    stored = long_pipeline.StoredVideo(dataclasses.replace(_video(40), intervals=()), np.zeros((40, 36)))
    decoder = decoding.DecoderConfig(smooth=1, p=0.5, min_distance=3)
    found = spotting_protocol.spot_video(stored, scores, {"micro": decoder, "macro": decoder}, 1,
                                         ("negative", "positive", "surprise"))
    micro = sorted((i.onset, i.offset, i.emotion) for i in found if i.kind == "micro")
    assert micro == [(110, 114, "surprise"), (125, 129, "negative")]     # frame numbers start at 100


def test_on_a_seven_frame_grid_an_interval_spans_the_frames_its_rows_stand_for():
    scores = np.zeros((40, 2))
    scores[10:15, 0] = 1.0                                   # rows 10-14: frames 170-198 of a video from 100
    stored = long_pipeline.StoredVideo(dataclasses.replace(_video(280), intervals=()), np.zeros((280, 36)))
    decoder = decoding.DecoderConfig(smooth=1, p=0.5, min_distance=3)
    found = spotting_protocol.spot_video(stored, scores, {"micro": decoder, "macro": decoder}, 7)
    assert [(i.kind, i.onset, i.offset) for i in found] == [("micro", 167, 201)]
    assert (found[0].apex - 100) % 7 == 0                    # the apex is a scored frame


def _video(frames):
    from meint_jax.data.long.videos import LongVideo

    return LongVideo(video_id="v", subject="s", frame_numbers=np.arange(100, 100 + frames), fps=30.0)


def test_class_weights_balance_the_training_frames_and_neutral_takes_its_own():
    config = synthetic_spotting.get_config("size=tiny")
    config.data.emotion_classes = emotion_classes.THREE
    intervals = (Interval(100, 101, 102, "micro", "negative"), Interval(110, 112, 115, "micro", "negative"),
                 Interval(120, 121, 121, "micro", "positive"), Interval(130, 131, 131, "micro", "others"))
    stored = long_pipeline.StoredVideo(dataclasses.replace(_video(40), intervals=intervals), np.zeros((40, 36)))
    # 9 negative frames, 2 positive, none surprise (weight 1); others ignored. Mean count 5.5 over the two seen.
    weights = spotting_run.class_weights([stored], config)
    assert weights == pytest.approx((5.5 / 9, 5.5 / 2, 1.0, config.loss.neutral_weight))
    config.loss.balance_classes = False
    assert spotting_run.class_weights([stored], config) == pytest.approx((1.0, 1.0, 1.0, config.loss.neutral_weight))


@pytest.fixture(scope="module")
def data_dir(long_data_dir):
    return long_data_dir


def test_the_recognition_baselines_and_decoders_do_not_move_when_only_test_emotions_change(data_dir):
    videos = long_pipeline.load_videos(tfds.builder("synthetic_long/tiny", data_dir=data_dir))
    config = synthetic_spotting.get_config("size=tiny")
    config.data.emotion_classes = emotion_classes.THREE

    def predict(features):     # moves -> a spotting score; emotions from the features' signs, as a stand-in
        moved = np.abs(features).mean(axis=-1, keepdims=True) / (np.abs(features).max() + 1e-6)
        emotion = np.stack([features[..., 0] > 0, features[..., 1] > 0, features[..., 2] > 0,
                            np.ones(features.shape[:2])], axis=-1).astype(float) + 0.1
        return np.concatenate([moved, moved, emotion / emotion.sum(-1, keepdims=True)], axis=-1)

    fit, validation, test = ["s01"], ["s02"], ["s03"]
    results, _ = spotting_protocol.evaluate(config, videos, predict, fit, validation, test)
    flipped = {"negative": "positive", "positive": "surprise", "surprise": "negative", "others": "negative"}
    relabelled = [dataclasses.replace(v, video=dataclasses.replace(v.video, intervals=tuple(
        dataclasses.replace(i, emotion=flipped[i.emotion]) for i in v.video.intervals)))
        if v.video.subject in test else v for v in videos]
    again, _ = spotting_protocol.evaluate(config, relabelled, predict, fit, validation, test)
    assert again["majority"]["class"] == results["majority"]["class"]
    assert again["class_prior"]["prior"] == results["class_prior"]["prior"]
    truths = lambda r: [p[0] for k in ("micro", "macro") for p in r["model"]["recognition"]["label_pairs"][k]]
    assert truths(results) and truths(again) == [flipped[t] for t in truths(results)]     # the test labels did count


@pytest.mark.slow
def test_a_fold_where_the_model_spots_nothing_scores_strs_zero_and_pools(data_dir):
    videos = long_pipeline.load_videos(tfds.builder("synthetic_long/tiny", data_dir=data_dir))
    config = synthetic_spotting.get_config("size=tiny")
    config.data.emotion_classes = emotion_classes.THREE
    flat = lambda features: np.full(features.shape[:2] + (6,), 0.25)     # flat scores: nothing is decoded
    results, _ = spotting_protocol.evaluate(config, videos, flat, ["s01"], ["s02"], ["s03"])
    assert results["model"]["counts"]["micro"][:2] == [0, 0]
    assert results["model"]["recognition"]["micro"]["strs"] == 0.0
    assert results["majority"]["recognition"]["overall"]["strs"] == 0.0
    pooled = spotting_protocol.pool_folds([results, results])
    assert pooled["model"]["recognition"]["micro"]["strs"] == 0.0 and "recognition" in pooled["chance"]


def test_folds_with_different_native_classes_pool_over_all_of_them():
    def fold(classes, pairs):
        truths = [{"micro": [(10 * k, 10 * k + 4, t)], "macro": []} for k, (t, _) in enumerate(pairs)]
        predictions = [{"micro": [(10 * k, 10 * k + 4, p)], "macro": []} for k, (_, p) in enumerate(pairs)]
        part = recognition.spot_then_recognise(zip(truths, predictions), classes)
        counts = {"micro": part["counts"]["micro"], "macro": [0, 0, 0]}
        chance = spotting_protocol.chance_summary([counts], [part])
        return {"classes": list(classes), "model": {"counts": counts, "recognition": part},
                "motion": {"counts": counts}, "chance": chance}

    first = fold(("disgust", "happiness"), [("disgust", "disgust"), ("happiness", "happiness")])
    second = fold(("disgust", "fear"), [("fear", "fear"), ("fear", "disgust")])   # a label only s02 has
    pooled = spotting_protocol.pool_folds([first, second])["model"]["recognition"]
    assert pooled["classes"] == ["disgust", "fear", "happiness"]
    # 4 pairs, 3 classes: P = (1/2, 1, 1), R = (1, 1/2, 1); means 5/6 and 5/6 -> F1_analysis 5/6.
    assert pooled["micro"]["pairs"] == 4 and pooled["micro"]["f1_analysis"] == pytest.approx(5 / 6)


def test_resuming_a_spotting_run_saved_before_the_emotion_head_is_refused_in_one_line(tmp_path):
    from meint_jax.common.errors import ConfigError
    from meint_jax.training import config_checks

    config = synthetic_spotting.get_config("size=tiny")
    old = json.loads(config.to_json_best_effort())
    del old["model"]["emotion_head"]
    with pytest.raises(ConfigError, match="model.emotion_head: False there, True now"):
        config_checks.check_same_run(str(tmp_path), config, old)
    config.model.emotion_head = False
    config_checks.check_same_run(str(tmp_path), config, old)      # without a head, as it was: resumes


def test_the_ablation_table_sets_joint_training_against_separate_models(tiny_spotting_run, tmp_path):
    import shutil

    trained, data_dir = tiny_spotting_run
    workdir = tmp_path / "tables"
    shutil.copytree(trained, workdir / "joint")     # the joint row is the tiny run: the table finds it done
    table = paper_tables.run("synthetic_spotting", str(workdir), size="tiny", data_dir=data_dir)
    joint = json.load(open(workdir / "joint" / "metrics.json"))
    separate = json.load(open(workdir / "separate" / "metrics.json"))
    # The separate row is two networks, each trained for the whole budget: one without an emotion head, one
    # whose spotting loss weighs nothing.
    spotter = json.load(open(workdir / "separate" / "spotting" / "config.json"))
    recogniser = json.load(open(workdir / "separate" / "recognition" / "config.json"))
    assert spotter["model"]["emotion_outputs"] is None and spotter["loss"]["emotion_weight"] == 0.0
    assert recogniser["model"]["emotion_outputs"] == 4 and recogniser["loss"]["spotting_weight"] == 0.0
    assert spotter["train"]["num_steps"] == recogniser["train"]["num_steps"] == joint["train_steps"]
    lines = table.splitlines()
    for label, metrics in (("joint", joint), ("separate", separate)):
        row = next(line for line in lines if line.startswith(f"| {label}"))
        micro = metrics["model"]["recognition"]["micro"]
        assert f"| {micro['f1_spot']:.4f} | {micro['f1_analysis']:.4f} | {micro['strs']:.4f} |" in row
    chance = next(line for line in lines if line.startswith("| chance spotter"))
    assert f"{joint['chance']['recognition']['micro']['strs']:.4f}" in chance
    assert "| paper 002 on SAMM-LV | 0.2906 | 0.6882 | 0.2000 |" in table
    assert (workdir / "table.md").read_text() == table
