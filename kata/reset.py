"""`make reset EX=<exercise>`: put an exercise's stub back, after saving the learner's version.

The current file is copied to .kata/backups/<date-time>/<module>/<file>.py first (a new folder
each time, never overwritten) and listed in the progress file, which `status` mentions. Nothing the
learner wrote is lost."""
from __future__ import annotations

import shutil
import time

from . import course, impl, progress, stubs


def reset(name: str | None) -> int:
    c = course.load()
    if not name:
        print("Which exercise? make reset EX=<name> (the current version is saved first)")
        return 2
    try:
        ex = c.exercise(name)
    except KeyError as e:
        print(e.args[0])
        return 2
    if impl.impl_name() == "reference":
        print("IMPL=reference: the solutions are never reset.")
        return 2
    try:
        target = impl.package_dir() / ex.module / f"{ex.file}.py"
    except impl.ImplImportError as e:
        print(e)
        return 2
    stub = stubs.expected_stubs(c.module(ex.module))[ex.stub_path]
    if target.exists() and target.read_bytes() == stub.encode():
        print(f"{ex.name} is already the untouched stub ({_rel(target)}); nothing to reset.")
        return 0
    if target.exists():
        backup = _backup_folder() / ex.module / target.name
        backup.parent.mkdir(parents=True)
        shutil.copy2(target, backup)
        entry = {"exercise": ex.name, "path": _rel(backup), "when": progress.now()}
        progress.update(lambda d: d["backups"].append(entry))
        print(f"Your version is saved in {_rel(backup)}")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(stub)
    if impl.impl_name() == "exercises":  # status and watch must not count it as done any more
        progress.update(lambda d: d["exercises"].get(ex.name, {}).update(visible="not started", hidden="not started"))
    print(f"{_rel(target)} is the stub again; make test-{ex.module} shows {ex.name} as not started.")
    return 0


def _backup_folder():
    root = progress.STATE_DIR / "backups"
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for i in range(1000):  # two resets in the same second get two folders
        folder = root / (stamp if i == 0 else f"{stamp}-{i}")
        if not folder.exists():
            return folder
    raise RuntimeError("too many backups in one second")


def _rel(p) -> str:
    try:
        return str(p.relative_to(course.ROOT))
    except ValueError:
        return str(p)
