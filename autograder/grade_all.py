"""`python -m autograder grade-all`: grade a whole class, in parallel, into a gradebook and reports.

SUBMISSIONS is a folder holding one submission per student (a subfolder, a .ipynb, a .zip or a lone
.py, named by the student id), or Gradescope's "export submissions" archive (a folder, or the .zip
of it, with `submission_metadata.yml` at the top and one folder per submission).

Grading runs in worker processes started with the "spawn" method (a fork of a process with torch
threads is unsafe); each worker owns ONE Sandbox (a fork server with numpy and torch preloaded) and
reuses it for every submission it grades. Nothing a submission does stops the batch: a grader
exception, a dead worker or a submission that outlasts its time budget gives that student a row
with status "error" and score 0, and the batch goes on.

Results are cached in REPORTS/.cache/<id>.json, keyed by the submission's bytes, the grader's own
source and the grading options, so a re-run grades only what changed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import multiprocessing
import os
import re
import shutil
import signal
import stat
import sys
import tempfile
import time
import traceback
import zipfile
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from multiprocessing.connection import wait
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

SUBMISSION_SUFFIXES = (".ipynb", ".zip", ".py")
METADATA_FILE = "submission_metadata.yml"
CACHE_DIR = ".cache"
CACHE_FORMAT = 1
_IGNORED = ("__MACOSX", "__pycache__")
_UNSAFE_ID = re.compile(r"[^A-Za-z0-9._@+-]+")
_MAX_EXPORT_BYTES = 4 * 2**30  # an export archive unpacked: generous, but not a disk bomb
_REASONS = {"new": "new", "changed": "changed", "grader": "after a grader change", "options": "with new options",
            "forced": "forced", "unreadable": "with an unreadable cache entry"}


# --------------------------------------------------------------------------- discovery


@dataclass
class Entry:
    """One student to put in the gradebook, and what to grade for them."""

    student_id: str              # safe as a file name: the folder of their feedback
    path: Path | None            # None: listed in the export's metadata but no files came with it
    submission: str              # what was graded, as shown in reports (a file or folder name)
    name: str = ""
    email: str = ""


def safe_id(text: str) -> str:
    """A student id usable as a folder name: no separators, no leading dot, never empty."""
    cleaned = _UNSAFE_ID.sub("_", str(text).strip()).lstrip(".")
    return cleaned[:100] or "student"


def _unique(entries: list[Entry]) -> list[Entry]:
    """Make student ids unique, ignoring case (alice.zip and alice/ both present: alice, alice-2)."""
    taken: set[str] = set()
    for entry in entries:
        base, n = entry.student_id, 1
        while entry.student_id.lower() in taken:
            n += 1
            entry.student_id = f"{base}-{n}"
        taken.add(entry.student_id.lower())
    return entries


def _yaml_loader() -> type:
    """A SafeLoader that reads Gradescope's Ruby-flavoured YAML: an unknown tag such as
    `!ruby/object:BigDecimal` or `!ruby/hash:...` yields its plain mapping, list or string."""

    class Loader(yaml.SafeLoader):
        pass

    def plain(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
        if isinstance(node, yaml.MappingNode):
            return loader.construct_mapping(node, deep=True)
        if isinstance(node, yaml.SequenceNode):
            return loader.construct_sequence(node, deep=True)
        return loader.construct_scalar(node)

    Loader.add_multi_constructor("!", plain)
    Loader.add_multi_constructor("tag:yaml.org,2002:", plain)  # e.g. !!ruby/... or !!python/...
    return Loader


def _field(record: Any, key: str) -> Any:
    """record[":key"] or record["key"] (Gradescope writes Ruby symbols as ":key")."""
    if not isinstance(record, dict):
        return None
    for k in (f":{key}", key):
        if k in record:
            return record[k]
    return None


def read_metadata(path: Path) -> dict[str, list[dict[str, str]]]:
    """submission folder name -> its submitters [{"name", "email", "sid"}] from submission_metadata.yml."""
    data = yaml.load(path.read_text(encoding="utf-8", errors="replace"), Loader=_yaml_loader())
    if not isinstance(data, dict):
        raise TypeError(f"{path.name} does not map submission folders to their submitters")
    metadata = {}
    for folder, record in data.items():
        submitters = _field(record, "submitters")
        if isinstance(submitters, dict):
            submitters = [submitters]
        people = []
        for person in submitters if isinstance(submitters, list) else []:
            people.append({k: "" if _field(person, k) is None else str(_field(person, k)).strip()
                           for k in ("name", "email", "sid")})
        metadata[str(folder)] = people
    return metadata


def _candidates(root: Path, exclude: Sequence[Path]) -> tuple[list[Path], list[str]]:
    """The possible submissions directly inside `root`, and notes on what was skipped."""
    paths, skipped = [], []
    excluded = {p.resolve() for p in exclude}
    for path in sorted(root.iterdir(), key=lambda p: p.name):
        if path.name.startswith(".") or path.name in _IGNORED or path.name == METADATA_FILE:
            continue
        if path.resolve() in excluded:
            continue
        if path.is_dir() or path.suffix.lower() in SUBMISSION_SUFFIXES:
            paths.append(path)
        else:
            skipped.append(path.name)
    notes = [f"ignored {len(skipped)} file(s) that are not submissions: {', '.join(skipped[:8])}"
             + (" ..." if len(skipped) > 8 else "")] if skipped else []
    return paths, notes


def discover(root: Path, exclude: Sequence[Path] = ()) -> tuple[list[Entry], list[str]]:
    """Every student in the folder `root`, with notes for the instructor."""
    paths, notes = _candidates(root, exclude)
    metadata_path = root / METADATA_FILE
    if not metadata_path.is_file():
        entries = [Entry(safe_id(p.name if p.is_dir() else p.stem), p, p.name) for p in paths]
        return _unique(entries), notes

    try:
        metadata = read_metadata(metadata_path)
        notes.append(f"Gradescope export: {len(metadata)} submission(s) listed in {METADATA_FILE}")
    except (OSError, TypeError, yaml.YAMLError) as error:  # grade anyway, without names
        metadata = {}
        notes.append(f"could not read {METADATA_FILE} ({' '.join(str(error).split())[:200]}); "
                     "students are named by their submission folders")
    entries, listed = [], set()
    for path in paths:
        key = path.name if path.name in metadata else path.stem
        people = metadata.get(key, [])
        listed.add(key)
        if not people:
            entries.append(Entry(safe_id(path.name if path.is_dir() else path.stem), path, path.name))
        for person in people:  # a group submission gives each member a row
            entries.append(Entry(safe_id(person["sid"] or person["email"] or key), path, path.name,
                                 person["name"], person["email"]))
    for key, people in metadata.items():
        if key not in listed:
            for person in people or [{"sid": "", "email": "", "name": ""}]:
                entries.append(Entry(safe_id(person["sid"] or person["email"] or key), None, key,
                                     person["name"], person["email"]))
    return _unique(entries), notes


def unpack_export(archive: Path, dest: Path) -> Path:
    """Unpack a .zip of submissions (e.g. a Gradescope export) safely; return the folder to read."""
    total = 0
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            parts = [p for p in PurePosixPath(info.filename.replace("\\", "/")).parts if p not in ("", ".")]
            if not parts or info.is_dir() or ".." in parts or parts[0].endswith(":") or info.filename.startswith("/"):
                continue
            if stat.S_ISLNK(info.external_attr >> 16):
                continue
            total += info.file_size
            if total > _MAX_EXPORT_BYTES:
                raise ValueError(f"{archive.name} unpacks to more than {_MAX_EXPORT_BYTES / 2**30:g} GiB")
            target = dest.joinpath(*parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, open(target, "wb") as out:
                shutil.copyfileobj(src, out)
    root = dest
    while True:  # descend through a lone top folder (the export's own folder)
        if (root / METADATA_FILE).is_file():
            return root
        inside = [p for p in root.iterdir() if not p.name.startswith(".") and p.name not in _IGNORED]
        if len(inside) == 1 and inside[0].is_dir():
            root = inside[0]
        else:
            return root


# --------------------------------------------------------------------------- cache keys


def content_hash(path: Path | None) -> str:
    """sha256 over a submission's bytes (a folder: its sorted relative paths and their bytes)."""
    digest = hashlib.sha256()
    if path is None:
        digest.update(b"missing")
    elif path.is_dir():
        files = []
        for folder, dirs, names in os.walk(path):
            dirs.sort()
            files += [Path(folder, n) for n in names]
            files += [Path(folder, d) for d in dirs if Path(folder, d).is_symlink()]
        for file in sorted(files, key=lambda p: p.relative_to(path).as_posix()):
            digest.update(b"P" + file.relative_to(path).as_posix().encode("utf-8", "surrogateescape") + b"\0")
            _hash_file(digest, file)
    else:
        digest.update(b"F" + path.name.encode("utf-8", "surrogateescape") + b"\0")
        _hash_file(digest, path)
    return digest.hexdigest()


