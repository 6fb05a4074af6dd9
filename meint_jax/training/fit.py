"""The one training loop every task runs: steps, logs, checkpoints, the NaN guard, resumption.

A task (intensity on clips, spotting on long videos) hands in its jitted train step, its batches and how
to put one on the devices; `fit` does the rest the same way for all.
"""

from __future__ import annotations

import os
import time

import jax
from tqdm import tqdm

from meint_jax.common import files
from meint_jax.common.errors import UserError
from meint_jax.training import checkpoint, config_checks


class TrainingDiverged(UserError, FloatingPointError):
    """The loss became NaN or infinite; the message names the step, the examples and the last good checkpoint."""


def open_run(workdir: str, config) -> tuple[checkpoint.Checkpointer, dict | None]:
    """(the run's checkpointer, the config its latest checkpoint was saved with, or None for a new run).

    A resumed run must have the config it was trained with (`check_same_run`); config.json is rewritten.
    """
    ckpt = checkpoint.Checkpointer(os.path.join(workdir, "checkpoints"), max_to_keep=config.train.keep_checkpoints)
    saved = ckpt.saved_config()   # the config the checkpoint was saved with, whatever config.json says
    if saved is not None:
        config_checks.check_same_run(workdir, config, saved)
    if jax.process_index() == 0:
        files.write_text(os.path.join(workdir, "config.json"), config.to_json_best_effort(indent=2))
    return ckpt, saved


def fit(config, state, step_fn, batches, to_device, example_ids, ckpt, run_log, on_checkpoint=None,
        closing=()):
    """Trains `state` from its step to `config.train.num_steps`; returns (state, seconds spent).

    `to_device(batch)` gives the step's input, `example_ids(batch)` the words a NaN message names the batch's
    examples with ("clips a, b");
    `on_checkpoint(step, state)` runs after each save (validation). `ckpt` and the checkpointers in
    `closing` are closed at the end, whatever happens.
    """
    t = config.train
    start_step = int(state.step)

    def check_finite(step, finite, examples):
        if not bool(finite):
            last = ckpt.latest_step()
            message = (
                f"the loss became NaN or infinite at step {step}, on {examples}; "
                f"stopped without applying that step. Last good checkpoint: "
                f"{ckpt.step_dir(last) if last is not None else 'none (no checkpoint yet)'}. Rerunning resumes "
                "from it; lower --config.train.learning_rate or check those examples.")
            run_log.text("%s", message)
            raise TrainingDiverged(message)

    train_start = time.time()
    progress = tqdm(range(start_step, t.num_steps), initial=start_step, total=t.num_steps, desc="train",
                    unit="step", dynamic_ncols=True, disable=jax.process_index() != 0)
    pending = None
    try:
        for step in progress:
            batch = next(batches)
            state, step_metrics = step_fn(state, to_device(batch))
            if pending is not None:  # Checked one step late, so the host never waits on the device here.
                check_finite(*pending)
            pending = (step + 1, step_metrics["finite"], example_ids(batch))
            done = step + 1 == t.num_steps
            if (step + 1) % t.log_every == 0 or done:
                check_finite(*pending)
                values = {k: float(v) for k, v in jax.device_get(step_metrics).items() if k != "finite"}
                progress.set_postfix(loss=f"{values['loss']:.4f}")
                run_log.scalars(step + 1, values)
            if (step + 1) % t.checkpoint_every == 0 or done:
                check_finite(*pending)
                ckpt.save(step + 1, state, config.to_dict())
                if on_checkpoint is not None:
                    on_checkpoint(step + 1, state)
        if pending is not None:
            check_finite(*pending)
    finally:
        progress.close()
        ckpt.close()
        for other in closing:
            if other is not None:
                other.close()
    return state, time.time() - train_start
