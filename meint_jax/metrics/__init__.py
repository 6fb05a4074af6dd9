"""Pure scoring, no task protocol: functions of predictions and labels.

- `correlation.py`: per-clip Spearman and Kendall, paired comparisons (intensity).
- `megc.py`: MEGC interval matching and spotting F1. `recognition.py`: UF1, UAR, spot-then-recognise (STRS).
- `class_prior.py`: the majority-class and class-prior baselines. `plots.py`: the runs' figures.

Imports `common` and numpy/scipy/matplotlib only.
"""
