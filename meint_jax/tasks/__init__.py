"""The tasks, one room each, and the registry that replaces every switch on `config.task`.

A room (`tasks/<name>/`) holds what only its task does: `steps.py` (its pure train and predict steps and
example input), `train.py` (its fold, run on the engine in `training/`), `evaluate.py` (its protocol and
the baselines that need no learning), `results.py` (pooling LOSO folds) and `predictor.py` (a checkpoint
applied to new recordings). Its `__init__.py` names these in one `Task` (`task.py`). Adding a task is one
room and one line in `TASKS`.

Importing this package imports each room's `__init__` and steps only (jax, no TensorFlow); a task's
training code is imported when a run starts (`train_and_evaluate`).
"""

from __future__ import annotations

from typing import Any

from meint_jax.common.errors import ConfigError
from meint_jax.tasks import intensity, recognition, spotting
from meint_jax.tasks.task import Task

# The registry: a new task is one room and one entry here.
TASKS: dict[str, Task] = {task.name: task for task in (intensity.TASK, spotting.TASK, recognition.TASK)}


def name_of(config) -> str:
    """A config's (or a saved config dict's) task; runs saved before `task` was a field were intensity runs."""
    return config.get("task", None) or "intensity"


def get(config) -> Task:
    """The task a config (or a saved config dict) runs; ConfigError for an unknown one."""
    name = name_of(config)
    if name not in TASKS:
        raise ConfigError(f"config.task={name!r}: choose one of {', '.join(TASKS)}")
    return TASKS[name]


def create_model(config, backend: str | None = None):
    """The model of a config (or a saved config dict), composed as its task composes it."""
    import ml_collections

    model_config = config["model"]
    if not isinstance(model_config, ml_collections.ConfigDict):
        model_config = ml_collections.ConfigDict(model_config)
    return get(config).create_model(model_config, backend)


def jit_steps(model, tx, config, **kwargs) -> tuple[Any, Any]:
    """(train step, forward pass) of the config's task, compiled by `training.state.jit_steps`."""
    from meint_jax.training import state

    task = get(config)
    return state.jit_steps(task.train_step, task.predict_step, model, tx, config, **kwargs)


def train_and_evaluate(config, workdir: str) -> dict:
    """Trains and evaluates `config` in `workdir` by its task and `config.eval.protocol`; returns
    metrics.json's (or, for LOSO, results.json's) content; with config.seeds > 1, one run per seed in
    `workdir/seed_<k>/` and the summary of `training/seeds.py`."""
    count = config.get("seeds", 1)
    if not isinstance(count, int) or count < 1:
        from meint_jax.common.errors import ConfigError

        raise ConfigError(f"config.seeds={count!r}: use a positive integer (the number of runs, seeds 0..N-1)")
    if count > 1:
        from meint_jax.training import seeds

        return seeds.run_seeds(config, workdir, train_and_evaluate)

    task = get(config)
    task.check_config(config)     # before the training code's imports (TensorFlow): a bad setting fails in seconds
    from meint_jax.training import run

    workdir, builder = run.prepare(config, workdir)
    return task.train_module().run(config, workdir, builder)


def restore_for_inference(path: str, step: int | None = None) -> tuple[dict, dict, int]:
    """(variables {'params', 'batch_stats'}, training config dict, step) of a run's checkpoint, on this host's
    first device. Reads only what inference needs (never the optimiser state)."""
    import functools

    import jax

    from meint_jax.training import checkpoint

    step_dir, config, restored_step = checkpoint.find_step(path, step)
    model = create_model(config)
    abstract = jax.eval_shape(functools.partial(model.init, train=False), jax.random.PRNGKey(0),
                              get(config).example_input(config))
    variables = checkpoint.restore_variables(step_dir, {k: abstract[k] for k in ("params", "batch_stats")})
    return variables, config, restored_step
