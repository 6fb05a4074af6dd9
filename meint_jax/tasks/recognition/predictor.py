"""`ClipRecognizer`: a clip-recognition checkpoint that names the emotion of a trimmed clip.

    ClipRecognizer.from_checkpoint(workdir).predict(frames)   # uint8 [N, H, W, 3] -> class probabilities [C]

The clip is read as training evaluated its test clips: one window of T frames spread evenly from onset to
offset (the whole input where no onset and offset are known), resized as in training; for a run on region
motion (`model.inputs='flow'`) the window's motion is read off the clip's region trajectories, computed as
training computed them (`data/clips/flow.py`). Needs no TensorFlow.
"""

from __future__ import annotations

import functools

import jax
import numpy as np

from meint_jax import tasks
from meint_jax.common import xla_options
from meint_jax.common.errors import PredictError
from meint_jax.data import frames as frames_lib
from meint_jax.data.clips import flow as clip_flow
from meint_jax.tasks.recognition import steps
from meint_jax.training.state import TrainState

MIN_FRAMES = 2


def window_indices(frame_numbers: np.ndarray, onset: float, offset: float, steps: int) -> np.ndarray:
    """int [steps]: for each of `steps` evenly spaced frame numbers from onset to offset, the index of the
    nearest frame (the first on a tie): the trimmed window the input pipeline evaluates clips with."""
    numbers = np.asarray(frame_numbers, np.float32)
    grid = np.float32(onset) + np.float32(offset - onset) * np.linspace(0.0, 1.0, steps, dtype=np.float32)
    return np.argmin(np.abs(numbers[None, :] - grid[:, None]), axis=1)


class ClipRecognizer:
    """A trained clip-recognition model: face frames of one expression -> its emotion's probabilities."""

    def __init__(self, variables: dict, config: dict):
        if tasks.name_of(config) != "recognition":
            raise PredictError(f"a {tasks.name_of(config)} run, not a clip-recognition one")
        self.config = config
        data, model_config = config["data"], config["model"]
        self.classes = tuple(data["emotion_classes"])
        self.window = int(data["num_steps"])
        self.image_size = int(data["image_size"])
        self.frame_size = int(data.get("frame_size") or self.image_size)
        self.inputs = model_config.get("inputs", "frames")
        self.flow_size = data.get("flow_size")
        self.landmarks = data.get("clip_landmarks", "dlib")
        self._state = TrainState(0, variables["params"], variables.get("batch_stats", {}), None)
        self._forward = jax.jit(functools.partial(steps.predict_step, model=tasks.create_model(config)),
                                compiler_options=xla_options.step_options(step="predict"))

    @classmethod
    def from_checkpoint(cls, path: str, step: int | None = None) -> ClipRecognizer:
        variables, config, _ = tasks.restore_for_inference(path, step)
        return cls(variables, config)

    def predict(self, frames: np.ndarray, frame_numbers: np.ndarray | None = None, onset: int | None = None,
                offset: int | None = None) -> tuple[np.ndarray, np.ndarray, str | None]:
        """(class probabilities [C] in `classes` order, the indices of the T frames read, what placed the
        regions of a flow run or None) for a clip's face-cropped frames; onset and offset (frame numbers)
        trim it, else the whole clip is the expression."""
        if len(frames) < MIN_FRAMES:
            raise PredictError(f"{len(frames)} frame(s): an emotion needs at least {MIN_FRAMES}")
        numbers = np.arange(len(frames)) if frame_numbers is None else np.asarray(frame_numbers)
        first, last = (numbers[0], numbers[-1]) if onset is None else (onset, offset)
        index = window_indices(numbers, first, last, self.window)
        if self.inputs == "flow":      # the clip's frames at the training clips' stored size, then its motion
            motion = clip_flow.clip_motion(frames_lib.face_frames(frames, self.frame_size), numbers, first, last,
                                           self.flow_size, self.landmarks)
            inputs, landmarks = motion.window(numbers[index])[None], motion.landmarks
        else:                          # only the T frames read, resized as the training windows were
            window = frames_lib.face_frames(np.asarray(frames)[index], self.frame_size)
            inputs, landmarks = frames_lib.area_resize(window, self.image_size)[None], None
        return np.asarray(self._forward(self._state, inputs))[0], index, landmarks
