"""Who needs the instructor's attention, and why: the list that opens summary.html and ends the
terminal output. One entry per student with at least one reason, most serious first."""

from __future__ import annotations

from dataclasses import dataclass

from autograder.report.gradebook import Row

# Most serious first: the order of the list and of each entry's reasons.
REASONS = ("error", "rejected", "empty", "timed out", "zero", "late", "overridden", "similar")


@dataclass
class Attention:
    row: Row
    reasons: list[tuple[str, str]]  # (one of REASONS, why), most serious first

    @property
    def tags(self) -> str:
        return ", ".join(tag for tag, _ in self.reasons)

    @property
    def why(self) -> str:
        return "; ".join(why for _, why in self.reasons)


def reasons_of(row: Row) -> list[tuple[str, str]]:
    """Every reason this row needs a look, with a sentence each."""
    found = []
    if row.status != "graded":
        found.append((row.status, row.note or row.status))
    timed_out = sorted({r.function for r in row.report.results if r.status == "timed out"})
    if timed_out:
        found.append(("timed out", "timed out in " + ", ".join(timed_out)))
    if row.status == "graded" and row.score == 0:
        found.append(("zero", "graded, and scored 0"))
    if row.late and row.late.is_late:
        found.append(("late", f"{row.late.days:.2f} days late, penalty {100 * row.late.penalty:g}%"))
    if row.final and row.final.changes:
        found.append(("overridden", "override " + "; ".join(row.final.changes)))
    if row.similar:
        shown = ", ".join(f"{other} ({100 * score:.0f}%)" for other, score in row.similar[:3])
        more = f" and {len(row.similar) - 3} more" if len(row.similar) > 3 else ""
        found.append(("similar", f"code similar to {shown}{more}"))
    return found


def attention_list(rows: list[Row]) -> list[Attention]:
    """The rows with a reason, the most serious first (then by student id)."""
    entries = [Attention(row, reasons) for row in rows if (reasons := reasons_of(row))]
    return sorted(entries, key=lambda a: (REASONS.index(a.reasons[0][0]), a.row.student_id))
