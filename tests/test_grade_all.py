"""`grade-all`: a generated class of ~24 submissions graded in parallel into a gradebook and reports.

One class (module-scoped fixture) is graded once through the CLI with 2 workers and a 2 s limit per
call, with a settings file (deadline, late policy, an extension) and overrides beside it; the tests
then read what it wrote. Re-runs check the cache; a fake Gradescope export checks that names,
emails, SIDs and upload times reach the gradebook and that a reused SID is an error row. In-process
runs with a fake worker pool check Ctrl-C, crashes, removed students and wrong inputs quickly.
"""

from __future__ import annotations

import csv
import datetime as dt
import itertools
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path
from urllib.parse import unquote

import jsonschema
import nbformat
import pytest
from conftest import ASSIGNMENT, ROOT, SOLUTIONS

from autograder.course import COURSE
from autograder.report.gradebook import read_gradebook
from autograder.report.gradescope import schema

FULL = COURSE.max_score + COURSE.bonus_score
EXAMPLES = ROOT / "examples" / "submissions"
# A hang that waits: the deadlines are wall-clock, so it is stopped as a spinning one is (that one is
# test_sandbox's), and it leaves the cores to the rest of the suite.
SLEEPING_HANG = "    import time\n    while True:\n        time.sleep(1)\n"
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
CORRECT = ["correct_ann", "correct_ben", "nb_cara", "zip_dan", "script_eve", "zoë müller", "alice_own"]
UNICODE_ID = "zoë müller"                    # kept as it is; its folder is made file-safe
DEADLINE = dt.datetime.now(dt.timezone.utc).replace(microsecond=0) + dt.timedelta(days=3)
LATE_STUDENT, LATE_DAYS = "mut_minibatch", 1.5      # 2 started days at 10% a day: 20% off
EXTENDED_STUDENT = "correct_ben"                     # as late, with a 2-day extension: on time
ESCAPE = "\x1b[2J\x1b]0;pwned\x07"                 # clears the screen and sets the window title
OVERRIDES = [  # student_id, function, points, comment, who
    ("syntax_lee", "rnn.rnn_forward", "14", "regrade: the colon typo was in a comment cell", "TA Kim"),
    ("docs_gus", "total", "5", "notes.txt holds the derivations; 5 points by hand", "prof"),
]


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
    copy_with(root / "hang_hal", "losses", "    exp = np.exp(shifted)\n", SLEEPING_HANG)
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
    copy_with(root / UNICODE_ID)
    copy_with(root / "alice_own", src=EXAMPLES / "alice_correct")  # correct, written independently
    with zipfile.ZipFile(root / "pdf_only.zip", "w") as zf:
        zf.writestr("hw/report.pdf", b"%PDF-1.4 not code")
    with zipfile.ZipFile(root / "ansi_ned.zip", "w") as zf:  # a member name that rewrites the terminal
        zf.writestr(f"hw/{ESCAPE}[bold red]110 of 110 FAKE.txt", b"")
    for student in (LATE_STUDENT, EXTENDED_STUDENT):
        late = (DEADLINE + dt.timedelta(days=LATE_DAYS)).timestamp()
        for file in (root / student).iterdir():
            os.utime(file, (late, late))
    (root / "grading.toml").write_text(textwrap.dedent(f"""
        [deadline]
        due = {DEADLINE.isoformat()}
        [late]
        grace_minutes = 10
        penalty = 0.10
        per = "started day"
        cap = 0.5
        [extensions]
        "{EXTENDED_STUDENT}" = 2
    """))
    with open(root / "overrides.csv", "w", newline="") as file:
        csv.writer(file).writerows([("student_id", "function", "points", "comment", "who"), *OVERRIDES])
    return root


def snapshot_grader(dest: Path) -> Path:
    """A private copy of the autograder package to run: the cache is keyed by the grader's source,
    so edits others make to the working tree meanwhile must not count as a grader change."""
    shutil.copytree(ROOT / "autograder", dest / "autograder", ignore=shutil.ignore_patterns("__pycache__"))
    return dest


def grade_all_process(grader: Path, *args: str | Path, **env: str) -> subprocess.CompletedProcess:
    """grade-all in a process of its own, with the snapshot's package and a cache key of its own."""
    env = dict(os.environ, COLUMNS="200", PYTHONPATH=str(grader), NLM_AUTOGRADER_KEY_FILE=str(grader / "cache.key"),
               **env)
    return subprocess.run([sys.executable, "-m", "autograder", "grade-all", *map(str, args)],
                          cwd=grader, env=env, capture_output=True, text=True, timeout=300, check=False)


def run_grade_all(grader: Path, *args: str | Path, **env: str) -> str:
    proc = grade_all_process(grader, *args, **env)
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
    scratch = base / "tmp"  # the first run's TMPDIR: see test_grade_all_leaves_no_fork_server_folder_behind
    scratch.mkdir()
    stdout = run_grade_all(grader, submissions, "--out", reports, "--jobs", "2", "--timeout", "2", TMPDIR=str(scratch))
    return grader, submissions, reports, stdout


def scores(row: dict[str, str]) -> dict[str, float]:
    return {f: float(row[f]) for f in POINTS}


