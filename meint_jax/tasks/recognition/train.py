"""A clip-recognition fold: the class set and weights recorded from the training clips, paper 001's network
(or, with model.inputs='flow', paper 002's flow stem over each clip's region motion) trained with an emotion
head on trimmed windows of the training clips that have a class, then `evaluate.py`'s protocol.

A fold records its class set and class weights from its training subjects' clips (`record_classes`: the test
subjects never move them); validation subjects, where there are any, pick the best checkpoint by UF1.
"""

from __future__ import annotations

import copy
import os

import numpy as np
from absl import logging

from meint_jax.common.errors import ConfigError
from meint_jax.data import emotion_classes
from meint_jax.data.clips import pipeline as input_pipeline
from meint_jax.metrics import class_prior, recognition
from meint_jax.tasks.recognition import TASK, evaluate, results
from meint_jax.training import clips, sharding
from meint_jax.training import run as fold
from meint_jax.training.clips import clip_motions, flow_batches  # shared with intensity's flow runs


def run(config, workdir: str, builder) -> dict:
    """The hold-out fold or the LOSO folds over the subjects with a clip that can be scored."""
    features = builder.info.features
    if "onset" not in features or "emotion" not in features:
        raise ConfigError(f"config.data.name={config.data.name!r} is not a clip dataset with emotion labels "
                          "(e.g. synthetic_me/default, casme2/cropped_224, samm/dlib_224)")
    subjects = scored_subjects(config, builder)
    if len(subjects) < 2:
        raise ConfigError(f"{config.data.name}: {len(subjects) or 'no'} subject(s) with a clip whose emotion is a "
                          f"class of data.emotion_labels={config.data.emotion_labels!r} (every other clip is 'others', "
                          "left out): nothing to train and test on; set data.others='class' or "
                          "data.emotion_labels='native'")
    left_out = sorted(set(input_pipeline.list_subjects(builder)) - set(subjects))
    if left_out:
        logging.info("Subjects %s are left out: none of their clips has a class of data.emotion_labels=%r.",
                     ", ".join(left_out), config.data.emotion_labels)
    return fold.run_folds(config, workdir, builder, subjects, run_fold, results.write_results)


def _record(config, key: str, value, matches) -> None:
    """Sets a recorded field, or refuses a value the user set that the training clips contradict."""
    section, name = key.split(".")
    if config[section][name] is not None and not matches(config[section][name], value):
        raise ConfigError(f"config.{key}={config[section][name]!r}, but the training clips give {value!r}: "
                          f"leave config.{key} unset (it is recorded when training starts)")
    config[section][name] = value


def record_classes(config, builder, train_subjects: list[str]):
    """A copy of `config` with the class set, the head's size and the class weights recorded from the clips of
    `train_subjects` (1 / each class's share of them, mean 1 over the classes present, with
    loss.balance_classes; a class no training clip has weighs 0, never being a target). ConfigError when
    those clips hold fewer than 2 classes."""
    config = copy.deepcopy(config)
    d = config.data
    natives = [n for _, n in input_pipeline.clip_emotions(builder, train_subjects)]
    classes = emotion_classes.classes(d.emotion_labels, d.others, natives)
    counts = class_prior.ClassPrior([emotion_classes.label(n, d.emotion_labels) for n in natives], classes).counts
    present = [c for c in classes if counts[c]]
    clips = (f"the {len(natives)} clips of config.data.name={d.name!r} of training subjects "
             f"{', '.join(train_subjects)}")
    if not present:
        raise ConfigError(f"config.data.emotion_labels={d.emotion_labels!r}: none of {clips} has an emotion of "
                          f"that set (their labels: {', '.join(sorted(set(natives))) or 'none'})")
    if len(present) < 2:
        raise ConfigError(f"config.data.emotion_labels={d.emotion_labels!r}: {clips} hold one class only "
                          f"({present[0]}); recognition needs 2 or more (try data.emotion_labels='native' or "
                          "data.others='class')")
    if config.loss.balance_classes:
        inverse = np.array([1.0 / counts[c] if counts[c] else 0.0 for c in classes])
        weights = inverse / inverse[inverse > 0].mean()
    else:
        weights = np.ones(len(classes))
    _record(config, "data.emotion_classes", tuple(classes), lambda a, b: tuple(a) == tuple(b))
    _record(config, "model.emotion_outputs", len(classes), lambda a, b: a == b)
    _record(config, "loss.emotion_weights", tuple(float(w) for w in weights),
            lambda a, b: len(a) == len(b) and np.allclose(a, b))
    return config


