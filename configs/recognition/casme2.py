"""Emotion recognition on CASME II's trimmed clips, leave-one-subject-out, scored by UF1/UAR beside the
majority-class and class-prior baselines; paper 001's settings (`configs/intensity/casme2.py`).

    python -m meint_jax.main --config=configs/recognition/casme2.py --workdir=DIR \\
        --config.data.manual_dir=/path/to/CASME2

Args: `variant=` full | framewise; `inputs=` frames | flow (`configs/recognition/base.py`).
"""

from configs import common
from configs.recognition import base


def get_config(arg=None):
    args = common.parse_arg(arg, variant="full", inputs="frames")
    return base.paper_config("casme2/cropped_224", args.variant, args.inputs)
