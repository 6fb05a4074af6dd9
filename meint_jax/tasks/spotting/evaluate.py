"""Spotting on held-out subjects: whole-video scores, decoder settings chosen on validation subjects, the
MEGC counts of the model and of the two baselines that need no learning.

Per video, windows `stride` apart cover every frame of its step grid (every `frame_step`-th frame); a
frame's score is the mean over the windows that hold it (or, `eval.window_merge='first'`, paper 002's: the
first window's that holds it, `window_merge.py`). The decoder's settings per kind (micro, macro)
come from the training subjects only: its duration prior from the lengths of their expressions, its
threshold `p` by F1 on the validation subjects' videos. Test videos are then decoded and counted
(`megc.score_videos`). Beside the model:
- `motion`: an unlearned motion detector (`baselines.motion_scores`) through the same decoder, its
  settings chosen on the same validation videos;
- `chance`: intervals at the training subjects' rate of expressions per frame, each of their median
  length, at random places (`config.eval.chance_runs` runs: mean and spread).
With an emotion head, each of the model's intervals takes the emotion pooled from its frames
(`emotion_pooling`), and spot-then-recognise is scored (`recognition.spot_then_recognise`: F1_spot,
F1_analysis, STRS, UF1, UAR) for the model, for the model with intervals voted neutral dropped, and beside
them with the model's intervals labelled by the training subjects' majority class and by their class prior
drawn at random; the chance spotter's intervals take class-prior labels.
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Sequence

import numpy as np

from meint_jax.data import emotion_classes
from meint_jax.data.long import pipeline as long_pipeline
from meint_jax.data.long.pipeline import StoredVideo
from meint_jax.metrics import class_prior, megc, recognition
from meint_jax.tasks.spotting import baselines, decoding, emotion_pooling, window_merge

KINDS = megc.KINDS


@dataclasses.dataclass(frozen=True)
class SpottedInterval:
    kind: str
    onset: int                  # frame numbers of the recording, inclusive
    apex: int                   # where the score peaks
    offset: int
    score: float
    emotion: str | None = None  # pooled from the emotion head (none without one)
    emotion_probability: float | None = None
    voted_neutral: bool = False


def window_spec(config, train: bool = False) -> long_pipeline.LongWindowSpec:
    d = config.data
    classes = d.get("emotion_classes")
    return long_pipeline.LongWindowSpec(
        length=d.window, frame_step=d.frame_step, me_fraction=d.me_fraction if train else -1.0,
        target_shape=d.target_shape, emotion_labels=d.get("emotion_labels", "three"),
        grid=d.get("window_grid", "any"), macro_frames=d.get("macro_frames", "own"),
        **({"emotion_classes": tuple(classes)} if classes is not None else {}))


def grid_numbers(stored: StoredVideo, frame_step: int) -> np.ndarray:
    """The frame numbers of the video's step grid: what scores and decoded intervals index."""
    return stored.video.frame_numbers[::frame_step]


def video_scores(stored: StoredVideo, spec: long_pipeline.LongWindowSpec, stride: int,
                 predict_windows: Callable[[np.ndarray], np.ndarray], frames=None, merge: str = "mean") -> np.ndarray:
    """float [M, channels]: each frame of the step grid's score from the windows holding it, merged by `merge`
    (`window_merge.MERGES`: their mean, or the first window's).

    `predict_windows(inputs) -> scores [K, W, channels]` (micro, macro, then any emotion probabilities) for
    the windows' flow features [K, W, 36], or their face frames [K, W, S, S, 3] when a
    `long_pipeline.FrameReader` is given.
    """
    windows = long_pipeline.video_windows(stored, spec, stride, frames)
    inputs = windows["frames"] if frames is not None else windows["features"]
    scores = np.asarray(predict_windows(inputs), np.float64)
    size = len(grid_numbers(stored, spec.frame_step))
    return window_merge.merge(windows["start"], scores, windows["mask"], size, merge)


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
        decoder = config.eval.get("decoder", "ours")     # runs made before the paper's rule have none
        if decoder != "ours":    # paper 002's rule: fixed p, k_p from the training expressions
            spans = [(i.onset, i.offset) for v in training for i in v.video.intervals if i.kind == kind]
            chosen[kind] = decoding.DecoderConfig(rule="paper", min_distance=decoding.paper_k_p(spans, step),
                                                  strategy=decoder == "paper",
                                                  samm=config.eval.get("paper_samm", False))
            continue
        base = decoding.with_duration_prior(decoding.DecoderConfig(nms_iou=config.eval.nms_iou),
                                            grid_lengths(training, kind, step))
        base = dataclasses.replace(base, smooth=base.min_distance)     # a box of k_p frames
        candidates = decoding.grid(base, p=list(config.eval.p_grid))
        held = [(scores[:, channel], v.video.frame_numbers, truths(v, kind)) for v, scores in validation]
        chosen[kind], _ = decoding.tune(candidates, held, step) if held else (base, 0.0)
    return chosen


