"""The pytest plugin that turns test outcomes into a learner's view.

- `--impl` (or IMPL) picks the implementation package; `--suite` labels the run.
- Each test under tests/visible/<module>/ or tests/hidden/<module>/ belongs to one exercise
  (its `exercise` marker) and runs with the module's forbidden shortcuts disabled.
- Failures are classified: *not started* (NotImplementedError), *broken* (the module does not
  import), *failing* (a one-line diagnosis). Hidden tests show only their property name and that
  line, never code or expected values.
- The summary is one block per exercise instead of tracebacks; results are kept on
  `config.kata_results` for the report and the mutation runner.
"""
from __future__ import annotations

import gc
import os
import signal
import sys
import traceback
import types
from pathlib import Path

import pytest

from . import course, impl
from .compare import KataFailure
from .forbid import ForbiddenCall, forbidding
from .results import Result, exercise_status, summarize


class KataTimeout(BaseException):
    """A BaseException, like pytest's own outcomes, so a learner's `except Exception` around a loop
    cannot swallow it."""


def pytest_addoption(parser):
    group = parser.getgroup("kata")
    group.addoption("--impl", default=None, help="implementation package to test (default: $IMPL or exercises)")
    group.addoption("--exercise", default=None, help="run only this exercise's tests (what `watch` does)")


def pytest_configure(config):
    import torch

    # The suites use tiny tensors: one thread avoids hand-off costs (and contention on 2 cores).
    torch.set_num_threads(1)
    name = config.getoption("--impl")
    if name:
        impl.set_impl(name)
    config.kata_results = []


def item_place(item) -> tuple[str, str] | None:
    """(suite, module) for a test under tests/visible/<module>/ or tests/hidden/<module>/."""
    parts = Path(str(item.path)).resolve().relative_to(course.ROOT).parts
    if len(parts) >= 3 and parts[0] == "tests" and parts[1] in ("visible", "hidden"):
        return parts[1], parts[2]
    return None


def property_name(item) -> str:
    name = item.originalname if hasattr(item, "originalname") else item.name
    return name.removeprefix("test_").replace("_", " ")


def pytest_collection_modifyitems(config, items):
    c = course.load()
    for item in items:
        place = item_place(item)
        if place is None:
            continue
        suite, module = place
        marker = item.get_closest_marker("exercise")
        if marker is None:
            raise pytest.UsageError(f"{item.nodeid} has no @exercise(...) marker")
        ex = c.module(module).exercise(marker.args[0])  # KeyError names a typo
        item.kata = (suite, module, ex.name)
    only = config.getoption("--exercise")
    if only:
        keep = [i for i in items if getattr(i, "kata", (None, None, None))[2] == only]
        config.hook.pytest_deselected(items=[i for i in items if i not in keep])
        items[:] = keep


def pytest_sessionfinish(session):
    """Runs of the learner's own package feed `make status` and the report (.kata/progress.json)."""
    results = getattr(session.config, "kata_results", [])
    if impl.impl_name() != "exercises" or not results:
        return
    from . import progress

    statuses = {}
    for (_, exercise), suites in summarize(results).items():
        statuses[exercise] = {suite: exercise_status(rs) for suite, rs in suites.items()}
        broken = next((r.short for rs in suites.values() for r in rs if r.status == "broken"), None)
        if broken:
            statuses[exercise]["why"] = broken
    try:
        progress.record_run(statuses)
    except OSError:  # a read-only checkout still gets its test results
        pass


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    kata = getattr(item, "kata", None)
    if kata is None:
        yield
        return
    _, module, exercise = kata
    hint = f" (hints: make hint EX={exercise})"
    with forbidding(list(course.load().module(module).forbidden), hint):
        yield


# ---------------------------------------------------------------- timeouts (pytest-timeout hook)

GIVE_UP_AFTER = 5  # extra seconds of swallowed timeouts (a bare `except:` in a loop) before the run stops


@pytest.hookimpl(tryfirst=True)
def pytest_timeout_set_timer(item, settings):
    """A timeout fails one test with a sentence instead of a stack dump, and the learner function
    that was looping is stopped for the rest of the run, so its other tests fail at once instead of
    waiting out their own timeouts."""
    if settings.timeout <= 0 or not hasattr(signal, "SIGALRM"):
        return None
    fired = []

    def handler(signum, frame):
        fired.append(frame)
        if len(fired) == 1:
            _stop_looping_function(frame, settings.timeout)
        elif len(fired) > GIVE_UP_AFTER:
            where = _learner_code_in(frame)
            capture = item.config.pluginmanager.getplugin("capturemanager")
            if capture is not None:  # the message must reach the terminal, not pytest's capture file
                capture.suspend_global_capture(in_=True)
            sys.stderr.write(f"\n{item.nodeid}: the code{f' in {where[1]}' if where else ''} keeps catching the "
                             f"timeout (a bare `except:` inside a loop?); stopping this run.\n")
            sys.stderr.flush()
            os._exit(3)
        raise KataTimeout(f"did not finish within {settings.timeout:g} s: a loop that never ends, "
                          f"or far too much work for these small inputs?")

    previous = signal.signal(signal.SIGALRM, handler)

    def cancel():
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)

    item.cancel_timeout = cancel
    # It fires again every second until cancelled, in case the first one was caught.
    signal.setitimer(signal.ITIMER_REAL, settings.timeout, 1.0)
    return True


