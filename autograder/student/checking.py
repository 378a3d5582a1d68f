"""The students' grading run: one submission's visible checks, function by function, in one child.

Shared by the pytest plugin and the notebook's `check()`. The submission is loaded once (the
grader never imports it); each function's calls run when its first check is asked for, so the
first result is ready as soon as that function has run, not after every selected check has. The
runner is the Linux sandbox (what grading uses) or the portable runner (any OS: a fresh `python`
per child, see autograder/isolate/portable.py). Expected values come from the reference
observations recorded in the release where present (no torch), else from the reference itself.
The reference (torch with it) loads when first asked for, by a stand-in's question or a judge,
in the caller's thread: never in the background, where torch making its loggers broke pytest's
logging capture (it goes over every logger at each check's setup, call and teardown).
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from autograder.check import Check
from autograder.registry import Course, GradedFunction

if TYPE_CHECKING:
    from autograder.isolate.runner import Failure, Observed
    from autograder.score import CheckResult

RUNNERS = ("sandbox", "portable")
RECORDED_REFERENCE = "recorded_reference.json"


RUNNER_ENV = "NLM_RUNNER"  # e.g. NLM_RUNNER=portable for the notebook's check() on Linux


def default_runner() -> str:
    """$NLM_RUNNER if set, else the sandbox where it exists (Linux), else the portable runner."""
    chosen = os.environ.get(RUNNER_ENV)
    if chosen:
        return chosen
    return "sandbox" if sys.platform.startswith("linux") else "portable"


def open_runner(name: str, course: Course, timeout_s: float, eager: bool = False) -> Any:
    """A sandbox or a portable runner for `course`, as a QuickFirst: both start their first
    child's interpreter at once (`eager`: the portable runner's next one too, whenever a child
    starts)."""
    if name == "portable":
        from autograder.isolate.portable import PRELOAD, Limits, PortableSandbox

        def portable(preload: Sequence[str], spares_ahead: bool) -> PortableSandbox:
            return PortableSandbox(Limits(timeout_s=timeout_s), allowed=course.allowed_imports,
                                   preload=preload, eager=spares_ahead)

        return QuickFirst(portable(_without_torch(PRELOAD), False), portable((*PRELOAD, *course.child_modules), eager))
    if name != "sandbox":
        raise ValueError(f"no runner {name!r}: choose one of {', '.join(RUNNERS)}")
    from autograder.isolate.sandbox import PRELOAD, Limits, Sandbox, course_preload

    limits = Limits(timeout_s=timeout_s)
    return QuickFirst(Sandbox(limits, preload=_without_torch(PRELOAD)), Sandbox(limits, preload=course_preload(course)))


def _without_torch(names: Sequence[str]) -> list[str]:
    """The quick runner's preload (the course's child-side modules, which need torch, load on demand)."""
    return [n for n in names if n.partition(".")[0] != "torch"]


class QuickFirst:
    """Two runners started together. The first child comes from `quick`, which preloads numpy but
    not torch and so is ready in about a fifth of the time; with `Session(quick_start=True)` that
    child imports only its function's module, and a numpy function's first result waits for no
    torch import. Every later child comes from `full` (torch too), which imported meanwhile;
    `quick` is closed once its child is done."""

    def __init__(self, quick: Any, full: Any) -> None:
        self.quick: Any = quick
        self.full = full
        self.limits = full.limits
        self.quick_next = True  # the next child is the quick one

    def start(self, workdir: Path, *args: Any) -> Any:
        if self.quick_next:
            self.quick_next = False
            return self.quick.start(workdir, *args)
        if self.quick is not None:
            self.quick.close()
            self.quick = None
        return self.full.start(workdir, *args)

    def close(self) -> None:
        for runner in (self.quick, self.full):
            if runner is not None:
                runner.close()

    def __enter__(self) -> QuickFirst:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def use_recorded_reference(course: Course) -> bool:
    """Judge from the release's recorded reference observations, if this copy has them."""
    from autograder.check.judges import use_recorded_reference as use

    path = Path(importlib.import_module(course.package).__file__).with_name(RECORDED_REFERENCE)
    if not path.is_file():
        return False
    use(json.loads(path.read_text()))
    return True


@dataclass(frozen=True)
class Outcome:
    """One check's result and what a student's report of it needs besides."""

    result: CheckResult
    failure: Failure | None = None  # the first failed call's, when a call failed
    call: int = 0                   # the index of the call the feedback is about
    at_import: bool = False         # the failure is its module's (not importable, or an import refused)


class Checking:
    """One submission, loaded once; its checks run lazily, function by function, in one session."""

    def __init__(self, target: Path, course: Course, sandbox: Any, checks: Sequence[Check]) -> None:
        from autograder.isolate.runner import Failure, Plan, Session
        from autograder.load import load_submission

        self.course, self.checks = course, list(checks)
        self._folder = tempfile.TemporaryDirectory(prefix="nlm-check-")
        self.submission = load_submission(Path(target), Path(self._folder.name), course)
        failed = {f: Failure(kind, message) for f, (kind, message) in self.submission.failed.items()}
        self.plan = Plan(course, self.submission.folder, dict(self.submission.missing), failed=failed)
        self.session = Session(sandbox, self.plan, quick_start=getattr(sandbox, "quick_next", False))
        self.outcomes: dict[str, Outcome] = {}

    def outcome(self, check: Check) -> Outcome:
        if check.name not in self.outcomes:
            self.run(check.function)
        return self.outcomes[check.name]

    def run(self, function: GradedFunction) -> None:
        """Run and judge every selected check of `function`."""
        from autograder.grade import judge_function

        mine = [c for c in self.checks if c.function is function]
        observed = [self.session.call(function, call) for check in mine for call in check.calls]
        start = 0
        for check, result in zip(mine, judge_function(mine, observed)):
            seen = observed[start:start + len(check.calls)]
            start += len(check.calls)
            self.outcomes[check.name] = self._outcome(check, result, seen)

    def _outcome(self, check: Check, result: CheckResult, seen: Sequence[Observed]) -> Outcome:
        from autograder.check.feedback import describe_call

        for index, observed in enumerate(seen):
            if observed.failure is not None:
                broken = self.plan.broken.get(check.function.module)
                at_import = observed.failure.kind.at_import or observed.failure is broken
                return Outcome(result, observed.failure, index, at_import)
        described = [i for i, call in enumerate(check.calls) if describe_call(check, call) in result.feedback]
        return Outcome(result, call=described[0] if described else 0)

    def printed_at_import(self, module: str) -> str:
        """What importing `module` printed (capped)."""
        return self.session.printed.get(module, "")

    def close(self) -> None:
        self.session.stop()
        self._folder.cleanup()
