"""The checks as data match SPEC.md, and the two ends of the scale grade as they must."""

from __future__ import annotations

from collections import Counter

import jsonschema
import pytest

from autograder.check import load_checks, named_rng
from autograder.course import COURSE
from autograder.report.gradescope import results_json, schema
from conftest import ASSIGNMENT, SOLUTIONS, full_marks, scores_by_function


def test_points_per_function_add_up_to_the_registry(checks):
    points = Counter()
    for check in checks:
        points[check.function.qualname] += check.points
    assert dict(points) == full_marks()


def test_names_are_unique_and_say_what_they_check(checks):
    names = [c.name for c in checks]
    assert len(names) == len(set(names))
    for check in checks:
        assert check.name.startswith(f"{check.function.qualname}: ") and len(check.what) > 10


@pytest.mark.parametrize("function", COURSE.functions, ids=lambda f: f.qualname)
def test_every_function_has_visible_and_hidden_checks(checks, function):
    mine = [c for c in checks if c.function is function]
    assert any(c.visible for c in mine) and any(not c.visible for c in mine)


def test_about_a_third_of_the_points_are_hidden(checks):
    hidden = sum(c.points for c in checks if not c.visible) / sum(c.points for c in checks)
    assert 0.25 <= hidden <= 0.4
    assert [c.name for c in load_checks(COURSE, include_hidden=False)] == [c.name for c in checks if c.visible]


def test_a_checks_inputs_depend_on_its_name_alone(checks):
    """Seeded by the name: the same draws whatever other checks exist or in which order."""
    first, second = named_rng("losses.softmax: some check"), named_rng("losses.softmax: some check")
    assert (first.normal(size=3) == second.normal(size=3)).all()
    assert (named_rng("a").normal(size=3) != named_rng("b").normal(size=3)).all()
    check = next(c for c in checks if c.name.endswith("matches torch.softmax on random logits (4, 7)"))
    assert (check.calls[0].args[0] == named_rng(check.name).normal(size=(4, 7))).all()


def test_every_function_with_checks_has_known_mistakes_keyed_by_the_registry(checks):
    """Mistakes are keyed by registry objects, so a typo cannot silently turn hints off."""
    from autograder.check.mistakes import known_mistakes

    mistakes = known_mistakes(COURSE)
    assert set(mistakes) <= set(COURSE.functions) and mistakes
    for check in checks:
        assert list(check.mistakes) == mistakes.get(check.function, [])


def test_the_solutions_score_full_marks_with_every_check_passed(grade_folder):
    report = grade_folder(SOLUTIONS)
    assert all(r.status == "passed" for r in report.results), [r.feedback for r in report.results if r.status != "passed"]
    data = results_json(COURSE, report)
    jsonschema.validate(data, schema())
    full = COURSE.max_score + COURSE.bonus_score
    assert data["score"] == full == sum(t["max_score"] for t in data["tests"])
    assert {t["visibility"] for t in data["tests"]} == {"visible", "after_published"}


def test_the_stubs_score_0_with_every_function_not_attempted(grade_folder):
    report = grade_folder(ASSIGNMENT)
    assert set(scores_by_function(report).values()) == {0}
    assert {r.status for r in report.results} == {"not attempted"}
    data = results_json(COURSE, report)
    jsonschema.validate(data, schema())
    assert data["score"] == 0 and sum(t["max_score"] for t in data["tests"]) == COURSE.max_score + COURSE.bonus_score


def test_a_side_property_earns_nothing_when_the_function_does_not_do_its_job(sandbox, tmp_path):
    """`def sgd_step(params, grads, lr): pass` leaves grads unchanged, and a constant init_rnn_params
    is "the same for seed 0 and no seed" and float64: neither property may earn points alone."""
    from autograder.grade import grade
    from mutants import Mutant

    idle = Mutant("sgd.sgd_step", "does nothing", (("    for k in params:\n        params[k] -= lr * grads[k]\n",
                                                    "    pass\n"),))
    constant = Mutant("rnn.init_rnn_params", "constant", (
        ("return rng.uniform(-bound, bound, size=shape)", "return np.full(shape, 0.1)"),
        ("rng.uniform(-0.1, 0.1, size=(vocab_size, embed_dim))", "np.full((vocab_size, embed_dim), 0.1)")))
    for i, (mutant, side, count) in enumerate(((idle, ("leaves grads unchanged",), 1),
                                               (constant, ("seed", "float64"), 3))):
        mine = [c for c in load_checks(COURSE) if c.function.qualname == mutant.function
                and any(word in c.what for word in side)]
        assert len(mine) == count  # the grads check; both seed checks and the dtype check
        report = grade(mutant.write(tmp_path / str(i)), COURSE, sandbox=sandbox, checks=mine)
        assert {r.name: r.score for r in report.results} == {c.name: 0.0 for c in mine}
    side = next(r for r in report.results if "float64" in r.name)
    assert side.feedback.startswith("Called ") and "counts only when" in side.feedback
