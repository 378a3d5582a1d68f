"""Per-student feedback as Markdown: a table per function, then every failed check's feedback."""

from __future__ import annotations

import re

from autograder.grade import GradeReport
from autograder.registry import Course
from autograder.score import function_scores, part_scores, total

_BACKTICKS = re.compile(r"`+")


def cell(text: str) -> str:
    """Text safe inside one Markdown table cell (no line breaks, no column separators, no HTML)."""
    text = " ".join(str(text).split())
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def fenced(text: str) -> str:
    """A code block holding `text` verbatim: the fence is longer than any backtick run inside."""
    longest = max((len(m.group()) for m in _BACKTICKS.finditer(text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{text.rstrip()}\n{fence}"


def feedback_markdown(course: Course, report: GradeReport, student: str | None = None, *,
                      status: str | None = None) -> str:
    """The feedback file for one submission; `student` names whose it is in the heading."""
    score, max_score = total(report.results)
    lines = [f"# Autograder feedback: {cell(student or report.submission)}", ""]
    lines.append(f"**Total: {score:g} / {max_score:g}**" + (f" (status: {status})" if status else ""))
    lines.append("")
    if report.messages:
        lines += ["## Notes on the submission", ""]
        lines += [f"- {cell(m)}" for m in report.messages]
        lines.append("")

    lines += ["## Scores by function", "", "| function | score | result | checks passed |",
              "| --- | ---: | --- | ---: |"]
    for s in function_scores(course, report.results):
        if not s.max_score:
            continue
        name = s.function.qualname + (" (bonus)" if s.function.bonus else "")
        passed, checks = s.counts["passed"], sum(s.counts.values())
        lines.append(f"| `{name}` | {s.score:g} / {s.max_score:g} | {s.summary} | {passed} / {checks} |")
    for part, (part_score, part_max) in part_scores(course, report.results).items():
        if part_max:
            lines.append(f"| **{part}** | **{part_score:g} / {part_max:g}** | | |")
    lines.append(f"| **total** | **{score:g} / {max_score:g}** | | |")
    lines.append("")

    failed = [r for r in report.results if r.status != "passed"]
    if failed:
        lines += ["## Checks that did not pass", ""]
        for r in failed:
            hidden = "" if r.visible else ", hidden check"
            lines.append(f"### ✗ {cell(r.name)}")
            lines.append("")
            lines.append(f"*{r.status}, {r.score:g} / {r.max_score:g} points{hidden}*")
            lines.append("")
            if r.feedback.strip():
                lines += [fenced(r.feedback), ""]
    elif report.results:
        lines += ["Every check passed.", ""]
    if report.output:
        lines += ["## What your code printed", ""]
        for module, text in report.output.items():
            lines += [f"`{cell(module)}`", "", fenced(text), ""]
    return "\n".join(lines)
