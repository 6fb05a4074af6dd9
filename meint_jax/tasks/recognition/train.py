"""Clip emotion recognition (the field's UF1/UAR benchmark) on the one training loop: a fold's training, then
its evaluation.

`loop.train_and_evaluate` calls `run_fold` per hold-out or LOSO fold. A fold records its class set and class
weights from its training subjects' clips (`record_classes`: the test subjects never move them), trains
paper 001's network (or, with model.inputs='flow', paper 002's flow stem over each clip's region motion,
`clip_motions`) with an emotion head on trimmed windows of the training clips that have a class
(`fit.fit`), then classifies each test clip from its one trimmed window (onset to offset, T frames) and
scores the model beside two baselines that never look at a pixel: the training clips' majority class, and
labels drawn from the training clips' class prior (the mean over `eval.chance_runs` draws). Every score is
computed from the per-clip records metrics.json keeps (`score_clips`), so that LOSO (`write_results`) pools
all folds' clips before scoring, as the field does, rather than averaging the folds' scores.
"""

from __future__ import annotations

import copy
import json
import os

import jax
import numpy as np
from absl import logging

from meint_jax.common import files
from meint_jax.common.errors import ConfigError
from meint_jax.data import emotion_classes
from meint_jax.data.clips import flow as clip_flow
from meint_jax.data.clips import pipeline as input_pipeline
from meint_jax.metrics import recognition
from meint_jax.tasks.intensity import evaluate as intensity
from meint_jax.tasks.intensity import train as loop
from meint_jax.training import fit, loso, sharding
from meint_jax.training.run_log import RunLog
from meint_jax.training.state import jit_steps

PREDICTORS = ("model", "majority", "prior")
SCALARS = ("uf1", "uar", "f1_analysis", "accuracy")


def _class_counts(labels, classes) -> dict[str, int]:
    return {c: sum(label == c for label in labels) for c in classes}


def training_counts(config, builder, subjects) -> dict[str, int]:
    """class -> number of clips of `subjects` with that class (config.data.emotion_classes)."""
    labels = [emotion_classes.label(n, config.data.emotion_labels)
              for _, n in input_pipeline.clip_emotions(builder, subjects)]
    return _class_counts(labels, tuple(config.data.emotion_classes))


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
    counts = _class_counts([emotion_classes.label(n, d.emotion_labels) for n in natives], classes)
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


# (dataset folder, flow size, landmarks) -> subject -> {clip key: ClipMotion}: the folds of one process (a
# LOSO run) compute each clip's motion once.
_MOTIONS: dict = {}


def clip_motions(config, builder, subjects: list[str]) -> dict[str, clip_flow.ClipMotion]:
    """`clip_flow.motion_key` -> region trajectories, for the clips of `subjects`: what a flow run's windows
    read (each clip's computed once per process, whatever windows are drawn)."""
    d = config.data
    cache = _MOTIONS.setdefault((builder.data_dir, d.flow_size, d.clip_landmarks), {})
    missing = [s for s in subjects if s not in cache]
    computed = {s: {} for s in missing}
    for clip in input_pipeline.clip_frames(builder, missing) if missing else ():
        try:
            motion = clip_flow.clip_motion(clip["frames"], clip["frame_numbers"], clip["onset"], clip["offset"],
                                           d.flow_size, d.clip_landmarks)
        except ValueError as e:
            raise ConfigError(f"config.data.name={d.name!r}, clip {clip['clip_id']}: {e}") from e
        computed[clip["subject"]][clip_flow.motion_key(clip["clip_id"], clip["onset"])] = motion
    cache.update(computed)
    return {key: motion for s in subjects for key, motion in cache[s].items()}


