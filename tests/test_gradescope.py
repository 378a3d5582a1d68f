"""The Gradescope bundle: the zip's contents, and run_autograder from the unpacked zip in a
folder laid out like /autograder (source/, submission/, results/), on the solutions, the stubs
and hostile submissions. As root (Gradescope, CI) student code runs as an unprivileged account
and the privilege-specific assertions run; otherwise they are skipped and the rest still runs.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import textwrap
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import jsonschema
import pytest

from autograder.build.bundle import build_gradescope_zip, makefile_torch_spec
from autograder.build.lock import name_of, pyproject, read_lock, supported_pythons
from autograder.check import load_checks
from autograder.course import COURSE
from autograder.report.gradescope import schema
from conftest import ASSIGNMENT, ROOT, SOLUTIONS

IS_ROOT = os.geteuid() == 0
NEEDS_ROOT = pytest.mark.skipif(not IS_ROOT, reason="privilege drop and file locking need root "
                                "(Gradescope runs run_autograder as root)")
MARKER = "BEGIN " + "SOLUTION"
HIDDEN_LOSSES = ROOT / "autograder" / "course" / "hidden" / "losses.py"
RUN_TIMEOUT_S = 240


def total_points(prefix: str = "") -> float:
    return sum(c.points for c in load_checks(COURSE) if c.function.qualname.startswith(prefix))


# The attacks share one submission (one run_autograder): its losses.py makes every attack when it is
# imported, each recording under its own tags, and its square_loss smuggles the records out, so it
# loses exactly square_loss's points.
SMUGGLED = total_points("losses.") - total_points("losses.square_loss")


# ------------------------------------------------------------------------------------- the zip


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> tuple[Path, float]:
    start = time.monotonic()
    path = build_gradescope_zip(COURSE, tmp_path_factory.mktemp("dist") / "gradescope-autograder.zip")
    return path, time.monotonic() - start


def test_zip_layout(bundle):
    path, _ = bundle
    with zipfile.ZipFile(path) as archive:
        infos = {i.filename: i for i in archive.infolist()}
        names = set(infos)
        for script in ("setup.sh", "run_autograder"):
            assert script in names, f"{script} must be at the zip's root"
            mode = infos[script].external_attr >> 16
            assert stat.S_ISREG(mode) and mode & 0o111 == 0o111, f"{script} is not executable: {oct(mode)}"
            assert archive.read(script).startswith(b"#!/usr/bin/env bash\n")
        assert "requirements.txt" in names
        assert {"autograder/__init__.py", "autograder/__main__.py", "autograder/gradescope.py",
                "autograder/isolate/sandbox.py", "autograder/isolate/harness.py",
                "autograder/course/reference.py"} <= names
        assert not any(n.startswith(("autograder/build/", "autograder/batch/", "autograder/course/handout/"))
                       for n in names)
        for part in COURSE.modules:
            for folder in ("checks", "hidden", "hints", "mistakes"):
                assert f"autograder/course/{folder}/{part}.py" in names
        for name in names:
            top = name.split("/")[0]
            assert top in ("setup.sh", "run_autograder", "requirements.txt", "autograder"), name
            assert "__pycache__" not in name and not name.endswith(".pyc"), name
        for name in names:  # and no solution text anywhere, whatever the file
            assert MARKER.encode() not in archive.read(name), f"{name} holds solution text"
        # (the grader's own numpy versions of the functions, in mistakes/, are meant to be there:
        # the zip goes to Gradescope only, and student code cannot read it there)
        shipped = {archive.read(n) for n in names}
        for folder in (SOLUTIONS, ASSIGNMENT):
            for f in folder.iterdir():
                if f.is_file():
                    assert f.read_bytes() not in shipped, f"{f} is in the zip"


def test_requirements_are_torch_then_the_lock_and_nothing_instructor_only(bundle):
    path, _ = bundle
    with zipfile.ZipFile(path) as archive:
        requirements = archive.read("requirements.txt").decode()
    pins = [line for line in requirements.splitlines() if line and not line.startswith("#")]
    assert pins[0] == makefile_torch_spec()
    assert pins[1:] == [f"{name}=={version}" for name, version in read_lock().items()]
    names = {name_of(pin) for pin in pins}
    assert {name_of(r) for r in pyproject()["dependencies"]} <= names  # what grading needs, torch first
    instructor_only = {name_of(r) for r in pyproject()["optional-dependencies"]["instructor"]}
    assert instructor_only and not names & instructor_only


def test_a_lock_from_other_dependencies_is_refused(tmp_path):
    lock = tmp_path / "requirements.lock"
    lock.write_text("# from: numpy>=1.24\nnumpy==2.2.6\n")
    with pytest.raises(RuntimeError, match="make gradescope-lock"):
        read_lock(lock)


def test_setup_installs_cpu_torch_first_in_its_own_environment(bundle):
    path, _ = bundle
    with zipfile.ZipFile(path) as archive:
        setup = archive.read("setup.sh").decode()
        run = archive.read("run_autograder").decode()
    torch_spec, pythons = makefile_torch_spec(), supported_pythons()
    assert f'TORCH_SPEC="{torch_spec}"' in setup and "TORCH_CPU_INDEX=https://download.pytorch.org/whl/cpu" in setup
    cpu, fallback = '"$TORCH_SPEC" --index-url "$TORCH_CPU_INDEX"', 'pip install "$TORCH_SPEC"\n'
    assert cpu in setup and fallback in setup and "could not be reached" in setup
    assert setup.index(cpu) < setup.index(fallback)
    assert setup.index("install_torch\n") < setup.index('-r "$SOURCE/requirements.txt"')
    assert f"PYTHON_MIN={pythons[0]} PYTHON_MAX={pythons[-1]}" in setup
    venv = re.search(r"^VENV=(\S+)$", setup, re.M).group(1)
    assert f"PYTHON={venv}/bin/python3" in run  # run_autograder grades with setup.sh's environment
    assert "useradd --no-create-home" in setup and "chmod 0700" in setup
    assert setup.rstrip().splitlines()[-2].endswith("-m autograder gradescope --self-test")
    assert not re.search(r"@[A-Z_]+@", setup)  # every template placeholder filled
    for script in (setup, run):
        subprocess.run(["bash", "-n"], input=script, text=True, check=True)


def test_pyproject_setup_and_readme_name_the_same_pythons():
    pythons = supported_pythons()
    assert pyproject()["requires-python"] == f">={pythons[0]}"
    minors = [int(v.split(".")[1]) for v in pythons]
    assert minors == list(range(minors[0], minors[0] + len(minors)))  # none skipped between
    readme = (ROOT / "README.md").read_text()
    gradescope = readme[readme.index("## Gradescope"):].split("\n## ")[0]
    assert f"Python {pythons[0]} to {pythons[-1]}" in gradescope


# ------------------------------------------------------------- run_autograder in a fake /autograder


def spy_dir() -> Path:
    """A folder the unprivileged student code can write its observations to."""
    spy = Path(tempfile.mkdtemp(prefix="gs-spy-", dir="/tmp"))
    spy.chmod(0o777)
    return spy


def make_root(bundle_path: Path, submission: dict[str, str] | Path) -> Path:
    """A folder laid out like /autograder, reachable by other users as /autograder is."""
    root = Path(tempfile.mkdtemp(prefix="gs-root-", dir="/tmp"))
    root.chmod(0o755)
    for sub in ("source", "submission", "results"):
        (root / sub).mkdir()
    with zipfile.ZipFile(bundle_path) as archive:  # unzip, keeping the modes as Gradescope does
        for info in archive.infolist():
            target = root / "source" / info.filename
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(archive.read(info))
            target.chmod((info.external_attr >> 16) & 0o777)
    shutil.copy2(root / "source" / "run_autograder", root / "run_autograder")
    if isinstance(submission, Path):
        for f in submission.glob("*.py"):
            shutil.copy(f, root / "submission" / f.name)
    else:
        for name, text in submission.items():
            (root / "submission" / name).write_text(text)
    (root / "submission_metadata.json").write_text(json.dumps({
        "id": 1, "users": [{"email": "ada@example.com", "id": 7, "name": "Ada Lovelace"},
                           {"email": "alan@example.com", "id": 8, "name": "Alan Turing"}],
        "previous_submissions": [{"score": 3.0, "results": {"secret": "PREVIOUS-RESULTS-CANARY"}}]}))
    return root


@dataclass
class Run:
    root: Path
    spy: Path
    process: subprocess.CompletedProcess
    seconds: float
    results_text: str  # results.json as read 1 s after run_autograder returned

    @property
    def results(self) -> dict:
        return json.loads(self.results_text)

    def spied(self, tag: str) -> list[str]:
        """What the attack recorded under `tag`: it smuggles its records out through square_loss's
        feedback (confined, it can write nowhere the test could read)."""
        for test in self.results["tests"]:
            if test["name"].startswith("losses.square_loss") and "spied: " in test["output"]:
                return json.loads(test["output"].rsplit("spied: ", 1)[1].splitlines()[0]).get(tag, [])
        return []


def run_autograder(root: Path, spy: Path, **env: str) -> Run:
    environment = {"PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', os.defpath)}",
                   "HOME": os.environ.get("HOME", "/root"), "LANG": "C.UTF-8",
                   "AUTOGRADER_ROOT": str(root), "GRADER_SECRET_CANARY": "canary-7f3a", **env}
    start = time.monotonic()
    process = subprocess.run([str(root / "run_autograder")], cwd=root, env=environment,
                             capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    seconds = time.monotonic() - start
    time.sleep(1.0)  # a leftover process would have overwritten results.json by now
    return Run(root, spy, process, seconds, (root / "results" / "results.json").read_text())


def losses_with(code: str) -> dict[str, str]:
    """A submission of the solutions' losses.py alone, with `code` appended (it runs whenever
    losses is imported): the other parts are missing, which keeps these runs short."""
    return {"losses.py": (SOLUTIONS / "losses.py").read_text() + "\n\n" + textwrap.dedent(code)}


RECORD = """
import json as _json_mod, os as _os
_SPIED = {{}}

