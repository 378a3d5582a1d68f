"""Hostile submissions get nothing they do not deserve, and the grader always completes.

Each attack is appended to (or replaces a function of) a copy of the solutions, so the expected
scores are exact: full marks everywhere except the functions the attack sabotages.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import jsonschema
import numpy as np
import pytest

from autograder.check import load_checks
from autograder.course import COURSE
from autograder.report.gradescope import results_json, schema
from conftest import ROOT, SOLUTIONS, full_marks, scores_by_function


def hostile(tmp_path: Path, **appended: str) -> Path:
    """The solutions with code appended to some modules (a later def replaces the solution's)."""
    folder = tmp_path / "submission"
    shutil.copytree(SOLUTIONS, folder)
    for module, code in appended.items():
        path = folder / f"{module}.py"
        path.write_text(path.read_text() + "\n\n" + textwrap.dedent(code))
    return folder


def expect_only(report, lost: dict[str, float]) -> None:
    """Every function at full marks except `lost` (function -> score it must get)."""
    expected = full_marks() | lost
    assert scores_by_function(report) == expected
    jsonschema.validate(results_json(COURSE, report), schema())


def test_monkeypatched_comparisons_do_not_pass_wrong_answers(grade_folder, tmp_path):
    report = grade_folder(hostile(tmp_path, losses="""
        import numpy, torch
        numpy.allclose = lambda *a, **k: True
        numpy.isclose = lambda *a, **k: True
        numpy.array_equal = lambda *a, **k: True
        numpy.testing.assert_allclose = lambda *a, **k: None
        torch.allclose = lambda *a, **k: True
        import math; math.isclose = lambda *a, **k: True

        def softmax(logits):
            return numpy.zeros_like(logits)
    """))
    expect_only(report, {"losses.softmax": 0})


def test_a_lying_ndarray_subclass_and_nan_get_nothing(grade_folder, tmp_path):
    report = grade_folder(hostile(tmp_path, losses="""
        class Liar(np.ndarray):
            def __eq__(self, other):
                return np.ones(np.shape(other), dtype=bool)
            __ne__ = lambda self, other: np.zeros(np.shape(other), dtype=bool)
            def __array__(self, *args, **kwargs):
                return np.asarray(self.view(np.ndarray))
            def tolist(self):
                return [1.0]

        def softmax(logits):
            return np.zeros(np.shape(logits)).view(Liar)

        def log_softmax(logits):
            return np.full(np.shape(logits), np.nan)
    """))
    expect_only(report, {"losses.softmax": 0, "losses.log_softmax": 0})


def test_exits_at_import_and_inside_a_function_cost_only_their_own(grade_folder, tmp_path):
    folder = hostile(tmp_path, sgd="""
        import os
        def sgd_step(params, grads, lr):
            os._exit(0)
    """)
    losses = folder / "losses.py"
    losses.write_text("import sys\nsys.exit(3)\n" + losses.read_text())
    report = grade_folder(folder)
    expect_only(report, {"losses.softmax": 0, "losses.log_softmax": 0, "losses.cross_entropy": 0,
                         "losses.square_loss": 0, "sgd.sgd_step": 0})
    by_name = {r.function: r for r in report.results}
    assert "exit(3)" in by_name["losses.softmax"].feedback
    assert by_name["sgd.sgd_step"].status == "crashed"
    assert "exited" in by_name["sgd.sgd_step"].feedback


def test_hang_memory_bomb_and_output_flood(grade_folder, tmp_path):
    # The hang waits rather than spins: the deadline is wall-clock, and a sleeping hang leaves the
    # cores to the rest of the suite (spinning hangs: the module-import hang below, test_sandbox).
    report = grade_folder(hostile(tmp_path, rnn="""
        def next_word_probs(params, prefix_ids):
            import time
            while True:
                time.sleep(1)
    """, backprop="""
        def tiny_forward(x, y, w1, w2):
            hog = [bytearray(2**20) for _ in range(10**6)]   # 1 TB: beyond any limit
            return 0.0, {}
    """, losses="""
        _square_loss = square_loss
        def square_loss(y, o):
            print("x" * 50_000_000)            # a flood, then the right answer
            return _square_loss(y, o)
    """))
    expect_only(report, {"rnn.next_word_probs": 0, "backprop.tiny_forward": 0})
    statuses = {r.function: r.status for r in report.results}
    assert statuses["rnn.next_word_probs"] == "timed out"
    assert statuses["backprop.tiny_forward"] == "crashed"
    memory = [r.feedback for r in report.results if r.function == "backprop.tiny_forward"]
    assert all("memory" in text for text in memory), memory
    assert all(len(r.feedback) < 5000 for r in report.results)


def test_processes_left_behind_are_killed(grade_folder, tmp_path):
    marker = Path("/tmp") / f"nlm-hostile-{uuid.uuid4().hex}"
    report = grade_folder(hostile(tmp_path, losses=f"""
        import os, time
        _softmax = softmax
        def softmax(logits):
            if os.fork() == 0:               # a detached grandchild that keeps writing
                os.setsid()
                if os.fork() == 0:
                    for _ in range(600):
                        with open({str(marker)!r}, "a") as f:
                            f.write("x")
                        time.sleep(0.05)
                os._exit(0)
            return _softmax(logits)
    """))
    expect_only(report, {})
    time.sleep(0.3)
    size = marker.stat().st_size if marker.exists() else 0
    time.sleep(0.5)
    assert (marker.stat().st_size if marker.exists() else 0) == size, "a student process outlived grading"
    marker.unlink(missing_ok=True)


def test_fake_results_printed_or_written_do_not_reach_the_report(tmp_path):
    """Through the command line, as Gradescope and instructors run it."""
    results = tmp_path / "out" / "results.json"
    fake = json.dumps({"score": 999, "tests": []})
    folder = hostile(tmp_path, losses=f"""
        import glob, os
        FAKE = {fake!r}
        print(FAKE)
        for path in ["results.json", "../results.json", {str(results)!r}]:
            try:
                with open(path, "w") as f:
                    f.write(FAKE)
            except OSError:
                pass
        for cmdline in glob.glob("/proc/*/cmdline"):   # find the grader's --results path
            try:
                args = open(cmdline, "rb").read().split(b"\\0")
                if b"--results" in args:
                    open(args[args.index(b"--results") + 1], "w").write(FAKE)
            except OSError:
                pass

        def square_loss(y, o):
            print(FAKE)
            return 0.0
    """)
    done = subprocess.run([sys.executable, "-m", "autograder", "grade", str(folder), "--results",
                           str(results), "--timeout", "5"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    data = json.loads(results.read_text())
    jsonschema.validate(data, schema())
    assert data["score"] == pytest.approx(COURSE.max_score + COURSE.bonus_score - full_marks()["losses.square_loss"])
    assert data["score"] == pytest.approx(sum(t["score"] for t in data["tests"]))
    # The printed fake is shown only as the code's output, behind a margin, never as a report line.
    shown = [line for line in done.stdout.splitlines() if '"score": 999' in line]
    assert shown and all(line.startswith("  | ") for line in shown)


def test_killing_the_fork_server_costs_only_that_function(grade_folder, tmp_path):
    report = grade_folder(hostile(tmp_path, losses="""
        import os, signal
        def square_loss(y, o):
            os.kill(os.getppid(), signal.SIGKILL)
            return 0.0
    """))
    expect_only(report, {"losses.square_loss": 0})


def test_grading_is_deterministic(grade_folder):
    bob = ROOT / "examples" / "submissions" / "bob_typical_bugs"
    first, second = grade_folder(bob), grade_folder(bob)
    assert [(r.name, r.score, r.status, r.feedback) for r in first.results] == \
           [(r.name, r.score, r.status, r.feedback) for r in second.results]


def test_a_function_that_sabotages_shared_state_costs_only_itself(grade_folder, tmp_path):
    """One child serves a module's functions in turn: what softmax changes must not reach the rest."""
    report = grade_folder(hostile(tmp_path, losses="""
        import math
        import torch
        def softmax(logits):
            np.exp = lambda x: 0 * x           # rebinding numpy's own names
            np.seterr(all="raise")
            math.log = None
            torch.set_default_dtype(torch.float32)
            torch.set_grad_enabled(False)
            globals()["log_softmax"] = lambda z: z   # and the module's own
            np.random.seed(123)
            return np.zeros(np.shape(logits))
    """))
    expect_only(report, {"losses.softmax": 0})


def test_a_rebinding_that_claims_to_equal_the_original_is_still_undone(grade_folder, tmp_path):
    """Shared namespaces are compared by identity: an object whose == says True is no disguise."""
    report = grade_folder(hostile(tmp_path, losses="""
        class Liar:
            __hash__ = object.__hash__
            def __eq__(self, other):
                return True
        def softmax(logits):
            np.log = Liar()
            return np.zeros(np.shape(logits))
    """))
    expect_only(report, {"losses.softmax": 0})

def test_a_module_that_hangs_at_import_costs_only_its_own_functions(grade_folder, tmp_path):
    folder = hostile(tmp_path)
    rnn = folder / "rnn.py"
    rnn.write_text("while True:\n    pass\n" + rnn.read_text())
    report = grade_folder(folder)
    expect_only(report, {f: 0 for f in full_marks() if f.startswith("rnn.")})
    assert {r.status for r in report.results if r.function.startswith("rnn.")} == {"timed out"}
    assert all("importing rnn.py" in r.feedback for r in report.results if r.function.startswith("rnn."))


def test_printed_output_is_kept_capped_and_never_in_results_json(grade_folder, tmp_path):
    report = grade_folder(hostile(tmp_path, losses="""
        print("hello from losses at import")
        _square_loss = square_loss
        def square_loss(y, o):
            print("y" * 10_000_000)
            return _square_loss(y, o)
    """))
    expect_only(report, {})
    assert report.output["losses"] == "hello from losses at import\n"
    during = [r.printed for r in report.results if r.function == "losses.square_loss"]
    assert during and all("yyyy" in p and "characters more" in p and len(p) < 5000 for p in during)
    assert all(not r.printed for r in report.results if r.function != "losses.square_loss")
    data = json.dumps(results_json(COURSE, report))
    assert "hello from losses" not in data and "yyyy" not in data


def test_no_visible_feedback_carries_a_hidden_input(grade_folder, tmp_path):
    """Hidden checks run after every visible one, in other children: log_softmax stashes every
    input it is given (in memory and in a file) and cross_entropy, graded after it, reports the
    stash in its feedback; a hidden input can reach only a hidden check's feedback."""
    report = grade_folder(hostile(tmp_path, losses="""
        import json as _json
        _SEEN = []

        def log_softmax(logits):
            _SEEN.append(np.asarray(logits).ravel()[:3].round(6).tolist())
            with open("/scratch/stash", "a") as _file:
                _file.write(_json.dumps(_SEEN[-1]) + " ")
            z = np.asarray(logits, dtype=np.float64)
            shifted = z - z.max(axis=-1, keepdims=True)
            return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))

        def cross_entropy(logits, targets):
            with open("/scratch/stash") as _file:
                raise RuntimeError("seen: " + _file.read() + _json.dumps(_SEEN))
    """))
    from autograder.check import load_checks

    hidden = [c for c in load_checks(COURSE) if not c.visible and c.function.name == "log_softmax"]
    numbers = {f"{x:.6f}".rstrip("0") for c in hidden for call in c.calls for x in np.asarray(call.args[0]).ravel()[:3]}
    later = [r.feedback for r in report.results if r.function == "losses.cross_entropy"]
    visible = " ".join(r.feedback for r in report.results if r.visible and r.function == "losses.cross_entropy")
    assert "seen: " in visible
    assert not [n for n in numbers if n in visible], "a hidden input reached a visible check's feedback"
    assert [n for n in numbers if n in " ".join(later)]  # the stash itself works, in the hidden child


def test_functions_defined_only_through_each_other_do_not_both_pass(grade_folder, tmp_path):
    """softmax is graded with a correct log_softmax (SPEC's table), log_softmax with the student's
    own softmax: defined through each other, log_softmax can never run, so it does not pass."""
    report = grade_folder(hostile(tmp_path, losses="""
        def softmax(logits):
            return np.exp(log_softmax(logits))

        def log_softmax(logits):
            return np.log(softmax(logits))
    """))
    scores = scores_by_function(report)
    assert scores["losses.softmax"] == full_marks()["losses.softmax"]
    assert scores["losses.log_softmax"] == 0


def test_a_twenty_megabyte_exception_is_capped_where_it_crosses(grade_folder, tmp_path):
    report = grade_folder(hostile(tmp_path, losses="""
        def square_loss(y, o):
            raise ValueError("x" * 20_000_000)
    """))
    expect_only(report, {"losses.square_loss": 0})
    feedback = [r.feedback for r in report.results if r.function == "losses.square_loss"]
    assert all("characters more" in text and len(text) < 10_000 for text in feedback)


def test_module_level_code_may_call_a_missing_functions_stand_in(grade_folder, tmp_path):
    """rnn.py computing a constant with softmax at import, while losses.py lacks softmax: the
    stand-in answers at import time too, so only softmax is lost."""
    folder = hostile(tmp_path, rnn="""
        UNIFORM = softmax(np.zeros(4))
    """)
    losses = folder / "losses.py"
    text = losses.read_text()
    start = text.index("def softmax(")
    losses.write_text(text[:start] + text[text.index("def log_softmax("):])
    expect_only(grade_folder(folder), {"losses.softmax": 0})


def test_memoised_answers_are_keyed_by_question_course_and_what_may_be_asked():
    """A stand-in's answer is reused only for the very question, in the same course, asked where
    the same callees are allowed (elsewhere the grader must refuse it), and the memo stays in budget."""
    from autograder.isolate.runner import AnswerMemo

    other = type("OtherCourse", (), {})()
    key = AnswerMemo.key(COURSE, {"rnn_forward"}, b'{"callee": "rnn_forward"}')
    assert key == AnswerMemo.key(COURSE, {"rnn_forward"}, b'{"callee": "rnn_forward"}')
    assert key != AnswerMemo.key(COURSE, {"log_softmax"}, b'{"callee": "rnn_forward"}')
    assert key != AnswerMemo.key(other, {"rnn_forward"}, b'{"callee": "rnn_forward"}')
    assert key != AnswerMemo.key(COURSE, {"rnn_forward"}, b'{"callee": "rnn_forward" }')
    memo = AnswerMemo(budget_bytes=800)
    for i in range(20):
        memo.put(bytes([i]), b"x" * 100)
    assert memo.used <= 800 and memo.get(bytes([19])) == b"x" * 100 and memo.get(bytes([0])) is None


def test_a_report_is_the_same_whether_the_answers_were_memoised_or_not(grade_folder, tmp_path):
    from autograder.isolate import runner

    submission = hostile(tmp_path, rnn="""
        _sequence_loss = sequence_loss
        def sequence_loss(params, token_ids):
            return 2 * _sequence_loss(params, token_ids)   # asks rnn_forward what the solutions ask
    """)

    def graded() -> list[tuple]:
        return [(r.name, r.status, r.score, r.feedback) for r in grade_folder(submission).results]

    runner.ANSWERS.answers.clear()
    runner.ANSWERS.used = 0
    fresh = graded()
    assert runner.ANSWERS.answers  # the questions were kept ...
    assert graded() == fresh       # ... and answering from them changes nothing
    assert {name for name, status, *_ in fresh if status != "passed"} == \
        {c.name for c in load_checks(COURSE) if c.function.name == "sequence_loss"}
