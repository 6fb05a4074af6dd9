"""TFDS builders of meint-jax; importing this package registers them with TFDS.

Builders read a dataset as distributed (or generate one) with the readers of
`meint_jax.data` and write records in one schema per kind (`schema.py`):
clips (casme, casme2, samm, mmew, smic, casme3_clips, the megc2019 composite,
semireal_me, synthetic_me; tfrecord) and long videos (casme_sq, samm_lv, casme3,
smic_e, semireal_long, synthetic_long; ArrayRecord, read by index).
They may import `meint_jax.common` and `meint_jax.data`, nothing above them;
training finds a dataset through `lookup.get_builder` (docs/design.md, "Imports").
"""

from data_builders.casme import casme_dataset_builder  # noqa: F401
from data_builders.casme2 import casme2_dataset_builder  # noqa: F401
from data_builders.casme3 import casme3_dataset_builder  # noqa: F401
from data_builders.casme3_clips import casme3_clips_dataset_builder  # noqa: F401
from data_builders.casme_sq import casme_sq_dataset_builder  # noqa: F401
from data_builders.megc2019 import megc2019_dataset_builder  # noqa: F401
from data_builders.mmew import mmew_dataset_builder  # noqa: F401
from data_builders.samm import samm_dataset_builder  # noqa: F401
from data_builders.samm_lv import samm_lv_dataset_builder  # noqa: F401
from data_builders.semireal_long import semireal_long_dataset_builder  # noqa: F401
from data_builders.semireal_me import semireal_me_dataset_builder  # noqa: F401
from data_builders.smic import smic_dataset_builder  # noqa: F401
from data_builders.smic_e import smic_e_dataset_builder  # noqa: F401
from data_builders.synthetic_long import synthetic_long_dataset_builder  # noqa: F401
from data_builders.synthetic_me import synthetic_me_dataset_builder  # noqa: F401

# Dataset names these builders register, as used in `config.data.name`.
CLIP_DATASETS = ("casme", "casme2", "samm", "mmew", "smic", "casme3_clips", "megc2019", "semireal_me", "synthetic_me")
LONG_VIDEO_DATASETS = ("casme_sq", "samm_lv", "casme3", "smic_e", "semireal_long", "synthetic_long")
NAMES = CLIP_DATASETS + LONG_VIDEO_DATASETS
