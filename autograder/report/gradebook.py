"""The class gradebook (CSV) and the class summary data: score distribution and per-check failure rates."""

from __future__ import annotations

import csv
import io
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from autograder.registry import Course
from autograder.report.adjust import Final, Late, Override, final_scores
from autograder.report.sanitize import csv_cell, one_line
from autograder.report.write import write_text
from autograder.score import function_scores, total

if TYPE_CHECKING:  # (grading itself, and numpy, are not needed to write a gradebook)
    from autograder.score import GradeReport

ROW_STATUSES = ("graded", "error", "rejected", "empty")


@dataclass
class Row:
    """One student's line of the gradebook (students of a group submission get a row each).
    `settle(course)` computes its final numbers once its late penalty and overrides are known."""

    student_id: str
    report: GradeReport
    status: str                  # one of ROW_STATUSES
    name: str = ""
    email: str = ""
    submission: str = ""         # what was graded: a file or folder name
    note: str = ""               # why it is an error, rejected or empty
    cached: bool = False         # reused from the cache rather than graded in this run
    group: str = ""              # the same for the members of one group submission
    folder: str = ""             # the file-safe name of its reports folder
    sid: str = ""
    late: Late | None = None
    overrides: list[Override] = field(default_factory=list)
    similar: list[tuple[str, float]] = field(default_factory=list)  # (other student id, similarity)
    final: Final | None = None

    def settle(self, course: Course) -> Row:
        self.final = final_scores(course, self.report.results, self.overrides, self.late)
        return self

    @property
    def score(self) -> float:
        return self.final.total if self.final else total(self.report.results)[0]

    @property
    def max_score(self) -> float:
        return self.final.max_total if self.final else total(self.report.results)[1]


def status_of(kind: str) -> str:
    """A gradebook status for a GradeReport.kind (or "error")."""
    return kind if kind in ("error", "rejected", "empty") else "graded"


TEXT_COLUMNS = ["student_id", "name", "email", "sid", "submission", "status", "submitted_at", "time_source"]
TAIL_COLUMNS = ["points", "max_points", "bonus", "max_bonus", "days_late", "penalty_percent", "penalty_points",
                "total", "max_total", "overrides", "similar_to", "note", "folder"]
_TEXT_TAIL = {"overrides", "similar_to", "note", "folder"}


def columns(course: Course) -> list[str]:
    return TEXT_COLUMNS + [f.qualname for f in course.functions] + list(course.modules) + TAIL_COLUMNS


def _number(value: float) -> str:
    return f"{value:g}"


def part_points(course: Course, final: Final) -> dict[str, float]:
    """part module -> its points after overrides, before the late penalty (the bonus counts in its part)."""
    return {p.module: round(sum(final.functions.get(f.qualname, 0.0) for f in course.in_part(p)), 6)
            for p in course.parts}


def row_values(course: Course, row: Row) -> dict[str, str]:
    """The row's cells as text (student-controlled ones not yet made spreadsheet-safe)."""
    final = row.final or final_scores(course, row.report.results)
    late = row.late
    values = {"student_id": row.student_id, "name": row.name, "email": row.email, "sid": row.sid,
              "submission": row.submission, "status": row.status,
              "submitted_at": late.submitted.isoformat(" ", "seconds") if late else "",
              "time_source": late.source if late else ""}
    values.update({f: _number(v) for f, v in final.functions.items()})
    values.update({p: _number(v) for p, v in part_points(course, final).items()})
    values.update(points=_number(final.points), max_points=_number(final.max_points), bonus=_number(final.bonus),
                  max_bonus=_number(final.max_bonus), days_late=f"{late.days:.2f}" if late else "",
                  penalty_percent=_number(100 * late.penalty) if late else "",
                  penalty_points=_number(final.penalty_points), total=_number(final.total),
                  max_total=_number(final.max_total), overrides=" | ".join(final.changes),
                  similar_to=", ".join(f"{other} ({100 * score:.0f}%)" for other, score in row.similar),
                  note=one_line(row.note), folder=row.folder)
    return values


