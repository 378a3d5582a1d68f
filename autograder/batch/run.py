"""`python -m autograder grade-all`: grade a whole class, in parallel, into a gradebook and reports.

Nothing a submission does stops the batch: a grader exception, a dead worker or a submission that
outlasts its time budget gives that student a row with status "error" and score 0, and the batch
goes on. Each graded submission is cached (batch/cache.py) the moment it is graded, so a re-run,
or the run after a Ctrl-C or a crash, grades only what is not done yet. The settings file, the
overrides and similarity are applied after grading, on every run.
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autograder.batch.cache import (
    CACHE_DIR,
    STARTER_ENTRY,
    CacheKeyError,
    cache_key,
    check_key_outside,
    content_hash,
    grader_version,
    key_file,
    load_cached,
    load_key,
    load_starter_prints,
    report_from_dict,
    store_cached,
    store_starter_prints,
)
from autograder.batch.discover import Entry, discover
from autograder.batch.late import FROM_EXPORT, FROM_FILES, lateness, newest_file_time, parse_time
from autograder.batch.overrides import check_students, find_overrides, read_overrides
from autograder.batch.launch import Options
from autograder.batch.pool import _Pool
from autograder.batch.settings import Settings, SettingsError, find_settings, read_settings
from autograder.batch.similarity import function_fingerprints, similar_pairs, submission_sources
from autograder.batch.tables import (
    _with_progress,
    print_attention,
    print_class_summary,
    print_students,
)
from autograder.report.sanitize import terminal as _safe
from autograder.report.write import UnsafeFolder, make_folder

_REASONS = {"new": "new", "changed": "changed", "grader": "after a grader change", "options": "with new options",
            "forced": "forced", "unreadable": "with an unreadable cache entry",
            "untrusted": "with a cache entry that failed its integrity check"}

TABLE_LIMIT = 60  # the terminal lists every student up to this class size (--table: always)


class UsageError(Exception):
    """Something the instructor must fix before grading (a wrong path, a bad settings file); the
    message is one line naming it."""


class Interrupted(Exception):
    """Ctrl-C during grading: what was graded is in the cache."""

    def __init__(self, graded: int) -> None:
        super().__init__(graded)
        self.graded = graded


def placeholder_report(checks: Sequence[Any], submission: str, kind: str, status: str, message: str) -> Any:
    """A report for what was not graded (an error, a missing submission): every check at 0."""
    from autograder.score import CheckResult, GradeReport

    results = [CheckResult(c.name, c.function.qualname, c.points, 0.0, status, message, c.visible) for c in checks]
    return GradeReport(submission, kind, [message], results)


@dataclass
class _Run:
    """What one run is working with."""

    course: Any
    reports: Path
    options: Options
    console: Any
    secret: bytes
    limits: Any
    settings: Settings = field(default_factory=Settings)
    overrides: dict[str, list[Any]] = field(default_factory=dict)  # student id -> their overrides
    version: str = ""
    checks: list[Any] = field(default_factory=list)
    rows: dict[int, Any] = field(default_factory=dict)        # entry index -> Row
    sources: dict[str, dict[str, str]] = field(default_factory=dict)  # group -> qualname -> source
    prints: dict[str, dict[str, list[int]]] = field(default_factory=dict)  # group -> qualname -> fingerprints
    graded: int = 0
    errors: int = 0
    written: set[int] = field(default_factory=set)           # entries whose student files are written
    pairs: list[Any] = field(default_factory=list)            # similar pairs (batch/similarity.py)
    summary: Any = None                                       # the ClassSummary written
    removed: list[str] = field(default_factory=list)          # report folders moved to removed/
    left_out: int = 0                                         # rows canvas.csv leaves out
    pool: Any = None                                          # the workers: started at launch, then winding down
    starter: Any = None                                       # Future: the starter code's fingerprints

    def all_checks(self) -> list[Any]:  # loaded only when needed: a fully cached run does without
        if not self.checks:
            from autograder.check import load_checks

            self.checks.extend(load_checks(self.course, self.options.include_hidden))
        return self.checks


@contextlib.contextmanager
def _class_folder(submissions: Path, notes: list[str]) -> Iterator[Path]:
    """The folder of the class: `submissions` itself, or an export .zip unpacked for the run."""
    if submissions.is_dir():
        yield submissions
        return
    if not (submissions.is_file() and submissions.suffix.lower() == ".zip"):
        raise UsageError(f"{submissions}: no such folder or .zip of submissions")
    from autograder.batch.export import unpack_export  # (here: a folder of submissions needs no unzip)

    with tempfile.TemporaryDirectory(prefix="nlm-export-") as unpacked:
        try:
            yield unpack_export(submissions, Path(unpacked), notes)
        except ValueError as error:
            raise UsageError(str(error)) from None


def _prepare(submissions: Path, reports: Path, options: Options) -> tuple[Settings, list[Any], bytes]:
    """Read the settings and overrides, get the cache key and the reports folder: every one-line
    error comes before anything is graded or written."""
    from autograder.registry import load_course

    if not submissions.exists():
        raise UsageError(f"{submissions}: no such folder or .zip of submissions")
    try:
        settings = read_settings(options.settings or find_settings(submissions))
        overrides = read_overrides(options.overrides or find_overrides(submissions), load_course(options.course or None))
        check_key_outside(key_file(), reports)
        secret = load_key()
        make_folder(make_folder(reports) / CACHE_DIR)
    except (SettingsError, CacheKeyError, UnsafeFolder) as error:
        raise UsageError(str(error)) from None
    return settings, overrides, secret


def grade_all(submissions: Path, reports: Path, options: Options, console: Any = None,
              early: _Pool | None = None) -> list[Any]:
    """Grade every submission into `reports`; returns the gradebook rows. `early`: workers
    started at launch (batch/launch.py), used if there are enough of them for what is to grade."""
    start = time.monotonic()
    try:
        return _grade_class(Path(submissions), Path(reports), options, console, early, start)
    finally:
        if early is not None:
            early.close(graceful=False)  # (a no-op when it was used: by then it is closed)


def _grade_class(submissions: Path, reports: Path, options: Options, console: Any, early: _Pool | None,
                 start: float) -> list[Any]:
    from autograder.registry import load_course
    from autograder.report.terminal import wide_console

    settings, overrides, secret = _prepare(submissions, reports, options)
    run = _Run(load_course(options.course or None), reports, options, console or wide_console(), secret,
               options.limits, settings)
    for o in overrides:
        run.overrides.setdefault(o.student_id, []).append(o)
    run.version, run.pool = grader_version(), early
    run.starter = _starter_prints(run, settings)
    notes: list[str] = []
    with _class_folder(submissions, notes) as root:
        entries, found = discover(root, exclude=[reports])
        try:
            check_students(overrides, {e.student_id for e in entries})
            check_extensions(settings, entries)
        except SettingsError as error:
            raise UsageError(str(error)) from None
        for note in found + notes:
            run.console.print(f"[bold]note:[/] {_safe(note)}", highlight=False)
        _grade_entries(run, entries)
        rows = [run.rows[i] for i in range(len(entries))]
    try:
        _similarity(run, rows, settings)
        _write_reports(run, rows, settings)
        _print_end(run, rows, len(entries), time.monotonic() - start)
    finally:
        if run.pool is not None:
            run.pool.close()
    return rows


def check_extensions(settings: Settings, entries: list[Entry]) -> None:
    """An extension for someone not in the class (by id or e-mail) is an error naming them."""
    known = {e.student_id for e in entries} | {e.email for e in entries if e.email}
    for student in settings.extensions:
        if student not in known:
            raise SettingsError(f"{settings.path.name if settings.path else 'settings'} [extensions]: unknown "
                                f"student {student!r} (not in this class, by id or e-mail)")


# --------------------------------------------------------------------------- grading


def _grade_entries(run: _Run, entries: list[Entry]) -> None:
    """A row for every entry: from the cache where it is valid, else graded by the pool. The
    workers are given their tasks as soon as what is to be graded is known; the other rows are
    made, and their files written, once a worker is grading (not while torch loads)."""
    option_key = run.options.key(run.limits)
    parts: dict[int, dict[str, Any]] = {}
    groups: dict[str, list[int]] = {}  # task id -> the entries sharing that submission
    reasons: dict[str, int] = {}
    tasks = []
    settled: list[tuple[int, Entry, Any]] = []  # (index, entry, its cache entry or None: not gradable)
    for i, entry in enumerate(entries):
        if entry.error or entry.path is None:
            settled.append((i, entry, None))
            continue
        parts[i] = {"content": content_hash(entry.path), "grader": run.version, "options": option_key}
        cached, why = (None, "forced") if run.options.force else load_cached(
            run.reports / CACHE_DIR / f"{entry.folder}.json", cache_key(**parts[i]), run.secret,
            entry.student_id, parts[i])
        group = str(entry.path.resolve())
        if cached is not None:
            settled.append((i, entry, cached))
            run.sources.setdefault(group, cached.sources)
            run.prints.setdefault(group, cached.prints)
            continue
        if group not in groups:
            groups[group] = []
            tasks.append({"id": group, "path": str(entry.path), "options": option_key})
            reasons[why] = reasons.get(why, 0) + 1
        groups[group].append(i)
    pool = _workers_for(run, tasks, reasons, sum(c is not None for _, _, c in settled))
    try:
        if pool is not None:
            _grade_tasks(run, pool, entries, tasks, groups, parts, on_grading=lambda: _settle(run, settled))
        _settle(run, settled)  # (done already where a worker began grading)
    except KeyboardInterrupt:
        if pool is not None:
            pool.close(graceful=False)
        raise Interrupted(run.graded) from None
    except BaseException:
        if pool is not None:
            pool.close(graceful=False)
        raise


def _settled_row(run: _Run, entry: Entry, cached: Any) -> Any:
    """The row of an entry from the cache, or (None) of one with nothing to grade."""
    from autograder.report.gradebook import status_of

    if cached is not None:
        return _row(run, entry, cached.report, status_of(cached.report.kind), _note(cached.report),
                    cached=True, group=str(entry.path.resolve()))
    message = entry.error or "no files for this submission in the export"
    status, kind = ("error", "error") if entry.error else ("empty", "empty")
    report = placeholder_report(run.all_checks(), entry.submission, kind, "not attempted", message)
    return _row(run, entry, report, status, message)


def _row(run: _Run, entry: Entry, report: Any, status: str, note: str, **extra: Any) -> Any:
    """The entry's gradebook row, settled: its submission time, late penalty and overrides applied."""
    from autograder.report.gradebook import Row

    row = Row(entry.student_id, report, status, entry.name, entry.email, entry.submission, note,
              folder=entry.folder, sid=entry.sid, **extra)
    if status != "error":
        submitted, source = _submitted(entry)
        row.late = lateness(run.settings, [entry.student_id, entry.email], submitted, source)
        row.overrides = run.overrides.get(entry.student_id, [])
    return row.settle(run.course)


