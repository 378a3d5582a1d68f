"""The students' side: the portable runner, what a failure says, replaying a call, and the feedback
that names every wrong component. (The release's whole pytest run, with either runner, is
tests/test_release.py; check() in a notebook is tests/test_notebook_check.py.)"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from autograder.check import load_checks
from autograder.check.judges import difference
from autograder.check.observe import observe
from autograder.course import COURSE
from autograder.student.checking import Checking, open_runner
from autograder.student.present import failure_text
from autograder.student.replay import find_check, write_replay
from conftest import ROOT, SOLUTIONS, import_parts
from mutants import MUTANTS

VISIBLE = load_checks(COURSE, include_hidden=False)
UNAVAILABLE = "is not available where your work is graded; use numpy"


def of(*qualnames: str) -> list:
    return [c for c in VISIBLE if c.function.qualname in qualnames]


def module_checks(module: str) -> list:
    return [c for c in VISIBLE if c.function.module == module]


def write_part(folder: Path, module: str, before: str = "", after: str = "") -> None:
    path = folder / f"{module}.py"
    path.write_text(textwrap.dedent(before) + path.read_text() + textwrap.dedent(after))


def copy_solutions(tmp_path: Path) -> Path:
    folder = tmp_path / "work"
    folder.mkdir()
    for path in SOLUTIONS.glob("*.py"):
        (folder / path.name).write_text(path.read_text())
    return folder


def outcomes(folder: Path, sandbox, checks) -> dict:
    checking = Checking(folder, COURSE, sandbox, checks)
    try:
        return {c.name: checking.outcome(c) for c in checks}
    finally:
        checking.close()


@pytest.fixture(scope="module")
def portable():
    with open_runner("portable", COURSE, timeout_s=3.0) as box:
        yield box


# ---------------------------------------------------------------- every wrong component named


def test_difference_names_every_wrong_component_of_a_tuple_or_dict():
    problem = difference((1.0, 2.0, 3.0), (0.0, 2.0, 0.5))
    assert "the result[0]" in problem and "the result[2]" in problem and "the result[1]" not in problem
    problem = difference({"a": np.ones(2), "b": np.ones(2), "c": 1.0}, {"a": np.zeros(2), "b": np.ones(2), "c": 2.0})
    assert "the result['a']" in problem and "the result['c']" in problem and "['b']" not in problem


def test_a_wrong_tanh_derivative_names_both_gradients(sandbox, tmp_path):
    mutant = next(m for m in MUTANTS if m.mistake == "missing 1 - o²")
    checks = of("backprop.tiny_backward")
    found = outcomes(mutant.write(tmp_path / "m"), sandbox, checks)
    autograd = found[next(c.name for c in checks if "autograd" in c.name)].result
    assert autograd.status == "failed"
    assert "['dL_dw1']" in autograd.feedback and "['dL_dw2']" in autograd.feedback, autograd.feedback


# ---------------------------------------------------------------- the portable runner


def test_portable_runner_charges_hangs_exits_and_memory_to_their_own_calls(portable, tmp_path):
    folder = copy_solutions(tmp_path)
    path = folder / "losses.py"
    text = path.read_text()
    text = text.replace('def softmax(logits):\n', 'def softmax(logits):\n    print("softmax was here")\n'
                        '    while True:\n        pass\n', 1)
    text = text.replace('def log_softmax(logits):\n', 'def log_softmax(logits):\n    import os\n    os._exit(3)\n', 1)
    text = text.replace('def square_loss(y, o):\n', 'def square_loss(y, o):\n    return np.ones(2**31).sum()\n', 1)
    path.write_text(text)
    firsts = {c.function: c for c in reversed(module_checks("losses"))}  # one check of each: one hang, one exit
    found = outcomes(folder, portable, [c for c in module_checks("losses") if firsts[c.function] is c])
    by_function = {}
    for outcome in found.values():
        by_function.setdefault(outcome.result.function, set()).add(outcome.result.status)
    assert by_function["losses.softmax"] == {"timed out"}
    assert by_function["losses.log_softmax"] == {"crashed"}
    assert by_function["losses.cross_entropy"] == {"passed"}  # after a hang and an exit, a fresh child
    square = [o.result for o in found.values() if o.result.function == "losses.square_loss"]
    if sys.platform.startswith("linux"):  # the only platform that enforces the address-space limit
        assert all("ran out of memory" in r.feedback for r in square), square
    softmax = [o.result for o in found.values() if o.result.function == "losses.softmax"]
    assert "softmax was here" in softmax[0].printed
    assert "exited with status 3" in next(o.result.feedback for o in found.values()
                                          if o.result.function == "losses.log_softmax")


def test_the_portable_child_refuses_imports_the_grader_lacks_even_when_installed(portable, tmp_path):
    """yaml and rich are installed here (the project uses them) but not where work is graded."""
    import rich  # noqa: F401 - present in this environment
    import yaml  # noqa: F401

    folder = copy_solutions(tmp_path)
    write_part(folder, "losses", before="import yaml\n")
    write_part(folder, "backprop", after="\n\ndef tiny_forward(x, y, w1, w2):\n    import rich\n    return rich\n")
    (folder / "helpers.py").write_text("import numpy as np\nTWO = np.float64(2.0)\n")
    write_part(folder, "sgd", before="from helpers import TWO\nimport json, math\n")
    found = outcomes(folder, portable, of("losses.softmax", "backprop.tiny_forward", "sgd.sgd_step"))
    statuses = {o.result.function: o.result.status for o in found.values()}
    assert statuses == {"losses.softmax": "crashed", "backprop.tiny_forward": "crashed", "sgd.sgd_step": "passed"}
    for o in found.values():
        if o.result.status == "crashed":
            root = "yaml" if o.result.function.startswith("losses") else "rich"
            assert f"`{root}` {UNAVAILABLE}" in o.result.feedback, o.result.feedback


POISON = '''\
import ctypes, os, sys
if {where}:
    for name in ("resource", "fcntl", "pwd", "grp", "termios"):
        sys.modules[name] = None  # as on Windows: `import resource` raises ImportError
    for name in ("fork", "forkpty", "readv", "setsid", "pidfd_open"):
        if hasattr(os, name):
            delattr(os, name)

    class CDLL(ctypes.CDLL):
        def __init__(self, name, *args, **kwargs):
            if name is None or "libc" in str(name):
                raise OSError("poisoned: libc through ctypes")
            super().__init__(name, *args, **kwargs)

    ctypes.CDLL = CDLL
    open({marker!r}, "a").write(" ".join(sys.argv) + "\\n")
'''

GRADE_WITH_PORTABLE = '''\
import sys
from autograder.check import load_checks
from autograder.course import COURSE
from autograder.student.checking import Checking, open_runner
checks = [c for c in load_checks(COURSE, include_hidden=False) if c.function.name in ("softmax", "torch_train_step")]
with open_runner("portable", COURSE, 20.0) as box:
    checking = Checking(sys.argv[1], COURSE, box, checks)
    statuses = {c.name: checking.outcome(c).result.status for c in checks}
    checking.close()
print("STATUSES", sorted(set(statuses.values())), len(statuses))
'''


def poisoned_run(tmp_path: Path, where: str) -> tuple[subprocess.CompletedProcess, str]:
    site = tmp_path / "site"
    site.mkdir()
    marker = tmp_path / "poisoned.txt"
    (site / "sitecustomize.py").write_text(POISON.format(where=where, marker=str(marker)))
    script = tmp_path / "grade_portable.py"
    script.write_text(GRADE_WITH_PORTABLE)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(ROOT)])}
    run = subprocess.run([sys.executable, str(script), str(SOLUTIONS)], env=env, capture_output=True,
                         text=True, timeout=240)
    return run, marker.read_text() if marker.is_file() else ""


def test_the_portable_child_needs_no_linux_only_facility(tmp_path):
    """Every child (`python -c ...`) starts without resource, fcntl, pwd, fork, readv, setsid or libc."""
    # (The loading server is a `-c` child too, but one the POSIX-only parent starts only when it has fork.)
    run, poisoned = poisoned_run(tmp_path, 'sys.argv[0] == "-c" and "_serve()" not in sys.orig_argv[-1]')
    assert "-c" in poisoned  # the children really ran poisoned
    assert run.returncode == 0, run.stderr[-3000:]
    assert f"STATUSES ['passed'] {len(of('losses.softmax', 'sgd.torch_train_step'))}" in run.stdout, \
        run.stdout + run.stderr[-3000:]


def test_the_portable_path_needs_no_linux_only_facility_in_the_checking_process_either(tmp_path):
    run, poisoned = poisoned_run(tmp_path, "True")
    assert "grade_portable.py" in poisoned
    assert run.returncode == 0, run.stderr[-3000:]
    assert "STATUSES ['passed']" in run.stdout


@pytest.mark.parametrize("runner", ["sandbox", "portable"])
def test_a_students_first_result_waits_neither_for_torch_nor_for_the_other_modules(tmp_path, runner):
    folder = copy_solutions(tmp_path)
    write_part(folder, "rnn", before="raise RuntimeError('rnn.py was imported')\n")
    write_part(folder, "losses", after="\nimport sys\nprint('torch loaded:', 'torch' in sys.modules)\n")
    softmax, sgd_step = of("losses.softmax")[0], of("sgd.sgd_step")[0]
    with open_runner(runner, COURSE, timeout_s=2.0) as box:
        checking = Checking(folder, COURSE, box, [softmax, sgd_step])
        try:
            assert checking.outcome(softmax).result.status == "passed"
            assert "rnn" not in checking.plan.broken  # the first child imported losses.py alone
            assert checking.printed_at_import("losses") == "torch loaded: False\n"
            assert checking.outcome(sgd_step).result.status == "passed"  # in a child with every module
            assert "rnn.py was imported" in checking.plan.broken["rnn"].message
            assert checking.printed_at_import("losses").endswith("torch loaded: True\n")
        finally:
            checking.close()


# ---------------------------------------------------------------- what a failure says


def test_an_import_failure_is_explained_once_with_the_advice(sandbox, tmp_path):
    folder = copy_solutions(tmp_path)
    write_part(folder, "losses", after='\nprint("trying it out")\nprint(softmax(np.array(open("data.txt").read())))\n')
    checks = module_checks("losses")
    found = outcomes(folder, sandbox, checks)
    shown: dict[str, str] = {}
    texts = [failure_text(c, found[c.name], shown) for c in checks]
    assert all(found[c.name].at_import for c in checks)
    assert sum("FileNotFoundError" in t for t in texts) == 1, texts
    assert 'if __name__ == "__main__":' in texts[0]
    assert all(f'shown once, under "{checks[0].name}"' in t for t in texts[1:])


def test_an_unavailable_import_reported_by_the_loader_is_one_message_without_the_advice(sandbox, tmp_path):
    """The loader may mark a module's functions failed before anything runs (Submission.failed)."""
    from autograder.isolate.protocol import FailureKind
    from autograder.isolate.runner import Failure

    checks = module_checks("losses")
    checking = Checking(SOLUTIONS, COURSE, sandbox, checks)
    try:
        message = f"`scipy` {UNAVAILABLE} (losses.py, line 3)"
        for function in COURSE.in_part("losses"):
            checking.plan.failed[function] = Failure(FailureKind.UNAVAILABLE_IMPORT, message)
        shown: dict[str, str] = {}
        texts = [failure_text(c, checking.outcome(c), shown) for c in checks]
    finally:
        checking.close()
    assert sum(message in t for t in texts) == 1
    assert "__main__" not in texts[0]


