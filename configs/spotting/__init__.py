"""Spotting micro- and macro-expressions in long videos (paper 002): the base config and its datasets."""
