"""Feedback text: the call a student can reproduce, and one sentence on what went wrong."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from autograder.check import Call, Check, Rng

SMALL = 12  # arrays with at most this many entries are shown in full in feedback


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


def describe_call(check: Check, call: Call) -> str:
    """`softmax(logits=array of shape (4, 7))`: the call a student can reproduce (a check may
    describe its calls its own way, e.g. a model the probe builds)."""
    if check.describe is not None:
        return check.describe(call)
    function = check.function
    names = function.parameters
    shown = [f"{names[i] if i < len(names) else '?'}={show(a)}" for i, a in enumerate(call.args)]
    shown += [f"{k}={show(v)}" for k, v in call.kwargs.items()]
    return f"{function.name}({', '.join(shown)})"


def sentence(problem: str) -> str:
    return f"{problem[0].upper()}{problem[1:]}."


def feedback(check: Check, call: Call, problem: str, hint: str | None = None) -> str:
    text = f"Called {describe_call(check, call)}.\n{sentence(problem)}"
    return text + (f"\nHint: {hint}" if hint else "")


def several_calls(check: Check, calls: Sequence[Call], problem: str, hint: str | None = None) -> str:
    """Feedback for a verdict on calls judged together."""
    made = " and ".join(describe_call(check, call) for call in calls)
    return f"Called {made}.\n{sentence(problem)}" + (f"\nHint: {hint}" if hint else "")
