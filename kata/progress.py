"""The learner's progress state: .kata/progress.json (ignored by git).

Hints revealed, quiz scores and experiment runs. Missing or corrupted files never crash anything:
a corrupted file is set aside as progress.json.corrupt-<time> and a fresh state starts."""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

from .course import ROOT

STATE_DIR = Path(os.environ.get("KATA_STATE_DIR", ROOT / ".kata"))
EMPTY = {"hints": {}, "quiz": {}, "experiments": {}}


def path() -> Path:
    return STATE_DIR / "progress.json"


def load() -> dict:
    p = path()
    try:
        data = json.loads(p.read_text())
        if not isinstance(data, dict):
            raise ValueError("not an object")
    except FileNotFoundError:
        data = {}
    except (ValueError, OSError):
        p.rename(p.with_name(f"progress.json.corrupt-{int(time.time())}"))
        data = {}
    return {k: dict(data.get(k) or {}) if isinstance(data.get(k, {}), dict) else {} for k in EMPTY} | \
        {k: v for k, v in data.items() if k not in EMPTY}


def save(data: dict) -> None:
    p = path()
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
    os.replace(tmp, p)  # atomic: a crash never leaves half a file


def now() -> str:
    return time.strftime("%Y-%m-%d %H:%M")


def update(fn) -> dict:
    data = load()
    fn(data)
    save(data)
    return data