def spot_video(stored: StoredVideo, scores: np.ndarray, decoders: dict, frame_step: int,
               classes: Sequence[str] = (), pooling: str = "vote") -> list[SpottedInterval]:
    """The decoded intervals of every kind (best first within a kind), in the video's frame numbers; with
    `classes` and scores holding the emotion channels (2 + classes + neutral), each with its pooled emotion."""
    numbers = grid_numbers(stored, frame_step)
    with_emotions = bool(classes) and scores.shape[1] == 3 + len(classes)
    found = []
    for channel, kind in enumerate(KINDS):
        for s in decoding.decode(scores[:, channel], decoders[kind]):
            emotion = {}
            if with_emotions:
                pooled = emotion_pooling.pool(scores[s.onset:s.offset + 1, 2:], pooling)
                emotion = {"emotion": classes[pooled.index], "emotion_probability": round(pooled.probability, 6),
                           "voted_neutral": pooled.neutral}
            onset, offset = decoding.grid_span(s.onset, s.offset, stored.video.frame_numbers, frame_step)
            found.append(SpottedInterval(kind, onset, int(numbers[s.peak]), offset, round(s.score, 6), **emotion))
    return found


def by_kind(found: Sequence[SpottedInterval], labels: Sequence[str] | None = None) -> dict:
    """kind -> [(onset, offset)] (or (onset, offset, label) with one label per interval), in `found`'s order."""
    out = {kind: [] for kind in KINDS}
    for k, i in enumerate(found):
        out[i.kind].append((i.onset, i.offset) if labels is None else (i.onset, i.offset, labels[k]))
    return out


def labelled_truths(stored: StoredVideo, label_set: str) -> dict:
    """kind -> [(onset, offset, label)] of a video's annotated expressions, labels in the class set."""
    out = {kind: [] for kind in KINDS}
    for i in stored.video.intervals:
        out[i.kind].append((i.onset, i.offset, emotion_classes.interval_label(i, label_set)))
    return out


def _counts(pairs) -> dict:
    """kind -> [tp, fp, fn] over (truths, predictions) pairs: the counts as metrics.json stores them."""
    return {kind: [c.tp, c.fp, c.fn] for kind, c in megc.count_videos(pairs).items()}


