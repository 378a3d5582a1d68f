"""The class gradebook (CSV) and the class summary data: score distribution and per-check failure rates."""

from __future__ import annotations

import csv
import os
import statistics
from dataclasses import dataclass, field
from pathlib import Path

from autograder.grade import GradeReport
from autograder.registry import Course
from autograder.score import function_scores, part_scores, total

ROW_STATUSES = ("graded", "error", "rejected", "empty")


@dataclass
class Row:
    """One student's line of the gradebook (students of a group submission get a row each)."""

    student_id: str
    report: GradeReport
    status: str                  # one of ROW_STATUSES
    name: str = ""
    email: str = ""
    submission: str = ""         # what was graded: a file or folder name
    note: str = ""               # why it is an error, rejected or empty
    cached: bool = False         # reused from the cache rather than graded in this run
    group: str = ""              # the same for the members of one group submission

    @property
    def score(self) -> float:
        return total(self.report.results)[0]

    @property
    def max_score(self) -> float:
        return total(self.report.results)[1]


def status_of(kind: str) -> str:
    """A gradebook status for a GradeReport.kind (or "error")."""
    return kind if kind in ("error", "rejected", "empty") else "graded"


def columns(course: Course) -> list[str]:
    return (["student_id", "name", "email", "submission", "status"]
            + [f.qualname for f in course.functions] + list(course.modules) + ["total", "max", "note"])


def _number(value: float) -> str:
    return f"{value:g}"


def row_values(course: Course, row: Row) -> dict[str, str]:
    values = {"student_id": row.student_id, "name": row.name, "email": row.email,
              "submission": row.submission, "status": row.status}
    for s in function_scores(course, row.report.results):
        values[s.function.qualname] = _number(s.score)
    for part, (score, _) in part_scores(course, row.report.results).items():
        values[part] = _number(score)
    score, max_score = total(row.report.results)
    values.update(total=_number(score), max=_number(max_score), note=" ".join(row.note.split()))
    return values


def _spreadsheet_safe(text: str) -> str:
    """Keep a student-controlled cell (a name, a message) from being read as a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def write_gradebook(course: Course, rows: list[Row], path: Path) -> None:
    """gradebook.csv: one row per student, sorted by student id; written atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    numeric = {f.qualname for f in course.functions} | set(course.modules) | {"total", "max"}
    with open(tmp, "w", newline="", encoding="utf-8") as file:
        writer = csv.DictWriter(file, fieldnames=columns(course))
        writer.writeheader()
        for row in sorted(rows, key=lambda r: r.student_id):
            values = row_values(course, row)
            writer.writerow({k: v if k in numeric else _spreadsheet_safe(v) for k, v in values.items()})
    os.replace(tmp, path)


def read_gradebook(path: Path) -> dict[str, dict[str, str]]:
    """student id -> its row, as strings (for tests and scripts)."""
    with open(path, newline="", encoding="utf-8") as file:
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


def _distinct_reports(rows: list[Row]) -> list[GradeReport]:
    """Each graded submission once, even when a group's members share it."""
    seen, reports = set(), []
    for row in rows:
        key = row.group or id(row.report)
        if row.status == "graded" and key not in seen:
            seen.add(key)
            reports.append(row.report)
    return reports


def class_summary(course: Course, rows: list[Row]) -> ClassSummary:
    """Statistics over the submissions graded without error (not the empty, rejected or failed)."""
    statuses = {s: sum(r.status == s for r in rows) for s in ROW_STATUSES}
    reports = _distinct_reports(rows)
    max_score = max((r.max_score for r in rows), default=0.0)
    summary = ClassSummary(len(rows), statuses, [total(r.results)[0] for r in reports], max_score)

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