def csv_text(header: list[str], lines: list[list[str]]) -> str:
    """CSV text of rows whose cells are already safe."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(lines)
    return buffer.getvalue()


def write_gradebook(course: Course, rows: list[Row], path: Path, *, bom: bool = False) -> None:
    """gradebook.csv: one row per student, sorted by student id; student-controlled cells are
    spreadsheet-safe; points out of the course's 100 with the bonus apart; written atomically."""
    numeric = set(columns(course)) - set(TEXT_COLUMNS) - _TEXT_TAIL
    header = columns(course)
    lines = []
    for row in sorted(rows, key=lambda r: (r.student_id, r.folder)):
        values = row_values(course, row)
        lines.append([values[k] if k in numeric else csv_cell(values[k]) for k in header])
    write_text(path, csv_text(header, lines), bom=bom)


def read_gradebook(path: Path) -> dict[str, dict[str, str]]:
    """student id -> its row, as strings (for tests and scripts)."""
    with open(path, newline="", encoding="utf-8-sig") as file:
        return {r["student_id"]: r for r in csv.DictReader(file)}


# --------------------------------------------------------------------------- class summary


@dataclass
class CheckStats:
    """How one check fared over the graded submissions."""

    name: str
    function: str
    max_score: float
    visible: bool
    graded: int = 0              # submissions it was run on
    failed: int = 0              # wrong answer
    not_attempted: int = 0
    crashed: int = 0             # crashed or timed out

    @property
    def did_not_pass(self) -> int:
        return self.failed + self.not_attempted + self.crashed

    @property
    def failure_rate(self) -> float:
        return self.did_not_pass / self.graded if self.graded else 0.0


@dataclass
class FunctionStats:
    qualname: str
    bonus: bool
    max_score: float
    mean: float
    full_marks: int              # submissions with every point of it
    graded: int


@dataclass
class ClassSummary:
    students: int
    statuses: dict[str, int]
    totals: list[float]          # one per graded submission (a group counts once)
    max_score: float
    functions: list[FunctionStats] = field(default_factory=list)
    checks: list[CheckStats] = field(default_factory=list)  # most failed first

    @property
    def graded(self) -> int:
        return len(self.totals)

    def stat(self, name: str) -> float:
        if not self.totals:
            return 0.0
        return {"mean": statistics.fmean, "median": statistics.median, "min": min, "max": max,
                "stdev": lambda t: statistics.pstdev(t) if len(t) > 1 else 0.0}[name](self.totals)


def _distinct_rows(rows: list[Row]) -> list[Row]:
    """Each graded submission once, even when a group's members share it."""
    seen, distinct = set(), []
    for row in rows:
        key = row.group or id(row.report)
        if row.status == "graded" and key not in seen:
            seen.add(key)
            distinct.append(row)
    return distinct


def class_summary(course: Course, rows: list[Row]) -> ClassSummary:
    """Statistics over the submissions graded without error (not the empty, rejected or failed):
    totals as graded in the end (late penalty and overrides applied); the item analysis (functions
    and checks) as the checks found them."""
    statuses = {s: sum(r.status == s for r in rows) for s in ROW_STATUSES}
    graded = _distinct_rows(rows)
    reports = [r.report for r in graded]
    max_score = max((r.max_score for r in rows), default=0.0)
    summary = ClassSummary(len(rows), statuses, [r.score for r in graded], max_score)

    per_function: dict[str, list] = {}
    for report in reports:
        for s in function_scores(course, report.results):
            per_function.setdefault(s.function.qualname, []).append(s)
    for f in course.functions:
        scores = per_function.get(f.qualname, [])
        top = max((s.max_score for s in scores), default=0.0)
        if not top:
            continue
        summary.functions.append(FunctionStats(
            f.qualname, f.bonus, top, statistics.fmean(s.score for s in scores),
            sum(s.score >= s.max_score for s in scores), len(scores)))

    checks: dict[str, CheckStats] = {}
    for report in reports:
        for r in report.results:
            c = checks.setdefault(r.name, CheckStats(r.name, r.function, r.max_score, r.visible))
            c.graded += 1
            if r.status == "failed":
                c.failed += 1
            elif r.status == "not attempted":
                c.not_attempted += 1
            elif r.status != "passed":
                c.crashed += 1
    order = {f.qualname: i for i, f in enumerate(course.functions)}
    summary.checks = sorted(checks.values(),
                            key=lambda c: (-c.failure_rate, -c.failed, order.get(c.function, 99), c.name))
    return summary
