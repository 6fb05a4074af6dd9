"""Clip emotion recognition runs: metrics.json against its own per-clip records, baselines that never see the
test clips, resumption, leave-one-subject-out pooling, the CASME II and SAMM configs on fixture copies of
their layouts, and the errors a user can make."""

import json
import os
import shutil

import jax
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

import data_builders  # noqa: F401  Registers the builders.
from configs.intensity import casme2 as casme2_config
from configs.intensity import samm as samm_config
from configs.intensity import synthetic as synthetic_config
from configs.recognition import casme2 as casme2_recognition
from configs.recognition import samm as samm_recognition
from configs.recognition import synthetic as recognition_config
from meint_jax import predict, tasks
from meint_jax.common.errors import ConfigError, PredictError
from meint_jax.data import emotion_classes
from meint_jax.data.clips import pipeline as input_pipeline
from meint_jax.metrics import recognition
from meint_jax.tasks.intensity.predictor import IntensityEstimator
from meint_jax.tasks.recognition import evaluate as recognition_evaluate
from meint_jax.tasks.recognition import results as recognition_results
from meint_jax.tasks.recognition import train as recognition_run
from meint_jax.testing.fixtures import casme2_sheet, samm_sheet, write_jpeg

SIZE = 32


def data_dir_of(builder):
    return os.path.dirname(os.path.dirname(os.path.dirname(builder.data_dir)))


def tiny(builder, **changes):
    config = recognition_config.get_config("size=tiny")
    config.data.data_dir = data_dir_of(builder)
    for key, value in changes.items():
        section, name = key.split(".")
        config[section][name] = value
    return config


def three_class_labels(builder, subjects):
    """Each clip's class (negative/positive/surprise/others), read straight from the built dataset."""
    names = builder.info.features["emotion"].names
    return {ex["clip_id"].decode(): emotion_classes.label(names[ex["emotion"]], "three")
            for ex in tfds.as_numpy(builder.as_dataset(split="train"))
            if ex["subject"].decode() in subjects}


# The two tests on `tiny_run` come first and the two fixture-dataset runs next, so that pytest-xdist's first
# batches (two consecutive tests per worker) train the tiny run once, on one worker.
@pytest.fixture(scope="module")
def tiny_run(tiny_builder, tmp_path_factory):
    workdir = str(tmp_path_factory.mktemp("recognition") / "run")
    summary = tasks.train_and_evaluate(tiny(tiny_builder), workdir)
    return workdir, summary


def test_a_tiny_run_writes_scores_that_its_own_per_clip_records_reproduce(tiny_builder, tiny_run):
    workdir, summary = tiny_run
    saved = json.load(open(os.path.join(workdir, "metrics.json")))
    assert saved == json.loads(json.dumps(summary))
    assert saved["task"] == "recognition" and saved["train_steps"] == 6
    assert saved["compilations"] == {"train_step": 1, "predict_step": 1}
    classes = saved["classes"]
    assert classes == ["negative", "positive", "surprise"]      # three classes, others excluded
    recorded = json.load(open(os.path.join(workdir, "config.json")))
    assert recorded["data"]["emotion_classes"] == classes and recorded["model"]["emotion_outputs"] == 3
    assert not set(saved["train_subjects"]) & set(saved["test_subjects"])

    truth = three_class_labels(tiny_builder, saved["test_subjects"])
    clips = saved["per_clip"]
    assert {c["clip_id"]: c["true"] for c in clips} == truth     # every test clip, its own label
    for c in clips:
        assert c["predicted"] == classes[int(np.argmax(c["probabilities"]))]
        assert c["probability"] == max(c["probabilities"]) and abs(sum(c["probabilities"]) - 1) < 1e-5
    true = [c["true"] for c in clips]
    for name, labels in (("model", [c["predicted"] for c in clips]), ("majority", [c["majority"] for c in clips])):
        assert (saved[name]["uf1"], saved[name]["uar"]) == pytest.approx(recognition.uf1_uar(true, labels, classes))
    draws = [recognition.uf1_uar(true, [c["prior"][k] for c in clips], classes) for k in range(20)]
    assert saved["prior"]["runs"] == 20
    assert (saved["prior"]["uf1"], saved["prior"]["uar"]) == pytest.approx(tuple(np.mean(draws, axis=0)))
    assert saved["model"]["pairs"] == sum(t in classes for t in true)
    assert "majority UF1" in open(os.path.join(workdir, "train.log")).read()

    # The class weights: 1 / each class's share of the training clips, mean 1.
    labels = list(three_class_labels(tiny_builder, saved["train_subjects"]).values())
    counts = {c: labels.count(c) for c in classes}
    assert saved["train_class_counts"] == counts
    inverse = np.array([1 / counts[c] for c in classes])
    np.testing.assert_allclose(saved["class_weights"], inverse / inverse.mean())


