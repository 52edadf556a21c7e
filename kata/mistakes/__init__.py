"""Known wrong implementations, one per realistic mistake.

They serve twice: the suites compare a learner's output with theirs to name the likely cause of a
failure, and the mutation suite (kata/mutate.py) builds each into a full implementation package
that the visible + hidden suites must reject. A catalogue per module: kata/mistakes/<module>.py."""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field


@dataclass
class Mistake:
    module: str
    exercise: str
    name: str    # identifier, used in the mutation report
    cause: str   # learner-facing: "eps added outside the square root"
    overrides: dict[str, object] = field(default_factory=dict)  # contract name -> wrong version


class Catalogue(list):
    """The mistakes of one module; `@catalogue.add(exercise, cause)` registers a wrong version."""

    def __init__(self, module: str):
        super().__init__()
        self.module = module

    def add(self, exercise: str, cause: str, *, replaces: str | None = None):
        def register(obj):
            self.append(Mistake(self.module, exercise, obj.__name__, cause, {replaces or exercise: obj}))
            return obj
        return register

    def of(self, exercise: str) -> list[Mistake]:
        return [m for m in self if m.exercise == exercise]


def catalogue(module: str) -> Catalogue:
    return importlib.import_module(f"kata.mistakes.{module}").MISTAKES
