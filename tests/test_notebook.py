"""The notebook handout: fresh, valid, one marked cell per function, no answers, and graded right."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat

from autograder.build.handout import build_notebook, write_notebook
from autograder.cli import main
from autograder.course import COURSE
from autograder.score import total

FUNCTIONS, PART_MODULES = COURSE.functions, COURSE.modules
PART_FILES = [p.file for p in COURSE.parts]
NOTEBOOK_NAME = COURSE.notebook_name
from conftest import ASSIGNMENT, SOLUTIONS

NOTEBOOK = ASSIGNMENT / NOTEBOOK_NAME
FULL = COURSE.max_score + COURSE.bonus_score


def sources() -> dict[str, str]:
    return {name: (SOLUTIONS / name).read_text() for name in PART_FILES}


def marks(nb) -> list[str]:
    return [c.metadata["nlm"]["answer"] for c in nb.cells if "nlm" in c.metadata]


def solution_lines() -> set[str]:
    """The non-blank lines inside the solutions' BEGIN/END SOLUTION regions (lines of brackets
    alone, such as a closing `}`, give nothing away and are left out)."""
    lines, inside = set(), False
    for text in sources().values():
        for line in text.splitlines():
            if "# BEGIN SOLUTION" in line:
                inside = True
            elif "# END SOLUTION" in line:
                inside = False
            elif inside and re.search(r"\w", line):
                lines.add(line.strip())
    return lines


def code(source: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_code_cell(source)  # a random id, as Jupyter gives a new cell


def write(nb, path: Path) -> Path:
    nbformat.write(nb, str(path))
    return path


def solutions_with_extras() -> nbformat.NotebookNode:
    """The solutions notebook plus the cells students add: notes, prints, magics, shell commands,
    a cell that fails when run, and a slow one. None of them may cost a point."""
    nb = build_notebook(sources(), COURSE, with_solutions=True)
    first = [nbformat.v4.new_markdown_cell("My notes: **softmax** first.", id="extra-notes"),
             code('print("hello from my notebook")'), code("%matplotlib inline")]
    middle = [code("!pip install foo"), code("undefined_name + 1")]
    last = [code("import time\ntime.sleep(60)")]
    at = next(i for i, c in enumerate(nb.cells) if c.id == "sgd-lesson")
    nb.cells = first + nb.cells[:at] + middle + nb.cells[at:] + last
    nbformat.validate(nb)
    return nb


def assert_full_marks(report) -> None:
    score, maximum = total(report.results)
    lost = [f"{r.name} [{r.status}]: {r.feedback[-300:]}" for r in report.results if r.status != "passed"]
    assert not lost, "\n\n".join(lost)
    assert (score, maximum) == (FULL, FULL)


# --- the committed notebook ----------------------------------------------------------------------


def test_committed_notebook_is_what_the_generator_makes_today(tmp_path):
    fresh = write_notebook(tmp_path / NOTEBOOK_NAME, COURSE, SOLUTIONS)
    assert NOTEBOOK.is_file(), f"assignment/{NOTEBOOK_NAME} is missing: run `make stubs`"
    stale = f"assignment/{NOTEBOOK_NAME} is stale: run `make stubs`"
    assert NOTEBOOK.read_bytes() == fresh.read_bytes(), stale


def test_stubs_command_writes_the_notebook_with_the_stubs(tmp_path, capsys):
    assert main(["stubs", "--solutions", str(SOLUTIONS), "--assignment", str(tmp_path)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*PART_FILES, NOTEBOOK_NAME])
    assert (tmp_path / NOTEBOOK_NAME).read_bytes() == NOTEBOOK.read_bytes()
    assert f"wrote {tmp_path / NOTEBOOK_NAME}" in capsys.readouterr().out


def test_build_is_deterministic():
    once = nbformat.writes(build_notebook(sources(), COURSE, with_solutions=False))
    assert once == nbformat.writes(build_notebook(sources(), COURSE, with_solutions=False))
    assert "execution_count\": null" in once and '"outputs": []' in once


def test_committed_notebook_validates():
    nb = nbformat.read(str(NOTEBOOK), as_version=4)
    nbformat.validate(nb)
    assert (nb.nbformat, nb.nbformat_minor) == (4, 5)
    assert len({c.id for c in nb.cells}) == len(nb.cells)
    assert json.loads(NOTEBOOK.read_text())["nbformat_minor"] == 5


def test_every_graded_function_has_exactly_one_marked_answer_cell():
    nb = nbformat.read(str(NOTEBOOK), as_version=4)
    found = marks(nb)
    for f in FUNCTIONS:
        assert found.count(f.qualname) == 1, f.qualname
        (cell,) = [c for c in nb.cells if c.metadata.get("nlm", {}).get("answer") == f.qualname]
        assert cell.cell_type == "code" and "answer" in cell.metadata["tags"]
        assert re.search(rf"^def {f.name}\(", cell.source, re.M)
        assert "raise NotImplementedError" in cell.source
    # Besides the answers, only each part's imports cell is marked (the answers need its imports).
    others = set(found) - {f.qualname for f in FUNCTIONS}
    assert sorted(others) == sorted(f"{m}.imports" for m in PART_MODULES)


def test_every_answer_cell_is_followed_by_its_check_cell():
    """The cell after each answer runs that function's visible checks; it is never graded (no mark)."""
    nb = nbformat.read(str(NOTEBOOK), as_version=4)
    for i, cell in enumerate(nb.cells):
        mark = cell.metadata.get("nlm", {}).get("answer", "")
        if mark.endswith(".imports") or not mark:
            continue
        following = nb.cells[i + 1]
        name = mark.split(".")[1]
        assert following.cell_type == "code" and "nlm" not in following.metadata, mark
        assert following.metadata["tags"] == ["check"]
        assert following.source.splitlines()[-2:] == ["from autograder import check", f"check({name})"]


