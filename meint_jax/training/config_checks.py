"""Checks on a run's config and workdir that fail early, in one line, saying what to fix.

Also `check_same_run`: a workdir is only resumed (or reused) under the config it was trained with.
"""

from __future__ import annotations

import json
import os

import ml_collections

from meint_jax.common import files, xla_options
from meint_jax.common.errors import ConfigError
from meint_jax.data import emotion_classes, pseudo_labels
from meint_jax.data.clips import flow as clip_flow
from meint_jax.models import DTYPES
from meint_jax.models.factory import TEMPORAL_MODELS
from meint_jax.models.model import CLIP_INPUTS, FRAME_INPUTS
from meint_jax.models.ssm import WEIGHT_INITS
from meint_jax.training.losses import REDUCTIONS
from meint_jax.training.state import SCHEDULES


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise ConfigError(message)


def _check_training(t, e) -> None:
    """The settings of the training loop and of the subject split, alike for every task."""
    _check(isinstance(t.batch_size, int) and t.batch_size >= 1,
           f"config.train.batch_size={t.batch_size!r}: use a positive integer")
    _check(isinstance(t.num_steps, int) and t.num_steps >= 1,
           f"config.train.num_steps={t.num_steps!r}: use a positive integer")
    _check(t.learning_rate > 0.0, f"config.train.learning_rate={t.learning_rate!r}: use a value > 0")
    _check(isinstance(t.warmup_steps, int) and (t.warmup_steps == 0 or 0 < t.warmup_steps < t.num_steps),
           f"config.train.warmup_steps={t.warmup_steps!r}: use 0 <= warmup_steps < train.num_steps")
    _check(t.schedule in SCHEDULES,
           f"config.train.schedule={t.schedule!r}: choose one of {SCHEDULES} (onecycle: paper 002's)")
    _check(t.schedule != "onecycle" or t.warmup_steps >= 1,
           "config.train.schedule='onecycle' rises for train.warmup_steps steps: set 0 < warmup_steps < num_steps")
    for name in ("log_every", "checkpoint_every"):
        _check(isinstance(t[name], int) and t[name] >= 1,
               f"config.train.{name}={t[name]!r}: use a positive integer")
    _check(isinstance(t.keep_checkpoints, int) and t.keep_checkpoints >= 1,
           f"config.train.keep_checkpoints={t.keep_checkpoints!r}: use a positive integer")
    _check(t.cpu_convolutions in xla_options.CPU_CONVOLUTIONS,
           f"config.train.cpu_convolutions={t.cpu_convolutions!r}: choose one of {xla_options.CPU_CONVOLUTIONS}")
    _check(e.protocol in ("holdout", "loso", "lodo"),
           f"config.eval.protocol={e.protocol!r}: use 'holdout', 'loso' (leave one subject out) or 'lodo' (leave one "
           "dataset out, on a composite)")
    _check(isinstance(e.holdout_subjects, int) and e.holdout_subjects >= 1,
           f"config.eval.holdout_subjects={e.holdout_subjects!r}: use a positive integer")
    import jax

    _check(t.batch_size % jax.device_count() == 0,
           f"config.train.batch_size={t.batch_size} does not split over {jax.device_count()} devices: "
           f"use a multiple of {jax.device_count()}")


