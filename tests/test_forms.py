"""Every submission form keeps every grading promise: folders (nested too), a lone script, a
notebook and a zip become the same canonical folder and get the same points; packaging leniency,
the definition rule, syntax errors, the import rule, capped names, bounded loading and links."""

from __future__ import annotations

import ast
import os
import resource
import shutil
import stat
import zipfile
from pathlib import Path

import nbformat
import numpy as np
import pytest

from autograder.build.handout import build_notebook
from autograder.check import load_checks
from autograder.course import COURSE
from autograder.grade import grade
from autograder.isolate.protocol import TEXT_CAP, FailureKind
from autograder.load import LoadLimits, Submission, load_submission
from autograder.load.files import MAX_CELLS
from conftest import SOLUTIONS, full_marks, scores_by_function
from mutants import MUTANTS

PART_FILES = sorted(p.file for p in COURSE.parts)
VISIBLE = load_checks(COURSE, include_hidden=False)
SOFTMAX, CROSS_ENTROPY = COURSE.function("softmax"), COURSE.function("cross_entropy")


# --- helpers -----------------------------------------------------------------------------------


def load(tmp_path: Path, path: Path, limits: LoadLimits = LoadLimits()) -> Submission:
    dest = tmp_path / f"dest-{len(list(tmp_path.glob('dest-*')))}"
    dest.mkdir()
    return load_submission(path, dest, COURSE, limits)


def sources(folder: Path = SOLUTIONS) -> dict[str, str]:
    return {p.file: (folder / p.file).read_text() for p in COURSE.parts}


def mutated(tmp_path: Path, mistakes: list[tuple[str, str]]) -> Path:
    """The solutions with the edits of several mutants (function, mistake), each in another function."""
    folder = tmp_path / "mutated"
    shutil.copytree(SOLUTIONS, folder)
    for function, mistake in mistakes:
        mutant = next(m for m in MUTANTS if (m.function, m.mistake) == (function, mistake))
        path = folder / f"{mutant.module}.py"
        text = path.read_text()
        for old, new in mutant.edits:
            assert text.count(old) == 1, mutant.mistake
            text = text.replace(old, new)
        path.write_text(text)
    return folder


def notebook_of(texts: dict[str, str], path: Path) -> Path:
    nbformat.write(build_notebook(texts, COURSE, with_solutions=True), str(path))
    return path


def every_form(folder: Path, tmp_path: Path) -> dict[str, Path]:
    """The same work as each form a class uploads."""
    nested = tmp_path / "nested" / "nlm-hw3-main"
    shutil.copytree(folder, nested)
    script = tmp_path / "student.py"
    script.write_text("\n\n".join(sources(folder).values()))
    archive = tmp_path / "submission.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for name in PART_FILES:
            z.write(folder / name, f"hw3/{name}")
    return {"folder": folder, "nested folder": nested.parent, "lone script": script,
            "notebook": notebook_of(sources(folder), tmp_path / "hw.ipynb"), "zip": archive}


def top_level_functions(source: str) -> set[str]:
    return {n.name for n in ast.parse(source).body if isinstance(n, ast.FunctionDef)}


@pytest.fixture(scope="module", autouse=True)
def reference_imported():
    """The first stand-in answer imports torch in the grader, which on a busy machine takes longer
    than the session sandbox's 3 s step limit (the deadline counts the grader's answer too)."""
    COURSE.function("softmax").reference(np.zeros(2))


def graded(sandbox, path: Path, checks=VISIBLE):
    return grade(path, COURSE, sandbox=sandbox, checks=checks)


def visible_marks() -> dict[str, float]:
    marks = dict.fromkeys(full_marks(), 0.0)
    for check in VISIBLE:
        marks[check.function.qualname] += check.points
    return marks


def notebook(tmp_path: Path, *cells: str, name: str = "hw.ipynb") -> Path:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nbformat.write(nb, str(tmp_path / name))
    return tmp_path / name


