"""Find a dataset's TFDS builder by its config name, and build it on first use.

The training loop's door to the builders: it lives here, beside them, so that
`meint_jax.data` never imports builder code (the input pipeline only reads
what was built).
"""

from __future__ import annotations

import glob
import os
import shutil
import time

import ml_collections
import tensorflow_datasets as tfds
from absl import logging

import data_builders
from data_builders import clip_builder
from meint_jax.common import files
from meint_jax.common.errors import ConfigError, first_line


def get_builder(data_config: ml_collections.ConfigDict) -> tfds.core.DatasetBuilder:
    """The builder for `data_config.name`, built into `data_config.data_dir` if not yet."""
    name = data_config.name
    if name.split("/")[0] not in data_builders.NAMES:
        raise ConfigError(f"config.data.name={name!r} is not a meint-jax dataset; choose one of "
                          f"{list(data_builders.NAMES)}, optionally with /config")
    data_dir = data_config.data_dir and os.path.expanduser(data_config.data_dir)
    try:
        builder = tfds.builder(name, data_dir=data_dir)
    except ValueError as e:
        reason = first_line(e, limit=500)
        raise ConfigError(f"config.data.name={name!r}: {reason}") from e
    manual_dir = data_config.manual_dir and os.path.expanduser(data_config.manual_dir)
    if builder.is_prepared():
        if manual_dir and os.path.isdir(manual_dir):
            _check_built_from(builder, manual_dir)
        return builder
    if getattr(builder, "needs_manual_dir", bool(builder.MANUAL_DOWNLOAD_INSTRUCTIONS)):
        if not manual_dir:
            raise ConfigError(f"{name} is not built yet and config.data.manual_dir is not set: set it to "
                              f"your copy of the dataset.{builder.MANUAL_DOWNLOAD_INSTRUCTIONS}")
        if not os.path.isdir(manual_dir):
            raise ConfigError(f"config.data.manual_dir={data_config.manual_dir!r} does not exist")
    _remove_abandoned_builds(builder)
    logging.info("Building %s into %s (first use).", name, builder.data_dir)
    try:
        builder.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=manual_dir))
    except (FileNotFoundError, AssertionError) as e:  # TFDS asserts on an empty manual_dir.
        raise ConfigError(str(e)) from e
    return builder


def _check_built_from(builder: tfds.core.DatasetBuilder, manual_dir: str) -> None:
    """Refuses a build whose sources have changed since: the coding sheet, or the frames (added, removed,
    resized). The summary's paths are taken relative to its manual_dir, so a copy moved elsewhere matches."""
    summary_path = os.path.join(builder.data_dir, "build_summary.json")
    if not os.path.exists(summary_path):
        return
    fix = f"delete {builder.data_dir} to rebuild"
    summary = files.read_json(summary_path, ConfigError, "damaged", fix)
    try:
        built_from = summary.get("source_fingerprint")
        if not built_from:
            return
        def here(path):    # the summary's path, in the copy at manual_dir
            return os.path.join(manual_dir, os.path.relpath(path, summary["manual_dir"]))

        sheets = [here(p) for p in summary["sheets"]] if "sheets" in summary else [here(summary["sheet"])]
        now = clip_builder.source_fingerprint(manual_dir, sheets, here(summary["frames_root"]))
    except KeyError as e:
        raise ConfigError(f"{summary_path}: damaged (no {e}); {fix}") from e
    except OSError as e:
        raise ConfigError(f"{manual_dir}: the files {builder.data_dir} was built from cannot be examined "
                          f"({first_line(e)}): restore them, or delete {builder.data_dir} to rebuild") from e
    if built_from != now:
        raise ConfigError(f"{builder.data_dir} was built from another state of {manual_dir} (its frames or coding "
                          f"sheet changed since): delete {builder.data_dir} to rebuild from the folder as it is now")


ABANDONED_AFTER_S = 600   # an unfinished build whose files have not changed for this long was killed


def _remove_abandoned_builds(builder: tfds.core.DatasetBuilder) -> None:
    """Deletes what killed builds of this dataset left (TFDS's `incomplete.*` folders), never a running one's."""
    for folder in glob.glob(os.path.join(os.path.dirname(builder.data_dir), "incomplete.*")):
        times = [os.path.getmtime(os.path.join(root, name)) for root, _, names in os.walk(folder)
                 for name in names] + [os.path.getmtime(folder)]
        if time.time() - max(times) > ABANDONED_AFTER_S:
            logging.warning("Removing %s, left by a build that did not finish.", folder)
            shutil.rmtree(folder, ignore_errors=True)
