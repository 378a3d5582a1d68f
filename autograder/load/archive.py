"""Zip archives, the one safe unzip: every entry checked before anything is written, then
extracted into a private folder with real bytes counted, so a lying header cannot bomb.

A student's submission rejects a bad entry (traversal, link, encryption, size); a class export
skips it with a note, so one student's odd zip entry never stops the instructor's batch."""

from __future__ import annotations

import os
import stat
import tempfile
import zipfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PureWindowsPath

from autograder.load.files import MAX_FILE_BYTES, MAX_ZIP_BYTES, MAX_ZIP_ENTRIES, Rejected, count, mb, shown, summary
from autograder.load.submission import Loaded
from autograder.registry import Course

_Members = list[tuple[zipfile.ZipInfo, tuple[str, ...]]]  # zip entries to extract, with their paths
_CHUNK = 1 << 20


@dataclass(frozen=True)
class ZipLimits:
    entries: int
    total_bytes: int
    file_bytes: int
    strict: bool = True  # reject the archive for a bad entry, rather than skip the entry


SUBMISSION = ZipLimits(MAX_ZIP_ENTRIES, MAX_ZIP_BYTES, MAX_FILE_BYTES)
EXPORT = ZipLimits(1_000_000, 4 * 2**30, 512 * 2**20, strict=False)


def load_zip(path: Path, dest: Path, out: Loaded, course: Course) -> None:
    """Check every entry, extract into a private subfolder of `dest`, load that as a folder."""
    from autograder.load.folder import Empty, load_folder

    # The private folder's dotted name can never clash with a copied module.
    with tempfile.TemporaryDirectory(dir=dest, prefix=".unzipped-") as unpacked:
        names, top = unpack(path, Path(unpacked), SUBMISSION, out.messages)
        where = f" in the folder '{shown(top)}/'" if top else ""
        out.messages.append(f"zip: {shown(path.name)} holds {count(len(names), 'file')}{where}: {summary(names) or 'none'}")
        try:
            load_folder(Path(unpacked), dest, out, course, allow_zip=False, where=f"{top}/" if top else "",
                        depth=1 if top else 0)
        except Empty as empty:
            raise Empty(empty.found, f" in {shown(path.name)}") from None
    out.kind = "zip"


def unpack(path: Path, root: Path, limits: ZipLimits, notes: list[str]) -> tuple[list[str], str]:
    """Extract the zip at `path` into the folder `root`: the extracted names, and the one top
    folder stripped from them ("" if none). Raises Rejected."""
    try:
        archive = zipfile.ZipFile(path)
    # A damaged central directory surfaces as assorted types (BadZipFile, OSError, ValueError...).
    except Exception as exc:  # noqa: BLE001
        raise Rejected(f"{shown(path.name)} is not a readable zip archive ({exc})") from None
    with archive:
        members, top = _members(archive, limits, notes)
        _extract(archive, members, root, limits)
    return ["/".join(parts) for _, parts in members], top


def _members(archive: zipfile.ZipFile, limits: ZipLimits, notes: list[str]) -> tuple[_Members, str]:
    """Validate every entry; return the files to extract with their paths, and the stripped top folder."""
    infos = archive.infolist()
    if len(infos) > limits.entries:
        raise Rejected(f"the zip has {len(infos)} entries; at most {limits.entries} are allowed")
    total, members = 0, []
    for info in infos:
        parts = tuple(p for p in info.filename.replace("\\", "/").split("/") if p not in ("", "."))
        problem = _entry_problem(info, parts, limits)
        if problem and limits.strict:
            raise Rejected(problem)
        if problem:
            notes.append(f"skipped: {problem}")
            continue
        total += info.file_size
        if total > limits.total_bytes:
            raise Rejected(f"the zip unpacks to more than {mb(limits.total_bytes)}")
        ignored = parts[:1] == ("__MACOSX",) or any(p.startswith(".") for p in parts)
        if parts and not info.is_dir() and not ignored:
            members.append((info, parts))
    tops = {parts[0] for _, parts in members}
    if len(tops) == 1 and all(len(parts) > 1 for _, parts in members):
        return [(info, parts[1:]) for info, parts in members], tops.pop()
    return members, ""


def _entry_problem(info: zipfile.ZipInfo, parts: tuple[str, ...], limits: ZipLimits) -> str | None:
    name = shown(info.filename)
    if PureWindowsPath(name).anchor or ".." in parts or (parts and parts[0].endswith(":")):
        return f"zip entry '{name}' points outside the archive"
    if stat.S_ISLNK(info.external_attr >> 16):
        return f"zip entry '{name}' is a symbolic link"
    if info.flag_bits & 0x1:
        return f"zip entry '{name}' is encrypted"
    if info.file_size > limits.file_bytes:
        return f"zip entry '{name}' is larger than {mb(limits.file_bytes)}"
    return None


def _extract(archive: zipfile.ZipFile, members: _Members, root: Path, limits: ZipLimits) -> None:
    """Extract checked members under `root`, counting real bytes so a lying header cannot bomb."""
    budget = limits.total_bytes
    for info, parts in members:
        target = root.joinpath(*parts)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
        except OSError as exc:  # e.g. a duplicate entry, or a file where a folder should be
            raise Rejected(f"zip entry '{shown(info.filename)}' cannot be unpacked ({exc.strerror})") from None
        written = 0
        with os.fdopen(fd, "wb") as out:
            try:
                with archive.open(info) as member:
                    while chunk := member.read(_CHUNK):
                        written += len(chunk)
                        if written > min(limits.file_bytes, budget):
                            raise Rejected(f"zip entry '{shown(info.filename)}' unpacks to more than the size limits allow")
                        out.write(chunk)
            except Rejected:
                raise
            # Corrupt data raises per compressor (BadZipFile, zlib.error, lzma.LZMAError, EOFError...).
            except Exception as exc:  # noqa: BLE001
                raise Rejected(f"zip entry '{shown(info.filename)}' cannot be read ({exc})") from None
        budget -= written
        try:  # entry dates decide which notebook is the most recent; a nonsense date is no error
            stamp = datetime(*info.date_time).timestamp()
            os.utime(target, (stamp, stamp))
        except (ValueError, OverflowError):
            pass
