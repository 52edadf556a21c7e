"""The learner's entry point: python -m kata <command> (the Makefile's targets call it)."""
from __future__ import annotations

import argparse
import sys

from . import course


def _module(name: str) -> course.Module:
    try:
        return course.load().module(name)
    except KeyError as e:
        raise SystemExit(e.args[0]) from None


def run_suites(module: course.Module, hidden: bool, extra: list[str] = ()) -> int:
    import pytest  # imported here so `hint` and `quiz` stay instant

    paths = [str(module.visible_tests)] + ([str(module.hidden_tests)] if hidden else [])
    # --assert=plain: the suites report through kata.compare, so rewriting asserts only costs time.
    args = [*paths, "-q", "--tb=no", "-rN", "--no-header", "--assert=plain", *extra]
    return int(pytest.main(args))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m kata", description="transformer-kata: learn by building.")
    sub = p.add_subparsers(dest="cmd", required=True)
    for cmd, help_ in [("test", "run a module's visible suite"),
                       ("grade", "run a module's visible and hidden suites"),
                       ("exp", "run a module's experiments"),
                       ("quiz", "take a module's quiz")]:
        sp = sub.add_parser(cmd, help=help_)
        sp.add_argument("module")
        if cmd == "exp":
            sp.add_argument("--quick", action="store_true", help="small, fast versions (what CI runs)")
            sp.add_argument("--only", help="run one experiment by name")
        if cmd == "quiz":
            sp.add_argument("--answers", help="answers given up front, e.g. 'b,a,c,...' (no prompts)")
    sh = sub.add_parser("hint", help="show the next hint level for an exercise")
    sh.add_argument("exercise", nargs="?")
    sh.add_argument("--level", type=int, help="show this level again (no new level is revealed)")
    sub.add_parser("status", help="progress per module")
    sr = sub.add_parser("report", help="write the HTML progress report")
    sr.add_argument("--out", default="report/report.html")
    args = p.parse_args(argv)

    if args.cmd in ("test", "grade"):
        return run_suites(_module(args.module), hidden=args.cmd == "grade")
    if args.cmd == "exp":
        from .lab import run_module
        return run_module(_module(args.module), quick=args.quick, only=args.only)
    if args.cmd == "quiz":
        from .quiz import take
        return take(_module(args.module), answers=args.answers)
    if args.cmd == "hint":
        from .hints import show
        return show(args.exercise, level=args.level)
    if args.cmd == "status":
        from .status import show_status
        return show_status()
    if args.cmd == "report":
        from .report import build
        return build(args.out)
    return 2


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BrokenPipeError:  # `python -m kata hint X | head`: the reader left, nothing is wrong
        sys.stderr.close()
        sys.exit(0)