# --- one canonical form ------------------------------------------------------------------------


def test_every_form_becomes_one_module_per_part_with_each_function_in_its_own(tmp_path):
    for form, path in every_form(SOLUTIONS, tmp_path).items():
        sub = load(tmp_path, path)
        assert sorted(p.name for p in sub.folder.iterdir()) == PART_FILES, form
        assert (sub.modules, sub.missing, sub.failed) == (COURSE.modules, {}, {}), form
        for part in COURSE.parts:
            defined = top_level_functions((sub.folder / part.file).read_text())
            assert {f.name for f in COURSE.in_part(part)} <= defined, (form, part.module)
            others = {f.name for f in COURSE.functions if f.part is not part}
            assert not defined & others, (form, part.module)  # other parts' functions are imported


# Mutants whose function other graded functions call (with correct versions of it): a bug there
# must cost the same in every form, however the notebook or script lays out its cells.
CROSS_PART = [[("losses.softmax", "no max subtraction"), ("losses.square_loss", "forgot the ½"),
               ("sgd.minibatch_indices", "no shuffle"), ("rnn.rnn_forward", "h @ W_h without the transpose")],
              [("losses.cross_entropy", "sign error"), ("backprop.tiny_forward", "skips the hidden layer"),
               ("sgd.sgd_step", "steps up the gradient")]]


@pytest.mark.parametrize("mistakes", CROSS_PART, ids=lambda ms: " + ".join(m for _, m in ms))
def test_isolation_mutants_get_identical_points_in_every_form(mistakes, sandbox, tmp_path):
    scores = {form: scores_by_function(graded(sandbox, path))
              for form, path in every_form(mutated(tmp_path, mistakes), tmp_path).items()}
    broken = {function for function, _ in mistakes}
    expected = {f: p for f, p in visible_marks().items() if f not in broken}
    for form, by_function in scores.items():
        assert by_function == scores["folder"], form
        assert {f: s for f, s in by_function.items() if f not in broken} == expected, form
        assert all(by_function[f] < visible_marks()[f] for f in broken), form


# --- a missing or misnamed function costs only itself --------------------------------------------


def test_a_misnamed_function_is_not_attempted_and_costs_nothing_else_in_any_form(sandbox, tmp_path):
    folder = tmp_path / "renamed"
    shutil.copytree(SOLUTIONS, folder)
    text = (folder / "losses.py").read_text().replace("def softmax(", "def softmax_v2(")
    (folder / "losses.py").write_text(text)
    nb = build_notebook(sources(), COURSE, with_solutions=True)
    for cell in nb.cells:
        cell.source = cell.source.replace("def softmax(", "def softmax_v2(")
    nbformat.write(nb, str(tmp_path / "renamed.ipynb"))
    forms = {"folder": folder, "notebook": tmp_path / "renamed.ipynb"}
    expected = {**visible_marks(), SOFTMAX.qualname: 0.0}
    for form, path in forms.items():
        sub = load(tmp_path, path)
        where = "losses.py" if form == "folder" else "renamed.ipynb"
        assert sub.missing == {SOFTMAX: f"not attempted: no `softmax` in {where} (found `softmax_v2`)"}, form
        report = graded(sandbox, path)
        assert scores_by_function(report) == expected, form
        statuses = {r.status for r in report.results if r.function == SOFTMAX.qualname}
        assert statuses == {"not attempted"}, form


# --- packaging leniency --------------------------------------------------------------------------


