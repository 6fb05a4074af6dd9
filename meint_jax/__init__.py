"""meint-jax: micro-expression intensity, spotting and recognition in JAX/Flax.

Packages, in import order (each imports only those before it; docs/design.md):
`common` -> `data`, `models` -> (`data_builders`, top level) -> `metrics` -> `training` -> `inference` ->
`tasks` (one room per task: intensity, spotting, recognition). Modules at this level are entry points:
`main` (train and evaluate), `predict`, `spot`, `convert_weights`, `paper_tables`.
"""

__version__ = "0.1.0"
