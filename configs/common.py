"""What every task's configs share: the `--config=FILE:ARGS` parser and the tiny smoke-run sizes.

Each `get_config(arg)` reads its arguments with `parse_arg`, so `configs/intensity/synthetic.py:variant=no_rank`,
`:no_rank` and `:variant=no_rank,size=tiny` all work the same in every file.
"""

import ml_collections


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
