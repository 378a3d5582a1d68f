"""Shared fixtures: the repository's folders and a way to import a folder of part modules."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType

import pytest

from autograder.contract import PART_MODULES

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"
ASSIGNMENT = ROOT / "assignment"


def import_parts(folder: Path) -> dict[str, ModuleType]:
    """Import losses/backprop/sgd/rnn from `folder` (trusted code only: solutions or stubs),
    leaving sys.modules and sys.path as they were so that two folders never mix."""
    saved_path, saved = list(sys.path), {m: sys.modules.pop(m, None) for m in PART_MODULES}
    sys.path.insert(0, str(folder))
    try:
        return {m: importlib.import_module(m) for m in PART_MODULES}
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
    from autograder.checks import load_checks

    return load_checks()


@pytest.fixture(scope="session")
def sandbox():
    """One fork server for the whole session (as a grading worker has); short limits keep the
    hang and memory tests quick."""
    from autograder.sandbox import Limits, Sandbox

    with Sandbox(Limits(timeout_s=3.0, memory_bytes=1 * 2**30)) as box:
        yield box


@pytest.fixture
def grade_folder(sandbox, checks, tmp_path):
    """grade_folder(path) -> GradeReport, with the session's sandbox and every check."""
    from autograder.grade import grade

    return lambda path: grade(path, sandbox=sandbox, checks=checks)


def scores_by_function(report) -> dict[str, float]:
    from autograder.scoring import function_scores

    return {s.function.qualname: s.score for s in function_scores(report.results)}


def full_marks() -> dict[str, float]:
    from autograder.contract import FUNCTIONS

    return {f.qualname: f.points for f in FUNCTIONS}
