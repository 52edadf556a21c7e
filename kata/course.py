"""Reads course.toml, the manifest every other part of the harness is driven by."""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Exercise:
    name: str
    module: str
    summary: str
    file: str  # exercises/<module>/<file>.py holds it

    @property
    def stub_path(self) -> Path:
        return ROOT / "exercises" / self.module / f"{self.file}.py"

    @property
    def reference_path(self) -> Path:
        return ROOT / "reference" / self.module / f"{self.file}.py"

    @property
    def hint_file(self) -> Path:
        return ROOT / "hints" / self.module / f"{self.name}.md"


@dataclass(frozen=True)
class Module:
    name: str
    title: str
    hours: float
    summary: str
    exercises: tuple[Exercise, ...]
    experiments: tuple[str, ...] = ()
    forbidden: tuple[str, ...] = ()
    alias: str | None = None
    concepts: tuple[tuple[str, str], ...] = ()  # (key, what the learner should understand)
    milestones: tuple[tuple[str, str], ...] = ()  # (key a tool records in progress, checklist text)

    @property
    def lesson(self) -> Path:
        return ROOT / "lessons" / f"{self.name}.md"

    @property
    def quiz_file(self) -> Path:
        return ROOT / "quizzes" / f"{self.name}.toml"

    @property
    def visible_tests(self) -> Path:
        return ROOT / "tests" / "visible" / self.name

    @property
    def hidden_tests(self) -> Path:
        return ROOT / "tests" / "hidden" / self.name

    def exercise(self, name: str) -> Exercise:
        for ex in self.exercises:
            if ex.name == name:
                return ex
        raise KeyError(f"module {self.name!r} has no exercise {name!r}")


@dataclass(frozen=True)
class Course:
    title: str
    quiz_pass_fraction: float
    modules: tuple[Module, ...] = field(default_factory=tuple)

    def module(self, name: str) -> Module:
        for m in self.modules:
            if name in (m.name, m.alias):
                return m
        known = ", ".join(m.name for m in self.modules)
        raise KeyError(f"no module {name!r}; the modules are: {known}")

    def exercise(self, name: str) -> Exercise:
        for m in self.modules:
            for ex in m.exercises:
                if ex.name == name:
                    return ex
        import difflib

        names = [ex.name for ex in self.exercises]
        close = difflib.get_close_matches(name, names, n=3, cutoff=0.5)
        close += [n for n in names if n.lower().replace("_", "") == name.lower().replace("_", "") and n not in close]
        guess = f"; did you mean {' or '.join(close)}?" if close else ""
        raise KeyError(f"no exercise {name!r}{guess} (`make hint` with no EX lists them all)")

    @property
    def exercises(self) -> list[Exercise]:
        return [ex for m in self.modules for ex in m.exercises]


@lru_cache(maxsize=1)
def load() -> Course:
    data = tomllib.loads((ROOT / "course.toml").read_text())
    modules = []
    for m in data["modules"]:
        exercises = tuple(Exercise(e["name"], m["name"], e.get("summary", ""), e.get("file", e["name"]))
                          for e in m["exercises"])
        modules.append(Module(
            name=m["name"], title=m["title"], hours=float(m["hours"]), summary=m.get("summary", ""),
            exercises=exercises, experiments=tuple(m.get("experiments", ())),
            forbidden=tuple(m.get("forbidden", ())), alias=m.get("alias"),
            concepts=tuple((k, text) for k, text in m.get("concepts", ())),
            milestones=tuple((k, text) for k, text in m.get("milestones", ())),
        ))
    c = data["course"]
    return Course(title=c["title"], quiz_pass_fraction=float(c["quiz_pass_fraction"]), modules=tuple(modules))
