"""What the engine knows of a course: its parts and graded functions, as objects.

The engine never names a graded function: it takes a `Course` (built by the course package, by
default `autograder.course`, or the package named by the NLM_COURSE environment variable) and
asks it. One `GradedFunction` is the single home of everything about a function: its module,
parameters, points, reference, how the child calls it (probe), which graded functions it is
checked with correct versions of (callees), and arguments that make its stub run.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from enum import Enum
from functools import cached_property
from typing import Any, Callable

COURSE_ENV = "NLM_COURSE"
DEFAULT_COURSE = "autograder.course"


class Probe(Enum):
    """How the child calls a function and what it observes (autograder.isolate.harness.PROBES).

    CALL: the return value. IN_PLACE: a function updating the dict it is given (its first
    argument) in place: which entries were rebound and what every array holds afterwards.
    COURSE: a probe the course provides (GradedFunction.course_probe, child-side code).
    """

    CALL = "call"
    IN_PLACE = "in_place"
    COURSE = "course"


class Effect(Enum):
    """What a correct stand-in for a function must do to its caller's arguments besides
    returning a value: nothing, update the dict it was given in place (an SGD step), or leave a
    numpy Generator argument where the real function leaves it (it draws from it)."""

    NONE = "none"
    UPDATES_FIRST_ARGUMENT = "updates_first_argument"
    DRAWS_FROM_RNG = "draws_from_rng"


@dataclass(frozen=True)
class Part:
    """One part module of the handout (`losses.py`) and its title."""

    module: str
    title: str

    @property
    def file(self) -> str:
        return f"{self.module}.py"

    @property
    def short_title(self) -> str:
        """"Part 1" of "Part 1: losses"."""
        return self.title.split(":")[0]


@dataclass(frozen=True, eq=False)
class GradedFunction:
    """A graded function: hashed by identity, so it keys dicts of checks, mistakes and scores."""

    part: Part
    name: str
    parameters: tuple[str, ...]
    points: float
    reference: Callable[..., Any]
    callees: tuple[str, ...] = ()           # checked with correct versions of these (names)
    stub_args: Callable[[], tuple] = tuple  # arguments on which the stub must raise NotImplementedError
    probe: Probe = Probe.CALL
    course_probe: str = ""                  # "module:function" of a Probe.COURSE probe
    effect: Effect = Effect.NONE
    bonus: bool = False

    @property
    def module(self) -> str:
        return self.part.module

    @property
    def qualname(self) -> str:
        """`module.function`, the prefix of every check name."""
        return f"{self.part.module}.{self.name}"

    def __repr__(self) -> str:
        return f"<graded {self.qualname}>"


@dataclass(frozen=True)
class Course:
    """A course: its parts, graded functions in handout order, and where its checks live.

    `package` is the course's Python package; its subpackages `checks` (visible), `hidden`,
    `hints` and `mistakes` hold one module per part, and `handout/` the notebook's text.
    """

    name: str
    package: str
    parts: tuple[Part, ...]
    functions: tuple[GradedFunction, ...]
    allowed_imports: tuple[str, ...]        # besides the standard library
    child_modules: tuple[str, ...] = ()     # course code the child needs (course probes)
    reference_module: str = ""              # the grader-side reference, imported before any step runs
    notebook_name: str = "handout.ipynb"

    def __post_init__(self) -> None:
        names = [f.name for f in self.functions]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"graded functions must have distinct names: {duplicates}")
        for f in self.functions:
            if f.part not in self.parts:
                raise ValueError(f"{f.qualname}: its part is not one of the course's parts")
            unknown = [c for c in f.callees if c not in names or c == f.name]
            if unknown:
                raise ValueError(f"{f.qualname}: callees {unknown} are not other graded functions")

    def __hash__(self) -> int:
        return hash(self.package)

    @cached_property
    def by_name(self) -> dict[str, GradedFunction]:
        return {f.name: f for f in self.functions}

    @cached_property
    def by_qualname(self) -> dict[str, GradedFunction]:
        return {f.qualname: f for f in self.functions}

    def function(self, name: str) -> GradedFunction:
        """The graded function called `name` (or `module.name`)."""
        found = self.by_qualname.get(name) or self.by_name.get(name)
        if found is None:
            raise KeyError(f"{self.name} has no graded function {name!r}")
        return found

    @property
    def modules(self) -> tuple[str, ...]:
        return tuple(p.module for p in self.parts)

    def part(self, module: str) -> Part:
        return next(p for p in self.parts if p.module == module)

    @cached_property
    def _by_part(self) -> dict[str, tuple[GradedFunction, ...]]:
        return {p.module: tuple(f for f in self.functions if f.module == p.module) for p in self.parts}

    def in_part(self, part: Part | str) -> tuple[GradedFunction, ...]:
        return self._by_part.get(part.module if isinstance(part, Part) else part, ())

    def callees_of(self, function: GradedFunction) -> tuple[GradedFunction, ...]:
        return tuple(self.by_name[c] for c in function.callees)

    @property
    def max_score(self) -> float:
        return sum(f.points for f in self.functions if not f.bonus)

    @property
    def bonus_score(self) -> float:
        return sum(f.points for f in self.functions if f.bonus)

    def subpackage(self, name: str) -> str:
        """`autograder.course.hidden` for "hidden"."""
        return f"{self.package}.{name}"


def warm_reference(course: Course) -> None:
    """Import the course's reference now (torch with it), so that no student's step waits for it."""
    if course.reference_module:
        importlib.import_module(course.reference_module)


def load_course(package: str | None = None) -> Course:
    """The course object `COURSE` of `package` (default: $NLM_COURSE, else autograder.course)."""
    name = package or os.environ.get(COURSE_ENV) or DEFAULT_COURSE
    return importlib.import_module(name).COURSE
