"""The one seam between the suites and an implementation: which package is tested (IMPL) and how
its modules are imported. Import failures become one readable sentence, cached per module, so a
syntax error in one file fails that module's tests only."""
from __future__ import annotations

import importlib
import os
import sys
import traceback
from pathlib import Path
from types import ModuleType

_impl = os.environ.get("IMPL") or "exercises"
_failures: dict[str, "ImplImportError"] = {}


class ImplImportError(Exception):
    """The implementation's module could not be imported; the message says why in plain words."""


class ContractError(AttributeError):
    """The implementation lacks a name the contract requires."""


def set_impl(name: str) -> None:
    global _impl
    _impl = name
    _failures.clear()


def impl_name() -> str:
    return _impl


def _where(exc: BaseException) -> str:
    """'file:line' of the innermost frame outside the harness, for the one-line message."""
    if isinstance(exc, SyntaxError) and exc.filename:
        return f"{_short(exc.filename)}:{exc.lineno}"
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if "importlib" not in f.filename]
    return f"{_short(frames[-1].filename)}:{frames[-1].lineno}" if frames else "?"


def _short(path: str) -> str:
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return path


def load(module: str, package: str | None = None) -> ModuleType:
    """Import `<package>.<module>` (package defaults to IMPL)."""
    package = package or _impl
    key = f"{package}.{module}"
    if key in _failures:
        raise _failures[key]
    try:
        return importlib.import_module(key)
    except SyntaxError as e:
        err = ImplImportError(f"{key} does not import: SyntaxError at {_where(e)}: {e.msg}")
    except ModuleNotFoundError as e:
        if e.name in (package, key):
            err = ImplImportError(
                f"no module {key!r}: IMPL={package} must be an importable package with a "
                f"'{module}' module (check the name and PYTHONPATH)")
        else:
            err = ImplImportError(f"{key} does not import: {e} (at {_where(e)})")
    except Exception as e:  # noqa: BLE001 - any error in learner code must become a message
        err = ImplImportError(f"{key} does not import: {type(e).__name__} at {_where(e)}: {e}")
    _failures[key] = err
    sys.modules.pop(key, None)
    raise err


class Impl:
    """Attribute access to an implementation module that names missing contract names plainly."""

    def __init__(self, module: str, package: str | None = None):
        self._module_name = module
        self._package = package

    def __getattr__(self, name: str):
        mod = load(self._module_name, self._package)
        try:
            return getattr(mod, name)
        except AttributeError:
            raise ContractError(
                f"{mod.__name__} has no {name!r}: the contract requires it "
                f"(keep the name the stub gave it)") from None

    def __repr__(self) -> str:
        return f"<{self._package or _impl}.{self._module_name}>"


def learner(module: str) -> Impl:
    """The implementation under test (IMPL)."""
    return Impl(module)


def reference(module: str) -> Impl:
    """The reference solution, the suites' source of expected values."""
    return Impl(module, "reference")