def test_a_failure_shows_what_the_code_printed_and_how_to_replay_it(sandbox, tmp_path):
    folder = copy_solutions(tmp_path)
    write_part(folder, "losses", after='\n\ndef square_loss(y, o):\n    print("\\x1b[2Jmy debug line")\n    return 0.0\n')
    checks = of("losses.square_loss")
    found = outcomes(folder, sandbox, checks)
    text = failure_text(checks[0], found[checks[0].name], {})
    assert "Your code printed:\n  | \\x1b[2Jmy debug line" in text  # behind a margin, escapes shown
    assert f'python -m autograder replay "{checks[0].name}"' in text


# ---------------------------------------------------------------- replay


def plain(value: object) -> object:
    """What the replayed call printed, as the protocol would carry it (tensors and tuples as arrays and lists)."""
    from autograder.check.observe import materialise
    from autograder.isolate.harness import plain as child_plain

    return materialise(child_plain(value))


def run_lines(lines: list[str], folder: Path) -> object:
    """Execute the replay lines in `folder` with the solutions importable; what they printed."""
    printed = []
    cwd = os.getcwd()
    parts = import_parts(SOLUTIONS)
    saved = {m: sys.modules.get(m) for m in parts}
    sys.modules.update(parts)
    os.chdir(folder)
    try:
        exec("\n".join(lines), {"print": lambda *values: printed.append(values)})
    finally:
        os.chdir(cwd)
        for m, module in saved.items():
            sys.modules.pop(m)
            if module is not None:
                sys.modules[m] = module
    return printed[0][0]


