"""Clip-level emotion recognition on trimmed clips (UF1/UAR): the base config and its datasets."""
