"""Spotting runs (paper 002's task) on the one training loop: a fold's training, then its evaluation.

`loop.train_and_evaluate` loads the long videos and calls `run_fold` per hold-out or LOSO fold. A fold
splits validation subjects off its training subjects (they choose the decoder's settings: the test
subjects never do), records the training expressions' median lengths in the config, trains on windows of
the rest (`long_pipeline.train_batches`) with `fit.fit`, then scores whole test videos and the two
baselines (`evaluation.spotting_protocol`) into `metrics.json`, with `timelines.png`.

With an emotion head the model learns spotting and the emotions together (paper 002); the `separate`
ablation (`config.train.separate`) trains a spotting model and an emotion model instead, each for the
whole step budget, in `WORKDIR/spotting` and `WORKDIR/recognition`, and evaluates their joint prediction.
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
from meint_jax.data.clips import pipeline as input_pipeline
from meint_jax.data.long import pipeline as long_pipeline
from meint_jax.metrics import plots
from meint_jax.models import create_model
from meint_jax.tasks.spotting import evaluate as spotting_protocol
from meint_jax.training import fit, loso, sharding
from meint_jax.training.run_log import RunLog
from meint_jax.training.state import create_optimizer, init_state, jit_steps

FEATURES = 36


def _record_facts(config, training_videos):
    """A copy of `config` with what the training subjects tell: expression lengths, emotion classes and
    their loss weights (never the test subjects)."""
    config = copy.deepcopy(config)
    d, m, lo = config.data, config.model, config.loss
    step = d.frame_step
    for kind in ("micro", "macro"):
        key = f"{kind}_frames"
        if d[key] is None:
            lengths = spotting_protocol.grid_lengths(training_videos, kind, step)
            d[key] = float(np.median(lengths)) if lengths else None
    if d.get("emotion_classes") is None:
        natives = [i.native_emotion for v in training_videos for i in v.video.intervals]
        d.emotion_classes = emotion_classes.classes(d.emotion_labels, d.others, natives)
    if m.get("emotion_head") and m.emotion_outputs is None:
        if not d.emotion_classes:
            raise ConfigError(f"config.data.emotion_labels={d.emotion_labels!r}: the training subjects of "
                              f"{d.name} have no expression with an emotion of that set; set "
                              "config.model.emotion_head=False to spot without emotions")
        m.emotion_outputs = len(d.emotion_classes) + 1
    if m.get("emotion_head") and lo.emotion_weights is None:
        lo.emotion_weights = class_weights(training_videos, config)
    return config


def class_weights(videos, config) -> tuple[float, ...]:
    """The cross-entropy weight of each emotion class, then neutral's (`loss.neutral_weight`): with
    `loss.balance_classes`, 1 / the class's share of the expression frames of `videos`, scaled to mean 1
    (a class with no frame weighs 1)."""
    spec = spotting_protocol.window_spec(config)
    classes = tuple(config.data.emotion_classes)
    counts = np.zeros(len(classes) + 1)
    for v in videos:
        labels = long_pipeline.frame_emotions(v.video.frame_numbers[::spec.frame_step], v.video.intervals, classes,
                                              spec.emotion_labels)
        counts += np.bincount(labels[labels >= 0], minlength=len(classes) + 1)
    weights = np.ones(len(classes))
    seen = counts[:-1] > 0
    if config.loss.balance_classes and seen.any():
        weights[seen] = counts[:-1][seen].sum() / (seen.sum() * counts[:-1][seen])
    return tuple(round(float(w), 6) for w in weights) + (float(config.loss.neutral_weight),)


def _augmented(batches, config):
    """Each window's features scaled by one factor from U(1 - s, 1 + s) (paper 002), drawn from (seed, step)."""
    scale, step = config.data.feature_scale, 0
    for batch in batches:
        if scale:
            rng = np.random.default_rng([config.seed, 7, step])
            factors = rng.uniform(1 - scale, 1 + scale, (len(batch["features"]), 1, 1)).astype(np.float32)
            batch["features"] = batch["features"] * factors
        step += 1
        yield batch


def window_predictor(predict_fn, state, mesh, batch_size: int):
    """windows' inputs [K, W, ...] -> scores [K, W, 2], in batches of `batch_size` (the last padded)."""
    rows = sharding.local_rows(batch_size)

    def predict_batch(inputs):
        return predict_fn(state, sharding.shard_batch({"inputs": inputs[rows]}, mesh)["inputs"])

    return lambda inputs: spotting_protocol.in_batches(predict_batch, inputs, batch_size)


