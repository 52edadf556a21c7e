"""The two ends of every suite: the reference passes every visible and hidden test, the untouched
stubs pass none (each test reports "not started"), and correct alternative formulations pass too."""
import sys
from pathlib import Path

import pytest

from kata import course
from kata.mutate import run_suites

MODULES = [m.name for m in course.load().modules]
ALTERNATIVES = Path(__file__).parent / "alternatives"


@pytest.mark.parametrize("name", MODULES)
def test_reference_passes_visible_and_hidden(name):
    statuses = run_suites(course.load().module(name), "reference", statuses=True)
    assert statuses, f"{name} has no tests"
    bad = {t: s for t, s in statuses.items() if s != "passed"}
    assert not bad, f"the reference fails: {bad}"


@pytest.mark.parametrize("name", MODULES)
def test_untouched_stubs_are_all_not_started(name, pristine_stubs, monkeypatch):
    folder, package = pristine_stubs
    monkeypatch.syspath_prepend(str(folder))
    statuses = run_suites(course.load().module(name), package, statuses=True)
    bad = {t: s for t, s in statuses.items() if s != "not started"}
    assert not bad, f"with untouched stubs every test must be 'not started': {bad}"


@pytest.mark.parametrize("name", MODULES)
def test_correct_alternative_implementations_pass(name, monkeypatch):
    """tests/harness/alternatives/alt/ holds different but equivalent formulations (float64
    internals, einsum, complex-number RoPE, ...): tolerances must accept them."""
    if not (ALTERNATIVES / "alt" / name).exists():
        pytest.fail(f"no alternative implementation of {name} in {ALTERNATIVES / 'alt'}")
    monkeypatch.syspath_prepend(str(ALTERNATIVES))
    try:
        statuses = run_suites(course.load().module(name), "alt", statuses=True)
    finally:
        for k in [k for k in sys.modules if k == "alt" or k.startswith("alt.")]:
            del sys.modules[k]
    bad = {t: s for t, s in statuses.items() if s != "passed"}
    assert not bad, f"a correct alternative is rejected: {bad}"
