"""Load: turn a student's upload into the canonical submission, a folder of plain part modules.

A submission is a folder of `.py` files, a Jupyter notebook, a `.zip` of either, or a single `.py`
file. Everything here runs in the trusted grader process, so uploads are treated as untrusted
data: files are only read, parsed with `ast` and copied, never imported or executed. Bad input
never raises; it yields kind "rejected" (or "empty") with a student-facing message.
"""

from __future__ import annotations

from pathlib import Path

from autograder.load.archive import load_zip
from autograder.load.files import MAX_FILE_BYTES, Rejected, read_file, write_file
from autograder.load.folder import load_folder
from autograder.load.notebook import load_notebook, load_script, read_notebook
from autograder.load.submission import Submission, defined_functions
from autograder.registry import Course

__all__ = ["Submission", "load_submission"]


def load_submission(path: Path, dest: Path, course: Course) -> Submission:
    """Load the submission at ``path`` (folder, .ipynb, .zip or .py) into the empty folder ``dest``.

    Only ``dest`` is written to. Raises only for caller errors (``dest`` missing or not empty);
    unusable uploads come back as kind "rejected" or "empty" with an explanation in ``messages``.
    """
    path, dest = Path(path), Path(dest)
    if not dest.is_dir():
        raise FileNotFoundError(f"destination folder {dest} does not exist")
    if any(dest.iterdir()):
        raise ValueError(f"destination folder {dest} is not empty")
    dest.chmod(0o755)
    messages: list[str] = []
    try:
        kind = _load_path(path, dest, messages, course)
    except Rejected as exc:
        messages.append(f"rejected: {exc}")
        return Submission(dest, "rejected", (), messages)
    modules = tuple(m for m in course.modules if (dest / f"{m}.py").is_file())
    return Submission(dest, kind, modules, messages, defined_functions(dest, course))


def _load_path(path: Path, dest: Path, messages: list[str], course: Course) -> str:
    """Dispatch on what ``path`` is; return the submission kind."""
    if path.is_dir():
        return load_folder(path, dest, messages, course, allow_zip=True)
    if not path.is_file():
        raise Rejected(f"{path.name} was not found or is not a regular file")
    suffix = path.suffix.lower()
    if suffix == ".ipynb":
        load_notebook(path, read_notebook(path), dest, messages, course)
        return "notebook"
    if suffix == ".zip":
        return load_zip(path, dest, messages, course)
    if suffix == ".py":
        if path.stem not in course.modules:
            return load_script(path, dest, messages, course)
        write_file(dest / path.name, read_file(path, MAX_FILE_BYTES))
        messages.append(f"found {path.name}")
        return "folder"
    raise Rejected(f"{path.name}: expected a folder, a .py, .ipynb or .zip file")
