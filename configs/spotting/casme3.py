"""Spotting on CAS(ME)^3 part A with paper 002's settings: windows of 50 frames at 30 fps, batch 256, and
4 windows without a micro-expression for each with one (me_fraction 0.2). LOSO; variants as in
configs/spotting.py (`configs/casme3_spotting.py:variant=bigru`)."""

from configs import spotting


def get_config(arg=None):
    return spotting.paper_config("casme3/features", arg, window=50, frame_step=1, batch_size=256, me_fraction=0.2)
