"""What ships where, by folder: the student release and the Gradescope bundle each take these
parts of the engine and of the course package, and nothing else.

Never shipped anywhere: `solutions/`, `assignment/`, tests, examples, the virtual environment.
Never to students: the course's `hidden/` checks and `mistakes/` (the wrong versions; the release
carries their recorded outcomes instead), and the engine's instructor verbs (`build/`, `batch/`,
the Gradescope entry). Gradescope gets no handout text and no student-side pytest plugin.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from autograder.registry import Course

ENGINE = Path(__file__).resolve().parent.parent
SHIPPED_SUFFIXES = (".py", ".json", ".md")
_CORE = ("__init__.py", "__main__.py", "cli.py", "registry.py", "grade.py", "score.py",
         "load", "isolate", "check", "report")
ENGINE_PARTS = {
    "student": _CORE + ("student",),
    "gradescope": _CORE + ("gradescope.py",),
}
COURSE_LEFT_OUT = {
    "student": ("hidden", "mistakes", "handout", "release_README.md"),
    "gradescope": ("handout", "release_README.md"),
}


def course_folder(course: Course) -> Path:
    return Path(importlib.import_module(course.package).__file__).parent


def shipped_files(target: str, course: Course) -> list[tuple[str, Path]]:
    """(path in the shipped tree, file) for `target` ("student" or "gradescope"), sorted: the
    engine's parts for it and the course package without what it leaves out."""
    files = [item for entry in ENGINE_PARTS[target] for item in _tree(ENGINE / entry, ENGINE.parent)]
    folder = course_folder(course)
    left_out = [folder / name for name in COURSE_LEFT_OUT[target]]
    files = [(path, file) for path, file in files if not file.is_relative_to(folder)]
    files += [(path, file) for path, file in _tree(folder, ENGINE.parent if folder.is_relative_to(ENGINE) else folder.parent)
              if not any(file == x or file.is_relative_to(x) for x in left_out)]
    return sorted(set(files))


def _tree(path: Path, base: Path) -> list[tuple[str, Path]]:
    """Every shipped file under `path` (or `path` itself), named relative to `base`; no caches."""
    if path.is_file():
        return [(path.relative_to(base).as_posix(), path)] if path.suffix in SHIPPED_SUFFIXES else []
    found = []
    for file in sorted(path.rglob("*")):
        if file.is_file() and file.suffix in SHIPPED_SUFFIXES and "__pycache__" not in file.parts \
                and not any(part.startswith(".") for part in file.relative_to(path).parts):
            found.append((file.relative_to(base).as_posix(), file))
    return found
