"""The course is complete and consistent: every module in course.toml has all its parts, stubs are
generated from the reference, and the lessons' worked numbers are what the reference computes."""
import ast
import os
import re
import tomllib

import pytest
import torch

from kata import course, hints, stubs
from kata.impl import load
from kata.mistakes import catalogue

COURSE = course.load()
MODULES = [m.name for m in COURSE.modules]
HINT_LEVELS = ["The idea", "Step by step", "Common mistakes", "Check yourself"]


def test_budgets_add_up_to_the_six_hour_path():
    # The six-hour path, then the capstone (a tiny language model from the learner's own blocks).
    assert [m.hours for m in COURSE.modules][:5] == [1.0, 1.5, 2.0, 1.0, 0.5]
    assert MODULES == ["normalization", "position_encoding", "attention", "feedforward", "architecture",
                       "capstone"]


@pytest.mark.parametrize("name", MODULES)
def test_module_has_every_part(name):
    m = COURSE.module(name)
    missing = [str(p.relative_to(course.ROOT)) for p in
               [m.lesson, m.quiz_file, m.visible_tests, m.hidden_tests,
                course.ROOT / "kata" / "mistakes" / f"{name}.py"]
               + [ex.hint_file for ex in m.exercises] + [ex.stub_path for ex in m.exercises]
               + [ex.reference_path for ex in m.exercises]
               + [course.ROOT / "experiments" / name / f"{e}.py" for e in m.experiments]
               if not p.exists()]
    assert not missing, f"{name} lacks: {missing}"
    assert m.experiments, f"{name} lists no experiments in course.toml"


@pytest.mark.parametrize("name", MODULES)
def test_reference_and_stubs_export_every_contract_name(name, pristine_stubs, monkeypatch):
    m = COURSE.module(name)
    monkeypatch.syspath_prepend(str(pristine_stubs[0]))
    for package in ("reference", pristine_stubs[1]):
        mod = load(name, package)
        absent = [ex.name for ex in m.exercises if not hasattr(mod, ex.name)]
        assert not absent, f"{package}.{name} does not export {absent}"


def raises_everywhere(text: str) -> bool:
    """True when every function in `text` still raises NotImplementedError (an untouched stub)."""
    funcs = [n for n in ast.walk(ast.parse(text)) if isinstance(n, ast.FunctionDef)]
    return all("NotImplementedError" in ast.unparse(f) for f in funcs)


def test_stubs_are_generated_from_the_reference():
    """exercises/ matches what kata.stubs generates from reference/. On a learner's machine a file
    they have started (some function no longer raises) is their work, not drift, and is left out;
    in CI (CI=true) every stub must be exactly as generated, so no solution can ship."""
    strict = bool(os.environ.get("CI"))
    drift = [str(p.relative_to(course.ROOT)) for m in COURSE.modules
             for p, text in stubs.expected_stubs(m).items()
             if not p.exists() or (p.read_text() != text and (strict or raises_everywhere(p.read_text())))]
    assert not drift, f"regenerate with `python -m kata.stubs --write` (after removing): {drift}"


def test_generated_stubs_raise_not_implemented_everywhere():
    for m in COURSE.modules:
        for path, text in stubs.expected_stubs(m).items():
            assert raises_everywhere(text), f"the stub generated for {path} has a function that does not raise"


@pytest.mark.parametrize("name", MODULES)
def test_hints_have_four_graded_levels(name):
    for ex in COURSE.module(name).exercises:
        titles = [t for t, _ in hints.levels(ex)]
        assert titles == HINT_LEVELS, f"{ex.hint_file}: levels {titles}"
        assert all(text.strip() for _, text in hints.levels(ex)), f"{ex.hint_file} has an empty level"


@pytest.mark.parametrize("name", MODULES)
def test_quiz_is_well_formed(name):
    qs = tomllib.loads(COURSE.module(name).quiz_file.read_text())["questions"]
    assert len(qs) >= 6
    for q in qs:
        assert set(q) >= {"question", "choices", "answer", "explanation"}, q
        assert 2 <= len(q["choices"]) <= 5
        assert q["answer"] in "abcde"[:len(q["choices"])], q["question"]
        assert len(q["explanation"]) > 40, f"explain the answer: {q['question']}"
    # Each question checks one of the module's concepts; the report ticks a concept from them.
    keys = [k for k, _ in COURSE.module(name).concepts]
    assert keys, f"{name} lists no concepts in course.toml"
    assert all(q.get("concept") in keys for q in qs), [q["question"][:60] for q in qs if q.get("concept") not in keys]
    assert set(keys) == {q["concept"] for q in qs}, f"concepts no question checks: {set(keys) - {q['concept'] for q in qs}}"
    # A quiz whose right answer is usually the longest choice can be passed without reading it.
    longest = sum(max(q["choices"], key=len) == q["choices"]["abcde".index(q["answer"])] for q in qs)
    assert longest <= len(qs) // 2, f"the right answer is the longest choice in {longest}/{len(qs)} questions"


@pytest.mark.parametrize("name", MODULES)
def test_every_exercise_has_known_mistakes(name):
    cat = catalogue(name)
    without = [ex.name for ex in COURSE.module(name).exercises if not cat.of(ex.name)]
    assert not without, f"no mistakes catalogued for {without}"


EXAMPLE = re.compile(r"```example-(\w+)\n(.*?)```", re.S)


def lesson_examples():
    for m in COURSE.modules:
        if m.lesson.exists():
            for block_module, body in EXAMPLE.findall(m.lesson.read_text()):
                for line in body.strip().splitlines():
                    yield pytest.param(block_module, line, id=f"{block_module}: {line.split('->')[0].strip()[:50]}")


@pytest.mark.parametrize("module, line", list(lesson_examples()))
def test_lesson_worked_example_matches_the_reference(module, line):
    expr, expected = (s.strip() for s in line.split("->"))
    namespace = {"torch": torch, "math": __import__("math")}
    for m in COURSE.modules:  # every contract name, from the reference
        ref = load(m.name, "reference")
        namespace.update({ex.name: getattr(ref, ex.name) for ex in m.exercises})
    value = eval(expr, namespace)  # noqa: S307 - the lesson's own examples
    if isinstance(value, tuple):
        value = value[0]
    got = torch.as_tensor(value, dtype=torch.float64).flatten()
    want = torch.tensor(eval(expected), dtype=torch.float64).flatten()  # noqa: S307
    assert got.shape == want.shape and torch.allclose(got, want, atol=6e-5, rtol=0), \
        f"lessons/{module}.md says {expr} -> {expected}, the reference gives {got.tolist()}"


def test_lessons_contain_worked_examples():
    have = {mod for mod, _ in (p.values for p in lesson_examples())}
    assert have == set(MODULES), f"modules without ```example-<module> blocks: {set(MODULES) - have}"