def _workers_for(run: _Run, tasks: list[dict[str, Any]], reasons: dict[str, int], cached: int) -> _Pool | None:
    """The workers for the tasks: those started at launch, unless they are too few (or there is
    nothing to grade: then they stop unused), else started now (they take a second: torch); they
    get no task until _grade_tasks."""
    jobs = run.options.workers(len(tasks))
    early, run.pool = run.pool, None
    if early is not None and (not tasks or early.size < jobs):
        early.close(graceful=False)
        early = None
    if not tasks:
        return None
    why = ", ".join(f"{n} {_REASONS[r]}" for r, n in reasons.items())
    run.console.print(f"grading {len(tasks)} submission(s) ({why}) with {early.size if early else jobs} worker(s); "
                      f"{cached} unchanged, reused from the cache", highlight=False)
    return early or run.options.pool(jobs)


def _grade_tasks(run: _Run, pool: _Pool, entries: list[Entry], tasks: list[dict[str, Any]],
                 groups: dict[str, list[int]], parts: dict[int, dict[str, Any]],
                 on_grading: Callable[[], None]) -> None:
    """Grade the tasks in the workers; each result is cached as soon as it arrives."""
    from autograder.isolate.sandbox import confinement_or_refuse

    if not confinement_or_refuse(run.options.require_confinement):  # only now: a cached re-run skips it
        raise UsageError("refusing to grade: student code cannot be confined here (--require-confinement)")
    # No run.all_checks() here: the checks (and torch with them) load only for a placeholder report
    # (in _take), as importing torch beside the workers' start-up would compete with it for the cores.
    names = {g: [entries[i] for i in members] for g, members in groups.items()}
    payloads = pool.run(tasks, 40 * run.options.timeout_s + 120, on_grading=on_grading)
    for payload in _with_progress(payloads, len(tasks), names, run.console):
        _take(run, entries, payload, groups[payload["id"]], parts)
    pool.finish()  # the workers wind down while the reports are written
    run.pool = pool


