"""Clip recognition on held-out subjects: each clip classified from its one trimmed window (onset to offset, T
frames), scored beside two baselines that never look at a pixel, the training clips' majority class and labels
drawn from their class prior (the mean over `eval.chance_runs` draws). Every score is computed from the
per-clip records metrics.json keeps (`score_clips`), so that LOSO pools all folds' clips before scoring, as the
field does, rather than averaging the folds' scores.
"""

from __future__ import annotations

import numpy as np

from meint_jax.data import emotion_classes
from meint_jax.data.clips import flow as clip_flow
from meint_jax.data.clips import pipeline as input_pipeline
from meint_jax.inference import batching
from meint_jax.metrics import class_prior, recognition
from meint_jax.training.clips import window_spec

PREDICTORS = ("model", "majority", "prior")
SCALARS = ("uf1", "uar", "f1_analysis", "accuracy")


def training_labels(config, builder, subjects) -> list[str]:
    """The class (or `others`) of every clip of `subjects`."""
    return [emotion_classes.label(n, config.data.emotion_labels)
            for _, n in input_pipeline.clip_emotions(builder, subjects)]


def classify(config, builder, predict_batch, subjects: list[str], motions: dict | None = None) -> list[dict]:
    """Each clip of `subjects` classified from its one trimmed window: clip_id, subject, the dataset's label
    (`native`), its class (`true`; others or an unseen label where it is none of the classes), the model's
    class, that class's probability and every class's; with `motions` (a flow run), the window's motion
    and where the clip's regions came from."""
    spec = window_spec(config, "trimmed", jitter=False)
    windows = input_pipeline.eval_windows(builder, subjects, spec, windows_per_clip=1,
                                          image_size=config.data.image_size, label_shape=config.data.pseudo_label,
                                          seed=config.eval.seed, decode=motions is None)
    if motions is not None:
        windows["frames"] = clip_flow.windows_of(motions, windows["clip_id"], windows["onset"], windows["positions"])
    probabilities = batching.in_batches(predict_batch, windows["frames"], config.train.batch_size)
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
    prior = class_prior.ClassPrior(training_labels(config, builder, train_subjects), classes)
    records = classify(config, builder, predict_batch, test_subjects, motions)
    draws = prior.draws(np.random.default_rng(config.eval.seed), (len(records), config.eval.chance_runs))
    for record, drawn in zip(records, draws):
        record["majority"] = prior.majority
        record["prior"] = [classes[k] for k in drawn]
    scores = score_clips(records, classes)
    results = {"train_class_counts": prior.counts, "model": scores["model"],
               "majority": {"class": prior.majority, **scores["majority"]},
               "prior": {"class_prior": dict(zip(classes, prior.shares.tolist())), **scores["prior"]}}
    return results, records


def log_scores(results: dict, log) -> None:
    for name in PREDICTORS:
        r = results[name]
        log("%-8s UF1 %.3f, UAR %.3f, accuracy %.3f (%d clips scored)", name, r["uf1"], r["uar"], r["accuracy"],
            r["pairs"])
