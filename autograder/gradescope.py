"""Grade inside Gradescope: `python3 -m autograder gradescope [--root /autograder]`.

Grades `$ROOT/submission` into `$ROOT/results/results.json`, and always leaves a valid results
file there, whatever the submission or the grader does (a grader failure scores 0 with a note to
contact the staff; the traceback goes to stdout, which only instructors see).

Run as root (Gradescope does), student code runs as an unprivileged account (`student`, created
by setup.sh, else `nobody`; AUTOGRADER_USER names another), and before grading:
  - `$ROOT/source`, the grader with its hidden checks, becomes root's alone (0700), so student
    code can neither read nor change it. The sandbox's zygote has imported everything the child
    needs (PRELOAD below) before it forks, so the child never reads a grader file after the drop;
  - `$ROOT/results` is root's and 0755: student code cannot write results.json;
  - `$ROOT/submission_metadata.json` (e-mails, previous results with hidden tests) becomes 0600.
After grading, every process of that account is killed (scan /proc, SIGKILL, until none is left)
and only then is results.json written, atomically, by root. Not run as root, the same code runs
without the privilege drop (the sandbox's subreaper still kills what student code leaves behind).

`--self-test` (setup.sh's last step) grades, the same way, a submission whose every graded
function raises, and fails unless each check called it in the child: the image build fails then,
not every submission later.

The student code's stdout is never shown; the stdout of this command goes to Gradescope's
"stdout" box, hidden from students (`stdout_visibility`) unless --show-stdout or
AUTOGRADER_SHOW_STDOUT=1 makes it visible.
"""

from __future__ import annotations

import json
import os
import pwd
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

from autograder.isolate import sandbox
from autograder.isolate.sandbox import Limits, Sandbox
from autograder.registry import Course, load_course
from autograder.report.gradescope import write_json_atomic

DEFAULT_ROOT = Path("/autograder")
USERS = ("student", "nobody")  # the first that exists runs student code when we are root

SELF_TEST_ERROR = "raised on purpose by the autograder's self-test"
FAILURE_OUTPUT = ("The autograder failed to grade this submission (this is not a verdict on your "
                  "code: nothing was graded). Please contact the course staff.")


def main(root: Path = DEFAULT_ROOT, *, show_stdout: bool | None = None, limits: Limits = Limits(),
         own_process: bool = False) -> int:
    """Grade and write results.json; 0 once a results file (real or fallback) is written.

    own_process (the command line): this process becomes a subreaper, and every process left
    below it is killed before the write, so even without the privilege drop nothing that student
    code started outlives the grading."""
    root = Path(root).resolve()
    if own_process:
        sandbox.become_subreaper()
    if show_stdout is None:
        show_stdout = os.environ.get("AUTOGRADER_SHOW_STDOUT", "") not in ("", "0", "false", "no")
    results_path = root / "results" / "results.json"
    start = time.monotonic()
    account = None
    try:
        account = unprivileged_account()
        if account is not None:
            harden(root)
        data = grade_to_results(load_course(), root, account, limits)
    except BaseException:  # noqa: BLE001 - whatever happened, Gradescope gets a results file
        print("autograder: grading failed:", file=sys.stdout)
        traceback.print_exc(file=sys.stdout)
        data = failure_results(time.monotonic() - start)
    data["stdout_visibility"] = "visible" if show_stdout else "hidden"
    try:
        if account is not None and not sandbox.kill_user_processes(account.pw_uid):
            raise RuntimeError(f"processes of {account.pw_name} survive SIGKILL")
        if own_process:
            sandbox.kill_descendants()
        if not valid(data):
            print("autograder: the results did not match the schema; writing the fallback")
            data = failure_results(time.monotonic() - start) | {"stdout_visibility": data["stdout_visibility"]}
        write_json_atomic(data, results_path)  # root writes it, after every student process is gone
    except BaseException:  # noqa: BLE001 - run_autograder writes its own fallback then
        traceback.print_exc(file=sys.stdout)
        return 1
    print(f"autograder: score {data['score']:g}, {len(data['tests'])} tests, "
          f"{time.monotonic() - start:.1f} s; wrote {results_path}")
    return 0


def grade_to_results(course: Course, root: Path, account: pwd.struct_passwd | None, limits: Limits) -> dict[str, Any]:
    names = student_names(root / "submission_metadata.json")
    user = account.pw_name if account is not None else None
    print(f"autograder: grading {root / 'submission'}" + (f" as user {user}" if user else " (no privilege drop: not root)"))
    # The zygote starts importing torch now, while this process imports the checks (torch too).
    with Sandbox(limits, preload=sandbox.course_preload(course), user=user) as box:
        status = box.confinement()
        if not status.confined:  # never grade unconfined on Gradescope: results would be forgeable
            raise RuntimeError(f"student code cannot be confined here: {status.reason}")
        print(f"autograder: student code confined ({status.mode})")
        from autograder.grade import grade
        from autograder.report.gradescope import results_json

        report = grade(root / "submission", course, limits=limits, include_hidden=True, sandbox=box)
    if names:
        report.messages.insert(0, f"Graded for {names}")
    for message in report.messages:
        print(f"autograder: {message}")
    return results_json(course, report)