def run_fold(config, workdir: str, videos, train_subjects: list[str], test_subjects: list[str],
             frames=None) -> dict:
    """Trains on `train_subjects` less the validation subjects, evaluates on `test_subjects`.

    `frames` (a `long_pipeline.FrameReader`) feeds the model face frames (config.model.inputs='frames')."""
    os.makedirs(workdir, exist_ok=True)
    try:
        fit_subjects, validation_subjects = input_pipeline.split_subjects(
            train_subjects, config.eval.validation_subjects, config.seed + 1)
    except ValueError as e:
        raise ConfigError(f"config.eval.validation_subjects: {e} (spotting needs validation subjects to choose "
                          "its decoder's settings)") from e
    logging.info("Subjects: %d train, %d validation, %d test (%s).", len(fit_subjects), len(validation_subjects),
                 len(test_subjects), ", ".join(test_subjects))
    fit_videos = long_pipeline.of_subjects(videos, fit_subjects)
    config = _record_facts(config, long_pipeline.of_subjects(videos, train_subjects))
    t, d = config.train, config.data
    mesh = sharding.data_mesh()
    if config.train.get("separate"):
        predict_windows, state, seconds, compilations = _train_separately(config, workdir, fit_videos, frames, mesh)
    else:
        state, step_fn, predict_fn, seconds = _train(config, workdir, fit_videos, frames, mesh)
        predict_windows = window_predictor(predict_fn, state, mesh, t.batch_size)
        compilations = {"train_step": step_fn._cache_size(), "predict_step": predict_fn._cache_size()}
    run_log = RunLog(workdir, int(state.step))
    results, per_video = spotting_protocol.evaluate(
        config, videos, predict_windows, fit_subjects, validation_subjects, test_subjects, frames)
    log_results(results, run_log.text)
    for name in ("model", "motion", "chance"):
        run_log.scalars(int(state.step), {f"{k}_f1": results[name][k]["f1"] for k in ("micro", "macro", "overall")},
                        prefix=f"test/{name}")
    for name in ("model", "majority", "class_prior"):
        if "recognition" in results.get(name, {}):
            run_log.scalars(int(state.step), {f"{k}_{key}": results[name]["recognition"][k][key]
                                              for k in ("micro", "overall") for key in ("strs", "f1_analysis")},
                            prefix=f"test/{name}")
    run_log.close()
    summary = {
        "task": "spotting", "dataset": d.name, "variant": config.variant, "train_steps": int(state.step),
        "train_seconds_this_run": round(seconds, 1), "compilations": compilations,
        "classes": list(config.data.emotion_classes or ()), "emotion_labels": d.emotion_labels,
        "others": d.others, "emotion_pooling": config.eval.get("emotion_pooling", "vote"),
        "train_subjects": fit_subjects, "validation_subjects": validation_subjects, "test_subjects": test_subjects,
        **results,
        "per_video": [{k: v for k, v in r.items() if k != "scores"} for r in per_video],
    }
    if jax.process_index() == 0:
        files.write_text(os.path.join(workdir, "metrics.json"), json.dumps(summary, indent=2))
        by_id = {v.video.video_id: v for v in videos}
        panels = [{"video_id": r["video_id"], "scores": r["scores"], "truth": r["truth"], "predicted": r["model"],
                   "frame_numbers": spotting_protocol.grid_numbers(by_id[r["video_id"]], d.frame_step)}
                  for r in per_video[:config.eval.timelines]]
        if panels:
            files.write_with(os.path.join(workdir, "timelines.png"), lambda path: plots.plot_timelines(
                path, panels, f"{d.name} ({config.variant}), held-out subjects, step {int(state.step)}"))
    return summary


