"""`make status` and `make next`: progress through the path, from .kata/progress.json alone.

Every test run of exercises/ records its results there (kata/plugin.py), so status never runs a
test and never imports torch: it answers in well under two seconds. Only when no run was ever
recorded (a fresh clone, or a deleted state file) does it rebuild the record from one quiet test
run of every suite first."""
from __future__ import annotations

from pathlib import Path

from . import course, progress

LEARNER_PKG = "exercises"


def rebuild() -> None:
    from . import runner

    print("No test run recorded yet (.kata/progress.json is new or was lost): running every suite "
          "once to rebuild it (about 10 s)...", flush=True)
    runner.run(course.load().modules, hidden=True, impl=LEARNER_PKG, quiet=True)


def snapshot(state: dict) -> dict:
    """{exercise name: "done" | "to grade" | "failing" | "broken" | "not started"}."""
    out = {}
    for ex in course.load().exercises:
        e = state["exercises"].get(ex.name, {})
        if e.get("broken"):
            out[ex.name] = "broken"
        elif progress.exercise_done(e):
            out[ex.name] = "done"
        elif e.get("visible") == "passing":
            out[ex.name] = "to grade"
        else:
            out[ex.name] = e.get("visible") or e.get("hidden") or "not started"
    return out


def next_exercise(states: dict) -> course.Exercise | None:
    return next((ex for ex in course.load().exercises if states[ex.name] != "done"), None)


def hours_left(states: dict) -> float:
    return sum(m.hours * sum(states[ex.name] != "done" for ex in m.exercises) / len(m.exercises)
               for m in course.load().modules)


def changed_since(state: dict) -> list[Path]:
    """Exercise files saved after the last recorded test run."""
    last = state.get("last_run")
    if not last:
        return []
    changed = []
    for p in (course.ROOT / LEARNER_PKG).rglob("*.py"):
        try:  # editors leave dangling lock links (.#file.py) and swap files behind
            if not p.name.startswith(".") and p.stat().st_mtime > last:
                changed.append(p)
        except OSError:
            continue
    if changed:  # a file `reset` just put back is the stub, not new work
        from .stubs import expected_stubs
        stubs = {path: text for m in course.load().modules for path, text in expected_stubs(m).items()}
        changed = [p for p in changed if stubs.get(p) != p.read_text(errors="replace")]
    return sorted(changed)


def experiments_run(module: course.Module, state: dict) -> int:
    from .lab import results_dir  # the plots also count: they were made before progress recorded runs

    return sum(f"{module.name}/{n}" in state["experiments"] or any(results_dir(module.name).glob(f"{n}*.png"))
               for n in module.experiments)


def bar(done: int, total: int, width: int = 10) -> str:
    """A text bar, readable in any terminal and in a log (rich colours it where it can)."""
    full = round(width * done / total) if total else 0
    return f"[green]{'█' * full}[/][dim]{'░' * (width - full)}[/]"


def next_steps(ex: course.Exercise, status: str, why: str = "") -> list[str]:
    rel = ex.stub_path.relative_to(course.ROOT)
    if status == "broken":
        return [f"{ex.module} does not import, so none of its tests run:", f"  {why}",
                f"  fix that file, then make test-{ex.module}"]
    if status == "to grade":
        return [f"{ex.name} passes its visible tests; now the hidden ones: make grade-{ex.module}"]
    return [f"{ex.name} ({status})",
            f"  {ex.summary}",
            f"  edit {rel}",
            f"  check: make test-{ex.module} (or make watch) · stuck: make hint EX={ex.name}",
            f"  lesson: lessons/{ex.module}.md"]


def show_status() -> int:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    if "last_run" not in progress.load():
        rebuild()
    state = progress.load()
    c = course.load()
    states = snapshot(state)
    console = Console(soft_wrap=True)  # long paths stay on one line (copyable)
    table = Table(title=f"{c.title} · your progress (exercises/)", title_justify="left",
                  box=None, pad_edge=False, header_style="bold")
    for col, justify in (("module", "left"), ("time", "right"), ("exercises done", "left"), ("", "left"),
                         ("quiz", "left"), ("exp.", "left"), ("hints", "right")):
        table.add_column(col, justify=justify, no_wrap=True)
    frac = c.quiz_pass_fraction
    for m in c.modules:
        done = sum(states[ex.name] == "done" for ex in m.exercises)
        to_grade = sum(states[ex.name] == "to grade" for ex in m.exercises)
        q = state["quiz"].get(m.name)
        quiz = "–" if not q else f"{q['best']}/{q['total']}" + (" ✓" if q["best"] >= frac * q["total"] else "")
        exp = f"{experiments_run(m, state)}/{len(m.experiments)}" if m.experiments else "–"
        hints = sum(int(state["hints"].get(ex.name, 0)) for ex in m.exercises)
        table.add_row(m.title.split(":")[0], f"{m.hours:g} h",
                      bar(done, len(m.exercises)),
                      f"{done}/{len(m.exercises)}" + (f" +{to_grade} to grade" if to_grade else ""),
                      quiz, exp, str(hints or "–"))
    console.print(table)
    console.print("[dim]done = its visible and hidden tests pass[/]")
    total_done = sum(s == "done" for s in states.values())
    console.print(f"\nOverall {bar(total_done, len(states), 20)} {total_done}/{len(states)} exercises done "
                  f"· about {hours_left(states):.1f} h left", highlight=False)
    ex = next_exercise(states)
    if ex is None:
        console.print("[bold green]Every exercise is done.[/] Quizzes, experiments and `make report` remain.")
    else:
        steps = next_steps(ex, states[ex.name], state["exercises"].get(ex.name, {}).get("broken", ""))
        console.print("[bold]Next:[/] " + escape("\n".join(steps)), highlight=False)
    changed = changed_since(state)
    if changed:
        names = ", ".join(str(p.relative_to(course.ROOT)) for p in changed[:3]) + (" ..." if len(changed) > 3 else "")
        console.print(f"[yellow]Saved since the last test run:[/] {escape(names)} (run its make test-<module> to update this)",
                      highlight=False)
    if state["backups"]:
        b = state["backups"][-1]
        count = len(state["backups"])
        console.print(escape(f"Backups from make reset: {count}; the latest, {b['exercise']} ({b['when']}), "
                             f"is {b['path']}"),
                      highlight=False)
    return 0


def show_next() -> int:
    if "last_run" not in progress.load():
        rebuild()
    states = snapshot(progress.load())
    ex = next_exercise(states)
    if ex is None:
        print("Every exercise is done: make report to see it all.")
        return 0
    why = progress.load()["exercises"].get(ex.name, {}).get("broken", "")
    print("Next: " + "\n".join(next_steps(ex, states[ex.name], why)))
    return 0
