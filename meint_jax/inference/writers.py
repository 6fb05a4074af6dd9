"""Prediction outputs: NAME.csv, NAME.json and NAME.png per input, all or none; a recognised clip's NAME.json
and the inputs' emotions.csv."""

from __future__ import annotations

import csv
import io
import json
import os

import numpy as np

from meint_jax.common import files
from meint_jax.data import emotion_classes, pseudo_labels
from meint_jax.data.clips.clip import Clip
from meint_jax.metrics import plots


def write_curve(output: str, clip: Clip, curve: np.ndarray, sampled: np.ndarray, settings: dict,
                label_shape: str) -> list[str]:
    """Writes the curve of `clip` (and `settings`: checkpoint, window, ...) to `output`; returns the paths.

    With the clip's annotations known, the JSON and the plot carry them and the
    plot the pseudo-target of `label_shape` (and the true intensity, synthetic clips).
    """
    times = clip.frame_numbers / clip.fps if clip.fps else None
    target = None
    if clip.annotated:
        target = pseudo_labels.pseudo_intensity(clip.frame_numbers, clip.onset, clip.apex, clip.offset, label_shape)
    record = {
        "input": clip.source, "name": clip.clip_id, **settings, "fps": clip.fps,
        "onset": clip.onset, "apex": clip.apex, "offset": clip.offset,
        "frame_number": clip.frame_numbers.tolist(),
        "time_s": None if times is None else np.round(times, 6).tolist(),
        "intensity": np.round(curve, 6).tolist(), "model_sampled": sampled.tolist(),
        "warnings": list(clip.warnings),
    }
    rows = ["frame_number,time_s,intensity,model_sampled"]
    for i, number in enumerate(clip.frame_numbers):
        time_s = "" if times is None else f"{times[i]:.6f}"
        rows.append(f"{int(number)},{time_s},{curve[i]:.6f},{int(sampled[i])}")
    base = _base(output, clip.clip_id)
    paths = [base + ".json", base + ".csv", base + ".png"]
    with files.atomic_files(paths) as (json_tmp, csv_tmp, png_tmp):
        for path, text in ((json_tmp, json.dumps(record, indent=1)), (csv_tmp, "\n".join(rows) + "\n")):
            with open(path, "w") as f:
                f.write(text)
        plots.plot_prediction(png_tmp, clip.frame_numbers, curve, f"{clip.clip_id} ({clip.source})",
                              target=target, true_intensity=clip.true_intensity,
                              annotations=(clip.onset, clip.apex, clip.offset) if clip.annotated else None)
    return paths


def _base(output: str, name: str) -> str:
    """OUTPUT/NAME without extension: an input's id, a folder separator in it made '_'."""
    return os.path.join(output, name.replace(os.sep, "_"))


def write_emotion(output: str, clip: Clip, probabilities: np.ndarray, classes, read: np.ndarray,
                  settings: dict, label_set: str = "three") -> dict:
    """Writes NAME.json for a recognised clip (its emotion, every class's probability, the frames read, the
    annotated emotion and its class where known); returns the row emotions.csv gets."""
    k = int(np.argmax(probabilities))
    row = {"name": clip.clip_id, "emotion": classes[k], "probability": round(float(probabilities[k]), 6),
           **{f"p_{c}": round(float(p), 6) for c, p in zip(classes, probabilities)}}
    record = {"input": clip.source, **settings, **row, "onset": clip.onset, "offset": clip.offset,
              "annotated_emotion": clip.emotion,
              "annotated_class": None if clip.emotion is None else emotion_classes.label(clip.emotion, label_set),
              "frames_read": clip.frame_numbers[read].tolist(), "warnings": list(clip.warnings)}
    files.write_text(_base(output, clip.clip_id) + ".json", json.dumps(record, indent=1))
    return row


def write_emotion_table(output: str, rows: list[dict]) -> str:
    """emotions.csv: one row per recognised input (name, emotion, its probability, each class's)."""
    path = os.path.join(output, "emotions.csv")
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    files.write_text(path, text.getvalue())
    return path


def write_intervals(output: str, stored, numbers: np.ndarray, scores: np.ndarray, intervals, settings: dict,
                    classes=()) -> list[str]:
    """NAME.csv, NAME.json and NAME.png of one spotted recording, all or none: every interval (kind, onset,
    apex, offset, score, in frame numbers and seconds, and its emotion with its probability where the model
    has an emotion head), the per-frame scores (and emotion probabilities), and the timeline (with the
    annotated intervals where the input has them)."""
    video = stored.video
    fps = video.fps or None

    def seconds(frame):
        return None if fps is None else round(frame / fps, 6)

    columns = ["kind", "onset", "apex", "offset", "score", "onset_s", "apex_s", "offset_s"]
    if classes:
        columns += ["emotion", "emotion_probability", "voted_neutral"]
    rows = [{"kind": i.kind, "onset": i.onset, "apex": i.apex, "offset": i.offset, "score": i.score,
             "onset_s": seconds(i.onset), "apex_s": seconds(i.apex), "offset_s": seconds(i.offset),
             **({"emotion": i.emotion, "emotion_probability": i.emotion_probability,
                 "voted_neutral": i.voted_neutral} if classes else {})}
            for i in intervals]
    truth = {kind: [(i.onset, i.offset) for i in video.intervals if i.kind == kind] for kind in ("micro", "macro")}
    record = {"input": video.source or video.video_id, "name": video.video_id, **settings, "fps": fps,
              "intervals": rows, "annotated": truth if video.intervals else None,
              "frame_number": numbers.tolist(), "micro_score": np.round(scores[:, 0], 6).tolist(),
              "macro_score": np.round(scores[:, 1], 6).tolist()}
    if classes:
        record["emotion_classes"] = list(classes) + ["neutral"]
        record["emotion_probabilities"] = np.round(scores[:, 2:], 6).tolist()
    lines = [",".join(columns)] + [",".join("" if r[k] is None else str(r[k]) for k in columns) for r in rows]
    base = _base(output, video.video_id)
    paths = [base + ".json", base + ".csv", base + ".png"]
    predicted = {kind: [(i.onset, i.offset) for i in intervals if i.kind == kind] for kind in ("micro", "macro")}
    labels = {kind: [i.emotion for i in intervals if i.kind == kind] for kind in ("micro", "macro")}
    with files.atomic_files(paths) as (json_tmp, csv_tmp, png_tmp):
        for path, text in ((json_tmp, json.dumps(record, indent=1)), (csv_tmp, "\n".join(lines) + "\n")):
            with open(path, "w") as f:
                f.write(text)
        plots.plot_timelines(png_tmp, [{"video_id": video.video_id, "frame_numbers": numbers, "scores": scores,
                                        "truth": truth, "predicted": predicted,
                                        **({"labels": labels} if classes else {})}], video.source or video.video_id)
    return paths
