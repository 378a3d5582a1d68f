"""`make bench`: the grader's speed and memory targets, measured (issue "Fast grading, measured").

1. One submission, all checks including hidden, cold from the command line, against the wall time
   of `python -c "import torch"` in the same run (target: at most 2.5x).
2. `grade-all` on 100 submissions with --jobs 2 (targets: at most 0.4 s wall per submission, at
   most 600 MB peak memory per worker, counting the worker, its fork server and the running child
   by proportional set size so that pages shared after fork are not counted twice).
3. The rnn_backward check on an RNN LM of about 2 million parameters (V = 10,000, d = 64, H = 128):
   the child's run plus the grader's finite-difference judging (target: at most 3 s), and that it
   still catches every gradient mutant of tests/mutants.py.
4. otter-grader on an equivalent tiny assignment, side by side, when `otter` is installed
   (OTTER=/path/to/otter or on PATH).
5. The students' start-up: in a fresh student release holding the solutions, the time from
   launching `pytest -k softmax` to its first check result (warm: median of 3 after one run),
   with the sandbox and with the portable runner, against `import torch` (target: 2 s on 2
   cores, 1.3x `import torch`); and the notebook's check(): a second call in the same session
   (target: under 1 s).

Prints a Markdown table (paste it into the README) and exits non-zero when a target is missed.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
PY = sys.executable


def wall(cmd: list[str], repeat: int = 3, **kwargs) -> float:
    """Median wall time of a command (after one untimed warm-up run for the page cache)."""
    subprocess.run(cmd, check=True, capture_output=True, **kwargs)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True, **kwargs)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def cold_single() -> tuple[float, float]:
    torch_s = wall([PY, "-c", "import torch"])
    with tempfile.TemporaryDirectory() as tmp:
        grade_s = wall([PY, "-m", "autograder", "grade", str(ROOT / "solutions"),
                        "--results", f"{tmp}/results.json"], cwd=ROOT)
    return torch_s, grade_s


def make_class(folder: Path, size: int = 100) -> None:
    """A class of `size`: the example students, every mutant, and correct submissions."""
    from mutants import MUTANTS

    examples = [p for p in (ROOT / "examples" / "submissions").iterdir() if p.name != "dave_crashes"]
    for i in range(size):
        dest = folder / f"student{i:03d}"
        if i < len(MUTANTS):
            MUTANTS[i].write(dest)
        elif i - len(MUTANTS) < len(examples):
            shutil.copytree(examples[i - len(MUTANTS)], dest)
        else:
            shutil.copytree(ROOT / "solutions", dest)
            (dest / "losses.py").write_text((dest / "losses.py").read_text() + f"\n# student {i}\n")


def _pss_kb(pid: int) -> int:
    try:
        for line in open(f"/proc/{pid}/smaps_rollup"):
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                ppid = int(open(f"/proc/{name}/stat").read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            tree.setdefault(ppid, []).append(int(name))
    return tree


def _subtree(tree: dict[int, list[int]], pid: int) -> list[int]:
    found, stack = [pid], [pid]
    while stack:
        for child in tree.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


def bulk(size: int = 100, jobs: int = 2) -> tuple[float, float]:
    """(seconds per submission, peak MB per worker subtree) for grade-all on a generated class."""
    with tempfile.TemporaryDirectory() as tmp:
        make_class(Path(tmp) / "class", size)
        proc = subprocess.Popen([PY, "-m", "autograder", "grade-all", f"{tmp}/class", "--out",
                                 f"{tmp}/reports", "--jobs", str(jobs), "--force"], cwd=ROOT,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        peak = 0
        stop = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not stop.is_set():
                tree = _children()
                for worker in tree.get(proc.pid, []):
                    peak = max(peak, sum(_pss_kb(p) for p in _subtree(tree, worker)))
                time.sleep(0.05)

        sampler = threading.Thread(target=sample)
        start = time.perf_counter()
        sampler.start()
        proc.wait()
        elapsed = time.perf_counter() - start
        stop.set()
        sampler.join()
        assert proc.returncode == 0, "grade-all failed"
        rows = (Path(tmp) / "reports" / "gradebook.csv").read_text().strip().splitlines()
        assert len(rows) == size + 1, f"{len(rows) - 1} rows for {size} submissions"
    return elapsed / size, peak / 1024


def large_rnn_backward() -> tuple[float, int, int]:
    """(seconds to run and judge the large rnn_backward check on the solutions, mutants caught, mutants)."""
    from autograder.course import COURSE
    from autograder.course.hidden.rnn import large_model_check
    from autograder.grade import grade, preload
    from autograder.isolate.sandbox import Sandbox
    from mutants import MUTANTS

    large = [large_model_check()]
    large[0].calls  # build the 2M-parameter inputs before timing: they are made once per process
    with Sandbox(preload=preload(COURSE)) as sandbox:
        grade(ROOT / "solutions", COURSE, sandbox=sandbox, checks=large)  # warm the fork server
        start = time.perf_counter()
        report = grade(ROOT / "solutions", COURSE, sandbox=sandbox, checks=large)
        seconds = time.perf_counter() - start
        assert report.results[0].status == "passed", report.results[0].feedback
        mutants = [m for m in MUTANTS if m.function == "rnn.rnn_backward"]
        caught = 0
        with tempfile.TemporaryDirectory() as tmp:
            for i, mutant in enumerate(mutants):
                result = grade(mutant.write(Path(tmp) / str(i)), COURSE, sandbox=sandbox, checks=large).results[0]
                caught += result.status != "passed"
    return seconds, caught, len(mutants)


def first_result(cmd: list[str], cwd: Path, repeat: int = 3) -> float:
    """Median seconds from launching `cmd` to its first PASSED or FAILED line (after one warm-up run)."""
    times = []
    for _ in range(repeat + 1):
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        first = None
        for line in proc.stdout:
            if first is None and (" PASSED" in line or " FAILED" in line):
                first = time.perf_counter() - start
        proc.wait()
        assert first is not None, f"no check result from {cmd}"
        times.append(first)
    return statistics.median(times[1:])


NOTEBOOK_SECOND_CALL = """\
import time
import numpy as np
from autograder import check