def classify(config, builder, predict_batch, subjects: list[str], motions: dict | None = None) -> list[dict]:
    """Each clip of `subjects` classified from its one trimmed window: clip_id, subject, the dataset's label
    (`native`), its class (`true`; others or an unseen label where it is none of the classes), the model's
    class, that class's probability and every class's; with `motions` (a flow run), the window's motion
    and where the clip's regions came from."""
    spec = intensity.window_spec(config, "trimmed", jitter=False)
    windows = input_pipeline.eval_windows(builder, subjects, spec, windows_per_clip=1,
                                          image_size=config.data.image_size, label_shape=config.data.pseudo_label,
                                          seed=config.eval.seed, decode=motions is None)
    if motions is not None:
        windows["frames"] = clip_flow.windows_of(motions, windows["clip_id"], windows["onset"], windows["positions"])
    probabilities = intensity.predict_windows(predict_batch, windows, config.train.batch_size)
    names = builder.info.features["emotion"].names
    classes = tuple(config.data.emotion_classes)
    records = []
    for i, p in enumerate(probabilities):
        native, k = names[int(windows["emotion"][i])], int(np.argmax(p))
        records.append({"clip_id": windows["clip_id"][i].decode(), "subject": windows["subject"][i].decode(),
                        "native": native, "true": emotion_classes.label(native, config.data.emotion_labels),
                        "predicted": classes[k], "probability": float(p[k]),
                        "probabilities": [float(x) for x in p]})
        if motions is not None:
            key = clip_flow.motion_key(windows["clip_id"][i], windows["onset"][i])
            records[-1]["landmarks"] = motions[key].landmarks
    return records


def _mean_scores(draws: list[dict]) -> dict:
    """The scores of the prior's draws: each figure's mean (and std), the mean confusion matrix."""
    mean = {k: float(np.mean([s[k] for s in draws])) for k in SCALARS}
    return {**mean, "std": {k: float(np.std([s[k] for s in draws])) for k in SCALARS}, "runs": len(draws),
            "pairs": draws[0]["pairs"], "confusion": np.mean([s["confusion"] for s in draws], axis=0).tolist(),
            "classes": draws[0]["classes"]}


def score_clips(records: list[dict], classes) -> dict:
    """The model's, the majority class's and the prior's `recognition_scores` over per-clip records (`true`,
    `predicted`, `majority`, `prior`: one label per draw), clips of no class left out."""
    truth = [r["true"] for r in records]
    runs = min(len(r["prior"]) for r in records)
    draws = [recognition.recognition_scores(truth, [r["prior"][k] for r in records], classes) for k in range(runs)]
    return {"model": recognition.recognition_scores(truth, [r["predicted"] for r in records], classes),
            "majority": recognition.recognition_scores(truth, [r["majority"] for r in records], classes),
            "prior": _mean_scores(draws)}


def evaluate(config, builder, predict_batch, train_subjects: list[str], test_subjects: list[str],
             motions: dict | None = None):
    """(results, per-clip records) on `test_subjects`: the model and both baselines, whose class counts come
    from the clips of `train_subjects` only."""
    classes = tuple(config.data.emotion_classes)
    counts = training_counts(config, builder, train_subjects)
    majority = max(classes, key=lambda c: counts[c])          # the first in class order on a tie
    total = sum(counts.values())
    shares = np.array([counts[c] / total for c in classes])
    records = classify(config, builder, predict_batch, test_subjects, motions)
    draws = np.random.default_rng(config.eval.seed).choice(len(classes), (len(records), config.eval.chance_runs),
                                                             p=shares)
    for record, drawn in zip(records, draws):
        record["majority"] = majority
        record["prior"] = [classes[k] for k in drawn]
    scores = score_clips(records, classes)
    results = {"train_class_counts": counts, "model": scores["model"],
               "majority": {"class": majority, **scores["majority"]},
               "prior": {"class_prior": dict(zip(classes, shares.tolist())), **scores["prior"]}}
    return results, records


def flow_batches(batches, motions: dict, config, start_step: int):
    """Training batches (of windows' frame numbers, no frames) with `frames` holding the windows' region
    motion [B, T, 36], each window's scaled by one factor from U(1 - s, 1 + s) (paper 002's augmentation),
    drawn from (seed, step, process) so that a resumed run draws what an uninterrupted one would."""
    scale = config.data.feature_scale
    for step, batch in enumerate(batches, start_step):
        motion = clip_flow.windows_of(motions, batch["clip_id"], batch["onset"], batch["positions"])
        if scale:
            rng = np.random.default_rng([config.seed, 7, step, jax.process_index()])
            motion *= rng.uniform(1 - scale, 1 + scale, (len(motion), 1, 1)).astype(np.float32)
        yield {**batch, "frames": motion}


def _log_scores(results: dict, log) -> None:
    for name in PREDICTORS:
        r = results[name]
        log("%-8s UF1 %.3f, UAR %.3f, accuracy %.3f (%d clips scored)", name, r["uf1"], r["uar"], r["accuracy"],
            r["pairs"])


