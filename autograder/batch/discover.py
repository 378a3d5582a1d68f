"""Discover: who is in the class and what to grade for each. A folder of submissions (one
subfolder, .ipynb, .zip or lone .py per student, named by the student id), or Gradescope's
"Export Submissions" (its folder or .zip, with `submission_metadata.yml` naming each submission's
submitters: a group submission gives each member a row)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

SUBMISSION_SUFFIXES = (".ipynb", ".zip", ".py")


METADATA_FILE = "submission_metadata.yml"


_IGNORED = ("__MACOSX", "__pycache__")


_UNSAFE_ID = re.compile(r"[^A-Za-z0-9._@+-]+")


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
