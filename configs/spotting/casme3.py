"""Spotting on CAS(ME)^3 part A with paper 002's settings: windows of 50 frames at 30 fps, batch 256, and
4 windows without a micro-expression for each with one (me_fraction 0.2). LOSO.

    python -m meint_jax.main --config=configs/spotting/casme3.py --workdir=DIR \\
        --config.data.manual_dir=/path/to/CASME3

Args: `variant=` as in `configs/spotting/base.py` (`configs/spotting/casme3.py:variant=bigru`). `variant=paper`
trains on paper 002's own flow features (`casme3/features_paper`) with all its training choices, for 50 of
its epochs: about 900 MEs of at most 15 frames, each in 2.5 of its windows (50 frames every 25) on average,
so about 2,250 windows with an ME and four times as many without, 44 batches an epoch, 2,200 steps.
"""

from configs import common
from configs.spotting import base

PAPER = base.PaperSettings(window=50, frame_step=1, batch_size=256, me_fraction=0.2, me_windows=2250)


def get_config(arg=None):
    args = common.parse_arg(arg, variant="full")
    return base.paper_config("casme3/features", args.variant, window=50, frame_step=1, batch_size=256,
                             me_fraction=0.2, paper=PAPER)