def _hash_file(digest: Any, file: Path) -> None:
    try:
        if file.is_symlink():
            digest.update(b"L" + os.readlink(file).encode("utf-8", "surrogateescape") + b"\0")
            return
        if not file.is_file():
            digest.update(b"S\0")  # a fifo, socket or device: never read
            return
        digest.update(b"B%d\0" % file.stat().st_size)
        with open(file, "rb") as f:
            while chunk := f.read(1 << 20):
                digest.update(chunk)
    except OSError as error:
        digest.update(f"E{error.strerror}\0".encode())


def grader_version(package: Path | None = None) -> str:
    """sha256 over the autograder package's .py and .json sources: editing a check changes it."""
    package = package or Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for file in sorted(package.rglob("*"), key=lambda p: p.relative_to(package).as_posix()):
        if file.suffix in (".py", ".json") and "__pycache__" not in file.parts and file.is_file():
            digest.update(file.relative_to(package).as_posix().encode() + b"\0")
            digest.update(file.read_bytes() + b"\0")
    return digest.hexdigest()


def cache_key(content: str, grader: str, options: dict[str, Any]) -> str:
    """What a cached result depends on: the submission's bytes, the grader's source, the options."""
    blob = json.dumps({"format": CACHE_FORMAT, "content": content, "grader": grader, "options": options},
                      sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


# --------------------------------------------------------------------------- reports as data


def report_to_dict(report: Any) -> dict[str, Any]:
    return dataclasses.asdict(report)


def report_from_dict(data: dict[str, Any]) -> Any:
    from autograder.grade import GradeReport
    from autograder.scoring import CheckResult

    return GradeReport(data["submission"], data["kind"], list(data["messages"]),
                       [CheckResult(**r) for r in data["results"]], data.get("execution_time", 0.0),
                       dict(data.get("metadata") or {}), dict(data.get("output") or {}))


def load_cached(path: Path, key: str, parts: dict[str, Any] | None = None) -> tuple[Any | None, str]:
    """(the cached report, "") when the cache entry matches `key`; else (None, why it does not):
    "new", "changed" (the submission), "grader" (the grader's source), "options" or "unreadable"."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None, "new"
    except (OSError, ValueError):
        return None, "unreadable"
    try:
        if data.get("key") == key:
            return report_from_dict(data["report"]), ""
    except (KeyError, TypeError, ValueError):
        return None, "unreadable"
    parts = parts or {}
    for part, reason in (("content", "changed"), ("grader", "grader"), ("options", "options")):
        if part in parts and part in data and data[part] != parts[part]:
            return None, reason
    return None, "unreadable"


def store_cached(path: Path, key: str, report: Any, entry: Entry, parts: dict[str, Any] | None = None) -> None:
    """Write REPORTS/.cache/<id>.json atomically: the key, what it was made of, and the report."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    data = {"key": key, **(parts or {}), "student_id": entry.student_id, "submission": entry.submission,
            "graded_at": time.strftime("%Y-%m-%dT%H:%M:%S"), "report": report_to_dict(report)}
    tmp.write_text(json.dumps(data), encoding="utf-8")
    os.replace(tmp, path)