def _settle(run: _Run, settled: list[tuple[int, Entry, Any]]) -> None:
    """The rows of the entries from the cache or with nothing to grade, and their files."""
    for i, entry, cached in settled:
        if i not in run.rows:
            run.rows[i] = _settled_row(run, entry, cached)
    _write_settled(run)


def _write_settled(run: _Run) -> None:
    """The files of the students whose rows are settled already (from the cache, or never
    graded) and not written yet."""
    from autograder.batch.outputs import write_student  # (here: the workers start before this import)

    for i, row in list(run.rows.items()):
        if i not in run.written:
            write_student(run.course, run.reports, row)
            run.written.add(i)


def _take(run: _Run, entries: list[Entry], payload: dict[str, Any], members: list[int],
          parts: dict[int, dict[str, Any]]) -> None:
    """One payload from the pool: rows for the students sharing it, cached at once (an error is
    not cached: it is retried next run)."""
    from autograder.batch.outputs import write_student
    from autograder.report.gradebook import status_of

    first = entries[members[0]]
    if "error" in payload:
        run.errors += 1
        who = ", ".join(entries[i].student_id for i in members)
        run.console.print(f"[red]could not grade {_safe(who)}:[/] {_safe(payload['error'])}", highlight=False)
        if payload.get("traceback"):
            run.console.print(_safe(payload["traceback"].rstrip()), highlight=False, style="dim")
        message = f"grading failed: {payload['error']}"
        report, status = placeholder_report(run.all_checks(), first.submission, "error", "crashed", message), "error"
    else:
        report = report_from_dict(payload["report"])
        report.submission = first.submission
        status, message = status_of(report.kind), _note(report)
        run.sources[payload["id"]] = payload.get("sources") or {}
        run.prints[payload["id"]] = payload.get("prints") or {}
    run.graded += 1
    for i in members:
        run.rows[i] = _row(run, entries[i], report, status, message, group=payload["id"])
        write_student(run.course, run.reports, run.rows[i])  # while the workers grade the next ones
        run.written.add(i)
        if status != "error":
            store_cached(run.reports / CACHE_DIR / f"{entries[i].folder}.json", cache_key(**parts[i]), run.secret,
                         report, entries[i], parts[i], run.sources.get(payload["id"]), run.prints.get(payload["id"]))


