"""The autograder's visible checks as pytest tests: what a student runs with `pytest`.

Every visible check becomes one test named like the report, `<module>.<function>: <what>`, grouped
under one collector per part (`losses`, `backprop`, `sgd`, `rnn`), so `pytest -k softmax` or
`pytest -k backprop` picks checks by name. The target graded is

  * by default the student's files in the folder the checks are collected from (the release
    folder, which holds losses.py, backprop.py, sgd.py and rnn.py),
  * `--notebook PATH`: a Jupyter notebook defining the functions,
  * `--submission PATH`: any folder, notebook, .py or .zip, as `python -m autograder grade` takes.

Nothing of the student's is imported here: the target is loaded once and each function's visible
checks run in one child of the runner when its first test runs (autograder/student/checking.py),
so the first result comes as soon as that function has run. The runner (--nlm-runner) is the
Linux sandbox that grading uses, or the portable runner (a fresh `python` per child: macOS,
Windows, and Linux on request); it is started when pytest configures, so it preloads while pytest
collects. passed -> pass; failed, crashed or timed out -> fail, showing the autograder's feedback
(no traceback), what the code printed and the command that replays the call; a module that does
not import is explained once; not attempted (a stub that raises NotImplementedError, a missing
file or function) -> "NOT ATTEMPTED", which counts as a failure in the exit status: a run with
stubs never looks like success. A hang costs its own check: every call runs under a wall-clock
limit (--nlm-timeout, 10 s by default).

The plugin is inert unless switched on: by `nlm_checks = true` in the ini file (the student
release's pytest.ini), by --submission / --notebook, or by `python -m autograder check PATH`.
So loading it never adds tests to another suite.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

import pytest

if TYPE_CHECKING:
    from autograder.check import Check
    from autograder.score import CheckResult
    from autograder.student.checking import Checking, Outcome

DEFAULT_TIMEOUT_S = 10.0
RUNNERS = ("sandbox", "portable")  # autograder.student.checking.RUNNERS, without importing it yet
_FAILURE_WORDS = {"failed": "FAILED", "crashed": "CRASHED", "timed out": "TIMED OUT"}
NOT_ATTEMPTED = "not attempted"  # the terminal's category (and word) for a check of a stub


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("nlm", "autograder checks (Training neural language models)")
    group.addoption("--submission", metavar="PATH", default=None,
                    help="grade this folder, notebook, .py or .zip instead of the files here")
    group.addoption("--notebook", metavar="PATH", default=None,
                    help="grade this Jupyter notebook (the handout's .ipynb) instead of the .py files")
    group.addoption("--nlm-timeout", metavar="SECONDS", type=float, default=DEFAULT_TIMEOUT_S,
                    help=f"wall-clock limit for each call of your functions (default {DEFAULT_TIMEOUT_S:g})")
    group.addoption("--nlm-runner", choices=RUNNERS, default=None,
                    help="where your functions run: 'sandbox' (Linux, as in grading; the default there) "
                         "or 'portable' (a fresh python process per run; the default on macOS and Windows)")
    parser.addini("nlm_checks", type="bool", default=False,
                  help="collect the autograder's visible checks, grading the files in the rootdir")


_STATE = pytest.StashKey["Grading"]()


def pytest_configure(config: pytest.Config) -> None:
    submission, notebook = config.getoption("submission"), config.getoption("notebook")
    if not (submission or notebook or config.getini("nlm_checks")):
        return
    if submission and notebook:
        raise pytest.UsageError("give --submission or --notebook, not both")
    timeout = config.getoption("nlm_timeout")
    if not timeout > 0:
        raise pytest.UsageError("--nlm-timeout must be a positive number of seconds")
    start = config.invocation_params.dir
    if submission or notebook:
        target = Path(start, submission or notebook).resolve()
        if not target.exists():
            option = "--submission" if submission else "--notebook"
            raise pytest.UsageError(f"{option} {submission or notebook}: no such file or folder")
        label = f"{'notebook' if notebook else 'submission'} {submission or notebook}"
    else:
        target, label = config.rootpath, f"your files in {config.rootpath}"
    from autograder.student.checking import default_runner

    runner = config.getoption("nlm_runner") or default_runner()
    if runner == "sandbox" and not sys.platform.startswith("linux"):
        raise pytest.UsageError("--nlm-runner sandbox needs Linux; --nlm-runner portable runs anywhere")
    grading = config.stash[_STATE] = Grading(target, label, timeout, runner)
    if not (config.option.collectonly or getattr(config.option, "help", False)):
        grading.start()  # the runner preloads numpy and torch while pytest collects


def pytest_unconfigure(config: pytest.Config) -> None:
    grading = config.stash.get(_STATE, None)
    if grading is not None:
        grading.close()


# ---------------------------------------------------------------- collection


def _anchor(config: pytest.Config) -> Path | None:
    """The folder the checks are collected with: the first folder among pytest's arguments
    (`pytest` alone collects the folder it runs in). Running only some files runs no checks."""
    for arg in config.args:
        path = Path(config.invocation_params.dir, str(arg).split("::")[0]).resolve()
        if path.is_dir():
            return path
    return None


@pytest.hookimpl(tryfirst=True)
def pytest_collect_directory(path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    grading = parent.config.stash.get(_STATE, None)
    if grading is None or grading.collected or path.resolve() != _anchor(parent.config):
        return None
    grading.collected = True
    return ChecksDir.from_parent(parent, path=path)


class ChecksDir(pytest.Dir):
    """The anchor folder: the parts' checks first, then whatever else the folder holds (a
    student's own tests are collected as usual)."""

    def collect(self) -> Iterator[pytest.Item | pytest.Collector]:
        from autograder.check import load_checks
        from autograder.registry import load_course

        course = load_course()
        checks = load_checks(course, include_hidden=False)
        names = [c.name for c in checks]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise pytest.UsageError(f"check names must be unique: {duplicates}")
        for part in course.parts:
            mine = [c for c in checks if c.function.part is part]
            if mine:
                # Node ids read "losses::losses.softmax: ...", whatever folder holds the checks.
                yield PartChecks.from_parent(self, name=part.module, nodeid=part.module, checks=mine)
        yield from super().collect()


