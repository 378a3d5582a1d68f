"""Equivalent mutants, detected rather than guessed: a mutant that the checks let through is
equivalent when it behaves like the solutions on a few hundred random inputs of each function it
can change (the course's `random_inputs` module) and on every check's inputs.

Both sides run in the sandbox exactly as grading runs them (the mutant is untrusted code like any
submission): the same loader, the same stand-ins for the callees, the same probe. Observations
agree when they have the same structure and their numbers agree within the checks' tolerance
(NaN where the other has NaN), or when both calls failed the same way.
"""

from __future__ import annotations

import importlib
import tempfile
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from autograder.check import Call, load_checks, named_rng, numerics
from autograder.check.feedback import show
from autograder.isolate.runner import Failure, Observed, Plan, Session
from autograder.isolate.sandbox import Sandbox
from autograder.load import load_submission
from autograder.registry import Course, GradedFunction

RANDOM_INPUTS = "random_inputs"  # the course module: RANDOM_INPUTS = {function: rng -> argument tuple}


def random_inputs(course: Course) -> dict[GradedFunction, Callable[[np.random.Generator], tuple]]:
    """The course's input generators, one per graded function ({} when the course has none)."""
    name = course.subpackage(RANDOM_INPUTS)
    try:
        return dict(importlib.import_module(name).RANDOM_INPUTS)
    except ModuleNotFoundError as error:
        if error.name != name:
            raise
        return {}


class Equivalence:
    """Compares submissions with the solutions on each function's random and check inputs."""

    def __init__(self, course: Course, sandbox: Sandbox, solutions: Path, samples: int) -> None:
        self.course, self.sandbox, self.solutions = course, sandbox, solutions
        self.draws = random_inputs(course)
        self.checks = load_checks(course)
        self.samples = samples
        self.calls: dict[GradedFunction, list[Call]] = {}
        self.original: dict[GradedFunction, list[Observed]] = {}

    def calls_of(self, function: GradedFunction) -> list[Call]:
        """`samples` random calls (seeded by the function's name) and every check's calls."""
        if function not in self.calls:
            draw, rng = self.draws.get(function), named_rng(f"audit: {function.qualname}")
            drawn = [Call(tuple(draw(rng))) for _ in range(self.samples)] if draw else []
            self.calls[function] = drawn + [c for check in self.checks if check.function is function
                                            for c in check.calls]
        return self.calls[function]

    def difference(self, folder: Path, functions: Sequence[GradedFunction]) -> str | None:
        """None when the submission in `folder` behaves like the solutions on every call of
        `functions`; else the first call where it does not, in words."""
        missing = [f for f in functions if f not in self.original]
        if missing:
            self.original.update(self.observe(self.solutions, missing))
        observed = self.observe(folder, functions)
        for function in functions:
            for call, mine, theirs in zip(self.calls_of(function), observed[function], self.original[function]):
                told = divergence(mine, theirs)
                if told:
                    return f"{function.name}({', '.join(show(a) for a in call.args)}): {told}"
        return None

    def observe(self, folder: Path, functions: Sequence[GradedFunction]) -> dict[GradedFunction, list[Observed]]:
        """Every call of `functions` on the submission in `folder`, run as grading runs it."""
        with tempfile.TemporaryDirectory(prefix="nlm-audit-") as tmp:
            submission = load_submission(folder, Path(tmp), self.course)
            plan = Plan(self.course, submission.folder, dict(submission.missing),
                        failed={f: Failure(kind, text) for f, (kind, text) in submission.failed.items()})
            with Session(self.sandbox, plan) as session:
                return session.run([(f, self.calls_of(f)) for f in functions])


def divergence(mine: Observed, theirs: Observed) -> str | None:
    """None when two calls agree; else what each did, at the first entry where they part."""
    if mine.failure or theirs.failure:
        if mine.failure and theirs.failure and mine.failure.kind is theirs.failure.kind:
            return None
        return f"it {outcome(mine)}; the solutions {outcome(theirs)}"
    return parting(mine.value, theirs.value, "")


def parting(first: Any, second: Any, where: str) -> str | None:
    if isinstance(first, dict) and isinstance(second, dict) and first.keys() == second.keys():
        return next(filter(None, (parting(first[k], second[k], f"{where}[{k!r}]") for k in first)), None)
    if isinstance(first, (list, tuple)) and isinstance(second, (list, tuple)) and len(first) == len(second):
        return next(filter(None, (parting(a, b, f"{where}[{i}]") for i, (a, b) in enumerate(zip(first, second)))), None)
    if same(first, second):
        return None
    label = f"the result{where}" if where else "the result"
    try:
        mine, theirs = numerics.as_float64(first), numerics.as_float64(second)
    except numerics.NotNumeric:
        mine = theirs = None
    diff = numerics.compare(mine, theirs) if mine is not None and mine.shape == theirs.shape else None
    if diff is not None and not diff.ok:  # "expected" is what the solutions return
        return f"{label}: {diff.sentence()} (expected: the solutions')"
    return f"{label} is {summary(first)}; the solutions' {summary(second)}"


def outcome(seen: Observed) -> str:
    return seen.failure.kind.status if seen.failure else f"gives {summary(seen.value)}"


def summary(value: Any) -> str:
    """A short account of an observation for the report: small arrays in full, else shapes."""
    try:
        return show(numerics.as_float64(value))
    except numerics.NotNumeric:
        return numerics.describe(value)


def same(first: Any, second: Any) -> bool:
    """Same structure, and numbers within the checks' tolerance (NaN matching NaN)."""
    if isinstance(first, dict) or isinstance(second, dict):
        return (isinstance(first, dict) and isinstance(second, dict) and first.keys() == second.keys()
                and all(same(first[k], second[k]) for k in first))
    if isinstance(first, (list, tuple)) and isinstance(second, (list, tuple)):
        return len(first) == len(second) and all(same(a, b) for a, b in zip(first, second))
    if isinstance(first, str) or isinstance(second, str) or first is None or second is None:
        return first == second
    try:
        a, b = numerics.as_float64(first), numerics.as_float64(second)
    except numerics.NotNumeric:
        return False
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=numerics.RTOL, atol=numerics.ATOL, equal_nan=True))
