"""Per-test results as the plugin records them, and how they add up per exercise."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Result:
    nodeid: str
    module: str
    suite: str  # "visible" | "hidden"
    exercise: str
    prop: str   # the property a test checks, from its name
    status: str  # "passed" | "not started" | "broken" | "failing"
    short: str = ""
    details: str = ""


def summarize(results: list[Result]):
    """{(module, exercise): {suite: [results]}} in course order."""
    by = {}
    for r in results:
        by.setdefault((r.module, r.exercise), {}).setdefault(r.suite, []).append(r)
    return by


def exercise_status(results: list[Result]) -> str:
    if not results:
        return "no tests"
    if all(r.status == "passed" for r in results):
        return "passing"
    if any(r.status == "broken" for r in results):
        return "broken"
    if all(r.status == "not started" for r in results if r.status != "passed"):
        return "not started"
    return "failing"