def placeholder_report(checks: Sequence[Any], submission: str, kind: str, status: str, message: str) -> Any:
    """A report for what was not graded (an error, a missing submission): every check at 0."""
    from autograder.grade import GradeReport
    from autograder.scoring import CheckResult

    results = [CheckResult(c.name, c.function, c.points, 0.0, status, message, c.visible) for c in checks]
    return GradeReport(submission, kind, [message], results)


# --------------------------------------------------------------------------- the worker


def grade_task(task: dict[str, Any], sandbox: Any, checks: Sequence[Any]) -> dict[str, Any]:
    """Grade one submission in this worker; never raises (an exception becomes {"error": ...})."""
    from autograder.grade import grade

    options = task["options"]
    try:
        report = grade(Path(task["path"]), limits=sandbox.limits, include_hidden=options["include_hidden"],
                       sandbox=sandbox, checks=checks)
        return {"id": task["id"], "report": report_to_dict(report)}
    except Exception as error:  # noqa: BLE001 - one broken submission must not stop the batch
        detail = "".join(traceback.format_exception_only(type(error), error)).strip()
        return {"id": task["id"], "error": detail, "traceback": traceback.format_exc()}


def _worker_main(conn: Any, options: dict[str, Any]) -> None:
    """A worker process: one Sandbox, reused for every task the parent sends until None."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    # Stopped by the parent (over budget, Ctrl-C): unwind, so temporary folders and the sandbox close.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(name, "1")  # workers share the cores: no thread pools each
    from autograder.sandbox import Limits, Sandbox

    sandbox = Sandbox(Limits(**options["limits"]))  # starts preloading while the checks load
    try:
        from autograder.checks import load_checks

        checks = load_checks(options["include_hidden"])
        try:
            import torch

            torch.set_num_threads(1)
        except ImportError:
            pass
        while True:
            try:
                task = conn.recv()
            except (EOFError, OSError):
                break
            if task is None:
                break
            conn.send({"started": task["id"]})  # the parent's time budget runs from here
            conn.send(grade_task(task, sandbox, checks))
    finally:
        sandbox.close()


@dataclass
class _Worker:
    process: Any
    conn: Any
    task: dict[str, Any] | None = None
    started: float | None = None  # when the worker began grading its task (after its own startup)


class _Pool:
    """Workers that each take one task at a time, replaced when one dies or is stopped."""

    def __init__(self, size: int, options: dict[str, Any]) -> None:
        self.context = multiprocessing.get_context("spawn")
        self.options = options
        self.workers = [self._start() for _ in range(size)]

    def _start(self) -> _Worker:
        parent, child = self.context.Pipe()
        process = self.context.Process(target=_worker_main, args=(child, self.options),
                                       name="nlm-grade-worker", daemon=True)
        process.start()
        child.close()
        return _Worker(process, parent)

    def _replace(self, worker: _Worker) -> None:
        self._stop(worker, graceful=False)
        self.workers[self.workers.index(worker)] = self._start()

    @staticmethod
    def _stop(worker: _Worker, graceful: bool) -> None:
        if graceful:
            try:
                worker.conn.send(None)
            except OSError:
                pass
            worker.process.join(timeout=15)
        if worker.process.is_alive():
            worker.process.terminate()
            worker.process.join(timeout=5)
        if worker.process.is_alive():
            worker.process.kill()
            worker.process.join()
        worker.conn.close()

    def close(self, graceful: bool = True) -> None:
        """Stop every worker: let it finish and close its sandbox, or (on Ctrl-C) kill it now;
        a killed worker's zygote sees its control pipe close and kills what it was running."""
        for worker in self.workers:
            try:
                worker.conn.send(None)
            except OSError:
                pass
        for worker in self.workers:
            self._stop(worker, graceful=graceful)

    def run(self, tasks: list[dict[str, Any]], budget_s: float):
        """Yield one payload per task, in completion order: {"id", "report"} or {"id", "error"}."""
        pending = deque(tasks)
        while pending or any(w.task for w in self.workers):
            for worker in list(self.workers):
                if worker.task is None and pending:
                    task = pending.popleft()
                    try:
                        worker.conn.send(task)
                    except OSError:  # it died while idle: start another and retry the task
                        pending.appendleft(task)
                        self._replace(worker)
                        continue
                    worker.task, worker.started = task, None
            busy = [w for w in self.workers if w.task]
            wait([w.conn for w in busy] + [w.process.sentinel for w in busy], timeout=1.0)
            for worker in busy:
                payload = None
                if worker.conn.poll():
                    try:
                        payload = worker.conn.recv()
                    except (EOFError, OSError):
                        worker.process.join(timeout=1)
                        payload = {"id": worker.task["id"], "error": "the grading worker process died "
                                   f"(exit code {worker.process.exitcode})"}
                        self._replace(worker)
                    if payload is not None and "started" in payload:
                        worker.started, payload = time.monotonic(), None
                elif not worker.process.is_alive():
                    payload = {"id": worker.task["id"], "error": "the grading worker process died "
                               f"(exit code {worker.process.exitcode})"}
                    self._replace(worker)
                elif worker.started is not None and time.monotonic() - worker.started > budget_s:
                    payload = {"id": worker.task["id"], "error": f"grading took longer than {budget_s:g} s "
                               "and was stopped"}
                    self._replace(worker)
                if payload is not None:
                    worker.task = None
                    yield payload