def check_spotting_config(config: ml_collections.ConfigDict) -> None:
    """Raises ConfigError naming the first field of a spotting config whose value cannot work."""
    from meint_jax.data.long import pipeline as long_pipeline
    from meint_jax.models.factory import SPOTTING_TEMPORAL_MODELS

    d, m, e = config.data, config.model, config.eval
    _check(isinstance(d.window, int) and d.window >= 4,
           f"config.data.window={d.window!r}: use an integer of at least 4 frames")
    _check(isinstance(d.frame_step, int) and d.frame_step >= 1,
           f"config.data.frame_step={d.frame_step!r}: use a positive integer")
    _check(d.me_fraction <= 1.0, f"config.data.me_fraction={d.me_fraction!r}: use a share in [0, 1] (< 0: uniform)")
    _check(d.target_shape in long_pipeline.TARGET_SHAPES,
           f"config.data.target_shape={d.target_shape!r}: choose one of {long_pipeline.TARGET_SHAPES}")
    _check(0.0 <= d.feature_scale < 1.0, f"config.data.feature_scale={d.feature_scale!r}: use a fraction in [0, 1)")
    _check(d.get("window_grid", "any") in long_pipeline.GRIDS,
           f"config.data.window_grid={d.get('window_grid')!r}: choose one of {long_pipeline.GRIDS} (paper: paper 002)")
    _check(d.get("macro_frames", "own") in long_pipeline.MACRO_FRAMES,
           f"config.data.macro_frames={d.get('macro_frames')!r}: choose one of {long_pipeline.MACRO_FRAMES}")
    _check(e.get("window_merge", "mean") in WINDOW_MERGES,
           f"config.eval.window_merge={e.get('window_merge')!r}: choose one of {WINDOW_MERGES} (first: paper 002's)")
    _check(m.inputs in ("flow", "frames"),
           f"config.model.inputs={m.inputs!r}: use 'flow' (paper 002) or 'frames' (ResNet18 on a frames_* build)")
    _check(m.temporal in SPOTTING_TEMPORAL_MODELS,
           f"config.model.temporal={m.temporal!r}: choose one of {SPOTTING_TEMPORAL_MODELS}")
    _check(m.dtype in DTYPES, f"config.model.dtype={m.dtype!r}: choose one of {sorted(DTYPES)}")
    _check(all(1 <= s <= m.stages for s in m.lateral_after),
           f"config.model.lateral_after={tuple(m.lateral_after)!r}: stages between 1 and model.stages={m.stages}")
    _check(m.get("weight_init", "ours") in WEIGHT_INITS,
           f"config.model.weight_init={m.get('weight_init')!r}: choose one of {WEIGHT_INITS}")
    _check(0.0 <= m.get("drop_path", 0.0) < 1.0,
           f"config.model.drop_path={m.get('drop_path')!r}: use a rate in [0, 1); 0 = none")
    # Only our decoder chooses settings on validation subjects; paper 002's rule fixes them (p = 0.55).
    tuned = "ours" in (e.get("decoder", "ours"), *e.get("compare_decoders", ()))
    _check(isinstance(e.validation_subjects, int) and e.validation_subjects >= (1 if tuned else 0),
           f"config.eval.validation_subjects={e.validation_subjects!r}: spotting with decoder 'ours' needs at "
           "least 1 validation subject to choose its decoder's settings (never the test subjects)")
    _check(e.get("decoder", "ours") in ("ours", "paper", "paper_peak"),
           f"config.eval.decoder={e.get('decoder')!r}: use 'ours', 'paper' or 'paper_peak' (paper 002's rule without "
           "its interval strategy)")
    _check(all(r in ("ours", "paper", "paper_peak") for r in e.get("compare_decoders", ())),
           f"config.eval.compare_decoders={tuple(e.get('compare_decoders', ()))!r}: name decoders among 'ours', "
           "'paper', 'paper_peak'")
    _check(len(e.p_grid) >= 1 and all(0.0 <= p <= 1.0 for p in e.p_grid),
           f"config.eval.p_grid={tuple(e.p_grid)!r}: give thresholds in [0, 1]")
    _check(isinstance(e.chance_runs, int) and e.chance_runs >= 1,
           f"config.eval.chance_runs={e.chance_runs!r}: use a positive integer")
    _check(e.stride is None or (isinstance(e.stride, int) and 1 <= e.stride <= d.window),
           f"config.eval.stride={e.stride!r}: use 1 to data.window frames, or leave it unset (half a window)")
    _check(d.data_dir is None or os.path.isdir(os.path.expanduser(d.data_dir)),
           f"config.data.data_dir={d.data_dir!r} does not exist: create it, or leave data.data_dir unset")
    _check_emotions(config)
    _check(e.get("emotion_pooling", "vote") in EMOTION_POOLING,
           f"config.eval.emotion_pooling={e.get('emotion_pooling')!r}: choose one of {EMOTION_POOLING}")
    _check_training(config.train, e)


EMOTION_POOLING = ("vote", "mean")
WINDOW_MERGES = ("mean", "first")    # tasks/spotting/window_merge.py's MERGES (a layer above: named here)
CLASS_WEIGHTS = ("ours", "paper")     # ours: balance_classes and neutral_weight; paper: paper 002's balanced x 6


def _check_emotions(config) -> None:
    """The emotion settings that spotting (joint training) and clip recognition share."""
    d, lo = config.data, config.loss
    _check(d.get("emotion_labels", "three") in emotion_classes.LABEL_SETS,
           f"config.data.emotion_labels={d.get('emotion_labels')!r}: choose one of {emotion_classes.LABEL_SETS}")
    _check(d.get("others", "exclude") in emotion_classes.OTHERS,
           f"config.data.others={d.get('others')!r}: choose one of {emotion_classes.OTHERS}")
    for name in ("spotting_weight", "emotion_weight", "neutral_weight"):
        if name in lo:
            _check(lo[name] >= 0.0, f"config.loss.{name}={lo[name]!r}: use a value >= 0")
    _check(lo.get("class_weights", "ours") in CLASS_WEIGHTS,
           f"config.loss.class_weights={lo.get('class_weights')!r}: choose one of {CLASS_WEIGHTS}")
    _check(lo.get("emotion_reduction", "weighted_mean") in REDUCTIONS,
           f"config.loss.emotion_reduction={lo.get('emotion_reduction')!r}: choose one of {REDUCTIONS}")