def _in_learner_package(filename: str) -> bool:
    pkg = sys.modules.get(impl.impl_name().split(".")[0])
    path = str(Path(filename).resolve())
    return any(path.startswith(str(Path(p).resolve())) for p in getattr(pkg, "__path__", []))


def _learner_code_in(frame):
    """(code object, 'file:line in name') of the innermost frame in the implementation package."""
    while frame is not None:
        path = frame.f_code.co_filename
        if _in_learner_package(path):
            return frame.f_code, f"{frame.f_code.co_name} ({Path(path).name}:{frame.f_lineno})"
        frame = frame.f_back
    return None


def _stopped(*args, **kwargs):
    __kata_looped__()  # noqa: F821 - found in the learner module's globals, set below


def _stop_looping_function(frame, timeout) -> None:
    found = _learner_code_in(frame)
    if found is None:
        return
    code, where = found

    def looped():
        raise KataTimeout(f"{where} did not finish in an earlier test (stopped after {timeout:g} s); "
                          f"fix that loop first")
    for f in gc.get_referrers(code):
        if isinstance(f, types.FunctionType) and f.__code__ is code and f.__closure__ is None:
            f.__globals__["__kata_looped__"] = looped  # in memory only; the file is never touched
            f.__code__ = _stopped.__code__


# ---------------------------------------------------------------- classification

def _chain(exc):
    """exc and its causes, as Python would print them (`raise ... from None` ends the chain)."""
    seen = []
    while exc is not None and exc not in seen:
        seen.append(exc)
        exc = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)
    return seen


def _learner_frame(exc) -> str:
    """'exercises/normalization/rms_norm.py:12 in rms_norm' for the innermost frame in the
    implementation package, or ''."""
    for fr in reversed(traceback.extract_tb(exc.__traceback__)):
        path = str(Path(fr.filename).resolve())
        if _in_learner_package(path):
            try:
                shown = Path(path).relative_to(Path.cwd())
            except ValueError:
                shown = path
            return f"{shown}:{fr.lineno} in {fr.name}"
    return ""


def _stub_owner(exc: NotImplementedError):
    """The exercise whose untouched stub raised `exc` (stub messages start with its name)."""
    from .stubs import NOT_STARTED

    text = str(exc)
    if NOT_STARTED not in text:
        return None
    name = text.split(":")[0].split(" (")[0].strip()
    try:
        return course.load().exercise(name)
    except KeyError:
        return None


# What torch's own error messages usually mean in these exercises: (text in the error, advice).
RAW_ERROR_ADVICE = [
    ("must match the size of tensor", "shapes do not line up: a reduction without keepdim=True, or a missing "
                                      "axis such as t[:, None, :]?"),
    ("Attempting to broadcast", "shapes do not line up: a reduction without keepdim=True, or a missing axis?"),
    ("before Module.__init__() call", "call super().__init__() first in __init__"),
    ("expected m1 and m2 to have the same dtype", "a float32 tensor meets a half-precision one: cast one side"),
    ("expected scalar type", "two dtypes meet in one operation: cast one side (and the result back with .to(x.dtype))"),
    ("only implemented on integer and Boolean", "the mask must be a bool tensor"),
    ("a leaf Variable that requires grad is being used in an in-place", "an input or parameter is changed in "
                                                                        "place: write into a new tensor"),
    ("Can't call numpy()", "stay in torch: .numpy() leaves autograd and the device"),
    ("Error(s) in loading state_dict", "parameter names or shapes differ from the contract's: use the "
                                       "docstring's names, bias=False"),
]


