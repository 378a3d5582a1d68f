"""The course and the engine apart: the engine names no graded function, the README lists every
module, and a graded function added in the course wing alone reaches every product."""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest

from autograder.build.readme import assignment_table
from autograder.course import COURSE
from conftest import ROOT

ENGINE = ROOT / "autograder"


def engine_files() -> list[Path]:
    return [p for p in sorted(ENGINE.rglob("*.py")) if "course" not in p.relative_to(ENGINE).parts[:1]]


def string_constants(path: Path) -> list[tuple[int, str]]:
    """The string literals of a module that are not docstrings."""
    tree = ast.parse(path.read_text())
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                  and node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings]


def test_the_engine_names_no_part_or_graded_function():
    names = set(COURSE.modules) | {f.name for f in COURSE.functions} | {COURSE.notebook_name}
    word = re.compile(r"(?<![\w.])(" + "|".join(sorted(map(re.escape, names), key=len, reverse=True)) + r")(?!\w)")
    found = [f"{path.relative_to(ROOT)}:{line}: {text[:60]!r}" for path in engine_files()
             for line, text in string_constants(path) if word.search(text)]
    assert not found, found
    imports = [f"{path.relative_to(ROOT)}" for path in engine_files()
               if re.search(r"^\s*(from|import) autograder\.course\b", path.read_text(), re.M)]
    assert not imports, f"the engine imports the course directly (use registry.load_course): {imports}"


def test_the_readme_layout_lists_every_module_and_the_generated_table_is_current():
    readme = (ROOT / "README.md").read_text()
    layout = readme.split("## Layout", 1)[1].split("\n## ", 1)[0]
    for path in sorted(ENGINE.rglob("*.py")):
        relative = path.relative_to(ENGINE)
        if relative.parts[0] == "course" and len(relative.parts) > 2 or "handout" in relative.parts:
            continue  # one line per course folder: its part files are alike
        name = relative.name if relative.name != "__init__.py" else f"{relative.parent.name}/"
        assert name in layout, f"README's layout section does not list {relative}"
    assert assignment_table(COURSE) in readme, "README's assignment table is stale: run `make stubs`"


# ---------------------------------------------------------------- a graded function added in course/

PERPLEXITY_ENTRY = '''
FUNCTIONS = FUNCTIONS + (
    GradedFunction(RNN, "perplexity", ("params", "token_ids"), 2, reference_of("perplexity"),
                   ("sequence_loss",), lambda: ({}, _ids(1, 2))),
)
'''
PERPLEXITY_REFERENCE = '''

def perplexity(params: dict, token_ids) -> float:
    return float(np.exp(sequence_loss(params, token_ids)))
'''
PERPLEXITY_CHECK = '''
CHECKS.append(Check(F["perplexity"], "exp of the sequence loss (N = 3, T = 5), a throwaway check", 1.25,
                    on(P, 7, (3, 5)), agrees))
'''
PERPLEXITY_HIDDEN = '''
CHECKS.append(Check(F["perplexity"], "on another model (N = 2, T = 4), a throwaway hidden check", 0.75,
                    on(S, 9, (2, 4)), agrees, visible=False))
'''
PERPLEXITY_SOLUTION = '''

def perplexity(params, token_ids):
    """exp(sequence_loss(params, token_ids)): a throwaway graded function."""
    # BEGIN SOLUTION
    return float(np.exp(sequence_loss(params, token_ids)))
    # END SOLUTION
'''


def append(path: Path, text: str, before: str | None = None) -> None:
    source = path.read_text()
    if before:
        assert before in source, f"{path.name} has no {before!r}"
        source = source.replace(before, text + before, 1)
    else:
        source += text
    path.write_text(source)


def run(copy: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "PYTHON"))}
    done = subprocess.run([sys.executable, "-m", "autograder", *args], cwd=copy, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


@pytest.mark.slow
def test_a_function_registered_in_a_copy_of_the_course_reaches_every_product(tmp_path):
    copy = tmp_path / "project"
    for name in ("autograder", "solutions", "assignment", "gradescope"):
        shutil.copytree(ROOT / name, copy / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("Makefile", "pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, copy / name)
    course = copy / "autograder" / "course"
    # The whole change: the registry entry, its reference, a visible and a hidden check, the solution.
    append(course / "__init__.py", PERPLEXITY_ENTRY, before="\nCOURSE = Course(")
    append(course / "reference.py", PERPLEXITY_REFERENCE)
    append(course / "checks" / "rnn.py", PERPLEXITY_CHECK)
    append(course / "hidden" / "rnn.py", PERPLEXITY_HIDDEN)
    append(copy / "solutions" / "rnn.py", PERPLEXITY_SOLUTION)

    run(copy, "stubs")
    stub = (copy / "assignment" / "rnn.py").read_text()
    assert "def perplexity(params, token_ids):" in stub and "raise NotImplementedError" in stub.split("def perplexity")[1]
    notebook = nbformat.read(copy / "assignment" / COURSE.notebook_name, as_version=4)
    marks = [c.metadata.get("nlm", {}).get("answer") for c in notebook.cells]
    assert "rnn.perplexity" in marks
    assert "`perplexity` 2" in (copy / "README.md").read_text()  # the generated table

    graded = run(copy, "grade", "solutions", "--results", str(tmp_path / "results.json"))
    results = json.loads((tmp_path / "results.json").read_text())
    names = {t["name"]: t for t in results["tests"]}
    assert {"rnn.perplexity: exp of the sequence loss (N = 3, T = 5), a throwaway check",
            "rnn.perplexity: on another model (N = 2, T = 4), a throwaway hidden check"} <= set(names)
    assert results["score"] == COURSE.max_score + COURSE.bonus_score + 2, graded.stdout[-2000:]
    stubs = run(copy, "grade", "assignment", "--results", str(tmp_path / "stubs.json"))
    assert json.loads((tmp_path / "stubs.json").read_text())["score"] == 0, stubs.stdout[-2000:]

    run(copy, "release", "--out", str(tmp_path / "dist"))
    release = tmp_path / "dist" / "student-release"
    shipped = release / "autograder-checks" / "autograder" / "course"
    assert "throwaway check" in (shipped / "checks" / "rnn.py").read_text()
    assert not (shipped / "hidden").exists()
    assert "`rnn.perplexity` | 2 |" in (release / "README.md").read_text()
    assert "def perplexity(params, token_ids):" in (release / "rnn.py").read_text()

    run(copy, "bundle", "--out", str(tmp_path / "gradescope.zip"))
    with zipfile.ZipFile(tmp_path / "gradescope.zip") as bundle:
        assert "throwaway hidden check" in bundle.read("autograder/course/hidden/rnn.py").decode()
        assert "def perplexity" in bundle.read("autograder/course/reference.py").decode()
