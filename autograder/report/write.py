"""Writing reports where nobody else can redirect them.

The reports folder and every folder in it are created by grade-all with mode 0700; one that
already exists must be a real folder (not a symlink) owned by this user and writable by nobody
else, or the run stops with a one-line error before anything is written. Each file is written to
a fresh temporary name opened with O_CREAT | O_EXCL | O_NOFOLLOW (a symlink or file planted at
that name makes the open fail instead of writing through it) and renamed over the final name,
which replaces a symlink there rather than following it. A reader never sees half a file.
"""

from __future__ import annotations

import os
import secrets
import shutil
import stat
from pathlib import Path

_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)


class UnsafeFolder(OSError):
    """A folder grade-all will not write into; the message says why, on one line."""


def check_own_folder(path: Path) -> None:
    """Raise UnsafeFolder unless `path` is a folder of ours that nobody else can write (a symlink
    to one counts only if the link is ours too: nobody else can have planted it)."""
    try:
        info = os.lstat(path)
        if stat.S_ISLNK(info.st_mode):
            if info.st_uid != os.geteuid():
                raise UnsafeFolder(f"{path} is a symlink made by uid {info.st_uid}, not by you: give --out "
                                   "a folder of your own")
            info = os.stat(path)
    except FileNotFoundError:
        raise UnsafeFolder(f"{path} does not exist") from None
    if not stat.S_ISDIR(info.st_mode):
        raise UnsafeFolder(f"{path} is not a folder; give --out a folder of your own")
    if info.st_uid != os.geteuid():
        raise UnsafeFolder(f"{path} belongs to uid {info.st_uid}, not to you: grade-all writes only "
                           "into a reports folder it created (remove it or give another --out)")
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise UnsafeFolder(f"{path} is writable by others (mode {stat.S_IMODE(info.st_mode):o}): "
                           "give --out a new folder; grade-all creates it with mode 0700")


def make_folder(path: Path) -> Path:
    """`path` as a folder of ours with mode 0700: created (parents too, if missing), or checked."""
    path = Path(path)
    if not os.path.lexists(path):
        if not path.parent.exists():
            make_parents(path.parent)
        try:
            os.mkdir(path, 0o700)
        except FileExistsError:
            pass  # made meanwhile: checked below like any existing folder
    check_own_folder(path)
    os.chmod(path, 0o700)  # an older run's 0755 folder of ours becomes private too
    return path


def make_parents(path: Path) -> None:
    """The folders above a reports folder (not ours to check: the user named them)."""
    path.mkdir(parents=True, exist_ok=True)


def write_bytes(path: Path, data: bytes, mode: int = 0o644, *, durable: bool = False) -> None:
    """Write `data` to `path` atomically, never through a link (see the module's docstring);
    `durable`: on disk before the rename (a power cut leaves the old file or the new one)."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(tmp, _FLAGS, mode)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            if durable:
                file.flush()
                os.fsync(file.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def write_text(path: Path, text: str, *, bom: bool = False, mode: int = 0o644, durable: bool = False) -> None:
    """write_bytes of UTF-8 text (with a byte-order mark for spreadsheets, if asked)."""
    write_bytes(path, ("\ufeff" if bom else "").encode() + text.encode("utf-8"), mode, durable=durable)


def move_aside(path: Path, dest_folder: Path) -> Path:
    """Move the folder `path` into `dest_folder` (replacing a folder of the same name there)."""
    target = dest_folder / path.name
    if os.path.lexists(target):
        shutil.rmtree(target) if target.is_dir() and not target.is_symlink() else os.unlink(target)
    os.rename(path, target)
    return target