def _validate(config, builder, predict_batch, validation_subjects, state, best_ckpt, run_log, step: int,
              motions: dict | None = None) -> None:
    """UF1 on the validation subjects' clips; keeps the checkpoint if it is the best so far."""
    records = classify(config, builder, predict_batch, validation_subjects, motions)
    uf1, uar = recognition.uf1_uar([r["true"] for r in records], [r["predicted"] for r in records],
                                   tuple(config.data.emotion_classes))
    run_log.scalars(step, {"uf1": uf1, "uar": uar}, prefix="validation")
    best_ckpt.save(step, state, config.to_dict(), metrics={"validation_uf1": uf1})
    best = best_ckpt.best()
    run_log.text("step %d: validation UF1 %.3f, UAR %.3f (best UF1 %.3f at step %d)", step, uf1, uar,
                 best[1] if best else uf1, best[0] if best else step)


def run_fold(config, workdir: str, builder, train_subjects: list[str], test_subjects: list[str]) -> dict:
    """Trains on `train_subjects` less any validation subjects (they pick the best checkpoint by UF1 with
    eval.select='best'), tests on `test_subjects`; writes metrics.json."""
    os.makedirs(workdir, exist_ok=True)
    train_subjects, validation_subjects = loop.split_validation(config, train_subjects, test_subjects)
    config = record_classes(loop.record_dataset_facts(config, builder, train_subjects), builder, train_subjects)
    t, d = config.train, config.data
    ckpt, saved = fit.open_run(workdir, config)

    mesh = sharding.data_mesh()
    model, tx, state, best_ckpt = loop.start_clip_run(config, workdir, ckpt, saved, mesh, validation_subjects,
                                                      "validation_uf1")
    start_step = int(state.step)

    step_fn, predict_fn = jit_steps(model, tx, config, out_sharding=sharding.replicated(mesh))
    run_log = RunLog(workdir, start_step)
    if start_step:
        run_log.text("resumed from %s", ckpt.step_dir(start_step))
    motions = None
    if config.model.get("inputs", "frames") == "flow":
        motions = clip_motions(config, builder, train_subjects + validation_subjects + test_subjects)
        templated = sorted(c for c, m in motions.items() if m.landmarks == "template")
        run_log.text("region motion of %d clips at %d px; regions placed by the template on %d of them%s",
                     len(motions), d.flow_size, len(templated),
                     "" if d.clip_landmarks == "template" or not templated else
                     f" (dlib found no face: {', '.join(templated[:10])}{', ...' if len(templated) > 10 else ''})")
    table = class_table(config, builder)
    batches = input_pipeline.train_batches(
        builder, train_subjects, intensity.window_spec(config, d.train_window, d.jitter), batch_size=t.batch_size,
        image_size=d.image_size, label_shape=d.pseudo_label, augment=loop.augmentation(d), seed=config.seed,
        start_step=start_step, process_index=jax.process_index(), process_count=jax.process_count(),
        emotions=np.flatnonzero(table >= 0), decode=motions is None)
    if motions is not None:
        batches = flow_batches(batches, motions, config, start_step)
    predictor = lambda state: loop.batch_predictor(predict_fn, state, mesh, t.batch_size)  # noqa: E731

    def on_checkpoint(step, state):
        if best_ckpt is not None:
            _validate(config, builder, predictor(state), validation_subjects, state, best_ckpt, run_log, step,
                      motions)

    state, train_seconds = fit.fit(
        config, state, step_fn, batches,
        to_device=lambda b: sharding.shard_batch({"frames": b["frames"], "emotion": table[b["emotion"]]}, mesh),
        example_ids=lambda b: "clips " + ", ".join(c.decode() for c in b["clip_id"]),
        ckpt=ckpt, run_log=run_log, on_checkpoint=on_checkpoint, closing=(best_ckpt,))

    state, selected = loop.select_checkpoint(config, state, best_ckpt)
    results, per_clip = evaluate(config, builder, predictor(state), train_subjects, test_subjects, motions)
    _log_scores(results, run_log.text)
    for name in PREDICTORS:
        run_log.scalars(int(state.step), {k: results[name][k] for k in SCALARS}, prefix=f"test/{name}")
    compilations = loop.count_compilations(step_fn, predict_fn, run_log)
    run_log.close()
    summary = {
        "task": "recognition", "dataset": d.name, "variant": config.variant, "emotion_labels": d.emotion_labels,
        "others": d.others, "classes": list(d.emotion_classes), "class_weights": list(config.loss.emotion_weights),
        "train_steps": int(state.step), "evaluated_checkpoint": selected, "compilations": compilations,
        "train_seconds_this_run": round(train_seconds, 1), "train_subjects": train_subjects,
        "validation_subjects": validation_subjects, "test_subjects": test_subjects, "test_clips": len(per_clip),
        **results, "per_clip": per_clip,
    }
    if jax.process_index() == 0:
        files.write_text(os.path.join(workdir, "metrics.json"), json.dumps(summary, indent=2))
        logging.info("Wrote %s.", os.path.join(workdir, "metrics.json"))
    return summary


