"""SAMM with the paper's settings: T=16, batch 8, Adam 1e-4, 224x224 frames.

    python -m meint_jax.main --config=configs/intensity/samm.py --workdir=DIR \\
        --config.data.manual_dir=/path/to/SAMM_release

Frames are 2040x1088 with the face in the middle: `dlib_224` crops one box
per clip from dlib's landmarks (`samm/whole_224` for copies already cropped).
Args: `variant=` the paper's Table 2 rows (`:variant=framewise`, `no_smooth`, `no_rank`).
`configs/recognition/samm.py` trains emotion recognition on the same clips.
"""

from configs import common
from configs.intensity import base


def get_config(arg=None):
    args = common.parse_arg(arg, variant="full")
    return base.paper_config("samm/dlib_224", args.variant)
