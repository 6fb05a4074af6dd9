"""Run the command-line tools on tcmalloc when the machine has it.

XLA:CPU allocates each execution's buffers anew (for a 8x16x112 train step,
986 MB of scratch and several 232 MB blocks). glibc's malloc serves blocks
that large with fresh mmap()s and unmaps them when they are freed, so every
step faults in new pages: 250,000-430,000 page faults and 0.5-0.9 s of
kernel time per step (strace, getrusage). tcmalloc keeps and reuses them
(0.01-0.02 s). The wall time saved depended on this VM's hour: 3.2 -> 2.1-2.3 s
per step in one comparison, 2.9 -> 2.8 s in another; JAX/PyTorch at 8x16x112
went from 0.95x to 1.05x (benchmarks/README.md, LOG.md). jemalloc did not help;
neither did glibc's own tunables (`glibc.malloc.arena_max=1` ends the faults
but makes threads queue on one arena).

An allocator must be chosen before the process starts, so `preload_tcmalloc`
runs the same command again (`execve`, same process id) with tcmalloc in
`LD_PRELOAD`, as Intel's PyTorch launcher and Colab do. It does nothing when
tcmalloc (or jemalloc) is already loaded, when no tcmalloc library is found
(Debian/Ubuntu: `apt install libtcmalloc-minimal4`; conda: `gperftools`), off
Linux, or with `MEINT_JAX_ALLOCATOR=system`. `MEINT_JAX_TCMALLOC=PATH` names
the library.
"""

from __future__ import annotations

import os
import sys

LIBRARY_NAMES = ("libtcmalloc_minimal.so.4", "libtcmalloc.so.4", "libtcmalloc_minimal.so", "libtcmalloc.so")
LIBRARY_DIRS = ("/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/usr/lib",
                "/usr/local/lib")
_PRELOADED = "_MEINT_JAX_PRELOADED"     # set in the re-executed process: never exec twice


def find_tcmalloc(environ=os.environ, dirs: tuple[str, ...] | None = None) -> str | None:
    """Path of a tcmalloc shared library: `MEINT_JAX_TCMALLOC`, the environment's lib/ (conda), the system's."""
    explicit = environ.get("MEINT_JAX_TCMALLOC")
    if explicit:
        if not os.path.isfile(explicit):
            raise FileNotFoundError(f"MEINT_JAX_TCMALLOC={explicit}: no such file")
        return explicit
    for directory in dirs if dirs is not None else (os.path.join(sys.prefix, "lib"),) + LIBRARY_DIRS:
        for name in LIBRARY_NAMES:
            path = os.path.join(directory, name)
            if os.path.isfile(path):
                return path
    return None


def current(maps_path: str = "/proc/self/maps") -> str:
    """The malloc this process runs on: "tcmalloc", "jemalloc", "glibc" (Linux default) or "system"."""
    try:
        with open(maps_path) as f:
            maps = f.read()
    except OSError:
        return "system"
    for name in ("tcmalloc", "jemalloc"):
        if f"lib{name}" in maps:
            return name
    return "glibc"


def preload_tcmalloc(environ=os.environ, argv: list[str] | None = None, execve=os.execve) -> str:
    """Re-runs this command on tcmalloc if it is found and not loaded yet; else returns why not.

    Call it first thing under `if __name__ == "__main__":`, before anything
    worth keeping has run (the process is replaced)."""
    if not sys.platform.startswith("linux"):
        return "not Linux"
    if environ.get("MEINT_JAX_ALLOCATOR", "tcmalloc") == "system":
        return "MEINT_JAX_ALLOCATOR=system"
    if (loaded := current()) != "glibc":
        return f"{loaded} already loaded"
    if environ.get(_PRELOADED):
        return "LD_PRELOAD did not load tcmalloc"
    path = find_tcmalloc(environ)
    if path is None:
        return "no tcmalloc library found (apt install libtcmalloc-minimal4)"
    env = dict(environ)
    env["LD_PRELOAD"] = ":".join(p for p in (path, environ.get("LD_PRELOAD")) if p)
    env[_PRELOADED] = "1"
    env.setdefault("TCMALLOC_LARGE_ALLOC_REPORT_THRESHOLD", str(1 << 40))  # no stderr line per GB-sized buffer
    sys.stdout.flush()
    sys.stderr.flush()
    execve(sys.executable, list(argv if argv is not None else sys.orig_argv), env)
    return "re-executed"   # only reached when `execve` is a test double