def scores_from_counts(counts: dict) -> dict:
    """micro / macro / overall precision, recall, F1 from kind -> [tp, fp, fn]."""
    return megc.scores({kind: megc.SpotCounts(*counts[kind]) for kind in KINDS})


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
    classes = tuple(config.data.get("emotion_classes") or ())
    pooling = config.eval.get("emotion_pooling", "vote")

    def motion(v):
        score = baselines.motion_scores(v.flow[::step], lag)
        return np.stack([score, score], axis=1)

    merge = config.eval.get("window_merge", "mean")
    predictors = {"model": lambda v: video_scores(v, spec, stride, predict_windows, frames, merge), "motion": motion}
    results, per_video = {}, [{"video_id": v.video.video_id, "truth": {k: truths(v, k) for k in KINDS}}
                              for v in test]
    model_found = []
    validation_scores = {}
    for name, score_fn in predictors.items():
        validation_scores[name] = [(v, score_fn(v)) for v in validation]
        decoders = choose_decoders(config, fit, validation_scores[name])
        pairs = []
        for record, v in zip(per_video, test):
            scores = score_fn(v)
            found = spot_video(v, scores, decoders, step, classes if name == "model" else (), pooling)
            record[name] = by_kind(found)
            if name == "model":
                record["scores"] = scores
                record["intervals"] = [dataclasses.asdict(i) for i in found]
                model_found.append(found)
            pairs.append((record["truth"], record[name]))
        counts = _counts(pairs)
        results[name] = {**scores_from_counts(counts), "counts": counts,
                         "decoders": {k: dataclasses.asdict(d) for k, d in decoders.items()}}

    # One generator per baseline, so that what one draws never moves another's figures.
    rng, prior_rng, label_rng = (np.random.default_rng([config.eval.seed, k]) for k in range(3))
    prior = ClassPrior(training, config.data.get("emotion_labels", "three"), classes)
    # Whether the model has an emotion head (its scores carry the classes and neutral), even where it spots
    # nothing: a fold without a spotted interval scores STRS 0, not no STRS.
    with_emotions = bool(classes) and any(r["scores"].shape[1] == 3 + len(classes) for r in per_video)
    if with_emotions:
        truth_labels = [labelled_truths(v, prior.label_set) for v in test]

        def labelled(relabel, keep=lambda interval: True):
            """Per test video (labelled truths, the model's kept intervals labelled by `relabel`)."""
            return [(t, by_kind([i for i in f if keep(i)], [relabel(i) for i in f if keep(i)]))
                    for t, f in zip(truth_labels, model_found)]

        results["model"]["recognition"] = recognition.spot_then_recognise(labelled(lambda i: i.emotion), classes)
        kept = recognition.spot_then_recognise(labelled(lambda i: i.emotion, lambda i: not i.voted_neutral), classes)
        results["model_neutral_dropped"] = {**scores_from_counts(kept["counts"]), "counts": kept["counts"],
                                            "recognition": kept}
        results["majority"] = {"recognition": recognition.spot_then_recognise(
            labelled(lambda i: prior.majority[i.kind]), classes), "class": prior.majority}
        results["class_prior"] = {**recognition_runs([recognition.spot_then_recognise(
            labelled(lambda i: prior.draw(i.kind, prior_rng)), classes) for _ in range(config.eval.chance_runs)]),
            "prior": prior.shares}

    for rule in config.eval.get("compare_decoders", ()):
        if rule == config.eval.get("decoder", "ours"):
            continue
        # The same network's scores through another decoder: the decoder's effect alone, at no training cost.
        other = config.copy_and_resolve_references()
        other.eval.decoder = rule
        decoders = choose_decoders(other, fit, validation_scores["model"])
        found = [spot_video(v, r["scores"], decoders, step, classes, pooling) for r, v in zip(per_video, test)]
        counts = _counts([(r["truth"], by_kind(f)) for r, f in zip(per_video, found)])
        entry = {**scores_from_counts(counts), "counts": counts,
                 "decoders": {k: dataclasses.asdict(d) for k, d in decoders.items()}}
        if with_emotions:
            entry["recognition"] = recognition.spot_then_recognise(
                [(t, by_kind(f, [i.emotion for i in f])) for t, f in zip(truth_labels, found)], classes)
        results[f"model_decoder_{rule}"] = entry

    frames = sum(len(grid_numbers(v, step)) for v in training)
    chance = {}                                       # kind -> (expressions per frame, median length)
    for kind in KINDS:
        lengths = grid_lengths(training, kind, step)
        chance[kind] = (len(lengths) / frames if frames else 0.0, int(np.median(lengths or [1])))
    runs, recognised = [], []
    for _ in range(config.eval.chance_runs):
        pairs, labelled_pairs = [], []
        for record, v in zip(per_video, test):
            numbers = grid_numbers(v, step)
            predicted = {}
            for kind in KINDS:
                spans = baselines.chance_intervals(len(numbers), *chance[kind], rng)
                predicted[kind] = [decoding.grid_span(a, b, v.video.frame_numbers, step) for a, b in spans]
            pairs.append((record["truth"], predicted))
            if with_emotions:
                labels = {kind: [(a, b, prior.draw(kind, label_rng)) for a, b in spans]
                          for kind, spans in predicted.items()}
                labelled_pairs.append((labelled_truths(v, prior.label_set), labels))
        runs.append(_counts(pairs))
        if with_emotions:
            recognised.append(recognition.spot_then_recognise(labelled_pairs, classes))
    results["chance"] = chance_summary(runs, recognised)
    return results, per_video


