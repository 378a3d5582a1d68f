"""Each typical mistake costs points in exactly its own function, with feedback that says so."""

from __future__ import annotations

import pytest

from autograder.course import COURSE
from conftest import full_marks, scores_by_function
from mutants import MUTANTS


def test_mutants_cover_every_graded_function():
    assert {f.qualname for f in COURSE.functions} <= {m.function for m in MUTANTS}
    assert len(MUTANTS) >= 25


@pytest.mark.parametrize("mutant", MUTANTS, ids=lambda m: f"{m.function}: {m.mistake}")
def test_mutant_loses_points_only_in_its_own_function(mutant, grade_folder, tmp_path):
    report = grade_folder(mutant.write(tmp_path / "submission"))
    scores, expected = scores_by_function(report), full_marks()
    assert scores[mutant.function] < expected[mutant.function], f"{mutant.mistake} was not caught"
    others = {f: s for f, s in scores.items() if f != mutant.function}
    assert others == {f: p for f, p in expected.items() if f != mutant.function}
    failed = [r for r in report.results if r.status != "passed"]
    assert all(r.function == mutant.function for r in failed)
    for r in failed:  # every lost point comes with feedback naming the call
        assert r.feedback.startswith("Called "), r.feedback
    if mutant.hint:
        assert any(mutant.hint in r.feedback for r in failed), [r.feedback for r in failed]


def test_rnn_backward_check_on_two_million_parameters_catches_every_gradient_mutant(sandbox, tmp_path, monkeypatch):
    """The finite-difference check scales (make bench times it): on V = 10,000, d = 64, H = 128
    it passes the solutions and fails each rnn_backward mutant."""
    import dataclasses

    from autograder.course.hidden.rnn import large_model_check
    from autograder.grade import grade
    from conftest import SOLUTIONS

    # About a second a call when idle: the session's 3 s is too little on a busy machine.
    monkeypatch.setattr(sandbox, "limits", dataclasses.replace(sandbox.limits, timeout_s=30.0))

    large = [large_model_check()]
    assert grade(SOLUTIONS, COURSE, sandbox=sandbox, checks=large).results[0].status == "passed"
    for i, mutant in enumerate(m for m in MUTANTS if m.function == "rnn.rnn_backward"):
        result = grade(mutant.write(tmp_path / str(i)), COURSE, sandbox=sandbox, checks=large).results[0]
        assert result.status == "failed", mutant.mistake
