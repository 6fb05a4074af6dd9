"""A finished spotting run scored on another long-video dataset: does a network trained on one kind of video
(the generated ones) spot on another (semi-real footage of faces it never saw)?

    transfer.run(target_config, workdir, trained_run)

The target's subjects are split as its own config splits them (`eval.protocol`: LOSO on the semi-real
samples), and each fold is scored as a fold trained there would be (`evaluate.evaluate`): the decoder's
threshold chosen on the fold's validation subjects, the motion detector and the chance spotter on the same
test videos. Only the network differs: it comes from `trained_run` and never saw the target, so the fold's
"training" subjects give nothing but the decoder's duration prior and the chance spotter's rate. Folds are
written to WORKDIR/fold_<subject>/metrics.json and pooled into WORKDIR/results.json as a trained LOSO run's.
"""

from __future__ import annotations

import copy
import os

import jax
import ml_collections

from data_builders import lookup
from meint_jax import tasks
from meint_jax.common.errors import ConfigError
from meint_jax.data.long import pipeline as long_pipeline
from meint_jax.inference import batching
from meint_jax.tasks.spotting import evaluate as spotting_protocol
from meint_jax.tasks.spotting import results, steps
from meint_jax.training import config_checks
from meint_jax.training import run as fold
from meint_jax.training.state import TrainState


def network(trained_run: str, batch_size: int):
    """(windows' flow features [K, W, 36] -> scores [K, W, channels], the run's config dict, its step): the
    latest checkpoint of a spotting run of flow features."""
    variables, saved, step = tasks.restore_for_inference(trained_run)
    if tasks.name_of(saved) != "spotting" or saved["model"].get("inputs", "flow") != "flow":
        raise ConfigError(f"{trained_run}: not a spotting run of flow features (a {tasks.name_of(saved)} run"
                          f"{' of face frames' if tasks.name_of(saved) == 'spotting' else ''})")
    model = tasks.create_model(saved)
    state = TrainState(0, variables["params"], variables.get("batch_stats", {}), None)
    forward = jax.jit(lambda inputs: steps.predict_step(state, inputs, model=model))
    return (lambda inputs: batching.in_batches(forward, inputs, batch_size)), saved, step


def scoring_config(target: ml_collections.ConfigDict, saved: dict) -> ml_collections.ConfigDict:
    """The trained run's config (its window, frame step, emotion classes, model) with the target's dataset,
    seed (which picks each fold's validation subjects) and evaluation settings. Refused for a run trained on
    the target's dataset, whose test subjects it may have trained on."""
    trained_on = saved["data"]["name"]
    if trained_on.split("/")[0] == target.data.name.split("/")[0]:
        raise ConfigError(f"the run was trained on {trained_on}: scored on {target.data.name} it would be tested "
                          "on subjects it may have trained on; train it on another dataset, or run the target's "
                          "own config")
    config = ml_collections.ConfigDict(saved)
    for key in ("name", "data_dir", "manual_dir"):
        config.data[key] = target.data.get(key)
    config.seed = target.seed
    config.eval = copy.deepcopy(target.eval)
    return config


def run(target: ml_collections.ConfigDict, workdir: str, trained_run: str) -> dict:
    """Scores `trained_run`'s network on every fold of `target`'s dataset (a spotting config); returns the
    pooled results (LOSO: results.json's content; hold-out: the fold's metrics)."""
    config_checks.check_spotting_config(target)
    workdir = config_checks.prepare_workdir(workdir)
    builder = lookup.get_builder(target.data)
    if "flow" not in builder.info.features:
        raise ConfigError(f"config.data.name={target.data.name!r} is not a long-video dataset")
    predict_windows, saved, step = network(trained_run, target.train.batch_size)
    config = scoring_config(target, saved)
    trained_flow = config.data.get("flow_size")
    if trained_flow and trained_flow != builder.builder_config.flow_size:
        raise ConfigError(f"{trained_run}: its network read flow from a {trained_flow} px face crop, "
                          f"{target.data.name} stores it from {builder.builder_config.flow_size} px")
    videos = long_pipeline.load_videos(builder)
    origin = {"trained_run": os.path.abspath(trained_run), "trained_on": saved["data"]["name"], "train_steps": step}

    def score_fold(config, fold_dir, videos, train_subjects, test_subjects) -> dict:
        fit_subjects, validation_subjects = fold.split_validation(
            config, train_subjects, test_subjects, why="they choose the decoder's threshold")
        scores, per_video = spotting_protocol.evaluate(config, videos, predict_windows, fit_subjects,
                                                       validation_subjects, test_subjects)
        summary = {"task": "spotting", "dataset": config.data.name, **origin,
                   "classes": list(config.data.get("emotion_classes") or ()),
                   "emotion_pooling": config.eval.get("emotion_pooling", "vote"), "train_subjects": fit_subjects,
                   "validation_subjects": validation_subjects, "test_subjects": list(test_subjects), **scores,
                   "per_video": [{k: v for k, v in r.items() if k != "scores"} for r in per_video]}
        os.makedirs(fold_dir, exist_ok=True)
        fold.finish(fold_dir, summary)
        return summary

    return fold.run_folds(config, workdir, videos, long_pipeline.list_subjects(videos), score_fold,
                          results.write_results)
