"""The results cache, REPORTS/.cache/<id>.json: keyed by a submission's bytes, the grader's
source and the grading options, so a re-run grades only what changed."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import time
from pathlib import Path
from typing import Any

from autograder.batch.discover import Entry

CACHE_DIR = ".cache"


CACHE_FORMAT = 1


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
    package = package or Path(__file__).resolve().parent.parent
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


def report_to_dict(report: Any) -> dict[str, Any]:
    return dataclasses.asdict(report)


def report_from_dict(data: dict[str, Any]) -> Any:
    from autograder.grade import GradeReport
    from autograder.score import CheckResult

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
