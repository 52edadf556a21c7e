"""Controlled experiments: each one changes a single design choice and shows what breaks.

An experiment is a file experiments/<module>/<name>.py with a docstring (its first line is the
title) and `run(ctx)`. It states its findings as claims, `ctx.claim(holds, text)`, prints what it
measured, and saves plots with `ctx.save(fig, name)`. `make exp-<module>` runs the full versions;
`--quick` (what CI runs, seconds each) uses smaller settings and every claim must still hold.

By default experiments use the reference implementation; IMPL=exercises runs them on your code."""
from __future__ import annotations

import importlib
import os
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from .. import course


@dataclass
class Claim:
    text: str
    holds: bool
    evidence: str = ""


@dataclass
class Context:
    module: str
    name: str
    quick: bool
    impl_name: str
    out_dir: Path
    claims: list[Claim] = field(default_factory=list)
    plots: list[Path] = field(default_factory=list)

    def impl(self, module: str):
        """The implementation under study for `module` (IMPL, default reference)."""
        return importlib.import_module(f"{self.impl_name}.{module}")

    def pick(self, full, quick):
        """The full-run value, or the quick one in quick mode."""
        return quick if self.quick else full

    def log(self, text: str = "") -> None:
        print(f"  {text}", flush=True)

    def claim(self, holds: bool, text: str, evidence: str = "") -> bool:
        self.claims.append(Claim(text, bool(holds), evidence))
        mark = "✓" if holds else "✗ DOES NOT HOLD:"
        print(f"  {mark} {text}" + (f"  [{evidence}]" if evidence else ""), flush=True)
        return bool(holds)

    def save(self, fig, filename: str) -> Path:
        import matplotlib.pyplot as plt

        self.out_dir.mkdir(parents=True, exist_ok=True)
        path = self.out_dir / filename
        fig.tight_layout()
        fig.savefig(path, dpi=110)
        plt.close(fig)
        self.plots.append(path)
        print(f"  plot saved: {_rel(path)}", flush=True)
        return path


def _rel(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def results_dir(module: str) -> Path:
    return course.ROOT / "results" / module


def run_one(module: str, name: str, quick: bool, impl_name: str | None = None,
            out_dir: Path | None = None) -> Context:
    """Run experiments/<module>/<name>.py; exceptions propagate. Plots go to results/<module>/
    unless out_dir is given (the harness's tests use a temporary folder)."""
    import matplotlib

    matplotlib.use("Agg")
    from . import train  # noqa: F401 - sets threads and determinism once

    mod = importlib.import_module(f"experiments.{module}.{name}")
    impl_name = impl_name or os.environ.get("IMPL") or "reference"
    ctx = Context(module, name, quick, impl_name, out_dir or results_dir(module))
    mod.run(ctx)
    return ctx


def run_module(module: course.Module, quick: bool = False, only: str | None = None) -> int:
    names = [n for n in module.experiments if only in (None, n)]
    if not names:
        print(f"{module.name} has no experiment named {only!r}; it has: {', '.join(module.experiments)}")
        return 2
    impl_name = os.environ.get("IMPL") or "reference"
    failed = 0
    for i, name in enumerate(names, 1):
        doc = (importlib.import_module(f"experiments.{module.name}.{name}").__doc__ or name)
        print(f"\n[{i}/{len(names)}] {doc.strip().splitlines()[0]}  ({name}, IMPL={impl_name}"
              f"{', quick' if quick else ''})", flush=True)
        start = time.perf_counter()
        try:
            ctx = run_one(module.name, name, quick, impl_name)
        except NotImplementedError as e:
            print(f"  cannot run on IMPL={impl_name}: {e}\n  (finish that exercise, or drop IMPL to use the reference)")
            failed += 1
            continue
        except Exception:  # noqa: BLE001 - report and go on with the next experiment
            traceback.print_exc()
            failed += 1
            continue
        bad = [c for c in ctx.claims if not c.holds]
        failed += bool(bad)
        if not quick:
            from .. import progress
            progress.update(lambda d: d["experiments"].__setitem__(f"{module.name}/{name}", progress.now()))
        print(f"  done in {time.perf_counter() - start:.1f} s; "
              f"{len(ctx.claims) - len(bad)}/{len(ctx.claims)} claims hold", flush=True)
    print(f"\nPlots are in {_rel(results_dir(module.name))}/")
    return 1 if failed else 0
