"""Atomic file writes: a reader, or a run killed half-way, sees the old file or the new one, never half.

Each file is written beside its destination and renamed over it (`os.replace`
is atomic on POSIX and Windows). Hand-written because the library that did
this (`atomicwrites`) is archived and unmaintained.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from typing import Callable, Iterator

from meint_jax.common.errors import ConfigError, UserError


def write_text(path: str, text: str) -> None:
    """Writes `text` to `path` atomically."""
    with atomic_files([path]) as (temporary,):
        with open(temporary, "w") as f:
            f.write(text)


@contextlib.contextmanager
def atomic_files(paths: list[str]) -> Iterator[list[str]]:
    """Temporary paths to write; on success all are renamed onto `paths`, on error all are removed.

    All or nothing for one file; for several, a crash between two renames can
    leave some new and some old, but never a partial file.
    """
    temporaries = [f"{path}.tmp" for path in paths]
    try:
        yield temporaries
        for temporary, path in zip(temporaries, paths):
            os.replace(temporary, path)
    finally:
        for temporary in temporaries:
            if os.path.exists(temporary):
                os.remove(temporary)


def read_json(path: str, error: type[UserError], what: str, fix: str):
    """The JSON value in `path`; a file that does not parse (truncated, overwritten) raises `error` as
    `PATH: WHAT (the parser's complaint); FIX`."""
    try:
        with open(path) as f:
            return json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise error(f"{path}: {what} ({e}); {fix}") from e


def write_with(path: str, write: Callable[[str], None]) -> None:
    """Calls `write(temporary_path)` and renames the result onto `path` (for writers that take a path)."""
    with atomic_files([path]) as (temporary,):
        write(temporary)


def writable_folder(path: str, name: str) -> str:
    """Creates the folder `path` if needed and proves it writable, before any work that would write there;
    returns its absolute path. `name` is what the user called it (a flag), for the error."""
    if not path:
        raise ConfigError(f"{name} is required")
    folder = os.path.abspath(os.path.expanduser(path))
    try:
        os.makedirs(folder, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder):
            pass
    except OSError as e:
        raise ConfigError(f"{name} {folder} is not writable ({e.strerror}): choose another {name}") from e
    return folder