class PartChecks(pytest.Collector):
    """One part module's visible checks (node name: the module, e.g. `losses`)."""

    def __init__(self, *, checks: list[Check], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.checks = checks

    def collect(self) -> Iterator[pytest.Item]:
        for check in self.checks:
            yield CheckItem.from_parent(self, name=check.name, check=check)


class CheckFailed(Exception):
    """A check that did not pass; the message is the autograder's feedback."""


class GradingError(Exception):
    """The checks could not be run at all (not the student's fault)."""


class CheckItem(pytest.Item):
    """One visible check; its outcome is the autograder's verdict on it."""

    def __init__(self, *, check: Check, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.check = check
        if self.config.pluginmanager.hasplugin("timeout"):
            # Grading is bounded by the sandbox's per-call limits, not by pytest-timeout.
            self.add_marker(pytest.mark.timeout(0))

    def runtest(self) -> None:
        grading = self.config.stash[_STATE]
        outcome = grading.outcome(self)
        result = outcome.result
        if result.status == "passed":
            return
        if result.status == NOT_ATTEMPTED:
            pytest.skip(_not_attempted_reason(result.feedback))
        raise CheckFailed(grading.failure_text(self.check, outcome))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style=None) -> str:
        if isinstance(excinfo.value, CheckFailed):
            return str(excinfo.value)
        if isinstance(excinfo.value, GradingError) and not self.config.getoption("fulltrace"):
            return f"{excinfo.value}\n(this is a problem of the checks, not of your code; --full-trace shows where)"
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self) -> tuple[Path, None, str]:
        # The failure heading. Not the bare name: pytest would print the name's dots as "::".
        points = self.check.points
        return self.path, None, f"{self.name} ({points:g} point{'' if points == 1 else 's'})"


