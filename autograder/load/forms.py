"""Every accepted form of upload becomes the canonical folder (runs in the loading child):

  folder of part modules (at its top or inside up to three wrapper folders), one notebook, one
  .py of any other name (the whole assignment), or a .zip of any of these; a lone part module.
Anything else is "empty" with one message saying what was found and what was expected.
"""

from __future__ import annotations

from pathlib import Path

from autograder.load.files import MAX_FILE_BYTES, Rejected, clear_folder, read_file, shown, summary
from autograder.load.folder import Empty, copy_parts, load_folder, part_files
from autograder.load.imports import ImportRule
from autograder.load.names import match_parts
from autograder.load.submission import Loaded
from autograder.registry import Course


def load_here(path: Path, dest: Path, course: Course) -> Loaded:
    """Load the upload at ``path`` into the empty folder ``dest`` (in this process)."""
    out = Loaded()
    try:
        _load_path(path, dest, out, course)
    except Rejected as exc:
        clear_folder(dest)
        return _nothing(course, "rejected", [f"rejected: {exc}"], "not graded: the submission was rejected")
    except Empty as empty:
        clear_folder(dest)
        return _nothing(course, "empty", [_empty_message(empty, course)],
                        "not attempted: nothing gradable in the submission")
    return out


def _load_path(path: Path, dest: Path, out: Loaded, course: Course) -> None:
    """Dispatch on what ``path`` is. The path itself is the caller's choice, so it may be a link;
    nothing inside it may be."""
    if path.is_dir():
        load_folder(path, dest, out, course, allow_zip=True)
        return
    if not path.is_file():
        raise Rejected(f"{shown(path.name)} was not found or is not a regular file")
    suffix = path.suffix.lower()
    if suffix == ".ipynb":
        from autograder.load.notebook import load_notebook, read_notebook

        load_notebook(path, read_notebook(path, plain_only=False), dest, out, course, ImportRule(course, {}))
    elif suffix == ".zip":
        from autograder.load.archive import load_zip

        load_zip(path, dest, out, course)
    elif suffix == ".py":
        _load_lone_py(path, dest, out, course)
    else:
        raise Empty([path.name])


def _load_lone_py(path: Path, dest: Path, out: Loaded, course: Course) -> None:
    """One part module (however matched), else a script holding the whole assignment."""
    matched = match_parts([path.name], course.modules)
    if matched.parts:
        out.messages += matched.notes
        copy_parts({m: path for m in matched.parts}, [], dest, out, course, plain_only=False)
        return
    from autograder.load.notebook import load_script

    source = read_file(path, MAX_FILE_BYTES, plain_only=False).decode("utf-8", errors="replace")
    load_script(path, source, dest, out, course, ImportRule(course, {}))


def _nothing(course: Course, kind: str, messages: list[str], why: str) -> Loaded:
    return Loaded(kind, [], messages, {f.qualname: why for f in course.functions})


def _empty_message(empty: Empty, course: Course) -> str:
    return (f"nothing to grade{empty.inside}: found {summary(empty.found) or 'nothing'}; expected {part_files(course)} (at the top "
            "or inside one folder), or one .py file or notebook (.ipynb) holding the whole assignment, "
            "or a .zip of these")
