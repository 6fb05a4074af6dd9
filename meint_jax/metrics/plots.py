"""Figures of predicted intensity curves for held-out clips."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

NO_FACE = "no face: not scored"


def unscored_spans(frame_numbers, values) -> list[tuple[float, float]]:
    """The runs of frames whose values are all NaN (frames without the face, which are not scored), each as
    (first frame number - 0.5, last + 0.5), so that a one-frame run is still drawn as a band."""
    values = np.asarray(values, np.float64)
    missing = np.isnan(values.reshape(len(values), -1)).all(axis=1)
    edges = np.flatnonzero(np.diff(np.concatenate([[0], missing.astype(np.int8), [0]])))
    numbers = np.asarray(frame_numbers)
    return [(float(numbers[a]) - 0.5, float(numbers[b - 1]) + 0.5) for a, b in zip(edges[::2], edges[1::2])]


def _shade_unscored(ax, frame_numbers, values) -> None:
    for i, (start, stop) in enumerate(unscored_spans(frame_numbers, values)):
        ax.axvspan(start, stop, color="0.85", zorder=0, label=None if i else NO_FACE)


def plot_curves(path: str, panels: list[dict], title: str) -> None:
    """One row per clip, one column per protocol; written as PNG whatever `path` ends with.

    Each panel has `positions`, `prediction`, `target`, optionally `prior`,
    `true_intensity`, and the clip's `onset`/`apex`/`offset`, `clip_id`, `protocol`.
    """
    protocols = sorted({p["protocol"] for p in panels}, reverse=True)
    clips = list(dict.fromkeys(p["clip_id"] for p in panels))
    fig, axes = plt.subplots(len(clips), len(protocols), figsize=(5 * len(protocols), 2.6 * len(clips)),
                             squeeze=False, sharey=True)
    for panel in panels:
        ax = axes[clips.index(panel["clip_id"]), protocols.index(panel["protocol"])]
        x = panel["positions"]
        ax.plot(x, panel["target"], "k--", lw=1.2, label="pseudo-target")
        if panel.get("true_intensity") is not None:
            ax.plot(x, panel["true_intensity"], color="tab:green", lw=1.5, label="true intensity")
        if panel.get("prior") is not None:
            ax.plot(x, panel["prior"], color="tab:gray", lw=1, alpha=0.7, label="position prior")
        ax.plot(x, panel["prediction"], "o-", color="tab:red", ms=3, lw=1.5, label="predicted")
        for name, style in (("onset", ":"), ("apex", "-."), ("offset", ":")):
            ax.axvline(panel[name], color="tab:blue", ls=style, lw=0.8)
        ax.set_title(f"{panel['clip_id']} ({panel['protocol']})", fontsize=9)
        ax.set_xlabel("frame")
        ax.set_ylim(-0.25, 1.25)
    axes[0, 0].set_ylabel("intensity")
    axes[0, -1].legend(fontsize=7, loc="upper right")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100, format="png")
    plt.close(fig)


def plot_prediction(path: str, frame_numbers, intensity, title: str, *, target=None, true_intensity=None,
                    annotations=None) -> None:
    """One predicted curve over a whole input, with the pseudo-target, truth and annotations when known.

    Written as PNG whatever `path` ends with (callers write aside, then rename).
    """
    fig, ax = plt.subplots(figsize=(9, 3))
    if target is not None:
        ax.plot(frame_numbers, target, "k--", lw=1.2, label="pseudo-target")
    if true_intensity is not None:
        ax.plot(frame_numbers, true_intensity, color="tab:green", lw=1.5, label="true intensity")
    ax.plot(frame_numbers, intensity, color="tab:red", lw=1.5, label="predicted")
    _shade_unscored(ax, frame_numbers, intensity)
    if annotations is not None:
        for value, name, style in zip(annotations, ("onset", "apex", "offset"), (":", "-.", ":")):
            ax.axvline(value, color="tab:blue", ls=style, lw=0.8, label=name)
    ax.set_xlabel("frame")
    ax.set_ylabel("intensity")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    fig.savefig(path, dpi=100, format="png")
    plt.close(fig)


def plot_timelines(path: str, panels: list[dict], title: str) -> None:
    """One row per long video: the micro and macro scores over its frames, the decoded intervals above the
    axis, the ground truth below it and the frames without the face (NaN scores) shaded grey. Each panel has
    `video_id`, `frame_numbers`, `scores` [M, 2], and `truth` / `predicted`: kind -> [(onset, offset)], and
    optionally `labels`: kind -> the emotion of each predicted interval, written above it."""
    colours = {"micro": "tab:red", "macro": "tab:blue"}
    fig, axes = plt.subplots(len(panels), 1, figsize=(12, 2.4 * len(panels)), squeeze=False)
    for ax, panel in zip(axes[:, 0], panels):
        x = panel["frame_numbers"]
        _shade_unscored(ax, x, panel["scores"][:, :2])
        for channel, kind in enumerate(("micro", "macro")):
            ax.plot(x, panel["scores"][:, channel], color=colours[kind], lw=1, label=f"{kind} score")
            labels = panel.get("labels", {}).get(kind) or [None] * len(panel["predicted"].get(kind, ()))
            for (onset, offset), label in zip(panel["predicted"].get(kind, ()), labels):
                ax.axvspan(onset, offset, ymin=0.55, ymax=1.0, color=colours[kind], alpha=0.25)
                if label:
                    ax.text((onset + offset) / 2, 1.0, label, ha="center", va="bottom", fontsize=6,
                            color=colours[kind], rotation=90)
            for onset, offset in panel["truth"].get(kind, ()):
                ax.axvspan(onset, offset, ymin=0.0, ymax=0.45, color=colours[kind], alpha=0.12, hatch="//")
        ax.set_ylim(0, 1.05)
        ax.set_xlim(x[0], x[-1])
        ax.set_title(f"{panel['video_id']}: decoded (upper band) and annotated (lower band, hatched)", fontsize=9)
        ax.set_ylabel("score")
    axes[0, 0].legend(loc="upper right", fontsize=8)
    axes[-1, 0].set_xlabel("frame")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, format="png", dpi=90)
    plt.close(fig)
