"""Grade one submission: load -> isolate -> check -> score. Reports render the result.

Visible checks run first; hidden checks run only after every visible check has, so nothing a
visible check reports can carry a hidden input. Both run in the same child (each function starts
from the state after import, as any function does), which saves a child's start per submission.
"""

from __future__ import annotations

import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

from autograder.check import Check, load_checks
from autograder.check.feedback import describe_call
from autograder.isolate import protocol
from autograder.isolate.runner import Failure, Observed, Plan, Session
from autograder.load import Submission, load_submission
from autograder.registry import Course, GradedFunction, warm_reference
from autograder.score import CheckResult, GradeReport

if TYPE_CHECKING:  # the sandbox is Linux-only; the student checks' portable runner judges with this module too
    from autograder.isolate.sandbox import Limits, Sandbox


def judge_check(check: Check, observed: Sequence[Observed]) -> CheckResult:
    """One check's result from its calls' observations."""
    printed = protocol.capped("".join(o.printed for o in observed))

    def result(score: float, status: str, text: str) -> CheckResult:
        return CheckResult(check.name, check.function.qualname, check.points, score, status, text,
                           check.visible, printed)

    for call, seen in zip(check.calls, observed):
        if seen.failure is not None:
            kind, status = seen.failure.kind, seen.failure.kind.status
            if status == "not attempted" or kind.at_import:
                return result(0.0, status, seen.failure.message)
            return result(0.0, status, f"Called {describe_call(check, call)}.\n{seen.failure.message}")
    try:
        verdict = check.judge(check, [seen.value for seen in observed])
    except Exception as error:  # an observation of a form the judge did not foresee
        return result(0.0, "failed", f"The result has an unexpected form ({type(error).__name__}: {error}).")
    return result(check.points if verdict.passed else 0.0, "passed" if verdict.passed else "failed",
                  verdict.feedback)


def judge_function(checks: Sequence[Check], observed: Sequence[Observed]) -> list[CheckResult]:
    """The results of one function's checks, from the observations of all their calls in order."""
    results, start = [], 0
    for check in checks:
        results.append(judge_check(check, observed[start:start + len(check.calls)]))
        start += len(check.calls)
    return results


def grade_submission(submission: Submission, sandbox: Sandbox, checks: Sequence[Check], course: Course
                     ) -> tuple[list[CheckResult], dict[str, str]]:
    """Every check's result for a loaded submission, and what importing its modules printed.

    A thread judges the visible checks while the hidden ones run, so the grader's torch work
    overlaps the student's."""
    warm_reference(course)
    plan = Plan(course, submission.folder, dict(submission.missing),
                broken={m: Failure(kind, message) for m, (kind, message) in submission.broken.items()},
                failed={f: Failure(kind, message) for f, (kind, message) in submission.failed.items()})
    printed: dict[str, str] = {}
    by_group: dict[bool, dict[GradedFunction, list[Check]]] = {True: {}, False: {}}
    for check in checks:
        by_group[check.visible].setdefault(check.function, []).append(check)
    with ThreadPoolExecutor(max_workers=1) as judging, Session(sandbox, plan) as session:
        pending = []
        for visible in (True, False):
            group = by_group[visible]
            if not group:
                continue
            observed = session.run([(f, [call for c in mine for call in c.calls]) for f, mine in group.items()])
            if visible:
                printed.update(session.printed)
            pending += [judging.submit(judge_function, group[f], observed[f]) for f in group]
        results = [result for future in pending for result in future.result()]
    order = {c.name: i for i, c in enumerate(checks)}
    return sorted(results, key=lambda r: order[r.name]), printed


class NotConfined(RuntimeError):
    """Confinement was required and this machine cannot give it: no student code was run."""


def grade(path: Path, course: Course, *, limits: Limits | None = None, include_hidden: bool = True,
          sandbox: Sandbox | None = None, checks: Sequence[Check] | None = None,
          require_confinement: bool | None = None,
          on_loaded: Callable[[Submission], None] | None = None) -> GradeReport:
    """Grade the submission at `path` (a folder, .py, .ipynb or .zip).

    With `require_confinement` True or False, whether student code runs confined is decided after
    loading, once the sandbox is up (loading overlaps its start): unconfined, it is said loudly,
    and NotConfined is raised when confinement was required. None: the caller has decided.
    `on_loaded` is given the loaded submission while its canonical folder exists (grade-all reads
    the functions' sources there, so a submission is loaded once)."""
    start = time.monotonic()
    checks = load_checks(course, include_hidden) if checks is None else checks
    owned = sandbox is None
    if owned:
        from autograder.isolate.sandbox import Limits, Sandbox, course_preload

        sandbox = Sandbox(limits or Limits(), preload=course_preload(course))
    try:
        with tempfile.TemporaryDirectory(prefix="nlm-grade-") as tmp:
            submission = load_submission(Path(path), Path(tmp), course)
            if on_loaded is not None:
                on_loaded(submission)
            if require_confinement is not None:
                from autograder.isolate.sandbox import confinement_or_refuse

                if not confinement_or_refuse(require_confinement, sandbox.confinement()):  # (waits for it)
                    raise NotConfined(sandbox.confinement().reason)
            results, output = grade_submission(submission, sandbox, checks, course)
    finally:
        if owned:
            sandbox.close()
    return GradeReport(str(path), submission.kind, list(submission.messages), results,
                       round(time.monotonic() - start, 3), output=output)
