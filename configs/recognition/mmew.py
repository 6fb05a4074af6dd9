"""Emotion recognition on MMEW's micro-expression clips, leave-one-subject-out, UF1/UAR beside the
majority-class and class-prior baselines; paper 001's settings (`configs/recognition/base.py`).

    python -m meint_jax.main --config=configs/recognition/mmew.py --workdir=DIR \\
        --config.data.manual_dir=/path/to/MMEW_Final

Args: `variant=` full | framewise; `inputs=` frames | flow.
"""

from configs import common
from configs.recognition import base


def get_config(arg=None):
    args = common.parse_arg(arg, variant="full", inputs="frames")
    return base.paper_config("mmew/dlib_224", args.variant, args.inputs)
