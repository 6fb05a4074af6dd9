"""What the folds on trimmed clips share (intensity and clip recognition): the window a config asks for, the
dataset facts a checkpoint records, the training windows, a flow run's region motion (each clip's computed once
per process) and its training batches, and how a NaN message names a batch's clips."""

from __future__ import annotations

import copy

import jax
import numpy as np

from meint_jax.common.errors import ConfigError
from meint_jax.data.clips import flow as clip_flow
from meint_jax.data.clips import pipeline as input_pipeline

# Which frames of a clip its region motion is computed over: `expression` (onset to offset: recognition reads
# trimmed windows only) or `clip` (every stored frame: intensity's untrimmed windows reach into the neutral
# frames around the expression, whose motion must be measured, not the onset's or offset's repeated).
MOTION_SPANS = ("expression", "clip")


def window_spec(config, kind: str, jitter: bool) -> input_pipeline.WindowSpec:
    """The T-position window of `kind` (trimmed, untrimmed, mixed) with the config's reach and jitter."""
    d = config.data
    return input_pipeline.WindowSpec(kind=kind, num_steps=d.num_steps,
                                     untrimmed_probability=d.untrimmed_probability,
                                     max_margin=d.max_margin, jitter=jitter)


def record_dataset_facts(config, builder, train_subjects):
    """A copy of `config` with what prediction on new video needs to know of the training data."""
    config = copy.deepcopy(config)
    stored = builder.info.features["frames"].shape[1]
    if config.data.frame_size not in (None, stored):
        raise ConfigError(f"config.data.frame_size={config.data.frame_size} but {builder.info.full_name} "
                          f"stores {stored}px frames: leave data.frame_size unset")
    config.data.frame_size = stored
    if config.data.expression_frames is None:
        config.data.expression_frames = input_pipeline.expression_frames(builder, train_subjects)
    return config


def augmentation(data_config) -> input_pipeline.Augmentation:
    return input_pipeline.Augmentation(flip=data_config.flip, min_crop=data_config.min_crop,
                                       brightness=data_config.brightness, contrast=data_config.contrast)


def clip_batches(config, builder, train_subjects: list[str], start_step: int, **options):
    """Training windows (data.train_window) of the clips of `train_subjects`, from `start_step` on; `options`
    go to `input_pipeline.train_batches` (a recognition run's `emotions` and `decode`)."""
    d = config.data
    return input_pipeline.train_batches(
        builder, train_subjects, window_spec(config, d.train_window, d.jitter), batch_size=config.train.batch_size,
        image_size=d.image_size, label_shape=d.pseudo_label, augment=augmentation(d), seed=config.seed,
        start_step=start_step, process_index=jax.process_index(), process_count=jax.process_count(), **options)


# (dataset folder, flow size, landmarks, span) -> subject -> {clip key: ClipMotion}: the folds of one process (a
# LOSO run, or the seeds of --config.seeds) compute each clip's motion once.
_MOTIONS: dict = {}


def clip_motions(config, builder, subjects: list[str], span: str = "expression") -> dict[str, clip_flow.ClipMotion]:
    """`clip_flow.motion_key` -> region trajectories, for the clips of `subjects`, over each clip's frames of
    `span` (MOTION_SPANS): what a flow run's windows read (each clip's computed once per process, whatever
    windows are drawn). With span='clip' the regions are placed on the clip's first stored frame, where its
    trajectories start."""
    if span not in MOTION_SPANS:
        raise ValueError(f"unknown motion span {span!r}; use one of {MOTION_SPANS}")
    d = config.data
    cache = _MOTIONS.setdefault((builder.data_dir, d.flow_size, d.clip_landmarks, span), {})
    missing = [s for s in subjects if s not in cache]
    computed = {s: {} for s in missing}
    for clip in input_pipeline.clip_frames(builder, missing) if missing else ():
        numbers = clip["frame_numbers"]
        first, last = (clip["onset"], clip["offset"]) if span == "expression" else (numbers[0], numbers[-1])
        try:
            motion = clip_flow.clip_motion(clip["frames"], numbers, first, last, d.flow_size, d.clip_landmarks)
        except ValueError as e:
            raise ConfigError(f"config.data.name={d.name!r}, clip {clip['clip_id']}: {e}") from e
        computed[clip["subject"]][clip_flow.motion_key(clip["clip_id"], clip["onset"])] = motion
    cache.update(computed)
    return {key: motion for s in subjects for key, motion in cache[s].items()}


def log_motions(log, motions: dict[str, clip_flow.ClipMotion], data_config) -> None:
    """Tells `log` (a run log's `text`) how many clips' motion a flow run reads, at what size, and which clips'
    regions the template placed where dlib was asked and found no face."""
    d = data_config
    templated = sorted(c for c, m in motions.items() if m.landmarks == "template")
    log("region motion of %d clips at %d px; regions placed by the template on %d of them%s",
        len(motions), d.flow_size, len(templated),
        "" if d.clip_landmarks == "template" or not templated else
        f" (dlib found no face: {', '.join(templated[:10])}{', ...' if len(templated) > 10 else ''})")


def flow_batches(batches, motions: dict, config, start_step: int):
    """Training batches (of windows' frame numbers, no frames) with `frames` holding the windows' region
    motion [B, T, 36], each window's scaled by one factor from U(1 - s, 1 + s) (paper 002's augmentation),
    drawn from (seed, step, process) so that a resumed run draws what an uninterrupted one would."""
    scale = config.data.feature_scale
    for step, batch in enumerate(batches, start_step):
        motion = clip_flow.windows_of(motions, batch["clip_id"], batch["onset"], batch["positions"])
        if scale:
            rng = np.random.default_rng([config.seed, 7, step, jax.process_index()])
            motion *= rng.uniform(1 - scale, 1 + scale, (len(motion), 1, 1)).astype(np.float32)
        yield {**batch, "frames": motion}


def clip_ids(batch) -> str:
    """A batch's clips, as a NaN message names them."""
    return "clips " + ", ".join(c.decode() for c in batch["clip_id"])