def predicted_like_the_run(workdir, builder, tmp_path) -> None:
    """`meint_jax.predict` on the run's test clips gives the probabilities its evaluation recorded."""
    saved = json.load(open(os.path.join(workdir, "metrics.json")))
    clips = {c["clip_id"]: c for c in saved["per_clip"]}
    steps = json.load(open(os.path.join(workdir, "config.json")))["data"]["num_steps"]
    rows = predict.run(workdir, f"tfds:{builder.name}/{builder.builder_config.name}", str(tmp_path / "emotions"),
                       data_dir=data_dir_of(builder), clip_ids=sorted(clips))
    assert len(rows) == len(clips)
    for row in rows:
        recorded = clips[row["name"]]
        np.testing.assert_allclose([row[f"p_{c}"] for c in saved["classes"]], recorded["probabilities"], atol=1e-5)
        assert row["emotion"] == recorded["predicted"]
        written = json.load(open(tmp_path / "emotions" / f"{row['name']}.json"))
        assert written["emotion"] == row["emotion"] and written["annotated_emotion"] == recorded["native"]
        assert len(written["frames_read"]) == steps and written["frames_read"][0] == written["onset"]
    table = (tmp_path / "emotions" / "emotions.csv").read_text().splitlines()
    assert table[0] == "name,emotion,probability," + ",".join(f"p_{c}" for c in saved["classes"])
    assert len(table) == len(clips) + 1


def test_predict_names_the_emotion_of_each_clip_as_the_runs_evaluation_did(tiny_builder, tiny_run, tmp_path):
    workdir, _ = tiny_run
    predicted_like_the_run(workdir, tiny_builder, tmp_path)
    variables, config, _ = tasks.restore_for_inference(workdir)
    with pytest.raises(PredictError, match="a recognition run, not an intensity one"):
        IntensityEstimator(variables, config)


@pytest.mark.slow
def test_a_run_killed_after_a_checkpoint_resumes_there_and_ends_as_an_uninterrupted_run(tiny_builder, tiny_run,
                                                                                       tmp_path):
    whole, _ = tiny_run
    killed = str(tmp_path / "killed")
    shutil.copytree(whole, killed)                 # what a kill between steps 3 and 6 leaves behind
    shutil.rmtree(os.path.join(killed, "checkpoints", "6"))
    os.remove(os.path.join(killed, "metrics.json"))
    resumed = tasks.train_and_evaluate(tiny(tiny_builder), killed)
    assert f"resumed from {os.path.join(killed, 'checkpoints', '3')}" in open(os.path.join(killed, "train.log")).read()
    assert resumed["train_steps"] == 6
    logged = [json.loads(line)["step"] for line in open(os.path.join(killed, "train_log.jsonl"))]
    assert logged == [2, 4, 6]
    uninterrupted = json.load(open(os.path.join(whole, "metrics.json")))
    np.testing.assert_array_equal([c["probabilities"] for c in resumed["per_clip"]],
                                  [c["probabilities"] for c in uninterrupted["per_clip"]])
    for name in ("model", "majority", "prior"):
        assert resumed[name] == uninterrupted[name]


def _casme2_manual(root):
    rng = np.random.default_rng(2)
    rows = []
    emotions = {1: ("happiness", "disgust"), 2: ("surprise", "others"), 3: ("repression", "happiness")}
    for s, labels in emotions.items():
        for e, emotion in enumerate(labels):
            for n in range(1, 9):
                write_jpeg(str(root / "Cropped" / f"sub{s:02d}" / f"EP0{e}_01" / f"reg_img{n}.jpg"), rng)
            rows.append((s, f"EP0{e}_01", 2, 4, 7, "12", emotion))
    casme2_sheet(root / "CASME2-coding-20140508.xlsx", rows)
    return str(root)


