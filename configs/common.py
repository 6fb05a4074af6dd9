"""What every task's configs share: the `--config=FILE:ARGS` parser, the settings of the engine every task
trains on (`dataset`, `training`, `subjects`: declared once here), and the tiny smoke-run sizes.

Each `get_config(arg)` reads its arguments with `parse_arg`, so `configs/intensity/synthetic.py:variant=no_rank`,
`:no_rank` and `:variant=no_rank,size=tiny` all work the same in every file.
"""

import ml_collections
from ml_collections.config_dict import placeholder


def parse_arg(arg: str | None, **defaults) -> ml_collections.ConfigDict:
    """'variant=no_rank,size=112' or 'no_rank' -> ConfigDict over `defaults`."""
    parsed = ml_collections.ConfigDict(defaults)
    for item in filter(None, (arg or "").split(",")):
        key, _, value = item.partition("=")
        if not value:
            key, value = "variant", key
        if key not in defaults:
            raise ValueError(f"unknown config argument {key!r}; known: {sorted(defaults)}")
        parsed[key] = type(defaults[key])(value) if defaults[key] is not None else value
    return parsed


def dataset(name: str) -> ml_collections.ConfigDict:
    """`config.data`'s where-to-find-it fields; each task adds its own."""
    data = ml_collections.ConfigDict()
    data.name = name                            # TFDS name[/config]
    data.data_dir = placeholder(str)            # TFDS data_dir; unset: ~/tensorflow_datasets
    data.manual_dir = placeholder(str)          # licensed datasets: the folder as distributed
    return data


def training(**values) -> ml_collections.ConfigDict:
    """`config.train`: the loop's settings (training/fit.py, training/state.py), the same fields for every
    task; `values` are the task's own numbers."""
    train = ml_collections.ConfigDict()
    train.batch_size = 8
    train.num_steps = 2000
    train.learning_rate = 1e-4
    train.warmup_steps = 0
    train.schedule = "constant"                 # constant | cosine
    train.log_every = 50
    train.checkpoint_every = 500                # also validates then, with eval.validation_subjects
    train.keep_checkpoints = 3                  # the latest N are kept (checkpoints/); the best in best/
    train.cpu_convolutions = "xla"              # on CPU: xla (faster to train, see xla_options.py) | ynnpack
    for key, value in values.items():
        if key not in train:
            raise KeyError(f"config.train has no field {key!r}")
        train[key] = value
    return train


def subjects(protocol: str, holdout_subjects: int, validation_subjects: int) -> ml_collections.ConfigDict:
    """`config.eval`'s subject protocol (training/run.py, training/loso.py); each task adds how it scores."""
    e = ml_collections.ConfigDict()
    e.protocol = protocol                       # holdout | loso (leave one subject out, one model per fold)
    e.folds = placeholder(str)                  # loso: the folds this run trains, e.g. "s01,s02" or "0-4"
    e.holdout_subjects = holdout_subjects       # subject-disjoint hold-out
    e.validation_subjects = validation_subjects  # taken from the training subjects
    return e


def tiny_training(config: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
    """`size=tiny`'s schedule, alike in every task: a seconds-long run (tests, smoke runs) that still warms up,
    logs and checkpoints twice, scored on one held-out subject. Each task's synthetic config shrinks its model."""
    config.train.batch_size = 4
    config.train.num_steps = 6
    config.train.warmup_steps = 2
    config.train.log_every = 2
    config.train.checkpoint_every = 3
    config.eval.holdout_subjects = 1
    return config
