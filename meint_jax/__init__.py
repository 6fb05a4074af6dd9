"""meint-jax: weakly supervised micro-expression intensity estimation in JAX."""

__version__ = "0.1.0"
