"""Graded hints: hints/<module>/<exercise>.md, one '## Level N: title' section per level.

Each `make hint EX=name` reveals the next level (the idea -> the formula in pseudocode -> common
mistakes -> how to check yourself) and records it; earlier levels can be shown again with --level."""
from __future__ import annotations

import re

from . import course, progress

LEVEL = re.compile(r"^## Level (\d+): (.+)$", re.M)


def levels(exercise: course.Exercise) -> list[tuple[str, str]]:
    """[(title, text)] in order."""
    text = exercise.hint_file.read_text()
    marks = list(LEVEL.finditer(text))
    return [(m.group(2).strip(), text[m.end():(marks[i + 1].start() if i + 1 < len(marks) else len(text))].strip())
            for i, m in enumerate(marks)]


def show(name: str | None, level: int | None = None) -> int:
    c = course.load()
    if not name:
        print("Which exercise? make hint EX=<name>, one of:")
        for m in c.modules:
            print(f"  {m.name}: " + ", ".join(ex.name for ex in m.exercises))
        return 2
    try:
        ex = c.exercise(name)
    except KeyError as e:
        print(e.args[0])
        return 2
    if not ex.hint_file.exists():
        print(f"No hints written for {name} yet.")
        return 1
    all_levels = levels(ex)
    seen = int(progress.load()["hints"].get(name, 0))
    n = level if level is not None else min(seen + 1, len(all_levels))
    if not 1 <= n <= len(all_levels):
        print(f"{name} has levels 1 to {len(all_levels)}.")
        return 2
    title, text = all_levels[n - 1]
    print(f"{name} · hint level {n} of {len(all_levels)}: {title}\n")
    print(text)
    print()
    if n > seen:
        progress.update(lambda d: d["hints"].__setitem__(name, n))
    if n < len(all_levels):
        print(f"(Still stuck? `make hint EX={name}` again shows level {n + 1}.)")
    else:
        print("(That was the last level. The lesson and the failing test's message are your best friends now.)")
    return 0
