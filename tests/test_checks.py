"""The checks as data match SPEC.md, and the two ends of the scale grade as they must."""

from __future__ import annotations

from collections import Counter

import jsonschema
import pytest

from autograder.checks import load_checks
from autograder.contract import BONUS_SCORE, FUNCTIONS, MAX_SCORE
from autograder.report.gradescope import results_json, schema
from conftest import ASSIGNMENT, SOLUTIONS, full_marks, scores_by_function


def test_points_per_function_are_specs(checks):
    points = Counter()
    for check in checks:
        points[check.function] += check.points
    assert dict(points) == full_marks()
    assert (MAX_SCORE, BONUS_SCORE) == (100, 10)


def test_names_are_unique_and_say_what_they_check(checks):
    names = [c.name for c in checks]
    assert len(names) == len(set(names))
    for check in checks:
        assert check.name.startswith(f"{check.function}: ") and len(check.what) > 10


@pytest.mark.parametrize("function", FUNCTIONS, ids=lambda f: f.qualname)
def test_every_function_has_visible_and_hidden_checks(checks, function):
    mine = [c for c in checks if c.function == function.qualname]
    assert any(c.visible for c in mine) and any(not c.visible for c in mine)


def test_about_a_third_of_the_points_are_hidden(checks):
    hidden = sum(c.points for c in checks if not c.visible) / sum(c.points for c in checks)
    assert 0.25 <= hidden <= 0.4
    assert [c for c in load_checks(include_hidden=False)] == [c for c in checks if c.visible]


def test_the_solutions_score_110_with_every_check_passed(grade_folder):
    report = grade_folder(SOLUTIONS)
    assert all(r.status == "passed" for r in report.results), [r.feedback for r in report.results if r.status != "passed"]
    data = results_json(report)
    jsonschema.validate(data, schema())
    assert data["score"] == 110 == sum(t["max_score"] for t in data["tests"])
    assert {t["visibility"] for t in data["tests"]} == {"visible", "after_published"}


def test_the_stubs_score_0_with_every_function_not_attempted(grade_folder):
    report = grade_folder(ASSIGNMENT)
    assert set(scores_by_function(report).values()) == {0}
    assert {r.status for r in report.results} == {"not attempted"}
    data = results_json(report)
    jsonschema.validate(data, schema())
    assert data["score"] == 0 and sum(t["max_score"] for t in data["tests"]) == 110
