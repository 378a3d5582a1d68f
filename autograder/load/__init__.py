"""Load: turn a student's upload into the canonical submission, a folder of plain part modules.

A submission is a folder of `.py` files, a Jupyter notebook, a single `.py` file, or a `.zip` of
any of these (see forms.py); every form becomes the same thing, one module per course part.
Uploads are untrusted data: files are only read, parsed with `ast` and copied, never imported
or executed, and all of that happens in a child process with a memory and a time limit
(bounded.py). Bad input never raises; it yields kind "rejected" (or "empty") with a
student-facing message.
"""

from __future__ import annotations

from pathlib import Path

from autograder.load.bounded import LoadError, LoadLimits, load_in_child
from autograder.load.files import clear_folder
from autograder.load.submission import Loaded, Submission
from autograder.registry import Course

__all__ = ["LoadError", "LoadLimits", "Submission", "load_submission"]


def load_submission(path: Path, dest: Path, course: Course, limits: LoadLimits = LoadLimits()) -> Submission:
    """Load the submission at ``path`` (folder, .ipynb, .zip or .py) into the empty folder ``dest``.

    Only ``dest`` is written to. Raises only for caller errors (``dest`` missing or not empty)
    and for LoadError (the loader itself failed); unusable uploads come back as kind "rejected"
    or "empty" with an explanation in ``messages``.
    """
    path, dest = Path(path), Path(dest)
    if not dest.is_dir():
        raise FileNotFoundError(f"destination folder {dest} does not exist")
    if any(dest.iterdir()):
        raise ValueError(f"destination folder {dest} is not empty")
    dest.chmod(0o755)
    loaded = load_in_child(path, dest, course, limits)
    if loaded.kind == "rejected":  # a limit may have stopped the child halfway
        clear_folder(dest)
    return submission_of(loaded, dest, course)


def submission_of(loaded: Loaded, dest: Path, course: Course) -> Submission:
    """The Submission of the child's answer; every text from the upload capped where it crosses."""
    from autograder.isolate.protocol import FailureKind, capped

    def failure(pair: tuple[str, str]) -> tuple[FailureKind, str]:
        return FailureKind(pair[0]), capped(pair[1])

    return Submission(dest, loaded.kind, tuple(m for m in course.modules if m in loaded.modules),
                      [capped(m) for m in loaded.messages],
                      {course.by_qualname[q]: capped(why) for q, why in loaded.missing.items()},
                      {course.by_qualname[q]: failure(pair) for q, pair in loaded.failed.items()},
                      {m: failure(pair) for m, pair in loaded.broken.items()})