@pytest.mark.parametrize("qualname", ["losses.softmax", "backprop.tiny_backward", "sgd.sgd_step",
                                      "sgd.minibatch_indices", "rnn.rnn_forward", "sgd.torch_train_step"])
def test_replay_lines_call_the_function_on_the_checks_inputs(qualname, tmp_path):
    check = of(qualname)[0]
    path, lines = write_replay(check, 1, tmp_path)
    assert path == tmp_path / f"replay_{check.function.name}.npz" and len(lines) == 3
    assert not np.load(path, allow_pickle=False).allow_pickle
    got = run_lines(lines, tmp_path)
    solution = getattr(import_parts(SOLUTIONS)[check.function.module], check.function.name)
    expected = observe(solution, check.function, check.calls[0])
    if check.function.name == "sgd_step":
        expected = expected["updated"]
    assert difference(plain(got), expected) is None


def test_replay_command_writes_the_file_and_refuses_unknown_names(tmp_path, capsys):
    from autograder.cli import main

    name = of("losses.softmax")[1].name
    assert main(["replay", name, "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert (tmp_path / "replay_softmax.npz").is_file() and "import numpy as np, losses" in out
    assert main(["replay", "no such check at all", "--out", str(tmp_path)]) == 2
    assert main(["replay", name, "--call", "2", "--out", str(tmp_path)]) == 2
    assert "makes 1 call" in capsys.readouterr().out
    assert find_check(VISIBLE, "losses.softmax: finite") is of("losses.softmax")[1]  # a unique part of a name