def test_imports_cells_import_no_part_module():
    nb = nbformat.read(str(NOTEBOOK), as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            part_import = rf"^\s*(from|import)\s+({'|'.join(PART_MODULES)})\b"
            assert not re.search(part_import, cell.source, re.M), cell.id
    imports = {c.id: c.source for c in nb.cells if c.id.endswith("-imports")}
    assert "import numpy as np" in imports["losses-imports"]
    assert "import torch" in imports["sgd-imports"]


def test_no_solution_line_appears_in_the_notebook():
    hidden = solution_lines()
    assert hidden
    nb = nbformat.read(str(NOTEBOOK), as_version=4)
    leaked = [(c.id, line.strip()) for c in nb.cells for line in c.source.splitlines()
              if line.strip() in hidden]
    assert not leaked
    assert "BEGIN SOLUTION" not in NOTEBOOK.read_text()


def test_solutions_notebook_keeps_the_solutions_without_markers():
    nb = build_notebook(sources(), COURSE, with_solutions=True)
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert "# BEGIN SOLUTION" not in text and "# END SOLUTION" not in text
    assert "raise NotImplementedError" not in text
    assert solution_lines() <= {line.strip() for line in text.splitlines()}


def test_optional_training_runs_top_to_bottom_with_the_solutions(tmp_path):
    nb = build_notebook(sources(), COURSE, with_solutions=True)
    after_checks = nb.cells[[c.id for c in nb.cells].index("check-your-work"):]
    optional = [c for c in after_checks if c.cell_type == "code"]
    assert optional and all("nlm" not in c.metadata for c in optional)  # ungraded, unmarked
    script = tmp_path / "run_notebook.py"
    code = [c for c in nb.cells if c.cell_type == "code" and "check" not in c.metadata.get("tags", [])]
    script.write_text("\n\n".join(c.source for c in code))  # the check cells: tests/test_notebook_check.py
    env = {**os.environ, "MPLBACKEND": "Agg", "MPLCONFIGDIR": str(tmp_path / "mpl")}
    run = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-3000:]
    before = float(re.search(r'untrained: p\("ChatGPT".*?= ([\d.]+)', run.stdout)[1])
    after = float(re.search(r'^trained: p\("ChatGPT".*?= ([\d.]+)', run.stdout, re.M)[1])
    assert before < 0.2 < 0.6 < after, run.stdout


