"""Grade one submission: load -> run -> check -> score. Reports render the result."""

from __future__ import annotations

import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from autograder.checks import Check, load_checks
from autograder.checks.judges import describe_call
from autograder.contract import BY_QUALNAME
from autograder.run import Failure, Runner
from autograder.sandbox import Limits, Sandbox
from autograder.scoring import STATUS_OF_FAILURE, CheckResult
from autograder.submission import Submission, load_submission


@dataclass
class GradeReport:
    submission: str
    kind: str
    messages: list[str]
    results: list[CheckResult]
    execution_time: float = 0.0
    metadata: dict[str, Any] = field(default_factory=dict)
    output: dict[str, str] = field(default_factory=dict)  # what the code printed, per module (capped)


def judge_check(check: Check, values: Sequence[Any]) -> CheckResult:
    """One check's result from its calls' values or Failures."""
    def result(score: float, status: str, text: str) -> CheckResult:
        return CheckResult(check.name, check.function, check.points, score, status, text, check.visible)

    for call, value in zip(check.calls, values):
        if isinstance(value, Failure):
            status = STATUS_OF_FAILURE.get(value.kind, "crashed")
            if status == "not attempted" or value.kind in ("syntax_error", "import_error", "missing_module"):
                return result(0.0, status, value.message)
            return result(0.0, status, f"Called {describe_call(check.function, call)}.\n{value.message}")
    try:
        verdict = check.judge(check.calls, values)
    except Exception as error:  # an observation of a form the judge did not foresee
        return result(0.0, "failed", f"The result has an unexpected form ({type(error).__name__}: {error}).")
    return result(check.points if verdict.passed else 0.0, "passed" if verdict.passed else "failed",
                  verdict.feedback)


def judge_function(checks: Sequence[Check], values: Sequence[Any]) -> list[CheckResult]:
    """The results of one function's checks, from the values of all their calls in order."""
    results, start = [], 0
    for check in checks:
        results.append(judge_check(check, values[start:start + len(check.calls)]))
        start += len(check.calls)
    return results


def grade_submission(submission: Submission, sandbox: Sandbox, checks: Sequence[Check]
                     ) -> tuple[list[CheckResult], dict[str, str]]:
    """Every check's result for a loaded submission, one child per part module (more after a
    crash), and what the student's code printed.

    A thread judges each module's functions while the next module runs in its child, so the
    grader's torch work overlaps the student's."""
    runner = Runner(sandbox, submission.folder)
    if submission.modules:
        runner.probe_imports()
    by_function = {q: [c for c in checks if c.function == q] for q in dict.fromkeys(c.function for c in checks)}
    with ThreadPoolExecutor(max_workers=1) as judging:
        pending = []
        for module in dict.fromkeys(BY_QUALNAME[q].module for q in by_function):
            work = [(BY_QUALNAME[q], [call for c in mine for call in c.calls])
                    for q, mine in by_function.items() if BY_QUALNAME[q].module == module]
            if module not in submission.modules:
                missing = Failure("missing_module", f"not attempted: no {module}.py in the submission")
                values = {f.qualname: [missing] * len(calls) for f, calls in work}
            else:
                values = runner.run_module(module, work)
            for function, _ in work:
                pending.append(judging.submit(judge_function, by_function[function.qualname],
                                              values[function.qualname]))
        return [result for future in pending for result in future.result()], runner.output


def grade(path: Path, *, limits: Limits = Limits(), include_hidden: bool = True,
          sandbox: Sandbox | None = None, checks: Sequence[Check] | None = None) -> GradeReport:
    """Grade the submission at `path` (a folder, .py, .ipynb or .zip)."""
    start = time.monotonic()
    checks = load_checks(include_hidden) if checks is None else checks
    owned = sandbox is None
    sandbox = sandbox or Sandbox(limits)
    try:
        with tempfile.TemporaryDirectory(prefix="nlm-grade-") as tmp:
            submission = load_submission(Path(path), Path(tmp))
            results, output = grade_submission(submission, sandbox, checks)
    finally:
        if owned:
            sandbox.close()
    return GradeReport(str(path), submission.kind, list(submission.messages), results,
                       round(time.monotonic() - start, 3), output=output)
