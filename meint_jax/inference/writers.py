"""Prediction outputs: NAME.csv, NAME.json and NAME.png per input, all or none."""

from __future__ import annotations

import json
import os

import numpy as np

from meint_jax.common import files
from meint_jax.data import pseudo_labels
from meint_jax.data.clips import Clip
from meint_jax.evaluation import plots


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
    base = os.path.join(output, clip.clip_id.replace(os.sep, "_"))
    paths = [base + ".json", base + ".csv", base + ".png"]
    with files.atomic_files(paths) as (json_tmp, csv_tmp, png_tmp):
        for path, text in ((json_tmp, json.dumps(record, indent=1)), (csv_tmp, "\n".join(rows) + "\n")):
            with open(path, "w") as f:
                f.write(text)
        plots.plot_prediction(png_tmp, clip.frame_numbers, curve, f"{clip.clip_id} ({clip.source})",
                              target=target, true_intensity=clip.true_intensity,
                              annotations=(clip.onset, clip.apex, clip.offset) if clip.annotated else None)
    return paths
