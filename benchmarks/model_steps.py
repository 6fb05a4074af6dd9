"""The model's jit-compiled train step and forward pass on random clips, as training compiles them.

The one place the benchmark scripts (`run`, `step_time`, `profile_step`) build
model, optimiser, state and steps; the steps come from `meint_jax.training.state.jit_steps`, so what
they time is the program training runs. No absl flags: importing it adds none.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

import numpy as np

from configs.intensity import base as default_config
from meint_jax import tasks
from meint_jax.training import state as training_steps


def random_clips(batch: int, steps: int, size: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """uint8 frames [batch, steps, size, size, 3] and per-frame targets in [0, 1), as the pipeline gives."""
    rng = np.random.default_rng(seed)
    return (rng.integers(0, 256, (batch, steps, size, size, 3), dtype=np.uint8),
            rng.uniform(size=(batch, steps)).astype(np.float32))


@dataclasses.dataclass
class ModelSteps:
    """A freshly initialised state, a random batch, and the jitted steps that consume them."""

    config: Any
    state: Any
    frames: np.ndarray
    targets: np.ndarray
    train_step: Callable     # (state, {"frames", "targets"}) -> (state, metrics)
    predict_step: Callable   # (state, frames) -> per-frame intensities

    @property
    def batch(self) -> dict:
        return {"frames": self.frames, "targets": self.targets}


def build(shape: tuple[int, int, int], *, dtype: str = "float32", temporal: str = "bigru",
          cpu_convolutions: str = "xla", donate: bool = True, seed: int = 0) -> ModelSteps:
    """The default config's model for clips x frames x pixels `shape`.

    `donate=True` donates the state to the train step, as the training loop does (the caller
    must then replace it with the returned one); profiling, which calls the step
    on one state again and again, passes False.
    """
    batch, steps, size = shape
    config = default_config.get_config()
    config.model.update(dtype=dtype, temporal=temporal)
    config.train.cpu_convolutions = cpu_convolutions
    model, tx = tasks.create_model(config), training_steps.create_optimizer(config.train)
    frames, targets = random_clips(batch, steps, size, seed)
    state = training_steps.init_state(model, tx, frames.shape, seed=seed)
    train_step, predict_step = tasks.jit_steps(model, tx, config, donate=donate)
    return ModelSteps(config, state, frames, targets, train_step, predict_step)