def _check_clip_inputs(d, m) -> None:
    """A model on clips reading flow: the image augmentations would move the face under its regions."""
    inputs = m.get("inputs", "frames")
    _check(inputs in CLIP_INPUTS, f"config.model.inputs={inputs!r}: choose one of {CLIP_INPUTS}")
    if inputs == "flow":
        moved = [f"data.{k}={d[k]!r}" for k, off in (("flip", False), ("min_crop", 1.0), ("brightness", 0.0),
                                                      ("contrast", 0.0)) if d[k] != off]
        _check(not moved, f"config.model.inputs='flow' with {', '.join(moved)}: image augmentations move the "
               "regions the flow is pooled in; use a config with inputs=flow (its augmentation is "
               "data.feature_scale)")
        _check(d.get("clip_landmarks") in clip_flow.LANDMARKS,
               f"config.data.clip_landmarks={d.get('clip_landmarks')!r}: choose one of {clip_flow.LANDMARKS}")
        _check(isinstance(d.get("flow_size"), int) and d.get("flow_size") >= 32,
               f"config.data.flow_size={d.get('flow_size')!r}: use an integer of at least 32 pixels")
        _check(m.get("init_from") is None, f"config.model.init_from={m.get('init_from')!r}: the flow stem has "
               "no pretrained weights (init_from loads ResNet18's); leave it unset with model.inputs='flow'")
        _check(m.frame_input == "frames", f"config.model.frame_input={m.frame_input!r}: residual frames are "
               "ResNet18's input; model.inputs='flow' reads region motion (leave frame_input='frames')")
        _check(0.0 <= d.get("feature_scale", 0.0) < 1.0,
               f"config.data.feature_scale={d.get('feature_scale')!r}: use a fraction in [0, 1)")


def check_recognition_config(config: ml_collections.ConfigDict) -> None:
    """Raises ConfigError naming the first field of a clip-recognition config whose value cannot work."""
    _check_emotions(config)
    check_clip_config(config)
    d = config.data
    _check(config.model.get("inputs", "frames") == "frames" or d.train_window == "trimmed",
           f"config.data.train_window={d.train_window!r}: clip recognition's region motion is computed from onset "
           "to offset only; model.inputs='flow' trains on trimmed windows")
    chance_runs = config.eval.get("chance_runs")
    _check(isinstance(chance_runs, int) and chance_runs >= 1,
           f"config.eval.chance_runs={chance_runs!r}: use a positive integer (draws of the class-prior baseline)")


def check_clip_config(config: ml_collections.ConfigDict) -> None:
    """Raises ConfigError naming the first field of a run on clips (intensity, and recognition's shared part)
    whose value cannot work."""
    d, m, t, e, lo = config.data, config.model, config.train, config.eval, config.loss
    _check(isinstance(d.image_size, int) and d.image_size >= 32,
           f"config.data.image_size={d.image_size!r}: use an integer of at least 32 (ResNet18 downsamples 32x)")
    _check(isinstance(d.num_steps, int) and d.num_steps >= 3,
           f"config.data.num_steps={d.num_steps!r}: use an integer of at least 3 frames per window")
    _check(d.train_window in ("trimmed", "untrimmed", "mixed"),
           f"config.data.train_window={d.train_window!r}: use 'trimmed', 'untrimmed' or 'mixed'")
    _check(0.0 <= d.untrimmed_probability <= 1.0,
           f"config.data.untrimmed_probability={d.untrimmed_probability!r}: use a value in [0, 1]")
    _check(d.max_margin >= 0.0, f"config.data.max_margin={d.max_margin!r}: use a value >= 0")
    _check(0.0 < d.min_crop <= 1.0, f"config.data.min_crop={d.min_crop!r}: use a fraction in (0, 1]; 1 = no crop")
    for name in ("brightness", "contrast"):
        _check(0.0 <= d[name] < 1.0, f"config.data.{name}={d[name]!r}: use a fraction in [0, 1); 0 = none")
    _check(d.pseudo_label in pseudo_labels.SHAPES,
           f"config.data.pseudo_label={d.pseudo_label!r}: choose one of {sorted(pseudo_labels.SHAPES)}")
    if d.data_dir is not None:
        path = os.path.expanduser(d.data_dir)
        _check(os.path.isdir(path), f"config.data.data_dir={d.data_dir!r} does not exist: create it, "
               "or leave data.data_dir unset to use ~/tensorflow_datasets")
    _check(m.temporal in TEMPORAL_MODELS,
           f"config.model.temporal={m.temporal!r}: use 'bigru' (the paper's model) or 'none' (frame-wise)")
    _check(isinstance(m.gru_features, int) and m.gru_features > 0,
           f"config.model.gru_features={m.gru_features!r}: use a positive integer")
    _check(m.frame_input in FRAME_INPUTS,
           f"config.model.frame_input={m.frame_input!r}: use 'frames' (the paper) or 'residual'")
    _check(m.dtype in DTYPES, f"config.model.dtype={m.dtype!r}: choose one of {sorted(DTYPES)}")
    _check_clip_inputs(d, m)
    if m.init_from is not None:
        _check(os.path.exists(os.path.expanduser(m.init_from)),
               f"config.model.init_from={m.init_from!r} does not exist: give a torchvision-layout ResNet18 "
               ".pth/.safetensors file, or a directory written by `python -m meint_jax.convert_weights`")
    for name in ("smooth_weight", "rank_weight", "rank_margin"):
        _check(lo[name] >= 0.0, f"config.loss.{name}={lo[name]!r}: use a value >= 0")
    _check(isinstance(e.validation_subjects, int) and e.validation_subjects >= 0,
           f"config.eval.validation_subjects={e.validation_subjects!r}: use an integer >= 0")
    _check(e.validation_protocol in ("trimmed", "untrimmed"),
           f"config.eval.validation_protocol={e.validation_protocol!r}: use 'trimmed' or 'untrimmed'")
    _check(e.select in ("last", "best"), f"config.eval.select={e.select!r}: use 'last' or 'best'")
    _check(e.select == "last" or e.validation_subjects > 0,
           "config.eval.select='best' needs config.eval.validation_subjects > 0 to pick the best checkpoint")
    _check(isinstance(e.untrimmed_windows, int) and 1 <= e.untrimmed_windows < 1000,
           f"config.eval.untrimmed_windows={e.untrimmed_windows!r}: use an integer from 1 to 999")
    _check_training(t, e)


