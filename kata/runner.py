"""The one place that starts a pytest session over the kata's suites, in this process.

The terminal (`test`, `grade`, `watch`), `status` (rebuilding progress), the report and the
mutation suite all come through here, so they share the same arguments."""
from __future__ import annotations

import contextlib
import io

from . import course

# --assert=plain: the suites report through kata.compare, so rewriting asserts only costs time.
# no:unraisableexception: its gc.collect() per session doubles the cost of a short run.
BASE_ARGS = ["--tb=no", "--no-header", "--assert=plain", "-p", "no:unraisableexception"]


class _KeepConfig:
    def __init__(self):
        self.config = None

    def pytest_configure(self, config):
        self.config = config


def suite_paths(modules: list[course.Module], hidden: bool) -> list[str]:
    paths = []
    for m in modules:
        paths += [str(p) for p in ([m.visible_tests] + ([m.hidden_tests] if hidden else [])) if p.is_dir()]
    return paths


def run(modules: list[course.Module], hidden: bool, *extra: str, impl: str | None = None,
        quiet: bool = False, plugins: tuple = ()) -> tuple[int, list]:
    """(pytest exit code, the kata's per-test results). quiet: nothing reaches the terminal."""
    import pytest  # here, so commands that never test stay instant

    keep = _KeepConfig()
    args = [*suite_paths(modules, hidden), "-q", "-rN", *BASE_ARGS, *extra]
    if impl:
        args.append(f"--impl={impl}")
    if quiet:
        args += ["-p", "no:cacheprovider"]
        with contextlib.redirect_stdout(io.StringIO()) as out:
            code = pytest.main(args, plugins=[keep, *plugins])
        if code not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
            raise RuntimeError(f"the suites did not run (pytest exit {code}):\n{out.getvalue()[-2000:]}")
    else:
        code = pytest.main(args, plugins=[keep, *plugins])
    return int(code), (getattr(keep.config, "kata_results", []) if keep.config else [])
