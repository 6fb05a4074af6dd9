"""What every command-line tool shares: the tcmalloc restart, quiet library logs, one-line errors.

An entry module calls `restart_on_tcmalloc(__name__)` before its heavy imports
(the process is replaced, so nothing imported before it is wasted), defines
absl flags and a `main(argv)`, and ends with `cli.run(main, prog)`. A
`UserError` (or an absl flag error) then ends the command with one line,
`prog: error: message`, and exit status 1, as does a full disk wherever it
strikes; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import errno
import logging as pylogging
import sys
import traceback
from typing import Callable


def restart_on_tcmalloc(module_name: str) -> None:
    """When run as a command, re-runs it on tcmalloc if the machine has it (`allocator` says why)."""
    if module_name == "__main__":
        from meint_jax.common import allocator

        allocator.preload_tcmalloc()


class _QuietLibraries(pylogging.Filter):
    """Drops the INFO lines of orbax, TFDS and JAX internals (one per file written), keeps warnings.

    Also drops the tracebacks orbax's worker threads log when a save fails, and
    asyncio's "exception was never retrieved" for orbax's abandoned tasks: the
    same error reaches the caller, which reports it in one line.
    """

    NOISY = ("/orbax/", "/tensorflow_datasets/", "/jax/_src/")

    def filter(self, record):
        if "/orbax/" in record.pathname and record.exc_info:
            return False
        if "/asyncio/" in record.pathname and record.exc_info and record.exc_info[2] is not None and any(
                "/orbax/" in frame.filename for frame in traceback.extract_tb(record.exc_info[2])):
            return False
        return record.levelno >= pylogging.WARNING or not any(p in record.pathname for p in self.NOISY)


def quiet_library_logs() -> None:
    from absl import logging

    logging.get_absl_handler().addFilter(_QuietLibraries())


def fail(prog: str, message) -> None:
    """Ends the command with `prog: error: message` on one line."""
    sys.exit(f"{prog}: error: {message}")


def run(main: Callable[[list[str]], object], prog: str) -> None:
    """absl's `app.run(main)` with flag errors and `UserError`s reported on one line."""
    from absl import app, flags, logging

    from meint_jax.common.errors import UserError

    def parse_flags(argv):
        try:
            remaining = flags.FLAGS(argv)
            if "config" in flags.FLAGS:
                flags.FLAGS.config.to_dict()  # Config files load lazily: load now so their errors surface here.
            return remaining
        except (flags.Error, OSError) as e:
            lines = [line.strip() for line in str(e).splitlines() if line.strip()]
            fail(prog, lines[-1] if lines else e)
        except (AttributeError, KeyError) as e:
            fail(prog, f"a --config.* override names a field the config does not have: {e}")

    def guarded(argv):
        quiet_library_logs()
        try:
            return main(argv)
        except UserError as e:
            logging.flush()
            fail(prog, e)
        except OSError as e:
            if e.errno != errno.ENOSPC:
                raise
            logging.flush()
            fail(prog, f"{e.filename or 'writing'}: the disk is full; free some space and rerun the same command "
                       "(a training run resumes from its last checkpoint, a finished one only writes what is missing)")

    app.run(guarded, flags_parser=parse_flags)


def define_input_flags(*, checkpoint_help: str, face_help: str, fps_help: str, batch_size: int) -> None:
    """The flags `predict` and `spot` share: which run, which recordings, where the files go, how faces are
    found; --checkpoint, --input and --output are required."""
    from absl import flags

    flags.DEFINE_string("checkpoint", None, checkpoint_help)
    flags.DEFINE_string("input", None, "A folder of frames, a video file, or tfds:NAME/CONFIG[:SPLIT].")
    flags.DEFINE_string("output", None, "Folder for NAME.csv, NAME.json and NAME.png.")
    flags.DEFINE_integer("step", None, "Checkpoint step (default: the latest).")
    flags.DEFINE_enum("face", "dlib", ["dlib", "none"], face_help)
    flags.DEFINE_float("fps", None, fps_help)
    flags.DEFINE_integer("batch_size", batch_size, "Windows per forward pass.")
    flags.DEFINE_string("data_dir", None, "TFDS data_dir for tfds: inputs.")
    flags.DEFINE_bool("allow_truncated", False, "Use a video that decodes short of the frame count its header "
                      "announces (a cut or damaged file), every output marked so; refused by default.")
    flags.mark_flags_as_required(["checkpoint", "input", "output"])
