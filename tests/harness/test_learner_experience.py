"""What a learner meets when things go wrong, tested end to end through `python -m kata` in a
subprocess, as `make` runs it: nothing here may crash the harness, hide the cause, or touch
exercises/. Implementations are copies of reference/ with one file changed, under tmp_path."""
import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from kata import course

ROOT = course.ROOT


def make_impl(tmp_path, changes: dict[str, str], name="learner"):
    """A copy of reference/ named `name`, with {relative path: new text} applied."""
    pkg = tmp_path / name
    shutil.copytree(ROOT / "reference", pkg, ignore=shutil.ignore_patterns("__pycache__"))
    for rel, text in changes.items():
        (pkg / rel).write_text(text)
    return tmp_path


def tree_digest(folder):
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*.py")):
        h.update(p.relative_to(folder).as_posix().encode() + p.read_bytes())
    return h.hexdigest()


def test_untouched_stubs_say_not_started_once_per_exercise(python_m, pristine_stubs):
    folder, package = pristine_stubs
    done = python_m("kata", "test", "normalization", impl=package, pythonpath=folder)
    assert done.returncode != 0
    out = done.stdout
    for ex in course.load().module("normalization").exercises:
        lines = [ln for ln in out.splitlines() if f" {ex.name} " in ln and "not started" in ln]
        assert len(lines) == 1 and f"make hint EX={ex.name}" in lines[0], out
    assert "Traceback" not in out and "NotImplementedError" not in out, out


def test_a_syntax_error_fails_only_its_module(python_m, tmp_path):
    path = make_impl(tmp_path, {"normalization/rms_norm.py": "def rms_norm(x, weight, eps=1e-5)\n    return x\n"})
    broken = python_m("kata", "test", "normalization", impl="learner", pythonpath=path)
    assert broken.returncode != 0
    assert "SyntaxError" in broken.stdout and "rms_norm.py:1" in broken.stdout, broken.stdout
    assert broken.stdout.count("SyntaxError") == 1, "say it once, not once per test"
    fine = python_m("kata", "test", "position_encoding", impl="learner", pythonpath=path)
    assert fine.returncode == 0, fine.stdout


def test_an_infinite_loop_times_out_one_test(python_m, tmp_path):
    loop = "def rms_norm(x, weight, eps=1e-5):\n    while True:\n        pass\n"
    path = make_impl(tmp_path, {"normalization/rms_norm.py": loop})
    done = python_m("pytest", "tests/visible/normalization", "-q", "--tb=no", "-o", "timeout=1",
                    "-k", "layer_norm or rms_norm_worked", impl="learner", pythonpath=path, timeout=120)
    assert "did not finish within 1 s" in done.stdout, done.stdout
    assert "1 failed" in done.stdout and "passed" in done.stdout, done.stdout


@pytest.mark.parametrize("catch", ["except Exception:", "except:"])
def test_a_loop_that_catches_the_timeout_still_ends(python_m, tmp_path, catch):
    # The timeout cannot be swallowed by `except Exception`; a bare `except:` ends the run with a
    # sentence. Either way the other tests of the looping function do not wait out their timeouts.
    loop = (f"import time\ndef rms_norm(x, weight, eps=1e-5):\n    while True:\n        try:\n"
            f"            time.sleep(0.01)\n        {catch}\n            pass\n")
    path = make_impl(tmp_path, {"normalization/rms_norm.py": loop})
    done = python_m("pytest", "tests/visible/normalization", "-q", "--tb=no", "-o", "timeout=1",
                    "-k", "rms_norm", impl="learner", pythonpath=path, timeout=120)
    if catch == "except:":
        assert "keeps catching the timeout" in done.stderr and done.returncode != 0, done.stdout + done.stderr
    else:
        assert "did not finish within 1 s" in done.stdout, done.stdout
        assert "did not finish in an earlier test" in done.stdout, "later tests must fail at once"
        last = done.stdout.strip().splitlines()[-1]
        assert "failed" in last and "passed" not in last, done.stdout  # every rms_norm test, quickly


