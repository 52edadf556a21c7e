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


def run_suites(module: course.Module, hidden: bool, exercise: str | None = None) -> int:
    from . import runner

    return runner.run([module], hidden, *(["--exercise", exercise] if exercise else []))[0]


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
        if cmd in ("test", "grade"):
            sp.add_argument("--exercise", help="only this exercise's tests")
        if cmd == "quiz":
            sp.add_argument("--answers", help="answers given up front, e.g. 'b,a,c,...' (no prompts)")
    sh = sub.add_parser("hint", help="show the next hint level for an exercise")
    sh.add_argument("exercise", nargs="?")
    sh.add_argument("--level", type=int, help="show this level again (no new level is revealed)")
    sub.add_parser("status", help="progress per module, the next exercise, time left")
    sub.add_parser("next", help="the next exercise to do and how")
    sw = sub.add_parser("watch", help="rerun the current exercise's tests on every save")
    sw.add_argument("--poll", action="store_true", help="only poll for changes (no native file events)")
    sx = sub.add_parser("reset", help="restore an exercise's stub (your version is backed up first)")
    sx.add_argument("exercise", nargs="?")
    sr = sub.add_parser("report", help="write the HTML progress report")
    sr.add_argument("--out", default="report/report.html")
    for sp in sub.choices.values():  # like IMPL=<package>, on any command
        sp.add_argument("--impl", help="implementation package (default: $IMPL or exercises)")
    args = p.parse_args(argv)
    if args.impl:
        import os

        from . import impl
        os.environ["IMPL"] = args.impl  # experiments and child processes read it too
        impl.set_impl(args.impl)

    if args.cmd in ("test", "grade"):
        return run_suites(_module(args.module), hidden=args.cmd == "grade", exercise=args.exercise)
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
    if args.cmd == "next":
        from .status import show_next
        return show_next()
    if args.cmd == "watch":
        from .watch import watch
        return watch(poll_only=args.poll)
    if args.cmd == "reset":
        from .reset import reset
        return reset(args.exercise)
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
