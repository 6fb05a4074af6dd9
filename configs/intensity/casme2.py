"""CASME II with the paper's settings: T=16, batch 8, Adam 1e-4, 224x224 frames.

    python -m meint_jax.main --config=configs/intensity/casme2.py --workdir=DIR \\
        --config.data.manual_dir=/path/to/CASME2

Args: `variant=` the paper's Table 3 rows (`configs/intensity/casme2.py:variant=framewise`, `no_smooth`,
`no_rank`). `configs/recognition/casme2.py` trains emotion recognition on the same clips.
"""

from configs import common
from configs.intensity import base


def get_config(arg=None):
    args = common.parse_arg(arg, variant="full")
    return base.paper_config("casme2/cropped_224", args.variant)
