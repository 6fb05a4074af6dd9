"""Spotting on held-out subjects: whole-video scores, decoder settings chosen on validation subjects, the
MEGC counts of the model and of the two baselines that need no learning.

Per video, windows `stride` apart cover every frame of its step grid (every `frame_step`-th frame); a
frame's score is the mean over the windows that hold it. The decoder's settings per kind (micro, macro)
come from the training subjects only: its duration prior from the lengths of their expressions, its
threshold `p` by F1 on the validation subjects' videos. Test videos are then decoded and counted
(`spotting.score_videos`). Beside the model:
- `motion`: an unlearned motion detector (`baselines.motion_scores`) through the same decoder, its
  settings chosen on the same validation videos;
- `chance`: intervals at the training subjects' rate of expressions per frame, each of their median
  length, at random places (`config.eval.chance_runs` runs: mean and spread).
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Sequence

import numpy as np

from meint_jax.data import long_pipeline
from meint_jax.data.long_pipeline import StoredVideo
from meint_jax.evaluation import baselines, decoding, spotting

KINDS = spotting.KINDS


def window_spec(config, train: bool = False) -> long_pipeline.LongWindowSpec:
    d = config.data
    return long_pipeline.LongWindowSpec(length=d.window, frame_step=d.frame_step,
                                        me_fraction=d.me_fraction if train else -1.0, target_shape=d.target_shape)


def grid_numbers(stored: StoredVideo, frame_step: int) -> np.ndarray:
    """The frame numbers of the video's step grid: what scores and decoded intervals index."""
    return stored.video.frame_numbers[::frame_step]


def video_scores(stored: StoredVideo, spec: long_pipeline.LongWindowSpec, stride: int,
                 predict_windows: Callable[[np.ndarray], np.ndarray], frames=None) -> np.ndarray:
    """float [M, 2]: each frame of the step grid's mean score over the windows holding it.

    `predict_windows(inputs) -> scores [K, W, 2]` for the windows' flow features [K, W, 36], or their face
    frames [K, W, S, S, 3] when a `long_pipeline.FrameReader` is given.
    """
    windows = long_pipeline.video_windows(stored, spec, stride, frames)
    inputs = windows["frames"] if frames is not None else windows["features"]
    scores = np.asarray(predict_windows(inputs), np.float64)
    size = len(grid_numbers(stored, spec.frame_step))
    total, count = np.zeros((size, 2)), np.zeros(size)
    for start, window_scores, mask in zip(windows["start"], scores, windows["mask"]):
        grid = int(start) + np.arange(spec.length)
        keep = (mask > 0) & (grid < size)
        np.add.at(total, grid[keep], window_scores[keep])
        np.add.at(count, grid[keep], 1.0)
    return total / np.maximum(count, 1.0)[:, None]


def in_batches(predict_batch: Callable[[np.ndarray], np.ndarray], inputs: np.ndarray, batch_size: int
               ) -> np.ndarray:
    """`predict_batch` over `inputs` [K, ...] in batches of exactly `batch_size` (the last padded with copies
    of its last row, so every call has one shape and compiles once); the padding's outputs are dropped."""
    out = []
    for start in range(0, len(inputs), batch_size):
        chunk = inputs[start:start + batch_size]
        padded = np.concatenate([chunk, np.repeat(chunk[-1:], batch_size - len(chunk), axis=0)])
        out.append(np.asarray(predict_batch(padded))[:len(chunk)])
    return np.concatenate(out)


def truths(stored: StoredVideo, kind: str) -> list[tuple[int, int]]:
    return [(i.onset, i.offset) for i in stored.video.intervals if i.kind == kind]


def grid_lengths(videos: Sequence[StoredVideo], kind: str, frame_step: int) -> list[int]:
    """Lengths of the expressions of `kind`, in frames of the step grid (at least 1)."""
    return [max(1, int(round((i.offset - i.onset + 1) / frame_step)))
            for v in videos for i in v.video.intervals if i.kind == kind]


def choose_decoders(config, training: Sequence[StoredVideo], validation: Sequence[tuple[StoredVideo, np.ndarray]]
                    ) -> dict[str, decoding.DecoderConfig]:
    """Decoder settings per kind from training subjects only: the duration prior from `training`'s
    expressions, the threshold by F1 on `validation` (videos of other training subjects, with scores)."""
    step = config.data.frame_step
    chosen = {}
    for channel, kind in enumerate(KINDS):
        base = decoding.with_duration_prior(decoding.DecoderConfig(nms_iou=config.eval.nms_iou),
                                            grid_lengths(training, kind, step))
        base = dataclasses.replace(base, smooth=base.min_distance)     # a box of k_p frames
        candidates = decoding.grid(base, p=list(config.eval.p_grid))
        held = [(scores[:, channel], grid_numbers(v, step), truths(v, kind)) for v, scores in validation]
        chosen[kind], _ = decoding.tune(candidates, held) if held else (base, 0.0)
    return chosen