def classify(exc: BaseException, exercise: str) -> tuple[str, str, str]:
    """(status, one-line message, details) for an exception raised by a test."""
    if isinstance(exc, KataFailure):  # the test's own verdict wins over whatever it caught
        return "failing", exc.short, str(exc)[len(exc.short):].strip()
    for e in _chain(exc):
        if isinstance(e, NotImplementedError):
            other = _stub_owner(e)
            if other and other.name != exercise:
                # This exercise is fine as far as we know; it calls an unwritten earlier one.
                return "failing", (f"{exercise} uses {other.name} ({other.module}), which is not written "
                                   f"yet: finish it first (make test-{other.module})"), ""
            return "not started", f"{exercise} is not written yet", _learner_frame(e)
        if isinstance(e, impl.ImplImportError):
            return "broken", str(e), ""
    if isinstance(exc, (impl.ContractError, ForbiddenCall, KataTimeout)):
        return "failing", str(exc), ""
    text = str(exc).strip()
    first = (text.splitlines() or [""])[0]
    where = _learner_frame(exc)
    msg = f"{type(exc).__name__}: {first}" if first else type(exc).__name__
    advice = next((a for pattern, a in RAW_ERROR_ADVICE if pattern in text), "")
    if advice:
        msg += f" ({advice})"
    if where:
        return "failing", f"{msg} (raised at {where})", ""
    return "failing", msg, ""


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    kata = getattr(item, "kata", None)
    if kata is None or report.when == "teardown" and report.passed:
        return
    suite, module, exercise = kata
    if report.when == "call" or report.failed:
        if report.passed:
            status, short, details = "passed", "", ""
        elif call.excinfo is not None:
            status, short, details = classify(call.excinfo.value, exercise)
        else:
            status, short, details = "failing", "failed", ""
        prop = property_name(item)
        printed = report.capstdout.strip() if report.failed and suite == "visible" else ""
        if printed:  # a learner debugging with print() sees their output next to the failure
            lines = printed.splitlines()
            details += "\nyour code printed:\n  " + "\n  ".join(lines[:12]) + \
                (f"\n  ... ({len(lines) - 12} more lines)" if len(lines) > 12 else "")
        if report.failed:
            # Hidden tests: the property and one line; visible: the line and its evidence.
            report.longrepr = f"{prop}: {short}" if suite == "hidden" else \
                "\n".join(s for s in (short, details.strip()) if s)
        report.kata_status = status
        item.config.kata_results.append(Result(report.nodeid, module, suite, exercise, prop, status,
                                               short, "" if suite == "hidden" else details))


def pytest_report_teststatus(report, config):
    status = getattr(report, "kata_status", None)
    if status == "not started":
        return "not started", "n", "NOT STARTED"
    if status == "broken":
        return "broken", "B", "BROKEN"
    return None


# ---------------------------------------------------------------- summary

def pytest_terminal_summary(terminalreporter, exitstatus, config):
    results: list[Result] = config.kata_results
    if not results:
        return
    tr = terminalreporter
    c = course.load()
    by = summarize(results)
    modules = [m for m in c.modules if any(k[0] == m.name for k in by)]
    next_up = None
    for m in modules:
        suites = sorted({r.suite for r in results if r.module == m.name}, reverse=True)
        tr.write_sep("=", f"{m.name} · {' + '.join(suites)} · IMPL={impl.impl_name()}", bold=True)
        broken = next((r for r in results if r.module == m.name and r.status == "broken"), None)
        if broken:
            tr.write_line(f"  ✗ the module does not import: {broken.short}", red=True, bold=True)
            tr.write_line("    Fix that first; the other modules still run on their own.")
        for ex in m.exercises:
            per_suite = by.get((m.name, ex.name))
            if not per_suite:
                continue
            everything = [r for rs in per_suite.values() for r in rs]
            status = exercise_status(everything)
            counts = "  ".join(f"{s} {sum(r.status == 'passed' for r in rs)}/{len(rs)}"
                               for s, rs in sorted(per_suite.items(), reverse=True))
            if status == "passing":
                tr.write_line(f"  ✓ {ex.name:<28} passing      {counts}", green=True)
                continue
            if status == "broken":
                continue
            if status == "not started":
                tr.write_line(f"  · {ex.name:<28} not started  {counts}   "
                              f"→ {ex.stub_path.relative_to(course.ROOT)} · make hint EX={ex.name}", yellow=True)
                next_up = next_up or ex
                continue
            tr.write_line(f"  ✗ {ex.name:<28} failing      {counts}   → make hint EX={ex.name}",
                          red=True, bold=True)
            next_up = next_up or ex
            for r in everything:
                if r.status in ("passed", "not started"):
                    continue
                label = "hidden property" if r.suite == "hidden" else r.prop
                tr.write_line(f"      - {label}: {r.short}" if r.suite == "visible"
                              else f"      - {label} '{r.prop}': {r.short}")
                for line in r.details.splitlines():
                    tr.write_line(f"          {line}")
    if next_up:
        tr.write_line("")
        tr.write_line(f"Next: {next_up.name} ({next_up.summary}). Lesson: lessons/{next_up.module}.md · "
                      f"hint: make hint EX={next_up.name}", bold=True)
    elif exitstatus == 0 and config.getoption("--exercise"):
        tr.write_line("")
        tr.write_line(f"{config.getoption('--exercise')}: all its tests here pass.", green=True, bold=True)
    elif exitstatus == 0:
        tr.write_line("")
        only_visible = all(r.suite == "visible" for r in results)
        then = (f"next: make grade-{modules[0].name} (adds the hidden tests)" if only_visible and len(modules) == 1
                else "next: make quiz-<module>, make exp-<module>, make report")
        tr.write_line(f"All checks pass; {then}.", green=True, bold=True)
