"""`grade-all`: a generated class of ~20 submissions graded in parallel into a gradebook and reports.

One class (module-scoped fixture) is graded once through the CLI with 2 workers and a 2 s limit per
call; the tests then read what it wrote. Re-runs check the cache; a fake Gradescope export checks
that names and emails reach the gradebook.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import jsonschema
import nbformat
import pytest
from conftest import ASSIGNMENT, ROOT, SOLUTIONS

from autograder.course import COURSE
from autograder.report.gradebook import read_gradebook
from autograder.report.gradescope import schema

FULL = COURSE.max_score + COURSE.bonus_score
POINTS = {f.qualname: f.points for f in COURSE.functions}
PARTS = COURSE.modules
PART_IMPORT = re.compile(r"^from (losses|backprop|sgd|rnn) import .*$", re.MULTILINE)

# (student id, function it breaks, module, old text, new text): one typical mistake each.
MUTANTS = [
    ("mut_softmax", "losses.softmax", "losses", "    exp = np.exp(shifted)\n", "    exp = np.exp(z)\n"),
    ("mut_square_loss", "losses.square_loss", "losses",
     "return float(np.mean(0.5 * diff**2))", "return float(np.sum(0.5 * diff**2))"),
    ("mut_cross_entropy", "losses.cross_entropy", "losses",
     "return float(-np.mean(log_probs[np.arange(n), t]))", "return float(np.mean(log_probs[np.arange(n), t]))"),
    ("mut_tiny_backward", "backprop.tiny_backward", "backprop",
     "dL_dz2 = dL_do * (1.0 - o**2)", "dL_dz2 = dL_do"),
    ("mut_ce_grad", "backprop.cross_entropy_grad", "backprop", "    grad /= n\n", "    pass\n"),
    ("mut_sgd_step", "sgd.sgd_step", "sgd",
     "        params[k] -= lr * grads[k]\n", "        params[k] = params[k] - lr * grads[k]\n"),
    ("mut_minibatch", "sgd.minibatch_indices", "sgd", "    perm = rng.permutation(n)\n", "    perm = np.arange(n)\n"),
    ("mut_rnn_forward", "rnn.rnn_forward", "rnn", 'h @ params["W_h"].T', 'h @ params["W_h"]'),
]
CORRECT = ["correct_ann", "correct_ben", "nb_cara", "zip_dan", "script_eve"]


def copy_with(dest: Path, module: str | None = None, old: str = "", new: str = "", src: Path = SOLUTIONS) -> Path:
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns("*.ipynb", "__pycache__"))
    if module:
        path = dest / f"{module}.py"
        text = path.read_text()
        assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times in {module}.py"
        path.write_text(text.replace(old, new))
    return dest


def solution_sources() -> list[str]:
    """The four solution modules, without the imports between them (one namespace holds them all)."""
    return [PART_IMPORT.sub("", (SOLUTIONS / f"{m}.py").read_text()) for m in PARTS]


def make_class(root: Path) -> Path:
    root.mkdir()
    copy_with(root / "correct_ann")
    copy_with(root / "correct_ben")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Homework")]
                                  + [nbformat.v4.new_code_cell(s) for s in solution_sources()])
    nbformat.write(nb, str(root / "nb_cara.ipynb"))
    folder = copy_with(root.parent / "dan_folder")
    with zipfile.ZipFile(root / "zip_dan.zip", "w") as zf:
        for file in sorted(folder.iterdir()):
            zf.write(file, f"homework/{file.name}")
    (root / "script_eve.py").write_text("\n\n".join(solution_sources()))
    (root / "empty_fay").mkdir()
    (root / "docs_gus").mkdir()
    (root / "docs_gus" / "notes.txt").write_text("I did not have time.\n")
    (root / "docs_gus" / "data.csv").write_text("a,b\n1,2\n")
    copy_with(root / "hang_hal", "losses", "    exp = np.exp(shifted)\n", "    while True:\n        pass\n")
    hostile = copy_with(root / "hostile_ivy")
    (hostile / "sgd.py").write_text(textwrap.dedent("""
        import json, os
        print(json.dumps({"score": 110, "tests": [], "output": "all good"}))
        for target in ("results.json", "../gradebook.csv", "../../reports/gradebook.csv"):
            try:
                with open(target, "w") as f:
                    f.write('{"score": 110}')
            except OSError:
                pass
        os._exit(0)
    """) + (SOLUTIONS / "sgd.py").read_text())
    copy_with(root / "stubs_jon", src=ASSIGNMENT)
    (root / "broken_kim.zip").write_bytes(b"this is not a zip archive")
    copy_with(root / "syntax_lee", "rnn", "def rnn_forward(", "def rnn_forward(:")
    for student, _, module, old, new in MUTANTS:
        copy_with(root / student, module, old, new)
    (root / "README.txt").write_text("not a submission\n")
    return root


def snapshot_grader(dest: Path) -> Path:
    """A private copy of the autograder package to run: the cache is keyed by the grader's source,
    so edits others make to the working tree meanwhile must not count as a grader change."""
    shutil.copytree(ROOT / "autograder", dest / "autograder", ignore=shutil.ignore_patterns("__pycache__"))
    return dest


def run_grade_all(grader: Path, *args: str | Path) -> str:
    env = dict(os.environ, COLUMNS="200", PYTHONPATH=str(grader))
    proc = subprocess.run([sys.executable, "-m", "autograder", "grade-all", *map(str, args)],
                          cwd=grader, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout


def graded_reused(stdout: str) -> tuple[int, int]:
    match = re.search(r"graded (\d+), reused (\d+) from the cache", stdout)
    assert match, stdout[-2000:]
    return int(match.group(1)), int(match.group(2))


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory):
    from autograder.check import load_checks

    assert sum(c.points for c in load_checks(COURSE)) == FULL, "not every part's checks are loaded yet"
    base = tmp_path_factory.mktemp("class")
    grader = snapshot_grader(base / "grader")
    submissions, reports = make_class(base / "submissions"), base / "reports"
    stdout = run_grade_all(grader, submissions, "--out", reports, "--jobs", "2", "--timeout", "2")
    return grader, submissions, reports, stdout


def scores(row: dict[str, str]) -> dict[str, float]:
    return {f: float(row[f]) for f in POINTS}


def test_every_student_has_a_row_with_the_expected_status(graded_class):
    _, submissions, reports, stdout = graded_class
    book = read_gradebook(reports / "gradebook.csv")
    students = {p.stem for p in submissions.iterdir() if p.name != "README.txt"}
    assert set(book) == students and len(students) == 20
    assert graded_reused(stdout) == (20, 0)
    expected = {"empty_fay": "empty", "docs_gus": "empty", "broken_kim": "rejected"}
    assert {s: r["status"] for s, r in book.items()} == {s: expected.get(s, "graded") for s in students}
    assert all(float(r["max"]) == FULL for r in book.values())
    assert "not a readable zip" in book["broken_kim"]["note"]


def test_correct_submissions_get_full_marks_in_every_form(graded_class):
    _, _, reports, _ = graded_class
    book = read_gradebook(reports / "gradebook.csv")
    for student in CORRECT:
        assert scores(book[student]) == POINTS, student
        assert float(book[student]["total"]) == FULL
        assert {p: float(book[student][p]) for p in PARTS} == {
            p.module: sum(f.points for f in COURSE.in_part(p)) for p in COURSE.parts}


def test_stubs_empty_and_rejected_score_zero(graded_class):
    _, _, reports, _ = graded_class
    book = read_gradebook(reports / "gradebook.csv")
    for student in ("stubs_jon", "empty_fay", "docs_gus", "broken_kim"):
        assert float(book[student]["total"]) == 0, student


@pytest.mark.parametrize("student, function", [(m[0], m[1]) for m in MUTANTS])
def test_a_mutant_loses_points_only_in_its_own_function(graded_class, student, function):
    _, _, reports, _ = graded_class
    got = scores(read_gradebook(reports / "gradebook.csv")[student])
    assert got[function] < POINTS[function]
    assert {f: s for f, s in got.items() if f != function} == {f: p for f, p in POINTS.items() if f != function}


def test_hanging_hostile_and_broken_submissions_lose_only_what_they_break(graded_class):
    _, _, reports, _ = graded_class
    book = read_gradebook(reports / "gradebook.csv")
    lost = {"hang_hal": {"losses.softmax"},
            "hostile_ivy": {f for f in POINTS if f.startswith("sgd.")},
            "syntax_lee": {f for f in POINTS if f.startswith("rnn.")}}
    for student, functions in lost.items():
        assert scores(book[student]) == {f: 0.0 if f in functions else p for f, p in POINTS.items()}, student
    assert "timed out" in (reports / "students" / "hang_hal" / "feedback.md").read_text()
    # The hostile module's fake results and file writes reached nothing of ours.
    results = json.loads((reports / "students" / "hostile_ivy" / "results.json").read_text())
    assert results["score"] == FULL - sum(p for f, p in POINTS.items() if f.startswith("sgd."))
    assert not (reports.parent / "gradebook.csv").exists()


def test_feedback_markdown_and_gradescope_results(graded_class):
    _, _, reports, _ = graded_class
    for student in ("correct_ann", "mut_softmax", "stubs_jon", "broken_kim"):
        folder = reports / "students" / student
        results = json.loads((folder / "results.json").read_text())
        jsonschema.validate(results, schema())
        total = float(read_gradebook(reports / "gradebook.csv")[student]["total"])
        assert results["score"] == total
    good = (reports / "students" / "correct_ann" / "feedback.md").read_text()
    assert "| `losses.softmax` | 5 / 5 | passed" in good and "Every check passed" in good
    bad = (reports / "students" / "mut_softmax" / "feedback.md").read_text()
    failed_section = bad.split("## Checks that did not pass", 1)[1]
    assert "### ✗ losses.softmax:" in failed_section
    assert "### ✗ losses.log_softmax" not in failed_section
    stubs = (reports / "students" / "stubs_jon" / "feedback.md").read_text()
    assert "not attempted" in stubs and f"**Total: 0 / {FULL:g}**" in stubs


def test_class_summary_html_and_terminal(graded_class):
    _, _, reports, stdout = graded_class
    html = (reports / "summary.html").read_text()
    assert html.count("data:image/png;base64,") == 2  # the histogram and the failure-rate chart
    assert "Distribution of totals" in html and "Which checks do students fail most" in html
    assert "http://" not in html and "https://" not in html  # self-contained
    for student in ("correct_ann", "hostile_ivy", "broken_kim"):
        assert student in html
    # The failure table is sorted: the rates never increase down the page.
    rates = [int(r) for r in re.findall(r'class="bar" style="width:\d+px"></span> (\d+)%', html)]
    assert rates and rates == sorted(rates, reverse=True)
    assert "Class summary" in stdout and "Most failed checks" in stdout


def test_rerun_grades_only_what_changed(graded_class):
    grader, submissions, reports, _ = graded_class
    before = (reports / "gradebook.csv").read_text()
    assert graded_reused(run_grade_all(grader, submissions, "--out", reports, "--jobs", "2", "--timeout", "2")) == (0, 20)
    assert (reports / "gradebook.csv").read_text() == before
    # The student fixes square_loss: only that submission is graded again.
    shutil.copy(SOLUTIONS / "losses.py", submissions / "mut_square_loss" / "losses.py")
    stdout = run_grade_all(grader, submissions, "--out", reports, "--jobs", "2", "--timeout", "2")
    assert graded_reused(stdout) == (1, 19) and "grading 1 submission(s) (1 changed)" in stdout
    row = read_gradebook(reports / "gradebook.csv")["mut_square_loss"]
    assert float(row["total"]) == FULL


# --------------------------------------------------------------------------- Gradescope export

METADATA = """\
submission_1001:
  :submitters:
  - :name: Ada Lovelace
    :sid: '1001'
    :email: ada@example.edu
  - :name: Grace Hopper
    :sid: '1002'
    :email: grace@example.edu
  :created_at: 2026-11-20 10:00:00.000000000 -08:00
  :score: !ruby/object:BigDecimal 18:0.0
  :history: []