def write_results(workdir: str, subjects: list[str] | None = None) -> dict:
    """Pools every finished fold's clips (`WORKDIR/fold_*/metrics.json`) and scores them together into
    `WORKDIR/results.json`: UF1 and UAR over all folds' predictions, as the field reports them."""
    folds = loso.finished_folds(workdir)
    class_sets = [tuple(f["classes"]) for f in folds.values()]
    # Folds agree on the class set unless it is the native labels seen in training (sorted): then their union.
    classes = list(class_sets[0]) if len(set(class_sets)) == 1 else sorted({c for s in class_sets for c in s})
    records = [r for f in folds.values() for r in f["per_clip"]]
    results = {"protocol": "loso", "task": "recognition", "folds_done": sorted(folds),
               "folds_missing": sorted(set(subjects or ()) - set(folds)), "classes": classes,
               "clips": len(records), **score_clips(records, classes),
               "per_fold": {s: {k: f["model"][k] for k in ("uf1", "uar", "pairs")} for s, f in folds.items()}}
    if jax.process_index() == 0:
        files.write_text(os.path.join(workdir, "results.json"), json.dumps(results, indent=2))
    if results["folds_missing"]:
        logging.warning("results.json covers %d folds; %d still to run: %s", len(folds),
                        len(results["folds_missing"]), ", ".join(results["folds_missing"]))
    logging.info("LOSO recognition over %d folds, %d clips scored: model UF1 %.3f, UAR %.3f (majority %.3f/%.3f, "
                 "prior %.3f/%.3f)", len(folds), results["model"]["pairs"], results["model"]["uf1"],
                 results["model"]["uar"], results["majority"]["uf1"], results["majority"]["uar"],
                 results["prior"]["uf1"], results["prior"]["uar"])
    return results


def write_composite(workdirs: list[str], output: str) -> dict:
    """The MEGC 2019 composite: the clips of several datasets' LOSO runs (e.g. CASME II and SAMM, each with
    the three classes) pooled and scored together into `output/results.json`; per dataset beside it. SMIC,
    the third dataset of MEGC 2019, is not read by meint-jax yet."""
    parts, records = {}, []
    for workdir in workdirs:
        folds = loso.finished_folds(workdir)
        labels = {f.get("emotion_labels", "three") for f in folds.values()}
        if labels != {"three"}:
            raise ConfigError(f"{workdir}: trained with data.emotion_labels={sorted(labels)}; the composite pools "
                              "the three classes (data.emotion_labels='three') only")
        name = next(iter(folds.values())).get("dataset", workdir)
        clips = [dict(r, subject=f"{name}/{r['subject']}") for f in folds.values() for r in f["per_clip"]]
        parts[name] = {"folds": len(folds), "clips": len(clips),
                       **score_clips(clips, emotion_classes.THREE)}
        records += clips
    results = {"protocol": "composite (LOSO per dataset, clips pooled)", "task": "recognition",
               "datasets": sorted(parts), "classes": list(emotion_classes.THREE), "clips": len(records),
               **score_clips(records, emotion_classes.THREE), "per_dataset": parts}
    files.write_text(os.path.join(files.writable_folder(output, "output"), "results.json"),
                     json.dumps(results, indent=2))
    logging.info("Composite over %s, %d clips scored: UF1 %.3f, UAR %.3f (majority %.3f/%.3f)",
                 ", ".join(sorted(parts)), results["model"]["pairs"], results["model"]["uf1"],
                 results["model"]["uar"], results["majority"]["uf1"], results["majority"]["uar"])
    return results
