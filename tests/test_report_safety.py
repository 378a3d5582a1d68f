"""What students control never rewrites what the instructor sees, and nothing written where
student code could write is trusted: the sanitiser, `grade`'s terminal, the signed cache, and
reports written only into folders grade-all owns, never through a planted link."""

from __future__ import annotations

import json
import os
import re
import shutil
import textwrap
import zipfile
from pathlib import Path

import pytest
from markdown_it import MarkdownIt
from conftest import SOLUTIONS
from test_grade_all import FULL, FakePool, fake_pool, make_folders, private_cache_key  # noqa: F401

from autograder.report import sanitize
from autograder.report.gradebook import read_gradebook

CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
ATTACK = "\x1b[2J\x1b[H\x1b]0;owned\x07\x1b]8;;http://evil.example/\x1b\\Total: 110 / 110\x1b]8;;\x1b\\\x9b31m"


def test_the_sanitiser_strips_escape_sequences_and_escapes_each_format():
    assert sanitize.plain(ATTACK + "\rline\u202e") == "Total: 110 / 110\nline"
    assert sanitize.terminal("[bold red]110[/]") == "\\[bold red]110\\[/]"
    assert sanitize.html('<img src=x onerror="a">') == "&lt;img src=x onerror=&quot;a&quot;&gt;"
    assert sanitize.markdown("**all** [x](javascript:1) <b>|\n# h") == \
        "\\*\\*all\\*\\* \\[x\\](javascript:1) &lt;b&gt;\\| \\# h"
    rendered = MarkdownIt("commonmark").enable("table").render(f"| {sanitize.markdown('[x](javascript:1) <b>x</b>')} |\n| - |")
    assert "<a " not in rendered and "<b>" not in rendered and "<th>" in rendered
    assert "```" not in sanitize.fenced("a ``` b").splitlines()[1:-1][0].replace("a ``` b", "")
    for cell in ("=HYPERLINK(\"http://x\")", "+1+1", "-2+3", "@SUM(A1)", "\tx", "|cmd", "%0a"):
        assert sanitize.csv_cell(cell).startswith("'"), cell
    assert [sanitize.csv_cell(v) for v in ("-1.5", "00123", "Ann", "")] == ["-1.5", "00123", "Ann", ""]


def hostile_zip(tmp_path: Path) -> Path:
    """The solutions, printing escape sequences at import and raising them from softmax, with a
    zip member whose name is an escape sequence."""
    archive = tmp_path / "hostile.zip"
    losses = (SOLUTIONS / "losses.py").read_text() + textwrap.dedent(f"""
        print({ATTACK!r} + "[bold green]all checks passed[/]")

        def softmax(logits):
            raise ValueError({ATTACK!r} + "[blink]FAKE[/blink]")
    """)
    with zipfile.ZipFile(archive, "w") as zf:
        for file in sorted(SOLUTIONS.glob("*.py")):
            zf.writestr(f"hw/{file.name}", losses if file.name == "losses.py" else file.read_text())
        zf.writestr("hw/\x1b[2J\x1b]0;pwned\x07notes.txt", "")
    return archive


def test_grade_prints_no_escape_sequence_from_output_exceptions_or_member_names(sandbox, tmp_path):
    """What `python -m autograder grade` prints (cli.py calls print_report), on a hostile zip."""
    import io

    from rich.console import Console

    from autograder.check import load_checks
    from autograder.course import COURSE
    from autograder.grade import grade
    from autograder.report.terminal import print_report

    visible = [c for c in load_checks(COURSE) if c.visible and c.function.module == "losses"]
    report = grade(hostile_zip(tmp_path), COURSE, sandbox=sandbox, checks=visible)
    assert any("\x1b" in m for m in report.messages) and "\x1b" in report.output["losses"]  # the attack arrived
    buffer = io.StringIO()
    print_report(COURSE, report, Console(file=buffer, width=200))
    out = buffer.getvalue()
    assert not CONTROL.search(out.replace("\n", ""))
    assert "Total: 110 / 110" in out and "[blink]FAKE[/blink]" in out  # shown as text, not obeyed
    assert "[bold green]all checks passed[/]" in out and "notes.txt" in out


# --------------------------------------------------------------------------- the signed cache


def low_or_full(monkeypatch):
    """FakePool, with a folder named low* scoring 0 in every check."""
    import test_grade_all as tg

    from autograder.batch import cache

    real = tg.full_report

    def report(name):
        r = real(name)
        if name.startswith("low"):
            r.results = [type(x)(x.name, x.function, x.max_score, 0.0, "failed", "wrong", x.visible) for x in r.results]
        return r

    monkeypatch.setattr(tg, "full_report", report)
    return cache


