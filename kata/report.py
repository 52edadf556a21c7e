"""The HTML progress report: one self-contained pytest-html page, with the kata's overview on top.

It runs every module's visible and hidden suites against IMPL in one pytest session (reading only;
nothing in exercises/ is written), then adds: when and from what it was made, progress per module
and exercise, the completion checklist of the learning path, hidden results by property name,
hints used, quiz scores and the experiments' plots. Every string is HTML-escaped."""
from __future__ import annotations

import base64
import html
import time
from pathlib import Path

import pytest

from . import course, impl, progress
from .lab import results_dir
from .results import exercise_status, summarize

STYLE = """
<style>
.kata{font-family:system-ui,sans-serif;max-width:1100px;color:#222}
.kata td,.kata li,.kata p{color:#222}
.kata h2{margin:.2em 0}.kata .meta{color:#555}
.kata .bar{background:#eee;border-radius:6px;height:14px;width:260px;display:inline-block;vertical-align:middle}
.kata .bar>span{display:block;height:100%;border-radius:6px;background:#2e9d5b}
.kata table.ex{border-collapse:collapse;margin:.4em 0 1em}
.kata table.ex td,.kata table.ex th{border:1px solid #ddd;padding:3px 8px;text-align:left}
.kata .passing{color:#1b7f3b;font-weight:600}.kata .failing{color:#b3261e;font-weight:600}
.kata .broken{color:#b3261e;font-weight:600}.kata .not-started{color:#8a6d00}
.kata .module{border:1px solid #ccc;border-radius:8px;padding:.6em 1em;margin:.8em 0}
.kata ul.check,.kata ul.props{list-style:none;padding-left:0}
.kata ul.check li.ok{color:#1b7f3b}.kata ul.check li.todo{color:#8a6d00}.kata ul.props{margin:.2em 0 .5em 1em}.kata img{max-width:880px;width:100%;border:1px solid #ddd;margin:6px 0}
#environment-header,#environment{display:none}
</style>
"""


def _e(text) -> str:
    return html.escape(str(text), quote=True)


def _bar(done: int, total: int) -> str:
    pct = 0 if not total else round(100 * done / total)
    return f'<span class="bar" title="{pct}%"><span style="width:{pct}%"></span></span> {done}/{total}'


def concepts_understood(module: course.Module, state: dict) -> list[tuple[bool, str]]:
    """A concept is ticked once every quiz question about it has been answered right (in any attempt)."""
    from .quiz import questions

    right = set(state["quiz"].get(module.name, {}).get("right", []))
    qs = list(enumerate(questions(module), 1)) if module.quiz_file.exists() else []
    items = []
    for key, text in module.concepts:
        mine = [i for i, q in qs if q.get("concept") == key]
        items.append((bool(mine) and set(mine) <= right, f"Understand {text} (quiz questions {_nums(mine)})"))
    return items


def _nums(ns: list[int]) -> str:
    return ", ".join(map(str, ns)) or "none yet"


def completion(module: course.Module, by: dict, state: dict) -> list[tuple[bool, str]]:
    """The module's checklist: each exercise implemented (visible and hidden pass), each concept
    understood (quiz), the quiz passed, the experiments run."""
    items = []
    for ex in module.exercises:
        rs = [r for s in by.get((module.name, ex.name), {}).values() for r in s]
        items.append((bool(rs) and exercise_status(rs) == "passing",
                      f"Implement {ex.name} from scratch ({ex.summary}): visible and hidden tests pass"))
    items += concepts_understood(module, state)
    q = state["quiz"].get(module.name)
    frac = course.load().quiz_pass_fraction
    items.append((bool(q) and q.get("best", 0) >= frac * q.get("total", 1),
                  f"Quiz passed (at least {frac:.0%}): make quiz-{module.name}"))
    for key, text in module.milestones:
        done = state["experiments"].get(f"{module.name}/{key}")
        items.append((bool(done), text + (f" ({done})" if done else "")))
    if module.experiments:
        ran = all(f"{module.name}/{n}" in state["experiments"] or any(results_dir(module.name).glob(f"{n}*.png"))
                  for n in module.experiments)
        items.append((ran, f"Ran the experiments: make exp-{module.name}"))
    return items


def hidden_properties(per: dict) -> str:
    """The hidden suite of one exercise, by property name: ✓ holds, ✗ does not (with its one line)."""
    rows = per.get("hidden", [])
    if not rows:
        return ""
    lines = []
    for r in rows:
        mark = {"passed": "✓", "not started": "·"}.get(r.status, "✗")
        lines.append(f"<li>{mark} {_e(r.prop)}" + (f": {_e(r.short)}" if r.status == "failing" else "") + "</li>")
    return "<ul class=\"props\">" + "".join(lines) + "</ul>"


def _quiz_cell(q: dict | None) -> str:
    return f"{q['best']}/{q['total']}" if q else "–"


