"""What a learner meets when things go wrong, tested end to end through `python -m kata` in a
subprocess, as `make` runs it: nothing here may crash the harness, hide the cause, or touch
exercises/. Implementations are copies of reference/ with one file changed, under tmp_path."""
import hashlib
import json
import shutil

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


def test_report_is_written_escaped_and_leaves_exercises_alone(python_m, tmp_path, state_dir):
    evil = "def rms_norm(x, weight, eps=1e-5):\n    raise ValueError('<script>alert(1)</script>')\n"
    path = make_impl(tmp_path, {"normalization/rms_norm.py": evil})
    before = tree_digest(ROOT / "exercises")
    out = tmp_path / "r" / "report.html"
    done = python_m("kata", "report", "--out", str(out), impl="learner", pythonpath=path, state_dir=state_dir)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    page = out.read_text()
    assert "progress report" in page and "from implementation <b>learner</b>" in page
    assert "<script>alert(1)" not in page, "learner text must be escaped"
    assert "Implement rms_norm from scratch" in page
    assert tree_digest(ROOT / "exercises") == before, \
        "exercises/ changed while the report was made (if you were editing it meanwhile, run again)"


def test_impl_can_be_any_package_on_pythonpath(python_m, tmp_path):
    path = make_impl(tmp_path, {}, name="somebody_else")
    done = python_m("kata", "grade", "normalization", impl="somebody_else", pythonpath=path)
    assert done.returncode == 0 and "IMPL=somebody_else" in done.stdout, done.stdout


def test_a_missing_package_is_one_clear_sentence(python_m):
    done = python_m("kata", "test", "normalization", impl="no_such_package")
    assert done.returncode != 0
    assert "IMPL=no_such_package must be an importable package" in done.stdout, done.stdout