@pytest.mark.parametrize(("layout", "note"), [
    ({"hw3/losses.py": "", "hw3/rnn.py": ""}, "graded the files in the folder 'hw3/'"),
    ({"nlm-hw3-main/src/hw/losses.py": "", "README.md": None}, "graded the files in the folder 'nlm-hw3-main/src/hw/'"),
    ({"Losses.py": "", "RNN.py": ""}, "graded Losses.py as losses.py (names are matched without regard to case)"),
    ({"losses (1).py": ""}, "graded losses (1).py as losses.py (the name of a downloaded duplicate)"),
    ({"losses-1.py": ""}, "graded losses-1.py as losses.py (the name of a downloaded duplicate)"),
    ({"losses_v2.py": ""}, "graded losses_v2.py as losses.py (the name of a downloaded duplicate)"),
])
def test_packaging_leniency_says_what_it_matched(tmp_path, layout, note):
    src = tmp_path / "upload"
    for name, text in layout.items():
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        (src / name).write_text(text if text is not None else "notes")
    sub = load(tmp_path, src)
    assert sub.kind == "folder" and "losses" in sub.modules, sub.messages
    assert note in sub.messages
    assert sorted(p.name for p in sub.folder.iterdir()) == PART_FILES


def test_ambiguous_duplicates_and_a_fourth_wrapper_are_not_guessed(tmp_path):
    src = tmp_path / "upload"
    src.mkdir()
    (src / "losses (1).py").write_text("")
    (src / "losses (2).py").write_text("")
    (src / "rnn.py").write_text("")
    sub = load(tmp_path, src)
    assert sub.modules == ("rnn",)
    assert any(m.startswith("found losses (1).py, losses (2).py: cannot tell which one is losses.py")
               for m in sub.messages), sub.messages
    deep = tmp_path / "deep"
    (deep / "a" / "b" / "c" / "d").mkdir(parents=True)
    (deep / "a" / "b" / "c" / "d" / "losses.py").write_text("")
    assert load(tmp_path, deep).kind == "empty"


@pytest.mark.parametrize("where", ["folder", "zip"])
def test_the_whole_assignment_in_one_py_of_any_name_inside_a_folder_or_zip(tmp_path, where):
    src = tmp_path / "upload"
    src.mkdir()
    (src / "my homework.py").write_text("\n\n".join(sources().values()))
    (src / "utils.py").write_text("HELPER = 1\n")
    path = src
    if where == "zip":
        path = tmp_path / "hw.zip"
        with zipfile.ZipFile(path, "w") as z:
            for p in src.iterdir():
                z.write(p, p.name)
    sub = load(tmp_path, path)
    assert (sub.modules, sub.missing) == (COURSE.modules, {})
    assert "graded my homework.py, which defines the most graded functions" in " ".join(sub.messages)
    assert sorted(p.name for p in sub.folder.iterdir()) == sorted([*PART_FILES, "utils.py"])  # helpers kept


@pytest.mark.parametrize(("files", "found"), [(["report.pdf"], "report.pdf"), (["answers.txt"], "answers.txt"),
                                             (["report.pdf", "notes/answers.txt"], "report.pdf, notes/answers.txt")])
def test_nothing_gradable_is_empty_with_one_message_saying_what_was_found_and_expected(tmp_path, files, found):
    src = tmp_path / "upload"
    for name in files:
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        (src / name).write_text("my answers")
    sub = load(tmp_path, src)
    assert (sub.kind, len(sub.messages)) == ("empty", 1)
    assert sub.messages[0].startswith(f"nothing to grade: found {found}; expected losses.py"), sub.messages
    assert "one .py file or notebook (.ipynb) holding the whole assignment" in sub.messages[0]


# --- the definition rule -------------------------------------------------------------------------


