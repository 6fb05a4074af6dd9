"""Spotting on SAMM-LV with paper 002's settings: every 7th frame of the 200 fps videos, windows of 30 of
those, batch 32, two windows with a micro-expression for each without (me_fraction 2/3). Intervals and scores
stay in the videos' own frame numbers. LOSO; variants as in configs/spotting.py."""

from configs import spotting


def get_config(arg=None):
    return spotting.paper_config("samm_lv/features", arg, window=30, frame_step=7, batch_size=32,
                                 me_fraction=2 / 3)
