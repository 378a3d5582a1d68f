"""grade-all's terminal output: the progress bar, the class tables, every student's line (for a
class of at most 60, or with --table) and, last, who needs attention and why. Ids, names and
notes are printed through the sanitiser."""

from __future__ import annotations

from typing import Any

from autograder.batch.discover import Entry
from autograder.report.attention import attention_list
from autograder.report.gradebook import part_points
from autograder.report.sanitize import plain, terminal

def _with_progress(payloads: Any, count: int, groups: dict[str, list[Entry]], console: Any):
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=False) as progress:
        bar = progress.add_task("grading", total=count)
        for payload in payloads:
            who = ", ".join(e.student_id for e in groups[payload["id"]])
            progress.update(bar, advance=1, description=f"graded {terminal(who[:40])}")
            yield payload
        progress.update(bar, description="grading done")


def print_class_summary(summary: Any, console: Any, top: int = 10) -> None:
    from rich.table import Table

    overview = Table(title="Class summary", title_justify="left")
    for column in ("students", "graded", "error", "rejected", "empty", "mean", "median", "min", "max"):
        overview.add_column(column, justify="right")
    stats = [f"{summary.stat(s):.1f}" if summary.totals else "-" for s in ("mean", "median", "min", "max")]
    overview.add_row(str(summary.students), *[str(summary.statuses[s]) for s in ("graded", "error", "rejected",
                                                                                 "empty")], *stats)
    overview.caption = f"totals out of {summary.max_score:g}"
    console.print(overview)

    functions = Table(title="Scores by function (graded submissions)", title_justify="left")
    functions.add_column("function", no_wrap=True)
    functions.add_column("mean", justify="right")
    functions.add_column("max", justify="right")
    functions.add_column("full marks", justify="right")
    for f in summary.functions:
        functions.add_row(f.qualname + (" (bonus)" if f.bonus else ""), f"{f.mean:.2f}", f"{f.max_score:g}",
                          f"{f.full_marks} / {f.graded}")
    if summary.functions:
        console.print(functions)

    failing = [c for c in summary.checks if c.did_not_pass][:top]
    if failing:
        table = Table(title=f"Most failed checks (top {len(failing)})", title_justify="left")
        table.add_column("check")
        table.add_column("did not pass", justify="right")
        table.add_column("wrong / not attempted / crashed", justify="right")
        for c in failing:
            table.add_row(c.name, f"{100 * c.failure_rate:.0f}% ({c.did_not_pass}/{c.graded})",
                          f"{c.failed} / {c.not_attempted} / {c.crashed}")
        console.print(table)


def print_students(course: Any, rows: list[Any], console: Any) -> None:
    """One line per student: status, points per part, points, bonus, late penalty, total."""
    from rich.table import Table
    from rich.text import Text

    table = Table(title=f"Students ({len(rows)})", title_justify="left")
    for column in ("student", "name", "status"):
        table.add_column(column)
    for column in (*course.modules, "points", "bonus", "late", "total"):
        table.add_column(column, justify="right", no_wrap=True)
    for row in sorted(rows, key=lambda r: r.student_id):
        f = row.final
        parts = part_points(course, f)
        late = f"-{f.penalty_points:g} ({row.late.days:.1f} d)" if row.late and row.late.is_late else ""
        cells = (row.student_id, row.name, row.status, *[f"{parts[m]:g}" for m in course.modules],
                 f"{f.points:g}", f"{f.bonus:g}", late, f"{f.total:g} / {f.max_total:g}")
        # Text cells: rich parses no markup in them (with the number columns unwrapped, a fifth of
        # the table's rendering in a class of 60); plain() still takes out what a terminal acts on.
        table.add_row(*(Text(plain(c)) for c in cells))
    console.print(table)


def print_attention(rows: list[Any], console: Any) -> None:
    """The attention list: who, with what status, and why; or that nobody needs a look."""
    from rich.table import Table

    entries = attention_list(rows)
    if not entries:
        console.print("[bold green]needs attention: nobody[/] (all graded, on time, none overridden or alike)")
        return
    table = Table(title=f"Needs attention ({len(entries)})", title_justify="left", show_lines=False)
    for column in ("student", "name", "status", "why"):
        table.add_column(column, overflow="fold")
    for e in entries:
        table.add_row(terminal(e.row.student_id), terminal(e.row.name), e.tags, terminal(e.why))
    console.print(table)
