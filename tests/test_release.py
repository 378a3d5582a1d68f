"""The student release: what it holds, what it never holds, and that its pytest run grades right.

The release is built once into a temporary folder and its zip unpacked; every run below uses the
release's own copy of the package (no PYTHONPATH, nothing installed: its conftest.py finds it),
in subprocesses started together so that the whole file stays within about a minute.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from autograder.build.release import CHECKS_FOLDER, RELEASE_NAME, build_release
from autograder.check import load_checks
from autograder.check.mistakes import RECORDED_FILE, fingerprint
from autograder.course import COURSE
from conftest import ROOT, SOLUTIONS

VISIBLE = load_checks(COURSE, include_hidden=False)
HIDDEN = [c for c in load_checks(COURSE) if not c.visible]
REFERENCE = "/autograder/course/reference.py"
VISIBLE_POINTS = sum(c.points for c in VISIBLE)
MUTATION = ("        params[k] -= lr * grads[k]\n", "        params[k] = params[k] - lr * grads[k]\n")
# function -> (old, new) in losses.py: the sum instead of the mean, and the square loss without ½
SCALAR_MUTATIONS = {"cross_entropy": ("return float(-np.mean(log_probs[np.arange(n), t]))",
                                      "return float(-np.sum(log_probs[np.arange(n), t]))"),
                    "square_loss": ("return float(np.mean(0.5 * diff**2))", "return float(np.mean(diff**2))")}
RUN_TIMEOUT_S = 240

# The course's PyTorch reference (autograder/course/reference.py) ships because every check computes its
# expected values with it and the sandbox swaps it in for callees. These lines of it equal lines
# of the solutions (functions whose steps SPEC.md spells out: minibatch_indices, the torch
# training step, next_word_probs, train_tiny's loops, an init helper). Reviewed and known; any
# other solution line anywhere in the release fails the test.
KNOWN_REFERENCE_OVERLAP = {
    "def uniform(*shape):", "for _ in range(epochs):", "for idx in minibatch_indices(len(x), batch_size, rng):",
    "for k in params:", 'hidden = params["W_h"].shape[0]', "logits = model(inputs)",
    "logits, _ = rnn_forward(params, np.asarray(prefix_ids)[None, :])",
    "loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))",
    "loss.backward()", "losses = []", "optimizer.step()", "optimizer.zero_grad()", "perm = rng.permutation(n)",
    "return [perm[i:i + batch_size] for i in range(0, n, batch_size)]", "return float(loss.item())",
    "return softmax(logits[0, -1])", "rng = np.random.default_rng(seed)",
}
_KEYWORDS = r"\b(return|else|try|finally|pass|break|continue|lambda|None|True|False)\b"


def solution_lines() -> set[str]:
    """The non-blank lines inside the solutions' BEGIN/END SOLUTION regions, except those that
    say nothing: brackets and keywords alone (`}`, `return {`, `else:`) or turning an argument
    into an array (`ids = np.asarray(token_ids)`)."""
    lines, inside = set(), False
    for path in sorted(SOLUTIONS.glob("*.py")):
        for line in path.read_text().splitlines():
            if "# BEGIN SOLUTION" in line:
                inside = True
            elif "# END SOLUTION" in line:
                inside = False
            elif inside and re.search(r"\w", re.sub(_KEYWORDS, "", line)):
                if not re.fullmatch(r"\w+ = np\.asarray\(\w+\)", line.strip()):
                    lines.add(line.strip())
    return lines


def texts_of(archive: zipfile.ZipFile) -> dict[str, str]:
    """Every file of the zip as text (a wheel's files too, named inside it); a notebook also as
    its cells' sources (JSON escapes quotes)."""
    texts = {}
    for name in archive.namelist():
        if name.endswith(".whl"):
            with zipfile.ZipFile(io.BytesIO(archive.read(name))) as wheel:
                texts.update({f"{name}!/{inner}": text for inner, text in texts_of(wheel).items()})
            continue
        text = archive.read(name).decode("utf-8")
        if name.endswith(".ipynb"):
            text += "\n" + "\n".join("".join(c["source"]) for c in json.loads(text)["cells"])
        texts[name] = text
    return texts


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """(zip path, unpacked release folder)."""
    dist = tmp_path_factory.mktemp("dist")
    folder = build_release(COURSE, dist)
    archive = dist / f"{RELEASE_NAME}.zip"
    assert folder == dist / RELEASE_NAME and archive.is_file()
    unpacked = tmp_path_factory.mktemp("unzipped")
    with zipfile.ZipFile(archive) as z:
        z.extractall(unpacked)
    return archive, unpacked / RELEASE_NAME


# ---------------------------------------------------------------- what the zip holds


def test_the_zip_holds_the_handout_the_checks_and_their_setup(built):
    archive, release = built
    names = set(zipfile.ZipFile(archive).namelist())
    top = {n.split("/", 1)[1] for n in names if n.count("/") == 1}
    expected = {"README.md", "conftest.py", "pytest.ini", "losses.py", "backprop.py", "sgd.py", "rnn.py"}
    expected |= {p.name for p in (ROOT / "assignment").glob("*.ipynb")}  # the notebook, when there is one
    assert expected <= top, expected - top
    for stub in (ROOT / "assignment").glob("*.py"):
        assert (release / stub.name).read_text() == stub.read_text()
    package = release / CHECKS_FOLDER / "autograder"
    for module in ("student/pytest_plugin.py", "grade.py", "isolate/sandbox.py", "isolate/harness.py",
                   "course/reference.py", "course/checks/__init__.py", "course/checks/losses.py",
                   "course/checks/rnn.py", f"course/{RECORDED_FILE}"):
        assert (package / module).is_file(), module
    assert (release / CHECKS_FOLDER / "pyproject.toml").is_file()
    readme = (release / "README.md").read_text()
    for text in ("pip install torch==", "pip install -e ./autograder-checks", "pytest -k softmax",
                 "pytest --notebook", "`losses.softmax` | 5 |", "`rnn.rnn_backward` (bonus) | 10 |",
                 "hidden checks", "Gradescope"):
        assert text in readme, text
    assert "{{" not in readme
    # One package index suffices; the CPU index comes after, as the faster option.
    install = readme.index("pip install -e ./autograder-checks")
    assert install < readme.index("--index-url https://download.pytorch.org/whl/cpu")
    assert "pip install jupyter matplotlib" in readme
    (wheel,) = release.glob("nlm_checks-*.whl")
    assert f"!pip install -q {wheel.name}" in readme  # the one Colab cell
    for option in ("--notebook=", "--submission=", "--nlm-timeout=", "--nlm-runner=portable"):
        assert f"pytest {option}" in readme, option
    assert "python -m autograder replay" in readme and "from autograder import check" in readme


def test_no_hidden_check_and_no_solution_in_the_zip(built):
    archive, _ = built
    with zipfile.ZipFile(archive) as z:
        names, texts = z.namelist(), texts_of(z)
    never = ("/course/hidden/", "/course/mistakes/", "/course/handout/", "/autograder/build/", "/autograder/batch/",
             "/solutions/")
    assert not [n for n in names if any(x in n for x in never) or n.endswith("/solutions")]

    hidden_lines = solution_lines()
    assert len(hidden_lines) > 50
    leaks = {}
    for name, text in texts.items():
        found = {line.strip() for line in text.splitlines()} & hidden_lines
        if name.endswith(REFERENCE):
            found -= KNOWN_REFERENCE_OVERLAP
        if found:
            leaks[name] = sorted(found)
    assert not leaks, leaks
    reference = [t for n, t in texts.items() if n.endswith(REFERENCE)]
    assert reference == [(ROOT / "autograder" / "course" / "reference.py").read_text()] * 2  # the folder's, the wheel's

    visible_whats = {c.what for c in VISIBLE}
    secrets = {c.name for c in HIDDEN} | {c.what for c in HIDDEN if c.what not in visible_whats}
    assert HIDDEN and secrets
    shown = {(s, n) for s in secrets for n, text in texts.items() if s in text}
    assert not shown, shown


def test_recorded_hints_hold_only_visible_inputs_and_no_wrong_code(built):
    _, release = built
    course = release / CHECKS_FOLDER / "autograder" / "course"
    assert not (course / "mistakes").exists()
    table = json.loads((course / RECORDED_FILE).read_text())
    assert table and set(table) <= {f.qualname for f in COURSE.functions}
    keys = {k for mistakes in table.values() for m in mistakes for k in m["outcomes"]}
    visible = {fingerprint(call) for c in VISIBLE for call in c.calls}
    hidden = {fingerprint(call) for c in HIDDEN for call in c.calls}
    assert keys and keys <= visible
    assert not keys & (hidden - visible)


# ---------------------------------------------------------------- the release's pytest runs

PROBE = """\
import logging, sys, threading, pytest

class Watched(dict):  # the loggers: which were made outside pytest's own thread
    outside = set()

    def __setitem__(self, name, logger):
        if threading.current_thread() is not threading.main_thread():
            Watched.outside.add(name)
        super().__setitem__(name, logger)

logging.Logger.manager.loggerDict = Watched(logging.Logger.manager.loggerDict)
code = pytest.main(sys.argv[1:])
import autograder
from autograder.check import load_checks
from autograder.registry import load_course
print("PROBE package=" + autograder.__file__)
print("PROBE checks=%d" % len(load_checks(load_course(), include_hidden=True)))
print("PROBE torch=%s" % ("torch" in sys.modules))
print("PROBE loggers_outside=" + ",".join(sorted(Watched.outside)))
sys.exit(int(code))
"""
PORTABLE = "--nlm-runner=portable"
SGD_PRINT = ("    for k in params:\n", "    print('stepping', sorted(params))\n    for k in params:\n")
IMPORT_CRASH = '\nprint("trying rnn_forward out")\nwith open("my_data.txt") as f:\n    print(f.read())\n'


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "PYTHON"))}
    env.update(COLUMNS="250", PYTHONDONTWRITEBYTECODE="1", **extra)
    return env


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert text.count(old) == 1, (path, old)
    path.write_text(text.replace(old, new))


