"""Worker processes that do not outlive the process that started them, and log as it does."""

from __future__ import annotations

import os
import threading
import time

POLL_S = 0.5


def exit_with(pid: int) -> None:
    """A pool's `initializer` (with `initargs=(os.getpid(),)`): this worker exits soon after process `pid` does.

    A pool's workers otherwise outlive a command killed by SIGKILL, which has no
    chance to stop them: with the forkserver start method they hold their own
    task pipe open, and the forkserver waits for them. A daemon thread checks
    that `pid` is alive every half second.
    """

    def watch():
        while True:
            time.sleep(POLL_S)
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                os._exit(1)
            except PermissionError:   # alive, owned by someone else: cannot happen for our parent
                pass

    threading.Thread(target=watch, name=f"exit-with-{pid}", daemon=True).start()


def start_worker(pid: int) -> None:
    """A pool's `initializer` (with `initargs=(os.getpid(),)`): `exit_with(pid)`, and warnings in absl's format.

    A worker started by forkserver never runs `app.run`, so absl would print its
    warnings in Python's plain `WARNING:absl:` form, unlike the command's own lines.
    Its level stays absl's unparsed default: warnings and worse, no per-chunk info.
    """
    from absl import flags, logging

    exit_with(pid)
    if not flags.FLAGS.is_parsed():
        flags.FLAGS.mark_as_parsed()      # absl's handler would otherwise note "logging before flag parsing"
    logging.use_absl_handler()
