"""The learner's progress state: .kata/progress.json (ignored by git).

What each test run of the learner's `exercises/` found per exercise (when it was first attempted,
first passed its visible tests, first passed visible and hidden), hints revealed, quiz scores,
experiment runs and the backups `reset` made.

Never a crash: writes are atomic and keep the previous version as progress.json.bak; a corrupted
file is set aside as progress.json.corrupt-<time> and the backup (or a fresh state) takes over.
`status` rebuilds the exercise part from a test run when it is missing."""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

from .course import ROOT

STATE_DIR = Path(os.environ.get("KATA_STATE_DIR", ROOT / ".kata"))
SECTIONS = ("exercises", "hints", "quiz", "experiments")


def path() -> Path:
    return STATE_DIR / "progress.json"


def _read(p: Path) -> dict:
    data = json.loads(p.read_text())
    if not isinstance(data, dict):
        raise ValueError("not an object")
    return data


def load() -> dict:
    p, bak = path(), path().with_name("progress.json.bak")
    try:
        data = _read(p)
    except FileNotFoundError:
        data = {}
    except (ValueError, OSError):
        try:
            p.rename(p.with_name(f"progress.json.corrupt-{int(time.time())}"))
        except OSError:  # a read-only folder: read around the damage, never crash
            pass
        try:
            data = _read(bak)
        except (ValueError, OSError):
            data = {}
    return _sane(data)


def _sane(data: dict) -> dict:
    """Whatever a hand edit left, every reader gets the types it expects: entries of the wrong
    type are dropped, never fatal."""
    clean = {k: v for k, v in data.items() if k not in (*SECTIONS, "backups", "last_run")}
    for k in SECTIONS:
        section = data.get(k) if isinstance(data.get(k), dict) else {}
        clean[k] = {name: v for name, v in section.items() if _valid(k, v)}
    clean["backups"] = [b for b in data.get("backups", []) if isinstance(b, dict)
                        and all(isinstance(b.get(f), str) for f in ("exercise", "path", "when"))] \
        if isinstance(data.get("backups"), list) else []
    if isinstance(data.get("last_run"), (int, float)) and not isinstance(data["last_run"], bool):
        clean["last_run"] = data["last_run"]
    return clean


def _int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _valid(section: str, v) -> bool:
    if section == "hints":
        return _int(v) and v >= 0
    if section == "experiments":
        return isinstance(v, str)
    if section == "quiz":
        return isinstance(v, dict) and all(_int(v.get(f)) for f in ("score", "total", "best")) \
            and isinstance(v.get("when", ""), str) and isinstance(v.get("right", []), list) \
            and all(_int(i) for i in v.get("right", []))
    return isinstance(v, dict) and all(isinstance(x, str) for x in v.values())


def exists() -> bool:
    return path().exists()


def save(data: dict) -> None:
    p = path()
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=p.parent, prefix=".progress-", suffix=".tmp")  # one per writer
    with os.fdopen(fd, "w") as f:
        f.write(json.dumps(data, indent=1, sort_keys=True))
    if p.exists():
        shutil.copyfile(p, p.with_name("progress.json.bak"))
    os.replace(tmp, p)  # atomic: a crash never leaves half a file


def now() -> str:
    return time.strftime("%Y-%m-%d %H:%M")


@contextlib.contextmanager
def _locked():
    """One writer at a time (watch recording while the learner asks for a hint, say)."""
    try:
        import fcntl
    except ImportError:  # Windows: atomic replace only
        yield
        return
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    with open(STATE_DIR / "progress.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def update(fn) -> dict:
    """Read, change with fn(data), write back: the one way to change the record."""
    with _locked():
        data = load()
        fn(data)
        save(data)
    return data


def record_run(statuses: dict[str, dict[str, str]]) -> None:
    """Store one test run of the learner's exercises: {exercise: {suite: status}} where status is
    an exercise_status() value ("passing", "failing", "not started", "broken")."""
    when = now()

    def apply(d):
        for name, suites in statuses.items():
            e = d["exercises"].setdefault(name, {})
            why = suites.pop("why", "")
            if "broken" in suites.values():
                # The module does not import (maybe because of another file): say so, but keep
                # what is known of this exercise; it was not attempted by this run.
                e["broken"] = why
                e["last_run"] = when
                continue
            e.pop("broken", None)
            for suite, status in suites.items():
                e[suite] = status
            if any(s != "not started" for s in suites.values()):
                e.setdefault("first_attempted", when)
            if suites.get("visible") == "passing":
                e.setdefault("first_passed", when)
            elif "visible" in suites and "hidden" not in suites:
                e.pop("hidden", None)  # an older hidden pass no longer counts once the visible suite fails
            if suites.get("visible") == "passing" and suites.get("hidden") == "passing":
                e.setdefault("first_graded", when)
            e["last_run"] = when
        d["last_run"] = time.time()
    update(apply)


def exercise_done(entry: dict) -> bool:
    """Done means what the report ticks: the visible and the hidden suite both pass."""
    return entry.get("visible") == "passing" and entry.get("hidden") == "passing"