def decode_video(stored: StoredVideo, scores: np.ndarray, decoders: dict, frame_step: int) -> dict:
    """kind -> [(onset, offset)] in the video's frame numbers, best first."""
    numbers = grid_numbers(stored, frame_step)
    return {kind: decoding.to_frames(decoding.decode(scores[:, channel], decoders[kind]), numbers)
            for channel, kind in enumerate(KINDS)}


def _counts(pairs) -> dict:
    """kind -> [tp, fp, fn] over (truths, predictions) pairs: the counts as metrics.json stores them."""
    return {kind: [c.tp, c.fp, c.fn] for kind, c in spotting.count_videos(pairs).items()}


def scores_from_counts(counts: dict) -> dict:
    """micro / macro / overall precision, recall, F1 from kind -> [tp, fp, fn]."""
    return spotting.scores({kind: spotting.SpotCounts(*counts[kind]) for kind in KINDS})


def evaluate(config, videos: Sequence[StoredVideo], predict_windows, training_subjects: Sequence[str],
             validation_subjects: Sequence[str], test_subjects: Sequence[str], frames=None) -> tuple[dict, list[dict]]:
    """(results for metrics.json, per test video: id, truths, scores, predictions of each predictor).

    With `frames` (a FrameReader), the model scores face frames instead of flow features."""
    spec, step = window_spec(config), config.data.frame_step
    stride = config.eval.stride or max(1, spec.length // 2)
    fit = long_pipeline.of_subjects(videos, training_subjects)
    validation = long_pipeline.of_subjects(videos, validation_subjects)
    test = long_pipeline.of_subjects(videos, test_subjects)
    if not test:
        raise ValueError(f"no videos of the test subjects {list(test_subjects)}")
    training = fit + validation                      # every expression of the training subjects
    lag = int(np.median(grid_lengths(training, "micro", step) or [max(1, spec.length // 4)]))

    def motion(v):
        score = baselines.motion_scores(v.flow[::step], lag)
        return np.stack([score, score], axis=1)

    predictors = {"model": lambda v: video_scores(v, spec, stride, predict_windows, frames), "motion": motion}
    results, per_video = {}, [{"video_id": v.video.video_id, "truth": {k: truths(v, k) for k in KINDS}}
                              for v in test]
    for name, score_fn in predictors.items():
        decoders = choose_decoders(config, fit, [(v, score_fn(v)) for v in validation])
        pairs = []
        for record, v in zip(per_video, test):
            scores = score_fn(v)
            predicted = decode_video(v, scores, decoders, step)
            record[name] = predicted
            if name == "model":
                record["scores"] = scores
            pairs.append((record["truth"], predicted))
        counts = _counts(pairs)
        results[name] = {**scores_from_counts(counts), "counts": counts,
                         "decoders": {k: dataclasses.asdict(d) for k, d in decoders.items()}}

    rng = np.random.default_rng(config.eval.seed)
    frames = sum(len(grid_numbers(v, step)) for v in training)
    chance = {}                                       # kind -> (expressions per frame, median length)
    for kind in KINDS:
        lengths = grid_lengths(training, kind, step)
        chance[kind] = (len(lengths) / frames if frames else 0.0, int(np.median(lengths or [1])))
    runs = []
    for _ in range(config.eval.chance_runs):
        pairs = []
        for record, v in zip(per_video, test):
            numbers = grid_numbers(v, step)
            predicted = {}
            for kind in KINDS:
                spans = baselines.chance_intervals(len(numbers), *chance[kind], rng)
                predicted[kind] = [(int(numbers[a]), int(numbers[b])) for a, b in spans]
            pairs.append((record["truth"], predicted))
        runs.append(_counts(pairs))
    results["chance"] = chance_summary(runs)
    return results, per_video


def chance_summary(runs: list[dict]) -> dict:
    """Mean and spread over chance runs of each kind's F1, and every run's counts (to pool over folds)."""
    f1 = {key: [scores_from_counts(c)[key]["f1"] for c in runs] for key in ("micro", "macro", "overall")}
    return {**{key: {"f1": float(np.mean(v)), "f1_std": float(np.std(v))} for key, v in f1.items()},
            "runs": len(runs), "counts_per_run": runs}


def pool_folds(fold_results: Sequence[dict]) -> dict:
    """The MEGC figures over all folds: every predictor's counts summed over folds, then scored."""
    out = {}
    for name in ("model", "motion"):
        counts = {kind: np.sum([f[name]["counts"][kind] for f in fold_results], axis=0).tolist() for kind in KINDS}
        out[name] = {**scores_from_counts(counts), "counts": counts}
    runs = [{kind: np.sum([f["chance"]["counts_per_run"][r][kind] for f in fold_results], axis=0).tolist()
             for kind in KINDS} for r in range(min(f["chance"]["runs"] for f in fold_results))]
    out["chance"] = chance_summary(runs)
    return out
