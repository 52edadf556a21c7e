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