def _samm_manual(root):
    rng = np.random.default_rng(3)
    rows = []
    clips = (("006", "006_1_2", "Happiness"), ("006", "006_1_3", "Anger"), ("007", "007_2_1", "Surprise"),
             ("007", "007_2_2", "Other"), ("008", "008_3_1", "Contempt"))
    for subject, name, emotion in clips:
        for n in range(100, 108):
            write_jpeg(str(root / "SAMM" / subject / name / f"{subject}_{n:05d}.jpg"), rng)
        rows.append((subject, name, 101, 103, 106, "12", emotion))
    samm_sheet(root / "SAMM_Micro_FACS_Codes_v2.xlsx", rows)
    return str(root)


def _one_step(config, data_dir, manual_dir, name):
    config.data.update(name=name, data_dir=str(data_dir), manual_dir=manual_dir, image_size=SIZE, num_steps=4)
    config.model.gru_features = 8
    config.train.update(batch_size=2, num_steps=1, log_every=1, checkpoint_every=1)
    return config


@pytest.mark.slow
@pytest.mark.parametrize("inputs", ["frames", "flow"])
def test_the_casme2_recognition_config_trains_leave_one_subject_out_on_a_copy_of_its_layout(tmp_path, monkeypatch,
                                                                                            inputs):
    from data_builders.casme2 import casme2_dataset_builder as casme2

    monkeypatch.setattr([c for c in casme2.Builder.BUILDER_CONFIGS if c.name == "cropped_128"][0], "frame_size", SIZE)
    (tmp_path / "tfds").mkdir()
    config = casme2_recognition.get_config(f"inputs={inputs}")
    assert config.eval.protocol == "loso" and config.data.train_window == "trimmed"
    config = _one_step(config, tmp_path / "tfds", _casme2_manual(tmp_path / "manual"), "casme2/cropped_128")
    if inputs == "flow":
        with pytest.raises(ConfigError, match="clip .*: a flow size of 112 px is larger than the 32-px frames"):
            tasks.train_and_evaluate(config, str(tmp_path / "too_fine"))
        config.data.flow_size = SIZE
    config.eval.folds = "0"                       # one fold (subject 01) of three
    results = tasks.train_and_evaluate(config, str(tmp_path / "run"))
    assert results["folds_done"] == ["01"] and results["folds_missing"] == ["02", "03"]
    fold = json.load(open(tmp_path / "run" / "fold_01" / "metrics.json"))
    assert fold["train_steps"] == 1 and fold["train_subjects"] == ["02", "03"]
    assert {c["native"]: c["true"] for c in fold["per_clip"]} == {"happiness": "positive", "disgust": "negative"}
    assert fold["train_class_counts"] == {"negative": 1, "positive": 1, "surprise": 1}   # others left out
    assert results["model"] == fold["model"] and results["clips"] == 2
    if inputs == "flow":                             # every clip's regions placed, by dlib or the template
        log = open(tmp_path / "run" / "fold_01" / "train.log").read()
        assert "region motion of 6 clips at 32 px" in log           # every clip of the fold's three subjects
        assert "template on 6 of them (dlib found no face: " in log   # 32-px crops: too small for dlib
        assert {c["landmarks"] for c in fold["per_clip"]} == {"template"}


@pytest.mark.slow
def test_the_samm_recognition_config_trains_on_a_copy_of_its_layout(tmp_path, monkeypatch):
    from data_builders.samm import samm_dataset_builder as samm

    monkeypatch.setattr([c for c in samm.Builder.BUILDER_CONFIGS if c.name == "whole_128"][0], "frame_size", SIZE)
    (tmp_path / "tfds").mkdir()
    config = _one_step(samm_recognition.get_config(), tmp_path / "tfds",
                       _samm_manual(tmp_path / "manual"), "samm/whole_128")
    config.eval.protocol = "holdout"
    config.eval.holdout_subjects = 1
    summary = tasks.train_and_evaluate(config, str(tmp_path / "run"))
    assert summary["train_steps"] == 1 and summary["test_subjects"] == ["008"]
    assert summary["train_class_counts"] == {"negative": 1, "positive": 1, "surprise": 1}   # "Other" left out
    assert [(c["native"], c["true"]) for c in summary["per_clip"]] == [("contempt", "negative")]


