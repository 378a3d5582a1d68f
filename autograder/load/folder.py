"""A folder: find what in it is gradable (part modules, else a notebook, else one script, else a
lone zip, else the one folder it wraps) and copy it safely into the canonical form."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path

from autograder.load.files import (MAX_FILE_BYTES, MAX_WRAPPERS, Listing, Rejected, Skipped, count, is_module_name,
                                   list_folder, parse_or_none, read_file, shown, summary, write_file)
from autograder.load.imports import ImportRule
from autograder.load.names import Matched, match_parts
from autograder.load.submission import UNAVAILABLE_IMPORT, Loaded, missing_in_part
from autograder.registry import Course


@dataclass
class Empty(Exception):
    """Nothing gradable was found: what was (names relative to the submission), and where
    (" in hw.zip"; "" for the upload itself)."""

    found: list[str] = field(default_factory=list)
    inside: str = ""


def load_folder(src: Path, dest: Path, out: Loaded, course: Course, allow_zip: bool, where: str = "",
                depth: int = 0) -> None:
    """Load the gradable content of ``src`` into ``dest``; raises Empty if there is none.
    ``where`` is the path of ``src`` in the submission ("" at its top, "hw3/" inside a wrapper)."""
    listing = list_folder(src, where)
    out.messages += listing.skipped
    matched = match_parts([p.name for p in listing.files], course.modules)
    notebooks = [p for p in listing.files if p.name.lower().endswith(".ipynb")]
    python = [p for p in listing.files if p.name.lower().endswith(".py")]
    zips = [p for p in listing.files if p.name.lower().endswith(".zip")]
    if matched.parts:
        _load_parts(listing, matched, notebooks, dest, out, course)
    elif notebooks or python:
        _load_whole_assignment(notebooks, python, dest, out, course)
    elif zips and allow_zip and len(listing.files) == 1 and not listing.folders:
        from autograder.load.archive import load_zip

        load_zip(zips[0], dest, out, course)
    elif len(listing.folders) == 1 and not zips and depth < MAX_WRAPPERS:  # a wrapper, a README beside it
        _load_wrapped(listing, dest, out, course, allow_zip, where, depth)
    else:
        nested = " (a .zip inside the .zip is not unpacked)" if not allow_zip else ""
        raise Empty([where + p.name + (nested if p in zips else "") for p in listing.files]
                    + [f"{where}{p.name}/" for p in listing.folders]
                    + [note.removeprefix("skipped ") for note in listing.skipped])


def _load_parts(listing: Listing, matched: Matched, notebooks: list[Path], dest: Path, out: Loaded,
                course: Course) -> None:
    by_name = {p.name: p for p in listing.files}
    out.messages += matched.notes
    if notebooks:
        out.messages.append(f"ignored {summary([p.name for p in notebooks])}: the .py files are graded")
    copy_parts({m: by_name[n] for m, n in matched.parts.items()}, [by_name[n] for n in matched.helpers],
               dest, out, course)


def _load_wrapped(listing: Listing, dest: Path, out: Loaded, course: Course, allow_zip: bool, where: str,
                  depth: int) -> None:
    """The one folder inside (hw3/, nlm-hw3-main/); if it holds nothing either, say what all held."""
    inner = f"{where}{listing.folders[0].name}/"
    out.messages.append(f"graded the files in the folder '{shown(inner)}'")
    try:
        load_folder(listing.folders[0], dest, out, course, allow_zip, inner, depth + 1)
    except Empty as empty:
        raise Empty([where + p.name for p in listing.files] + empty.found) from None


def _load_whole_assignment(notebooks: list[Path], python: list[Path], dest: Path, out: Loaded,
                           course: Course) -> None:
    """A notebook, else one .py holding every part; the other .py files are its helpers."""
    from autograder.load.notebook import choose_notebook, load_notebook, load_script

    script = None if notebooks else _choose_script(python, out.messages, course)
    if script is None and not notebooks:
        raise Empty([p.name for p in python])
    helpers = [p for p in python if p != script and p.name.endswith(".py") and is_module_name(p.name[:-3])]
    rule = ImportRule(course, copy_helpers(helpers, dest, out))
    if notebooks:
        notebook, nb = choose_notebook(notebooks, out.messages)
        load_notebook(notebook, nb, dest, out, course, rule)
    else:
        source = read_file(script, MAX_FILE_BYTES).decode("utf-8", errors="replace")
        load_script(script, source, dest, out, course, rule)


def _choose_script(python: list[Path], messages: list[str], course: Course) -> Path | None:
    """The .py holding the assignment: the only one, else the one defining most graded functions."""
    if len(python) == 1:
        return python[0]
    graded = {f.name for f in course.functions}
    defines = {}
    for path in python:
        try:
            text = read_file(path, MAX_FILE_BYTES).decode("utf-8", errors="replace")
        except (Rejected, Skipped):
            continue
        defines[path] = len(graded & set(re.findall(r"^\s*def\s+(\w+)\s*\(", text, re.M)))
    best = max(defines.values(), default=0)
    if not best:
        return None
    chosen = next(p for p in python if defines.get(p) == best)
    messages.append(f"found {count(len(python), '.py file')} and none named like a part: graded "
                    f"{shown(chosen.name)}, which defines the most graded functions ({best})")
    return chosen


def copy_helpers(paths: list[Path], dest: Path, out: Loaded) -> dict[str, ast.Module | None]:
    """Copy the submission's own modules; their parsed trees (None: not parsed) by module name."""
    trees = {}
    for path in paths:
        data = _read_or_note(path, out.messages)
        if data is not None:
            write_file(dest / path.name, data)
            trees[path.name[:-3]] = parse_or_none(data)
    return trees


