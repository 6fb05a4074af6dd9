"""Emotion recognition on trimmed clips (the field's UF1/UAR benchmark), from paper 001's frames or paper
002's facial regions' motion.

`steps.py` (class-weighted cross-entropy), `train.py` (a fold: class set and weights from the training
clips, region motion for flow runs), `evaluate.py` (each test clip classified from its trimmed window,
beside the majority class and the class prior), `results.py` (LOSO pooling over clips, the MEGC 2019
composite), `predictor.py` (`ClipRecognizer`).
"""

from meint_jax.models import factory
from meint_jax.tasks.recognition import steps
from meint_jax.tasks.task import Task
from meint_jax.training import config_checks

TASK = Task(name="recognition", create_model=factory.create_recognition_model,
            example_input=steps.example_input, train_step=steps.train_step, predict_step=steps.predict_step,
            check_config=config_checks.check_recognition_config, run="meint_jax.tasks.recognition.train")