def _not_attempted_reason(feedback: str) -> str:
    """Why a check was not attempted, e.g. "raises NotImplementedError" (the grader words it
    "not attempted (raises NotImplementedError)"; the terminal already says NOT ATTEMPTED)."""
    text = feedback.strip().splitlines()[0] if feedback.strip() else ""
    if text.startswith(NOT_ATTEMPTED):
        text = text[len(NOT_ATTEMPTED):].strip(" :()")
    return text or NOT_ATTEMPTED


# ---------------------------------------------------------------- grading


@dataclass
class Grading:
    """The session's grading: the runner, the one Checking of the target, what the tests made of it."""

    target: Path
    label: str
    timeout_s: float
    runner: str
    collected: bool = False
    sandbox: Any = None
    checking: Checking | None = None
    error: str | None = None
    seconds: float = 0.0
    statuses: dict[str, str] = field(default_factory=dict)  # nodeid -> status, of the tests that ran
    ran: dict[str, CheckResult] = field(default_factory=dict)  # check name -> result, likewise
    shown_under: dict[str, str] = field(default_factory=dict)  # an import failure -> the check showing it

    def start(self) -> None:
        from autograder.registry import load_course
        from autograder.student.checking import open_runner

        try:
            self.sandbox = open_runner(self.runner, load_course(), self.timeout_s)
        except Exception as error:  # noqa: BLE001 - every check reports it
            self.error = f"the autograder could not start its {self.runner} runner: {type(error).__name__}: {error}"

    def outcome(self, item: CheckItem) -> Outcome:
        if self.checking is None and self.error is None:
            self._load([i.check for i in item.session.items if isinstance(i, CheckItem)])
        if self.error is not None:
            raise GradingError(self.error)
        began = time.monotonic()
        try:
            found = self.checking.outcome(item.check)
        except Exception as error:  # noqa: BLE001 - a bug of the checks, not of the student's code
            raise GradingError(f"the autograder could not run the checks: {type(error).__name__}: {error}") from error
        finally:
            self.seconds += time.monotonic() - began
        self.statuses[item.nodeid] = found.result.status
        self.ran[item.check.name] = found.result
        return found

    def _load(self, checks: list[Check]) -> None:
        from autograder.registry import load_course
        from autograder.student.checking import Checking, use_recorded_reference

        began = time.monotonic()
        if self.sandbox is None:
            self.start()
        if self.error is not None:
            return
        course = load_course()
        use_recorded_reference(course)
        try:
            self.checking = Checking(self.target, course, self.sandbox, checks)
        except Exception as error:  # noqa: BLE001 - every check reports it
            self.error = f"the autograder could not load {self.label}: {type(error).__name__}: {error}"
        self.seconds += time.monotonic() - began

    def failure_text(self, check: Check, outcome: Outcome) -> str:
        from autograder.student.present import failure_text

        return failure_text(check, outcome, self.shown_under, self.checking.printed_at_import(check.function.module))

    def close(self) -> None:
        if self.checking is not None:
            self.checking.close()
        if self.sandbox is not None:
            self.sandbox.close()
            self.sandbox = None