def test_every_student_has_a_row_with_the_expected_status(graded_class):
    _, submissions, reports, stdout = graded_class
    book = read_gradebook(reports / "gradebook.csv")
    ignored = {"README.txt", "grading.toml", "overrides.csv"}
    students = {p.stem for p in submissions.iterdir() if p.name not in ignored}
    assert set(book) == students and len(students) == 24
    assert graded_reused(stdout) == (24, 0)
    expected = {"empty_fay": "empty", "docs_gus": "empty", "broken_kim": "rejected", "pdf_only": "empty",
                "ansi_ned": "empty"}
    assert {s: r["status"] for s, r in book.items()} == {s: expected.get(s, "graded") for s in students}
    assert all(float(r["max_total"]) == FULL for r in book.values())
    assert "not a readable zip" in book["broken_kim"]["note"]
    assert "report.pdf" in book["pdf_only"]["note"]  # a submission of only a PDF still has its row


def test_points_are_out_of_100_with_the_bonus_apart(graded_class):
    _, _, reports, _ = graded_class
    row = read_gradebook(reports / "gradebook.csv")["correct_ann"]
    bonus = sum(f.points for f in COURSE.functions if f.bonus)
    assert (float(row["points"]), float(row["max_points"])) == (COURSE.max_score, COURSE.max_score)
    assert (float(row["bonus"]), float(row["max_bonus"])) == (bonus, bonus)
    assert float(row["total"]) == FULL


def test_ids_keep_their_unicode_and_folders_are_file_safe(graded_class):
    _, _, reports, _ = graded_class
    row = read_gradebook(reports / "gradebook.csv")[UNICODE_ID]
    assert row["folder"] == "zoë_müller" and float(row["total"]) == FULL
    assert (reports / "students" / "zoë_müller" / "feedback.md").read_text().startswith("# Autograder feedback: zoë müller")
    with open(reports / "students" / "index.csv", newline="") as file:
        index = {r["student_id"]: r["folder"] for r in csv.DictReader(file)}
    assert index[UNICODE_ID] == "zoë_müller" and index["correct_ann"] == "correct_ann"


def test_late_work_loses_its_penalty_and_says_so_everywhere(graded_class):
    _, _, reports, stdout = graded_class
    book = read_gradebook(reports / "gradebook.csv")
    late = book[LATE_STUDENT]
    raw = sum(float(late[f]) for f in POINTS)  # per-function points are as graded
    assert late["time_source"] == "file time" and float(late["days_late"]) == pytest.approx(LATE_DAYS, abs=0.01)
    assert float(late["penalty_percent"]) == 20 and float(late["total"]) == pytest.approx(0.8 * raw)
    assert float(late["penalty_points"]) == pytest.approx(0.2 * raw)
    on_time = book[EXTENDED_STUDENT]  # just as late, with its extension
    assert float(on_time["days_late"]) == 0 and float(on_time["total"]) == FULL
    assert float(book["correct_ann"]["days_late"]) == 0
    feedback = (reports / "students" / LATE_STUDENT / "feedback.md").read_text()
    assert "1.50 days late, penalty 20%" in feedback and "late penalty -" in feedback
    assert "extended by 2 day(s)" in (reports / "students" / EXTENDED_STUDENT / "feedback.md").read_text()
    html = (reports / "summary.html").read_text()
    assert re.search(rf'data-student="{LATE_STUDENT}".*?1\.50 days late, penalty 20%', html)
    assert re.search(rf"{LATE_STUDENT} .*late.*1\.50 days late", stdout)


def test_overrides_apply_with_their_comment_in_every_report(graded_class):
    _, _, reports, stdout = graded_class
    book = read_gradebook(reports / "gradebook.csv")
    lee, gus = book["syntax_lee"], book["docs_gus"]
    assert float(lee["rnn.rnn_forward"]) == POINTS["rnn.rnn_forward"]
    assert float(lee["total"]) == FULL - sum(p for f, p in POINTS.items() if f.startswith("rnn.") and f != "rnn.rnn_forward")
    assert "the colon typo was in a comment cell (by TA Kim)" in lee["overrides"]
    assert float(gus["total"]) == 5 and "5 points by hand" in gus["overrides"]
    for student, comment in (("syntax_lee", "the colon typo"), ("docs_gus", "5 points by hand")):
        for name in ("feedback.md", "feedback_student.md", "feedback.html"):
            assert comment in (reports / "students" / student / name).read_text(), (student, name)
    html = (reports / "summary.html").read_text()
    assert re.search(r'data-student="syntax_lee".*?overridden.*?the colon typo', html)
    assert "the colon typo" in stdout


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
    for student in ("stubs_jon", "empty_fay", "broken_kim", "pdf_only"):
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
            "syntax_lee": {f for f in POINTS if f.startswith("rnn.") and f != "rnn.rnn_forward"}}  # overridden
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
        row = read_gradebook(reports / "gradebook.csv")[student]
        assert results["score"] == float(row["total"]) + float(row["penalty_points"])
    good = (reports / "students" / "correct_ann" / "feedback.md").read_text()
    assert "| `losses.softmax` | 5 / 5 | passed" in good and "Every check passed" in good
    bad = (reports / "students" / "mut_softmax" / "feedback.md").read_text()
    failed_section = bad.split("## Checks that did not pass", 1)[1]
    assert "### ✗ losses.softmax:" in failed_section
    assert "### ✗ losses.log_softmax" not in failed_section
    stubs = (reports / "students" / "stubs_jon" / "feedback.md").read_text()
    assert "not attempted" in stubs and f"**Total: 0 / {FULL:g}**" in stubs


def test_feedback_for_students_holds_visible_checks_only(graded_class):
    from autograder.check import load_checks

    _, _, reports, _ = graded_class
    hidden = [c.name for c in load_checks(COURSE) if not c.visible]
    for student in ("mut_rnn_forward", "stubs_jon", "hang_hal"):
        full = (reports / "students" / student / "feedback.md").read_text()
        mine = (reports / "students" / student / "feedback_student.md").read_text()
        assert any(name in full for name in hidden), student  # the instructor's copy has them
        assert not any(name in mine for name in hidden) and "hidden check" not in mine, student
        assert "Hidden checks (" in mine and "are graded too" in mine


