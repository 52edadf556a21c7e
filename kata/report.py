"""The HTML progress report: one self-contained pytest-html page, with the kata's overview on top.

It runs every module's visible and hidden suites against IMPL in one pytest session (reading only;
nothing in exercises/ is written), then adds: when and from what it was made, progress per module
and exercise, the completion checklist of the learning path, hidden results by property name,
hints used, quiz scores and the experiments' plots. Every string is HTML-escaped."""
from __future__ import annotations

import base64
import contextlib
import html
import io
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
.kata ul.check{list-style:none;padding-left:0}.kata img{max-width:880px;width:100%;border:1px solid #ddd;margin:6px 0}
#environment-header,#environment{display:none}
</style>
"""


def _e(text) -> str:
    return html.escape(str(text), quote=True)


def _bar(done: int, total: int) -> str:
    pct = 0 if not total else round(100 * done / total)
    return f'<span class="bar" title="{pct}%"><span style="width:{pct}%"></span></span> {done}/{total}'


def completion(module: course.Module, by: dict, state: dict) -> list[tuple[bool, str]]:
    """The module's checklist: each exercise implemented (visible and hidden pass), quiz, experiments."""
    items = []
    for ex in module.exercises:
        rs = [r for s in by.get((module.name, ex.name), {}).values() for r in s]
        items.append((bool(rs) and exercise_status(rs) == "passing",
                      f"Implement {ex.name} from scratch ({ex.summary}): visible and hidden tests pass"))
    q = state["quiz"].get(module.name)
    frac = course.load().quiz_pass_fraction
    items.append((bool(q) and q.get("best", 0) >= frac * q.get("total", 1),
                  f"Quiz passed (at least {frac:.0%}): make quiz-{module.name}"))
    if module.experiments:
        ran = all(any(results_dir(module.name).glob(f"{n}*.png")) for n in module.experiments)
        items.append((ran, f"Ran the experiments: make exp-{module.name}"))
    return items


def overview(results, impl_label: str) -> str:
    c = course.load()
    state = progress.load()
    by = summarize(results)
    parts = [STYLE, '<div class="kata">']
    parts.append(f'<p class="meta">Made {_e(time.strftime("%Y-%m-%d %H:%M:%S %Z"))} from implementation '
                 f'<b>{_e(impl_label)}</b>. Visible and hidden suites of every module; hidden tests are '
                 f'listed by the property they check.</p>')
    all_ex = [(m, ex) for m in c.modules for ex in m.exercises]
    done = sum(exercise_status([r for s in by.get((m.name, ex.name), {}).values() for r in s]) == "passing"
               for m, ex in all_ex)
    parts.append(f"<h2>Progress {_bar(done, len(all_ex))} exercises</h2>")
    for m in c.modules:
        checklist = completion(m, by, state)
        parts.append(f'<div class="module"><h2>{_e(m.title)} <small>({m.hours:g} h)</small> '
                     f'{_bar(sum(ok for ok, _ in checklist), len(checklist))} checklist items</h2>')
        parts.append(f"<p>{_e(m.summary)}</p>")
        parts.append('<table class="ex"><tr><th>exercise</th><th>status</th><th>visible</th>'
                     '<th>hidden</th><th>hints used</th></tr>')
        hidden_failures = []
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
                         f"<td>{cells[0]}</td><td>{cells[1]}</td><td>{_e(f'{hints} level(s)' if hints else '–')}</td></tr>")
            hidden_failures += [r for r in per.get("hidden", []) if r.status == "failing"]
        parts.append("</table>")
        broken = next((r for r in results if r.module == m.name and r.status == "broken"), None)
        if broken:
            parts.append(f'<p class="broken">The module does not import: {_e(broken.short)}</p>')
        if hidden_failures:
            parts.append("<p><b>Hidden properties that do not hold yet:</b></p><ul>")
            parts += [f"<li>{_e(r.exercise)}: <i>{_e(r.prop)}</i>: {_e(r.short)}</li>" for r in hidden_failures]
            parts.append("</ul>")
        q = state["quiz"].get(m.name)
        quiz = (f"last {q['score']}/{q['total']}, best {q['best']}/{q['total']} ({q['when']})"
                if q else "not taken yet")
        parts.append(f"<p>Quiz: {_e(quiz)}</p>")
        parts.append('<ul class="check">' + "".join(
            f"<li>{'☑' if ok else '☐'} {_e(text)}</li>" for ok, text in checklist) + "</ul>")
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
    def __init__(self, config_holder: list):
        self.holder = config_holder

    def pytest_configure(self, config):
        self.holder.append(config)

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
    c = course.load()
    out_path = Path(out).resolve()
    paths = [str(p) for m in c.modules for p in (m.visible_tests, m.hidden_tests) if p.is_dir()]
    holder: list = []
    print(f"Running the visible and hidden suites of every module (IMPL={impl.impl_name()})...")
    log = io.StringIO()
    with contextlib.redirect_stdout(log):
        code = pytest.main([*paths, "-q", "--tb=no", "-rN", "--no-header", "-p", "no:cacheprovider",
                            f"--html={out_path}", "--self-contained-html"], plugins=[ReportPlugin(holder)])
    if code not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        print(log.getvalue()[-3000:])
        print(f"the report could not be made (pytest exit {code})")
        return int(code)
    print(f"Report written: {out_path}\nOpen it in a browser: file://{out_path}")
    return 0
