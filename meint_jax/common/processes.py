"""Worker processes that do not outlive the process that started them."""

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