def test_two_quick_saves_of_the_same_size_test_the_new_code(python_m, tmp_path, monkeypatch):
    # Python trusts a cached .pyc whose size and mtime (whole seconds) match: the harness must not.
    import os
    import time

    monkeypatch.delenv("PYTHONDONTWRITEBYTECODE", raising=False)  # as under make

    path = make_impl(tmp_path, {})
    target = path / "learner" / "normalization" / "rms_norm_module.py"
    good = target.read_text()
    bad = good.replace("return rms_norm(", "return 3*rms_norm(")
    good = good.replace("return rms_norm(", "return 1*rms_norm(")
    assert bad != good and len(bad) == len(good)
    second = int(time.time())
    for text, stamp, verdict in ((bad, second + 0.1, "1 failed"), (good, second + 0.7, "2 passed")):
        target.write_text(text)
        os.utime(target, (stamp, stamp))
        done = python_m("kata", "test", "normalization", "--exercise", "RMSNorm", impl="learner", pythonpath=path)
        assert verdict in done.stdout, done.stdout
    assert not list((path / "learner").rglob("*.pyc")), "no bytecode is written into the learner's package"


@pytest.mark.parametrize("body, expected", [
    ("return x * float('nan')", "NaN, first at index"),
    ("return x", "got 4, expected 0.5657"),  # returning the input: no known mistake may claim it
    ("return x.mean(-1)", "has shape"),
    ("return x.double()", "has dtype torch.float64"),
    ("import torch.nn.functional as F\n    return F.rms_norm(x, x.shape[-1:], weight, eps)", "does this exercise's whole job"),
    ("return x / x.pow(2).sum(-1, keepdim=True).add(eps).sqrt() * weight", "likely cause: sum of squares"),
])
def test_wrong_code_gets_a_one_line_diagnosis(python_m, tmp_path, body, expected):
    path = make_impl(tmp_path, {"normalization/rms_norm.py": f"def rms_norm(x, weight, eps=1e-5):\n    {body}\n"})
    done = python_m("kata", "test", "normalization", impl="learner", pythonpath=path)
    assert done.returncode != 0
    assert expected in done.stdout, done.stdout


def test_hidden_failures_show_the_property_not_the_values(python_m, tmp_path):
    # No float32 upcast: only the hidden float16 test with a 300 catches it.
    body = "return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * weight.to(x.dtype)"
    path = make_impl(tmp_path, {"normalization/rms_norm.py":
                                f"import torch\n\ndef rms_norm(x, weight, eps=1e-5):\n    {body}\n"})
    visible = python_m("kata", "test", "normalization", impl="learner", pythonpath=path)
    assert visible.returncode == 0, visible.stdout
    graded = python_m("kata", "grade", "normalization", impl="learner", pythonpath=path)
    assert graded.returncode != 0
    lines = [ln for ln in graded.stdout.splitlines() if "hidden property" in ln]
    assert lines and "float16 row containing 300 does not overflow" in lines[0], graded.stdout
    assert not any(w in graded.stdout for w in ("expected", "got ", "def test", "assert_close")), graded.stdout


def test_hints_reveal_one_level_at_a_time_and_are_recorded(python_m, state_dir):
    first = python_m("kata", "hint", "rms_norm", state_dir=state_dir)
    second = python_m("kata", "hint", "rms_norm", state_dir=state_dir)
    assert "level 1 of 4" in first.stdout and "level 2 of 4" in second.stdout
    again = python_m("kata", "hint", "rms_norm", "--level", "1", state_dir=state_dir)
    assert "level 1 of 4" in again.stdout
    assert json.loads((state_dir / "progress.json").read_text())["hints"] == {"rms_norm": 2}


def test_quiz_checks_explains_and_records(python_m, state_dir):
    import tomllib
    qs = tomllib.loads(course.load().module("normalization").quiz_file.read_text())["questions"]
    right = ",".join(q["answer"] for q in qs)
    done = python_m("kata", "quiz", "normalization", "--answers", right, state_dir=state_dir)
    assert done.returncode == 0 and f"Score: {len(qs)}/{len(qs)}" in done.stdout, done.stdout
    wrong = ",".join("b" if q["answer"] == "a" else "a" for q in qs)
    done = python_m("kata", "quiz", "normalization", "--answers", wrong, state_dir=state_dir)
    assert done.returncode == 1 and "the answer is" in done.stdout
    state = json.loads((state_dir / "progress.json").read_text())["quiz"]["normalization"]
    assert state["score"] == 0 and state["best"] == len(qs)
    # Questions answered right in any attempt stay recorded: the report ticks concepts from them.
    assert state["right"] == list(range(1, len(qs) + 1)), state


