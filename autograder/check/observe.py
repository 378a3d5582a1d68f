"""The grader's side of a call: the arguments exactly as the child receives them, and a function
(the reference, a known mistake) observed through the function's probe on them."""

from __future__ import annotations

from typing import Any, Callable

from autograder.check import Call
from autograder.isolate import protocol
from autograder.isolate.probes import probe_of
from autograder.registry import GradedFunction


def materialise(value: Any) -> Any:
    """Fresh copies of arguments as the child decodes them (the protocol's one encoding)."""
    return protocol.decode(protocol.encode(value))


def observe(fn: Callable[..., Any], function: GradedFunction, call: Call) -> Any:
    """What `function`'s probe observes of `fn` (same arguments as `function`) on `call`, as
    plain data (what the child would send back)."""
    args, kwargs = materialise([list(call.args), call.kwargs])
    return materialise(probe_of(function)(fn, *args, **kwargs))
