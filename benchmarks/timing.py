"""The one timing rule of every benchmark here: the median of `repeats` calls after `warmup` calls."""

import time

import numpy as np


def median_seconds(fn, warmup: int, repeats: int, sync) -> float:
    """`sync` waits for `fn()`'s result (jax.block_until_ready; identity for eager PyTorch)."""
    for _ in range(warmup):
        sync(fn())
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        sync(fn())
        times.append(time.perf_counter() - start)
    return float(np.median(times))