def _work(release: Path, parent: Path, name: str) -> Path:
    """A fresh copy of the unzipped release holding the files of the run `name`."""
    folder = parent / "student-work"
    shutil.copytree(release, folder)
    if name.endswith("stubs") or name in ("outside", "wheel"):
        return folder  # these grade the stubs here, or a submission elsewhere
    for path in SOLUTIONS.glob("*.py"):
        shutil.copy(path, folder / path.name)
    if name.endswith("mutant"):
        _edit(folder / "sgd.py", *MUTATION)
        _edit(folder / "sgd.py", *SGD_PRINT)
    if name == "scalars":  # mistakes of the functions that return a float, and rnn.py crashing at import
        for old, new in SCALAR_MUTATIONS.values():
            _edit(folder / "losses.py", old, new)
        (folder / "rnn.py").write_text((folder / "rnn.py").read_text() + IMPORT_CRASH)
    return folder


@pytest.fixture(scope="module")
def installed(built, tmp_path_factory):
    """The release's wheel installed (its files only) into a folder of its own."""
    _, release = built
    (wheel,) = release.glob("nlm_checks-*.whl")
    target = tmp_path_factory.mktemp("site")
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
                    "--target", str(target), str(wheel)], check=True, capture_output=True, timeout=120)
    return target


