"""Stubs are generated from the reference, so their signatures and docstrings cannot drift.

Every function or method body after its docstring becomes one `raise NotImplementedError(...)`;
imports, classes, signatures, docstrings and comments outside bodies are kept verbatim. An
`__init__` keeps its `super().__init__()` call, then raises too, so an unwritten module is
"not started" rather than half-built.

    python -m kata.stubs --check          # exit 1 if any stub differs from what would be generated
    python -m kata.stubs --write MODULE   # (maintainers) write stubs for a new module's missing files

Writing never replaces an existing file: learners' work is never overwritten from here."""
from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

from . import course

NOT_STARTED = "not written yet"


def _message(exercise: str, func: str) -> str:
    where = exercise if func in (exercise, "__init__", "forward") else f"{exercise} ({func})"
    return f"{where}: {NOT_STARTED} (replace this line with your code; hints: make hint EX={exercise})"


def render(reference_file: Path, exercise: str) -> str:
    """The stub text for one reference file."""
    source = reference_file.read_text()
    lines = source.splitlines(keepends=True)
    tree = ast.parse(source)
    cuts: list[tuple[int, int, list[str]]] = []  # (first line, last line) 1-based, replacement
    for node in ast.walk(tree):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        body = node.body
        start = body[0]
        has_doc = isinstance(start, ast.Expr) and isinstance(getattr(start, "value", None), ast.Constant) \
            and isinstance(start.value.value, str)
        rest = body[1:] if has_doc else body
        if not rest:
            continue
        indent = " " * rest[0].col_offset
        new = []
        if node.name == "__init__":
            new.append(f"{indent}super().__init__()\n")
        new.append(f"{indent}raise NotImplementedError({_message(exercise, node.name)!r})\n")
        cuts.append((rest[0].lineno, rest[-1].end_lineno, new))
    for first, last, new in sorted(cuts, reverse=True):
        lines[first - 1:last] = new
    return "".join(lines)


def expected_stubs(module: course.Module) -> dict[Path, str]:
    """Every file of exercises/<module>/ and the text it must have."""
    out = {}
    ref_dir = course.ROOT / "reference" / module.name
    ex_dir = course.ROOT / "exercises" / module.name
    by_file = {ex.file: ex.name for ex in module.exercises}
    for ref in sorted(ref_dir.glob("*.py")):
        if ref.name == "__init__.py":
            out[ex_dir / ref.name] = ref.read_text().replace("Reference solution", "Your solution")
        else:
            out[ex_dir / ref.name] = render(ref, by_file.get(ref.stem, ref.stem))
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m kata.stubs", description=__doc__.splitlines()[0])
    p.add_argument("--check", action="store_true")
    p.add_argument("--write", metavar="MODULE")
    args = p.parse_args(argv)
    c = course.load()
    if args.write:
        for path, text in expected_stubs(c.module(args.write)).items():
            if path.exists():
                print(f"kept      {path.relative_to(course.ROOT)} (exists)")
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            print(f"generated {path.relative_to(course.ROOT)}")
        return 0
    drift = [(path, text) for m in c.modules if (course.ROOT / "reference" / m.name).is_dir()
             for path, text in expected_stubs(m).items()
             if not path.exists() or path.read_text() != text]
    for path, _ in drift:
        print(f"stub differs from the reference-generated one: {path.relative_to(course.ROOT)}")
    return 1 if drift and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