def overview(results, impl_label: str) -> str:
    c = course.load()
    state = progress.load()
    by = summarize(results)
    parts = [STYLE, '<div class="kata" id="kata-overview">']
    parts.append(f'<p class="meta">Made {_e(time.strftime("%Y-%m-%d %H:%M:%S %Z"))} from implementation '
                 f'<b>{_e(impl_label)}</b>. Visible and hidden suites of every module; hidden tests are '
                 f'listed by the property they check.</p>')
    all_ex = [(m, ex) for m in c.modules for ex in m.exercises]
    done = sum(exercise_status([r for s in by.get((m.name, ex.name), {}).values() for r in s]) == "passing"
               for m, ex in all_ex)
    parts.append(f"<h2>Progress {_bar(done, len(all_ex))} exercises</h2>")
    checklists = {m.name: completion(m, by, state) for m in c.modules}
    # Dates come from the learner's recorded runs, so they describe exercises/ only.
    dates = state["exercises"] if impl_label == "exercises" else {}
    parts.append('<table class="ex" id="kata-modules"><tr><th>module</th><th>time</th><th>exercises done</th>'
                 '<th>checklist</th><th>quiz (best)</th><th>hints used</th></tr>')
    for m in c.modules:
        ok_ex = sum(exercise_status([r for s in by.get((m.name, ex.name), {}).values() for r in s]) == "passing"
                    for ex in m.exercises)
        checks = checklists[m.name]
        q = state["quiz"].get(m.name)
        hints = sum(int(state["hints"].get(ex.name, 0)) for ex in m.exercises)
        parts.append(f'<tr><td><a href="#module-{_e(m.name)}">{_e(m.title)}</a></td><td>{m.hours:g} h</td>'
                     f"<td>{_bar(ok_ex, len(m.exercises))}</td><td>{_bar(sum(ok for ok, _ in checks), len(checks))}</td>"
                     f"<td>{_e(_quiz_cell(q))}</td><td>{hints or '–'}</td></tr>")
    parts.append("</table>")
    for m in c.modules:
        checklist = checklists[m.name]
        parts.append(f'<div class="module" id="module-{_e(m.name)}"><h2>{_e(m.title)} <small>({m.hours:g} h)</small> '
                     f'{_bar(sum(ok for ok, _ in checklist), len(checklist))} checklist items</h2>')
        parts.append(f"<p>{_e(m.summary)}</p>")
        parts.append('<ul class="check">' + "".join(
            f"<li class=\"{'ok' if ok else 'todo'}\">{'✔' if ok else '○'} {_e(text)}</li>" for ok, text in checklist) + "</ul>")
        parts.append('<table class="ex"><tr><th>exercise</th><th>status</th><th>visible</th>'
                     '<th>hidden</th><th>hints used</th><th>first attempted</th><th>done since</th></tr>')
        hidden_rows = []
        for ex in m.exercises:
            per = by.get((m.name, ex.name), {})
            rs = [r for s in per.values() for r in s]
            status = exercise_status(rs)
            cells = []
            for suite in ("visible", "hidden"):
                s = per.get(suite, [])
                cells.append(f"{sum(r.status == 'passed' for r in s)}/{len(s)}" if s else "–")
            hints = state["hints"].get(ex.name, 0)
            parts.append(f'<tr><td>{_e(ex.name)}</td><td class="{status.replace(" ", "-")}">{_e(status)}</td>'
                         f"<td>{cells[0]}</td><td>{cells[1]}</td><td>{_e(f'{hints} level(s)' if hints else '–')}</td>"
                         f"<td>{_e(dates.get(ex.name, {}).get('first_attempted', '–'))}</td>"
                         f"<td>{_e(dates.get(ex.name, {}).get('first_graded', '–'))}</td></tr>")
            props = hidden_properties(per)
            if props:
                hidden_rows.append(f"<li><b>{_e(ex.name)}</b>{props}</li>")
        parts.append("</table>")
        broken = next((r for r in results if r.module == m.name and r.status == "broken"), None)
        if broken:
            parts.append(f'<p class="broken">The module does not import: {_e(broken.short)}</p>')
        if hidden_rows:
            failing = sum(r.status == "failing" for r in results if r.module == m.name and r.suite == "hidden")
            verdict = f"{failing} do not hold yet" if failing else "none failing"
            parts.append(f"<details{' open' if failing else ''}><summary>Hidden tests by property "
                         f"({verdict})</summary><ul class=\"hidden\">" + "".join(hidden_rows) + "</ul></details>")
        q = state["quiz"].get(m.name)
        quiz = (f"last {q['score']}/{q['total']}, best {q['best']}/{q['total']} ({q.get('when', '?')})"
                if q else "not taken yet")
        parts.append(f"<p>Quiz: {_e(quiz)}</p>")
        plots = sorted(results_dir(m.name).glob("*.png"))
        if plots:
            parts.append("<details open><summary>Experiment plots</summary>")
            for p in plots:
                data = base64.b64encode(p.read_bytes()).decode()
                parts.append(f'<img alt="{_e(p.name)}" title="{_e(p.name)}" src="data:image/png;base64,{data}">')
            parts.append("</details>")
        parts.append("</div>")
    parts.append("</div>")
    return "\n".join(parts)


class ReportPlugin:
    @pytest.hookimpl(hookwrapper=True, trylast=True)
    def pytest_runtest_makereport(self, item, call):
        # In the page's table, an exercise not started yet is "skipped", not a wall of red failures.
        report = (yield).get_result()
        if getattr(report, "kata_status", None) == "not started":
            report.outcome = "skipped"
            report.longrepr = (str(item.path), item.location[1] or 0, f"not started: {item.kata[2]}")

    def pytest_html_report_title(self, report):
        report.title = f"{course.load().title}: progress report"

    def pytest_html_results_summary(self, prefix, summary, postfix, session):
        prefix.append(overview(session.config.kata_results, impl.impl_name()))


def build(out: str = "report/report.html") -> int:
    from . import runner

    c = course.load()
    out_path = Path(out).resolve()
    print(f"Running the visible and hidden suites of every module (IMPL={impl.impl_name()})...", flush=True)
    try:
        runner.run(list(c.modules), True, f"--html={out_path}", "--self-contained-html",
                   quiet=True, plugins=(ReportPlugin(),))
    except RuntimeError as e:
        print(f"the report could not be made: {e}")
        return 1
    print(f"Report written: {out_path}\nOpen it in a browser: file://{out_path}")
    return 0