def pytest_report_teststatus(report: pytest.TestReport, config: pytest.Config):
    grading = config.stash.get(_STATE, None)
    if grading is None or report.when != "call" or report.nodeid not in grading.statuses:
        return None
    status = grading.statuses[report.nodeid]
    if report.skipped and status == NOT_ATTEMPTED:
        return NOT_ATTEMPTED, "N", ("NOT ATTEMPTED", {"yellow": True})
    if report.failed and status in _FAILURE_WORDS:
        return "failed", "F", (_FAILURE_WORDS[status], {"red": True})
    return None


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """A check not attempted is a check not passed: such a run must not exit 0."""
    grading = session.config.stash.get(_STATE, None)
    if grading is None or session.exitstatus != pytest.ExitCode.OK:
        return
    if any(status == NOT_ATTEMPTED for status in grading.statuses.values()):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    grading = config.stash.get(_STATE, None)
    if grading is None or (grading.checking is None and grading.error is None):
        return
    from autograder.check import load_checks
    from autograder.registry import load_course
    from autograder.score import function_scores
    from autograder.student.present import escaped

    course = load_course()
    tr = terminalreporter
    tr.section("autograder: visible checks", sep="=", bold=True)
    if grading.error is not None:
        tr.write_line(grading.error, red=True, bold=True)
        return
    submission = grading.checking.submission
    tr.write_line(f"graded {grading.label} with the {grading.runner} runner in {grading.seconds:.1f} s")
    for message in submission.messages:
        bad = message.startswith("rejected") or submission.kind in ("rejected", "empty")
        tr.write_line(f"  note: {message}", red=bad, yellow=not bad)
    for message, check in grading.shown_under.items():
        first = escaped(message.strip().splitlines()[-1] if message.strip() else message)
        tr.write_line(f"  note: {check.split('.')[0]}.py could not be imported ({first}); "
                      f"its functions score 0 (see \"{check}\")", red=True)

    results = list(grading.ran.values())  # -x or Ctrl-C may have stopped the run early
    scores = [s for s in function_scores(course, results) if s.max_score]
    for part in course.modules:
        mine = [s for s in scores if s.function.module == part]
        if not mine:
            continue
        score, max_score = sum(s.score for s in mine), sum(s.max_score for s in mine)
        problems: dict[str, list[str]] = {}
        for s in mine:
            if s.summary != "passed":
                problems.setdefault(s.summary, []).append(s.function.name + (" (bonus)" if s.function.bonus else ""))
        detail = "; ".join(f"{word}: {', '.join(names)}" for word, names in problems.items())
        tr.write_line(f"  {part:<9} {score:g}/{max_score:g} points" + (f"   {detail}" if detail else ""),
                      green=not problems, yellow=bool(problems) and score > 0, red=bool(problems) and score == 0)

    score = round(sum(r.score for r in results), 6)
    max_score = round(sum(r.max_score for r in results), 6)
    visible = load_checks(course, include_hidden=False)
    every = round(sum(c.points for c in visible), 6)
    if len(results) == len(visible):
        line = f"visible checks: {score:g}/{max_score:g} points (hidden checks run when you submit)"
    else:
        line = (f"visible checks: {score:g}/{max_score:g} points in the {len(results)} checks run "
                f"(all visible checks: {every:g} points; hidden checks run when you submit)")
    tr.write_line(line, bold=True, green=score == max_score, red=score < max_score)

    not_attempted = sum(r.status == NOT_ATTEMPTED for r in results)
    if results and not_attempted == len(results):
        tr.write_line("Nothing attempted yet: every check ran into a stub (NotImplementedError) or a missing "
                      "function, so this run FAILS. Implement the functions and run pytest again.",
                      red=True, bold=True)
    elif not_attempted:
        tr.write_line(f"{not_attempted} checks not attempted: they count as not passed (the exit status "
                      "is non-zero until every function is implemented).", yellow=True)


# ---------------------------------------------------------------- python -m autograder check


def run_checks(path: Path, pytest_args: list[str] | tuple[str, ...] = (), runner: str | None = None) -> int:
    """`python -m autograder check PATH [--runner R] [pytest options]`: the students' pytest run
    on any submission, from anywhere (an empty scratch folder is the rootdir, so no other suite,
    ini file or conftest takes part). Returns pytest's exit code."""
    import os
    import sys
    import tempfile

    path = Path(path).resolve()
    if not path.exists():
        print(f"check: {path} does not exist")
        return int(pytest.ExitCode.USAGE_ERROR)
    with tempfile.TemporaryDirectory(prefix="nlm-check-") as scratch:
        Path(scratch, "pytest.ini").write_text("[pytest]\n")
        args = ["--rootdir", scratch, "-p", "no:cacheprovider", "-v", f"--submission={path}",
                *([f"--nlm-runner={runner}"] if runner else []), *pytest_args, scratch]
        cwd = os.getcwd()
        os.chdir(scratch)  # node ids print relative to where pytest runs: "losses::losses.softmax: ..."
        try:
            # This module, already imported, is the plugin (-p would import it a second time).
            return int(pytest.main(args, plugins=[sys.modules[__name__]]))
        finally:
            os.chdir(cwd)