def test_an_empty_submission_gets_a_few_lines_saying_what_was_found(graded_class):
    _, _, reports, _ = graded_class
    text = (reports / "students" / "pdf_only" / "feedback.md").read_text()
    assert len(text.splitlines()) < 15
    assert "report.pdf" in text and "`losses.py`" in text and "notebook" in text


def test_class_summary_html_and_terminal(graded_class):
    _, _, reports, stdout = graded_class
    html = (reports / "summary.html").read_text()
    assert html.count('<svg class="histogram"') == 1  # the histogram of totals, drawn inline
    assert "http://" not in html and "https://" not in html  # self-contained
    # The attention list comes first, then the students, then the item analysis.
    assert html.index('id="attention"') < html.index('id="students"') < html.index('id="items"')
    attention = html[html.index('id="attention"'):html.index('id="students"')]
    for student, tag in (("broken_kim", "rejected"), ("empty_fay", "empty"), ("hang_hal", "timed out"),
                         ("stubs_jon", "zero"), (LATE_STUDENT, "late"), ("syntax_lee", "overridden"),
                         ("correct_ann", "similar")):
        assert re.search(rf'data-student="{student}".*?class="tag [^"]*">{tag}<', attention), student
    assert 'data-student="alice_own"' not in attention  # correct, on time, her own code
    # Every student links to an HTML feedback page that exists.
    links = set(re.findall(r'<a class="feedback" href="([^"]+)"', html))
    assert len(links) == 24 and all((reports / unquote(link)).is_file() for link in links)
    # Item analysis: one row per function, its checks behind a <details>, most failed first.
    items = html[html.index('id="items"'):]
    assert items.count("<details>") == len([f for f in COURSE.functions if f.points])
    assert "Class summary" in stdout and "Students (24)" in stdout
    assert stdout.rstrip().splitlines()[-1].startswith("└")  # the output ends with the attention table
    assert stdout.rindex("Needs attention") > stdout.rindex("Students (24)")


def test_similar_submissions_are_listed_side_by_side(graded_class):
    _, _, reports, stdout = graded_class
    book = read_gradebook(reports / "gradebook.csv")
    assert "correct_ben" in book["correct_ann"]["similar_to"]  # both copies of the solutions
    assert book["alice_own"]["similar_to"] == "" and book["stubs_jon"]["similar_to"] == ""
    page = (reports / "similarity.html").read_text()
    assert re.search(r"<h2>correct_ann and correct_ben: 100%</h2>", page)
    assert '<div class="sides"><pre>' in page and "def softmax(" in page
    assert "similarity: " in stdout and "pair(s) at least 70% alike" in stdout


def test_canvas_csv_is_in_canvas_import_layout(graded_class):
    _, _, reports, _ = graded_class
    with open(reports / "canvas.csv", newline="", encoding="utf-8") as file:
        lines = list(csv.reader(file))
    assert lines[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Autograder"]
    assert lines[1][0].strip() == "Points Possible" and float(lines[1][5]) == COURSE.max_score
    rows = {line[2]: line for line in lines[2:]}
    assert float(rows["correct_ann"][5]) == FULL and float(rows[LATE_STUDENT][5]) < FULL
    assert rows["ansi_ned"][0] == rows["ansi_ned"][2] == "ansi_ned"


def test_student_controlled_text_never_reaches_the_terminal_or_reports_raw(graded_class):
    _, _, reports, stdout = graded_class
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]", stdout.replace("\n", ""))
    flat = re.sub(r"[\s│]+", " ", stdout)  # a table cell may wrap the name over lines
    assert "[bold red]110 of 110 FAKE.txt" in flat  # shown as text, not obeyed as markup
    for path in (reports / "gradebook.csv", reports / "summary.html", reports / "students" / "ansi_ned" / "feedback.md"):
        text = path.read_text()
        assert "\x1b" not in text and "\x07" not in text and "110 of 110 FAKE" in text, path


