"""Spotting on CAS(ME)^2 (30 fps, as CAS(ME)^3; paper 002 does not report it): CAS(ME)^3's settings.
LOSO; variants as in configs/spotting.py."""

from configs import spotting


def get_config(arg=None):
    return spotting.paper_config("casme_sq/features", arg, window=50, frame_step=1, batch_size=256, me_fraction=0.2)
