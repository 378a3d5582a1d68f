"""Score: per check -> per function -> per part -> total (points from the course's registry)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Sequence

from autograder.registry import Course, GradedFunction

# What a student reads in the table for each way a check can end.
STATUSES = ("passed", "failed", "not attempted", "timed out", "crashed")


@dataclass(frozen=True)
class CheckResult:
    name: str
    function: str        # the graded function's qualname (results are plain data: cached, sent)
    max_score: float
    score: float
    status: str          # one of STATUSES
    feedback: str
    visible: bool
    printed: str = ""    # what the student's code printed during the check's calls (capped)


@dataclass
class GradeReport:
    """A submission's scored checks: what every report (terminal, Markdown, Gradescope, the
    gradebook) is made from, and what the cache keeps."""

    submission: str
    kind: str
    messages: list[str]
    results: list[CheckResult]
    execution_time: float = 0.0
    metadata: dict[str, Any] = field(default_factory=dict)
    output: dict[str, str] = field(default_factory=dict)  # what importing each module printed (capped)


@dataclass(frozen=True)
class FunctionScore:
    function: GradedFunction
    score: float
    max_score: float
    counts: Counter

    @property
    def summary(self) -> str:
        """One word for the function: passed, partial, failed, not attempted, timed out, crashed."""
        if self.counts["passed"] == sum(self.counts.values()):
            return "passed"
        for status in ("not attempted", "timed out", "crashed"):
            if self.counts[status] == sum(self.counts.values()):
                return status
        return "partial" if self.score > 0 else "failed"


def function_scores(course: Course, results: Sequence[CheckResult]) -> list[FunctionScore]:
    """Every graded function, in the course's order, with its checks' scores added up."""
    by_function: dict[str, list[CheckResult]] = {}
    for r in results:
        by_function.setdefault(r.function, []).append(r)
    scores = []
    for f in course.functions:
        mine = by_function.get(f.qualname, [])
        scores.append(FunctionScore(
            f, round(sum(r.score for r in mine), 6), round(sum(r.max_score for r in mine), 6),
            Counter({s: sum(r.status == s for r in mine) for s in STATUSES})))
    return scores


def part_scores(course: Course, results: Sequence[CheckResult]) -> dict[str, tuple[float, float]]:
    """part module -> (score, max score); the bonus counts inside its part."""
    parts = {}
    scores = function_scores(course, results)
    for part in course.parts:
        mine = [s for s in scores if s.function.part is part]
        parts[part.module] = (round(sum(s.score for s in mine), 6), round(sum(s.max_score for s in mine), 6))
    return parts


def total(results: Sequence[CheckResult]) -> tuple[float, float]:
    """(score, max score) over all checks."""
    return round(sum(r.score for r in results), 6), round(sum(r.max_score for r in results), 6)
