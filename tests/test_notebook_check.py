"""check() in a real notebook: a Jupyter kernel (nbclient, ipykernel) runs cells that define
functions and check them, by the function object and by name, as a student would."""

from __future__ import annotations

import re

import nbformat
import pytest

from autograder.check import load_checks
from autograder.course import COURSE

nbclient = pytest.importorskip("nbclient", reason="the dev dependencies (make install) bring nbclient")

VISIBLE = load_checks(COURSE, include_hidden=False)
CELLS = [
    "import numpy as np",
    "def softmax(logits):\n"
    "    z = np.asarray(logits, dtype=float)\n"
    "    e = np.exp(z - z.max(axis=-1, keepdims=True))\n"
    "    return e / e.sum(axis=-1, keepdims=True)",
    "from autograder import check\n"
    "report = check(softmax)\n"
    "print('RESULT', report.points, report.max_points, report.passed)",
    "def log_softmax(logits):\n"
    "    print('inside my log_softmax')\n"
    "    return np.log(softmax(logits) + 1)",
    "report = check('log_softmax')\n"
    "print('RESULT', report.points, report.max_points, report.passed)",
    "def log_softmax(logits):  # fixed: the cell run last is what is checked\n"
    "    z = np.asarray(logits, dtype=float)\n"
    "    z = z - z.max(axis=-1, keepdims=True)\n"
    "    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))",
    "report = check('log_softmax')\n"
    "print('RESULT', report.points, report.max_points, report.passed)",
]


def visible_points(name: str) -> float:
    return sum(c.points for c in VISIBLE if c.function.name == name)


@pytest.fixture(scope="module")
def outputs() -> list[str]:
    """What each cell printed, after the whole notebook ran in a fresh kernel."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in CELLS])
    nbclient.NotebookClient(nb, timeout=240, kernel_name="python3").execute()
    return ["".join(o.get("text", "") for o in cell.outputs if o.get("name") == "stdout") for cell in nb.cells]


def test_check_by_function_object_prints_pytests_lines_and_returns_the_points(outputs):
    text = outputs[2]
    for check in (c for c in VISIBLE if c.function.name == "softmax"):
        assert f"{check.name} PASSED" in text
    points = visible_points("softmax")
    assert f"softmax: {points:g}/{points:g} points" in text
    assert f"RESULT {points} {points} True" in text


def test_check_by_name_shows_feedback_printed_output_and_replay(outputs):
    text = outputs[4]
    checks = [c for c in VISIBLE if c.function.name == "log_softmax"]
    assert all(f"{c.name} FAILED" in text for c in checks), text
    assert text.count("Your code printed:\n      | inside my log_softmax") == len(checks)
    assert all(f'python -m autograder replay "{c.name}"' in text for c in checks)
    assert re.search(r"first difference at index", text)
    assert f"RESULT 0.0 {visible_points('log_softmax')} False" in text


def test_the_cell_run_last_is_the_one_checked(outputs):
    points = visible_points("log_softmax")
    assert f"RESULT {points} {points} True" in outputs[6] and "FAILED" not in outputs[6]
