"""Spotting on SAMM-LV with paper 002's settings: every 7th frame of the 200 fps videos, windows of 30 of
those, batch 32, two windows with a micro-expression for each without (me_fraction 2/3). Intervals and scores
stay in the videos' own frame numbers. LOSO.

    python -m meint_jax.main --config=configs/spotting/samm_lv.py --workdir=DIR \\
        --config.data.manual_dir=/path/to/SAMM_LV

Args: `variant=` as in `configs/spotting/base.py`. `variant=paper` trains on paper 002's own flow features
(`samm_lv/features_paper`) with all its training choices (their leave-one-subject-out run's interval
selection: the CAS(ME)^3 rule, not their SAMM test-set rule), for 50 of its epochs: 159 MEs of about 10 rows
each, in 2.6 of its windows (30 rows every 15) on average, so about 410 windows with an ME and half as many
without, 20 batches an epoch, 1,000 steps.
"""

from configs import common
from configs.spotting import base

PAPER = base.PaperSettings(window=30, frame_step=7, batch_size=32, me_fraction=2 / 3, me_windows=410)


def get_config(arg=None):
    args = common.parse_arg(arg, variant="full")
    return base.paper_config("samm_lv/features", args.variant, window=30, frame_step=7, batch_size=32,
                             me_fraction=2 / 3, paper=PAPER)