def test_lambdas_aliases_and_constant_arithmetic_are_kept_and_aliases_are_substituted(sandbox, tmp_path):
    """A wrong softmax reached through an alias costs next_word_probs nothing."""
    texts = sources()
    texts["losses.py"] = texts["losses.py"].replace(
        "    shifted = z - np.max(z, axis=-1, keepdims=True)\n    exp = np.exp(shifted)", "    exp = np.exp(z)")
    nb = build_notebook(texts, COURSE, with_solutions=True)
    helpers = nbformat.v4.new_code_cell(
        "stable = lambda z: z - z.max(axis=-1, keepdims=True)\nsm = softmax\nexp = np.exp\nV = 10\nH = 2 * V\n"
        "def log_probs(z):\n    return np.log(sm(z))\n")
    helpers.metadata["nlm"] = {"answer": "rnn.helpers"}  # graded cells are the marked ones
    nb.cells.append(helpers)
    for cell in nb.cells:  # next_word_probs calls the alias; log_softmax the lambda
        cell.source = cell.source.replace("return softmax(logits[0, -1])", "return sm(logits[0, -1])")
        cell.source = cell.source.replace("shifted = z - np.max(z, axis=-1, keepdims=True)", "shifted = stable(z)")
    path = tmp_path / "aliases.ipynb"
    nbformat.write(nb, str(path))
    sub = load(tmp_path, path)
    rnn = (sub.folder / "rnn.py").read_text()
    assert rnn.index("from losses import") < rnn.index("sm = softmax")  # aliases of graded functions last
    for kept in ("stable = lambda z:", "exp = np.exp", "H = 2 * V"):
        assert kept in rnn
    scores = scores_by_function(graded(sandbox, path))
    assert scores[SOFTMAX.qualname] < visible_marks()[SOFTMAX.qualname]
    assert {f: s for f, s in scores.items() if f != SOFTMAX.qualname} == \
           {f: p for f, p in visible_marks().items() if f != SOFTMAX.qualname}


def test_calls_and_other_statements_are_dropped_with_a_note(tmp_path):
    sub = load(tmp_path, notebook(tmp_path, "import numpy as np\nmodel = np.ones(3)\nx = undefined\nprint(1)"))
    source = (sub.folder / "losses.py").read_text()
    assert "import numpy as np" in source and "model" not in source and "undefined" not in source
    assert any("an assignment to model (cell 1), an assignment to x (cell 1), a call to print() (cell 1)" in m
               for m in sub.messages), sub.messages


# --- syntax errors -------------------------------------------------------------------------------


def test_a_syntax_error_in_one_cell_costs_exactly_the_functions_of_that_cell(sandbox, tmp_path):
    """Not the first function: the others' import must not turn it into "not attempted"."""
    nb = build_notebook(sources(), COURSE, with_solutions=True)
    number, cell = next((n, c) for n, c in enumerate(nb.cells, 1)
                        if c.metadata.get("nlm", {}).get("answer") == CROSS_ENTROPY.qualname)
    cell.source = cell.source.replace("def cross_entropy(logits, targets):", "def cross_entropy(logits, targets)")
    line = cell.source.splitlines().index("def cross_entropy(logits, targets)") + 1
    path = tmp_path / "typo.ipynb"
    nbformat.write(nb, str(path))
    sub = load(tmp_path, path)
    message = f"SyntaxError in cell {number}, line {line}: expected ':'"
    assert sub.failed == {CROSS_ENTROPY: (FailureKind.SYNTAX_ERROR, message)}
    report = graded(sandbox, path)
    mine = [r for r in report.results if r.function == CROSS_ENTROPY.qualname]
    assert {(r.status, r.feedback) for r in mine} == {("crashed", message)}
    scores = scores_by_function(report)
    assert {f: s for f, s in scores.items() if f != CROSS_ENTROPY.qualname} == \
           {f: p for f, p in visible_marks().items() if f != CROSS_ENTROPY.qualname}


def test_a_syntax_error_in_a_part_file_reads_crashed_syntax_error_with_file_and_line(sandbox, tmp_path):
    folder = tmp_path / "typo"
    shutil.copytree(SOLUTIONS, folder)
    text = (folder / "losses.py").read_text().replace("def softmax(logits):", "def softmax(logits)")
    (folder / "losses.py").write_text(text)
    line = text.splitlines().index("def softmax(logits)") + 1
    checks = [c for c in VISIBLE if c.function in (SOFTMAX, CROSS_ENTROPY)]
    for result in graded(sandbox, folder, checks).results:
        assert result.status == "crashed"
        assert result.feedback.startswith(f"SyntaxError in losses.py, line {line}: expected ':'")