def _record(tag, text):
    _SPIED.setdefault(tag, []).append(text)
"""

SMUGGLE = """
def square_loss(y, o):  # smuggles what the attack saw into the feedback students see
    raise RuntimeError("spied: " + _json_mod.dumps(_SPIED))
"""

FAKE_RESULTS = """
import json as _json
for _target in ("../results/results.json", "../../results/results.json", {results!r}):
    try:
        with open(_target, "w") as _f:
            _json.dump({{"score": 1000.0, "execution_time": 1, "output": "HACKED", "tests": []}}, _f)
        _record("fake", "wrote " + _target)
    except Exception as _error:
        _record("fake", f"{{_target}}: {{type(_error).__name__}}")
"""

DAEMON = """
import json as _json, sys as _sys, time as _time

def _haunt():
    _pid = _os.fork()
    if _pid:
        _record("daemon", str(_pid))
        return
    _os.setsid()
    if _os.fork():
        _os._exit(0)
    _null = _os.open(_os.devnull, _os.O_RDWR)
    for _fd in (0, 1, 2):
        _os.dup2(_null, _fd)
    _stop = _time.time() + 30  # well past the end of grading
    while _time.time() < _stop:
        try:
            with open({results!r}, "w") as _f:
                _json.dump({{"score": 1000.0, "execution_time": 1, "output": "HAUNTED", "tests": []}}, _f)
        except Exception:
            pass
        _time.sleep(0.1)
    _os._exit(0)