@pytest.fixture(scope="module")
def runs(built, installed, tmp_path_factory):
    """name -> (exit code, output, folder), for every run, started together."""
    _, release = built
    folders = {name: _work(release, tmp_path_factory.mktemp("runs"), name)
               for name in ("solutions", "stubs", "mutant", "scalars", "portable-stubs",
                            "portable-mutant", "outside", "wheel")}
    elsewhere = tmp_path_factory.mktemp("elsewhere") / "my solutions"  # outside the release folder
    shutil.copytree(SOLUTIONS, elsewhere)
    # A generous limit per call: eleven runs share the machine, and a stand-in's first answer imports torch.
    probe = [sys.executable, "-c", PROBE, "-p", "no:cacheprovider", "--nlm-timeout=60"]
    commands = {name: (probe, folders[name]) for name in ("solutions", "stubs", "mutant", "scalars")}
    commands.update({
        "collect": ([*probe, "--collect-only", "-k", "softmax"], folders["stubs"]),
        "portable-stubs": ([*probe, PORTABLE], folders["portable-stubs"]),
        "portable-mutant": ([*probe, PORTABLE], folders["portable-mutant"]),
        "outside": ([*probe, PORTABLE, f"--submission={elsewhere}"], folders["outside"]),
        "wheel": ([*probe, "--submission", str(elsewhere), "-k", "losses.softmax"], folders["wheel"]),
        "check": ([sys.executable, "-m", "autograder", "check", str(SOLUTIONS), "--runner", "portable",
                   "-k", "softmax", "--nlm-timeout=60"], ROOT),
    })
    envs = {"wheel": _env(PYTHONPATH=str(installed))}
    started = {name: subprocess.Popen(cmd, cwd=cwd, env=envs.get(name) or _env(), stdout=subprocess.PIPE,
                                      stderr=subprocess.STDOUT, text=True)
               for name, (cmd, cwd) in commands.items()}
    results = {}
    for name, process in started.items():
        output, _ = process.communicate(timeout=RUN_TIMEOUT_S)
        results[name] = (process.returncode, output, commands[name][1])
    return results


