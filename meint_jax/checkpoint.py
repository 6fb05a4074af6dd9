"""Orbax checkpoints of the training state: the only module that imports orbax.

Saves are atomic (orbax writes to a temporary directory and renames it), so a
run killed mid-save leaves the previous checkpoint intact and resumes from it.
The config travels with every checkpoint, so a checkpoint alone says how to
rebuild its model.
"""

from __future__ import annotations

import os
from typing import Any

import orbax.checkpoint as ocp


class Checkpointer:
    """Keeps the latest `max_to_keep` checkpoints of a run under `directory`.

    With `best_metric`, keeps instead the `max_to_keep` with the highest value of
    that metric (saves must then pass `metrics`).
    """

    def __init__(self, directory: str, max_to_keep: int = 3, best_metric: str | None = None):
        self.directory = os.path.abspath(directory)
        self._best_metric = best_metric
        options = ocp.CheckpointManagerOptions(max_to_keep=max_to_keep, create=True)
        if best_metric:
            options = ocp.CheckpointManagerOptions(max_to_keep=max_to_keep, create=True, best_mode="max",
                                                   best_fn=lambda metrics: metrics[best_metric])
        self._manager = ocp.CheckpointManager(self.directory, options=options, item_names=("state", "config"))

    def latest_step(self) -> int | None:
        return self._manager.latest_step()

    def best(self) -> tuple[int, float] | None:
        """(step, metric value) of the best checkpoint kept, for a `best_metric` checkpointer."""
        self._manager.wait_until_finished()  # A pending save's metrics are not readable before.
        step = self._manager.best_step()
        if step is None:
            return None
        return step, float(self._manager.metrics(step)[self._best_metric])

    def step_dir(self, step: int) -> str:
        return os.path.join(self.directory, str(step))

    def save(self, step: int, state: Any, config: dict, metrics: dict | None = None) -> None:
        self._manager.save(step, args=ocp.args.Composite(
            state=ocp.args.StandardSave(state), config=ocp.args.JsonSave(config)), metrics=metrics, force=True)

    def restore(self, abstract_state: Any, step: int | None = None) -> tuple[Any, dict]:
        """(state, config) at `step` (default: latest), laid out like `abstract_state`."""
        step = self.latest_step() if step is None else step
        restored = self._manager.restore(step, args=ocp.args.Composite(
            state=ocp.args.StandardRestore(abstract_state), config=ocp.args.JsonRestore()))
        return restored.state, restored.config

    def close(self) -> None:
        """Waits for pending asynchronous saves; call before the process exits."""
        self._manager.wait_until_finished()
        self._manager.close()


def save_tree(path: str, tree: Any) -> None:
    """Writes one pytree of arrays (e.g. converted pretrained weights) as an orbax checkpoint."""
    checkpointer = ocp.StandardCheckpointer()
    checkpointer.save(os.path.abspath(path), tree)
    checkpointer.wait_until_finished()


def load_tree(path: str) -> Any:
    """Reads a pytree written by `save_tree`, as host arrays."""
    return ocp.StandardCheckpointer().restore(os.path.abspath(path))
