"""Spotting on SAMM-LV with paper 002's settings: every 7th frame of the 200 fps videos, windows of 30 of
those, batch 32, two windows with a micro-expression for each without (me_fraction 2/3). Intervals and scores
stay in the videos' own frame numbers. LOSO.

    python -m meint_jax.main --config=configs/spotting/samm_lv.py --workdir=DIR \\
        --config.data.manual_dir=/path/to/SAMM_LV

Args: `variant=` as in `configs/spotting/base.py`.
"""

from configs import common
from configs.spotting import base


def get_config(arg=None):
    args = common.parse_arg(arg, variant="full")
    return base.paper_config("samm_lv/features", args.variant, window=30, frame_step=7, batch_size=32,
                             me_fraction=2 / 3)
