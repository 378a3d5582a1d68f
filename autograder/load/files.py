"""Reading an upload safely: size limits, plain files only (no links), files created without
following anything, and short student-facing summaries. Bad input raises `Rejected`, whose text
the student reads; a file that is not a plain file raises `Skipped`, which becomes a note."""

from __future__ import annotations

import ast
import keyword
import os
import shutil
import stat
from dataclasses import dataclass, field
from pathlib import Path

MAX_ZIP_ENTRIES = 200


MAX_ZIP_BYTES = 20 * 2**20


MAX_FILE_BYTES = 5 * 2**20  # per zip entry and per copied .py file


MAX_NOTEBOOK_BYTES = 50 * 2**20  # notebooks carry their outputs (plots), so they get more room


MAX_CELLS = 2000  # the handout has a few dozen cells; parsing costs per cell


MAX_WRAPPERS = 3  # folders holding only one folder, descended into (hw3/, nlm-hw3-main/)


IGNORED_NAMES = ("__pycache__", "__MACOSX")


LIST_LIMIT = 8


NAME_WIDTH = 120  # characters of a student-chosen name (a file, a magic line) shown in a note


class Rejected(Exception):
    """The upload cannot be graded; the text is shown to the student."""


class Skipped(Exception):
    """A file that is not read (a link, a device...); the text says why."""


@dataclass
class Listing:
    """A folder's entries that may be read: plain files and real subfolders, by name; and a note
    for each entry skipped (links and special files are never followed or read)."""

    files: list[Path] = field(default_factory=list)
    folders: list[Path] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def list_folder(src: Path, where: str = "") -> Listing:
    """The entries of ``src`` without dotfiles, caches and macOS metadata; ``where`` prefixes names
    in notes (the wrapper folders descended into)."""
    try:
        with os.scandir(src) as scan:
            entries = sorted((e for e in scan if not e.name.startswith(".") and e.name not in IGNORED_NAMES),
                             key=lambda e: e.name)
    except OSError as exc:
        raise Rejected(f"could not read the folder {shown(src.name)}: {exc.strerror}") from None
    listing = Listing()
    for entry in entries:
        try:
            info = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if stat.S_ISDIR(info.st_mode):
            listing.folders.append(Path(entry.path))
            continue
        problem = link_problem(info)
        if problem:
            listing.skipped.append(f"skipped {shown(where + entry.name)}: {problem}")
        else:
            listing.files.append(Path(entry.path))
    return listing


def link_problem(info: os.stat_result) -> str | None:
    """Why a file of this lstat/fstat may not be read: a link could show the student a file that
    is not theirs (a hard link to a root-only file, a symlink out of the folder)."""
    if stat.S_ISLNK(info.st_mode):
        return "it is a symbolic link (links are not followed)"
    if not stat.S_ISREG(info.st_mode):
        return "it is not a regular file"
    if info.st_nlink > 1:
        return f"it is a hard link (a file with {info.st_nlink} names; only plain files are read)"
    return None


_NO_FOLLOW = getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)


def read_file(path: Path, limit: int, plain_only: bool = True) -> bytes:
    """Read at most ``limit`` bytes of an uploaded file; reject larger or unreadable files.

    With ``plain_only`` (every file inside a submission) the file is opened without following a
    link and checked once open, so nothing swapped in after the listing is read: Skipped."""
    try:
        fd = os.open(path, os.O_RDONLY | (_NO_FOLLOW if plain_only else getattr(os, "O_BINARY", 0)))
    except OSError as exc:
        if plain_only and os.path.islink(path):
            raise Skipped("it is a symbolic link (links are not followed)") from None
        raise Rejected(f"could not read {shown(path.name)}: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as f:
        problem = link_problem(os.fstat(f.fileno())) if plain_only else None
        if problem:
            raise Skipped(problem)
        data = f.read(limit + 1)
    if len(data) > limit:
        raise Rejected(f"{shown(path.name)} is larger than {mb(limit)}")
    return data


def parse_or_none(source: bytes) -> ast.Module | None:
    """The syntax tree of a module's source, or None if it does not parse (importing it says why)."""
    try:
        return ast.parse(source)
    except (SyntaxError, ValueError, RecursionError):
        return None


def write_file(target: Path, data: bytes) -> None:
    """Create ``target`` with mode 0644; O_EXCL never overwrites or follows an existing entry."""
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o644)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        if hasattr(os, "fchmod"):
            os.fchmod(f.fileno(), 0o644)  # the umask may have removed bits


def clear_folder(folder: Path) -> None:
    """Remove everything in ``folder`` (written before the upload turned out unusable)."""
    for entry in folder.iterdir():
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


def is_module_name(name: str) -> bool:
    return name.isidentifier() and not keyword.iskeyword(name)


def shown(name: str) -> str:
    """A student-chosen name as a note shows it: at most NAME_WIDTH characters."""
    return name if len(name) <= NAME_WIDTH else f"{name[:NAME_WIDTH]}... ({len(name) - NAME_WIDTH} characters more)"


def summary(items: list[str]) -> str:
    """A comma-separated list, shortened after a few items."""
    shown_items = ", ".join(shown(item) for item in items[:LIST_LIMIT])
    return shown_items + (f" and {len(items) - LIST_LIMIT} more" if len(items) > LIST_LIMIT else "")


def count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def short(text: str, width: int = 40) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def mb(size: int) -> str:
    return f"{size / 2**20:g} MB"
