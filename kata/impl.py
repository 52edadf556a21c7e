"""The one seam between the suites and an implementation: which package is tested (IMPL) and how
its modules are imported. Import failures become one readable sentence, cached per module, so a
syntax error in one file fails that module's tests only."""
from __future__ import annotations

import importlib
import importlib.machinery
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


class _FromSource(importlib.machinery.SourceFileLoader):
    """Compiles the learner's files from their text every time, never from a .pyc: a .pyc is
    trusted when size and mtime (whole seconds) match, so two saves of the same length within a
    second (2* -> 3*) would test the old code. It also keeps __pycache__ out of exercises/."""

    def get_code(self, fullname):
        return self.source_to_code(self.get_data(self.path), self.path)


class _LearnerFinder:
    """A meta-path finder for the package under test only (never the reference or torch)."""

    def __init__(self, package: str):
        self.package = package

    def find_spec(self, name, path=None, target=None):
        if name != self.package and not name.startswith(self.package + "."):
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is not None and isinstance(spec.loader, importlib.machinery.SourceFileLoader):
            spec.loader = _FromSource(spec.loader.name, spec.loader.path)
        return spec


def _fresh_imports_for(package: str) -> None:
    if package == "reference" or any(isinstance(f, _LearnerFinder) and f.package == package for f in sys.meta_path):
        return
    sys.meta_path.insert(0, _LearnerFinder(package))


def load(module: str, package: str | None = None) -> ModuleType:
    """Import `<package>.<module>` (package defaults to IMPL)."""
    package = package or _impl
    key = f"{package}.{module}"
    if key in _failures:
        raise _failures[key]
    _fresh_imports_for(package.split(".")[0])
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
        if name.startswith("_") or name == "pytestmark":  # tools probing objects, never the contract
            raise AttributeError(name)
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


def package_dir(name: str | None = None) -> Path:
    """The folder of an implementation package (default IMPL), found without importing it, so a
    learner's broken code can still be watched or reset."""
    import importlib.util

    name = name or _impl
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise ImplImportError(f"no package named {name!r} (IMPL); is it on PYTHONPATH?")
    return Path(list(spec.submodule_search_locations)[0]).resolve()
