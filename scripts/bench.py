"""Wall times that matter to a learner, next to the floor they cannot beat: a bare
`python -c "import torch, pytest"` measured in the same run. Targets (from the issues): a visible
suite within 1.5x of that floor, a grade within 2.5x, each experiment's full run under 60 s.

    python scripts/bench.py                 # suites of every module (median of 3 runs)
    python scripts/bench.py --experiments   # also each experiment, full and quick (once)
    python scripts/bench.py --lm            # also the capstone: `make train`'s validation bits/char
                                            # in its budget, and generation tokens/s with/without cache
    python scripts/bench.py --learner       # also status, report and the watch loop's reaction
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
    p.add_argument("--lm", action="store_true", help="train the capstone LM (reference) and time generation")
    p.add_argument("--lm-seconds", type=float, default=120.0, help="training budget for --lm (default 120)")
    p.add_argument("--learner", action="store_true", help="status (< 2 s), report (< 15 s), watch (< 2 s)")
    p.add_argument("--only-learner", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.only_learner:
        return learner_tools(args.repeat)
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
    if args.lm:
        lm(py, args.lm_seconds)
    if args.learner:
        learner_tools(args.repeat)
    return 0


def lm(py: str, seconds: float, new_tokens: int = 200) -> None:
    """Validation bits/char that `make train` reaches in its budget (reference), then tokens/s of
    generate on the trained model with and without the KV cache (greedy, best of 3)."""
    import tempfile

    import torch

    with tempfile.TemporaryDirectory() as out:
        subprocess.run([py, "-m", "kata.lm.train", "--impl", "reference", "--seconds", str(seconds), "--out", out],
                       cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        ckpt = torch.load(Path(out) / "tinylm.pt", map_location="cpu")
    print(f"{f'make train ({seconds:g} s, reference)':<44} {ckpt['val_bits']:6.3f} bits/char validation "
          f"after {ckpt['steps']} steps")
    from reference.capstone import TinyLM

    torch.set_num_threads(2)
    model = TinyLM(len(ckpt["chars"]), **ckpt["config"]).eval()
    model.load_state_dict(ckpt["state_dict"])
    prompt = torch.zeros(1, 16, dtype=torch.long)
    n = min(new_tokens, ckpt["config"]["max_len"] - prompt.shape[1])
    for use_cache in (True, False):
        best = float("inf")
        for _ in range(3):
            start = time.perf_counter()
            model.generate(prompt, n, temperature=0.0, use_cache=use_cache)
            best = min(best, time.perf_counter() - start)
        label = f"generate {n} tokens, {'with' if use_cache else 'without'} the KV cache"
        print(f"{label:<44} {n / best:6.0f} tokens/s")


def learner_tools(repeat: int) -> int:
    """The learner's own commands, each against its target from the issue."""
    import queue
    import shutil
    import tempfile
    import threading

    py = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        env = dict(os.environ, KATA_STATE_DIR=str(tmp / "state"))
        subprocess.run([py, "-m", "kata", "status"], cwd=ROOT, env=env, capture_output=True, check=True)  # records
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            subprocess.run([py, "-m", "kata", "status"], cwd=ROOT, env=env, capture_output=True, check=True)
            times.append(time.perf_counter() - start)
        print(f"{'kata status (recorded state)':<44} {statistics.median(times):6.2f} s   target < 2 s")
        start = time.perf_counter()
        subprocess.run([py, "-m", "kata", "report", "--out", str(tmp / "report.html")], cwd=ROOT,
                       env=dict(env, IMPL="reference"), capture_output=True, check=True)
        print(f"{'kata report IMPL=reference (all suites)':<44} {time.perf_counter() - start:6.2f} s   target < 15 s")
        # watch: a copy of the stubs; save a solution and time the first line and the verdict
        from kata import stubs
        pkg = tmp / "watched"
        shutil.copy(ROOT / "exercises" / "__init__.py", (pkg.mkdir() or pkg) / "__init__.py")
        for m in course.load().modules:
            for path, text in stubs.expected_stubs(m).items():
                (pkg / m.name).mkdir(exist_ok=True)
                (pkg / m.name / path.name).write_text(text)
        proc = subprocess.Popen([py, "-u", "-m", "kata", "watch"], cwd=ROOT, text=True, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, env=dict(env, IMPL="watched", PYTHONPATH=str(tmp)))
        lines: queue.Queue = queue.Queue()
        threading.Thread(target=lambda: [lines.put((time.perf_counter(), l)) for l in proc.stdout], daemon=True).start()

        def until(text):
            while True:
                t, line = lines.get(timeout=120)
                if text in line:
                    return t
        until("waiting for you to save")
        saved = time.perf_counter()
        shutil.copy(ROOT / "reference/normalization/rms_norm.py", pkg / "normalization/rms_norm.py")
        noticed = until("checking rms_norm")
        verdict = until("rms_norm passes")
        proc.terminate()
        proc.wait()
        print(f"{'kata watch: save -> rerun starts':<44} {noticed - saved:6.2f} s   target < 2 s")
        print(f"{'kata watch: save -> verdict printed':<44} {verdict - saved:6.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