# --- grading notebooks -----------------------------------------------------------------------------


def test_solutions_notebook_with_extra_cells_scores_full_marks(grade_folder, tmp_path):
    report = grade_folder(write(solutions_with_extras(), tmp_path / "mine.ipynb"))
    assert report.kind == "notebook"
    assert_full_marks(report)


def test_zipped_solutions_notebook_scores_the_same(grade_folder, tmp_path):
    notebook = write(solutions_with_extras(), tmp_path / NOTEBOOK_NAME)
    archive = tmp_path / "submission.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        z.write(notebook, f"hw/{NOTEBOOK_NAME}")
    report = grade_folder(archive)
    assert report.kind == "zip"
    assert_full_marks(report)


def test_solutions_notebook_without_answer_marks_still_scores_full_marks(grade_folder, tmp_path):
    nb = solutions_with_extras()
    for cell in nb.cells:
        cell.metadata.pop("nlm", None)
        cell.metadata.pop("tags", None)
    report = grade_folder(write(nb, tmp_path / "unmarked.ipynb"))
    assert any("no answer cells are marked" in m for m in report.messages), report.messages
    assert_full_marks(report)


def test_stub_notebook_scores_zero_and_everything_is_not_attempted(grade_folder):
    report = grade_folder(NOTEBOOK)
    assert total(report.results) == (0.0, FULL)
    assert {r.status for r in report.results} == {"not attempted"}
    assert {r.function for r in report.results} == {f.qualname for f in FUNCTIONS}


def test_empty_notebook_scores_zero_with_a_clear_message(grade_folder, tmp_path):
    report = grade_folder(write(nbformat.v4.new_notebook(), tmp_path / "empty.ipynb"))
    assert total(report.results) == (0.0, FULL)
    assert "notebook: the notebook has no code cells" in report.messages
    assert any(m.startswith("notebook: no definition found for losses.softmax") for m in report.messages)
    names = {f.qualname: f.name for f in FUNCTIONS}
    assert {r.feedback for r in report.results if r.feedback != f"not attempted: no `{names[r.function]}` in "
            "empty.ipynb"} == set()


def test_notebook_is_graded_as_its_part_modules_without_a_shared_namespace(tmp_path):
    """One module per part, each function in its own; the other parts' functions imported at the
    end (so substitution by module attribute finds every call), no notebook.py."""
    from autograder.load import load_submission

    dest = tmp_path / "dest"
    dest.mkdir()
    load_submission(write(solutions_with_extras(), tmp_path / "mine.ipynb"), dest, COURSE)
    assert sorted(p.name for p in dest.iterdir()) == sorted(PART_FILES)
    for part in COURSE.parts:
        source = (dest / part.file).read_text()
        defined = {line.split("(")[0][4:] for line in source.splitlines() if line.startswith("def ")}
        assert {f.name for f in COURSE.in_part(part)} <= defined
        tail = source.rstrip().splitlines()[-len(COURSE.parts) + 1:]
        assert tail == [f"from {m} import {', '.join(f.name for f in COURSE.in_part(m))}  # noqa: E402"
                        for m in PART_MODULES if m != part.module]


def test_corrupt_notebook_scores_zero_and_is_rejected(grade_folder, tmp_path):
    path = tmp_path / NOTEBOOK_NAME
    path.write_text('{"cells": [ this is not JSON')
    report = grade_folder(path)
    assert report.kind == "rejected"
    assert total(report.results) == (0.0, FULL)
    rejected = f"rejected: {NOTEBOOK_NAME} is not a readable Jupyter notebook"
    assert any(m.startswith(rejected) for m in report.messages), report.messages
