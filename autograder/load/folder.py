"""A folder of part modules (or of a notebook, or of a lone zip): what it holds, copied safely."""

from __future__ import annotations

import os
from pathlib import Path

from autograder.load.files import IGNORED_NAMES, MAX_FILE_BYTES, Rejected, is_module_name, read_file, summary, write_file
from autograder.registry import Course

def load_folder(src: Path, dest: Path, messages: list[str], course: Course, allow_zip: bool) -> str:
    """Load the top level of ``src``: .py modules, else a notebook, else a lone zip."""
    entries = _list_folder(src)
    files = [e for e in entries if e.is_file(follow_symlinks=False)]
    python = [e for e in files if e.name.endswith(".py") and is_module_name(e.name[:-3])]
    for entry in entries:
        if entry.name.endswith(".py") and entry not in python:
            why = "not a regular file" if is_module_name(entry.name[:-3]) else "not a valid module name"
            messages.append(f"skipped {entry.name}: {why}")

    notebooks = [e for e in files if e.name.lower().endswith(".ipynb")]
    if any(e.name[:-3] in course.modules for e in python):
        if notebooks:
            messages.append(f"ignored {summary([e.name for e in notebooks])}: the .py files are graded")
        return _copy_modules(python, dest, messages, course)
    if notebooks:
        from autograder.load.notebook import choose_notebook, load_notebook

        notebook, nb = choose_notebook([Path(e.path) for e in notebooks], messages)
        load_notebook(notebook, nb, dest, messages, course)
        return "notebook"
    zips = [e for e in files if e.name.lower().endswith(".zip")]
    if zips and len(entries) == 1 and allow_zip:
        from autograder.load.archive import load_zip

        return load_zip(Path(zips[0].path), dest, messages, course)
    if zips and not allow_zip:
        messages.append("a .zip inside the .zip is not unpacked")
    found = [e.name + ("/" if e.is_dir(follow_symlinks=False) else "") for e in entries]
    messages.append(f"no {part_files(course)} or notebook found; found: {summary(found) or 'nothing'}")
    return "empty"


def _list_folder(src: Path) -> list[os.DirEntry[str]]:
    """Top-level entries of ``src`` by name, without dotfiles, caches and macOS metadata."""
    try:
        with os.scandir(src) as scan:
            entries = [e for e in scan if not e.name.startswith(".") and e.name not in IGNORED_NAMES]
    except OSError as exc:
        raise Rejected(f"could not read the folder {src.name}: {exc.strerror}") from None
    return sorted(entries, key=lambda e: e.name)


def _copy_modules(python: list[os.DirEntry[str]], dest: Path, messages: list[str], course: Course) -> str:
    """Copy the .py modules into ``dest`` (helpers too: the parts may import them)."""
    copied = []
    for entry in python:
        try:
            data = read_file(Path(entry.path), MAX_FILE_BYTES)
        except Rejected as exc:
            messages.append(f"skipped {entry.name}: {exc}")
            continue
        write_file(dest / entry.name, data)
        copied.append(entry.name)
    missing = [f"{m}.py" for m in course.modules if f"{m}.py" not in copied]
    messages.append(f"found {', '.join(copied)}" + (f"; missing {', '.join(missing)}" if missing else ""))
    return "folder" if len(missing) < len(course.modules) else "empty"


def part_files(course: Course) -> str:
    return ", ".join(p.file for p in course.parts)
