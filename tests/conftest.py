"""Shared fixtures: a tiny synthetic dataset built once per test worker."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def tiny_builder(tmp_path_factory):
    """The `synthetic_me/tiny` dataset built into a private data_dir."""
    import tensorflow_datasets as tfds

    import data_builders  # noqa: F401  Registers the builders.

    builder = tfds.builder("synthetic_me/tiny", data_dir=str(tmp_path_factory.mktemp("tfds")))
    builder.download_and_prepare()
    return builder
