"""Find a dataset's TFDS builder by its config name, and build it on first use.

The training loop's door to the builders: it lives here, beside them, so that
`meint_jax.data` never imports builder code (the input pipeline only reads
what was built).
"""

from __future__ import annotations

import os

import ml_collections
import tensorflow_datasets as tfds
from absl import logging

import data_builders
from meint_jax.common.errors import ConfigError


def get_builder(data_config: ml_collections.ConfigDict) -> tfds.core.DatasetBuilder:
    """The builder for `data_config.name`, built into `data_config.data_dir` if not yet."""
    name = data_config.name
    if name.split("/")[0] not in data_builders.NAMES:
        raise ConfigError(f"config.data.name={name!r} is not a meint-jax dataset; choose one of "
                          f"{list(data_builders.NAMES)}, optionally with /config")
    try:
        builder = tfds.builder(name, data_dir=data_config.data_dir)
    except ValueError as e:
        reason = str(e).strip().splitlines()[0]
        raise ConfigError(f"config.data.name={name!r}: {reason}") from e
    if builder.is_prepared():
        return builder
    manual_dir = data_config.manual_dir and os.path.expanduser(data_config.manual_dir)
    if builder.MANUAL_DOWNLOAD_INSTRUCTIONS:
        if not manual_dir:
            raise ConfigError(f"{name} is not built yet and config.data.manual_dir is not set: set it to "
                              f"your copy of the dataset.{builder.MANUAL_DOWNLOAD_INSTRUCTIONS}")
        if not os.path.isdir(manual_dir):
            raise ConfigError(f"config.data.manual_dir={data_config.manual_dir!r} does not exist")
    logging.info("Building %s into %s (first use).", name, builder.data_dir)
    try:
        builder.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=manual_dir))
    except (FileNotFoundError, AssertionError) as e:  # TFDS asserts on an empty manual_dir.
        raise ConfigError(str(e)) from e
    return builder