def test_the_majority_baseline_is_the_training_clips_commonest_class_whatever_the_test_labels(
        tiny_builder, monkeypatch):
    config = tiny(tiny_builder)
    train, test = ["s01", "s02", "s04"], ["s03"]
    config = recognition_run.record_classes(config, tiny_builder, train)
    labels = list(three_class_labels(tiny_builder, train).values())
    commonest = max(config.data.emotion_classes, key=labels.count)

    def always_surprise(frames):              # a stand-in for a model
        return np.tile(np.array([[0.1, 0.2, 0.7]], np.float32), (len(frames), 1))

    results, records = recognition_evaluate.evaluate(config, tiny_builder, always_surprise, train, test)
    assert results["majority"]["class"] == commonest and {r["majority"] for r in records} == {commonest}

    surprise = tiny_builder.info.features["emotion"].names.index("surprise")
    real = input_pipeline.load_clips

    def test_clips_relabelled(builder, subjects, *args, **kwargs):   # every s03 clip is now a surprise
        return real(builder, subjects, *args, **kwargs).map(lambda ex: {**ex, "emotion": tf.where(
            tf.equal(ex["subject"], "s03"), tf.constant(surprise, tf.int64), ex["emotion"])})

    monkeypatch.setattr(input_pipeline, "load_clips", test_clips_relabelled)
    again, records = recognition_evaluate.evaluate(config, tiny_builder, always_surprise, train, test)
    assert {r["true"] for r in records} == {"surprise"} and len(records) == 3   # counted with the test clips,
    assert again["majority"]["class"] == commonest                               # surprise would win
    assert again["prior"]["class_prior"] == results["prior"]["class_prior"]
    assert again["model"]["accuracy"] == 1.0 != results["model"]["accuracy"]    # the test labels did count


def test_a_subject_whose_clips_all_have_no_class_is_no_fold(tiny_builder, monkeypatch):
    config = tiny(tiny_builder)
    assert recognition_run.scored_subjects(config, tiny_builder) == ["s01", "s02", "s03", "s04"]
    others = tiny_builder.info.features["emotion"].names.index("others")
    real = input_pipeline.load_clips

    def s04_all_others(builder, subjects, *args, **kwargs):
        return real(builder, subjects, *args, **kwargs).map(lambda ex: {**ex, "emotion": tf.where(
            tf.equal(ex["subject"], "s04"), tf.constant(others, tf.int64), ex["emotion"])})

    monkeypatch.setattr(input_pipeline, "load_clips", s04_all_others)
    assert recognition_run.scored_subjects(config, tiny_builder) == ["s01", "s02", "s03"]
    config.data.others = "class"                   # others is a class: every clip counts
    assert recognition_run.scored_subjects(config, tiny_builder) == ["s01", "s02", "s03", "s04"]


def test_a_build_whose_clips_are_all_others_is_named_not_taken_for_an_unfinished_run(tiny_builder, monkeypatch,
                                                                                      tmp_path):
    config = tiny(tiny_builder)
    others = tiny_builder.info.features["emotion"].names.index("others")
    real = input_pipeline.load_clips
    monkeypatch.setattr(input_pipeline, "load_clips", lambda *a, **k: real(*a, **k).map(
        lambda ex: {**ex, "emotion": tf.constant(others, tf.int64)}))
    with pytest.raises(ConfigError, match=r"no subject\(s\) with a clip whose emotion is a class of "
                                          r"data.emotion_labels='three' \(every other clip is 'others'"):
        recognition_run.run(config, str(tmp_path / "run"), tiny_builder)


def _fold(workdir, subject, clips, subjects=None):
    """A finished fold's metrics.json holding `clips`, (true, predicted) pairs, of `subjects` (in turn; the
    fold's name alone by default)."""
    classes = ["negative", "positive", "surprise"]
    subjects = subjects or [subject]
    records = [{"clip_id": f"{subject}_{i}", "subject": subjects[i % len(subjects)], "true": t, "predicted": p,
                "majority": "negative", "prior": [p, t]} for i, (t, p) in enumerate(clips)]
    os.makedirs(os.path.join(workdir, f"fold_{subject}"))
    uf1, uar = recognition.uf1_uar([t for t, _ in clips], [p for _, p in clips], classes)
    with open(os.path.join(workdir, f"fold_{subject}", "metrics.json"), "w") as f:
        json.dump({"classes": classes, "model": {"uf1": uf1, "uar": uar, "pairs": len(clips)},
                   "per_clip": records, "test_subjects": subjects}, f)
    return uf1


