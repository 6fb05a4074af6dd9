"""The task registry: every task reached by its name, configs saved before `task` was a field still read."""

import json

import pytest

from configs.intensity import synthetic as intensity_config
from configs.recognition import synthetic as recognition_config
from configs.spotting import synthetic as spotting_config
from meint_jax import tasks
from meint_jax.common.errors import ConfigError
from meint_jax.training import config_checks


@pytest.mark.parametrize("module, name", [(intensity_config, "intensity"), (spotting_config, "spotting"),
                                          (recognition_config, "recognition")])
def test_each_config_names_its_task_and_the_registry_holds_its_room(module, name):
    config = module.get_config("size=tiny")
    assert tasks.name_of(config) == name and tasks.get(config) is tasks.TASKS[name]
    assert tasks.get(config).run == f"meint_jax.tasks.{name}.train"
    assert "task" not in config.model                      # one field says the task


def test_a_config_saved_before_the_task_field_is_an_intensity_run_and_an_unknown_task_is_refused():
    saved = json.loads(intensity_config.get_config("size=tiny").to_json_best_effort())
    del saved["task"]
    assert tasks.name_of(saved) == "intensity"
    with pytest.raises(ConfigError, match="config.task='au_detection': choose one of intensity, spotting, "
                                          "recognition"):
        tasks.get({"task": "au_detection"})


def test_a_run_saved_before_the_rooms_resumes_under_todays_config_and_not_under_another_task(tmp_path):
    """Saved configs of the old layout: no top-level `task` (intensity), `model.task`, spotting's unread
    `data.micro_frames`; today's config of the same run is accepted, another task's is refused."""
    old_intensity = json.loads(intensity_config.get_config("size=tiny").to_json_best_effort())
    del old_intensity["task"]
    config_checks.check_same_run(str(tmp_path), intensity_config.get_config("size=tiny"), old_intensity)
    old_spotting = json.loads(spotting_config.get_config("size=tiny").to_json_best_effort())
    old_spotting["model"]["task"] = "spotting"
    old_spotting["data"].update(micro_frames=6.0, macro_frames=20.0)
    config_checks.check_same_run(str(tmp_path), spotting_config.get_config("size=tiny"), old_spotting)
    with pytest.raises(ConfigError, match="task: 'intensity' there, 'recognition' now"):
        config_checks.check_same_run(str(tmp_path), recognition_config.get_config("size=tiny"), old_intensity)


def test_each_task_builds_the_model_its_example_input_feeds_and_predicts_its_outputs():
    """The registry's parts fit together: the task's example window through its model and predict step gives
    intensity per frame, micro/macro scores and emotions per frame, or one clip's class probabilities."""
    import functools

    import jax

    from meint_jax.training.state import TrainState

    expected = {"intensity": lambda c: (1, c.data.num_steps), "spotting": lambda c: (1, c.data.window, 2 + 4),
                "recognition": lambda c: (1, 3)}
    for module in (intensity_config, spotting_config, recognition_config):
        config = module.get_config("size=tiny")
        task = tasks.get(config)
        config.model.emotion_outputs = {"intensity": None, "spotting": 4, "recognition": 3}[task.name]
        example, model = task.example_input(config), tasks.create_model(config)
        variables = jax.eval_shape(functools.partial(model.init, train=False), jax.random.PRNGKey(0), example)
        state = TrainState(0, variables["params"], variables.get("batch_stats", {}), None)
        out = jax.eval_shape(functools.partial(task.predict_step, model=model), state, example)
        assert out.shape == expected[task.name](config), task.name
