"""What happens to a graded report's points afterwards: the course staff's overrides and the late
penalty, giving the final points (out of the course's 100), bonus and total every report shows.

Order: an override of a function replaces that function's points; the late penalty then takes its
fraction of points and bonus alike; an override of `total` is the staff's last word and replaces
the total after everything (no penalty on top).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Sequence

from autograder.registry import Course
from autograder.score import CheckResult, function_scores

TOTAL = "total"


@dataclass(frozen=True)
class Late:
    """When a submission came in and what its lateness costs (penalty: a fraction of the score)."""

    submitted: dt.datetime
    source: str                  # "export" (its :created_at) or "file time" (newest file inside)
    deadline: dt.datetime | None  # the student's own, extension included (None: no deadline set)
    days: float                  # 0 when on time (grace included)
    penalty: float
    extension: str = ""          # how the deadline was extended, if it was

    @property
    def is_late(self) -> bool:
        return self.days > 0

    def describe(self) -> str:
        """"1.25 days late, penalty 20%" (or "on time"), with the time and its source (the time
        alone when there is no deadline)."""
        when = f"submitted {self.submitted.isoformat(' ', 'minutes')} ({self.source})"
        extended = f", {self.extension}" if self.extension else ""
        if self.deadline is None:
            return when
        if not self.is_late:
            return f"on time: {when}{extended}"
        return (f"{self.days:.2f} days late, penalty {100 * self.penalty:g}%: {when}, deadline "
                f"{self.deadline.isoformat(' ', 'minutes')}{extended}")


@dataclass(frozen=True)
class Override:
    """One line of overrides.csv: a function's (or the total's) new points, and why."""

    student_id: str
    target: str                  # a function's qualname, or "total"
    points: float
    comment: str
    who: str = ""
    line: int = 0                # where it is in overrides.csv

    def describe(self, old: float | None = None) -> str:
        change = f"{old:g} → {self.points:g}" if old is not None else f"{self.points:g}"
        by = f" (by {self.who})" if self.who else ""
        return f"{self.target}: {change}: {self.comment}{by}"


@dataclass
class Final:
    """The numbers a report shows for one row."""

    functions: dict[str, float]  # qualname -> points, overrides applied
    raw_points: float            # before the late penalty
    raw_bonus: float
    max_points: float
    max_bonus: float
    penalty_points: float = 0.0
    points: float = 0.0
    bonus: float = 0.0
    total: float = 0.0
    changes: list[str] = field(default_factory=list)  # each override, described

    @property
    def max_total(self) -> float:
        return round(self.max_points + self.max_bonus, 6)


def final_scores(course: Course, results: Sequence[CheckResult], overrides: Sequence[Override] = (),
                 late: Late | None = None) -> Final:
    """The row's final numbers from its check results, overrides and late penalty."""
    scores = function_scores(course, results)
    functions = {s.function.qualname: s.score for s in scores}
    changes = []
    for o in overrides:
        if o.target != TOTAL:
            changes.append(o.describe(functions.get(o.target)))
            functions[o.target] = o.points
    bonus = {f.qualname for f in course.functions if f.bonus}
    raw_points = round(sum(v for f, v in functions.items() if f not in bonus), 6)
    raw_bonus = round(sum(v for f, v in functions.items() if f in bonus), 6)
    final = Final(functions, raw_points, raw_bonus,
                  round(sum(s.max_score for s in scores if s.function.qualname not in bonus), 6),
                  round(sum(s.max_score for s in scores if s.function.qualname in bonus), 6))
    keep = 1.0 - (late.penalty if late else 0.0)
    final.points, final.bonus = round(raw_points * keep, 6), round(raw_bonus * keep, 6)
    final.penalty_points = round(raw_points + raw_bonus - final.points - final.bonus, 6)
    final.total = round(final.points + final.bonus, 6)
    for o in overrides:
        if o.target == TOTAL:
            changes.append(o.describe(final.total))
            final.total = o.points
            final.points = min(o.points, final.max_points)
            final.bonus = round(o.points - final.points, 6)
    final.changes = changes
    return final
