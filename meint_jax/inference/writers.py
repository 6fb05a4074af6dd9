"""Prediction outputs: NAME.csv, NAME.json and NAME.png per input, all or none; a recognised clip's NAME.json
and the inputs' emotions.csv."""

from __future__ import annotations

import csv
import io
import json
import os

import numpy as np

from meint_jax.common import files
from meint_jax.common.errors import PredictError
from meint_jax.data import emotion_classes, pseudo_labels
from meint_jax.data.clips.clip import Clip
from meint_jax.metrics import plots


def write_curve(output: str, clip: Clip, curve: np.ndarray, sampled: np.ndarray, settings: dict,
                label_shape: str) -> list[str]:
    """Writes the curve of `clip` (and `settings`: checkpoint, window, ...) to `output`; returns the paths.

    With the clip's annotations known, the JSON and the plot carry them and the
    plot the pseudo-target of `label_shape` (and the true intensity, synthetic clips).
    """
    times = seconds_of(clip.frame_numbers, clip.fps, clip.times)
    target = None
    if clip.annotated:
        target = pseudo_labels.pseudo_intensity(clip.frame_numbers, clip.onset, clip.apex, clip.offset, label_shape)
    scored = np.ones(len(curve), bool) if clip.face_present is None else np.asarray(clip.face_present, bool)
    shown = np.where(scored, curve, np.nan)     # frames without the face are not scored
    record = {
        "input": clip.source, "name": clip.clip_id, **settings, "fps": clip.fps,
        "onset": clip.onset, "apex": clip.apex, "offset": clip.offset,
        "frame_number": clip.frame_numbers.tolist(),
        "time_s": None if times is None else np.round(times, 6).tolist(),
        "intensity": [None if not ok else round(float(x), 6) for x, ok in zip(curve, scored)],
        "model_sampled": sampled.tolist(), "warnings": list(clip.warnings),
    }
    columns = ["frame_number", "time_s", "intensity", "model_sampled"]
    rows = [[int(number), "" if times is None else f"{times[i]:.6f}", f"{curve[i]:.6f}" if scored[i] else "",
             int(sampled[i])] for i, number in enumerate(clip.frame_numbers)]
    text = _csv(columns, rows, clip.warnings)
    base = claim(output, clip.clip_id, clip.source)
    paths = [base + ".json", base + ".csv", base + ".png"]
    with files.atomic_files(paths) as (json_tmp, csv_tmp, png_tmp):
        for path, content in ((json_tmp, json.dumps(record, indent=1)), (csv_tmp, text)):
            with open(path, "w") as f:
                f.write(content)
        title = _title(f"{clip.clip_id} ({clip.source})", clip.warnings)
        plots.plot_prediction(png_tmp, clip.frame_numbers, shown, title, target=target,
                              true_intensity=clip.true_intensity,
                              annotations=(clip.onset, clip.apex, clip.offset) if clip.annotated else None)
    return paths


def seconds_of(frame_numbers, fps: float | None, times: np.ndarray | None = None) -> np.ndarray | None:
    """Each frame's time in seconds: the video's own timestamps where it has them (a phone's variable rate),
    else frame number / rate; None without a rate."""
    if times is not None:
        return np.asarray(times, np.float64)
    return np.asarray(frame_numbers) / fps if fps else None


def _csv(columns: list[str], rows: list[list], warnings) -> str:
    """CSV text; an input read with warnings (truncated, face missing, gaps) carries them in a last column,
    on every row, so that no table of it is mistaken for a clean one."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns + (["warnings"] if warnings else []))
    note = ["; ".join(warnings)] if warnings else []
    writer.writerows([list(row) + note for row in rows])
    return out.getvalue()


def _title(title: str, warnings) -> str:
    return title + ("\n" + "; ".join(w.split(":")[0] for w in warnings) if warnings else "")


def _base(output: str, name: str) -> str:
    """OUTPUT/NAME without extension: an input's id, a folder separator in it made '_'."""
    return os.path.join(output, name.replace(os.sep, "_"))


def claim(output: str, name: str, source: str) -> str:
    """OUTPUT/NAME (no extension) for the results of `source`: refused when NAME.json there holds another
    input's results (`a/clip.mp4` after `b/clip.mp4`), which would be replaced. The same input again is
    written over (a rerun)."""
    base = _base(output, name)
    try:
        with open(base + ".json") as f:
            previous = json.load(f).get("input")
    except FileNotFoundError:
        return base
    except (OSError, ValueError, AttributeError):
        previous = "an unreadable file"
    if previous != source:
        raise PredictError(f"{base}.json holds the results of {previous}; those of {source} would replace them: "
                           "choose another --output (or move that input's files away)")
    return base


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
    files.write_text(claim(output, clip.clip_id, clip.source) + ".json", json.dumps(record, indent=1))
    return row


def write_emotion_table(output: str, rows: list[dict]) -> str:
    """emotions.csv: one row per recognised input (name, emotion, its probability, each class's), in the order
    recognised. Rows already there from earlier runs are kept (a rerun's row replaces its own); a table of
    other columns (another model's classes) is refused rather than rewritten."""
    path = os.path.join(output, "emotions.csv")
    fields = list(rows[0])
    kept = []
    if os.path.exists(path):
        with open(path, newline="") as f:
            reader = csv.DictReader(f)
            if reader.fieldnames != fields:
                raise PredictError(f"{path}: its columns ({', '.join(reader.fieldnames or ['none'])}) are not this "
                                   f"model's ({', '.join(fields)}): choose another --output")
            new = {row["name"] for row in rows}
            kept = [row for row in reader if row["name"] not in new]
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    writer.writerows(kept + rows)
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
    times = seconds_of(video.frame_numbers, fps, video.times)

    def seconds(frame):
        index = min(int(np.searchsorted(video.frame_numbers, frame)), video.num_frames - 1)
        return None if times is None else round(float(times[index]), 6)

    def listed(values):                 # NaN (a frame without the face: not scored) -> null
        return [None if np.isnan(x) else x for x in np.round(np.asarray(values, np.float64), 6).tolist()]

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
              "frame_number": numbers.tolist(), "micro_score": listed(scores[:, 0]),
              "macro_score": listed(scores[:, 1]), "warnings": list(video.warnings)}
    if classes:
        record["emotion_classes"] = list(classes) + ["neutral"]
        record["emotion_probabilities"] = [listed(row) for row in scores[:, 2:]]
    text = _csv(columns, [["" if r[k] is None else r[k] for k in columns] for r in rows], video.warnings)
    base = claim(output, video.video_id, record["input"])
    paths = [base + ".json", base + ".csv", base + ".png"]
    predicted = {kind: [(i.onset, i.offset) for i in intervals if i.kind == kind] for kind in ("micro", "macro")}
    labels = {kind: [i.emotion for i in intervals if i.kind == kind] for kind in ("micro", "macro")}
    with files.atomic_files(paths) as (json_tmp, csv_tmp, png_tmp):
        for path, content in ((json_tmp, json.dumps(record, indent=1)), (csv_tmp, text)):
            with open(path, "w") as f:
                f.write(content)
        plots.plot_timelines(png_tmp, [{"video_id": video.video_id, "frame_numbers": numbers, "scores": scores,
                                        "truth": truth, "predicted": predicted,
                                        **({"labels": labels} if classes else {})}],
                              _title(video.source or video.video_id, video.warnings))
    return paths
