"""otter-grader side by side with our engine on a tiny equivalent assignment: softmax + square_loss.

Both graders get the same student file (losses.py with the two functions, correct) and the same
10 points of checks (softmax 2 + 1.5 + 1.5, square_loss 2 + 1 + 2, mirroring the checks of
autograder/checks/losses.py and its hidden part), and both are timed cold from the command line
(a new process per run), median of 3 after 1 untimed warm-up:

- otter: OK-format test files in tests/, `otter generate -t tests -o autograder.zip` (no config,
  requirements or environment file), then `otter run -a autograder.zip -o out --no-logo losses.py`
  (non-containerized: no Docker; it executes the script in a Jupyter kernel of otter's own Python,
  so that environment needs ipykernel). The score is the sum over results.json.
- ours: `python -c SNIPPET folder` that opens a Sandbox, keeps the checks of losses.softmax and
  losses.square_loss from load_checks(), grades the folder and prints the score.

otter_seconds() never raises: when otter fails it says which step failed and why.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT_S = 600

STUDENT = '''\
import numpy as np


def softmax(logits):
    z = np.asarray(logits, dtype=np.float64)
    e = np.exp(z - np.max(z, axis=-1, keepdims=True))
    return e / np.sum(e, axis=-1, keepdims=True)


def square_loss(y, o):
    d = np.asarray(y, dtype=np.float64) - np.asarray(o, dtype=np.float64)
    return float(np.mean(0.5 * d ** 2))
'''

# NumPy references inside the doctests (otter's kernel has no torch); same tolerance idea as ours.
_SOFTMAX_REF = (">>> ref = lambda z: (lambda e: e / e.sum(-1, keepdims=True))"
                "(np.exp(z - z.max(-1, keepdims=True)))")
_CLOSE = "np.allclose(got, want, rtol=1e-9, atol=1e-12) and np.all(np.isfinite(got))"
TESTS = {
    "softmax": [
        (2.0, [">>> import numpy as np", _SOFTMAX_REF,
               ">>> z = np.random.default_rng(101).normal(size=(4, 7))",
               ">>> got, want = np.asarray(softmax(z)), ref(z)", f">>> bool({_CLOSE})", "True"]),
        (1.5, [">>> import numpy as np",
               ">>> z = np.array([[1e4, -1e4, 0.0, 5.0], [-1e4, -1e4, 1e4, 1e4 - 1.0]])",
               ">>> q = 1.0 / (1.0 + np.exp(-1.0))",
               ">>> got, want = np.asarray(softmax(z)), np.array([[1.0, 0, 0, 0], [0, 0, q, 1 - q]])",
               f">>> bool({_CLOSE})", "True"]),
        (1.5, [">>> import numpy as np", _SOFTMAX_REF,
               ">>> z = np.random.default_rng(9101).normal(size=(2, 3, 5)) * 4",
               ">>> got, want = np.asarray(softmax(z)), ref(z)", f">>> bool({_CLOSE})", "True"]),
    ],
    "square_loss": [
        (2.0, [">>> import numpy as np", ">>> rng = np.random.default_rng(101)",
               ">>> y, o = rng.normal(size=6), rng.normal(size=6)",
               ">>> got, want = square_loss(y, o), np.mean(0.5 * (y - o) ** 2)", f">>> bool({_CLOSE})", "True"]),
        (1.0, [">>> import numpy as np",
               ">>> got, want = square_loss(0.8, -0.3), 0.5 * 1.1 ** 2", f">>> bool({_CLOSE})", "True"]),
        (2.0, [">>> import numpy as np", ">>> rng = np.random.default_rng(9101)",
               ">>> y, o = rng.normal(size=9), rng.normal(size=9) * 2",
               ">>> got, want = square_loss(y, o), np.mean(0.5 * (y - o) ** 2)", f">>> bool({_CLOSE})", "True"]),
    ],
}

OURS = '''\
import json
import sys
from pathlib import Path
from autograder.check import load_checks
from autograder.course import COURSE
from autograder.grade import grade
from autograder.isolate.sandbox import Sandbox, course_preload

with Sandbox(preload=course_preload(COURSE)) as sandbox:
    checks = [c for c in load_checks(COURSE) if c.function.qualname in ("losses.softmax", "losses.square_loss")]
    report = grade(Path(sys.argv[1]), COURSE, sandbox=sandbox, checks=checks)
print(json.dumps([sum(r.score for r in report.results), sum(r.max_score for r in report.results)]))
'''


class StepFailed(Exception):
    """`step` failed; str() is the first line of why."""

    def __init__(self, step: str, why: str) -> None:
        super().__init__(f"{step} failed: {why}")


def _why(proc: subprocess.CompletedProcess) -> str:
    """The error's own line: the exception line ending a traceback, else the first line that says error."""
    lines = [line for line in (proc.stderr + "\n" + proc.stdout).splitlines()
             if line.strip() and "Kernel is running over TCP without encryption" not in line]
    starts = [i for i, line in enumerate(lines) if line.startswith("Traceback (most recent call last)")]
    if starts:
        tail = [line for line in lines[starts[-1] + 1:] if not line[:1].isspace()]
        if tail:
            return tail[-1].strip()
    why = next((line for line in lines if "error" in line.lower()), lines[0] if lines else "")
    return why.strip() or f"exit status {proc.returncode} and no output"


