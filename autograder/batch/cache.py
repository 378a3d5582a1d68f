"""The results cache, REPORTS/.cache/<folder>.json: keyed by a submission's bytes, the grader's
source and the grading options, so a re-run grades only what changed.

An entry is written as soon as its submission is graded (Ctrl-C or a crash keeps the work done)
and carries an HMAC-SHA256 over everything in it, with a key kept outside the reports folder
(`key_file()`: the instructor's config folder, mode 0600, made on first use). An entry that was
altered, forged or copied from another student fails the check and is regraded, so nothing
written into the reports folder can give anyone a score.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import os
import secrets
import stat
import time
from pathlib import Path
from typing import Any

from autograder.batch.discover import Entry
from autograder.report.write import write_text

CACHE_DIR = ".cache"
STARTER_ENTRY = ".starter.json"  # the starter code's fingerprints (no student folder starts with a dot)


CACHE_FORMAT = 2


KEY_ENV = "NLM_AUTOGRADER_KEY_FILE"  # where the cache key lives (tests point it elsewhere)


_MAX_ENTRY_BYTES = 64 * 2**20


class CacheKeyError(OSError):
    """The cache key file cannot be trusted or made; the message says why, on one line."""


def key_file() -> Path:
    """$NLM_AUTOGRADER_KEY_FILE, else $XDG_CONFIG_HOME (or ~/.config)/nlm-autograder/cache.key."""
    if os.environ.get(KEY_ENV):
        return Path(os.environ[KEY_ENV])
    config = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return config / "nlm-autograder" / "cache.key"


def load_key(path: Path | None = None) -> bytes:
    """The secret that signs cache entries: read from `path`, or made there (0600) on first use.
    A key file that is a symlink, not ours or readable by others is refused."""
    path = Path(path or key_file())
    if not os.path.lexists(path):
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as file:
                file.write(secrets.token_hex(32) + "\n")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError as error:
        raise CacheKeyError(f"cannot read the cache key {path}: {error.strerror}") from None
    with os.fdopen(fd) as file:
        info = os.fstat(file.fileno())
        if info.st_uid != os.geteuid() or info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise CacheKeyError(f"the cache key {path} must be yours and readable by you alone (chmod 600)")
        key = file.read().strip()
    if len(key) < 32:
        raise CacheKeyError(f"the cache key {path} is too short: delete it and a new one is made")
    return key.encode()


def check_key_outside(key_path: Path, reports: Path) -> None:
    """The key must not lie in the reports folder, which is what it protects."""
    try:
        Path(key_path).resolve().relative_to(Path(reports).resolve())
    except ValueError:
        return
    raise CacheKeyError(f"the cache key {key_path} is inside the reports folder {reports}; keep it elsewhere")


def _mac(secret: bytes, data: dict[str, Any]) -> str:
    blob = json.dumps({k: v for k, v in data.items() if k != "mac"}, sort_keys=True, separators=(",", ":"))
    return hmac.new(secret, blob.encode(), hashlib.sha256).hexdigest()


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
    from autograder.score import CheckResult, GradeReport

    return GradeReport(data["submission"], data["kind"], list(data["messages"]),
                       [CheckResult(**r) for r in data["results"]], data.get("execution_time", 0.0),
                       dict(data.get("metadata") or {}), dict(data.get("output") or {}))


@dataclasses.dataclass
class Cached:
    """A cache entry that passed every check: the report, the graded functions' sources and
    their fingerprints (batch/similarity.py)."""

    report: Any
    sources: dict[str, str]
    prints: dict[str, list[int]]


def _read_entry(path: Path) -> dict[str, Any]:
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(fd, "rb") as file:
        data = json.loads(file.read(_MAX_ENTRY_BYTES + 1)[:_MAX_ENTRY_BYTES].decode("utf-8"))
    if not isinstance(data, dict):
        raise ValueError("not an object")
    return data


def load_cached(path: Path, key: str, secret: bytes, student_id: str,
                parts: dict[str, Any] | None = None) -> tuple[Cached | None, str]:
    """(the cached entry, "") when the entry at `path` is this student's, matches `key` and its
    MAC; else (None, why not): "new", "changed" (the submission), "grader" (the grader's source),
    "options", "untrusted" (altered or forged) or "unreadable"."""
    try:
        data = _read_entry(path)
    except FileNotFoundError:
        return None, "new"
    except (OSError, ValueError, UnicodeDecodeError):
        return None, "unreadable"
    if not hmac.compare_digest(str(data.get("mac", "")), _mac(secret, data)) or data.get("student_id") != student_id:
        return None, "untrusted"
    if data.get("key") == key:
        try:
            return Cached(report_from_dict(data["report"]), dict(data.get("sources") or {}),
                          dict(data.get("prints") or {})), ""
        except (KeyError, TypeError, ValueError):
            return None, "unreadable"
    for part, reason in (("content", "changed"), ("grader", "grader"), ("options", "options")):
        if part in (parts or {}) and data.get(part) != parts[part]:
            return None, reason
    return None, "unreadable"


def load_starter_prints(path: Path, key: str, secret: bytes) -> dict[str, list[int]] | None:
    """The starter code's fingerprints stored under `key` (its bytes and the grader's source),
    if the entry at `path` is intact; else None."""
    try:
        data = _read_entry(path)
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    prints = data.get("prints")
    if data.get("key") != key or not hmac.compare_digest(str(data.get("mac", "")), _mac(secret, data)):
        return None
    return prints if isinstance(prints, dict) else None


def store_starter_prints(path: Path, key: str, secret: bytes, prints: dict[str, list[int]]) -> None:
    data = {"format": CACHE_FORMAT, "key": key, "prints": prints}
    data["mac"] = _mac(secret, data)
    write_text(path, json.dumps(data), mode=0o600)


def store_cached(path: Path, key: str, secret: bytes, report: Any, entry: Entry,
                 parts: dict[str, Any] | None = None, sources: dict[str, str] | None = None,
                 prints: dict[str, list[int]] | None = None) -> None:
    """Write REPORTS/.cache/<folder>.json atomically and signed: the key, what it was made of, the
    report, the sources and their fingerprints."""
    data = {"format": CACHE_FORMAT, "key": key, **(parts or {}), "student_id": entry.student_id,
            "submission": entry.submission, "graded_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
            "report": report_to_dict(report), "sources": sources or {}, "prints": prints or {}}
    data["mac"] = _mac(secret, data)
    write_text(path, json.dumps(data), mode=0o600)