_haunt()
"""

READER = """
import sys as _sys
try:
    with open({hidden!r}) as _f:
        _stolen = _f.read()
    _record("read", "READ\\n" + _stolen)
except Exception as _error:
    _stolen = type(_error).__name__
    _record("read", _stolen)
print(_stolen)
_record("stolen", _stolen[:500])
_record("env", repr(dict(_os.environ)))
_record("uid", str(_os.getuid()))
try:  # unreadable once the uid changed (the process is no longer dumpable); scrubbed anyway
    _record("env", open("/proc/self/environ").read())
except Exception:
    pass
try:
    _record("meta", open({metadata!r}).read())
except Exception as _error:
    _record("meta", type(_error).__name__)
"""

MODIFIER = """
try:
    with open({grade!r}, "a") as _f:
        _f.write("\\nraise SystemExit('HACKED')\\n")
    _record("modify", "appended")
except Exception as _error:
    _record("modify", type(_error).__name__)
"""


@pytest.fixture(scope="module")
def runs(bundle) -> dict[str, Run]:
    """Every run_autograder case, two at a time (the machine has two cores)."""
    path, _ = bundle

    def case(name: str) -> Run:
        spy = spy_dir()
        if name == "solutions":
            root = make_root(path, SOLUTIONS)
        elif name == "stubs":
            root = make_root(path, ASSIGNMENT)
        else:
            root = make_root(path, {})
            fields = {"spy": str(spy), "results": str(root / "results" / "results.json"),
                      "hidden": str(root / "source" / "autograder" / "course" / "hidden" / "losses.py"),
                      "grade": str(root / "source" / "autograder" / "grade.py"),
                      "metadata": str(root / "submission_metadata.json")}
            attacks = "".join(attack.format(**fields) for attack in (DAEMON, FAKE_RESULTS, READER, MODIFIER))
            for file, text in losses_with(RECORD.format(**fields) + SMUGGLE + attacks).items():
                (root / "submission" / file).write_text(text)
        return run_autograder(root, spy)

    names = ["solutions", "attacks", "stubs"]
    start = time.monotonic()
    with ThreadPoolExecutor(max_workers=2) as pool:
        done = dict(zip(names, pool.map(case, names)))
    print(f"\nrun_autograder, two at a time: {time.monotonic() - start:.1f} s in all; "
          + ", ".join(f"{n} {r.seconds:.1f} s" for n, r in done.items()))
    yield done
    for run in done.values():
        shutil.rmtree(run.root, ignore_errors=True)
        shutil.rmtree(run.spy, ignore_errors=True)


def check_results(run: Run, score: float) -> dict:
    assert run.process.returncode == 0, run.process.stdout + run.process.stderr
    results = run.results
    jsonschema.validate(results, schema())
    assert results["score"] == pytest.approx(score), results["output"] + "\n".join(
        t["output"] for t in results["tests"] if t["score"] < t["max_score"])
    assert len(results["tests"]) == len(load_checks(COURSE))
    assert results["stdout_visibility"] == "hidden"
    assert results["output"].startswith("Graded for Ada Lovelace, Alan Turing\n")
    for test in results["tests"]:  # the metadata stays out of the tests
        assert "Ada" not in test["output"] and "ada@example.com" not in json.dumps(test)
    assert "HACKED" not in run.results_text and "HAUNTED" not in run.results_text
    assert "fallback" not in run.process.stderr
    return results


@pytest.mark.slow
def test_solutions_score_full_marks(runs):
    run = runs["solutions"]
    check_results(run, total_points())
    assert total_points() == COURSE.max_score + COURSE.bonus_score
    print(f"run_autograder on the solutions: {run.seconds:.1f} s")


@pytest.mark.slow
def test_stubs_score_zero(runs):
    results = check_results(runs["stubs"], 0)
    assert all(t["score"] == 0 for t in results["tests"])


@pytest.mark.slow
def test_a_fake_results_file_is_replaced_by_the_graders(runs):
    run = runs["attacks"]
    check_results(run, SMUGGLED)
    reports = run.spied("fake")
    assert reports, "the attack never ran"
    results = str(run.root / "results" / "results.json")
    attempts = [r for r in reports if results in r]  # confined: not even there to open
    assert attempts and all(r == f"{results}: FileNotFoundError" for r in attempts), attempts


@pytest.mark.slow
def test_a_detached_process_cannot_overwrite_the_results(runs):
    run = runs["attacks"]
    check_results(run, SMUGGLED)  # read 1 s after run_autograder returned
    assert run.spied("daemon"), "the attack never ran"
    if IS_ROOT:  # no process of the student's survives (its PID namespace died with the run)
        from autograder.isolate.sandbox import _process_table, _user_pids

        assert not _user_pids(_process_table(), _student_uid())


@pytest.mark.slow
def test_student_code_cannot_read_the_grader_or_see_its_environment(runs):
    run = runs["attacks"]
    check_results(run, SMUGGLED)
    hidden_source = HIDDEN_LOSSES.read_text()
    secret_lines = [line.strip() for line in hidden_source.splitlines()
                    if line.strip().startswith(("from ", "import ", "def ", "CHECKS"))]
    assert secret_lines
    assert run.spied("stolen")  # the smuggling channel itself works
    env = "\n".join(run.spied("env"))
    assert env and "canary-7f3a" not in env and "GRADER_SECRET" not in env
    assert "AUTOGRADER_ROOT" not in env
    observed = run.spied("read")
    assert observed and all(text == "FileNotFoundError" for text in observed), observed[:1]
    for line in secret_lines:  # neither in what the student code saw nor in its feedback
        assert not any(line in text for text in observed)
        assert line not in run.results_text, line
    if IS_ROOT:
        assert {int(u) for u in run.spied("uid")} == {_student_uid()}
    meta = run.spied("meta")
    assert meta and all(text == "FileNotFoundError" for text in meta)  # e-mails, previous results


@pytest.mark.slow
def test_student_code_cannot_modify_the_grader(runs, bundle):
    run = runs["attacks"]
    check_results(run, SMUGGLED)
    observed = run.spied("modify")
    assert observed and all(text == "FileNotFoundError" for text in observed), observed
    if not IS_ROOT:
        return
    with zipfile.ZipFile(bundle[0]) as archive:
        assert (run.root / "source" / "autograder" / "grade.py").read_bytes() == archive.read("autograder/grade.py")
    mode = (run.root / "source").stat()
    assert stat.S_IMODE(mode.st_mode) == 0o700 and mode.st_uid == 0
    results = (run.root / "results").stat()
    assert stat.S_IMODE(results.st_mode) == 0o755 and results.st_uid == 0


def _student_uid() -> int:
    from autograder.gradescope import unprivileged_account

    return unprivileged_account().pw_uid


# ------------------------------------------------------------------------ when the grader fails


def test_a_broken_grader_still_leaves_valid_results(tmp_path):
    """No autograder package at all: run_autograder's own fallback writes the results."""
    root = Path(tempfile.mkdtemp(prefix="gs-root-", dir="/tmp"))
    try:
        for sub in ("source", "submission", "results"):
            (root / sub).mkdir()
        shutil.copy2(ROOT / "gradescope" / "run_autograder", root / "run_autograder")
        (root / "source" / "autograder").mkdir()  # shadows any installed copy: python3 -m fails
        (root / "source" / "autograder" / "__init__.py").write_text("raise ImportError('broken grader')\n")
        run = run_autograder(root, tmp_path)
        assert run.process.returncode == 0
        jsonschema.validate(run.results, schema())
        assert run.results["score"] == 0 and "contact the course staff" in run.results["output"]
    finally:
        shutil.rmtree(root)


