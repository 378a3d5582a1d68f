"""Checks as data.

A check names what it verifies (`<module>.<function>: <what it checks>`), carries its points and
visibility, the calls it sends to the student's function and a judge that turns what came back
into a verdict with feedback. The same list drives grading, the student pytest run, the
Gradescope bundle and the item analysis.

A check's inputs are drawn from a generator seeded by the check's own name, so adding, removing
or reordering checks changes no other check's inputs. A course keeps its visible checks in
`<course>/checks/<part>.py` and its hidden ones (Gradescope `after_published`) in
`<course>/hidden/<part>.py`, a folder the student release leaves out.
"""

from __future__ import annotations

import hashlib
import importlib
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Callable, Sequence

import numpy as np

from autograder.isolate.protocol import Rng  # noqa: F401 - an argument checks may send
from autograder.registry import Course, GradedFunction


def named_rng(name: str) -> np.random.Generator:
    """A generator seeded by `name` alone (sha256): the same draws for the same name, every run."""
    return np.random.default_rng(int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big"))


@dataclass(frozen=True)
class Call:
    """One call of the function under test: its arguments as the grader sends them."""

    args: tuple = ()
    kwargs: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Verdict:
    passed: bool
    feedback: str = ""


Inputs = Callable[[np.random.Generator], Sequence[tuple]]


@dataclass(eq=False)
class Check:
    function: GradedFunction
    what: str                    # "finite and exact for logits of ±1e4"
    points: float
    inputs: Inputs               # rng -> one argument tuple per call (rng seeded by the name)
    judge: Judge                 # (check, observed values) -> Verdict
    visible: bool = True
    describe: Callable[[Call], str] | None = None  # how feedback shows a call (default: f(arg=...))
    mistakes: Sequence[Any] = ()  # the function's known mistakes, set when the course's checks load

    @property
    def name(self) -> str:
        return f"{self.function.qualname}: {self.what}"

    @cached_property
    def calls(self) -> list[Call]:
        """Built once per process from the name's generator: every run sends the same ones."""
        return [arguments if isinstance(arguments, Call) else Call(tuple(arguments))
                for arguments in self.inputs(named_rng(self.name))]


Judge = Callable[[Check, Sequence[Any]], Verdict]


def fixed(*argument_tuples: tuple) -> Inputs:
    """Inputs that draw nothing: these argument tuples, one call each."""
    return lambda rng: argument_tuples


def load_checks(course: Course, include_hidden: bool = True) -> list[Check]:
    """Every check, in the course's function order (visible before hidden within a function).

    The hidden folder is absent from the student release; then only visible checks load. Each
    check gets its function's known mistakes (autograder.check.mistakes) for its hints.
    """
    from autograder.check.mistakes import known_mistakes

    checks: list[Check] = []
    folders = ("checks", "hidden") if include_hidden else ("checks",)
    for part in course.parts:
        for folder in folders:
            module = _part_module(course, folder, part.module)
            checks += getattr(module, "CHECKS", []) if module else []
    mistakes = known_mistakes(course)
    order = {f: i for i, f in enumerate(course.functions)}
    for check in checks:
        check.mistakes = mistakes.get(check.function, ())
    return sorted(checks, key=lambda c: (order[c.function], not c.visible))


def _part_module(course: Course, folder: str, part: str) -> Any:
    """<course>.<folder>.<part>, or None where that folder (or part file) is not shipped."""
    name = f"{course.subpackage(folder)}.{part}"
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as error:
        if error.name in (course.subpackage(folder), name):
            return None
        raise
