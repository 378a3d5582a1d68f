"""The course settings file (deadline, late policy, extensions), submission times, overrides and
the final numbers they give, and what Gradescope's top-level output shows: unit tests, no grading."""

from __future__ import annotations

import datetime as dt
import textwrap

import pytest

from autograder.batch.late import lateness, parse_time, penalty
from autograder.batch.overrides import read_overrides
from autograder.batch.settings import LatePolicy, SettingsError, read_settings
from autograder.course import COURSE
from autograder.report.adjust import Late, Override, final_scores
from autograder.score import CheckResult

UTC = dt.timezone.utc
DUE = dt.datetime(2026, 11, 20, 23, 59, tzinfo=UTC)


def settings(tmp_path, text: str):
    path = tmp_path / "grading.toml"
    path.write_text(textwrap.dedent(text))
    return read_settings(path)


def test_a_deadline_needs_a_time_zone_its_own_or_named(tmp_path):
    assert settings(tmp_path, "[deadline]\ndue = 2026-11-20T23:59:00-08:00\n").due.utcoffset() == dt.timedelta(hours=-8)
    named = settings(tmp_path, '[deadline]\ndue = 2026-07-01T12:00:00\ntimezone = "Europe/Berlin"\n').due
    assert named.utcoffset() == dt.timedelta(hours=2)  # summer time of that zone, that day
    with pytest.raises(SettingsError, match="has no time zone"):
        settings(tmp_path, "[deadline]\ndue = 2026-11-20T23:59:00\n")
    with pytest.raises(SettingsError, match="unknown time zone"):
        settings(tmp_path, '[deadline]\ndue = 2026-11-20T23:59:00\ntimezone = "Mars/Olympus"\n')


@pytest.mark.parametrize("text, error", [
    ("[late]\npenaltyy = 0.1\n", "unknown key 'penaltyy' in [late]"),
    ("[lates]\npenalty = 0.1\n", "unknown table [lates]"),
    ("[late]\npenalty = 10\n", "is a fraction between 0 and 1"),
    ('[late]\nper = "week"\n', "per must be one of"),
    ("[exports]\nbom = 1\n", "bom must be a bool"),
    ("[late\n", "grading.toml"),
])
def test_a_typo_in_the_settings_is_an_error_naming_it(tmp_path, text, error):
    with pytest.raises(SettingsError, match=error.replace("[", r"\[").replace("]", r"\]")):
        settings(tmp_path, text)


@pytest.mark.parametrize("policy, days, expected", [
    (LatePolicy(penalty=0.1, per="started day"), 0.01, 0.1),
    (LatePolicy(penalty=0.1, per="started day"), 1.5, 0.2),
    (LatePolicy(penalty=0.1, per="day"), 1.5, 0.15),
    (LatePolicy(penalty=0.3, per="started day", cap=0.5), 4, 0.5),
    (LatePolicy(penalty=0.1, no_credit_after_days=3), 3.5, 1.0),
    (LatePolicy(penalty=0.1, no_credit_after_days=3), 2.5, 0.3),
])
def test_the_late_policy(policy, days, expected):
    assert penalty(policy, days) == pytest.approx(expected)


def test_grace_minutes_and_extensions(tmp_path):
    s = settings(tmp_path, f"""
        [deadline]
        due = {DUE.isoformat()}
        [late]
        grace_minutes = 15
        penalty = 0.1
        [extensions]
        "ann" = 2
        "bob@example.edu" = 2026-11-25T12:00:00+00:00
    """)
    in_grace, after = DUE + dt.timedelta(minutes=14), DUE + dt.timedelta(minutes=16)
    assert lateness(s, ["zed", ""], in_grace, "export").penalty == 0
    late = lateness(s, ["zed", ""], after, "export")
    assert late.is_late and late.penalty == 0.1 and late.days == pytest.approx(16 / 1440)
    ann = lateness(s, ["ann", ""], DUE + dt.timedelta(days=1.9), "export")
    assert not ann.is_late and ann.extension == "extended by 2 day(s)"
    bob = lateness(s, ["b1", "bob@example.edu"], DUE + dt.timedelta(days=4.4), "export")  # named by e-mail
    assert not bob.is_late and bob.deadline == dt.datetime(2026, 11, 25, 12, tzinfo=UTC)
    assert lateness(read_settings(None), ["zed"], after, "file time").deadline is None  # the time, no deadline


def test_export_times_are_read_with_their_offset():
    assert parse_time("2026-11-20 10:00:00.123456789 -08:00") == dt.datetime(
        2026, 11, 20, 18, 0, 0, 123456, tzinfo=UTC)
    assert parse_time("2026-11-20T10:00:00Z") == dt.datetime(2026, 11, 20, 10, tzinfo=UTC)
    assert parse_time("2026-11-20 10:00:00 +0100").utcoffset() == dt.timedelta(hours=1)
    assert parse_time("yesterday") is None


def all_passed(course=COURSE):
    from autograder.check import load_checks

    return [CheckResult(c.name, c.function.qualname, c.points, c.points, "passed", "", c.visible)
            for c in load_checks(course)]


def test_overrides_then_the_late_penalty_then_a_total_override():
    results = all_passed()
    softmax = COURSE.functions[0]
    bonus = sum(f.points for f in COURSE.functions if f.bonus)
    late = Late(DUE, "export", DUE, 1.0, 0.5)
    final = final_scores(COURSE, results, [Override("ann", softmax.qualname, 1, "regrade")], late)
    assert final.functions[softmax.qualname] == 1
    assert final.points == pytest.approx((COURSE.max_score - softmax.points + 1) / 2) and final.bonus == bonus / 2
    assert final.total == pytest.approx(final.points + final.bonus) and final.changes == [
        f"{softmax.qualname}: {softmax.points:g} → 1: regrade"]
    total = final_scores(COURSE, results, [Override("ann", "total", 104, "final word", "prof")], late)
    assert (total.total, total.points, total.bonus) == (104, COURSE.max_score, 104 - COURSE.max_score)


def test_overrides_csv_reads_functions_by_either_name(tmp_path):
    path = tmp_path / "overrides.csv"
    short = COURSE.functions[1]
    path.write_text("\ufeffstudent_id,function,points,comment,who\n"  # as Excel saves it
                    f"ann,{short.name},2,partial credit,TA\n\nbob,TOTAL,50,late work accepted,\n")
    overrides = read_overrides(path, COURSE)
    assert [(o.student_id, o.target, o.points, o.line) for o in overrides] == [
        ("ann", short.qualname, 2, 2), ("bob", "total", 50, 4)]
    path.write_text(f"student_id,function,points,comment\nann,{short.name},1,a\nann,{short.qualname},2,b\n")
    with pytest.raises(SettingsError, match="lines 2 and 3: two overrides"):
        read_overrides(path, COURSE)


def test_gradescope_output_summarises_visible_checks_only():
    from autograder.grade import GradeReport
    from autograder.report.gradescope import results_json

    results = [r if r.visible else CheckResult(r.name, r.function, r.max_score, 0.0, "failed", "x", False)
               for r in all_passed()]
    output = results_json(COURSE, GradeReport("s", "folder", [], results))["output"]
    visible = sum(r.max_score for r in results if r.visible)
    hidden = sum(r.max_score for r in results if not r.visible)
    assert output.splitlines()[0] == f"Visible checks: {visible:g}/{visible:g}"
    assert "(partial)" not in output and "(failed)" not in output  # every visible check passed
    assert f"Hidden checks ({hidden:g} points) appear after the grades are published." in output
