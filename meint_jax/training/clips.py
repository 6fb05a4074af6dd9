"""What the folds on trimmed clips share (intensity and clip recognition): the window a config asks for, the
dataset facts a checkpoint records, the training windows, and how a NaN message names a batch's clips."""

from __future__ import annotations

import copy

import jax

from meint_jax.common.errors import ConfigError
from meint_jax.data.clips import pipeline as input_pipeline


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


def clip_ids(batch) -> str:
    """A batch's clips, as a NaN message names them."""
    return "clips " + ", ".join(c.decode() for c in batch["clip_id"])
