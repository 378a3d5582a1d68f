"""Shared fixtures: the repository's folders and a way to import a folder of part modules."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType

import pytest

from autograder.course import COURSE

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"
ASSIGNMENT = ROOT / "assignment"


def import_parts(folder: Path) -> dict[str, ModuleType]:
    """Import losses/backprop/sgd/rnn from `folder` (trusted code only: solutions or stubs),
    leaving sys.modules and sys.path as they were so that two folders never mix."""
    saved_path, saved = list(sys.path), {m: sys.modules.pop(m, None) for m in COURSE.modules}
    sys.path.insert(0, str(folder))
    try:
        return {m: importlib.import_module(m) for m in COURSE.modules}
    finally:
        sys.path[:] = saved_path
        for m, mod in saved.items():
            sys.modules.pop(m, None)
            if mod is not None:
                sys.modules[m] = mod


@pytest.fixture(scope="session")
def solutions() -> dict[str, ModuleType]:
    return import_parts(SOLUTIONS)


@pytest.fixture(scope="session")
def stubs() -> dict[str, ModuleType]:
    return import_parts(ASSIGNMENT)


@pytest.fixture(scope="session")
def checks():
    from autograder.check import load_checks

    return load_checks(COURSE)


@pytest.fixture(scope="session")
def sandbox():
    """One fork server for the whole session (as a grading worker has); short limits keep the
    hang and memory tests quick."""
    from autograder.isolate.sandbox import Limits, Sandbox, course_preload

    with Sandbox(Limits(timeout_s=3.0, memory_bytes=1 * 2**30), preload=course_preload(COURSE)) as box:
        yield box


@pytest.fixture
def grade_folder(sandbox, checks, tmp_path):
    """grade_folder(path) -> GradeReport, with the session's sandbox and every check."""
    from autograder.grade import grade

    return lambda path: grade(path, COURSE, sandbox=sandbox, checks=checks)


def scores_by_function(report) -> dict[str, float]:
    from autograder.score import function_scores

    return {s.function.qualname: s.score for s in function_scores(COURSE, report.results)}


def full_marks() -> dict[str, float]:
    return {f.qualname: f.points for f in COURSE.functions}


def defined_marks(folder: Path) -> dict[str, float]:
    """Full marks for every graded function the part modules in `folder` define, 0 for the rest:
    what a correct submission of that folder earns, however many functions the course has."""
    import tempfile

    from autograder.load import load_submission

    with tempfile.TemporaryDirectory() as dest:
        missing = load_submission(folder, Path(dest), COURSE).missing
    return {f.qualname: 0.0 if f in missing else f.points for f in COURSE.functions}


def points(qualname: str, *whats: str) -> float:
    """The points of a function's checks whose names end in one of `whats` (from the registry,
    never a literal): what a submission that fails exactly those checks loses."""
    from autograder.check import load_checks

    names = {f"{qualname}: {what}" for what in whats}
    found = [c for c in load_checks(COURSE) if c.name in names]
    assert len(found) == len(names), f"no check named {sorted(names - {c.name for c in found})}"
    return sum(c.points for c in found)
