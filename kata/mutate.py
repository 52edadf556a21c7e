"""The mutation suite: every known mistake (kata/mistakes/<module>.py) is built into a complete
implementation package and must be rejected by the module's visible + hidden suites.

    python -m kata.mutate normalization [--matrix]

Exit status 1 when a mistake survives, or when a test rejects no mistake at all (a test that can
never fail is not a test). The suites run in-process once per mistake, so torch is imported once."""
from __future__ import annotations

import argparse
import importlib
import importlib.machinery
import importlib.util
import sys
from dataclasses import dataclass, field

from . import course
from .mistakes import Mistake, catalogue


def build_package(mistake: Mistake, name: str) -> None:
    """A fresh copy of reference/ under `name`, with the mistake's overrides swapped in everywhere
    the original object was bound (the package and every submodule that imported it)."""
    ref_dir = course.ROOT / "reference"
    spec = importlib.util.spec_from_file_location(name, ref_dir / "__init__.py",
                                                  submodule_search_locations=[str(ref_dir)])
    pkg = importlib.util.module_from_spec(spec)
    sys.modules[name] = pkg
    spec.loader.exec_module(pkg)
    mod = importlib.import_module(f"{name}.{mistake.module}")
    prefix = f"{name}.{mistake.module}"
    for attr, wrong in mistake.overrides.items():
        original = getattr(mod, attr)
        for mod_name, m in list(sys.modules.items()):
            if mod_name == prefix or mod_name.startswith(prefix + "."):
                for k, v in list(vars(m).items()):
                    if v is original:
                        setattr(m, k, wrong)


def drop_package(name: str) -> None:
    for k in [k for k in sys.modules if k == name or k.startswith(name + ".")]:
        del sys.modules[k]


class _Collector:
    def __init__(self):
        self.outcomes: dict[str, str] = {}  # nodeid -> "passed" | "failed"
        self.statuses: dict[str, str] = {}  # nodeid -> the plugin's status ("not started", ...)

    def pytest_runtest_logreport(self, report):
        if report.when == "call" or report.failed:
            if report.nodeid not in self.outcomes or report.failed:
                self.outcomes[report.nodeid] = "failed" if report.failed else "passed"
                self.statuses[report.nodeid] = getattr(report, "kata_status", self.outcomes[report.nodeid])


def run_suites(module: course.Module, impl_name: str, statuses: bool = False) -> dict[str, str]:
    """{nodeid: "passed" | "failed"} (or the plugin's status per test) for both suites."""
    from . import runner

    collector = _Collector()
    try:
        runner.run([module], True, impl=impl_name, quiet=True, plugins=(collector,))
    except RuntimeError as e:
        raise RuntimeError(f"IMPL={impl_name}: {e}") from None
    return collector.statuses if statuses else collector.outcomes


@dataclass
class MutationResult:
    module: str
    outcomes_reference: dict[str, str]
    killed_by: dict[str, list[str]] = field(default_factory=dict)  # mistake name -> failing tests

    @property
    def survivors(self) -> list[str]:
        return [m for m, tests in self.killed_by.items() if not tests]

    @property
    def idle_tests(self) -> list[str]:
        """Tests that reject no known mistake."""
        used = {t for tests in self.killed_by.values() for t in tests}
        return [t for t in self.outcomes_reference if t not in used]


def run(module_name: str) -> MutationResult:
    module = course.load().module(module_name)
    ref = run_suites(module, "reference")
    result = MutationResult(module.name, ref)
    for i, mistake in enumerate(catalogue(module.name)):
        pkg = f"_kata_mutant_{i}"
        build_package(mistake, pkg)
        try:
            outcomes = run_suites(module, pkg)
        finally:
            drop_package(pkg)
        result.killed_by[mistake.name] = sorted(t for t, o in outcomes.items() if o == "failed")
    return result


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m kata.mutate")
    p.add_argument("modules", nargs="*", help="default: every module with a catalogue of mistakes")
    p.add_argument("--matrix", action="store_true", help="list the tests that reject each mistake")
    args = p.parse_args(argv)
    names = args.modules or [m.name for m in course.load().modules
                             if (course.ROOT / "kata" / "mistakes" / f"{m.name}.py").exists()]
    bad = 0
    for name in names:
        r = run(name)
        failing_ref = [t for t, o in r.outcomes_reference.items() if o != "passed"]
        print(f"{name}: {len(r.killed_by)} mistakes, {len(r.outcomes_reference)} tests")
        for t in failing_ref:
            print(f"  REFERENCE FAILS {t}")
        for m, tests in r.killed_by.items():
            mark = "rejected" if tests else "SURVIVES"
            print(f"  {mark:<9} {m} ({len(tests)} tests)")
            if args.matrix:
                for t in tests:
                    print(f"      {t.split('::')[-1]}")
        for t in r.idle_tests:
            print(f"  IDLE TEST {t} (rejects no known mistake)")
        bad += len(failing_ref) + len(r.survivors) + len(r.idle_tests)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
