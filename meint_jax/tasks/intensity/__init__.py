"""Paper 001: continuous micro-expression intensity per frame, learnt from onset/apex/offset labels alone.

`steps.py` and `losses.py` (MSE + smoothness + apex ranking on triangular pseudo-targets), `train.py` (a
fold), `evaluate.py` (the trimmed and untrimmed protocols beside the position prior), `results.py` (LOSO
pooling), `predictor.py` (`IntensityEstimator`: a checkpoint applied to new frames).
"""

from meint_jax.models import factory
from meint_jax.tasks.intensity import steps
from meint_jax.tasks.task import Task
from meint_jax.training import config_checks

TASK = Task(name="intensity", create_model=factory.create_intensity_model, example_input=steps.example_input,
            train_step=steps.train_step, predict_step=steps.predict_step,
            check_config=config_checks.check_clip_config, run="meint_jax.tasks.intensity.train")
