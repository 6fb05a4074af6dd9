"""`Task`: what the engine and the entry points need to know of a task (each room's `__init__` makes one)."""

from __future__ import annotations

import dataclasses
import importlib
from typing import Callable


@dataclasses.dataclass(frozen=True)
class Task:
    name: str
    create_model: Callable      # (config.model, backend=None) -> flax module
    example_input: Callable     # (config or saved config dict) -> jax.ShapeDtypeStruct of one window
    train_step: Callable        # (state, batch, *, model, tx, loss_config) -> (state, metrics)
    predict_step: Callable      # (state, inputs, *, model) -> outputs
    check_config: Callable      # (config) -> None, or ConfigError naming the field
    run: str                    # module whose `run(config, workdir, builder) -> dict` trains and evaluates

    def train_module(self):
        """The task's training code, imported when a run starts (it needs TensorFlow for clip datasets)."""
        return importlib.import_module(self.run)
