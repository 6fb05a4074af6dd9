"""Worker processes that do not outlive the process that started them."""

from __future__ import annotations

import signal
import sys

PR_SET_PDEATHSIG = 1   # linux/prctl.h


def die_with_parent() -> None:
    """A pool's `initializer`: on Linux the kernel kills this worker when its parent dies.

    Without it, the decoding workers of a build whose command was killed (SIGKILL
    leaves no chance to clean up) keep running for up to a minute. Elsewhere a no-op.
    """
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