def self_test(limits: Limits = Limits()) -> int:
    """Grade a submission whose every graded function raises SELF_TEST_ERROR, as main() would
    (privilege drop included) but catching nothing; 0 when every check reported that error from
    the child, else 1 with the reasons."""
    course = load_course()
    account = unprivileged_account()
    with tempfile.TemporaryDirectory(prefix="autograder-self-test-") as tmp:
        root = Path(tmp)
        root.chmod(0o755)  # as /autograder: the unprivileged account reads the submission
        write_raising_submission(root / "submission", course)
        data = grade_to_results(course, root, account, limits)
    if account is not None and not sandbox.kill_user_processes(account.pw_uid):
        raise RuntimeError(f"processes of {account.pw_name} survive SIGKILL")
    problems = self_test_problems(data, course)
    for problem in problems:
        print(f"autograder self-test: {problem}")
    print(f"autograder self-test: {'FAILED' if problems else 'passed'} ({len(data['tests'])} checks graded)")
    return 1 if problems else 0


def write_raising_submission(folder: Path, course: Course) -> None:
    """One module per part, each graded function raising SELF_TEST_ERROR whatever its arguments."""
    folder.mkdir(parents=True)
    for module in course.modules:
        (folder / f"{module}.py").write_text("".join(
            f"def {f.name}(*args, **kwargs):\n    raise RuntimeError({SELF_TEST_ERROR!r})\n\n\n"
            for f in course.functions if f.module == module))


def self_test_problems(data: dict[str, Any], course: Course) -> list[str]:
    """What is wrong with the self-test's results: invalid, a check missing, one that did not run."""
    from autograder.check import load_checks

    problems = [] if valid(data) else ["the results do not match Gradescope's schema"]
    expected = len(load_checks(course))
    if len(data["tests"]) != expected:
        problems.append(f"{len(data['tests'])} checks reported, {expected} expected")
    problems += [f"{test['name']}: did not report the function's error: {test['output'][:300]!r}"
                 for test in data["tests"] if test["score"] != 0 or SELF_TEST_ERROR not in test["output"]]
    return problems


def unprivileged_account() -> pwd.struct_passwd | None:
    """The account student code runs as, or None when we are not root (no drop possible)."""
    if os.geteuid() != 0:
        return None
    wanted = os.environ.get("AUTOGRADER_USER")
    for name in ([wanted] if wanted else USERS):
        try:
            account = pwd.getpwnam(name)
        except KeyError:
            continue
        if account.pw_uid == 0:
            raise RuntimeError(f"refusing to run student code as {name}: its uid is 0")
        return account
    raise RuntimeError(f"no account to run student code as (tried {', '.join([wanted] if wanted else USERS)})")


def harden(root: Path) -> None:
    """Root only: the grader's files unreadable, the results unwritable, the metadata private."""
    source = root / "source"
    if source.is_dir():
        os.chown(source, 0, 0)
        os.chmod(source, 0o700)
    results = root / "results"
    results.mkdir(parents=True, exist_ok=True)
    os.chown(results, 0, 0)
    os.chmod(results, 0o755)
    metadata = root / "submission_metadata.json"
    if metadata.is_file():
        os.chown(metadata, 0, 0)
        os.chmod(metadata, 0o600)


def student_names(path: Path) -> str:
    """"Ada Lovelace, Alan Turing" from submission_metadata.json's users, or "" (no file, no names)."""
    try:
        users = json.loads(path.read_text()).get("users") or []
        names = [str(u["name"]).strip() for u in users if isinstance(u, dict) and u.get("name")]
    except (OSError, ValueError, AttributeError, TypeError):
        return ""
    return ", ".join(n for n in names if n)


def failure_results(elapsed: float) -> dict[str, Any]:
    return {"score": 0, "execution_time": round(max(elapsed, 0.0), 3), "output": FAILURE_OUTPUT,
            "visibility": "visible", "stdout_visibility": "hidden", "tests": []}


def valid(data: dict[str, Any]) -> bool:
    """Whether `data` matches the results schema (True when jsonschema is not installed)."""
    try:
        import jsonschema
    except ImportError:
        return isinstance(data.get("score"), (int, float)) and isinstance(data.get("tests"), list)
    from autograder.report.gradescope import schema

    try:
        jsonschema.validate(data, schema())
    except jsonschema.ValidationError as error:
        print(f"autograder: invalid results: {error.message}")
        return False
    return True
