"""Spotting on SMIC-E's long recordings (HS camera, 100 fps; micro-expressions only, no macro-expressions are
annotated): every 4th frame, windows of 30 of those (1.2 s), batch 32, two windows with a micro-expression
for each without. Paper 002 does not report SMIC-E: the window and step are ours, scaled from its SAMM-LV
settings (every 7th frame at 200 fps) to the frame rate. LOSO.

    python -m meint_jax.main --config=configs/spotting/smic_e.py --workdir=DIR \\
        --config.data.manual_dir=/path/to/SMIC-E

Args: `variant=` as in `configs/spotting/base.py`. `variant=paper` (`smic_e/features_paper`) sets paper
002's settings by analogy with SAMM-LV's (a high-speed camera, about as many MEs): the step and window above,
half as many windows without an ME, batch 32; 50 epochs: about 410 windows with an ME, 1,000 steps.
"""

from configs import common
from configs.spotting import base

PAPER = base.PaperSettings(window=30, frame_step=4, batch_size=32, me_fraction=2 / 3, me_windows=410)


def get_config(arg=None):
    args = common.parse_arg(arg, variant="full")
    return base.paper_config("smic_e/features", args.variant, window=30, frame_step=4, batch_size=32,
                             me_fraction=2 / 3, paper=PAPER)
