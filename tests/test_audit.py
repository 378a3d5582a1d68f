"""The audit: its operators make the changes they promise, equivalent mutants are told from
survivors by running them, and a reduced audit of the real checks stays above the threshold."""

from __future__ import annotations

import json
from html import escape

import pytest

from autograder.audit.mutants import ORIGINAL, mutants_of, sample
from autograder.audit.operators import OPERATORS
from autograder.course import COURSE
from conftest import SOLUTIONS

THRESHOLD = 0.95          # what `make audit` requires of the full audit
REDUCED = 1               # mutants per operator in the CI sample (one worker: fewer reference warm-ups)


@pytest.fixture(scope="module")
def mutants():
    return mutants_of(COURSE, SOLUTIONS)


def added(mutant) -> str:
    return "\n".join(line[1:].strip() for line in mutant.diff.splitlines()
                     if line.startswith("+") and not line.startswith("+++"))


@pytest.mark.parametrize("operator, function, line", [
    ("arithmetic", "sgd.sgd_step", "params[k] += lr * grads[k]"),
    ("comparison", "rnn.rnn_forward", "h0 is not None"),
    ("constant", "losses.square_loss", "return float(np.mean(diff ** 2))"),        # 0.5 dropped
    ("constant", "backprop.tiny_backward", "dL_dz2 = dL_do * (0.0 - o**2)"),       # 1 -> 0
    ("axis", "losses.softmax", "shifted = z - np.max(z, axis=0, keepdims=True)"),
    ("axis", "losses.softmax", "return exp / np.sum(exp, axis=-1)"),              # keepdims dropped
    ("reduction", "losses.cross_entropy", "np.sum(log_probs[np.arange(n), t])"),
    ("slice", "rnn.sequence_loss", "logits[:, 1:].reshape(-1, vocab)"),
    ("transpose", "rnn.rnn_forward", 'h @ params["W_h"] + params["b_h"]'),
    ("term", "losses.log_softmax", "return shifted\n"),
    ("call", "losses.softmax", "exp = shifted"),                                  # np.exp(z) -> z
    ("in-place", "sgd.sgd_step", "params[k] = params[k] - lr * grads[k]"),
    ("in-place", "rnn.rnn_backward", 'grads["E"][ids[:, t]] += dz @ params["W_e"]'),
    ("rng", "sgd.minibatch_indices", "perm = np.random.permutation(n)"),
    ("rng", "rnn.init_rnn_params", "rng = np.random.default_rng()"),
])
def test_each_operator_makes_the_change_it_names(mutants, operator, function, line):
    made = [added(m) + "\n" for m in mutants if m.operator == operator and m.function == function]
    assert any(line in text for text in made), made


def test_mutants_are_single_changes_of_graded_functions_with_distinct_ids(mutants):
    assert {m.operator for m in mutants} == {o.name for o in OPERATORS}
    assert len({m.id for m in mutants}) == len(mutants) and ORIGINAL not in {m.id for m in mutants}
    for m in mutants:
        assert m.diff.count("\n@@ ") + m.diff.startswith("@@") == 1, m.diff  # one hunk
        original = (SOLUTIONS / f"{m.module}.py").read_text()
        assert m.source != original and compile(m.source, m.id, "exec")
    assert sample(mutants, per_operator=REDUCED) == sample(mutants, per_operator=REDUCED)


def test_equivalence_is_run_in_the_sandbox_on_random_inputs(sandbox, tmp_path):
    """`z = logits` for `np.asarray(logits, dtype=np.float64)` is equivalent; the maximum of the
    whole array instead of each row's is not, though it agrees on moderate logits: the random
    inputs must hold rows far apart to tell."""
    from autograder.audit.equivalence import Equivalence
    from mutants import m

    equivalence = Equivalence(COURSE, sandbox, SOLUTIONS, samples=60)
    softmax = COURSE.function("softmax")
    same = m("losses.softmax", "", "z = np.asarray(logits, dtype=np.float64)\n    shifted = z - np.max(z, axis=-1, "
             "keepdims=True)\n    exp", "z = logits\n    shifted = z - np.max(z, axis=-1, keepdims=True)\n    exp")
    assert equivalence.difference(same.write(tmp_path / "same"), [softmax]) is None
    wrong = m("losses.softmax", "", "shifted = z - np.max(z, axis=-1, keepdims=True)\n    exp",
              "shifted = z - np.max(z)\n    exp")
    told = equivalence.difference(wrong.write(tmp_path / "wrong"), [softmax])
    assert told and told.startswith("softmax(") and "nan" in told.lower()


def test_a_reduced_audit_kills_enough_and_a_rerun_grades_nothing(tmp_path):
    """A fixed sample (REDUCED mutants of each operator), every check, through grade-all: the kill
    rate over non-equivalent mutants is at least THRESHOLD; the reports say so; a second run
    takes every grade from the cache."""
    from autograder.audit.report import write_html, write_json
    from autograder.audit.run import AuditOptions, audit

    options = AuditOptions(jobs=1, samples=40, per_operator=REDUCED)
    result = audit(COURSE, SOLUTIONS, tmp_path, options)
    assert len(result.outcomes) == len(OPERATORS) * REDUCED and result.graded == len(result.outcomes) + 1
    assert result.kill_rate >= THRESHOLD, [(o.mutant.id, o.differs) for o in result.outcomes if o.status == "survived"]
    write_json(result, tmp_path / "audit.json")
    write_html(result, tmp_path / "audit.html")
    data = json.loads((tmp_path / "audit.json").read_text())
    assert data["kill_rate"] == pytest.approx(result.kill_rate)
    counts = data["functions"]
    assert sum(c["made"] for c in counts.values()) == len(result.outcomes)
    assert all(c["made"] == c["killed"] + c["equivalent"] + c["surviving"] for c in counts.values())
    html = (tmp_path / "audit.html").read_text()
    assert all(name in html for name in counts)
    again = audit(COURSE, SOLUTIONS, tmp_path, options)
    assert again.graded == 0 and [o.status for o in again.outcomes] == [o.status for o in result.outcomes]


def test_the_report_shows_each_survivor_with_its_diff_and_the_checks_that_ran(mutants):
    from autograder.audit.report import audit_html, audit_json
    from autograder.audit.run import AuditResult, CheckRun, Outcome

    survivor, killed = mutants[0], mutants[1]
    ran = [CheckRun(f"{survivor.function}: <b>a check</b>", True, True)]
    result = AuditResult([Outcome(survivor, "survived", 110, 110, [], ran, "softmax(<x>): it gives 1"),
                          Outcome(killed, "killed", 100, 110, ["x"])], 1.0, 2)
    html = audit_html(result)
    assert "&lt;b&gt;a check&lt;/b&gt;" in html and "<b>a check" not in html and "softmax(&lt;x&gt;)" in html
    assert escape(survivor.diff) in html and escape(killed.diff) not in html
    data = audit_json(result)
    assert data["kill_rate"] == 0.5 and [s["id"] for s in data["survivors"]] == [survivor.id]
