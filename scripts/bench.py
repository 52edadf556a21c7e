"""Wall times that matter to a learner, next to the floor they cannot beat: a bare
`python -c "import torch, pytest"` measured in the same run. Targets (from the issues): a visible
suite within 1.5x of that floor, a grade within 2.5x, each experiment's full run under 60 s.

    python scripts/bench.py                 # suites of every module (median of 3 runs)
    python scripts/bench.py --experiments   # also each experiment, full and quick (once)
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from kata import course  # noqa: E402


def wall(cmd: list[str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(cmd, cwd=ROOT, env=dict(os.environ, IMPL="reference"),
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--experiments", action="store_true")
    args = p.parse_args()
    py = sys.executable
    floor = wall([py, "-c", "import torch, pytest"], args.repeat)
    print(f"{'bare `import torch, pytest`':<44} {floor:6.2f} s   1.00x")
    worst = {"test": 0.0, "grade": 0.0}
    for m in course.load().modules:
        for cmd, target in (("test", 1.5), ("grade", 2.5)):
            t = wall(["make", "-s", f"{cmd}-{m.name}", "IMPL=reference"], args.repeat)
            ratio = t / floor
            worst[cmd] = max(worst[cmd], ratio)
            flag = "" if ratio <= target else f"   over the {target}x target"
            print(f"{f'make {cmd}-{m.name} IMPL=reference':<44} {t:6.2f} s  {ratio:5.2f}x{flag}")
    print(f"worst visible suite {worst['test']:.2f}x (target 1.5x), worst grade {worst['grade']:.2f}x (target 2.5x)")
    if args.experiments:
        for m in course.load().modules:
            for e in m.experiments:
                for quick in (False, True):
                    cmd = [py, "-m", "kata", "exp", m.name, "--only", e] + (["--quick"] if quick else [])
                    t = wall(cmd, 1)
                    limit = 10 if quick else 60
                    flag = "" if t <= limit else f"   over {limit} s"
                    print(f"{f'experiment {m.name}/{e}' + (' --quick' if quick else ''):<64} {t:6.1f} s{flag}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
