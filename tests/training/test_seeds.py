"""Several seeds of one run: each seed its own run and folder, then every metric's mean, sd and per-seed values."""

import json
import os

import numpy as np
import pytest

from configs.recognition import synthetic as recognition_config
from meint_jax import tasks
from meint_jax.common.errors import ConfigError
from meint_jax.training import seeds


def test_every_number_of_a_run_is_summarised_over_seeds_and_records_are_left_out():
    runs = [{"model": {"uf1": 0.5, "pairs": 4, "finite": True}, "per_clip": [{"x": 1.0}], "train_steps": 6},
            {"model": {"uf1": 0.7, "pairs": 4, "finite": True}, "per_clip": [{"x": 2.0}], "train_steps": 6},
            {"model": {"uf1": 0.9, "pairs": 4}, "train_steps": 6}]
    summary = seeds.summarize(runs)
    assert sorted(summary) == ["model/pairs", "model/uf1", "train_steps"]     # no booleans, no per-clip records
    assert summary["model/uf1"]["per_seed"] == [0.5, 0.7, 0.9]
    assert summary["model/uf1"]["mean"] == pytest.approx(0.7)
    assert summary["model/uf1"]["sd"] == pytest.approx(0.2)             # sqrt((0.04 + 0 + 0.04) / 2)
    assert summary["train_steps"]["sd"] == 0.0


def test_each_seed_runs_in_its_own_folder_with_its_own_seed_and_the_summary_is_written(tmp_path):
    import ml_collections

    seen = []

    def fake_run(config, workdir):
        seen.append((config.seed, config.seeds, os.path.basename(workdir)))
        return {"model": {"f1": 0.1 * (config.seed + 1)}}

    config = ml_collections.ConfigDict({"seed": 7, "seeds": 3})
    summary = seeds.run_seeds(config, str(tmp_path), fake_run)
    assert seen == [(0, 1, "seed_0"), (1, 1, "seed_1"), (2, 1, "seed_2")]
    assert json.load(open(tmp_path / "seeds.json")) == json.loads(json.dumps(summary))
    assert summary["metrics"]["model/f1"]["mean"] == pytest.approx(0.2)


def test_a_seed_count_that_is_not_a_positive_integer_is_one_line(tmp_path):
    config = recognition_config.get_config("size=tiny")
    config.seeds = 0
    with pytest.raises(ConfigError, match=r"config.seeds=0: use a positive integer"):
        tasks.train_and_evaluate(config, str(tmp_path / "run"))


@pytest.mark.slow
def test_two_seeds_of_a_tiny_recognition_run_differ_and_are_summarised(tiny_builder, tmp_path):
    config = recognition_config.get_config("size=tiny")
    config.data.data_dir = os.path.dirname(os.path.dirname(os.path.dirname(tiny_builder.data_dir)))
    config.seeds = 2
    summary = tasks.train_and_evaluate(config, str(tmp_path / "run"))
    runs = [json.load(open(tmp_path / "run" / f"seed_{k}" / "metrics.json")) for k in range(2)]
    assert [r["train_steps"] for r in runs] == [6, 6]
    losses = summary["metrics"]
    uf1 = [r["model"]["uf1"] for r in runs]
    assert losses["model/uf1"]["per_seed"] == uf1 and losses["model/uf1"]["mean"] == pytest.approx(np.mean(uf1))
    assert json.load(open(tmp_path / "run" / "seed_1" / "config.json"))["seed"] == 1