def test_summary_in_headless_chromium(graded_class, tmp_path):
    """The page as an instructor's browser shows it: the script ran (the table is sortable), the
    attention list is there with its links; a screenshot is taken (`make test-browser` installs
    Debian's chromium; without it this is skipped)."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("no chromium here: `make test-browser` installs Debian's chromium and runs this test")
    _, _, reports, _ = graded_class
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'profile'}"]
    page = (reports / "summary.html").as_uri()
    dom = subprocess.run([browser, *flags, "--dump-dom", page], capture_output=True, text=True, timeout=120).stdout
    assert 'data-sortable="ready"' in dom  # the inline script ran without an error
    attention = dom[dom.index('id="attention-list"'):dom.index('id="students"')]
    assert attention.count('class="feedback" href="students/') >= 8 and "broken_kim" in attention
    shot = tmp_path / "summary.png"
    subprocess.run([browser, *flags, f"--screenshot={shot}", "--window-size=1280,2000", page],
                   capture_output=True, timeout=120)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000


def test_rerun_grades_only_what_changed(graded_class):
    grader, submissions, reports, _ = graded_class
    before = (reports / "gradebook.csv").read_text()
    assert graded_reused(run_grade_all(grader, submissions, "--out", reports, "--jobs", "2", "--timeout", "2")) == (0, 24)
    assert (reports / "gradebook.csv").read_text() == before  # overrides and the late penalty kept
    # The student fixes square_loss: only that submission is graded again.
    shutil.copy(SOLUTIONS / "losses.py", submissions / "mut_square_loss" / "losses.py")
    stdout = run_grade_all(grader, submissions, "--out", reports, "--jobs", "2", "--timeout", "2")
    assert graded_reused(stdout) == (1, 23) and "grading 1 submission(s) (1 changed)" in stdout
    row = read_gradebook(reports / "gradebook.csv")["mut_square_loss"]
    assert float(row["total"]) == FULL
    assert float(read_gradebook(reports / "gradebook.csv")["docs_gus"]["total"]) == 5  # still overridden


def test_a_cached_rerun_starts_no_worker_and_imports_no_torch(graded_class):
    grader, submissions, reports, _ = graded_class
    run_grade_all(grader, submissions, "--out", reports, "--jobs", "2", "--timeout", "2")  # whatever changed before
    env = dict(os.environ, COLUMNS="200", PYTHONPATH=str(grader), NLM_AUTOGRADER_KEY_FILE=str(grader / "cache.key"))
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "autograder", "grade-all", str(submissions),
                           "--out", str(reports), "--jobs", "2", "--timeout", "2"],
                          cwd=grader, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and graded_reused(proc.stdout) == (0, 24)
    imported = {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines() if line.startswith("import time")}
    # Nor numpy (similarity counts with int bitsets), nor the loader (the starter code's fingerprints
    # are cached), nor markdown-it (no student's feedback changed).
    assert "autograder.batch.run" in imported and not imported & {"torch", "numpy", "autograder.load", "markdown_it"}
    assert "grading " not in proc.stdout


def test_the_starter_codes_fingerprints_are_read_once_and_again_when_it_changes_or_is_tampered_with(
        tmp_path, fake_pool, monkeypatch):
    import autograder.batch.run as batch
    from autograder.batch.similarity import submission_sources

    read = []
    monkeypatch.setattr(batch, "submission_sources", lambda path, course: read.append(path) or submission_sources(path, course))
    starter = shutil.copytree(ASSIGNMENT, tmp_path / "starter")
    submissions, reports = make_folders(tmp_path / "subs", "a1", "a2"), tmp_path / "reports"

    def run() -> dict:
        fake_pool.grade_all(submissions, reports, fake_pool.Options(jobs=1, starter=starter))
        return json.loads((reports / ".cache" / ".starter.json").read_text())["prints"]

    first = run()
    assert run() == first and len(read) == 1 and first  # the second run read the cache
    entry = reports / ".cache" / ".starter.json"
    entry.write_text(entry.read_text().replace('"prints": {', '"prints": {"forged": [1], '))
    assert run() == first and len(read) == 2  # a forged entry fails its MAC: read again
    (starter / "losses.py").write_text((starter / "losses.py").read_text() + "\n\ndef extra():\n    return 1\n")
    run()
    assert len(read) == 3  # the starter changed


def test_a_worker_loads_each_submission_once(monkeypatch, sandbox, checks):
    import autograder.grade
    import autograder.load
    from autograder.batch.pool import grade_task

    loads = []

    def counted(load):
        def load_submission(*args, **kwargs):
            loads.append(args[0])
            return load(*args, **kwargs)
        return load_submission

    monkeypatch.setattr(autograder.grade, "load_submission", counted(autograder.grade.load_submission))
    monkeypatch.setattr(autograder.load, "load_submission", counted(autograder.load.load_submission))
    task = {"id": "alice", "path": str(EXAMPLES / "alice_correct"), "options": {"include_hidden": False}}
    payload = grade_task(task, COURSE, sandbox, [c for c in checks if c.visible])
    assert "error" not in payload and len(loads) == 1
    assert "def softmax" in payload["sources"]["losses.softmax"] and payload["prints"]["losses.softmax"]



def _dirty_kb(pid: int) -> dict[str, int]:
    with open(f"/proc/{pid}/smaps_rollup") as rollup:
        return {line.split()[0][:-1]: int(line.split()[1]) for line in rollup if "_Dirty:" in line}


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc/<pid>/smaps_rollup is Linux's")
def test_two_workers_share_one_copy_of_what_importing_torch_allocates():
    import dataclasses

    from autograder.batch.pool import _Pool
    from autograder.isolate.run import Limits

    pool = _Pool(2, {"limits": dataclasses.asdict(Limits()), "include_hidden": False, "course": None})
    try:
        for worker in pool._started():
            dirty = _dirty_kb(worker.process.pid)
            # Spawned, each worker would allocate its own ~140 MB (Shared_Dirty about 0).
            assert dirty["Shared_Dirty"] > 64 * 1024, dirty
    finally:
        pool.close()


def test_grade_all_leaves_no_fork_server_folder_behind(graded_class):
    """The CLI ends by os._exit, which skips multiprocessing's own removal of that folder."""
    _, submissions, _, stdout = graded_class
    scratch = submissions.parent / "tmp"
    assert re.search(r"grading 24 submission\(s\) .* with 2 worker\(s\)", stdout), stdout[-2000:]  # a fork server
    assert scratch.is_dir() and not list(scratch.glob("pymp-*"))

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
  :created_at: 2026-11-21 10:00:00.000000000 -08:00
  :score: !ruby/object:BigDecimal 18:0.0
  :history: []
submission_2001:
  submitters:
  - name: "\\e[2J[bold red]Alan[/bold red] <script>alert(1)</script>"
    sid: 002001
    email: alan@example.edu
  created_at: 2026-11-18 09:00:00 +01:00
submission_3001:
  :submitters:
  - :name: Eve One
    :sid: '3000'
    :email: eve1@example.edu
submission_3002:
  :submitters:
  - :name: Eve Two
    :sid: '3000'
    :email: eve2@example.edu
