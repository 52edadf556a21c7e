"""Forbidden shortcuts: torch calls that would do an exercise's whole job raise while the suites
run a learner's code. A TorchFunctionMode sees every torch call, including names imported before
the test started (`from torch.nn.functional import layer_norm`) and nn modules that call them."""
from __future__ import annotations

import contextlib
import importlib

from torch.overrides import TorchFunctionMode


class ForbiddenCall(RuntimeError):
    pass


def resolve(dotted: str):
    module, _, attr = dotted.rpartition(".")
    return getattr(importlib.import_module(module), attr)


class Forbid(TorchFunctionMode):
    def __init__(self, names: list[str], exercise_hint: str = ""):
        super().__init__()
        self.banned = {}
        for name in names:
            try:
                self.banned[resolve(name)] = name
            except (ImportError, AttributeError):  # an older torch without this name
                pass
        self.allowed = False
        self.hint = exercise_hint

    def __torch_function__(self, func, types, args=(), kwargs=None):
        if not self.allowed and func in self.banned:
            raise ForbiddenCall(
                f"{self.banned[func]} does this exercise's whole job; the point is to write it "
                f"yourself from torch basics{self.hint}")
        return func(*args, **(kwargs or {}))


_active: list[Forbid] = []


@contextlib.contextmanager
def forbidding(names: list[str], hint: str = ""):
    if not names:
        yield
        return
    mode = Forbid(names, hint)
    _active.append(mode)
    try:
        with mode:
            yield
    finally:
        _active.pop()


@contextlib.contextmanager
def oracle():
    """Let a test compute an independent expected value with the forbidden torch builtins."""
    saved = [m.allowed for m in _active]
    for m in _active:
        m.allowed = True
    try:
        yield
    finally:
        for m, s in zip(_active, saved):
            m.allowed = s
