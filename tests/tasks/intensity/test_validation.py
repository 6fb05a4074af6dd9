"""A workdir is only continued, or a finished row only reused, under the config it was trained with."""

import json

import pytest

from configs.intensity import synthetic as synthetic_config
from meint_jax import paper_tables
from meint_jax.common import errors
from meint_jax.training import config_checks


def _saved(workdir, config):
    config = config.copy_and_resolve_references()
    config.data.frame_size, config.data.expression_frames = 112, 28.0   # as training records them
    (workdir / "config.json").write_text(config.to_json_best_effort())


def test_a_run_continues_with_more_steps_or_other_evaluation(tmp_path):
    config = synthetic_config.get_config()
    _saved(tmp_path, config)
    config.train.num_steps *= 4
    config.eval.untrimmed_windows = 9
    config.data.data_dir = str(tmp_path)
    config_checks.check_same_run(str(tmp_path), config)      # recorded fields unset here: not compared


@pytest.mark.parametrize("key, value", [("model.frame_input", "frames"), ("train.learning_rate", 3e-4),
                                        ("data.pseudo_label", "gaussian"), ("seed", 7)])
def test_a_run_does_not_continue_under_another_config(tmp_path, key, value):
    config = synthetic_config.get_config()
    _saved(tmp_path, config)
    section, _, name = key.rpartition(".")
    (config[section] if section else config)[name] = value
    with pytest.raises(errors.ConfigError, match=rf"{tmp_path} holds a run trained with another config "
                                                     rf"\({key}: .* there, .*{value}.* now\): use a new --workdir"):
        config_checks.check_same_run(str(tmp_path), config)


def test_a_saved_config_from_an_older_version_is_compared_on_the_keys_it_has(tmp_path):
    config = synthetic_config.get_config()
    saved = json.loads(config.to_json_best_effort())
    del saved["model"]["frame_input"]
    (tmp_path / "config.json").write_text(json.dumps(saved))
    config_checks.check_same_run(str(tmp_path), config)


def test_paper_tables_refuse_a_finished_row_of_another_config(tmp_path):
    row = tmp_path / "framewise"
    row.mkdir()
    _saved(row, paper_tables.row_config("synthetic", "full", "triangular"))   # the full model, not framewise
    (row / "metrics.json").write_text("{}")
    with pytest.raises(errors.ConfigError, match=r"model.temporal: 'bigru' there, 'none' now"):
        paper_tables.run("synthetic", str(tmp_path), rows=["framewise"])
