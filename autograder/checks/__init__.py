"""Checks as data.

A check names what it verifies (`<module>.<function>: <what it checks>`), carries its points and
visibility, the calls it sends to the student's function (built from fixed seeds), and a judge
that turns what came back into a verdict with feedback. The same list drives grading, the
student pytest run, the Gradescope bundle and the item analysis.

Visible checks live in `checks/<part>.py`; hidden ones (Gradescope `after_published`) in
`checks/hidden/<part>.py`, a package the student release leaves out.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Callable, Sequence

from autograder.contract import FUNCTIONS, PART_MODULES


@dataclass(frozen=True)
class Call:
    """One call of the function under test, made in the child by the harness `probe`:
    "call" returns the value; "sgd_step" and "torch_train_steps" also observe side effects."""

    args: tuple = ()
    kwargs: dict = field(default_factory=dict)
    probe: str = "call"


@dataclass(frozen=True)
class Verdict:
    passed: bool
    feedback: str = ""


Judge = Callable[[Sequence[Call], Sequence[Any]], Verdict]


@dataclass(eq=False)
class Check:
    function: str                        # "losses.softmax"
    what: str                            # "finite and exact for logits of ±1e4"
    points: float
    make_calls: Callable[[], list[Call]]  # seeded: the same calls every run
    judge: Judge                          # (calls, observed values) -> Verdict
    visible: bool = True

    @property
    def name(self) -> str:
        return f"{self.function}: {self.what}"

    @cached_property
    def calls(self) -> list[Call]:
        """Built once per process: the inputs are seeded, so every run sends the same ones."""
        return self.make_calls()


def load_checks(include_hidden: bool = True) -> list[Check]:
    """Every check, in the contract's function order (visible before hidden within a function).

    The hidden package is absent from the student release; then only visible checks load.
    """
    checks: list[Check] = []
    for part in PART_MODULES:
        checks += importlib.import_module(f"autograder.checks.{part}").CHECKS
        if include_hidden:
            try:
                checks += importlib.import_module(f"autograder.checks.hidden.{part}").CHECKS
            except ModuleNotFoundError as error:
                if error.name not in ("autograder.checks.hidden", f"autograder.checks.hidden.{part}"):
                    raise
    order = {f.qualname: i for i, f in enumerate(FUNCTIONS)}
    return sorted(checks, key=lambda c: (order[c.function], not c.visible))