def copy_parts(parts: dict[str, Path], helpers: list[Path], dest: Path, out: Loaded, course: Course,
               plain_only: bool = True) -> None:
    """Copy the part modules (renamed to their part's name) and helpers; an empty module for a
    part the submission lacks; record missing functions and unavailable imports. ``plain_only``
    is False only for a lone file the caller named (it may be a link)."""
    rule = ImportRule(course, copy_helpers(helpers, dest, out))
    trees: dict[str, ast.Module | None] = {}
    for module, path in parts.items():
        data = _read_or_note(path, out.messages, plain_only)
        if data is not None:
            write_file(dest / f"{module}.py", data)
            trees[module] = parse_or_none(data)
    if not trees:
        raise Empty([p.name for p in parts.values()])
    for part in course.parts:
        if part.module not in trees:
            write_file(dest / part.file, f"# {part.file} is not in the submission: its functions score 0.\n".encode())
            judged = missing_in_part(part, None, course)
        elif trees[part.module] is None:
            judged = {}  # a syntax error: importing it says so
        else:
            judged = missing_in_part(part, trees[part.module], course)
        out.missing.update({f.qualname: why for f, why in judged.items()})
        _apply_import_rule(part.module, trees.get(part.module), rule, out, course)
    found = [f"{m}.py" for m in course.modules if m in trees]
    absent = [p.file for p in course.parts if p.module not in trees]
    out.messages.append(f"found {', '.join(found)}" + (f"; missing {', '.join(absent)}" if absent else ""))
    out.modules = [m for m in course.modules if m in trees]
    out.kind = "folder"


def _apply_import_rule(module: str, tree: ast.Module | None, rule: ImportRule, out: Loaded, course: Course) -> None:
    """A part module importing what the grader does not have: all its functions fail with one
    message, and it is never imported (stand-ins for it everywhere), on every machine alike."""
    unavailable = rule.first_unavailable(tree, f"{module}.py") if tree is not None else None
    if unavailable is None:
        return
    failure = (UNAVAILABLE_IMPORT, unavailable.message)
    out.broken[module] = failure
    out.failed.update({f.qualname: failure for f in course.in_part(module) if f.qualname not in out.missing})
    out.messages.append(f"{module}.py: {unavailable.message}; its functions are not run")


def _read_or_note(path: Path, messages: list[str], plain_only: bool = True) -> bytes | None:
    try:
        return read_file(path, MAX_FILE_BYTES, plain_only)
    except (Rejected, Skipped) as exc:
        messages.append(f"skipped {shown(path.name)}: {exc}")
        return None


def part_files(course: Course) -> str:
    return ", ".join(p.file for p in course.parts)

