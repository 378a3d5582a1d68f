"""Gradescope's results.json (the autograder specification's format)."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from autograder.registry import Course
from autograder.report.write import write_text
from autograder.score import function_scores, total

if TYPE_CHECKING:  # (reports are written without grading's modules, or numpy)
    from autograder.score import GradeReport

OUTPUT_CAP = 4000  # characters of feedback per test: enough for a traceback, not a flood


def results_json(course: Course, report: GradeReport) -> dict[str, Any]:
    """The results dict: one test per check, numbered <function>.<check>, hidden checks
    visible after the grades are published; top-level score = the sum of the tests' scores."""
    tests, counters = [], {}
    order = {f.qualname: i + 1 for i, f in enumerate(course.functions)}
    for r in report.results:
        counters[r.function] = counters.get(r.function, 0) + 1
        output = r.feedback
        if r.status not in ("passed", "failed"):  # say how it ended before the details
            output = f"{r.status.capitalize()}. {output}"
        tests.append({
            "name": r.name,
            "number": f"{order[r.function]}.{counters[r.function]}",
            "score": r.score,
            "max_score": r.max_score,
            "status": "passed" if r.status == "passed" else "failed",
            "output": output[:OUTPUT_CAP],
            "visibility": "visible" if r.visible else "after_published",
        })
    output = "\n".join(report.messages + visible_summary(course, report))
    return {
        "score": round(sum(t["score"] for t in tests), 6),
        "execution_time": report.execution_time,
        "output": output,
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": tests,
    }


def visible_summary(course: Course, report: GradeReport) -> list[str]:
    """The top-level output's lines, which students see at once: visible checks only (per function
    too), and how many points hidden checks hold, shown once grades are published."""
    visible = [r for r in report.results if r.visible]
    hidden = round(sum(r.max_score for r in report.results if not r.visible), 6)
    score, max_score = total(visible)
    lines = [f"Visible checks: {score:g}/{max_score:g}"]
    lines += [f"{s.function.qualname}: {s.score:g}/{s.max_score:g} ({s.summary})"
              for s in function_scores(course, visible) if s.max_score]
    if hidden:
        lines.append(f"Hidden checks ({hidden:g} points) appear after the grades are published.")
    return lines


def schema() -> dict[str, Any]:
    return json.loads(resources.files("autograder.report").joinpath("results.schema.json").read_text())


def write_json_atomic(data: dict[str, Any], path: Path) -> None:
    """Write JSON so that a reader never sees half a file. The temporary file gets a random name
    (O_EXCL | O_NOFOLLOW), so nothing planted in the folder can redirect the write."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text(path, json.dumps(data, indent=2, allow_nan=False), durable=True)


def write_results(course: Course, report: GradeReport, path: Path) -> dict[str, Any]:
    """Write the report's results.json atomically; returns the dict."""
    data = results_json(course, report)
    write_json_atomic(data, path)
    return data
