"""Aggregation: per check -> per function -> per part -> total (points from contract.py)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from autograder.contract import FUNCTIONS, PARTS, GradedFunction

# What a student reads in the table for each way a check can end.
STATUSES = ("passed", "failed", "not attempted", "timed out", "crashed")
STATUS_OF_FAILURE = {
    "not_attempted": "not attempted", "missing_function": "not attempted",
    "missing_module": "not attempted", "timeout": "timed out",
    "exception": "crashed", "memory": "crashed", "exited": "crashed", "signalled": "crashed",
    "syntax_error": "crashed", "import_error": "crashed", "protocol": "crashed",
    "unserialisable": "failed",
}


@dataclass(frozen=True)
class CheckResult:
    name: str
    function: str
    max_score: float
    score: float
    status: str          # one of STATUSES
    feedback: str
    visible: bool


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


def function_scores(results: list[CheckResult]) -> list[FunctionScore]:
    """Every graded function, in the contract's order, with its checks' scores added up."""
    scores = []
    for f in FUNCTIONS:
        mine = [r for r in results if r.function == f.qualname]
        scores.append(FunctionScore(
            f, round(sum(r.score for r in mine), 6), round(sum(r.max_score for r in mine), 6),
            Counter({s: sum(r.status == s for r in mine) for s in STATUSES})))
    return scores


def part_scores(results: list[CheckResult]) -> dict[str, tuple[float, float]]:
    """part module -> (score, max score); the bonus counts inside its part."""
    parts = {}
    for part in PARTS:
        mine = [s for s in function_scores(results) if s.function.module == part]
        parts[part] = (round(sum(s.score for s in mine), 6), round(sum(s.max_score for s in mine), 6))
    return parts


def total(results: list[CheckResult]) -> tuple[float, float]:
    """(score, max score) over all checks."""
    return round(sum(r.score for r in results), 6), round(sum(r.max_score for r in results), 6)