submission_2001:
  submitters:
  - name: Alan Turing
    sid: '2001'
    email: alan@example.edu
"""


def test_gradescope_export_puts_names_and_emails_in_the_gradebook(tmp_path):
    export = tmp_path / "assignment_42_export"
    export.mkdir()
    (export / "submission_metadata.yml").write_text(METADATA)
    copy_with(export / "submission_1001")
    (export / "submission_2001").mkdir()  # nothing gradable: fast, and still a row
    (export / "submission_2001" / "answers.txt").write_text("42\n")
    reports, grader = tmp_path / "reports", snapshot_grader(tmp_path)
    assert graded_reused(run_grade_all(grader, export, "--out", reports, "--jobs", "1")) == (2, 0)
    book = read_gradebook(reports / "gradebook.csv")
    assert set(book) == {"1001", "1002", "2001"}  # the sid is the student id; a group gives a row each
    assert (book["1001"]["name"], book["1001"]["email"]) == ("Ada Lovelace", "ada@example.edu")
    assert (book["1002"]["name"], book["1002"]["email"]) == ("Grace Hopper", "grace@example.edu")
    assert (book["2001"]["name"], book["2001"]["email"]) == ("Alan Turing", "alan@example.edu")
    assert [float(book[s]["total"]) for s in ("1001", "1002", "2001")] == [FULL, FULL, 0]
    assert [book[s]["status"] for s in ("1001", "1002", "2001")] == ["graded", "graded", "empty"]
    assert book["1001"]["submission"] == "submission_1001"
    assert "graded submissions</th><td>1<" in (reports / "summary.html").read_text()  # a group counts once

    archive = tmp_path / "export.zip"  # the same export as Gradescope's download: a .zip of the folder
    with zipfile.ZipFile(archive, "w") as zf:
        for file in sorted(export.rglob("*")):
            zf.write(file, file.relative_to(tmp_path).as_posix())
    assert graded_reused(run_grade_all(grader, archive, "--out", reports, "--jobs", "1")) == (0, 3)
    stdout = run_grade_all(grader, archive, "--out", reports, "--jobs", "1", "--force")
    assert graded_reused(stdout) == (2, 0) and "(2 forced)" in stdout
    assert read_gradebook(reports / "gradebook.csv")["1002"]["email"] == "grace@example.edu"


# --------------------------------------------------------------------------- units, in process


def test_metadata_reader_takes_symbol_and_plain_keys(tmp_path):
    from autograder.batch.discover import read_metadata

    path = tmp_path / "submission_metadata.yml"
    path.write_text(METADATA)
    data = read_metadata(path)
    assert data["submission_1001"][1] == {"name": "Grace Hopper", "email": "grace@example.edu", "sid": "1002"}
    assert data["submission_2001"] == [{"name": "Alan Turing", "email": "alan@example.edu", "sid": "2001"}]


def test_discovery_ids_are_safe_and_unique(tmp_path):
    from autograder.batch.discover import discover

    (tmp_path / "alice").mkdir()
    (tmp_path / "alice.zip").write_bytes(b"")
    (tmp_path / "bob.ipynb").write_text("{}")
    (tmp_path / ".hidden").mkdir()
    (tmp_path / "notes.txt").write_text("")
    (tmp_path / "reports").mkdir()
    entries, notes = discover(tmp_path, exclude=[tmp_path / "reports"])
    assert [e.student_id for e in entries] == ["alice", "alice-2", "bob"]
    assert any("notes.txt" in n for n in notes)


def test_a_grading_exception_gives_an_error_row_and_the_batch_goes_on(tmp_path, monkeypatch):
    from autograder.batch import cache, run as batch
    from autograder.check import load_checks

    class FailingPool:  # what the workers report when grade() raises
        def __init__(self, size, options):
            pass

        def run(self, tasks, budget):
            for task in tasks:
                if task["path"].endswith("bad"):
                    yield {"id": task["id"], "error": "RuntimeError: the grader broke"}
                else:
                    yield {"id": task["id"], "report": cache.report_to_dict(batch.placeholder_report(
                        load_checks(COURSE), "good", "folder", "passed", ""))}

        def close(self):
            pass

    monkeypatch.setattr(batch, "_Pool", FailingPool)
    submissions = tmp_path / "subs"
    (submissions / "bad").mkdir(parents=True)
    (submissions / "good").mkdir()
    reports = tmp_path / "reports"
    rows = batch.grade_all(submissions, reports, batch.Options(jobs=1))
    book = read_gradebook(reports / "gradebook.csv")
    assert book["bad"]["status"] == "error" and float(book["bad"]["total"]) == 0
    assert "the grader broke" in book["bad"]["note"]
    assert book["good"]["status"] == "graded"
    assert "the grader broke" in (reports / "students" / "bad" / "feedback.md").read_text()
    assert not (reports / ".cache" / "bad.json").exists()  # an error is retried next time
    assert len(rows) == 2


def test_editing_the_grader_changes_its_version(tmp_path):
    from autograder.batch.cache import grader_version

    package = snapshot_grader(tmp_path) / "autograder"
    before = grader_version(package)
    assert grader_version(package) == before
    (package / "report" / "unused.txt").write_text("not source")
    assert grader_version(package) == before
    with open(package / "course" / "checks" / "losses.py", "a") as file:
        file.write("\n# a comment is an edit too\n")
    assert grader_version(package) != before


def test_a_submission_over_its_time_budget_is_stopped_and_the_next_one_is_graded(tmp_path):
    import dataclasses

    from autograder.batch.pool import _Pool
    from autograder.isolate.sandbox import Limits

    copy_with(tmp_path / "hang", "losses", "    exp = np.exp(shifted)\n", "    while True:\n        pass\n")
    (tmp_path / "empty").mkdir()
    tasks = [{"id": name, "path": str(tmp_path / name), "options": {"include_hidden": False}}
             for name in ("hang", "empty")]
    pool = _Pool(1, {"limits": dataclasses.asdict(Limits(timeout_s=5.0)), "include_hidden": False, "course": ""})
    try:
        payloads = {p["id"]: p for p in pool.run(tasks, budget_s=1.0)}
    finally:
        pool.close()
    assert "took longer than 1 s" in payloads["hang"]["error"]
    assert payloads["empty"]["report"]["kind"] == "empty"  # graded by the worker that replaced it
    assert not pool.workers[0].process.is_alive()


def test_an_unreadable_metadata_file_still_gives_every_submission_a_row(tmp_path):
    from autograder.batch.discover import discover

    (tmp_path / "submission_metadata.yml").write_text("submission_1: [unclosed\n")
    (tmp_path / "submission_1").mkdir()
    entries, notes = discover(tmp_path)
    assert [e.student_id for e in entries] == ["submission_1"]
    assert any("could not read submission_metadata.yml" in n for n in notes)
