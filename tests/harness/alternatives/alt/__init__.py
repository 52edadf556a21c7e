"""Correct implementations written differently from reference/ (other formulas, float64 internals,
einsum, complex numbers, ...). The suites must accept every one: tests/harness/test_suites.py."""
