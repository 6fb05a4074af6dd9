"""Data parallelism over a one-axis device mesh: one code path from 1 CPU to a TPU pod.

The batch is split along a `data` axis over every device of every process; the
training state is replicated. Each process feeds only its own rows of the
global batch (`local_rows`), and XLA inserts the gradient all-reduce.
"""

from __future__ import annotations

from typing import Any

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

DATA_AXIS = "data"


def data_mesh() -> Mesh:
    return Mesh(np.asarray(jax.devices()), (DATA_AXIS,))


def batch_sharding(mesh: Mesh) -> NamedSharding:
    return NamedSharding(mesh, PartitionSpec(DATA_AXIS))


def replicated(mesh: Mesh) -> NamedSharding:
    return NamedSharding(mesh, PartitionSpec())


def replicate(tree: Any, mesh: Mesh) -> Any:
    return jax.device_put(tree, replicated(mesh))


def local_rows(global_batch_size: int) -> slice:
    """This process's rows of a global batch."""
    per_process = global_batch_size // jax.process_count()
    start = jax.process_index() * per_process
    return slice(start, start + per_process)


def shard_batch(local_batch: dict, mesh: Mesh) -> dict:
    """Process-local numpy rows -> global arrays split over the `data` axis."""
    sharding = batch_sharding(mesh)
    return {k: jax.make_array_from_process_local_data(sharding, np.asarray(v)) for k, v in local_batch.items()}


def for_devices(config, devices: int | None = None, backend: str | None = None):
    """A copy of `config` fit to the accelerators present: the batch rounded up to a multiple of the device
    count (a TPU v2-8 has 8 cores, and the batch is split over all of them), and bfloat16 compute on a TPU
    (parameters stay float32: flax keeps `param_dtype` float32 whatever the compute dtype)."""
    import copy

    config = copy.deepcopy(config)
    devices = devices or jax.device_count()
    config.train.batch_size = -(-config.train.batch_size // devices) * devices
    if (backend or jax.default_backend()) == "tpu":
        config.model.dtype = "bfloat16"
    return config