"""
EXPORT_SETTINGS = """\
[deadline]
due = "2026-11-20 23:59"
timezone = "America/Los_Angeles"
[late]
penalty = 0.25
per = "day"
[canvas]
assignment = "HW3 neural LMs (4242)"
login_id = "email-user"
"""


def test_gradescope_export_names_times_groups_and_a_reused_sid(tmp_path):
    export = tmp_path / "assignment_42_export"
    export.mkdir()
    (export / "submission_metadata.yml").write_text(METADATA)
    copy_with(export / "submission_1001")
    for folder in ("submission_2001", "submission_3001", "submission_3002"):
        (export / folder).mkdir()  # nothing gradable: fast, and still a row
        (export / folder / "answers.txt").write_text("42\n")
    (tmp_path / "grading.toml").write_text(EXPORT_SETTINGS)  # beside the export's .zip (below)
    (export / "grading.toml").write_text(EXPORT_SETTINGS)    # inside the export's folder
    reports, grader = tmp_path / "reports", snapshot_grader(tmp_path)
    stdout = run_grade_all(grader, export, "--out", reports, "--jobs", "1", "--bom")
    assert graded_reused(stdout) == (2, 0)  # a group's submission is graded once; the reused SID not at all
    assert (reports / "gradebook.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    with open(reports / "gradebook.csv", newline="", encoding="utf-8-sig") as file:
        lines = list(csv.DictReader(file))
    book = {r["student_id"]: r for r in lines}
    assert set(book) == {"1001", "1002", "002001", "3000"}  # the SID is the id, as text: 002001 keeps its zeros
    assert (book["1001"]["name"], book["1001"]["email"]) == ("Ada Lovelace", "ada@example.edu")
    assert (book["1002"]["name"], book["1002"]["email"]) == ("Grace Hopper", "grace@example.edu")
    assert [book[s]["status"] for s in ("1001", "1002", "002001")] == ["graded", "graded", "empty"]
    assert book["1001"]["submission"] == "submission_1001"
    # The upload time comes from the export: 10:00 -08:00 is 10 h 1 min after 23:59 the day before.
    assert book["1001"]["time_source"] == "export" and book["1001"]["submitted_at"].startswith("2026-11-21 10:00:00-08:00")
    days = (10 * 60 + 1) / (24 * 60)
    assert float(book["1001"]["days_late"]) == pytest.approx(days, abs=0.01)
    assert float(book["1001"]["total"]) == pytest.approx(FULL * (1 - 0.25 * days), abs=0.01)
    assert float(book["002001"]["days_late"]) == 0  # 09:00 +01:00 on the 18th: on time
    # A SID used by two submissions: two error rows, nothing merged, nothing graded.
    reused = [r for r in lines if r["sid"] == "3000"]
    assert [r["status"] for r in reused] == ["error", "error"] and {r["name"] for r in reused} == {"Eve One", "Eve Two"}
    assert all("claimed by 2 submissions" in r["note"] for r in reused)
    # A name with escape sequences, markup and HTML is shown as text everywhere.
    name = book["002001"]["name"]
    assert "\x1b" not in name and name == "[bold red]Alan[/bold red] <script>alert(1)</script>"
    html = (reports / "summary.html").read_text()
    assert "<script>alert" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "[bold red]Alan[/bold red]" in stdout and "\x1b" not in stdout
    feedback = (reports / "students" / "002001" / "feedback.md").read_text()
    assert "\\[bold red\\]Alan" in feedback and "&lt;script&gt;" in feedback
    assert "graded submissions</th><td>1<" in html  # a group counts once
    with open(reports / "canvas.csv", newline="", encoding="utf-8-sig") as file:
        canvas = list(csv.reader(file))
    assert canvas[0][5] == "HW3 neural LMs (4242)"
    by_sid = {line[2]: line for line in canvas[2:]}
    assert by_sid["1001"][:5] == ["Ada Lovelace", "", "1001", "ada", ""]
    assert "3000" not in [line[2] for line in canvas]  # error rows are left out of the import

    archive = tmp_path / "export.zip"  # the same export as Gradescope's download: a .zip of the folder
    with zipfile.ZipFile(archive, "w") as zf:
        for file in sorted(export.rglob("*")):
            zf.write(file, file.relative_to(tmp_path).as_posix())
    assert graded_reused(run_grade_all(grader, archive, "--out", reports, "--jobs", "1")) == (0, 3)
    assert read_gradebook(reports / "gradebook.csv")["1002"]["email"] == "grace@example.edu"


# --------------------------------------------------------------------------- units, in process


def test_metadata_reader_takes_symbol_and_plain_keys(tmp_path):
    from autograder.batch.discover import read_metadata

    path = tmp_path / "submission_metadata.yml"
    path.write_text(METADATA)
    data = read_metadata(path)
    assert data["submission_1001"].people[1] == {"name": "Grace Hopper", "email": "grace@example.edu", "sid": "1002"}
    assert data["submission_1001"].created_at == "2026-11-21 10:00:00.000000000 -08:00"
    assert data["submission_2001"].people[0]["sid"] == "002001"  # text, not the number 2001


def test_discovery_keeps_ids_and_flags_one_id_with_two_submissions(tmp_path):
    from autograder.batch.discover import discover

    (tmp_path / "alice").mkdir()
    (tmp_path / "alice.zip").write_bytes(b"")
    (tmp_path / "bob.ipynb").write_text("{}")
    (tmp_path / "Zoë Ö").mkdir()
    (tmp_path / ".hidden").mkdir()
    (tmp_path / "notes.txt").write_text("")
    (tmp_path / "grading.toml").write_text("")
    (tmp_path / "reports").mkdir()
    entries, notes = discover(tmp_path, exclude=[tmp_path / "reports"])
    assert [(e.student_id, e.folder) for e in entries] == [
        ("Zoë Ö", "Zoë_Ö"), ("alice", "alice"), ("alice", "alice-2"), ("bob", "bob")]
    assert [bool(e.error) for e in entries] == [False, True, True, False]
    assert "claimed by 2 submissions (alice, alice.zip)" in entries[1].error
    assert any("notes.txt" in n for n in notes) and not any("grading.toml" in n for n in notes)


@pytest.fixture(autouse=True)
def private_cache_key(tmp_path, monkeypatch):
    """In-process runs sign their cache with a key of their own, never the instructor's."""
    from autograder.batch.cache import KEY_ENV

    monkeypatch.setenv(KEY_ENV, str(tmp_path / "config" / "cache.key"))