def test_interactive_quiz_reads_answers_from_the_terminal(python_m, state_dir):
    import tomllib
    qs = tomllib.loads(course.load().module("normalization").quiz_file.read_text())["questions"]
    typed = "\n".join(["z"] + [q["answer"] for q in qs]) + "\n"  # one invalid answer first
    done = python_m("kata", "quiz", "normalization", state_dir=state_dir, input=typed)
    assert done.returncode == 0 and f"Score: {len(qs)}/{len(qs)}" in done.stdout, done.stdout + done.stderr


def test_a_corrupted_progress_file_is_set_aside_not_fatal(python_m, state_dir):
    (state_dir / "progress.json").write_text("{not json")
    done = python_m("kata", "hint", "layer_norm", state_dir=state_dir)
    assert done.returncode == 0, done.stderr
    assert list(state_dir.glob("progress.json.corrupt-*"))
    assert json.loads((state_dir / "progress.json").read_text())["hints"] == {"layer_norm": 1}


def test_impl_can_be_any_package_on_pythonpath(python_m, tmp_path):
    path = make_impl(tmp_path, {}, name="somebody_else")
    done = python_m("kata", "grade", "normalization", impl="somebody_else", pythonpath=path)
    assert done.returncode == 0 and "IMPL=somebody_else" in done.stdout, done.stdout


def test_a_missing_package_is_one_clear_sentence(python_m):
    done = python_m("kata", "test", "normalization", impl="no_such_package")
    assert done.returncode != 0
    assert "IMPL=no_such_package must be an importable package" in done.stdout, done.stdout


# ---------------------------------------------------------------- the HTML report

# Learner text that would run as code if any part of the page inserted it unescaped.
PAYLOAD = "<script>document.title='pwned'</script><img src=x onerror=\"document.title='pwned2'\">"
EVIL = f"def rms_norm(x, weight, eps=1e-5):\n    raise ValueError({PAYLOAD!r})\n"


@pytest.fixture(scope="module")
def evil_report(tmp_path_factory, python_m):
    tmp = tmp_path_factory.mktemp("report")
    state = tmp / "state"
    state.mkdir()
    path = make_impl(tmp, {"normalization/rms_norm.py": EVIL})
    before = tree_digest(ROOT / "exercises")
    out = tmp / "r" / "report.html"
    done = python_m("kata", "report", "--out", str(out), impl="learner", pythonpath=path, state_dir=state)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert tree_digest(ROOT / "exercises") == before, \
        "exercises/ changed while the report was made (if you were editing it meanwhile, run again)"
    return out


def test_report_is_written_escaped_and_self_contained(evil_report):
    page = evil_report.read_text()
    assert "progress report" in page and "from implementation <b>learner</b>" in page
    assert PAYLOAD not in page and "<img src=x" not in page, "learner text must be escaped"
    assert "Implement rms_norm from scratch" in page and "Understand " in page
    assert "Hidden tests by property" in page
    # Opens offline: no stylesheet, script or image is fetched from anywhere.
    assert not any(f'{attr}="http' in page for attr in ("src", "href=\"http")), "the page must not fetch anything"


def _browser() -> str | None:
    return next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)


