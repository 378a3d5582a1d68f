"""Known mistakes: what a typical wrong version of a graded function returns, for hints.

A course keeps its wrong versions in `<course>/mistakes/<part>.py` (MISTAKES: {graded function:
[Mistake, ...]}); that folder never ships to students. The student release instead carries
`recorded_mistakes.json`: each mistake's observation on every visible check's call, recorded when
the release is built, so a result that matches one still gets its hint, without the wrong code.
"""

from __future__ import annotations

import hashlib
import importlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from autograder.check import Call
from autograder.isolate import protocol
from autograder.registry import Course, GradedFunction

RECORDED_FILE = "recorded_mistakes.json"


@dataclass(frozen=True)
class Mistake:
    hint: str                        # what to tell the student
    wrong: Callable[..., Any]        # the wrong version: same arguments as the graded function

    def observation(self, function: GradedFunction, call: Call) -> Any:
        """What the function's probe observes of the wrong version on this call."""
        from autograder.check.observe import observe

        return observe(self.wrong, function, call)


@dataclass(frozen=True)
class RecordedMistake:
    """A mistake of the student release: its hint and its recorded observations, by call."""

    hint: str
    outcomes: Mapping[str, str] = field(default_factory=dict)  # fingerprint -> protocol JSON

    def observation(self, function: GradedFunction, call: Call) -> Any:
        recorded = self.outcomes.get(fingerprint(call))
        if recorded is None:
            raise LookupError("no recorded outcome for these inputs")  # judges skip this mistake
        return protocol.decode(recorded.encode())


def fingerprint(call: Call) -> str:
    """A call's arguments as the protocol carries them, hashed: the key of recorded outcomes."""
    return hashlib.sha256(protocol.encode([list(call.args), call.kwargs])).hexdigest()[:32]


def known_mistakes(course: Course) -> dict[GradedFunction, list[Any]]:
    """Each function's known mistakes: the course's wrong versions where they are present (the
    instructor's repository, Gradescope), else the release's recorded outcomes, else none."""
    found: dict[GradedFunction, list[Any]] = {}
    for part in course.parts:
        name = f"{course.subpackage('mistakes')}.{part.module}"
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as error:
            if error.name not in (course.subpackage("mistakes"), name):
                raise
            return recorded_mistakes(course)
        for function, mistakes in module.MISTAKES.items():
            if function.part is not part:
                raise ValueError(f"{name} lists mistakes of {function.qualname}, another part's function")
            found[function] = list(mistakes)
    return found


def recorded_mistakes(course: Course) -> dict[GradedFunction, list[Any]]:
    package = importlib.import_module(course.package)
    path = Path(package.__file__).with_name(RECORDED_FILE)
    if not path.is_file():
        return {}
    table = json.loads(path.read_text())
    return {course.by_qualname[qualname]: [RecordedMistake(m["hint"], m["outcomes"]) for m in mistakes]
            for qualname, mistakes in table.items()}


def record_mistakes(course: Course, checks: list[Any]) -> dict[str, list[dict[str, Any]]]:
    """{qualname: [{"hint", "outcomes": {fingerprint: observation as protocol JSON}}]} over every
    call of `checks`. A mistake that raises, cannot be sent, or is not reproducible (an unseeded
    rng) gets no outcome there: the judges then pass over it, as over a result nobody reproduces."""
    import numpy as np

    calls: dict[GradedFunction, list[Call]] = {}
    for check in checks:
        calls.setdefault(check.function, []).extend(check.calls)
    table = {}
    for function, mistakes in known_mistakes(course).items():
        entries = []
        for mistake in mistakes:
            outcomes = {}
            for call in calls.get(function, []):
                try:
                    with np.errstate(all="ignore"):
                        first = protocol.encode(mistake.observation(function, call))
                        again = protocol.encode(mistake.observation(function, call))
                except Exception:  # noqa: BLE001 - a mistake that does not apply here
                    continue
                if first == again:
                    outcomes[fingerprint(call)] = first.decode()
            entries.append({"hint": mistake.hint, "outcomes": outcomes})
        table[function.qualname] = entries
    return table