def test_leave_one_subject_out_scores_the_pooled_clips_not_the_mean_of_the_folds(tmp_path):
    workdir = str(tmp_path)
    a = [("negative", "negative"), ("positive", "positive"), ("negative", "positive")]
    b = [("surprise", "surprise"), ("others", "surprise")]     # others: not a class, not scored
    fold_means = np.mean([_fold(workdir, "01", a), _fold(workdir, "02", b)])
    results = recognition_results.write_results(workdir, ["01", "02", "03"])
    assert results["folds_done"] == ["01", "02"] and results["folds_missing"] == ["03"]
    pairs = a + b
    true, predicted = [t for t, _ in pairs], [p for _, p in pairs]
    classes = ["negative", "positive", "surprise"]
    assert (results["model"]["uf1"], results["model"]["uar"]) == recognition.uf1_uar(true, predicted, classes)
    assert results["model"]["uf1"] != pytest.approx(fold_means)
    assert results["model"]["pairs"] == 4 and results["clips"] == 5
    draws = [recognition.uf1_uar(true, predicted, classes), recognition.uf1_uar(true, true, classes)]
    assert results["prior"]["uf1"] == pytest.approx(np.mean([d[0] for d in draws]))
    assert json.load(open(os.path.join(workdir, "results.json"))) == json.loads(json.dumps(results))


def test_a_composite_scores_its_pooled_clips_and_each_dataset_apart_and_says_it_left_datasets_out(tmp_path):
    workdir = str(tmp_path)
    casme2 = [("negative", "negative"), ("positive", "negative"), ("surprise", "surprise")]
    samm = [("surprise", "surprise"), ("negative", "negative"), ("others", "negative"), ("positive", "positive")]
    _fold(workdir, "casme2", casme2, subjects=["casme2_01", "casme2_02"])   # leave-one-dataset-out folds
    _fold(workdir, "samm", samm, subjects=["samm_006"])
    results = recognition_results.write_results(workdir, ["casme2", "samm", "smic"])
    assert results["protocol"] == "lodo" and results["folds_missing"] == ["smic"]
    classes = ["negative", "positive", "surprise"]
    for name, pairs in (("casme2", casme2), ("samm", samm)):
        scored = [p for p in pairs if p[0] != "others"]
        part = results["per_dataset"][name]
        assert (part["model"]["uf1"], part["model"]["uar"]) == recognition.uf1_uar(
            [t for t, _ in scored], [p for _, p in scored], classes)
        assert part["clips"] == len(pairs) and part["model"]["pairs"] == len(scored)
    pooled = [p for p in casme2 + samm if p[0] != "others"]
    assert (results["model"]["uf1"], results["model"]["uar"]) == recognition.uf1_uar(
        [t for t, _ in pooled], [p for _, p in pooled], classes)
    # The pooled UF1 is not the mean of the datasets' (MEGC 2019 reports both).
    assert results["model"]["uf1"] != pytest.approx(np.mean([results["per_dataset"][n]["model"]["uf1"]
                                                             for n in ("casme2", "samm")]))


def test_a_bad_emotion_label_set_is_a_one_line_config_error(tiny_builder, tmp_path):
    with pytest.raises(ConfigError) as error:
        tasks.train_and_evaluate(tiny(tiny_builder, **{"data.emotion_labels": "seven"}), str(tmp_path / "run"))
    assert "config.data.emotion_labels='seven'" in str(error.value) and "\n" not in str(error.value)
    assert not os.path.exists(tmp_path / "run" / "checkpoints")


def test_class_weights_balance_the_training_clips_and_a_class_none_of_them_has_weighs_nothing(tiny_builder):
    config = recognition_run.record_classes(tiny(tiny_builder), tiny_builder, ["s01", "s02"])
    # s01: repression, disgust, surprise; s02: happiness and two others: negative 2, positive 1, surprise 1.
    assert config.data.emotion_classes == ("negative", "positive", "surprise")
    np.testing.assert_allclose(config.loss.emotion_weights, np.array([0.5, 1, 1]) / (2.5 / 3))
    config = recognition_run.record_classes(tiny(tiny_builder), tiny_builder, ["s02", "s04"])
    assert config.loss.emotion_weights == (1.0, 1.0, 0.0)      # surprise: no training clip, never a target
    unbalanced = recognition_run.record_classes(tiny(tiny_builder, **{"loss.balance_classes": False}), tiny_builder,
                                                ["s01", "s02"])
    assert unbalanced.loss.emotion_weights == (1.0, 1.0, 1.0) and unbalanced.model.emotion_outputs == 3


def test_training_subjects_with_one_class_only_are_a_config_error_naming_the_dataset(tiny_builder):
    config = tiny(tiny_builder)
    with pytest.raises(ConfigError) as error:      # s04: disgust and two others, so negative only
        recognition_run.record_classes(config, tiny_builder, ["s04"])
    message = str(error.value)
    assert "config.data.emotion_labels='three'" in message and "synthetic_me/tiny" in message
    assert "one class only (negative)" in message and "\n" not in message


