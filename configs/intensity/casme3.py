"""Paper 001's intensity settings on CAS(ME)^3 part A's micro-expression clips (`casme3_clips`: onset to offset of
each ME, dlib-cropped, 30 fps).

    python -m meint_jax.main --config=configs/intensity/casme3.py --workdir=DIR \\
        --config.data.manual_dir=/path/to/CASME3

Args: `variant=` the paper's Table 3 rows (`configs/intensity/base.py`). The clips hold no frames outside the
expression, so only trimmed windows (the paper's protocol) can be drawn from them.
"""

from configs import common
from configs.intensity import base


def get_config(arg=None):
    args = common.parse_arg(arg, variant="full")
    return base.paper_config("casme3_clips/dlib_224", args.variant)
