"""Paper 002's spotting: micro- and macro-expression intervals in long videos, with each interval's emotion
from a second head (spot-then-recognise).

`steps.py` (the spotting MSE and the emotion cross-entropy), `train.py` (a fold, and the `separate`
ablation), `evaluate.py` (whole-video scores, decoder settings chosen on validation subjects, MEGC counts
beside the chance spotter, the motion detector and the class-prior labels), `decoding.py`,
`emotion_pooling.py`, `baselines.py`, `results.py` (LOSO pooling), `predictor.py` (`Spotter`).
"""

from meint_jax.models import factory
from meint_jax.tasks.spotting import steps
from meint_jax.tasks.task import Task
from meint_jax.training import config_checks

TASK = Task(name="spotting", create_model=factory.create_spotting_model, example_input=steps.example_input,
            train_step=steps.train_step, predict_step=steps.predict_step,
            check_config=config_checks.check_spotting_config, run="meint_jax.tasks.spotting.train")