class ClassPrior:
    """The training subjects' emotion classes per kind of expression (`class_prior.ClassPrior` of each): the
    majority class, each class's share, and labels drawn from those shares."""

    def __init__(self, training: Sequence[StoredVideo], label_set: str, classes: Sequence[str]):
        self.label_set, self.classes = label_set, tuple(classes)
        self.by_kind = {kind: class_prior.ClassPrior(
            [emotion_classes.interval_label(i, label_set) for v in training for i in v.video.intervals
             if i.kind == kind], self.classes) for kind in KINDS}
        self.shares = {kind: dict(zip(self.classes, p.shares.tolist())) for kind, p in self.by_kind.items()}
        self.majority = {kind: p.majority for kind, p in self.by_kind.items()}

    def draw(self, kind: str, rng: np.random.Generator) -> str:
        return self.by_kind[kind].draw(rng)


def recognition_runs(recognised: Sequence[dict]) -> dict:
    """Means over runs of randomly drawn labels: each kind's F1_spot, F1_analysis, STRS, UF1 and UAR, and
    every run's result (to pool over folds)."""
    return {"recognition": {key: {name: float(np.mean([r[key][name] for r in recognised]))
                                  for name in ("f1_spot", "f1_analysis", "strs", "uf1", "uar")}
                            for key in ("micro", "macro", "overall")},
            "runs": len(recognised), "recognition_per_run": list(recognised)}


def chance_summary(runs: list[dict], recognised: Sequence[dict] = ()) -> dict:
    """Mean and spread over chance runs of each kind's F1 (and STRS with class-prior labels), and every run's
    counts and label pairs (to pool over folds)."""
    f1 = {key: [scores_from_counts(c)[key]["f1"] for c in runs] for key in ("micro", "macro", "overall")}
    out = {**{key: {"f1": float(np.mean(v)), "f1_std": float(np.std(v))} for key, v in f1.items()},
           "runs": len(runs), "counts_per_run": runs}
    return {**out, **recognition_runs(recognised), "runs": len(runs)} if recognised else out


def pool_folds(fold_results: Sequence[dict]) -> dict:
    """The MEGC figures over all folds: every predictor's counts (and matched label pairs) summed over folds,
    then scored."""
    out = {}
    compared = sorted({n for f in fold_results for n in f if n.startswith("model_decoder_")})
    for name in ("model", "motion", "model_neutral_dropped", *compared):
        if not all(name in f for f in fold_results):
            continue
        counts = {kind: np.sum([f[name]["counts"][kind] for f in fold_results], axis=0).tolist() for kind in KINDS}
        out[name] = {**scores_from_counts(counts), "counts": counts}
    # Folds agree on the classes unless they are the native labels their training subjects have: then all of them.
    sets = {tuple(f.get("classes") or ()) for f in fold_results}
    classes = sets.pop() if len(sets) == 1 else tuple(sorted({c for s in sets for c in s}))
    for name in ("model", "model_neutral_dropped", "majority", *compared):
        if all("recognition" in f.get(name, {}) for f in fold_results):
            out.setdefault(name, {})["recognition"] = recognition.pool_spot_then_recognise(
                [f[name]["recognition"] for f in fold_results], classes)
    runs = [{kind: np.sum([f["chance"]["counts_per_run"][r][kind] for f in fold_results], axis=0).tolist()
             for kind in KINDS} for r in range(min(f["chance"]["runs"] for f in fold_results))]
    pooled_runs = lambda name: [recognition.pool_spot_then_recognise(
        [f[name]["recognition_per_run"][r] for f in fold_results], classes)
        for r in range(min(f[name]["runs"] for f in fold_results))]
    if all("recognition_per_run" in f.get("class_prior", {}) for f in fold_results):
        out["class_prior"] = recognition_runs(pooled_runs("class_prior"))
    recognised = pooled_runs("chance") if all("recognition_per_run" in f["chance"] for f in fold_results) else []
    out["chance"] = chance_summary(runs, recognised)
    return out