# --------------------------------------------------------------------------- the batch


@dataclass
class Options:
    timeout_s: float = 10.0
    memory_bytes: int = 2 * 2**30
    include_hidden: bool = True
    jobs: int = 0                # 0: one per core
    force: bool = False

    def key(self, limits: Any) -> dict[str, Any]:
        return {"limits": dataclasses.asdict(limits), "include_hidden": self.include_hidden}


def default_jobs() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


def _write_student(reports: Path, row: Any) -> None:
    from autograder.report.gradescope import write_results
    from autograder.report.markdown import feedback_markdown

    folder = reports / "students" / row.student_id
    folder.mkdir(parents=True, exist_ok=True)
    who = row.student_id + (f" ({row.name})" if row.name else "")
    tmp = folder / f".feedback.md.{os.getpid()}.tmp"
    tmp.write_text(feedback_markdown(row.report, who, status=row.status), encoding="utf-8")
    os.replace(tmp, folder / "feedback.md")
    write_results(row.report, folder / "results.json")


def grade_all(submissions: Path, reports: Path, options: Options, console: Any = None) -> list[Any]:
    """Grade every submission into `reports`; returns the gradebook rows."""
    from autograder.checks import load_checks
    from autograder.report.gradebook import (
        Row,
        class_summary,
        status_of,
        write_gradebook,
    )
    from autograder.report.html import write_summary_html
    from autograder.report.terminal import wide_console
    from autograder.sandbox import Limits

    console = console or wide_console()
    start = time.monotonic()
    submissions, reports = Path(submissions), Path(reports)
    reports.mkdir(parents=True, exist_ok=True)
    limits = Limits(timeout_s=options.timeout_s, memory_bytes=options.memory_bytes)
    loaded: list[Any] = []

    def checks() -> list[Any]:  # loaded only when needed: a fully cached run does without
        if not loaded:
            loaded.extend(load_checks(options.include_hidden))
        return loaded

    with tempfile.TemporaryDirectory(prefix="nlm-export-") as unpacked:
        if submissions.is_file() and submissions.suffix.lower() == ".zip":
            root = unpack_export(submissions, Path(unpacked))
        elif submissions.is_dir():
            root = submissions
        else:
            raise FileNotFoundError(f"{submissions} is neither a folder nor a .zip of submissions")
        entries, notes = discover(root, exclude=[reports])
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
            pool = _Pool(jobs, {"limits": dataclasses.asdict(limits), "include_hidden": options.include_hidden})
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
                        _write_student(reports, row)
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
                _write_student(reports, row)

    ordered = [rows[e.student_id] for e in entries]
    write_gradebook(ordered, reports / "gradebook.csv")
    summary = class_summary(ordered)
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


