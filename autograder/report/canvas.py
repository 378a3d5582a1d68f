"""canvas.csv: the grades in Canvas's gradebook-import layout.

Canvas reads the columns Student, ID, SIS User ID, SIS Login ID and Section (it matches a row to a
student by ID, else SIS User ID, else SIS Login ID), then one column per assignment, whose header
is the assignment's name (with its Canvas id in parentheses to update an existing one, e.g.
"HW3 (123456)"); a second row "Points Possible" gives the assignment's points. The export's SID
becomes the SIS User ID and its e-mail (or the part before the @, or the SID: [canvas] login_id)
the SIS Login ID; Canvas's own numeric ID is left empty. Rows that could not be graded (status
error) are left out, so an import never turns a grader failure into a 0.
"""

from __future__ import annotations

from autograder.report.gradebook import Row, csv_text
from autograder.report.sanitize import csv_cell

HEADER = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]


def login_id(row: Row, kind: str) -> str:
    """The SIS Login ID Canvas should match: "email", "email-user" (before the @) or "sid"."""
    if kind == "sid":
        return row.sid or row.student_id
    return row.email.split("@")[0] if kind == "email-user" else row.email


def canvas_csv(rows: list[Row], assignment: str, max_points: float, *, section: str = "",
               login: str = "email", points: str = "total") -> tuple[str, int]:
    """The file's text and how many rows were left out (status error). `points`: "total" (the
    bonus included) or "points" (out of the assignment's points alone)."""
    kept = [r for r in rows if r.status != "error"]
    lines = [["    Points Possible", "", "", "", "", f"{max_points:g}"]]  # as Canvas exports it
    for row in sorted(kept, key=lambda r: r.student_id):
        score = row.final.total if points == "total" else row.final.points
        lines.append([csv_cell(row.name or row.student_id), "", csv_cell(row.sid or row.student_id),
                      csv_cell(login_id(row, login)), csv_cell(section), f"{score:g}"])
    return csv_text(HEADER + [csv_cell(assignment)], lines), len(rows) - len(kept)
