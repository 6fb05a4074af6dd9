"""What a command prints: library INFO chatter dropped, warnings and errors kept."""

from __future__ import annotations

import logging as pylogging

from absl import logging


class _QuietLibraries(pylogging.Filter):
    """Drops the INFO lines of orbax, TFDS and JAX internals (one per file written), keeps warnings."""

    NOISY = ("/orbax/", "/tensorflow_datasets/", "/jax/_src/")

    def filter(self, record):
        return record.levelno >= pylogging.WARNING or not any(p in record.pathname for p in self.NOISY)


def quiet_library_logs() -> None:
    logging.get_absl_handler().addFilter(_QuietLibraries())
