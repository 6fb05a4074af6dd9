"""Intensity on held-out subjects: the model and the position prior in both protocols.

`trimmed` is the paper's protocol (T positions from onset to offset);
`untrimmed` windows reach into neutral frames, so only a model that reads the
face can place the expression. The prior never sees pixels: it is the mean
training target at each window position. A flow run (model.inputs='flow')
reads each window's region motion, off its clip's trajectories, in place of
its frames.
"""

from __future__ import annotations

import numpy as np

from meint_jax.data.clips import flow as clip_flow
from meint_jax.data.clips import pipeline as input_pipeline
from meint_jax.inference import batching
from meint_jax.metrics import correlation as metrics
from meint_jax.training.clips import window_spec

PROTOCOLS = ("trimmed", "untrimmed")


def predict_windows(predict_batch, windows: dict, batch_size: int) -> np.ndarray:
    """Model predictions [N, ...] for every window, in fixed-size batches (one compiled shape).

    `predict_batch` maps frames [batch_size, T, H, W, 3] (or region motion [batch_size, T, 36]) to
    predictions [batch_size, ...] (the training loop's shards them over its device mesh).
    """
    return batching.in_batches(predict_batch, windows["frames"], batch_size)


def fit_position_prior(train_targets: np.ndarray) -> np.ndarray:
    """The position prior, a predictor that never sees a pixel: the mean target [T] over training windows
    [N, T] at each window position. In the trimmed protocol it already scores high, because the window itself
    says where onset and offset are; in the untrimmed protocol a model has to beat it by looking at the face."""
    return np.asarray(train_targets, np.float64).mean(axis=0)


def predict_position_prior(prior: np.ndarray, num_windows: int) -> np.ndarray:
    return np.tile(prior, (num_windows, 1))


def _summarize(pred, windows, clip_ids) -> dict:
    result = metrics.summarize(pred, windows["targets"], windows["positions"], windows["apex"],
                               windows.get("true_intensity"), windows["clip_index"], per_clip=True)
    result["per_clip"] = {"clip_id": clip_ids, **result["per_clip"]}
    return result


def compare_with_prior(model_per_clip: dict, prior_per_clip: dict) -> dict:
    """Paired per-clip comparison of the model with the prior, for each correlation metric."""
    return {name: metrics.compare_paired(model_per_clip[name], prior_per_clip[name])
            for name in ("spearman", "kendall", "true_spearman", "true_kendall") if name in model_per_clip}


def evaluate(config, builder, predict_batch, train_subjects, test_subjects, protocols=PROTOCOLS,
             motions: dict | None = None) -> tuple[dict, list]:
    """{protocol: {'model': ..., 'position_prior': ...}} on `test_subjects`, and plot panels; with `motions`
    (a flow run's `clips.clip_motions` of whole clips) the model reads each window's region motion."""
    results, panels = {}, []
    for protocol in protocols:
        spec = window_spec(config, protocol, jitter=False)
        num_windows = 1 if protocol == "trimmed" else config.eval.untrimmed_windows
        common = dict(windows_per_clip=num_windows, image_size=config.data.image_size,
                      label_shape=config.data.pseudo_label)
        train_windows = input_pipeline.eval_windows(builder, train_subjects, spec, seed=config.eval.seed + 1,
                                                    decode=False, **common)
        prior = fit_position_prior(train_windows["targets"])
        test_windows = input_pipeline.eval_windows(builder, test_subjects, spec, seed=config.eval.seed,
                                                   decode=motions is None, **common)
        if motions is not None:
            test_windows["frames"] = clip_flow.windows_of(motions, test_windows["clip_id"], test_windows["onset"],
                                                          test_windows["positions"])
        pred = predict_windows(predict_batch, test_windows, config.train.batch_size)
        prior_pred = predict_position_prior(prior, len(pred))
        first_window = np.unique(test_windows["clip_index"], return_index=True)[1]
        clip_ids = [test_windows["clip_id"][i].decode() for i in first_window]
        model, prior_result = _summarize(pred, test_windows, clip_ids), _summarize(prior_pred, test_windows, clip_ids)
        model["vs_prior"] = compare_with_prior(model["per_clip"], prior_result["per_clip"])
        results[protocol] = {"model": model, "position_prior": prior_result}
        for i in first_window[:config.eval.plot_clips]:
            panels.append({
                "protocol": protocol, "clip_id": test_windows["clip_id"][i].decode(),
                "positions": test_windows["positions"][i], "prediction": pred[i],
                "target": test_windows["targets"][i], "prior": prior_pred[i],
                "true_intensity": test_windows["true_intensity"][i] if "true_intensity" in test_windows else None,
                "onset": test_windows["onset"][i], "apex": test_windows["apex"][i],
                "offset": test_windows["offset"][i]})
    return results, panels


def without_per_clip(results: dict) -> dict:
    """`results` with the per-clip lists dropped (for logs and TensorBoard)."""
    return {protocol: {predictor: {k: v for k, v in r.items() if k not in ("per_clip", "vs_prior")}
                       for predictor, r in by_predictor.items()}
            for protocol, by_predictor in results.items()}
