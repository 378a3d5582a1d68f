"""Discover: who is in the class and what to grade for each. A folder of submissions (one
subfolder, .ipynb, .zip or lone .py per student, named by the student id), or Gradescope's
"Export Submissions" (its folder or .zip, with `submission_metadata.yml` naming each submission's
submitters and when it was uploaded: a group submission gives each member a row).

A student id is kept as it is (Unicode too, control characters removed); the folder of their
reports gets a file-safe name of its own (`folder_name`), and run.py records the mapping. An id
claimed by two submissions (a SID reused in an export) gives each claim an error row: two
students are never merged into one.
"""

from __future__ import annotations

import os
import time
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autograder.report.sanitize import one_line

SUBMISSION_SUFFIXES = (".ipynb", ".zip", ".py")


METADATA_FILE = "submission_metadata.yml"


# The instructor's own files beside the submissions: never a student's.
INSTRUCTOR_FILES = ("grading.toml", "overrides.csv")


_IGNORED = ("__MACOSX", "__pycache__")


_FOLDER_PUNCTUATION = "._@+-"


@dataclass
class Entry:
    """One student to put in the gradebook, and what to grade for them."""

    student_id: str              # as the class or export names them (printable, Unicode kept)
    path: Path | None            # None: listed in the export's metadata but no files came with it
    submission: str              # what was graded, as shown in reports (a file or folder name)
    name: str = ""
    email: str = ""
    sid: str = ""
    created_at: str = ""         # the export's upload time, as written there
    error: str = ""              # why this row cannot be graded (a reused id)
    folder: str = field(default="", compare=False)  # file-safe name of the reports folder


@dataclass
class Listed:
    """One submission of an export's metadata: its submitters and its upload time."""

    people: list[dict[str, str]]
    created_at: str = ""


def folder_name(text: str) -> str:
    """A file-safe folder name for a student id: letters and digits of any script, . _ @ + -,
    everything else "_"; no leading dot, at most 80 characters, never empty."""
    text = unicodedata.normalize("NFC", one_line(text))
    cleaned = "".join(c if c.isalnum() or c in _FOLDER_PUNCTUATION else "_" for c in text).lstrip(".")
    return cleaned[:80] or "student"


def assign_folders(entries: list[Entry]) -> list[Entry]:
    """Give every entry a distinct folder, ignoring case (zoë/ and Zoë/ on a Mac): zoë, Zoë-2."""
    taken: set[str] = set()
    for entry in entries:
        base = folder_name(entry.student_id)
        entry.folder, n = base, 1
        while entry.folder.casefold() in taken:
            n += 1
            entry.folder = f"{base}-{n}"
        taken.add(entry.folder.casefold())
    return entries


def flag_reused_ids(entries: list[Entry]) -> list[Entry]:
    """An id claimed by two or more submissions: each claim becomes an error row naming the others."""
    claims: dict[str, list[Entry]] = {}
    for entry in entries:
        claims.setdefault(entry.student_id, []).append(entry)
    for student, mine in claims.items():
        if len(mine) > 1:
            where = ", ".join(e.submission for e in mine)
            for entry in mine:
                entry.error = (f"the id {student} is claimed by {len(mine)} submissions ({where}); "
                               "none of them was graded: fix the export or the folder names")
    return entries


def _yaml_loader() -> type:
    """A SafeLoader that reads Gradescope's Ruby-flavoured YAML: an unknown tag such as
    `!ruby/object:BigDecimal` or `!ruby/hash:...` yields its plain mapping, list or string; and
    scalars stay text (a SID 00123 keeps its zeros, a time stays as written)."""
    import yaml  # (here: only an export has metadata to read)

    class Loader(yaml.SafeLoader):
        pass

    def plain(loader: Any, suffix: str, node: Any) -> Any:
        if isinstance(node, yaml.MappingNode):
            return loader.construct_mapping(node, deep=True)
        if isinstance(node, yaml.SequenceNode):
            return loader.construct_sequence(node, deep=True)
        return loader.construct_scalar(node)

    as_text = {"tag:yaml.org,2002:int", "tag:yaml.org,2002:float", "tag:yaml.org,2002:bool",
               "tag:yaml.org,2002:timestamp"}
    Loader.yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag not in as_text]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}
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