def full_report(submission: str):
    """A report with every check passed (what a worker sends for a correct submission)."""
    from autograder.check import load_checks
    from autograder.grade import GradeReport
    from autograder.score import CheckResult

    return GradeReport(submission, "folder", [], [CheckResult(c.name, c.function.qualname, c.points, c.points,
                                                              "passed", "", c.visible) for c in load_checks(COURSE)])


class FakePool:
    """Stands in for the worker pool: a submission folder named bad* fails to grade, one named
    stop* is where Ctrl-C is pressed, crash* where the grader itself crashes; the rest pass."""

    graded: list[str] = []

    def __init__(self, size, options):
        self.size = size

    def run(self, tasks, budget, on_grading=lambda: None):
        from autograder.batch import cache

        on_grading()

        for task in tasks:
            name = Path(task["path"]).name
            if name.startswith("stop"):
                raise KeyboardInterrupt
            if name.startswith("crash"):
                raise RuntimeError("the grader itself crashed")
            FakePool.graded.append(name)
            if name.startswith("bad"):
                yield {"id": task["id"], "error": "RuntimeError: the grader broke"}
            else:
                yield {"id": task["id"], "report": cache.report_to_dict(full_report(name)),
                       "sources": {"losses.softmax": f"def softmax(z):\n    return z  # {name}\n"}}

    def finish(self):
        pass

    def close(self, graceful=True):
        pass


@pytest.fixture
def fake_pool(monkeypatch):
    from autograder.batch import launch
    from autograder.batch import run as batch

    monkeypatch.setattr(launch, "_Pool", FakePool)
    FakePool.graded = []
    return batch


def make_folders(root: Path, *names: str) -> Path:
    for name in names:
        (root / name).mkdir(parents=True)
        (root / name / "losses.py").write_text(f"# {name}\n")
    return root


def test_a_grading_exception_gives_an_error_row_and_the_batch_goes_on(tmp_path, fake_pool):
    submissions, reports = make_folders(tmp_path / "subs", "bad", "good"), tmp_path / "reports"
    rows = fake_pool.grade_all(submissions, reports, fake_pool.Options(jobs=1))
    book = read_gradebook(reports / "gradebook.csv")
    assert book["bad"]["status"] == "error" and float(book["bad"]["total"]) == 0
    assert "the grader broke" in book["bad"]["note"]
    assert book["good"]["status"] == "graded" and float(book["good"]["total"]) == FULL
    assert "the grader broke" in (reports / "students" / "bad" / "feedback.md").read_text()
    assert not (reports / ".cache" / "bad.json").exists()  # an error is retried next time
    assert len(rows) == 2


@pytest.mark.parametrize("stopper", ["stop", "crash"])
def test_ctrl_c_or_a_crash_keeps_what_was_graded_and_the_next_run_resumes(tmp_path, fake_pool, stopper):
    submissions, reports = make_folders(tmp_path / "subs", "a1", "a2", f"{stopper}_here", "z1"), tmp_path / "reports"
    error = fake_pool.Interrupted if stopper == "stop" else RuntimeError
    with pytest.raises(error):
        fake_pool.grade_all(submissions, reports, fake_pool.Options(jobs=1))
    assert sorted(p.name for p in (reports / ".cache").glob("*.json")) == ["a1.json", "a2.json"]
    os.rename(submissions / f"{stopper}_here", submissions / "ok_now")  # the next run gets past it
    FakePool.graded = []
    fake_pool.grade_all(submissions, reports, fake_pool.Options(jobs=1))
    assert FakePool.graded == ["ok_now", "z1"]  # a1 and a2 came from the cache


def test_ctrl_c_in_the_terminal_is_one_line_and_exit_code_130(tmp_path, fake_pool, capsys):
    from autograder.cli import build_parser

    submissions = make_folders(tmp_path / "subs", "a1", "stop_here")
    args = build_parser().parse_args(["grade-all", str(submissions), "--out", str(tmp_path / "reports")])
    assert fake_pool.main(args) == 130
    out = capsys.readouterr().out
    assert "interrupted: the 1 submission(s) graded in this run are kept in the cache" in " ".join(out.split())
    assert "Traceback" not in out


def test_force_regrades_every_submission_and_says_so(tmp_path, fake_pool, capsys):
    from autograder.cli import build_parser

    submissions, reports = make_folders(tmp_path / "subs", "a1", "a2"), tmp_path / "reports"
    for extra in ([], [], ["--force"]):
        FakePool.graded = []
        assert fake_pool.main(build_parser().parse_args(["grade-all", str(submissions), "--out", str(reports), *extra])) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert FakePool.graded == ["a1", "a2"] and "(2 forced)" in out and graded_reused(out.rsplit("grading ", 1)[1]) == (2, 0)


