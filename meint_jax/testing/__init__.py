"""Helpers for tests and benchmarks (importing them needs their extra dependencies, e.g. torch)."""
