"""Evaluation: how good a model is, always beside a predictor that needs no learning.

- `metrics.py`: per-clip Spearman/Kendall (scipy.stats), truth metrics, paired comparisons.
- `baselines.py`: the position prior. `intensity.py`: model and prior on held-out
  subjects, in the trimmed and untrimmed protocols. `loso.py`: leave-one-subject-out
  folds and their pooled results. `plots.py`: figures of curves.

Imports `meint_jax.common` and `meint_jax.data`; never models' internals, the
training loop or inference (the loop hands in a function that predicts a batch).
"""