def read_metadata(path: Path) -> dict[str, Listed]:
    """submission folder name -> its submitters [{"name", "email", "sid"}] and upload time, from
    submission_metadata.yml (every value one printable line of text)."""
    import yaml

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
            entry = {k: "" if _field(person, k) is None else one_line(_field(person, k)) for k in ("name", "email", "sid")}
            if entry not in people:  # one person listed twice in one submission is one row
                people.append(entry)
        created = _field(record, "created_at")
        metadata[one_line(folder)] = Listed(people, "" if created is None else one_line(created))
    return metadata


def _candidates(root: Path, exclude: Sequence[Path]) -> tuple[list[Path], list[str]]:
    """The possible submissions directly inside `root`, and notes on what was skipped."""
    paths, skipped = [], []
    excluded = {p.resolve() for p in exclude}
    for path in sorted(root.iterdir(), key=lambda p: p.name):
        if path.name.startswith(".") or path.name in _IGNORED or path.name in (METADATA_FILE, *INSTRUCTOR_FILES):
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


def changed_since(root: Path, since_ns: int, exclude: Sequence[Path] = ()) -> int:
    """How many of the possible submissions in the folder `root` have a file or folder modified
    after `since_ns` (nanoseconds since the epoch) and not in the future (a time from the future,
    as a skewed clock or an export leaves, says nothing about when it changed): a guess from file
    times alone, which a copy keeping times or a touched file gets wrong. It only starts the
    workers early (batch/launch.py): the content hashes decide what is graded."""
    paths, _ = _candidates(root, exclude)
    window = (since_ns, time.time_ns())
    return sum(_modified_within(path, window) for path in paths)


def _modified_within(path: Path, window: tuple[int, int]) -> bool:
    since, now = window
    try:
        if since < path.lstat().st_mtime_ns <= now:
            return True
        for folder, dirs, names in os.walk(path):
            for name in dirs + names:
                if since < os.lstat(os.path.join(folder, name)).st_mtime_ns <= now:
                    return True
    except OSError:
        return True  # unreadable now: grading will say why
    return False


def _own_id(path: Path) -> str:
    return one_line(path.name if path.is_dir() else path.stem)


def discover(root: Path, exclude: Sequence[Path] = ()) -> tuple[list[Entry], list[str]]:
    """Every student in the folder `root`, with notes for the instructor."""
    paths, notes = _candidates(root, exclude)
    metadata_path = root / METADATA_FILE
    if not metadata_path.is_file():
        entries = [Entry(_own_id(p), p, p.name) for p in paths]
        return assign_folders(flag_reused_ids(entries)), notes

    import yaml

    try:
        metadata = read_metadata(metadata_path)
        notes.append(f"Gradescope export: {len(metadata)} submission(s) listed in {METADATA_FILE}")
    except (OSError, TypeError, yaml.YAMLError) as error:  # grade anyway, without names
        metadata = {}
        notes.append(f"could not read {METADATA_FILE} ({one_line(error)[:200]}); "
                     "students are named by their submission folders")
    entries, listed = [], set()
    for path in paths:
        key = path.name if path.name in metadata else path.stem
        record = metadata.get(key, Listed([]))
        listed.add(key)
        if not record.people:
            entries.append(Entry(_own_id(path), path, path.name, created_at=record.created_at))
        entries += _people(record, path, path.name, key)  # a group submission gives each member a row
    for key, record in metadata.items():
        if key not in listed:
            entries += _people(record, None, key, key) or [Entry(key, None, key)]
    return assign_folders(flag_reused_ids(entries)), notes


def _people(record: Listed, path: Path | None, submission: str, key: str) -> list[Entry]:
    return [Entry(p["sid"] or p["email"] or key, path, submission, p["name"], p["email"], p["sid"],
                  record.created_at) for p in record.people]
