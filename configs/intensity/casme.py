"""Paper 001's intensity settings on CASME (the first CASME: 60 fps, the registered crops).

    python -m meint_jax.main --config=configs/intensity/casme.py --workdir=DIR \\
        --config.data.manual_dir=/path/to/CASME

Args: `variant=` the paper's Table 3 rows (`configs/intensity/base.py`). The apex is the sheet's ApexF1 (the
first frame of the apex phase).
"""

from configs import common
from configs.intensity import base


def get_config(arg=None):
    args = common.parse_arg(arg, variant="full")
    return base.paper_config("casme/cropped_224", args.variant)
