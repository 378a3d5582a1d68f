"""overrides.csv: the course staff's manual adjustments and regrades, applied after grading.

One line per adjustment, with a header: `student_id,function,points,comment,who`. `function` is a
graded function (`losses.softmax`, or just `softmax`) or `total`; `points` its new points; the
comment says why and is shown in every report, with who made it. The file lies beside the
submissions (or is given with `--overrides`) and is read on every run, so an adjustment survives
any re-run or regrade. A line naming an unknown student or function is an error that names it.
"""

from __future__ import annotations

import csv
import difflib
from collections.abc import Iterable
from pathlib import Path

from autograder.batch.settings import SettingsError
from autograder.registry import Course
from autograder.report.adjust import TOTAL, Override

OVERRIDES_FILE = "overrides.csv"
COLUMNS = ("student_id", "function", "points", "comment", "who")


def find_overrides(submissions: Path) -> Path | None:
    """overrides.csv beside the submissions: inside their folder, or beside the export's .zip."""
    folder = submissions if submissions.is_dir() else submissions.parent
    path = folder / OVERRIDES_FILE
    return path if path.is_file() else None


def read_overrides(path: Path | None, course: Course) -> list[Override]:
    """Every override in `path` (None: none), each checked against the course."""
    if path is None:
        return []
    try:
        with open(path, newline="", encoding="utf-8-sig") as file:
            reader = csv.DictReader(file)
            missing = [c for c in COLUMNS[:4] if c not in (reader.fieldnames or [])]
            if missing:
                raise SettingsError(f"{path.name}: no column {missing[0]!r} (the header is "
                                    f"{','.join(COLUMNS)})")
            overrides = [_override(reader.line_num, row, course, path.name) for row in reader
                         if any((v or "").strip() for v in row.values() if isinstance(v, str))]
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise SettingsError(f"cannot read {path}: {error}") from None
    _no_duplicates(overrides, path.name)
    return overrides


def _override(line: int, row: dict[str, str], course: Course, where: str) -> Override:
    at = f"{where} line {line}"
    student, target = (row.get("student_id") or "").strip(), (row.get("function") or "").strip()
    if not student:
        raise SettingsError(f"{at}: no student_id")
    if target.lower() == TOTAL:
        target, top = TOTAL, course.max_score + course.bonus_score
    else:
        try:
            function = course.function(target)
        except KeyError:
            near = difflib.get_close_matches(target, [f.qualname for f in course.functions], n=1)
            hint = f"did you mean {near[0]}" if near else f"a graded function such as {course.functions[0].qualname}"
            raise SettingsError(f"{at}: unknown function {target!r} ({hint}, or total?)") from None
        target, top = function.qualname, function.points
    try:
        points = float((row.get("points") or "").strip())
    except ValueError:
        raise SettingsError(f"{at}: points {row.get('points')!r} is not a number") from None
    if not 0 <= points <= top:
        raise SettingsError(f"{at}: {points:g} points for {target} is outside 0 to {top:g}")
    comment = (row.get("comment") or "").strip()
    if not comment:
        raise SettingsError(f"{at}: every override needs a comment saying why (it is shown to the student)")
    return Override(student, target, points, comment, (row.get("who") or "").strip(), line)


def _no_duplicates(overrides: list[Override], where: str) -> None:
    seen: dict[tuple[str, str], int] = {}
    for o in overrides:
        key = (o.student_id, o.target)
        if key in seen:
            raise SettingsError(f"{where} lines {seen[key]} and {o.line}: two overrides of "
                                f"{o.target} for {o.student_id}")
        seen[key] = o.line


def check_students(overrides: Iterable[Override], known: set[str], where: str = OVERRIDES_FILE) -> None:
    """An override for a student who is not in the class is an error naming them."""
    for o in overrides:
        if o.student_id not in known:
            raise SettingsError(f"{where} line {o.line}: unknown student id {o.student_id!r} "
                                "(not in this class)")
