"""What test files import: the exercise marker, the implementation seam, comparison helpers."""
from __future__ import annotations

import pytest
import torch

from .compare import KataFailure, assert_close, assert_equal, check_tensor, fail, suspects_from, tolerance
from .forbid import oracle
from .impl import learner, reference
from .mistakes import catalogue


def exercise(name: str):
    """Mark a test as checking one exercise (a contract name in course.toml)."""
    return pytest.mark.exercise(name)


def blame_parts(namespace: dict, parts: dict) -> None:
    """Wrap every test of an exercise in `parts` ({exercise: [(part name, check)]}, see
    compare.uses) so that when it fails because one of the learner's earlier parts is wrong, the
    message names that part. Call at the end of a test file with globals()."""
    from .compare import uses

    for name, test in [(k, v) for k, v in namespace.items() if k.startswith("test_")]:  # never touch impl
        marked = [m.args[0] for m in getattr(test, "pytestmark", []) if m.name == "exercise"]
        if marked and marked[0] in parts:
            namespace[name] = uses(*parts[marked[0]])(test)


def seeded(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def randn(*shape, seed: int = 0, dtype=torch.float32, scale: float = 1.0, offset: float = 0.0):
    """Reproducible normal inputs (no global RNG state touched)."""
    return (torch.randn(*shape, generator=seeded(seed)) * scale + offset).to(dtype)


__all__ = ["exercise", "blame_parts", "learner", "reference", "catalogue", "assert_close", "assert_equal",
           "check_tensor", "fail", "KataFailure", "suspects_from", "tolerance", "oracle",
           "seeded", "randn"]
