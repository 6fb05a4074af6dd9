"""The one padded, fixed-shape batcher: a function of batches applied to any number of rows.

A jitted function compiles once per input shape; feeding it fixed `batch_size` rows (the last batch padded
with copies of its last row, whose outputs are dropped) keeps one compiled shape for every input length.
Training-time evaluation, the predictors and the spotter all batch through here.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
from tqdm import tqdm


def in_batches(fn: Callable[[np.ndarray], np.ndarray], inputs: np.ndarray, batch_size: int,
               progress: bool = False) -> np.ndarray:
    """`fn` over `inputs` [N, ...] in batches of `batch_size` rows (the last padded); outputs [N, ...]."""
    outputs = []
    for start in tqdm(range(0, len(inputs), batch_size), desc="predict", unit="batch", disable=not progress,
                      leave=False):
        part = inputs[start:start + batch_size]
        pad = batch_size - len(part)
        batch = np.concatenate([part, np.repeat(part[-1:], pad, axis=0)]) if pad else part
        outputs.append(np.asarray(fn(batch))[:len(part)])
    return np.concatenate(outputs)
