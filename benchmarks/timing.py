"""The one timing rule of every benchmark here: the median of `repeats` calls after `warmup` calls."""

import time

import numpy as np


def alternating_medians(calls: dict, warmup: int, repeats: int) -> dict:
    """{name: median seconds} for `calls` = {name: (fn, sync)}, timed in turn within each repeat.

    Alternating the contenders call by call (JAX, PyTorch, JAX, ...) exposes them to
    the same drift of a shared machine, so their ratio is steadier than two runs in
    sequence. `sync` waits for `fn()`'s result (jax.block_until_ready, or a
    PyTorch `.item()`).
    """
    for fn, sync in calls.values():
        for _ in range(warmup):
            sync(fn())
    times = {name: [] for name in calls}
    for _ in range(repeats):
        for name, (fn, sync) in calls.items():
            start = time.perf_counter()
            sync(fn())
            times[name].append(time.perf_counter() - start)
    return {name: float(np.median(t)) for name, t in times.items()}


def median_seconds(fn, warmup: int, repeats: int, sync) -> float:
    """Median seconds of `fn()` alone (see `alternating_medians`)."""
    return alternating_medians({"fn": (fn, sync)}, warmup, repeats)["fn"]