# --- the import rule -----------------------------------------------------------------------------


@pytest.mark.parametrize("package", ["scipy", "yaml"])  # absent here / installed here: the same verdict
def test_an_unavailable_import_costs_its_module_with_one_message_whatever_is_installed(sandbox, tmp_path, package):
    folder = tmp_path / "imports"
    shutil.copytree(SOLUTIONS, folder)
    text = (folder / "losses.py").read_text().replace("import numpy as np", f"import numpy as np\nimport {package}")
    (folder / "losses.py").write_text(text)
    line = text.splitlines().index(f"import {package}") + 1
    message = f"`{package}` is not available where your work is graded; use numpy (losses.py, line {line})"
    sub = load(tmp_path, folder)
    assert sub.failed == {f: (FailureKind.UNAVAILABLE_IMPORT, message) for f in COURSE.in_part("losses")}
    report = graded(sandbox, folder)
    lost = [r for r in report.results if r.function.startswith("losses.")]
    assert {(r.status, r.feedback) for r in lost} == {("crashed", message)}  # never a traceback
    scores = scores_by_function(report)
    assert {f: s for f, s in scores.items() if not f.startswith("losses.")} == \
           {f: p for f, p in visible_marks().items() if not f.startswith("losses.")}


def test_an_import_under_the_main_guard_or_of_a_helper_module_is_allowed(tmp_path):
    src = tmp_path / "upload"
    src.mkdir()
    (src / "losses.py").write_text("import utils\n\nif __name__ == '__main__':\n    import matplotlib\n")
    (src / "utils.py").write_text("import math\n")
    (src / "rnn.py").write_text("import helpers\n\n\ndef rnn_forward(params, token_ids, h0=None):\n    pass\n")
    (src / "helpers.py").write_text("import pandas\n")
    sub = load(tmp_path, src)
    assert {f.module for f in sub.failed} == {"rnn"} and set(sub.broken) == {"rnn"}
    assert sub.failed[COURSE.function("rnn_forward")][1].startswith(
        "`pandas` is not available where your work is graded; use numpy (helpers.py, line 1, which you import)")


def test_a_notebook_import_costs_the_graded_functions_that_use_it_directly_or_through_helpers(tmp_path):
    sub = load(tmp_path, notebook(
        tmp_path,
        "import numpy as np\nimport scipy.special\nimport matplotlib.pyplot as plt",
        "def _probs(z):\n    return scipy.special.softmax(z, axis=-1)\n\n"
        "def softmax(logits):\n    return _probs(logits)\n\n"
        "def log_softmax(logits):\n    import sklearn\n    return np.log(softmax(logits))\n\n"
        "def cross_entropy(logits, targets):\n    return -np.mean(log_softmax(logits))\n\n"
        "def plot(x):\n    plt.plot(x)"))
    kinds = {f.name: kind for f, (kind, _) in sub.failed.items()}
    assert kinds == {"softmax": FailureKind.UNAVAILABLE_IMPORT, "log_softmax": FailureKind.UNAVAILABLE_IMPORT}
    assert sub.failed[SOFTMAX][1] == "`scipy` is not available where your work is graded; use numpy (cell 1, line 2)"
    assert CROSS_ENTROPY not in sub.missing  # it calls softmax, which is replaced by a correct one
    source = (sub.folder / "losses.py").read_text()
    assert "import scipy" not in source and "import matplotlib" not in source
    assert "def softmax" not in source and "def cross_entropy" in source


# --- capped names, bounded loading, links ---------------------------------------------------------


