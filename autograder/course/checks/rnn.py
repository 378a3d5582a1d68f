"""Part 4 checks, visible to students: init_rnn_params, rnn_forward, next_word_probs,
sequence_loss and the bonus rnn_backward.

Every model has V, d and H all different and a W_h drawn freely (not symmetric), so a missing or
extra transpose changes the result.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from autograder.check import Call, Check, Judge, Verdict, fixed, named_rng, numerics
from autograder.check.feedback import several_calls
from autograder.check.judges import Objective, agrees_with_finite_differences, all_of, matches_reference, provided
from autograder.course import COURSE
from autograder.course.hints.rnn import (
    CONSTANT,
    DEFAULT_SEED,
    FLOAT32,
    IGNORES_SEED,
    TOO_LARGE,
    TRANSPOSED,
    UNSEEDED,
    WEIGHTS,
)
from autograder.course.inputs import parameter_shapes, rnn_lm

F = COURSE.by_name
NAMES = tuple(parameter_shapes(1, 1, 1))


# init_rnn_params --------------------------------------------------------------------------------

def parameter_arrays(value: Any) -> tuple[dict[str, np.ndarray], str | None]:
    """The six arrays of an init_rnn_params result, or what keeps it from being that dict."""
    if not isinstance(value, dict):
        return {}, f"expected a dict of arrays, got {numerics.describe(value)}"
    missing = [k for k in NAMES if k not in value]
    if missing:
        return {}, f"the dict has no key(s) {', '.join(map(repr, missing))}"
    try:
        return {k: numerics.as_float64(value[k]) for k in NAMES}, None
    except numerics.NotNumeric as error:
        return {}, f"the parameters must be float arrays: {error}"


def init_judge(problem_of: Callable[[Call, dict[str, np.ndarray]], tuple[str, str | None] | None]) -> Judge:
    """A judge of each init_rnn_params result on its own: `problem_of` gives (problem, hint) or None."""
    def judge(check: Check, values: Sequence[Any]) -> Verdict:
        for call, value in zip(check.calls, values):
            arrays, problem = parameter_arrays(value)
            found = (problem, None) if problem else problem_of(call, arrays)
            if found:
                return Verdict(False, several_calls(check, [call], *found))
        return Verdict(True)

    return judge


def shape_problem(call: Call, arrays: dict[str, np.ndarray]) -> tuple[str, str | None] | None:
    for name, shape in parameter_shapes(*call.args[:3]).items():
        if arrays[name].shape != shape:
            return (f"{name} has shape {arrays[name].shape}; expected {shape}",
                    TRANSPOSED if arrays[name].shape == shape[::-1] else None)
    return None


def value_problem(call: Call, arrays: dict[str, np.ndarray]) -> tuple[str, str | None] | None:
    for name, array in arrays.items():
        if not np.isfinite(array).all():
            return f"{name} holds NaN or inf", None
        if array.size and np.abs(array).max() > 1:
            return f"{name} has an entry {array.flat[np.abs(array).argmax()]:.6g}, beyond [-1, 1]", TOO_LARGE
    for name in WEIGHTS:
        if arrays[name].size > 1 and np.ptp(arrays[name]) == 0:
            return f"every entry of {name} is {arrays[name].flat[0]:.6g}; the weight matrices must be random", CONSTANT
    return None


def float64_arrays(check: Check, values: Sequence[Any]) -> Verdict:
    """Every parameter array arrives with its own dtype (the protocol keeps float32 as float32)."""
    for call, value in zip(check.calls, values):
        found, problem = parameter_arrays(value)
        if problem:
            return Verdict(False, several_calls(check, [call], problem))
        wrong = [f"{k} ({np.asarray(value[k]).dtype})" for k in found if np.asarray(value[k]).dtype != np.float64]
        if wrong:
            return Verdict(False, several_calls(check, [call], f"these parameters are not float64: {', '.join(wrong)}",
                                                FLOAT32))
    return Verdict(True)


def same_values(first: dict[str, np.ndarray], second: dict[str, np.ndarray], names: Sequence[str]) -> list[str]:
    return [k for k in names if first[k].shape == second[k].shape and np.array_equal(first[k], second[k])]


def every_parameter_dict(check: Check, values: Sequence[Any]) -> tuple[list[dict[str, np.ndarray]], Verdict | None]:
    """The parameter arrays of each init_rnn_params result, or the verdict on the first that is not such a dict."""
    arrays = []
    for call, value in zip(check.calls, values):
        found, problem = parameter_arrays(value)
        if problem:
            return [], Verdict(False, several_calls(check, [call], problem))
        arrays.append(found)
    return arrays, None


def seeded(check: Check, values: Sequence[Any]) -> Verdict:
    """Calls 0 and 1 share a seed and must agree; call 2 has another seed and must differ in every weight matrix."""
    arrays, failed = every_parameter_dict(check, values)
    if failed:
        return failed
    calls = check.calls
    unequal = [k for k in NAMES if k not in same_values(arrays[0], arrays[1], NAMES)]
    if unequal:
        return Verdict(False, several_calls(check, calls[:2], f"the same seed gave different values of {', '.join(unequal)}",
                                            UNSEEDED))
    equal = same_values(arrays[0], arrays[2], WEIGHTS)
    if equal:
        constant = all(np.ptp(arrays[0][k]) == 0 for k in equal)  # then the seed is not what is missing
        return Verdict(False, several_calls(check, calls[1:], f"different seeds gave the same {', '.join(equal)}",
                                            CONSTANT if constant else IGNORES_SEED))
    return Verdict(True)


def defaults_to_seed_zero(check: Check, values: Sequence[Any]) -> Verdict:
    """Call 0 leaves seed out, calls 1 and 2 pass seed=0: all three the same parameters."""
    arrays, failed = every_parameter_dict(check, values)
    if failed:
        return failed
    calls = check.calls
    for (i, j), text, hint in (((1, 2), "the same seed gave different values of", UNSEEDED),
                               ((0, 1), "leaving seed out gave other values than seed=0 of", DEFAULT_SEED)):
        unequal = [k for k in NAMES if k not in same_values(arrays[i], arrays[j], NAMES)]
        if unequal:
            return Verdict(False, several_calls(check, [calls[i], calls[j]], f"{text} {', '.join(unequal)}", hint))
    return Verdict(True)


has_shapes = init_judge(shape_problem)
has_valid_values = init_judge(value_problem)


def proper_parameters(side: Judge) -> Judge:
    """`side` (a seed property, the dtype) counted only for parameters of the right shapes and values."""
    return provided(all_of(has_shapes, has_valid_values), side,
                    "the parameters have the contract's shapes and valid random values")


# rnn_forward, next_word_probs, sequence_loss ----------------------------------------------------

def forward_outputs(value: Any) -> dict[str, Any]:
    """(logits, hiddens) by name, for feedback like "the result['hiddens']"."""
    return {"logits": value[0], "hiddens": value[1]}


forward_agrees = matches_reference(pick=forward_outputs)
agrees = matches_reference()


# rnn_backward -----------------------------------------------------------------------------------

def sequence_loss_of(params: dict[str, np.ndarray], token_ids: np.ndarray) -> Callable[[dict[str, np.ndarray]], float]:
    """reference.sequence_loss as a function of the parameters. One model serves every evaluation and
    is refilled only with the arrays that changed: building a big model per evaluation would cost
    more than the whole check may."""
    import torch

    from autograder.course import reference

    model = reference.RNNLM(params)
    tensors = model.named_arrays()
    ids = torch.as_tensor(np.asarray(token_ids, dtype=np.int64))
    loaded = dict(params)  # the arrays the model's tensors hold now

    def loss(theta: dict[str, np.ndarray]) -> float:
        with torch.no_grad():
            for name, array in theta.items():
                if array is not loaded[name]:
                    tensors[name].copy_(torch.from_numpy(np.ascontiguousarray(array)))
                    loaded[name] = array
            return float(reference.sequence_loss_tensor(model, ids))

    return loss


def rows_that_matter(params: dict[str, np.ndarray], token_ids: np.ndarray) -> dict[str, np.ndarray]:
    """The embedding rows read before a prediction, and the output rows of the predicted words."""
    ids = np.asarray(token_ids)
    focus = {k: np.zeros(params[k].shape, dtype=bool) for k in ("E", "U", "b_o")}
    focus["E"][ids[:, :-1].ravel()] = True
    focus["U"][ids[:, 1:].ravel()] = True
    focus["b_o"][ids[:, 1:].ravel()] = True
    return focus


def sequence_objective(call: Call) -> Objective:
    params, token_ids = call.args
    return Objective(sequence_loss_of(params, token_ids), dict(params), rows_that_matter(params, token_ids))


def backward_agrees_with_finite_differences(directions: int = 2, coordinates: int = 3) -> Judge:
    return agrees_with_finite_differences(sequence_objective, lambda value: value, directions, coordinates)


def on(model: dict[str, np.ndarray], vocab: int, *shapes: tuple[int, ...], h0: tuple[int, ...] | None = None):
    """Inputs on a fixed model: token ids of each shape (and an h0 of that shape), one call each."""
    def inputs(rng):
        return [(model, rng.integers(0, vocab, size=shape)) + ((rng.normal(size=h0),) if h0 else ())
                for shape in shapes]
    return inputs


P = rnn_lm(7, 3, 5, named_rng("rnn: the model P"))       # V = 7, d = 3, H = 5
Q = rnn_lm(6, 4, 3, named_rng("rnn: the model Q"), 1.5)  # V = 6, d = 4, H = 3, larger weights

CHECKS = [
    Check(F["init_rnn_params"], "returns E (7, 3), W_e (5, 3), W_h (5, 5), b_h (5,), U (7, 5), b_o (7,) "
          "for V = 7, d = 3, H = 5", 1, fixed((7, 3, 5, 0)), has_shapes),
    Check(F["init_rnn_params"], "finite entries within [-1, 1]; the weight matrices E, W_e, W_h, U not constant", 1,
          fixed((7, 3, 5, 0), (40, 16, 32, 3), (40, 16, 2, 5)), has_valid_values),  # H = 2: a bound 2/√H exceeds 1
    Check(F["init_rnn_params"], "the same seed gives identical values, a different seed different ones", 0.75,
          fixed((7, 3, 5, 0), (7, 3, 5, 0), (7, 3, 5, 1)), proper_parameters(seeded)),
    Check(F["rnn_forward"], "logits (N, T, V) match nn.Embedding → nn.RNN → nn.Linear (N = 3, T = 4, h0 = None)", 3,
          on(P, 7, (3, 4)), matches_reference(pick=lambda v: v[0], where="the logits")),
    Check(F["rnn_forward"], "hiddens (N, T, H) match nn.RNN's outputs (N = 3, T = 4, h0 = None)", 3,
          on(P, 7, (3, 4)), matches_reference(pick=lambda v: v[1], where="the hiddens")),
    Check(F["rnn_forward"], "starts from the given h0 (N = 2, T = 2)", 2, on(P, 7, (2, 2), h0=(2, 5)), forward_agrees),
    Check(F["rnn_forward"], "one sequence, N = 1 (T = 5)", 1.5, on(P, 7, (1, 5)), forward_agrees),
    Check(F["next_word_probs"], "the softmax of the last position's logits for a prefix of 4 words", 1.5,
          on(P, 7, (4,)), agrees),
    Check(F["next_word_probs"], "a one-word prefix (T = 1)", 1, on(P, 7, (1,)), agrees),
    Check(F["sequence_loss"], "the mean next-word cross-entropy over N·(T-1) positions (N = 3, T = 5)", 3,
          on(P, 7, (3, 5)), agrees),
    Check(F["sequence_loss"], "the shortest sequences, T = 2: one prediction each (N = 4)", 2.5,
          on(P, 7, (4, 2)), agrees),
    Check(F["rnn_backward"], "matches autograd's gradient for every parameter (N = 2, T = 4)", 3,
          on(P, 7, (2, 4)), agrees),
    Check(F["rnn_backward"], "agrees with centred finite differences of sequence_loss "
          "(sampled entries and random directions of every parameter)", 2.5,
          on(Q, 6, (2, 5)), backward_agrees_with_finite_differences()),
    Check(F["rnn_backward"], "T = 2 and N = 1", 1, on(P, 7, (1, 2)), agrees),
]