def test_report_renders_in_a_real_browser(evil_report, tmp_path):
    browser = _browser()
    if browser is None:
        if os.environ.get("CI"):
            pytest.fail("CI must install Chromium (.ci/run does: apt-get install chromium)")
        pytest.skip("no headless Chromium here (Debian/Ubuntu: sudo apt-get install chromium); CI installs one")
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}",
             "--virtual-time-budget=5000", "--dump-dom"]
    dom = subprocess.run([browser, *flags, evil_report.as_uri()], capture_output=True, text=True,
                         timeout=120).stdout
    assert 'id="kata-overview"' in dom and 'id="kata-modules"' in dom, "the overview is missing from the rendered page"
    assert 'class="results-table-row failed"' in dom, "pytest-html's script did not build its results table"
    assert "<title id=\"head-title\">transformer-kata: progress report</title>" in dom
    assert "pwned" not in dom.split("</title>")[0], "learner text ran as a script"
    assert '<img src="x"' not in dom, "learner text became an element"
    assert "&lt;script&gt;document.title='pwned'" in dom, "the learner's message must still be shown, as text"


# ---------------------------------------------------------------- status, next, reset, watch

def _progress(state_dir, **sections):
    data = {"exercises": {}, "hints": {}, "quiz": {}, "experiments": {}, "backups": [], "last_run": 1e12}
    data.update(sections)
    (state_dir / "progress.json").write_text(json.dumps(data))


def test_status_reads_the_record_and_says_what_is_next(python_m, state_dir):
    graded = {"visible": "passing", "hidden": "passing"}
    _progress(state_dir,
              exercises={"rms_norm": graded, "RMSNorm": graded, "layer_norm": {"visible": "failing"}},
              hints={"layer_norm": 2}, quiz={"normalization": {"score": 9, "total": 11, "best": 9, "when": "x"}},
              backups=[{"exercise": "layer_norm", "path": ".kata/backups/20261203-101010/normalization/layer_norm.py",
                        "when": "2026-12-03 10:10"}])
    done = python_m("kata", "status", state_dir=state_dir)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "rebuild" not in out, "a recorded state must be read, not rebuilt (status must stay instant)"
    assert "2/5" in out and "9/11 ✓" in out, out
    assert "2/" in out.split("Overall")[1] and "h left" in out, out
    assert "Next: layer_norm (failing)" in out and "make hint EX=layer_norm" in out, out
    assert "20261203-101010/normalization/layer_norm.py" in out, "status must mention the backup"
    nxt = python_m("kata", "next", state_dir=state_dir)
    assert "Next: layer_norm" in nxt.stdout and "exercises/normalization/layer_norm.py" in nxt.stdout, nxt.stdout


@pytest.mark.parametrize("damage", ["deleted", "corrupted", "hand-edited"])
def test_status_rebuilds_a_lost_record_from_a_test_run(python_m, state_dir, damage):
    if damage == "corrupted":
        (state_dir / "progress.json").write_text('{"exercises": [1, 2')
    if damage == "hand-edited":  # valid JSON, wrong types everywhere
        (state_dir / "progress.json").write_text(json.dumps({
            "exercises": {"rms_norm": "x", "layer_norm": {"visible": 3}}, "hints": {"rms_norm": "2"},
            "quiz": {"normalization": {"score": 1}}, "backups": [1, {"exercise": "x"}], "last_run": "yesterday"}))
    done = python_m("kata", "status", state_dir=state_dir)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "rebuild" in done.stdout and "Next:" in done.stdout, done.stdout
    record = json.loads((state_dir / "progress.json").read_text())
    assert "last_run" in record and len(record["exercises"]) == len(course.load().exercises)
    if damage == "corrupted":
        assert list(state_dir.glob("progress.json.corrupt-*")), "the damaged file is kept for inspection"


def test_reset_keeps_the_learners_version_and_restores_the_stub(python_m, tmp_path, state_dir):
    from kata import stubs

    mine = "# my attempt, with notes I care about\n" + (ROOT / "reference/normalization/rms_norm.py").read_text()
    path = make_impl(tmp_path, {"normalization/rms_norm.py": mine})
    target = path / "learner" / "normalization" / "rms_norm.py"
    stub = stubs.expected_stubs(course.load().module("normalization"))[ROOT / "exercises/normalization/rms_norm.py"]
    backups = []
    for attempt in range(2):  # twice in the same second: two backups, neither overwritten
        target.write_text(mine + f"# attempt {attempt}\n")
        done = python_m("kata", "reset", "rms_norm", impl="learner", pythonpath=path, state_dir=state_dir)
        assert done.returncode == 0, done.stdout + done.stderr
        assert target.read_text() == stub
        backups = sorted((state_dir / "backups").rglob("rms_norm.py"))
        assert len(backups) == attempt + 1
    assert sorted(b.read_text() for b in backups) == [mine + "# attempt 0\n", mine + "# attempt 1\n"]
    again = python_m("kata", "reset", "rms_norm", impl="learner", pythonpath=path, state_dir=state_dir)
    assert "nothing to reset" in again.stdout and len(list((state_dir / "backups").rglob("*.py"))) == 2
    status = python_m("kata", "status", state_dir=state_dir)
    assert backups[-1].parent.parent.name in status.stdout, status.stdout
    refused = python_m("kata", "reset", "rms_norm", impl="reference", state_dir=state_dir)
    assert refused.returncode != 0 and "never reset" in refused.stdout


