"""Paper 001's intensity settings on MMEW's micro-expression clips (90 fps, cropped by dlib).

    python -m meint_jax.main --config=configs/intensity/mmew.py --workdir=DIR \\
        --config.data.manual_dir=/path/to/MMEW_Final

Args: `variant=` the paper's Table 3 rows (`configs/intensity/base.py`).
"""

from configs import common
from configs.intensity import base


def get_config(arg=None):
    args = common.parse_arg(arg, variant="full")
    return base.paper_config("mmew/dlib_224", args.variant)