def _train(config, workdir, fit_videos, frames, mesh):
    """(state, train step, forward pass, seconds): one model trained on `fit_videos`' windows in `workdir`."""
    t, d = config.train, config.data
    ckpt, saved = fit.open_run(workdir, config)
    model = create_model(config.model)
    tx = create_optimizer(t)
    if frames is not None:
        size = frames.frame_size
        state = init_state(model, tx, (1, d.window, size, size, 3), config.seed)
    else:
        state = init_state(model, tx, (1, d.window, FEATURES), config.seed, dtype=np.float32)
    if saved is not None:
        state, _ = ckpt.restore(state)
    state = sharding.replicate(state, mesh)
    step_fn, predict_fn = jit_steps(model, tx, config, out_sharding=sharding.replicated(mesh))
    batches = _augmented(long_pipeline.train_batches(
        fit_videos, spotting_protocol.window_spec(config, train=True), batch_size=t.batch_size, seed=config.seed,
        start_step=int(state.step), frames=frames, process_index=jax.process_index(),
        process_count=jax.process_count()), config)
    inputs = "frames" if frames is not None else "features"
    keys = ("targets", "mask", "emotions") if config.model.get("emotion_outputs") else ("targets", "mask")
    run_log = RunLog(workdir, int(state.step))
    if int(state.step):
        run_log.text("resumed from %s", ckpt.step_dir(int(state.step)))
    state, seconds = fit.fit(
        config, state, step_fn, batches,
        to_device=lambda b: sharding.shard_batch({"inputs": b[inputs], **{k: b[k] for k in keys}}, mesh),
        example_ids=lambda b: "windows of " + ", ".join(sorted({fit_videos[i].video.video_id
                                                                 for i in b["video_index"]})),
        ckpt=ckpt, run_log=run_log)
    run_log.close()
    return state, step_fn, predict_fn, seconds


def _train_separately(config, workdir, fit_videos, frames, mesh):
    """The `separate` ablation: a spotting model (no emotion head) and an emotion model (spotting loss weight
    0), each for the whole step budget; windows are scored by the first's spotting channels and the second's
    emotion channels. Returns (window predictor, the spotting model's state, seconds, compilations)."""
    spotter = copy.deepcopy(config)
    spotter.train.separate, spotter.model.emotion_head, spotter.model.emotion_outputs = False, False, None
    spotter.loss.spotting_weight, spotter.loss.emotion_weight = 1.0, 0.0
    recogniser = copy.deepcopy(config)
    recogniser.train.separate = False
    recogniser.loss.spotting_weight, recogniser.loss.emotion_weight = 0.0, 1.0
    spot_state, spot_step, spot_forward, spot_seconds = _train(spotter, os.path.join(workdir, "spotting"),
                                                               fit_videos, frames, mesh)
    emo_state, emo_step, emo_forward, emo_seconds = _train(recogniser, os.path.join(workdir, "recognition"),
                                                           fit_videos, frames, mesh)
    spot = window_predictor(spot_forward, spot_state, mesh, config.train.batch_size)
    emotions = window_predictor(emo_forward, emo_state, mesh, config.train.batch_size)
    predict = lambda inputs: np.concatenate([spot(inputs)[..., :2], emotions(inputs)[..., 2:]], axis=-1)
    compilations = {"train_step": spot_step._cache_size() + emo_step._cache_size(),
                    "predict_step": spot_forward._cache_size() + emo_forward._cache_size()}
    return predict, spot_state, spot_seconds + emo_seconds, compilations


def log_results(results: dict, log) -> None:
    """One line per predictor: spotting F1 (and STRS and its parts where emotions are scored)."""
    for name in ("model", "model_neutral_dropped", "motion", "chance", "majority", "class_prior"):
        r = results.get(name)
        if r is None:
            continue
        line = (f"F1 micro {r['micro']['f1']:.3f}, macro {r['macro']['f1']:.3f}, overall {r['overall']['f1']:.3f}"
                if "micro" in r else "(the model's intervals)")
        if "recognition" in r:
            rec = r["recognition"]["micro"]
            line += (f"; micro STRS {rec['strs']:.3f} (F1_analysis {rec['f1_analysis']:.3f}, UF1 {rec['uf1']:.3f}, "
                     f"UAR {rec['uar']:.3f})")
        log("%-22s %s", name, line)


def write_results(workdir: str, subjects: list[str] | None = None) -> dict:
    """Pools every finished fold's counts (`WORKDIR/fold_*/metrics.json`) into `WORKDIR/results.json`."""
    folds = loso.finished_folds(workdir)
    pooled = spotting_protocol.pool_folds(list(folds.values()))
    results = {"protocol": "loso", "task": "spotting", "folds_done": sorted(folds),
               "folds_missing": sorted(set(subjects or ()) - set(folds)), **pooled}
    if jax.process_index() == 0:
        files.write_text(os.path.join(workdir, "results.json"), json.dumps(results, indent=2))
    logging.info("LOSO spotting over %d folds:", len(folds))
    log_results(pooled, logging.info)
    return results
