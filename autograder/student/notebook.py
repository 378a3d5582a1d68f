"""`check()` in Jupyter or Colab: one function's visible checks, from inside the notebook.

    from autograder import check
    check(softmax)        # or check("softmax"): the name, looked up where check() is called

The checks never use the function object itself (the grader never imports student code): the
submission is the notebook's own source, the cells the kernel has executed so far (IPython's
`In`, in the order they ran, so a cell run again overrides its older version), read by the
loader like any uploaded notebook (imports, definitions and constants only). Its visible checks
of that one function run in the runner's child, and the same lines as pytest are printed, then
the points. The runner (the Linux sandbox, else the portable runner) lives as long as the kernel,
so every call after the first starts at once. Outside a notebook, the calling script's own file
is the source.
"""

from __future__ import annotations

import ast
import atexit
import sys
import tempfile
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from autograder.registry import Course, GradedFunction
    from autograder.score import CheckResult

TIMEOUT_S = 10.0
INDENT = "    "
_RUNNER: dict[str, Any] = {}  # the kernel's one runner, made on the first check()


@dataclass(frozen=True)
class CheckReport:
    """What check() found: the function's visible points and every check's result."""

    function: str
    points: float
    max_points: float
    results: list[CheckResult] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return bool(self.results) and all(r.status == "passed" for r in self.results)

    def __repr__(self) -> str:
        return f"<check {self.function}: {self.points:g}/{self.max_points:g} points{', passed' if self.passed else ''}>"


def check(function: Callable[..., Any] | str, *, timeout_s: float = TIMEOUT_S) -> CheckReport:
    """Run the visible checks of one graded function on the notebook's code; print and return them."""
    from autograder.check import load_checks
    from autograder.registry import load_course
    from autograder.student.checking import Checking, use_recorded_reference

    caller = sys._getframe(1).f_globals
    course = load_course()
    graded = graded_function(course, function, caller)
    checks = [c for c in load_checks(course, include_hidden=False) if c.function is graded]
    use_recorded_reference(course)
    with tempfile.TemporaryDirectory(prefix="nlm-notebook-") as folder:
        source = write_source(caller, Path(folder))
        checking = Checking(source, course, runner(course, timeout_s), checks)
        try:
            report = run_and_print(checking, graded, checks)
        finally:
            checking.close()
    return report


def graded_function(course: Course, function: Callable[..., Any] | str, namespace: dict) -> GradedFunction:
    """The graded function `function` is (a function object, or a name defined in `namespace`)."""
    name = function if isinstance(function, str) else getattr(function, "__name__", None)
    if not isinstance(name, str) or name.split(".")[-1] not in course.by_name:
        names = ", ".join(f.name for f in course.functions)
        raise ValueError(f"check() takes one of the graded functions ({names}) or its name, not {function!r}")
    name = name.split(".")[-1]
    if isinstance(function, str) and name not in namespace:
        raise NameError(f"{name} is not defined here yet: run the cell that defines it, then check({name!r})")
    return course.by_name[name]


def runner(course: Course, timeout_s: float) -> Any:
    """The kernel's runner (made once; a new one when the time limit changes)."""
    from autograder.student.checking import default_runner, open_runner

    if _RUNNER.get("timeout") != timeout_s:
        close_runner()
        _RUNNER.update(box=open_runner(default_runner(), course, timeout_s, eager=True), timeout=timeout_s)
    return _RUNNER["box"]


@atexit.register
def close_runner() -> None:
    box = _RUNNER.pop("box", None)
    _RUNNER.pop("timeout", None)
    if box is not None:
        box.close()


# ---------------------------------------------------------------- the notebook's source


def history(namespace: dict) -> list[str]:
    """The cells executed so far (IPython's In, oldest first), or the calling script's source."""
    cells = namespace.get("In") or namespace.get("_ih")
    if isinstance(cells, list):
        return [c for c in cells if isinstance(c, str) and c.strip()]
    path = namespace.get("__file__")
    if isinstance(path, str) and Path(path).is_file():
        return [Path(path).read_text(encoding="utf-8", errors="replace")]
    raise RuntimeError("check() reads the code of the notebook it runs in (Jupyter, Colab) or of the "
                       "script that calls it; here there is neither")


def without_checks(cell: str) -> str:
    """A cell without its imports of the autograder (check() itself is no part of the work)."""
    try:
        tree = ast.parse(cell)
    except SyntaxError:
        return cell  # the loader reports it
    lines = cell.splitlines(keepends=True)
    for node in reversed(tree.body):
        if _imports_autograder(node):
            lines[node.lineno - 1:node.end_lineno] = ["\n"] * (node.end_lineno - node.lineno + 1)
    return "".join(lines)


def _imports_autograder(node: ast.stmt) -> bool:
    if isinstance(node, ast.Import):
        return all(alias.name.split(".")[0] == "autograder" for alias in node.names)
    return isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "autograder" and not node.level


def write_source(namespace: dict, folder: Path) -> Path:
    """The notebook so far as a notebook file of one code cell per executed cell."""
    import nbformat

    cells = [nbformat.v4.new_code_cell(without_checks(c)) for c in history(namespace)]
    path = folder / "notebook_so_far.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=cells), str(path))
    return path


# ---------------------------------------------------------------- output


def run_and_print(checking: Any, graded: GradedFunction, checks: list) -> CheckReport:
    """Every check's line (as pytest prints it), the text under each failure, then the points."""
    from autograder.student.present import WORDS, failure_text

    shown_under: dict[str, str] = {}
    results = []
    for each in checks:
        outcome = checking.outcome(each)
        results.append(outcome.result)
        print(f"{each.name} {WORDS[outcome.result.status]}", flush=True)
        if outcome.result.status == "not attempted":
            print(textwrap.indent(outcome.result.feedback.strip(), INDENT))
        elif outcome.result.status != "passed":
            text = failure_text(each, outcome, shown_under, checking.printed_at_import(graded.module))
            print(textwrap.indent(text, INDENT))
    points = round(sum(r.score for r in results), 6)
    max_points = round(sum(r.max_score for r in results), 6)
    print(f"{graded.name}: {points:g}/{max_points:g} points in its visible checks "
          "(hidden checks run when you submit)")
    return CheckReport(graded.qualname, points, max_points, results)
