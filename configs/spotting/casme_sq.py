"""Spotting on CAS(ME)^2 (30 fps, as CAS(ME)^3; paper 002 does not report it): CAS(ME)^3's settings. LOSO.

    python -m meint_jax.main --config=configs/spotting/casme_sq.py --workdir=DIR \\
        --config.data.manual_dir=/path/to/CASME_SQ

Args: `variant=` as in `configs/spotting/base.py`.
"""

from configs import common
from configs.spotting import base


def get_config(arg=None):
    args = common.parse_arg(arg, variant="full")
    return base.paper_config("casme_sq/features", args.variant, window=50, frame_step=1, batch_size=256,
                             me_fraction=0.2)
