"""Spotting runs (paper 002's task) on the one training loop: a fold's training, then its evaluation.

`loop.train_and_evaluate` loads the long videos and calls `run_fold` per hold-out or LOSO fold. A fold
splits validation subjects off its training subjects (they choose the decoder's settings: the test
subjects never do), records the training expressions' median lengths in the config, trains on windows of
the rest (`long_pipeline.train_batches`) with `fit.fit`, then scores whole test videos and the two
baselines (`evaluation.spotting_protocol`) into `metrics.json`, with `timelines.png`.
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
from meint_jax.data import input_pipeline, long_pipeline
from meint_jax.evaluation import loso, plots, spotting_protocol
from meint_jax.models import create_model
from meint_jax.training import fit, sharding
from meint_jax.training.run_log import RunLog
from meint_jax.training.steps import create_optimizer, init_state, jit_steps

FEATURES = 36


def _record_facts(config, training_videos):
    config = copy.deepcopy(config)
    step = config.data.frame_step
    for kind in ("micro", "macro"):
        key = f"{kind}_frames"
        if config.data[key] is None:
            lengths = spotting_protocol.grid_lengths(training_videos, kind, step)
            config.data[key] = float(np.median(lengths)) if lengths else None
    return config


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
    ckpt, saved = fit.open_run(workdir, config)

    mesh = sharding.data_mesh()
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
    run_log = RunLog(workdir, int(state.step))
    if int(state.step):
        run_log.text("resumed from %s", ckpt.step_dir(int(state.step)))
    state, train_seconds = fit.fit(
        config, state, step_fn, batches,
        to_device=lambda b: sharding.shard_batch({"inputs": b[inputs], "targets": b["targets"],
                                                  "mask": b["mask"]}, mesh),
        example_ids=lambda b: "windows of " + ", ".join(sorted({fit_videos[i].video.video_id
                                                                 for i in b["video_index"]})),
        ckpt=ckpt, run_log=run_log)

    results, per_video = spotting_protocol.evaluate(
        config, videos, window_predictor(predict_fn, state, mesh, t.batch_size), fit_subjects,
        validation_subjects, test_subjects, frames)
    for name in ("model", "motion", "chance"):
        run_log.text("%-7s F1 micro %.3f, macro %.3f, overall %.3f", name, results[name]["micro"]["f1"],
                     results[name]["macro"]["f1"], results[name]["overall"]["f1"])
        run_log.scalars(int(state.step), {f"{k}_f1": results[name][k]["f1"] for k in ("micro", "macro", "overall")},
                        prefix=f"test/{name}")
    run_log.close()
    summary = {
        "task": "spotting", "dataset": d.name, "variant": config.variant, "train_steps": int(state.step),
        "train_seconds_this_run": round(train_seconds, 1), "compilations": {
            "train_step": step_fn._cache_size(), "predict_step": predict_fn._cache_size()},
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


def write_results(workdir: str, subjects: list[str] | None = None) -> dict:
    """Pools every finished fold's counts (`WORKDIR/fold_*/metrics.json`) into `WORKDIR/results.json`."""
    folds = loso.finished_folds(workdir)
    pooled = spotting_protocol.pool_folds(list(folds.values()))
    results = {"protocol": "loso", "task": "spotting", "folds_done": sorted(folds),
               "folds_missing": sorted(set(subjects or ()) - set(folds)), **pooled}
    if jax.process_index() == 0:
        files.write_text(os.path.join(workdir, "results.json"), json.dumps(results, indent=2))
    logging.info("LOSO spotting over %d folds: model F1 micro %.3f (motion %.3f, chance %.3f)", len(folds),
                 pooled["model"]["micro"]["f1"], pooled["motion"]["micro"]["f1"], pooled["chance"]["micro"]["f1"])
    return results
