"""Per-student feedback as Markdown: a table per function, then every failed check's feedback.

grade-all writes two files per student: `feedback.md` for the instructor (every check, hidden
ones too) and `feedback_student.md` (visible checks only: no hidden input, expected value or
point appears in it, so it can be handed out before grades are published). Lateness and the
course staff's overrides, with their comments, appear in both. An empty submission gets a few
lines saying what was found and what was expected. Every student-controlled string goes through
the sanitiser (autograder/report/sanitize.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from autograder.registry import Course
from autograder.report.sanitize import fenced, markdown
from autograder.score import CheckResult, function_scores, part_scores, total

if TYPE_CHECKING:  # (reports are written without grading's modules, or numpy)
    from autograder.score import GradeReport


def cell(text: str) -> str:
    """Text safe inside one Markdown table cell (one line; nothing in it is markup)."""
    return markdown(text)


def _expected(course: Course) -> str:
    files = ", ".join(f"`{p.file}`" for p in course.parts)
    return f"{files} (any of them), or one notebook (`.ipynb`), or a `.zip` of either"


def empty_feedback(course: Course, report: GradeReport, who: str, row=None) -> str:
    """The few lines an empty submission gets: what was found and what was expected (and any
    adjustment the course staff made)."""
    lines = [f"# Autograder feedback: {cell(who)}", "", _total_line(row, report.results, False, "empty"),
             "", "Nothing gradable was found in this submission.", ""]
    lines += [f"- Found: {cell(m)}" for m in report.messages] or ["- Found: nothing"]
    lines += [f"- Expected: {_expected(course)}", ""]
    return "\n".join(lines + _adjustments(row))


def _adjustments(row) -> list[str]:
    """Lateness and overrides, for any report that has a row."""
    lines = []
    if row is not None and row.late is not None:
        lines += ["## Submission time", "", f"- {cell(row.late.describe())}", ""]
    if row is not None and row.final is not None and row.final.changes:
        lines += ["## Adjustments by the course staff", ""]
        lines += [f"- {cell(change)}" for change in row.final.changes] + [""]
    return lines


def _total_line(row, results: Sequence[CheckResult], visible_only: bool, status: str | None) -> str:
    state = f" (status: {cell(status)})" if status else ""
    if visible_only:
        score, max_score = total(results)
        return f"**Visible checks: {score:g} / {max_score:g}**{state}"
    if row is None or row.final is None:
        score, max_score = total(results)
        return f"**Total: {score:g} / {max_score:g}**{state}"
    f = row.final
    penalty = f", late penalty -{f.penalty_points:g}" if f.penalty_points else ""
    return (f"**Total: {f.total:g} / {f.max_total:g}**{state}: points {f.points:g} / {f.max_points:g}, "
            f"bonus {f.bonus:g} / {f.max_bonus:g}{penalty}")


def _function_table(course: Course, results: Sequence[CheckResult], row, visible_only: bool) -> list[str]:
    lines = ["## Scores by function", "", "| function | score | result | checks passed |",
             "| --- | ---: | --- | ---: |"]
    overridden = {} if row is None or row.final is None or visible_only else row.final.functions
    for s in function_scores(course, results):
        if not s.max_score:
            continue
        name = s.function.qualname + (" (bonus)" if s.function.bonus else "")
        passed, checks = s.counts["passed"], sum(s.counts.values())
        score = overridden.get(s.function.qualname, s.score)
        shown = f"{score:g} / {s.max_score:g}" + (f" (override; checks gave {s.score:g})" if score != s.score else "")
        lines.append(f"| `{name}` | {shown} | {s.summary} | {passed} / {checks} |")
    for part, (part_score, part_max) in part_scores(course, results).items():
        if part_max:
            lines.append(f"| **{part}** | **{part_score:g} / {part_max:g}** | | |")
    score, max_score = total(results)
    lines += [f"| **{'visible checks' if visible_only else 'checks'}** | **{score:g} / {max_score:g}** | | |", ""]
    return lines


def _failed_checks(results: Sequence[CheckResult]) -> list[str]:
    failed = [r for r in results if r.status != "passed"]
    if not failed:
        return ["Every check passed.", ""] if results else []
    lines = ["## Checks that did not pass", ""]
    for r in failed:
        hidden = "" if r.visible else ", hidden check"
        # A check's name is the course's, not the student's: no escaping needed.
        lines += [f"### ✗ {r.name}", "", f"*{r.status}, {r.score:g} / {r.max_score:g} points{hidden}*", ""]
        if r.feedback.strip():
            lines += [fenced(r.feedback), ""]
    return lines


def feedback_markdown(course: Course, report: GradeReport, student: str | None = None, *,
                      status: str | None = None, row=None, visible_only: bool = False) -> str:
    """The feedback file for one submission; `student` names whose it is in the heading; `row`
    (a gradebook Row) adds its lateness, overrides and final total; `visible_only` leaves out
    every hidden check (the student's copy)."""
    who = student or report.submission
    if status == "empty" or report.kind == "empty":
        return empty_feedback(course, report, who, row)
    results = [r for r in report.results if r.visible or not visible_only]
    lines = [f"# Autograder feedback: {cell(who)}", "", _total_line(row, results, visible_only, status), ""]
    if visible_only:
        hidden = sum(r.max_score for r in report.results if not r.visible)
        if hidden:
            lines += [f"Hidden checks ({hidden:g} points) are graded too; their results appear once "
                      "grades are published.", ""]
    if report.messages:
        lines += ["## Notes on the submission", ""] + [f"- {cell(m)}" for m in report.messages] + [""]
    lines += _adjustments(row) + _function_table(course, results, row, visible_only) + _failed_checks(results)
    if report.output:
        lines += ["## What your code printed", ""]
        for module, text in report.output.items():
            lines += [f"`{module}`", "", fenced(text), ""]  # a part module: the course's name
    return "\n".join(lines)