def test_every_student_string_in_a_message_is_capped(tmp_path):
    long = "x" * 20_000
    path = notebook(tmp_path, f"%{long}\ndef softmax(z):\n    return z", f"def cross_entropy({long}:\n    pass")
    archive = tmp_path / "hw.zip"
    with zipfile.ZipFile(archive, "w") as z:
        info = zipfile.ZipInfo(f"{long}/losses.py")
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        z.writestr(info, "/etc/passwd")
    for sub in (load(tmp_path, path), load(tmp_path, archive)):
        assert all(len(m) <= TEXT_CAP + 100 for m in sub.messages), [len(m) for m in sub.messages]
        assert any("characters more)" in m for m in sub.messages), sub.messages


def test_a_notebook_of_260000_marked_cells_is_rejected_quickly_with_bounded_memory(tmp_path):
    """47 MB of cells: rejected by the cell count before anything parses them, in the loading
    child; the grader process does not grow (its peak memory stays where it was)."""
    cell = ('{"cell_type": "code", "execution_count": null, "id": "c%06d", "metadata": {"nlm": {"answer": '
            '"losses.softmax"}}, "outputs": [], "source": ["def softmax(z):\\n", "    return z\\n"]}')
    path = tmp_path / "huge.ipynb"
    with path.open("w") as f:
        f.write('{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [')
        f.write(",".join(cell % i for i in range(260_000)))
        f.write("]}")
    assert path.stat().st_size > 47_000_000
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    sub = load(tmp_path, path)
    assert (sub.kind, list(sub.folder.iterdir())) == ("rejected", [])
    assert sub.messages == [f"rejected: huge.ipynb has 260,000 cells; at most {MAX_CELLS:,} are read"]
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak < 100 * 1024  # KiB: under 100 MB


def test_loading_beyond_its_memory_or_time_limit_is_rejected_saying_which(tmp_path):
    script = tmp_path / "student.py"
    script.write_text("X = [" + "1, " * 1_500_000 + "]\n")  # 4.5 MB: its syntax tree takes hundreds of MB
    sub = load(tmp_path, script, LoadLimits(memory_bytes=200 * 2**20))
    assert (sub.kind, list(sub.folder.iterdir())) == ("rejected", [])
    assert sub.messages == ["rejected: reading it needed more than 200 MB of memory, the limit for "
                            "loading a submission"]
    slow = load(tmp_path, script, LoadLimits(seconds=0.5))
    assert slow.kind == "rejected"
    assert slow.messages == ["rejected: reading it took longer than 0.5 s, the limit for loading a submission"]


def test_links_and_special_files_are_never_copied_or_followed(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("SECRET = 'root only'\n")
    secret.chmod(0o600)
    real = notebook(tmp_path, "def softmax(z):\n    return z", name="real.ipynb")
    src = tmp_path / "upload"
    src.mkdir()
    os.link(secret, src / "helper.py")
    (src / "losses.py").write_text("import helper\n")
    (src / "losses.py").chmod(0o777)
    (src / "rnn.py").symlink_to(tmp_path / "secret.txt")
    os.mkfifo(src / "sgd.py")
    sub = load(tmp_path, src)
    assert sorted(p.name for p in sub.folder.iterdir()) == PART_FILES  # no helper.py
    assert "SECRET" not in "".join(p.read_text() for p in sub.folder.iterdir())
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o644 for p in sub.folder.iterdir())
    notes = "\n".join(sub.messages)
    assert "skipped helper.py: it is a hard link (a file with 2 names; only plain files are read)" in notes
    assert "skipped rnn.py: it is a symbolic link (links are not followed)" in notes
    assert "skipped sgd.py: it is not a regular file" in notes
    linked = tmp_path / "linked"
    linked.mkdir()
    (linked / "hw.ipynb").symlink_to(real)
    sub = load(tmp_path, linked)
    assert sub.kind == "empty" and "hw.ipynb: it is a symbolic link" in sub.messages[0]
