"""Spotting on CAS(ME)^2 (30 fps, as CAS(ME)^3; paper 002 does not report it): CAS(ME)^3's settings. LOSO.

    python -m meint_jax.main --config=configs/spotting/casme_sq.py --workdir=DIR \\
        --config.data.manual_dir=/path/to/CASME_SQ

Args: `variant=` as in `configs/spotting/base.py`. `variant=paper` (`casme_sq/features_paper`) sets paper
002's settings by analogy, following their code's notes on what each depends on: the frame step and window
depend on the frame rate and the MEs' length, so CAS(ME)^3's (every frame, 50); the sampling ratio and batch
depend on the dataset's size, and CAS(ME)^2's 57 MEs are fewer than SAMM-LV's 159, so SAMM-LV's (half as many
windows without an ME, batch 32). 50 epochs: about 140 windows with an ME, 7 batches an epoch, 350 steps.
"""

from configs import common
from configs.spotting import base

PAPER = base.PaperSettings(window=50, frame_step=1, batch_size=32, me_fraction=2 / 3, me_windows=140)


def get_config(arg=None):
    args = common.parse_arg(arg, variant="full")
    return base.paper_config("casme_sq/features", args.variant, window=50, frame_step=1, batch_size=256,
                             me_fraction=0.2, paper=PAPER)