@pytest.mark.parametrize("mode", ["native events", "polling only"])
def test_watch_reruns_on_save_and_moves_on(tmp_path, state_dir, pristine_stubs, mode):
    import queue
    import sys
    import threading
    import time

    root, name = pristine_stubs
    shutil.copytree(root / name, tmp_path / "learner")
    env = dict(os.environ, IMPL="learner", PYTHONPATH=str(tmp_path), KATA_STATE_DIR=str(state_dir))
    cmd = [sys.executable, "-u", "-m", "kata", "watch"] + (["--poll"] if mode == "polling only" else [])
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(l) for l in proc.stdout], daemon=True).start()
    seen = []

    def wait_for(text, seconds=60):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            try:
                seen.append(lines.get(timeout=1))
            except queue.Empty:
                continue
            if text in seen[-1]:
                return
        raise AssertionError(f"watch never printed {text!r}:\n" + "".join(seen[-40:]))

    try:
        wait_for("waiting for you to save")
        shutil.copy(ROOT / "reference/normalization/rms_norm.py", tmp_path / "learner/normalization/rms_norm.py")
        wait_for("✓ rms_norm passes")
        wait_for("Next: RMSNorm")
        wait_for("waiting for you to save")  # RMSNorm is checked at once (not started), then it waits
        (tmp_path / "learner/normalization/rms_norm_module.py").write_text("this is not python\n")
        wait_for("does not import")
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads child processes from /proc")
def test_watch_restarts_on_save_and_stops_cleanly_on_ctrl_c(tmp_path, state_dir, pristine_stubs):
    import signal
    import sys
    import time

    root, name = pristine_stubs
    shutil.copytree(root / name, tmp_path / "learner")
    looping = tmp_path / "learner/normalization/rms_norm.py"
    looping.write_text("def rms_norm(x, weight, eps=1e-5):\n    while True:\n        pass\n")
    env = dict(os.environ, IMPL="learner", PYTHONPATH=str(tmp_path), KATA_STATE_DIR=str(state_dir))
    log = tmp_path / "watch.log"
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, "-u", "-m", "kata", "watch"], cwd=ROOT, env=env,
                                stdout=out, stderr=subprocess.STDOUT, text=True)

    def children():
        found = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == proc.pid:
                found.append(int(stat.parent.name))
        return found

    def wait_until(cond, what, seconds=60):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if cond():
                return
            time.sleep(0.2)
        raise AssertionError(f"{what}:\n{log.read_text()[-3000:]}")

    try:
        wait_until(lambda: children() and "Starting at rms_norm" in log.read_text(), "no run started")
        time.sleep(1)  # the run is inside the loop now (20 s timeout)
        looping.write_text("def rms_norm(x, weight, eps=1e-5):\n    while 1:\n        pass\n")
        wait_until(lambda: "starting over" in log.read_text(), "a save during a run must restart it", 10)
        wait_until(children, "the restarted run never began")
        kids = children()
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=20)
        assert "watch stopped." in log.read_text() and "Traceback" not in log.read_text(), log.read_text()
        assert not [k for k in kids if Path(f"/proc/{k}").exists()
                    and "Z" not in Path(f"/proc/{k}/stat").read_text().rsplit(")", 1)[1].split()[0]], \
            "Ctrl-C must not leave the test run behind"
    finally:
        if proc.poll() is None:
            proc.kill()