@NEEDS_ROOT
def test_a_grader_error_is_caught_in_python_and_reported(bundle, tmp_path):
    """An error inside the grader (here: no account to drop to) gives score 0 and a note."""
    root = make_root(bundle[0], SOLUTIONS)
    try:
        run = run_autograder(root, tmp_path, AUTOGRADER_USER="no-such-user-xyz", AUTOGRADER_SHOW_STDOUT="1")
        assert run.process.returncode == 0
        assert "no account to run student code as" in run.process.stdout  # for the instructor
        results = run.results
        jsonschema.validate(results, schema())
        assert results["score"] == 0 and results["tests"] == []
        assert "contact the course staff" in results["output"]
        assert results["stdout_visibility"] == "visible"
        assert "fallback" not in run.process.stderr  # Python wrote it, not the shell's last resort
    finally:
        shutil.rmtree(root)


@pytest.mark.slow
def test_without_root_the_same_code_grades_without_the_drop(tmp_path, monkeypatch, capsys):
    """What a non-root run does (no account to drop to, nothing locked down), in this process."""
    from autograder import gradescope

    monkeypatch.setattr(gradescope, "unprivileged_account", lambda: None)
    root = tmp_path / "autograder"
    (root / "submission").mkdir(parents=True)
    shutil.copy(SOLUTIONS / "losses.py", root / "submission")
    assert gradescope.main(root, show_stdout=False) == 0
    results = json.loads((root / "results" / "results.json").read_text())
    jsonschema.validate(results, schema())
    assert results["score"] == pytest.approx(total_points("losses."))
    assert results["stdout_visibility"] == "hidden" and not results["output"].startswith("Graded for")
    assert "no privilege drop" in capsys.readouterr().out


