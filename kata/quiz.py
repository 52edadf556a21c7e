"""Terminal quizzes: quizzes/<module>.toml holds [[questions]] with question, choices, answer
(a letter) and explanation. Each answer is checked and explained; the score is recorded."""
from __future__ import annotations

import string
import sys
import tomllib

from . import course, progress


def questions(module: course.Module) -> list[dict]:
    return tomllib.loads(module.quiz_file.read_text())["questions"]


def take(module: course.Module, answers: str | None = None) -> int:
    qs = questions(module)
    given = [a.strip().lower() for a in answers.split(",")] if answers else None
    print(f"Quiz · {module.title} · {len(qs)} questions. Answer with a letter.\n")
    score, right_ones = 0, []
    for i, q in enumerate(qs, 1):
        letters = string.ascii_lowercase[:len(q["choices"])]
        print(f"{i}. {q['question']}")
        for letter, choice in zip(letters, q["choices"]):
            print(f"   {letter}) {choice}")
        if given is not None:
            reply = given[i - 1] if i - 1 < len(given) else ""
            print(f"   your answer: {reply}")
        else:
            reply = _ask(letters)
            if reply is None:
                print("\nQuiz stopped; nothing recorded.")
                return 1
        right = reply == q["answer"]
        score += right
        if right:
            right_ones.append(i)
        print(("   ✓ right. " if right else f"   ✗ the answer is {q['answer']}). ") + q["explanation"].strip() + "\n")
    total = len(qs)
    passed = score >= course.load().quiz_pass_fraction * total
    print(f"Score: {score}/{total}" + (" — passed." if passed else
                                      f" — {course.load().quiz_pass_fraction:.0%} passes; reread the lesson and try again."))

    def record(d):
        before = d["quiz"].get(module.name, {})
        # "right": every question answered right in some attempt; the report ticks concepts from it.
        ever = sorted(set(before.get("right", [])) | set(right_ones))
        d["quiz"][module.name] = {"score": score, "total": total, "best": max(before.get("best", 0), score),
                                  "when": progress.now(), "right": ever}
    progress.update(record)
    return 0 if passed else 1


def _ask(letters: str) -> str | None:
    while True:
        try:
            reply = input(f"   your answer ({'/'.join(letters)}): ").strip().lower()
        except EOFError:
            return None
        if reply in letters and reply:
            return reply
        print(f"   please type one of {', '.join(letters)}", file=sys.stderr)