def unexpected(output: str, word: str) -> str:
    """For a failure: the visible checks whose outcome line is missing or not `word`, the output's
    lines naming them, and pytest's error and failure sections (which hold the feedback)."""
    found = outcomes(output)
    others = {c.name: found.get(c.name, "no outcome line") for c in VISIBLE if found.get(c.name) != word}
    lines = [line for line in output.splitlines() if any(name.split(": ", 1)[-1][:30] in line for name in others)]
    starts = [output.find(f"= {section} =") for section in ("ERRORS", "FAILURES") if f"= {section} =" in output]
    failures = output[min(starts):][:6000] if starts else ""
    return f"not {word}: {others}\nlines naming them: {lines}\nfailures: {failures}"


def outcomes(output: str) -> dict[str, str]:
    """check name -> the word pytest printed for it (PASSED, FAILED, NOT ATTEMPTED...)."""
    found = {}
    for check in VISIBLE:
        part = check.function.module
        match = re.search(re.escape(f"{part}::{check.name}") + r" (PASSED|FAILED|CRASHED|TIMED OUT|NOT ATTEMPTED)",
                          output)
        if match:
            found[check.name] = match.group(1)
    return found


def probe(output: str, key: str) -> str:
    return re.search(rf"^PROBE {key}=(.*)$", output, re.M).group(1)


@pytest.mark.parametrize("name", ["solutions", "stubs", "mutant", "collect", "portable-mutant", "outside"])
def test_each_run_uses_the_release_copy_which_loads_without_hidden_checks(runs, name):
    code, output, folder = runs[name]
    assert Path(probe(output, "package")).is_relative_to(folder / CHECKS_FOLDER), output[-3000:]
    assert int(probe(output, "checks")) == len(VISIBLE)


@pytest.mark.parametrize("name", ["solutions", "portable-mutant", "outside"])
def test_no_logger_is_made_beside_pytests_loop(runs, name):
    """pytest's logging capture goes over every logger at each check's setup, call and teardown. A
    logger made by another thread meanwhile (torch, when it was imported in the background) made
    one check in some thirty runs an ERROR or a FAILED: "dictionary changed size during iteration"."""
    _, output, _ = runs[name]
    assert probe(output, "torch") == "True", output[-3000:]  # the stand-ins' answers needed the reference
    assert probe(output, "loggers_outside") == "", output[-3000:]


@pytest.mark.parametrize("name", ["solutions", "outside"])
def test_solutions_pass_every_visible_check(runs, name):
    """Also with the portable runner, and a submission outside the folder given as --submission=PATH."""
    code, output, _ = runs[name]
    assert code == 0, output[-3000:]
    assert set(outcomes(output).values()) == {"PASSED"} and len(outcomes(output)) == len(VISIBLE), unexpected(output, "PASSED")
    assert f"visible checks: {VISIBLE_POINTS:g}/{VISIBLE_POINTS:g} points (hidden checks run when you submit)" in output
    assert f"{len(VISIBLE)} passed" in output


@pytest.mark.parametrize("name", ["stubs", "portable-stubs"])
def test_stubs_are_not_attempted_and_the_run_fails(runs, name):
    code, output, _ = runs[name]
    assert code == 1, output[-3000:]
    assert set(outcomes(output).values()) == {"NOT ATTEMPTED"} and len(outcomes(output)) == len(VISIBLE), unexpected(output, "NOT ATTEMPTED")
    assert "Nothing attempted yet" in output and "this run FAILS" in output
    assert f"visible checks: 0/{VISIBLE_POINTS:g} points" in output
    assert f"{len(VISIBLE)} not attempted" in output
    assert probe(output, "torch") == "False"  # stubs ask no stand-in: the reference is never loaded
    final = [line for line in output.splitlines() if re.fullmatch(r"=+ .* in [\d.]+s =+", line)]
    assert final and "passed" not in final[-1], final  # pytest's own verdict line: no "N passed"