def softmax(logits):
    z = np.asarray(logits, dtype=float)
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


check(softmax)
time.sleep(3)  # a student reads the output before checking again
start = time.perf_counter()
assert check(softmax).passed
print("SECOND", time.perf_counter() - start)
"""


def student_startup() -> dict[str, float]:
    """Seconds to the first result of `pytest -k softmax` (each runner), and of a second check()."""
    from autograder.build.release import build_release
    from autograder.course import COURSE

    found = {}
    with tempfile.TemporaryDirectory() as tmp:
        release = build_release(COURSE, Path(tmp) / "dist")
        for path in (ROOT / "solutions").glob("*.py"):
            shutil.copy(path, release / path.name)
        for runner in ("sandbox", "portable"):
            found[runner] = first_result([PY, "-m", "pytest", "-p", "no:cacheprovider", "-k", "softmax",
                                          f"--nlm-runner={runner}"], release)
        script = Path(tmp) / "second_check.py"
        script.write_text(NOTEBOOK_SECOND_CALL)
        for runner in ("sandbox", "portable"):
            env = {**os.environ, "NLM_RUNNER": runner, "PYTHONPATH": str(release / "autograder-checks")}
            out = subprocess.run([PY, str(script)], cwd=tmp, env=env, check=True, capture_output=True, text=True).stdout
            found[f"notebook {runner}"] = float(out.rsplit("SECOND", 1)[1])
    return found


def otter() -> str:
    """otter-grader on a tiny equivalent assignment (softmax + square_loss), if installed."""
    exe = os.environ.get("OTTER") or shutil.which("otter")
    if not exe:
        return "not installed (set OTTER=/path/to/otter to include it)"
    exe = str(Path(exe).resolve())  # otter runs in a temporary folder
    try:
        from otter_tiny import otter_seconds

        return otter_seconds(exe)
    except Exception as error:  # noqa: BLE001 -- informative only: never fail the benchmark on it
        return f"comparison failed: {type(error).__name__}: {error}"


def main() -> int:
    rows, ok = [], True

    def row(what: str, measured: str, target: str, passed: bool) -> None:
        nonlocal ok
        ok &= passed
        rows.append(f"| {what} | {measured} | {target} | {'yes' if passed else 'NO'} |")

    torch_s, grade_s = cold_single()
    from autograder.check import load_checks
    from autograder.course import COURSE

    row(f"one submission, all {len(load_checks(COURSE))} checks, cold CLI", f"{grade_s:.2f} s ({grade_s / torch_s:.2f}x `import torch` = {torch_s:.2f} s)",
        "≤ 2.5x", grade_s <= 2.5 * torch_s)
    per, peak = bulk()
    row("grade-all, 100 submissions, --jobs 2", f"{per:.3f} s per submission", "≤ 0.4 s", per <= 0.4)
    row("peak memory per worker (PSS: worker + fork server + child)", f"{peak:.0f} MB", "≤ 600 MB", peak <= 600)
    seconds, caught, total = large_rnn_backward()
    row("rnn_backward check, ~2M parameters (run + judge)", f"{seconds:.2f} s, caught {caught}/{total} gradient mutants",
        "≤ 3 s, all", seconds <= 3 and caught == total)
    startup = student_startup()
    for runner in ("sandbox", "portable"):
        seconds = startup[runner]
        row(f"students' `pytest -k softmax`, first result, warm, {runner} runner",
            f"{seconds:.2f} s ({seconds / torch_s:.2f}x `import torch`)", "≤ 2 s (1.3x)",
            seconds <= 2 and seconds <= 1.3 * torch_s)
    for runner in ("sandbox", "portable"):
        seconds = startup[f"notebook {runner}"]
        row(f"notebook check(softmax), second call, {runner} runner", f"{seconds:.2f} s", "< 1 s", seconds < 1)
    print("| measurement | result | target | met |\n| --- | --- | --- | --- |")
    print("\n".join(rows))
    print(f"\notter-grader: {otter()}")
    print(f"\n{os.cpu_count()} cores, Python {sys.version.split()[0]}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
