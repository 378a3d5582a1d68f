"""What grade-all writes into the reports folder, besides the gradebook and the summary:

    students/<folder>/feedback.md          every check (the instructor's)
    students/<folder>/feedback_student.md  visible checks only (safe to hand out before publishing)
    students/<folder>/feedback.html        feedback.md as a page (summary.html links to it)
    students/<folder>/results.json         Gradescope's format
    students/index.csv                     student id -> folder (ids keep their Unicode; folders
                                           are file-safe names of them)
    removed/<folder>                       reports of students no longer in the class
    canvas.csv, similarity.html

Every folder is made with mode 0700 and every file written atomically (report/write.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from autograder.batch.settings import Settings
from autograder.report.canvas import canvas_csv
from autograder.report.feedback_html import feedback_page
from autograder.report.gradebook import Row, csv_text
from autograder.report.gradescope import results_json
from autograder.report.markdown import feedback_markdown
from autograder.report.sanitize import csv_cell, one_line
from autograder.report.similarity_html import similarity_html
from autograder.report.write import make_folder, move_aside, write_text

STUDENTS, REMOVED, INDEX = "students", "removed", "index.csv"


def write_student(course: Any, reports: Path, row: Row) -> None:
    """The student's four files, in their own folder."""
    import json

    folder = make_folder(make_folder(reports / STUDENTS) / row.folder)
    who = row.student_id + (f" ({row.name})" if row.name else "")
    full = feedback_markdown(course, row.report, who, status=row.status, row=row)
    if _unchanged(folder / "feedback.md", full):  # a cached student's files, as last written
        return
    write_text(folder / "feedback_student.md",
               feedback_markdown(course, row.report, who, status=row.status, row=row, visible_only=True))
    write_text(folder / "feedback.html", feedback_page(full, f"Feedback: {one_line(who)}"))
    write_text(folder / "results.json", json.dumps(results_json(course, row.report), indent=2, allow_nan=False))
    write_text(folder / "feedback.md", full)  # last: it vouches for the other three


def _unchanged(path: Path, text: str) -> bool:
    """Whether `path` (a regular file of ours) already holds exactly `text`."""
    try:
        return not path.is_symlink() and path.read_text(encoding="utf-8") == text
    except OSError:
        return False


def remove_departed(reports: Path, folders: set[str]) -> list[str]:
    """Move the report folders of students no longer in the class to reports/removed/."""
    students = make_folder(reports / STUDENTS)
    departed = sorted(p.name for p in students.iterdir() if p.is_dir() and not p.is_symlink() and p.name not in folders)
    if departed:
        removed = make_folder(reports / REMOVED)
        for name in departed:
            move_aside(students / name, removed)
    return departed


def write_ids(reports: Path, rows: list[Row]) -> None:
    """students/index.csv: each student id and the folder holding their reports."""
    lines = [[csv_cell(r.student_id), csv_cell(r.folder), csv_cell(r.name)] for r in sorted(rows, key=lambda r: r.folder)]
    write_text(make_folder(reports / STUDENTS) / INDEX, csv_text(["student_id", "folder", "name"], lines))


def write_canvas(course: Any, rows: list[Row], path: Path, settings: Settings, bom: bool) -> int:
    """canvas.csv; returns how many rows it leaves out (status error)."""
    c = settings.canvas
    text, left_out = canvas_csv(rows, c.assignment, course.max_score, section=c.section, login=c.login_id,
                                points=c.points)
    write_text(path, text, bom=bom)
    return left_out


def write_similarity(path: Path, pairs: list[Any], rows: list[Row], sources: dict[str, dict[str, str]],
                     settings: Settings) -> None:
    names: dict[str, list[str]] = {}
    for row in rows:
        if row.group:
            names.setdefault(row.group, []).append(row.student_id)
    labels = {group: ", ".join(ids) for group, ids in names.items()}
    compared = len({r.group for r in rows if r.status == "graded" and r.group})
    write_text(path, similarity_html(pairs, labels, sources, settings.similarity_threshold, compared))
