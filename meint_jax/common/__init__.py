"""Leaves every layer may use: error types, atomic file writes, XLA compiler options, the command-line runner.

Imports nothing else from meint_jax (docs/design.md, "Imports").
"""
