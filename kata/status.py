"""`make status`: progress per module (visible and hidden suites of IMPL), hints, quiz, and what to
do next, from one quiet in-process run of the suites."""
from __future__ import annotations

import contextlib
import io

from . import course, impl, progress
from .results import exercise_status


class _Keep:
    def pytest_configure(self, config):
        self.config = config


def show_status() -> int:
    import pytest
    from rich.console import Console
    from rich.progress_bar import ProgressBar
    from rich.table import Table

    c = course.load()
    keep = _Keep()
    paths = [str(p) for m in c.modules for p in (m.visible_tests, m.hidden_tests) if p.is_dir()]
    with contextlib.redirect_stdout(io.StringIO()):
        pytest.main([*paths, "-q", "--tb=no", "-p", "no:cacheprovider", "-p", "no:unraisableexception"],
                     plugins=[keep])
    results = keep.config.kata_results
    state = progress.load()
    console = Console()
    table = Table(title=f"{c.title} · IMPL={impl.impl_name()}", title_justify="left")
    for col in ("module", "budget", "exercises passing", "", "quiz", "hints"):
        table.add_column(col)
    next_up, hours_left = None, 0.0
    total_done = total = 0
    for m in c.modules:
        statuses = {ex.name: exercise_status([r for r in results if r.exercise == ex.name]) for ex in m.exercises}
        done = sum(s == "passing" for s in statuses.values())
        total_done, total = total_done + done, total + len(statuses)
        hours_left += m.hours * (1 - done / len(statuses))
        if next_up is None:
            next_up = next((c.exercise(n) for n, s in statuses.items() if s != "passing"), None)
        q = state["quiz"].get(m.name)
        hints = sum(state["hints"].get(ex.name, 0) for ex in m.exercises)
        table.add_row(m.title, f"{m.hours:g} h", f"{done}/{len(statuses)}",
                      ProgressBar(total=len(statuses), completed=done, width=20),
                      f"{q['best']}/{q['total']}" if q else "–", str(hints or "–"))
    console.print(table)
    console.print(f"Overall: {total_done}/{total} exercises pass visible and hidden tests; "
                  f"about {hours_left:.1f} h of the path left.")
    if next_up:
        console.print(f"Next: [bold]{next_up.name}[/] in {next_up.stub_path.relative_to(course.ROOT)} "
                      f"(lesson: lessons/{next_up.module}.md, then make test-{next_up.module})")
    return 0
