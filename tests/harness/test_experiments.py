"""Every experiment's quick mode runs on the reference and every claim it makes holds.
An experiment is a claim: if its conclusion stops being true, CI goes red."""
import pytest

from kata import course
from kata.lab import run_one

CASES = [pytest.param(m.name, e, id=f"{m.name}/{e}") for m in course.load().modules for e in m.experiments]


@pytest.mark.parametrize("module, name", CASES)
def test_experiment_claims_hold_in_quick_mode(module, name, tmp_path):
    ctx = run_one(module, name, quick=True, impl_name="reference", out_dir=tmp_path)
    assert ctx.claims, f"{module}/{name} makes no claim"
    failed = [c.text + (f" [{c.evidence}]" if c.evidence else "") for c in ctx.claims if not c.holds]
    assert not failed, f"claims that do not hold: {failed}"
    assert list(tmp_path.glob("*.png")), f"{module}/{name} saved no plot"