def _run(step: str, cmd: list[str], cwd: Path) -> subprocess.CompletedProcess:
    try:
        proc = subprocess.run(cmd, check=False, cwd=cwd, capture_output=True, text=True, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise StepFailed(step, f"no answer after {TIMEOUT_S} s") from None
    except OSError as error:
        raise StepFailed(step, f"{type(error).__name__}: {error}") from None
    if proc.returncode != 0:
        why = _why(proc)
        if "NoSuchKernel" in why:
            why += " (otter executes the submission in a Jupyter kernel: install ipykernel next to otter)"
        raise StepFailed(step, why)
    return proc


def _timed(step: str, cmd: list[str], cwd: Path, score, repeat: int = 3) -> tuple[float, str]:
    """(median wall seconds over `repeat` runs after one warm-up, the score of the last run)."""
    _run(f"{step} (warm-up)", cmd, cwd)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        proc = _run(step, cmd, cwd)
        times.append(time.perf_counter() - start)
    return statistics.median(times), score(proc)


def _points(x: float) -> str:
    return f"{x:g}"


def _write_otter_tests(tests: Path) -> None:
    tests.mkdir()
    for name, cases in TESTS.items():
        spec = {
            "name": name,
            "points": [points for points, _ in cases],
            "suites": [{
                "cases": [{"code": "\n".join(lines) + "\n", "hidden": False, "locked": False}
                          for _, lines in cases],
                "scored": True, "setup": "", "teardown": "", "type": "doctest",
            }],
        }
        (tests / f"{name}.py").write_text(f"OK_FORMAT = True\n\ntest = {spec!r}\n")


def _otter(exe: str, tmp: Path) -> tuple[float, str]:
    work = tmp / "otter"
    work.mkdir()
    _write_otter_tests(work / "tests")
    (work / "losses.py").write_text(STUDENT)
    _run("otter generate", [exe, "generate", "-t", "tests", "-o", "autograder.zip", "--no-config",
                            "--no-requirements", "--no-environment"], work)
    if not (work / "autograder.zip").is_file():
        raise StepFailed("otter generate", "it exited 0 but wrote no autograder.zip")
    (work / "out").mkdir()
    results = work / "out" / "results.json"

    def score(proc: subprocess.CompletedProcess) -> str:
        try:
            tests = json.loads(results.read_text())["tests"]
        except (OSError, ValueError, KeyError) as error:
            raise StepFailed("reading otter's results.json", f"{type(error).__name__}: {error}") from None
        got = sum(t.get("score") or 0 for t in tests if "max_score" in t)
        out_of = sum(t.get("max_score") or 0 for t in tests if "max_score" in t)
        results.unlink()
        return f"{_points(got)}/{_points(out_of)}"

    return _timed("otter run", [exe, "run", "-a", "autograder.zip", "-o", "out", "--no-logo", "losses.py"],
                  work, score)


def _ours(tmp: Path) -> tuple[float, str]:
    submission = tmp / "ours" / "submission"
    submission.mkdir(parents=True)
    (submission / "losses.py").write_text(STUDENT)

    def score(proc: subprocess.CompletedProcess) -> str:
        got, out_of = json.loads(proc.stdout.strip().splitlines()[-1])
        return f"{_points(got)}/{_points(out_of)}"

    return _timed("grading", [sys.executable, "-c", OURS, str(submission)], ROOT, score)


def otter_seconds(exe: str) -> str:
    """One line comparing `otter run` with our engine on softmax + square_loss; never raises."""
    try:
        with tempfile.TemporaryDirectory(prefix="otter-tiny-") as name:
            tmp = Path(name)
            try:
                otter_s, otter_score = _otter(exe, tmp)
            except StepFailed as error:
                return f"{error}"
            try:
                ours_s, ours_score = _ours(tmp)
            except StepFailed as error:
                return f"otter run {otter_s:.1f} s (score {otter_score}), but ours {error}"
        return (f"otter run {otter_s:.1f} s (score {otter_score}) vs ours {ours_s:.1f} s "
                f"(score {ours_score}) on softmax + square_loss, cold, median of 3")
    except Exception as error:  # noqa: BLE001 -- never let the comparison break the benchmark
        return f"comparison failed: {type(error).__name__}: {error}"
