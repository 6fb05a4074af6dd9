"""TFDS builders of meint-jax; importing this package registers them with TFDS.

Builders read a dataset as distributed (or generate one) with the readers of
`meint_jax.data` and write tfrecords in the clip schema (`schema.py`).
They may import `meint_jax.common` and `meint_jax.data`, nothing above them;
training finds a dataset through `lookup.get_builder` (docs/design.md, "Imports").
"""

from data_builders.casme2 import casme2_dataset_builder  # noqa: F401
from data_builders.samm import samm_dataset_builder  # noqa: F401
from data_builders.synthetic_me import synthetic_me_dataset_builder  # noqa: F401

# Dataset names these builders register, as used in `config.data.name`.
NAMES = ("casme2", "samm", "synthetic_me")