def prepare_workdir(workdir: str) -> str:
    """Creates `workdir` if needed and proves it writable; returns its absolute path."""
    _check(bool(workdir), "--workdir is required: a directory for checkpoints, metrics and plots")
    return files.writable_folder(workdir, "--workdir")


# What a resumed run may change: how long it trains, how often it logs and saves,
# where the data lives, and how it is evaluated. The rest would change what the
# restored checkpoint was trained for.
RESUMABLE_CHANGES = ("train.num_steps", "train.log_every", "train.checkpoint_every", "train.keep_checkpoints",
                     "train.cpu_convolutions", "data.data_dir", "data.manual_dir", "eval.")
# Recorded from the dataset when training starts; unset in a config that has not started.
RECORDED = ("data.frame_size", "data.expression_frames", "data.flow_size", "data.anchor_every", "data.fps",
            "data.emotion_classes", "model.emotion_outputs", "loss.emotion_weights")


# Keys added after runs were saved without them, with the value such a run had: comparing them tells a
# resumed old run from a config that would change it (a spotting run saved before the emotion head existed
# had none; an intensity run saved before `task` was a field had none).
ADDED_SINCE = {"model.emotion_head": False, "model.inputs": "frames", "task": "intensity", "model.weight_init": "ours",
               "model.drop_path": 0.0, "data.window_grid": "any", "data.macro_frames": "own",
               "loss.class_weights": "ours", "loss.emotion_reduction": "weighted_mean"}


def _flatten(tree: dict, prefix: str = "") -> dict:
    flat = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[prefix + key] = value
    return flat


def check_same_run(workdir: str, config: ml_collections.ConfigDict, saved: dict | None = None) -> None:
    """Refuses to continue (or reuse) the run in `workdir` under a config it was not trained with.

    `saved` is the config the run was trained with (the loop reads it from the
    checkpoint it resumes); without it, `workdir/config.json`, if there is one.
    Keys the saved config lacks (written by an older version) are not compared.
    """
    if saved is None:
        path = os.path.join(workdir, "config.json")
        if not os.path.exists(path):
            return
        saved = files.read_json(path, ConfigError, "not a readable config",
                                "delete it (the checkpoints keep their own copy) or use a new --workdir")
    saved = {**ADDED_SINCE, **_flatten(saved)}
    if isinstance(saved["data.macro_frames"], (int, float)):    # the old, unread length of that name: ours
        saved["data.macro_frames"] = ADDED_SINCE["data.macro_frames"]
    wanted = _flatten(json.loads(config.to_json_best_effort()))
    changed = [key for key in sorted(set(saved) & set(wanted))
               if saved[key] != wanted[key] and not key.startswith(RESUMABLE_CHANGES)
               and not (key in RECORDED and wanted[key] is None)]
    _check(not changed, f"{workdir} holds a run trained with another config ("
           + ", ".join(f"{key}: {saved[key]!r} there, {wanted[key]!r} now" for key in changed[:4])
           + (", ..." if len(changed) > 4 else "") + f"): use a new --workdir, or delete {workdir} to start over")