def test_a_forged_or_copied_cache_entry_is_regraded(tmp_path, fake_pool, monkeypatch):
    low_or_full(monkeypatch)
    submissions, reports = make_folders(tmp_path / "subs", "good", "low"), tmp_path / "reports"
    fake_pool.grade_all(submissions, reports, fake_pool.Options(jobs=1))
    entry_path = reports / ".cache" / "low.json"
    # Forged: full marks written into the entry, its cache key (and stale MAC) kept.
    entry = json.loads(entry_path.read_text())
    for result in entry["report"]["results"]:
        result["score"], result["status"] = result["max_score"], "passed"
    entry_path.write_text(json.dumps(entry))
    FakePool.graded = []
    stdout_rows = fake_pool.grade_all(submissions, reports, fake_pool.Options(jobs=1))
    assert FakePool.graded == ["low"] and {r.student_id: r.score for r in stdout_rows}["low"] == 0
    # Copied: another student's genuine, full-marks entry under this student's name.
    shutil.copy(reports / ".cache" / "good.json", entry_path)
    FakePool.graded = []
    fake_pool.grade_all(submissions, reports, fake_pool.Options(jobs=1))
    assert FakePool.graded == ["low"] and float(read_gradebook(reports / "gradebook.csv")["low"]["total"]) == 0


def test_the_cache_key_is_made_private_and_refused_when_not(tmp_path, monkeypatch):
    from autograder.batch.cache import KEY_ENV, CacheKeyError, check_key_outside, key_file, load_key

    path = tmp_path / "config" / "nlm" / "cache.key"
    monkeypatch.setenv(KEY_ENV, str(path))
    assert key_file() == path
    key = load_key()
    assert load_key() == key and len(key) >= 32 and (path.stat().st_mode & 0o777) == 0o600
    path.chmod(0o644)
    with pytest.raises(CacheKeyError, match="readable by you alone"):
        load_key()
    with pytest.raises(CacheKeyError, match="inside the reports folder"):
        check_key_outside(tmp_path / "reports" / "k", tmp_path / "reports")
    monkeypatch.delenv(KEY_ENV)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert key_file() == tmp_path / "xdg" / "nlm-autograder" / "cache.key"


# --------------------------------------------------------------------------- the reports folder


def run_main(fake_pool, submissions: Path, out: Path) -> int:
    from autograder.cli import build_parser

    return fake_pool.main(build_parser().parse_args(["grade-all", str(submissions), "--out", str(out)]))


def test_a_world_writable_out_is_refused_and_planted_links_write_nothing(tmp_path, fake_pool, capsys):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    out = tmp_path / "shared"
    out.mkdir()
    out.chmod(0o777)  # as /tmp is: anyone could have planted links in it
    for pid in range(os.getpid() - 50, os.getpid() + 50):
        os.symlink(victim, out / f".gradebook.csv.{pid}.tmp")
    os.symlink(victim, out / "gradebook.csv")
    submissions = make_folders(tmp_path / "subs", "a1")
    assert run_main(fake_pool, submissions, out) == 2
    text = capsys.readouterr().out
    assert "is writable by others" in text and len(text.strip().splitlines()) == 1
    assert victim.read_text() == "precious\n" and FakePool.graded == []


def test_links_planted_in_our_own_reports_folder_are_replaced_never_followed(tmp_path, fake_pool):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    submissions, reports = make_folders(tmp_path / "subs", "a1"), tmp_path / "reports"
    fake_pool.grade_all(submissions, reports, fake_pool.Options(jobs=1))
    assert (reports.stat().st_mode & 0o777) == 0o700 and (reports / "students").stat().st_mode & 0o777 == 0o700
    for name in ("gradebook.csv", "canvas.csv", "summary.html", ".gradebook.csv.tmp"):
        (reports / name).unlink(missing_ok=True)
        os.symlink(victim, reports / name)
    for pid in range(os.getpid() - 50, os.getpid() + 50):
        os.symlink(victim, reports / f".gradebook.csv.{pid}.tmp")
    fake_pool.grade_all(submissions, reports, fake_pool.Options(jobs=1))
    assert victim.read_text() == "precious\n"
    assert not (reports / "gradebook.csv").is_symlink() and "a1" in (reports / "gradebook.csv").read_text()


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a folder to another user needs root")
def test_a_reports_folder_owned_by_someone_else_is_refused(tmp_path, fake_pool, capsys):
    out = tmp_path / "reports"
    out.mkdir(mode=0o755)
    os.chown(out, 65534, 65534)  # nobody's: as if student code had made it first
    submissions = make_folders(tmp_path / "subs", "a1")
    assert run_main(fake_pool, submissions, out) == 2
    text = capsys.readouterr().out
    assert "belongs to uid 65534, not to you" in text and len(text.strip().splitlines()) == 1
    assert list(out.iterdir()) == [] and FakePool.graded == []
