"""Emotion recognition on SAMM's trimmed clips, leave-one-subject-out, scored by UF1/UAR beside the
majority-class and class-prior baselines; paper 001's settings (`configs/intensity/samm.py`).

    python -m meint_jax.main --config=configs/recognition/samm.py --workdir=DIR \\
        --config.data.manual_dir=/path/to/SAMM_release

Args: `variant=` full | framewise; `inputs=` frames | flow (`configs/recognition/base.py`).
"""

from configs import common
from configs.recognition import base


def get_config(arg=None):
    args = common.parse_arg(arg, variant="full", inputs="frames")
    return base.paper_config("samm/dlib_224", args.variant, args.inputs)
