"""`python -m autograder grade-all`: grade a whole class, in parallel, into a gradebook and reports.

Nothing a submission does stops the batch: a grader exception, a dead worker or a submission that
outlasts its time budget gives that student a row with status "error" and score 0, and the batch
goes on. Results are cached (batch/cache.py), so a re-run grades only what changed.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autograder.batch.cache import (
    CACHE_DIR,
    cache_key,
    content_hash,
    grader_version,
    load_cached,
    report_from_dict,
    store_cached,
)
from autograder.batch.discover import Entry, discover
from autograder.batch.export import unpack_export
from autograder.batch.pool import _Pool, default_jobs
from autograder.batch.tables import _with_progress, print_class_summary

_REASONS = {"new": "new", "changed": "changed", "grader": "after a grader change", "options": "with new options",
            "forced": "forced", "unreadable": "with an unreadable cache entry"}


def placeholder_report(checks: Sequence[Any], submission: str, kind: str, status: str, message: str) -> Any:
    """A report for what was not graded (an error, a missing submission): every check at 0."""
    from autograder.grade import GradeReport
    from autograder.score import CheckResult

    results = [CheckResult(c.name, c.function.qualname, c.points, 0.0, status, message, c.visible) for c in checks]
    return GradeReport(submission, kind, [message], results)


@dataclass
class Options:
    timeout_s: float = 10.0
    memory_bytes: int = 2 * 2**30
    include_hidden: bool = True
    jobs: int = 0                # 0: one per core
    force: bool = False
    course: str = ""             # the course package ("" for the default)

    def key(self, limits: Any) -> dict[str, Any]:
        return {"limits": dataclasses.asdict(limits), "include_hidden": self.include_hidden}


def _write_student(course: Any, reports: Path, row: Any) -> None:
    from autograder.report.gradescope import write_results
    from autograder.report.markdown import feedback_markdown

    folder = reports / "students" / row.student_id
    folder.mkdir(parents=True, exist_ok=True)
    who = row.student_id + (f" ({row.name})" if row.name else "")
    tmp = folder / f".feedback.md.{os.getpid()}.tmp"
    tmp.write_text(feedback_markdown(course, row.report, who, status=row.status), encoding="utf-8")
    os.replace(tmp, folder / "feedback.md")
    write_results(course, row.report, folder / "results.json")


def grade_all(submissions: Path, reports: Path, options: Options, console: Any = None) -> list[Any]:
    """Grade every submission into `reports`; returns the gradebook rows."""
    from autograder.check import load_checks
    from autograder.registry import load_course
    from autograder.report.gradebook import (
        Row,
        class_summary,
        status_of,
        write_gradebook,
    )
    from autograder.report.html import write_summary_html
    from autograder.report.terminal import wide_console
    from autograder.isolate.sandbox import Limits

    console = console or wide_console()
    course = load_course(options.course or None)
    start = time.monotonic()
    submissions, reports = Path(submissions), Path(reports)
    reports.mkdir(parents=True, exist_ok=True)
    limits = Limits(timeout_s=options.timeout_s, memory_bytes=options.memory_bytes)
    loaded: list[Any] = []

    def checks() -> list[Any]:  # loaded only when needed: a fully cached run does without
        if not loaded:
            loaded.extend(load_checks(course, options.include_hidden))
        return loaded

    with tempfile.TemporaryDirectory(prefix="nlm-export-") as unpacked:
        if submissions.is_file() and submissions.suffix.lower() == ".zip":
            export_notes: list[str] = []
            root = unpack_export(submissions, Path(unpacked), export_notes)
        elif submissions.is_dir():
            root = submissions
        else:
            raise FileNotFoundError(f"{submissions} is neither a folder nor a .zip of submissions")
        entries, notes = discover(root, exclude=[reports])
        if submissions.is_file():
            notes += export_notes
        for note in notes:
            console.print(f"[bold]note:[/] {note}", highlight=False)

        version = grader_version()
        option_key = options.key(limits)
        rows: dict[str, Any] = {}
        groups: dict[str, list[Entry]] = {}  # task id -> the students sharing that submission
        parts: dict[str, dict[str, Any]] = {}
        reasons: dict[str, int] = {}
        tasks = []
        for entry in entries:
            if entry.path is None:
                message = "no files for this submission in the export"
                report = placeholder_report(checks(), entry.submission, "empty", "not attempted", message)
                rows[entry.student_id] = Row(entry.student_id, report, "empty", entry.name, entry.email,
                                             entry.submission, message)
                continue
            parts[entry.student_id] = {"content": content_hash(entry.path), "grader": version, "options": option_key}
            key = cache_key(**parts[entry.student_id])
            cached, why = (None, "forced") if options.force else load_cached(
                reports / CACHE_DIR / f"{entry.student_id}.json", key, parts[entry.student_id])
            if cached is not None:
                rows[entry.student_id] = Row(entry.student_id, cached, status_of(cached.kind), entry.name,
                                             entry.email, entry.submission, _note(cached), cached=True,
                                             group=str(entry.path.resolve()))
                continue
            task_id = str(entry.path.resolve())
            if task_id not in groups:
                groups[task_id] = []
                tasks.append({"id": task_id, "path": str(entry.path), "options": option_key})
                reasons[why] = reasons.get(why, 0) + 1
            groups[task_id].append(entry)

        errors = 0
        if tasks:
            jobs = max(1, min(options.jobs or default_jobs(), len(tasks)))
            why = ", ".join(f"{n} {_REASONS[r]}" for r, n in reasons.items())
            console.print(f"grading {len(tasks)} submission(s) ({why}) with {jobs} worker(s); "
                          f"{sum(r.cached for r in rows.values())} unchanged, reused from the cache",
                          highlight=False)
            budget = 40 * options.timeout_s + 120
            pool = _Pool(jobs, {"limits": dataclasses.asdict(limits), "include_hidden": options.include_hidden,
                                "course": options.course})
            try:
                checks()  # while the workers start; fails early if a part's checks are missing
                for payload in _with_progress(pool.run(tasks, budget), len(tasks), groups, console):
                    members = groups[payload["id"]]
                    if "error" in payload:
                        errors += 1
                        message = f"grading failed: {payload['error']}"
                        who = ", ".join(e.student_id for e in members)
                        console.print(f"[red]could not grade {who}:[/] {payload['error']}", highlight=False)
                        if payload.get("traceback"):
                            console.print(payload["traceback"].rstrip(), markup=False, highlight=False, style="dim")
                        report = placeholder_report(checks(), members[0].submission, "error", "crashed", message)
                        status = "error"
                    else:
                        report = report_from_dict(payload["report"])
                        report.submission = members[0].submission
                        status = status_of(report.kind)
                    for entry in members:
                        row = Row(entry.student_id, report, status, entry.name, entry.email,
                                  entry.submission, message if status == "error" else _note(report),
                                  group=payload["id"])
                        rows[entry.student_id] = row
                        _write_student(course, reports, row)
                        if status != "error":  # an error is retried next run
                            store_cached(reports / CACHE_DIR / f"{entry.student_id}.json",
                                         cache_key(**parts[entry.student_id]), report, entry,
                                         parts[entry.student_id])
            except BaseException:
                pool.close(graceful=False)
                raise
            pool.close()
        for row in rows.values():
            if row.cached or (row.status == "empty" and row.student_id not in parts):
                _write_student(course, reports, row)

    ordered = [rows[e.student_id] for e in entries]
    write_gradebook(course, ordered, reports / "gradebook.csv")
    summary = class_summary(course, ordered)
    write_summary_html(summary, ordered, reports / "summary.html")
    print_class_summary(summary, console)
    reused = sum(r.cached for r in ordered)
    console.print(f"graded {len(tasks)}, reused {reused} from the cache"
                  + (f", {errors} could not be graded (status error)" if errors else "")
                  + f"; {len(ordered)} students in {time.monotonic() - start:.1f} s", highlight=False)
    console.print(f"wrote {reports / 'gradebook.csv'}, {reports / 'summary.html'} and "
                  f"{reports / 'students'}/<id>/feedback.md, results.json", highlight=False)
    return ordered


def _note(report: Any) -> str:
    """The gradebook note for a report: why nothing could be graded."""
    if report.kind in ("rejected", "empty"):
        return "; ".join(report.messages)
    return ""


def main(args: Any) -> int:
    """The CLI verb (arguments parsed by autograder.cli)."""
    options = Options(timeout_s=args.timeout, memory_bytes=int(args.memory_gib * 2**30),
                      include_hidden=not args.visible_only, jobs=args.jobs or 0, force=args.force)
    grade_all(args.submissions, args.out, options)
    return 0
