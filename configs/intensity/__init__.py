"""Clip-level continuous micro-expression intensity (paper 001): the base config and its datasets."""