@pytest.mark.parametrize("intensity, recognition_module", [(casme2_config, casme2_recognition),
                                                           (samm_config, samm_recognition),
                                                           (synthetic_config, recognition_config)])
def test_each_recognition_config_is_its_intensity_config_with_the_task_changed(intensity, recognition_module):
    """One field says the task; the recognition configs take the paper's two recognition variants only."""
    assert intensity.get_config().task == "intensity" and "task" not in intensity.get_config().model
    config = recognition_module.get_config("variant=framewise")
    assert config.task == "recognition" and "task" not in config.model and config.model.temporal == "none"
    assert config.data.train_window == "trimmed" and config.loss.rank_weight == 0.0
    with pytest.raises(ValueError, match="no_rank"):
        recognition_module.get_config("variant=no_rank")
    with pytest.raises(ValueError, match="unknown config argument 'task'"):
        intensity.get_config("task=recognition")


@pytest.mark.slow
def test_recognition_on_region_motion_trains_the_flow_stem_on_every_training_clip(tiny_builder, tmp_path):
    config = recognition_config.get_config("size=tiny,inputs=flow")
    config.data.data_dir = data_dir_of(tiny_builder)
    assert config.data.clip_landmarks == "template" and not config.data.flip
    summary = tasks.train_and_evaluate(config, str(tmp_path / "flow"))
    assert summary["train_steps"] == config.train.num_steps and len(summary["per_clip"]) == summary["test_clips"]
    assert summary["model"]["pairs"] == sum(c["true"] != "others" for c in summary["per_clip"])
    saved = json.load(open(tmp_path / "flow" / "config.json"))
    assert saved["model"]["inputs"] == "flow"

    config.model.emotion_outputs = len(summary["classes"])
    shapes = jax.eval_shape(lambda: tasks.create_model(config).init(
        jax.random.PRNGKey(0), np.zeros((1, config.data.num_steps, 36), np.float32)))
    kernel = shapes["params"]["encoder"]["ConvBNReLU_0"]["Conv_0"]["kernel"]
    assert kernel.shape[1:] == (36, config.model.stem_features)     # the flow stem reads the 36 motions
    log = open(tmp_path / "flow" / "train.log").read()
    assert "at 32 px; regions placed by the template on" in log
    assert {c["landmarks"] for c in summary["per_clip"]} == {"template"}
    predicted_like_the_run(str(tmp_path / "flow"), tiny_builder, tmp_path)


def test_a_resumed_flow_run_scales_each_step_as_an_uninterrupted_one():
    from meint_jax.data.clips import flow as clip_flow

    config = recognition_config.get_config("size=tiny,inputs=flow")
    batches = [{"positions": np.array([[0, 1, 2], [0, 1, 2]]), "clip_id": np.array([b"a", b"b"]),
                "onset": np.array([0, 0])} for _ in range(4)]
    ramp = np.stack([np.zeros(36), np.ones(36), np.ones(36)]).astype(np.float32)   # motion 1 after the first frame
    motions = {f"{k}@0": clip_flow.ClipMotion(np.arange(3), ramp, "template") for k in ("a", "b")}
    whole = [b["frames"][:, 1:] for b in recognition_run.flow_batches(iter(batches), motions, config, 0)]
    resumed = [b["frames"][:, 1:] for b in recognition_run.flow_batches(iter(batches[2:]), motions, config, 2)]
    np.testing.assert_array_equal(np.stack(whole[2:]), np.stack(resumed))
    factors = np.stack(whole)[..., 0, 0]                 # [steps, windows]: one factor per window and step
    assert np.all(np.abs(factors - 1.0) <= config.data.feature_scale) and len(np.unique(factors)) == 8
    assert np.all(np.stack(whole) == factors[..., None, None])


def test_flow_inputs_refuse_image_augmentations_and_an_unknown_input():
    from meint_jax.training import config_checks

    config = recognition_config.get_config("inputs=flow")
    config_checks.check_recognition_config(config)
    config.data.min_crop = 0.85
    with pytest.raises(ConfigError, match="min_crop=0.85"):
        config_checks.check_recognition_config(config)
    with pytest.raises(ValueError, match="unknown inputs"):
        recognition_config.get_config("inputs=landmarks")
