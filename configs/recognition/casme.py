"""Emotion recognition on CASME's (the first CASME's) clips, leave-one-subject-out, UF1/UAR beside the
majority-class and class-prior baselines; paper 001's settings (`configs/recognition/base.py`).

    python -m meint_jax.main --config=configs/recognition/casme.py --workdir=DIR \\
        --config.data.manual_dir=/path/to/CASME

Args: `variant=` full | framewise; `inputs=` frames | flow. Tense (AU4 alone, which the release itself calls
ambiguous) is `others`: left out of the three classes.
"""

from configs import common
from configs.recognition import base


def get_config(arg=None):
    args = common.parse_arg(arg, variant="full", inputs="frames")
    return base.paper_config("casme/cropped_224", args.variant, args.inputs)
