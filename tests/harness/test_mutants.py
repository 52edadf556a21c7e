"""The mutation suite: every known mistake of every module is rejected by its suites, and every
test rejects at least one known mistake. `python -m kata.mutate <module>` runs per module, in its
own process (nested pytest sessions stay isolated), two at a time on the machine's two cores."""
from concurrent.futures import ThreadPoolExecutor

import pytest

from kata import course

MODULES = [m.name for m in course.load().modules]


@pytest.fixture(scope="module")
def mutation_runs(request):
    python_m = request.getfixturevalue("python_m")
    pool = ThreadPoolExecutor(max_workers=2)
    runs = {name: pool.submit(python_m, "kata.mutate", name, "--matrix") for name in MODULES}
    yield runs
    pool.shutdown(wait=True)


@pytest.mark.parametrize("name", MODULES)
def test_every_mistake_is_rejected_and_every_test_rejects_one(name, mutation_runs):
    done = mutation_runs[name].result()
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]
