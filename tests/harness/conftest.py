"""Shared helpers for the harness's own tests (they test the kata, not a learner)."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def python_m(*args, impl="reference", pythonpath=None, state_dir=None, timeout=300, input=None):
    """Run `python -m <args>` from the repo root as a learner would; returns CompletedProcess (text)."""
    env = dict(os.environ, IMPL=impl)
    if pythonpath:
        env["PYTHONPATH"] = os.pathsep.join([str(pythonpath), env.get("PYTHONPATH", "")])
    if state_dir:
        env["KATA_STATE_DIR"] = str(state_dir)
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout, input=input)


@pytest.fixture
def state_dir(tmp_path):
    """A private progress folder, so tests never touch the learner's .kata/."""
    d = tmp_path / "state"
    d.mkdir()
    return d


@pytest.fixture(name="python_m", scope="session")
def python_m_fixture():
    return python_m


def pytest_collection_modifyitems(items):
    # The learner-facing 20 s timeout is for one exercise test; the harness runs whole suites.
    for item in items:
        if Path(str(item.path)).is_relative_to(Path(__file__).parent):
            item.add_marker(pytest.mark.timeout(900))


@pytest.fixture(scope="session")
def pristine_stubs(tmp_path_factory):
    """(folder, package name) of a fresh copy of the stubs, generated from the reference: the
    harness checks "untouched stubs are not started" on this, never on the learner's exercises/."""
    from kata import course, stubs

    root = tmp_path_factory.mktemp("pristine")
    pkg = root / "pristine_exercises"
    pkg.mkdir()
    (pkg / "__init__.py").write_text((course.ROOT / "exercises" / "__init__.py").read_text())
    for m in course.load().modules:
        for path, text in stubs.expected_stubs(m).items():
            target = pkg / m.name / path.name
            target.parent.mkdir(exist_ok=True)
            target.write_text(text)
    return root, "pristine_exercises"