def test_removed_students_reports_move_to_removed(tmp_path, fake_pool):
    submissions, reports = make_folders(tmp_path / "subs", "stays", "leaves"), tmp_path / "reports"
    fake_pool.grade_all(submissions, reports, fake_pool.Options(jobs=1))
    shutil.rmtree(submissions / "leaves")
    fake_pool.grade_all(submissions, reports, fake_pool.Options(jobs=1))
    assert sorted(p.name for p in (reports / "students").iterdir()) == ["index.csv", "stays"]
    assert (reports / "removed" / "leaves" / "feedback.md").is_file()
    assert set(read_gradebook(reports / "gradebook.csv")) == {"stays"}


@pytest.mark.parametrize("line, error", [
    ("ghost,losses.softmax,5,regrade,TA", "overrides.csv line 2: unknown student id 'ghost'"),
    ("a1,losses.softmaxx,5,regrade,TA", "overrides.csv line 2: unknown function 'losses.softmaxx'"),
    ("a1,total,500,regrade,TA", "outside 0 to"),
    ("a1,total,5,,TA", "needs a comment"),
])
def test_a_bad_override_is_a_one_line_error_naming_it(tmp_path, fake_pool, capsys, line, error):
    from autograder.cli import build_parser

    submissions = make_folders(tmp_path / "subs", "a1")
    (submissions / "overrides.csv").write_text(f"student_id,function,points,comment,who\n{line}\n")
    args = build_parser().parse_args(["grade-all", str(submissions), "--out", str(tmp_path / "reports")])
    assert fake_pool.main(args) == 2
    out = capsys.readouterr().out
    assert error in " ".join(out.split()) and len(out.strip().splitlines()) <= 2 and FakePool.graded == []


def test_an_extension_for_someone_not_in_the_class_is_an_error(tmp_path, fake_pool, capsys):
    from autograder.cli import build_parser

    submissions = make_folders(tmp_path / "subs", "a1")
    (submissions / "grading.toml").write_text('[extensions]\n"a2" = 1\n')
    args = build_parser().parse_args(["grade-all", str(submissions), "--out", str(tmp_path / "reports")])
    assert fake_pool.main(args) == 2
    assert "grading.toml [extensions]: unknown student 'a2'" in capsys.readouterr().out and FakePool.graded == []


def test_the_student_table_is_for_small_classes_unless_asked_for(tmp_path, fake_pool, monkeypatch, capsys):
    from autograder.cli import build_parser

    monkeypatch.setattr(fake_pool, "TABLE_LIMIT", 1)  # a class of 2 is "large"
    submissions = make_folders(tmp_path / "subs", "a1", "a2")
    for extra in ([], ["--table"]):
        args = build_parser().parse_args(["grade-all", str(submissions), "--out", str(tmp_path / "r"), *extra])
        assert fake_pool.main(args) == 0
        out = capsys.readouterr().out
        assert ("Students (2)" in out) == bool(extra) and "needs attention: nobody" in out.splitlines()[-1]


def test_similarity_finds_a_renamed_copy_and_not_independent_work(tmp_path):
    from autograder.batch.similarity import function_fingerprints, similar_pairs, submission_sources
    from autograder.report.similarity_html import SIDE_BY_SIDE, similarity_html

    copy = shutil.copytree(SOLUTIONS, tmp_path / "copy")
    for file in copy.glob("*.py"):  # renamed variables, comments rewritten, blank lines added
        text = re.sub(r"\b(grad|probs|logits|n)\b", lambda m: m.group(1) + "_x", file.read_text())
        file.write_text(re.sub(r"#.*", "# mine", text).replace("\n\n", "\n\n\n"))
    folders = {"sol": SOLUTIONS, "copy": copy, "alice": EXAMPLES / "alice_correct", "bob": EXAMPLES / "bob_typical_bugs"}
    prints = {k: function_fingerprints(submission_sources(v, COURSE)) for k, v in folders.items()}
    starter = function_fingerprints(submission_sources(ASSIGNMENT, COURSE))
    pairs = similar_pairs(prints, starter, 0.7, 25)
    assert [(p.a, p.b) for p in pairs] == [("copy", "sol")] and pairs[0].score > 0.9
    assert similar_pairs({"stub": starter, "stub2": starter}, starter, 0.0, 0) == []  # the handout is left out
    # Per-function scores only for the pairs shown side by side; the pairs and scores are the same.
    three = {**prints, "copy2": prints["copy"]}
    everything, shown = similar_pairs(three, starter, 0.7, 25), similar_pairs(three, starter, 0.7, 25, detailed=1)
    assert [(p.a, p.b, p.score) for p in everything] == [(p.a, p.b, p.score) for p in shown] and len(shown) == 3
    assert shown[0].functions == everything[0].functions != {} and [p.functions for p in shown[1:]] == [{}, {}]
    many = [type(pairs[0])(f"a{i}", f"b{i}", 0.9, 30, {}) for i in range(SIDE_BY_SIDE + 5)]
    page = similarity_html(many, {}, {}, 0.7, 2 * len(many))
    assert page.count('class="pair"') == SIDE_BY_SIDE and "5 more pairs" in page


