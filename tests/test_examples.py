"""The bundled example students (what `make grade` shows) get exactly the grades they deserve."""

from __future__ import annotations

from autograder.course import COURSE
from autograder.course.checks.losses import FAR_APART
from conftest import ROOT, defined_marks, points, scores_by_function

EXAMPLES = ROOT / "examples" / "submissions"


def test_alice_correct_but_different_gets_full_marks(grade_folder):
    """Loops, log-sum-exp by hand, NumPy scalars and 0-d arrays returned, extra cache keys,
    `from backprop import *`: all within the contract."""
    report = grade_folder(EXAMPLES / "alice_correct")
    assert scores_by_function(report) == defined_marks(EXAMPLES / "alice_correct")


def test_bob_loses_points_exactly_where_his_bugs_are(grade_folder):
    report = grade_folder(EXAMPLES / "bob_typical_bugs")
    scores = scores_by_function(report)
    full = defined_marks(EXAMPLES / "bob_typical_bugs")
    buggy = {"losses.softmax", "backprop.tiny_backward", "sgd.sgd_step", "rnn.sequence_loss", "rnn.rnn_backward"}
    assert {f: s for f, s in scores.items() if f not in buggy} == \
           {f: p for f, p in full.items() if f not in buggy}
    softmax = "losses.softmax"  # only the checks of large logits fail
    assert scores[softmax] == full[softmax] - points(softmax, "finite and exact for logits of ±1e4", FAR_APART)
    assert scores["sgd.sgd_step"] == 0  # no step in place, so no credit for leaving grads alone either
    assert scores["rnn.sequence_loss"] == 0
    assert scores["backprop.tiny_backward"] == 0    # dL/dw2 wrong in every check
    statuses = {r.status for r in report.results if r.function == "rnn.rnn_backward"}
    assert statuses == {"not attempted"}
    hints = "\n".join(r.feedback for r in report.results if r.status == "failed")
    assert "subtract the maximum" in hints and "in place" in hints and "off-by-one" in hints


def test_carol_half_done_scores_her_finished_parts(grade_folder):
    scores = scores_by_function(grade_folder(EXAMPLES / "carol_half_done"))
    written = defined_marks(EXAMPLES / "carol_half_done")
    done = {f.qualname: written[f.qualname] for f in COURSE.in_part("losses") + COURSE.in_part("backprop")}
    assert {f: scores[f] for f in done} == done
    sgd_step = COURSE.function("sgd_step")
    assert scores[sgd_step.qualname] == sgd_step.points
    assert sum(scores.values()) == sum(done.values()) + sgd_step.points


def test_dave_crashes_and_hangs_cost_only_those_functions(grade_folder):
    report = grade_folder(EXAMPLES / "dave_crashes")
    scores = scores_by_function(report)
    assert scores["losses.square_loss"] == COURSE.function("square_loss").points == sum(scores.values())
    status = {r.function: r.status for r in report.results}
    assert status["losses.softmax"] == "timed out"
    assert status["losses.log_softmax"] == "crashed" and status["losses.cross_entropy"] == "crashed"
    syntax = next(r for r in report.results if r.function == "backprop.tiny_forward")
    assert syntax.status == "crashed" and "SyntaxError in backprop.py, line 4" in syntax.feedback
    assert status["sgd.sgd_step"] == "not attempted"  # no sgd.py