def _with_progress(payloads: Any, count: int, groups: dict[str, list[Entry]], console: Any):
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=False) as progress:
        bar = progress.add_task("grading", total=count)
        for payload in payloads:
            who = ", ".join(e.student_id for e in groups[payload["id"]])
            progress.update(bar, advance=1, description=f"graded {who[:40]}")
            yield payload
        progress.update(bar, description="grading done")


def print_class_summary(summary: Any, console: Any, top: int = 10) -> None:
    from rich.table import Table

    overview = Table(title="Class summary", title_justify="left")
    for column in ("students", "graded", "error", "rejected", "empty", "mean", "median", "min", "max"):
        overview.add_column(column, justify="right")
    stats = [f"{summary.stat(s):.1f}" if summary.totals else "-" for s in ("mean", "median", "min", "max")]
    overview.add_row(str(summary.students), *[str(summary.statuses[s]) for s in ("graded", "error", "rejected",
                                                                                 "empty")], *stats)
    overview.caption = f"totals out of {summary.max_score:g}"
    console.print(overview)

    functions = Table(title="Scores by function (graded submissions)", title_justify="left")
    functions.add_column("function", no_wrap=True)
    functions.add_column("mean", justify="right")
    functions.add_column("max", justify="right")
    functions.add_column("full marks", justify="right")
    for f in summary.functions:
        functions.add_row(f.qualname + (" (bonus)" if f.bonus else ""), f"{f.mean:.2f}", f"{f.max_score:g}",
                          f"{f.full_marks} / {f.graded}")
    if summary.functions:
        console.print(functions)

    failing = [c for c in summary.checks if c.did_not_pass][:top]
    if failing:
        table = Table(title=f"Most failed checks (top {len(failing)})", title_justify="left")
        table.add_column("check")
        table.add_column("did not pass", justify="right")
        table.add_column("wrong / not attempted / crashed", justify="right")
        for c in failing:
            table.add_row(c.name, f"{100 * c.failure_rate:.0f}% ({c.did_not_pass}/{c.graded})",
                          f"{c.failed} / {c.not_attempted} / {c.crashed}")
        console.print(table)


def main(args: Any) -> int:
    """The CLI verb (arguments parsed by autograder.cli)."""
    options = Options(timeout_s=args.timeout, memory_bytes=int(args.memory_gib * 2**30),
                      include_hidden=not args.visible_only, jobs=args.jobs or 0, force=args.force)
    grade_all(args.submissions, args.out, options)
    return 0