def _note(report: Any) -> str:
    """The gradebook note for a report: why nothing could be graded."""
    if report.kind in ("rejected", "empty"):
        return "; ".join(report.messages)
    return ""


# --------------------------------------------------------------------------- after grading


def _submitted(entry: Entry) -> tuple[Any, str]:
    """The submission time and where it comes from: the export, else the newest file inside."""
    exported = parse_time(entry.created_at) if entry.created_at else None
    if exported is not None:
        return exported, FROM_EXPORT
    return (newest_file_time(entry.path) if entry.path else None), FROM_FILES


def _starter_prints(run: _Run, settings: Settings) -> Future:
    """The fingerprints of the starter code (the handout similarity leaves out): from the cache
    while its bytes and the grader are unchanged, else read in a thread while the run gets on (its
    loading child takes about 0.15 s to start) and cached."""
    path = run.options.starter or settings.starter
    if path is not None and not Path(path).exists():
        raise UsageError(f"{path}: no such starter code (the handout similarity leaves out)")
    known: Future = Future()
    if path is None:
        known.set_result({})
        return known
    entry = run.reports / CACHE_DIR / STARTER_ENTRY
    key = cache_key(content_hash(Path(path)), run.version, {"starter": True})
    if (prints := load_starter_prints(entry, key, run.secret)) is not None:
        known.set_result(prints)
        return known

    def read() -> dict[str, list[int]]:
        prints = function_fingerprints(submission_sources(Path(path), run.course))
        store_starter_prints(entry, key, run.secret, prints)
        return prints

    reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nlm-starter")
    future = reader.submit(read)
    reader.shutdown(wait=False)  # its thread ends with its one task
    return future


