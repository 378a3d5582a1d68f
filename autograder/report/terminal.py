"""The readable terminal report: a table per function, then every failed check's feedback.

Everything a student controls (the submission's name, notes on what was found, feedback with
exception text, printed output) is printed through the sanitiser, so no escape sequence reaches
the terminal and no [markup] in it is obeyed.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

from autograder.registry import Course
from autograder.report.sanitize import plain, terminal
from autograder.score import STATUSES, function_scores, part_scores, total

if TYPE_CHECKING:  # (grade-all's console comes up without grading's modules, or numpy)
    from autograder.score import GradeReport


def function_table(course: Course, report: GradeReport, title: str | None = None) -> Table:
    table = Table(title=title or f"Autograder report: {terminal(report.submission)}", title_justify="left")
    table.add_column("function", no_wrap=True)
    table.add_column("score", justify="right")
    for status in STATUSES:
        table.add_column(status, justify="right")
    for s in function_scores(course, report.results):
        if not s.max_score:
            continue
        style = "green" if s.summary == "passed" else ("red" if s.score == 0 else "yellow")
        table.add_row(s.function.qualname + (" (bonus)" if s.function.bonus else ""),
                      f"[{style}]{s.score:g} / {s.max_score:g}[/]",
                      *[str(s.counts[status] or "") for status in STATUSES])
    parts = part_scores(course, report.results)
    table.add_section()
    for part, (score, max_score) in parts.items():
        if max_score:
            table.add_row(f"[bold]{part}[/]", f"{score:g} / {max_score:g}", *[""] * len(STATUSES))
    score, max_score = total(report.results)
    table.add_row("[bold]total[/]", f"[bold]{score:g} / {max_score:g}[/]", *[""] * len(STATUSES))
    return table


def wide_console() -> Console:
    """The terminal, or 120 columns when output goes to a file or CI log (rich's default is 80)."""
    return Console() if sys.stdout.isatty() else Console(width=120)


def print_report(course: Course, report: GradeReport, console: Console | None = None) -> None:
    console = console or wide_console()
    for message in report.messages:
        console.print(f"[bold]note:[/] {terminal(message)}", highlight=False)
    console.print(function_table(course, report))
    failed = [r for r in report.results if r.status != "passed"]
    if failed:
        console.rule("feedback on the checks that did not pass")
    for r in failed:
        console.print(f"[bold red]✗ {terminal(r.name)}[/] [dim]({r.status}, 0/{r.max_score:g})[/]", highlight=False)
        console.print(plain(r.feedback), markup=False, highlight=False)
        console.print()
    for module, text in report.output.items():  # behind a margin: it can never pass for a report line
        console.rule(f"what the student's code printed ({terminal(module)}.py), capped")
        console.print("\n".join(f"  | {line}" for line in plain(text).splitlines()), markup=False, highlight=False)