# ------------------------------------------------------------------ setup.sh's self-test


def self_test(root: Path, **env: str) -> subprocess.CompletedProcess:
    """`python -m autograder gradescope --self-test` in the unpacked bundle, as setup.sh runs it."""
    return subprocess.run([sys.executable, "-m", "autograder", "gradescope", "--self-test"], cwd=root / "source",
                          env={**os.environ, **env}, capture_output=True, text=True, timeout=RUN_TIMEOUT_S)


@pytest.mark.slow
def test_the_self_test_passes_on_the_bundle_and_fails_on_a_broken_one(bundle):
    root = make_root(bundle[0], {})
    try:
        done = self_test(root)
        assert done.returncode == 0, done.stdout + done.stderr
        assert f"self-test: passed ({len(load_checks(COURSE))} checks graded)" in done.stdout
        grade = root / "source" / "autograder" / "grade.py"  # as if the image lacked a package
        grade.write_text(grade.read_text() + "\nimport a_package_the_image_lacks\n")
        broken = self_test(root)
        assert broken.returncode != 0 and "a_package_the_image_lacks" in broken.stdout + broken.stderr
        assert "self-test: passed" not in broken.stdout
    finally:
        shutil.rmtree(root)


@pytest.mark.slow
def test_the_self_test_fails_when_the_checks_do_not_run_the_code(monkeypatch, capsys):
    """Functions that return instead of raising: every check is graded, none reports the error."""
    from autograder import gradescope

    def returning_submission(folder: Path, course) -> None:
        folder.mkdir(parents=True)
        for module in course.modules:
            (folder / f"{module}.py").write_text("".join(
                f"def {f.name}(*args, **kwargs):\n    return None\n\n" for f in course.functions if f.module == module))

    monkeypatch.setattr(gradescope, "write_raising_submission", returning_submission)
    assert gradescope.self_test() == 1
    printed = capsys.readouterr().out
    assert "did not report the function's error" in printed and "self-test: FAILED" in printed


def test_student_names_come_from_the_metadata(tmp_path):
    from autograder.gradescope import student_names

    path = tmp_path / "submission_metadata.json"
    assert student_names(path) == ""
    path.write_text("{not json")
    assert student_names(path) == ""
    path.write_text(json.dumps({"users": [{"name": "Ada Lovelace"}, {"name": ""}, {"id": 3}, "x"]}))
    assert student_names(path) == "Ada Lovelace"