def scored_subjects(config, builder) -> list[str]:
    """The subjects with a clip that can be scored: one whose label is a class of the set (any, with
    data.others='class'). A subject whose clips are all `others` would be a fold that tests nothing, and its
    clips are never trained on."""
    keep = config.data.others == "class"
    return sorted({s for s, n in input_pipeline.clip_emotions(builder, input_pipeline.list_subjects(builder))
                   if keep or emotion_classes.label(n, config.data.emotion_labels) != "others"})


def class_table(config, builder) -> np.ndarray:
    """int32 [the dataset's emotion labels]: each label's class index (IGNORED where it is no class)."""
    classes = tuple(config.data.emotion_classes)
    return np.array([emotion_classes.index(emotion_classes.label(n, config.data.emotion_labels), classes)
                     for n in builder.info.features["emotion"].names], np.int32)


def _validation(config, builder, validation_subjects, mesh, motions: dict) -> fold.Validation:
    """UF1 on the validation subjects' clips picks the best checkpoint (`motions["motions"]`: a flow run's
    region motion, computed when training starts)."""

    def score(step, state, predict_fn, run_log):
        predict_batch = fold.batch_predictor(predict_fn, state, mesh, config.train.batch_size)
        records = evaluate.classify(config, builder, predict_batch, validation_subjects, motions["motions"])
        uf1, uar = recognition.uf1_uar([r["true"] for r in records], [r["predicted"] for r in records],
                                       tuple(config.data.emotion_classes))
        run_log.scalars(step, {"uf1": uf1, "uar": uar}, prefix="validation")
        return uf1, f"UF1 {uf1:.3f}, UAR {uar:.3f}"

    return fold.Validation("validation_uf1", score, best="UF1 ")


def run_fold(config, workdir: str, builder, train_subjects: list[str], test_subjects: list[str]) -> dict:
    """Trains on `train_subjects` less any validation subjects (they pick the best checkpoint by UF1 with
    eval.select='best'), tests on `test_subjects`; writes metrics.json."""
    os.makedirs(workdir, exist_ok=True)
    train_subjects, validation_subjects = fold.split_validation(config, train_subjects, test_subjects)
    config = record_classes(clips.record_dataset_facts(config, builder, train_subjects), builder, train_subjects)
    d = config.data
    mesh = sharding.data_mesh()
    flow = config.model.get("inputs", "frames") == "flow"
    table = class_table(config, builder)
    motions = {"motions": None}     # a flow run's region motion, once the run is opened (not before it is refused)

    def batches(start_step, run_log):
        if flow:
            motions["motions"] = clip_motions(config, builder, train_subjects + validation_subjects + test_subjects)
            clips.log_motions(run_log.text, motions["motions"], d)
        windows = clips.clip_batches(config, builder, train_subjects, start_step,
                                     emotions=np.flatnonzero(table >= 0), decode=not flow)
        return flow_batches(windows, motions["motions"], config, start_step) if flow else windows

    trained = fold.train(
        config, workdir, TASK, TASK.example_input(config), batches,
        to_device=lambda b: sharding.shard_batch({"frames": b["frames"], "emotion": table[b["emotion"]]}, mesh),
        example_ids=clips.clip_ids, mesh=mesh, pretrained=not flow,   # the flow stem has no pretrained weights
        validation=_validation(config, builder, validation_subjects, mesh, motions) if validation_subjects else None)
    state, selected = fold.select_checkpoint(config, trained)
    run_log = trained.run_log
    scores, per_clip = evaluate.evaluate(
        config, builder, fold.batch_predictor(trained.predict_fn, state, mesh, config.train.batch_size),
        train_subjects, test_subjects, motions["motions"])
    evaluate.log_scores(scores, run_log.text)
    for name in evaluate.PREDICTORS:
        run_log.scalars(int(state.step), {k: scores[name][k] for k in evaluate.SCALARS}, prefix=f"test/{name}")
    compilations = fold.count_compilations(trained.step_fn, trained.predict_fn, run_log)
    run_log.close()
    summary = fold.summary(TASK.name, config, state, trained.seconds, compilations, train_subjects,
                           validation_subjects, test_subjects, emotion_labels=d.emotion_labels, others=d.others,
                           classes=list(d.emotion_classes), class_weights=list(config.loss.emotion_weights),
                           evaluated_checkpoint=selected)
    summary.update({"test_clips": len(per_clip), **scores, "per_clip": per_clip})
    fold.finish(workdir, summary)
    return summary