@pytest.mark.parametrize("name", ["mutant", "portable-mutant"])
def test_a_bug_in_sgd_step_fails_only_its_checks_with_the_autograders_feedback(runs, sandbox, name):
    """Word for word the grader's feedback, then what sgd_step printed and the line that replays it."""
    code, output, folder = runs[name]
    assert code == 1, output[-3000:]
    words = outcomes(output)
    assert len(words) == len(VISIBLE)
    failed = {name for name, word in words.items() if word != "PASSED"}
    assert failed and all(name.startswith("sgd.sgd_step: ") for name in failed), failed
    assert set(words.values()) == {"PASSED", "FAILED"}

    from autograder.grade import grade

    report = grade(folder, COURSE, sandbox=sandbox, checks=VISIBLE)
    expected = {r.name: r.feedback for r in report.results if r.status != "passed"}
    assert set(expected) == failed
    failures = output.split("= FAILURES =")[1].split("= autograder")[0]
    for check, feedback in expected.items():
        assert feedback in output, check  # word for word, hint included, no traceback
        assert f'Replay this call by hand: python -m autograder replay "{check}"' in failures, check
    assert failures.count("Your code printed:\n  | stepping [") == len(expected)
    assert "Traceback" not in output and "autograder/" not in failures
    assert ("with the portable runner" in output) == (name == "portable-mutant")


def test_the_hints_of_functions_returning_a_float_reach_the_students(runs):
    """Recorded outcomes keep their shapes (a float stays a float), so a scalar function's known
    mistake is recognised in the release as on Gradescope."""
    from autograder.check.mistakes import known_mistakes

    code, output, _ = runs["scalars"]
    assert code == 1, output[-3000:]
    mistakes = known_mistakes(COURSE)
    for name in SCALAR_MUTATIONS:
        function = COURSE.function(name)
        hints = {m.hint for m in mistakes[function]}
        section = output.split("= FAILURES =", 1)[1]
        assert any(f"Hint: {hint}" in section for hint in hints), name


def test_k_selects_the_checks_by_name(runs):
    code, output, _ = runs["collect"]
    assert code == 0, output[-3000:]
    selected = set(re.findall(r"^\s*<CheckItem (.*)>$", output, re.M))  # the ini's -v: a tree
    expected = {c.name for c in VISIBLE if "softmax" in c.name.lower()}
    assert expected and selected == expected
    assert any(c.function.qualname == "losses.softmax" for c in VISIBLE if "softmax" in c.name)


def test_check_command_in_the_instructor_repo_with_the_portable_runner(runs):
    code, output, _ = runs["check"]
    assert code == 0, output[-3000:]
    softmax = [c for c in VISIBLE if "softmax" in c.name]
    assert f"{len(softmax)} passed" in output and "with the portable runner" in output
    assert re.search(r"^losses::losses\.softmax: .* PASSED", output, re.M)


def test_a_module_that_crashes_at_import_is_explained_once_with_the_advice(runs):
    """rnn.py ends with test code reading a file that is not there: one message for all its checks."""
    code, output, _ = runs["scalars"]
    failures = output.split("= FAILURES =", 1)[1].split("= autograder", 1)[0]
    rnn = [c for c in VISIBLE if c.function.module == "rnn"]
    assert {outcomes(output)[c.name] for c in rnn} == {"CRASHED"}
    assert failures.count("FileNotFoundError") == 1 and failures.count("rnn.py could not be imported, so") == 1
    assert 'move it under `if __name__ == "__main__":`' in failures
    assert "Importing rnn.py printed:\n  | trying rnn_forward out" in failures
    assert failures.count("not run: rnn.py could not be imported") == len(rnn) - 1
    assert "note: rnn.py could not be imported" in output.split("= autograder", 1)[1]


def test_the_wheel_installs_the_plugin_and_its_checks_need_no_torch(runs, installed):
    """`pytest --submission PATH` (PATH outside the folder, as a separate argument) needs the plugin
    registered before pytest parses its arguments: the wheel's pytest11 entry point does that. The
    release records the reference's observations: `-k losses.softmax` never imports torch in
    pytest's process (the runner's child has it preloaded)."""
    from autograder.check.judges import recorded_key

    code, output, _ = runs["wheel"]
    assert code == 0, output[-3000:]
    assert Path(probe(output, "package")).is_relative_to(installed)
    assert f"{sum(c.function.name == 'softmax' for c in VISIBLE)} passed" in output
    assert probe(output, "torch") == "False"
    recorded = json.loads((installed / "autograder" / "course" / "recorded_reference.json").read_text())
    assert set(recorded) == {recorded_key(c, call) for c in VISIBLE for call in c.calls}