def test_a_wrong_path_is_a_one_line_error(tmp_path):
    for verb in ("grade-all", "grade"):
        proc = subprocess.run([sys.executable, "-m", "autograder", verb, str(tmp_path / "nowhere")], cwd=ROOT,
                              capture_output=True, text=True, timeout=120, env=dict(os.environ, COLUMNS="200"))
        assert proc.returncode == 2, proc.stdout + proc.stderr
        assert len(proc.stdout.strip().splitlines()) == 1 and "nowhere" in proc.stdout and not proc.stderr


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

    # The budget stops a sleeping hang as it stops a spinning one; this one leaves the cores to the
    # replacement worker.
    copy_with(tmp_path / "hang", "losses", "    exp = np.exp(shifted)\n", SLEEPING_HANG)
    (tmp_path / "empty").mkdir()
    tasks = [{"id": name, "path": str(tmp_path / name), "options": {"include_hidden": False}}
             for name in ("hang", "empty")]
    pool = _Pool(1, {"limits": dataclasses.asdict(Limits(timeout_s=5.0)), "include_hidden": False, "course": ""})
    try:
        # 4 s: under the 5 s a call may take, so the budget is what stops the hang; room for a
        # fresh worker's first (empty) submission on a busy machine, which 1 s once did not give.
        grading = []  # when the first worker began grading: once, though a second worker began later
        payloads = {p["id"]: p for p in pool.run(tasks, budget_s=4.0, on_grading=lambda: grading.append(1))}
    finally:
        pool.close()
    assert grading == [1]
    assert "took longer than 4 s" in payloads["hang"]["error"]
    assert payloads["empty"].get("report", {}).get("kind") == "empty", payloads["empty"]  # graded by the worker that replaced it
    assert not pool.workers[0].process.is_alive()


def test_an_unreadable_metadata_file_still_gives_every_submission_a_row(tmp_path):
    from autograder.batch.discover import discover

    (tmp_path / "submission_metadata.yml").write_text("submission_1: [unclosed\n")
    (tmp_path / "submission_1").mkdir()
    entries, notes = discover(tmp_path)
    assert [e.student_id for e in entries] == ["submission_1"]
    assert any("could not read submission_metadata.yml" in n for n in notes)


# --------------------------------------------------------------------------- workers started at launch


def test_changed_since_counts_the_submissions_modified_after_the_last_run_and_not_in_the_future(tmp_path):
    import time

    from autograder.batch.discover import changed_since

    root = make_folders(tmp_path / "subs", "old", "edited", "future", "nested")
    (root / "nested" / "deep").mkdir()
    (root / "nested" / "deep" / "rnn.py").write_text("# deep\n")
    (root / "reports").mkdir()
    last_run = time.time_ns() - 10**9
    hour_ago, tomorrow = (last_run - 3600 * 10**9) / 1e9, (last_run + 86400 * 10**9) / 1e9
    for path in sorted(root.rglob("*"), reverse=True):
        os.utime(path, (hour_ago, hour_ago))
    assert changed_since(root, last_run, exclude=[root / "reports"]) == 0
    (root / "edited" / "losses.py").write_text("# edited\n")
    os.utime(root / "future" / "losses.py", (tomorrow, tomorrow))  # a skewed clock: not a change
    (root / "reports" / "gradebook.csv").write_text("")  # the reports folder is not a submission
    os.utime(root / "nested" / "deep" / "rnn.py", None)  # touched, deep inside
    assert changed_since(root, last_run, exclude=[root / "reports"]) == 2
    assert changed_since(root, -1, exclude=[root / "reports"]) == 4  # before a first run: everything


class RecordingPool(FakePool):
    """FakePool, recording when it was made and whether it was stopped unused."""

    events: list[str] = []

    def __init__(self, size, options):
        super().__init__(size, options)
        RecordingPool.events.append(f"pool of {size}")

    def run(self, tasks, budget, on_grading=lambda: None):
        RecordingPool.events.append(f"graded {len(tasks)}")
        yield from super().run(tasks, budget, on_grading)

    def close(self, graceful=True):
        RecordingPool.events.append("closed" if graceful else "stopped")


def test_the_workers_start_at_launch_before_the_cache_is_read_and_only_when_files_changed(tmp_path, monkeypatch):
    from autograder import cli
    from autograder.batch import launch
    from autograder.batch import run as batch

    monkeypatch.setattr(launch, "_Pool", RecordingPool)
    reading = batch.load_cached
    monkeypatch.setattr(batch, "load_cached", lambda *a: RecordingPool.events.append("cache read") or reading(*a))
    submissions, reports = make_folders(tmp_path / "subs", "ann", "ben", "cat"), tmp_path / "reports"

    def grade_all() -> list[str]:
        RecordingPool.events = []
        assert cli.main(["grade-all", str(submissions), "--out", str(reports), "--jobs", "2"]) == 0
        return [event for event, _ in itertools.groupby(RecordingPool.events)]  # "cache read" once a run

    assert grade_all() == ["pool of 2", "cache read", "graded 3", "closed", "stopped"]  # a first run
    assert grade_all() == ["cache read"]  # nothing modified since: no worker is started
    (submissions / "ben" / "losses.py").write_text("# ben's second try\n")
    assert grade_all() == ["pool of 1", "cache read", "graded 1", "closed", "stopped"]
    os.utime(submissions / "cat" / "losses.py", None)  # touched, its bytes unchanged: stopped unused
    assert grade_all() == ["pool of 1", "cache read", "stopped"]


def test_a_lone_worker_is_forked_in_a_fresh_grader_and_spawned_once_it_has_threads_or_numpy():
    script = textwrap.dedent("""
        import threading
        from autograder.batch.pool import _context
        print(_context(1).get_start_method())
        stop = threading.Event()
        thread = threading.Thread(target=stop.wait)
        thread.start()
        print(_context(1).get_start_method())
        stop.set(); thread.join()
        import numpy
        print(_context(1).get_start_method())
    """)
    proc = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.stdout.split() == ["fork", "spawn", "spawn"], proc.stderr
