"""Shared fixtures (a tiny synthetic dataset, one tiny run per task, built once per test worker) and the
fast lane: a test that uses a trained run is marked `slow` here, so `pytest -m "not slow"` leaves every
training out without each test having to say so."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # noqa: E402

# Fixtures that train a model: every test using one (directly or through another fixture) is slow.
TRAINED_RUNS = {"tiny_workdir", "tiny_spotting_run", "tiny_run"}


def pytest_collection_modifyitems(items):
    for item in items:
        if TRAINED_RUNS & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def tiny_builder(tmp_path_factory):
    """The `synthetic_me/tiny` dataset built into a private data_dir."""
    import tensorflow_datasets as tfds

    import data_builders  # noqa: F401  Registers the builders.

    builder = tfds.builder("synthetic_me/tiny", data_dir=str(tmp_path_factory.mktemp("tfds")))
    builder.download_and_prepare()
    return builder


@pytest.fixture(scope="session")
def tiny_workdir(tiny_builder, tmp_path_factory):
    """A workdir trained for a few steps on `synthetic_me/tiny`: checkpoints, config, metrics."""
    from configs.intensity import synthetic as synthetic_config
    from meint_jax import tasks

    config = synthetic_config.get_config("size=tiny")
    config.data.data_dir = os.path.dirname(os.path.dirname(os.path.dirname(tiny_builder.data_dir)))
    config.train.update(num_steps=4, checkpoint_every=4)
    workdir = str(tmp_path_factory.mktemp("tiny_run"))
    tasks.train_and_evaluate(config, workdir)
    return workdir


@pytest.fixture(scope="session")
def long_data_dir(tmp_path_factory):
    """A TFDS data_dir holding `synthetic_long/tiny`, built once per test worker."""
    import tensorflow_datasets as tfds

    import data_builders  # noqa: F401  Registers the builders.

    path = str(tmp_path_factory.mktemp("tfds_long"))
    tfds.builder("synthetic_long/tiny", data_dir=path).download_and_prepare()
    return path


@pytest.fixture(scope="session")
def tiny_spotting_run(long_data_dir, tmp_path_factory):
    """(workdir, data_dir) of one tiny spotting run with its emotion head (`configs/spotting/synthetic.py:
    size=tiny`), trained once per test worker: tests that need a finished run read it, never change it."""
    from configs.spotting import synthetic as synthetic_spotting
    from meint_jax import tasks

    config = synthetic_spotting.get_config("size=tiny")
    config.data.data_dir = long_data_dir
    workdir = str(tmp_path_factory.mktemp("spot_run") / "run")
    tasks.train_and_evaluate(config, workdir)
    return workdir, long_data_dir