def _similarity(run: _Run, rows: list[Any], settings: Settings) -> None:
    """Pairs of graded submissions alike above the threshold; each row names its look-alikes."""
    graded = {r.group for r in rows if r.status == "graded" and r.group}
    prints = {g: p for g, p in run.prints.items() if g in graded and p}
    start = time.monotonic()
    from autograder.report.similarity_html import SIDE_BY_SIDE

    pairs = similar_pairs(prints, run.starter.result(), settings.similarity_threshold, settings.similarity_min_shared,
                          detailed=SIDE_BY_SIDE)
    members: dict[str, list[Any]] = {}
    for row in rows:
        if row.group:
            members.setdefault(row.group, []).append(row)
    for pair in pairs:
        for a, b in ((pair.a, pair.b), (pair.b, pair.a)):
            for row in members.get(a, []):
                row.similar += [(other.student_id, pair.score) for other in members.get(b, [])]
    run.console.print(f"similarity: {len(prints)} submission(s) compared in {time.monotonic() - start:.1f} s; "
                      f"{len(pairs)} pair(s) at least {100 * settings.similarity_threshold:.0f}% alike",
                      highlight=False)
    run.pairs = pairs


def _write_reports(run: _Run, rows: list[Any], settings: Settings) -> None:
    from autograder.batch.outputs import remove_departed, write_canvas, write_ids, write_similarity
    from autograder.report.gradebook import class_summary, write_gradebook
    from autograder.report.html import write_summary_html

    bom = settings.bom if run.options.bom is None else run.options.bom
    run.removed = remove_departed(run.reports, {r.folder for r in rows})
    write_ids(run.reports, rows)
    write_gradebook(run.course, rows, run.reports / "gradebook.csv", bom=bom)
    run.left_out = write_canvas(run.course, rows, run.reports / "canvas.csv", settings, bom)
    write_similarity(run.reports / "similarity.html", run.pairs, rows, run.sources, settings)
    run.summary = class_summary(run.course, rows)
    write_summary_html(run.course, run.summary, rows, run.reports / "summary.html",
                       similarity_page="similarity.html" if run.pairs else "")


def _print_end(run: _Run, rows: list[Any], students: int, seconds: float) -> None:
    console, reports = run.console, run.reports
    print_class_summary(run.summary, console)
    reused = sum(r.cached for r in rows)
    console.print(f"graded {run.graded}, reused {reused} from the cache"
                  + (f", {run.errors} could not be graded (status error)" if run.errors else "")
                  + f"; {students} students in {seconds:.1f} s", highlight=False)
    if run.removed:
        console.print(f"moved the reports of {len(run.removed)} student(s) no longer in the class to "
                      f"{reports / 'removed'}: {_safe(', '.join(run.removed))}", highlight=False)
    if run.left_out:
        console.print(f"canvas.csv leaves out {run.left_out} row(s) with status error", highlight=False)
    console.print(f"wrote {reports / 'gradebook.csv'}, {reports / 'canvas.csv'}, {reports / 'summary.html'}, "
                  f"{reports / 'similarity.html'} and {reports / 'students'}/<id>/feedback.md, "
                  "feedback_student.md, feedback.html, results.json", highlight=False)
    if run.options.table or len(rows) <= TABLE_LIMIT:
        print_students(run.course, rows, console)
    print_attention(rows, console)


def main(args: Any, early: _Pool | None = None) -> int:
    """The CLI verb (arguments parsed by autograder.cli, which started the `early` workers)."""
    from autograder.report.terminal import wide_console

    console = wide_console()
    try:
        grade_all(args.submissions, args.out, Options.from_args(args), console, early)
    except UsageError as error:
        console.print(f"[bold red]grade-all:[/] {_safe(error)}", highlight=False, soft_wrap=True)
        return 2
    except Interrupted as stop:
        console.print(f"[bold]interrupted:[/] the {stop.graded} submission(s) graded in this run are kept in "
                      "the cache; run the same command again to go on from there", highlight=False, soft_wrap=True)
        return 130
    return 0
