"""Reading an upload safely: size limits, files created without following anything, and short
student-facing summaries. Bad input raises `Rejected`, whose text the student reads."""

from __future__ import annotations

import keyword
import os
from pathlib import Path

MAX_ZIP_ENTRIES = 200


MAX_ZIP_BYTES = 20 * 2**20


MAX_FILE_BYTES = 5 * 2**20  # per zip entry and per copied .py file


MAX_NOTEBOOK_BYTES = 50 * 2**20  # notebooks carry their outputs (plots), so they get more room


IGNORED_NAMES = ("__pycache__", "__MACOSX")


LIST_LIMIT = 8


class Rejected(Exception):
    """The upload cannot be graded; the text is shown to the student."""


def read_file(path: Path, limit: int) -> bytes:
    """Read at most ``limit`` bytes of an uploaded file; reject larger or unreadable files."""
    try:
        with open(path, "rb") as f:
            data = f.read(limit + 1)
    except OSError as exc:
        raise Rejected(f"could not read {path.name}: {exc.strerror}") from None
    if len(data) > limit:
        raise Rejected(f"{path.name} is larger than {mb(limit)}")
    return data


def write_file(target: Path, data: bytes) -> None:
    """Create ``target`` with mode 0644; O_EXCL never overwrites or follows an existing entry."""
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        os.fchmod(f.fileno(), 0o644)  # the umask may have removed bits


def is_module_name(name: str) -> bool:
    return name.isidentifier() and not keyword.iskeyword(name)


def summary(items: list[str]) -> str:
    """A comma-separated list, shortened after a few items."""
    shown = ", ".join(items[:LIST_LIMIT])
    return shown + (f" and {len(items) - LIST_LIMIT} more" if len(items) > LIST_LIMIT else "")


def count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def short(text: str, width: int = 40) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def mb(size: int) -> str:
    return f"{size / 2**20:g} MB"
