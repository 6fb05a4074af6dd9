"""`IntensityEstimator`: a trained checkpoint that turns face frames into a per-frame intensity curve.

    IntensityEstimator.from_checkpoint(workdir).predict(frames)   # uint8 [N, H, W, 3] -> float32 [N]

The checkpoint carries its training config, so the model, the input size and
the time scale of its windows come from it (`windows.py`). Needs no TensorFlow.
A run on region motion (model.inputs='flow') is refused: its windows would need
each recording's region trajectories, which only its training computes.
"""

from __future__ import annotations

import jax
import numpy as np

from meint_jax import tasks
from meint_jax.common import xla_options
from meint_jax.common.errors import PredictError
from meint_jax.data import frames as frames_lib
from meint_jax.inference import batching
from meint_jax.inference.windows import default_frame_step, merge_windows, window_positions

MIN_FRAMES = 2   # the shortest input a curve is predicted for


class IntensityEstimator:
    """A trained model that turns face frames into a per-frame intensity curve."""

    def __init__(self, variables: dict, config: dict, frame_step: int | None = None, batch_size: int = 8):
        if tasks.name_of(config) != "intensity":
            raise PredictError(f"a {tasks.name_of(config)} run, not an intensity one")
        if config["model"].get("inputs", "frames") == "flow":
            raise PredictError(f"an intensity run on paper 002's region motion (model.inputs='flow', trained on "
                               f"{config['data']['name']}): prediction on new recordings reads frames only; "
                               "use a run trained on frames (model.inputs='frames')")
        self.config = config
        data = config["data"]
        self.window = int(data["num_steps"])
        self.image_size = int(data["image_size"])
        self.frame_size = int(data.get("frame_size") or self.image_size)
        if frame_step is None:
            frame_step = default_frame_step(data.get("expression_frames"), self.window)
        if frame_step < 1:
            raise PredictError(f"frame_step={frame_step}: use a positive number of frames")
        if batch_size < 1:
            raise PredictError(f"batch_size={batch_size}: use a positive number of windows per forward pass")
        self.frame_step = int(frame_step)
        self.batch_size = int(batch_size)
        self._variables = variables
        model = tasks.create_model(config)
        options = xla_options.step_options(step="predict")
        self._forward = jax.jit(lambda v, x: model.apply(v, x, train=False)[0], compiler_options=options)
        # Overlapping windows share frames; with frame_input="frames" they can share the encoder's work.
        self.shares_frames = model.frames_encoded_alone
        self._encode = jax.jit(lambda v, x: model.apply(v, x, method="encode"), compiler_options=options)
        self._from_features = jax.jit(lambda v, f: model.apply(v, f, method="from_features"),
                                      compiler_options=options)

    @classmethod
    def from_checkpoint(cls, path: str, step: int | None = None, **kwargs) -> IntensityEstimator:
        """From a training workdir, its checkpoints/ folder or one step folder (default: latest step)."""
        variables, config, _ = tasks.restore_for_inference(path, step)
        return cls(variables, config, **kwargs)

    def prepare(self, frames: np.ndarray) -> np.ndarray:
        """Face-cropped uint8 frames [N, H, W, 3] -> the model's input size, resized as in training."""
        return frames_lib.area_resize(frames_lib.face_frames(frames, self.frame_size), self.image_size)

    def predict_positions(self, frames: np.ndarray, positions: np.ndarray, progress: bool = False) -> np.ndarray:
        """Model outputs [W, T] for windows of already prepared `frames` at `positions` [W, T].

        Each frame the windows look at goes through the encoder once, however many
        windows hold it (half the encoder's work for overlapping windows), unless
        the model's encoder input depends on the window (`frame_input="residual"`).
        """
        if not self.shares_frames:
            return self._batched(positions, lambda index: self._forward(self._variables, frames[index]), progress)
        unique, where = np.unique(positions, return_inverse=True)
        # Whole windows' worth of frames per call: [batch_size, window] as in a forward pass.
        chunks = [unique[i:i + self.window] for i in range(0, len(unique), self.window)]
        chunks[-1] = np.concatenate([chunks[-1], np.repeat(chunks[-1][-1:], self.window - len(chunks[-1]))])
        features = self._batched(np.stack(chunks), lambda index: self._encode(self._variables, frames[index]),
                                 progress)
        features = features.reshape(-1, features.shape[-1])[where.reshape(positions.shape)]
        return self._batched(features, lambda batch: self._from_features(self._variables, batch), False)

    def _batched(self, inputs: np.ndarray, fn, progress: bool) -> np.ndarray:
        return batching.in_batches(fn, inputs, self.batch_size, progress)

    def predict_curve(self, frames: np.ndarray, progress: bool | None = False) -> tuple[np.ndarray, np.ndarray, int]:
        """(intensity [N], model-sampled [N] bool, number of windows) for face-cropped frames in time order.

        `progress=None` shows a bar only when the windows fill more than one batch.
        """
        if len(frames) < MIN_FRAMES:
            raise PredictError(f"{len(frames)} frame(s): a curve needs at least {MIN_FRAMES} (a window of one repeated "
                               "frame carries no motion, and the residual input is zero)")
        prepared = self.prepare(frames)
        positions = window_positions(len(prepared), self.window, self.frame_step)
        if progress is None:
            progress = len(positions) > self.batch_size
        predictions = self.predict_positions(prepared, positions, progress)
        curve, sampled = merge_windows(positions, predictions, len(prepared))
        return curve, sampled, len(positions)

    def predict(self, frames: np.ndarray, progress: bool = False) -> np.ndarray:
        """Intensity per frame, float32 [N], for face-cropped uint8 frames [N, H, W, 3] in time order."""
        return self.predict_curve(frames, progress)[0]
