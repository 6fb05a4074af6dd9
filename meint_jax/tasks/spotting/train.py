"""A spotting fold (paper 002's task): training on the engine, then `evaluate.py`'s whole-video protocol.

`run` loads the long videos once and runs the hold-out fold or the LOSO folds. A fold splits validation
subjects off its training subjects (they choose the decoder's settings: the test subjects never do), records
the emotion classes and their loss weights from the training subjects, trains on windows of the rest
(`long_pipeline.train_batches`), then scores whole test videos and the baselines into `metrics.json`, with
`timelines.png`.

With an emotion head the model learns spotting and the emotions together (paper 002); the `separate`
ablation (`config.train.separate`) trains a spotting model and an emotion model instead, each for the
whole step budget, in `WORKDIR/spotting` and `WORKDIR/recognition`, and evaluates their joint prediction.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import os

import jax
import jax.numpy as jnp
import numpy as np

from meint_jax.common.errors import ConfigError
from meint_jax.data import emotion_classes
from meint_jax.data.long import pipeline as long_pipeline
from meint_jax.inference import batching
from meint_jax.metrics import plots
from meint_jax.tasks.spotting import TASK, results
from meint_jax.tasks.spotting import evaluate as spotting_protocol
from meint_jax.training import losses, sharding
from meint_jax.training import run as fold
from meint_jax.training.run_log import RunLog


def run(config, workdir: str, builder) -> dict:
    """The long videos of `builder` loaded once, then the hold-out fold or the LOSO folds."""
    if "flow" not in builder.info.features:
        raise ConfigError(f"config.data.name={config.data.name!r} is not a long-video dataset (e.g. "
                          "synthetic_long/default, casme3/features)")
    fold_fn = run_fold
    if config.model.inputs == "frames":
        if "chunk" not in builder.info.features:
            raise ConfigError(f"config.model.inputs='frames' needs face frames: config.data.name="
                              f"{config.data.name!r} stores flow features only; use its frames_* config")
        fold_fn = functools.partial(run_fold, frames=long_pipeline.FrameReader(builder))
    config = copy.deepcopy(config)
    for key in ("flow_size", "anchor_every"):    # new recordings must get the features the model learnt on
        if config.data.get(key) is None:
            config.data[key] = int(getattr(builder.builder_config, key))
    videos = long_pipeline.load_videos(builder)
    if config.data.get("fps") is None and videos:
        config.data.fps = float(np.median([v.video.fps for v in videos]))
    return fold.run_folds(config, workdir, videos, long_pipeline.list_subjects(videos), fold_fn,
                          results.write_results)


def _record_facts(config, training_videos, fit_videos=None):
    """A copy of `config` with what the training subjects tell: the emotion classes and their loss weights
    (never the test subjects). Paper 002's weights (`loss.class_weights='paper'`) come from the windows its
    sampler takes from `fit_videos` (the videos that train; default `training_videos`)."""
    config = copy.deepcopy(config)
    d, m, lo = config.data, config.model, config.loss
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
        paper = lo.get("class_weights", "ours") == "paper"
        lo.emotion_weights = (paper_class_weights if paper else class_weights)(
            fit_videos if paper and fit_videos is not None else training_videos, config)
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
                                              spec.emotion_labels, spec.macro_frames)
        counts += np.bincount(labels[labels >= 0], minlength=len(classes) + 1)
    weights = np.ones(len(classes))
    seen = counts[:-1] > 0
    if config.loss.balance_classes and seen.any():
        weights[seen] = counts[:-1][seen].sum() / (seen.sum() * counts[:-1][seen])
    return tuple(round(float(w), 6) for w in weights) + (float(config.loss.neutral_weight),)


def paper_class_weights(videos, config) -> tuple[float, ...]:
    """Paper 002's weights (`losses.paper_class_weights`: scikit-learn's balanced weights, neutral's x 6) from
    the frames of the training windows its sampler takes (`long_pipeline.paper_windows`: its grid, its ratio,
    this run's seed), each frame once per window holding it, as their code counts them."""
    spec = dataclasses.replace(spotting_protocol.window_spec(config, train=True), grid="paper")
    windows, _ = long_pipeline.paper_windows(videos, spec, config.seed)
    labels = []
    for number, start in windows:
        v = videos[number]
        index, mask = long_pipeline.window_indices(v.video.num_frames, int(start), spec)
        emotions = long_pipeline.frame_emotions(v.video.frame_numbers[index], v.video.intervals, spec.emotion_classes,
                                                spec.emotion_labels, spec.macro_frames)
        labels.append(emotions[mask > 0])
    weights = losses.paper_class_weights(np.concatenate(labels), len(spec.emotion_classes) + 1)
    return tuple(round(float(w), 6) for w in weights)


def _augmented(batches, config, start_step: int):
    """Each window's features scaled by one factor from U(1 - s, 1 + s) (paper 002), drawn from (seed, step),
    so that a resumed run draws what an uninterrupted one would."""
    scale = config.data.feature_scale
    for step, batch in enumerate(batches, start_step):
        if scale:
            rng = np.random.default_rng([config.seed, 7, step])
            factors = rng.uniform(1 - scale, 1 + scale, (len(batch["features"]), 1, 1)).astype(np.float32)
            batch["features"] = batch["features"] * factors
        yield batch


def window_predictor(predict_fn, state, mesh, batch_size: int):
    """windows' inputs [K, W, ...] -> scores [K, W, 2], in batches of `batch_size` (the last padded)."""
    predict_batch = fold.batch_predictor(predict_fn, state, mesh, batch_size, key="inputs")
    return lambda inputs: batching.in_batches(predict_batch, inputs, batch_size)


def run_fold(config, workdir: str, videos, train_subjects: list[str], test_subjects: list[str],
             frames=None) -> dict:
    """Trains on `train_subjects` less the validation subjects, evaluates on `test_subjects`.

    `frames` (a `long_pipeline.FrameReader`) feeds the model face frames (config.model.inputs='frames')."""
    os.makedirs(workdir, exist_ok=True)
    fit_subjects, validation_subjects = fold.split_validation(
        config, train_subjects, test_subjects, why="spotting needs validation subjects to choose its decoder's "
        "settings")
    fit_videos = long_pipeline.of_subjects(videos, fit_subjects)
    config = _record_facts(config, long_pipeline.of_subjects(videos, train_subjects), fit_videos)
    d = config.data
    mesh = sharding.data_mesh()
    if config.train.get("separate"):
        predict_windows, state, seconds, compilations = _train_separately(config, workdir, fit_videos, frames, mesh)
    else:
        trained = _train(config, workdir, fit_videos, frames, mesh)
        state, seconds, run_log = trained.state, trained.seconds, trained.run_log
        predict_windows = window_predictor(trained.predict_fn, state, mesh, config.train.batch_size)
        compilations = fold.count_compilations(trained.step_fn, trained.predict_fn, run_log)
        run_log.close()
    run_log = RunLog(workdir, int(state.step))
    scores, per_video = spotting_protocol.evaluate(
        config, videos, predict_windows, fit_subjects, validation_subjects, test_subjects, frames)
    results.log_results(scores, run_log.text)
    for name in ("model", "motion", "chance"):
        run_log.scalars(int(state.step), {f"{k}_f1": scores[name][k]["f1"] for k in ("micro", "macro", "overall")},
                        prefix=f"test/{name}")
    for name in ("model", "majority", "class_prior"):
        if "recognition" in scores.get(name, {}):
            run_log.scalars(int(state.step), {f"{k}_{key}": scores[name]["recognition"][k][key]
                                              for k in ("micro", "overall") for key in ("strs", "f1_analysis")},
                            prefix=f"test/{name}")
    run_log.close()
    summary = fold.summary(TASK.name, config, state, seconds, compilations, fit_subjects, validation_subjects,
                           test_subjects, classes=list(config.data.emotion_classes or ()),
                           emotion_labels=d.emotion_labels, others=d.others,
                           emotion_pooling=config.eval.get("emotion_pooling", "vote"),
                           emotion_weights=list(config.loss.emotion_weights or ()))
    summary.update({**scores, "per_video": [{k: v for k, v in r.items() if k != "scores"} for r in per_video]})
    by_id = {v.video.video_id: v for v in videos}
    panels = [{"video_id": r["video_id"], "scores": r["scores"], "truth": r["truth"], "predicted": r["model"],
               "frame_numbers": spotting_protocol.grid_numbers(by_id[r["video_id"]], d.frame_step)}
              for r in per_video[:config.eval.timelines]]
    title = f"{d.name} ({config.variant}), held-out subjects, step {int(state.step)}"
    fold.finish(workdir, summary, {"timelines.png": lambda path: plots.plot_timelines(path, panels, title)}
                if panels else None)
    return summary


def _train(config, workdir, fit_videos, frames, mesh) -> fold.Trained:
    """One model trained on `fit_videos`' windows in `workdir` (its log still open)."""
    if frames is not None:
        size = frames.frame_size
        example = jax.ShapeDtypeStruct((1, config.data.window, size, size, 3), jnp.uint8)
    else:
        example = TASK.example_input(config)
    inputs = "frames" if frames is not None else "features"
    keys = ("targets", "mask", "emotions") if config.model.get("emotion_outputs") else ("targets", "mask")
    batches = lambda start_step, run_log: _augmented(long_pipeline.train_batches(
        fit_videos, spotting_protocol.window_spec(config, train=True), batch_size=config.train.batch_size,
        seed=config.seed, start_step=start_step, frames=frames, process_index=jax.process_index(),
        process_count=jax.process_count()), config, start_step)
    return fold.train(
        config, workdir, TASK, example, batches,
        to_device=lambda b: sharding.shard_batch({"inputs": b[inputs], **{k: b[k] for k in keys}}, mesh),
        example_ids=lambda b: "windows of " + ", ".join(sorted({fit_videos[i].video.video_id
                                                                 for i in b["video_index"]})),
        mesh=mesh)


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
    both = []
    for part, name in ((spotter, "spotting"), (recogniser, "recognition")):
        both.append(_train(part, os.path.join(workdir, name), fit_videos, frames, mesh))
        both[-1].run_log.close()
    spot, emotions = (window_predictor(t.predict_fn, t.state, mesh, config.train.batch_size) for t in both)
    predict = lambda inputs: np.concatenate([spot(inputs)[..., :2], emotions(inputs)[..., 2:]], axis=-1)
    compilations = {"train_step": sum(t.step_fn._cache_size() for t in both),
                    "predict_step": sum(t.predict_fn._cache_size() for t in both)}
    return predict, both[0].state, both[0].seconds + both[1].seconds, compilations
