"""Judges: turn what the student's function returned into a verdict with feedback.

Every message names the call (argument shapes, the small inputs themselves), what was expected
and what came back (shape, or the first differing index with both values and the max abs/rel
error), and a hint when the output matches a known mistake from hints.py.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from autograder import numerics, reference
from autograder.checks import Call, Judge, Verdict
from autograder.hints import MISTAKES, Mistake

SMALL = 12  # arrays with at most this many entries are shown in full in feedback


@dataclass(frozen=True)
class Rng:
    """An argument that is `np.random.default_rng(seed)`; the harness builds it in the child."""

    seed: int


def materialise(value: Any) -> Any:
    """The grader-side value of an argument (a fresh Generator for Rng, copies of arrays)."""
    if isinstance(value, Rng):
        return np.random.default_rng(value.seed)
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, dict):
        return {k: materialise(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(materialise(v) for v in value)
    return value


def evaluate(fn: Callable[..., Any], call: Call) -> Any:
    """fn(*args, **kwargs) on fresh copies of the call's arguments."""
    return fn(*materialise(call.args), **materialise(call.kwargs))


def show(value: Any) -> str:
    """An argument as feedback shows it: small arrays in full, big ones by shape."""
    if isinstance(value, Rng):
        return f"np.random.default_rng({value.seed})"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k!r}: {show(v)}" for k, v in value.items()) + "}"
    if isinstance(value, np.ndarray):
        if value.size <= SMALL:
            return np.array2string(value, precision=6, separator=", ").replace("\n", "")
        return f"array of shape {value.shape}"
    return repr(value)


def describe_call(function: str, call: Call) -> str:
    """`softmax(logits=array of shape (4, 7))`: the call a student can reproduce."""
    module, name = function.split(".")
    params = list(inspect.signature(reference.GRADED[module][name]).parameters)
    shown = [f"{params[i] if i < len(params) else '?'}={show(a)}" for i, a in enumerate(call.args)]
    shown += [f"{k}={show(v)}" for k, v in call.kwargs.items()]
    return f"{name}({', '.join(shown)})"


def difference(got: Any, expected: Any, where: str = "the result",
               rtol: float = numerics.RTOL, atol: float = numerics.ATOL) -> str | None:
    """None when `got` matches `expected` (same structure, shapes, values); else what differs."""
    if isinstance(expected, dict):
        if not isinstance(got, dict):
            return f"{where}: expected a dict, got {numerics.describe(got)}"
        missing = [k for k in expected if k not in got]
        if missing:
            return f"{where}: missing key(s) {', '.join(map(repr, missing))}"
        for k in expected:
            found = difference(got[k], expected[k], f"{where}[{k!r}]", rtol, atol)
            if found:
                return found
        return None
    if isinstance(expected, (tuple, list)) and not _is_numeric_list(expected):
        if not isinstance(got, (tuple, list)) or len(got) != len(expected):
            return f"{where}: expected {len(expected)} values, got {numerics.describe(got)}"
        for i, (g, e) in enumerate(zip(got, expected)):
            found = difference(g, e, f"{where}[{i}]", rtol, atol)
            if found:
                return found
        return None
    try:
        got_array = numerics.as_float64(got)
    except numerics.NotNumeric as error:
        return f"{where}: {error}"
    expected_array = np.asarray(expected, dtype=np.float64)
    if expected_array.ndim == 0 and got_array.size == 1:
        got_array = got_array.reshape(())
    if got_array.shape != expected_array.shape:
        kind = "a single number" if expected_array.ndim == 0 else f"shape {expected_array.shape}"
        return f"{where}: expected {kind}, got shape {got_array.shape}"
    diff = numerics.compare(got_array, expected_array, rtol, atol)
    return None if diff.ok else f"{where}: {diff.sentence()}"


def _is_numeric_list(value) -> bool:
    return isinstance(value, list) and all(isinstance(v, (int, float, np.number)) for v in value)


def matching_mistake(got: Any, call: Call, mistakes: Sequence[Mistake]) -> Mistake | None:
    """The first known mistake whose output `got` reproduces (NaN where it has NaN counts)."""
    for mistake in mistakes:
        try:
            with np.errstate(all="ignore"):
                wrong = evaluate(mistake.wrong, call)
            got_array, wrong_array = numerics.as_float64(got), np.asarray(wrong, dtype=np.float64)
        except Exception:  # a mistake that does not apply to these inputs
            continue
        if got_array.shape == wrong_array.shape and np.allclose(
                got_array, wrong_array, rtol=numerics.RTOL, atol=numerics.ATOL, equal_nan=True):
            return mistake
    return None


def feedback(function: str, call: Call, problem: str, hint: str | None = None) -> str:
    text = f"Called {describe_call(function, call)}.\n{problem[0].upper()}{problem[1:]}."
    return text + (f"\nHint: {hint}" if hint else "")


def matches_reference(function: str, expected: Callable[..., Any] | None = None,
                      mistakes: Sequence[Mistake] | None = None,
                      pick: Callable[[Any], Any] = lambda value: value,
                      rtol: float = numerics.RTOL, atol: float = numerics.ATOL) -> Judge:
    """A judge: every call's value (after `pick`) equals the torch reference's on the same inputs.

    expected defaults to reference.<function>; mistakes to hints.MISTAKES[function]; `pick`
    selects the graded part of a structured return value (both sides).
    """
    module, name = function.split(".")
    expected = expected or reference.GRADED[module][name]
    mistakes = MISTAKES.get(function, []) if mistakes is None else mistakes

    def judge(calls: Sequence[Call], values: Sequence[Any]) -> Verdict:
        for call, value in zip(calls, values):
            try:
                got = pick(value)
            except Exception:
                return Verdict(False, feedback(function, call, f"the result has the wrong form: {numerics.describe(value)}"))
            problem = difference(got, pick(evaluate(expected, call)), rtol=rtol, atol=atol)
            if problem:
                mistake = matching_mistake(got, call, mistakes)
                return Verdict(False, feedback(function, call, problem, mistake and mistake.hint))
        return Verdict(True)

    return judge


def calls_with(*arg_tuples: tuple, probe: str = "call") -> Callable[[], list[Call]]:
    """make_calls for a check that calls the function once per argument tuple."""
    return lambda: [Call(args=args, probe=probe) for args in arg_tuples]
