"""How a function is called and observed, the same code in the child and in the grader.

The child runs a probe on the student's function; the grader runs the very same probe on the
reference and on each known mistake, so an expected observation is made exactly like the observed
one. `Probe.COURSE` probes are the course's own child-side code, named "module:function".
"""

from __future__ import annotations

import importlib
from typing import Any, Callable

from autograder.registry import GradedFunction, Probe


def call(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """The return value."""
    return function(*args, **kwargs)


def in_place(function: Callable[..., Any], first: dict, *rest: Any, **kwargs: Any) -> dict[str, Any]:
    """A function that updates the dict it is given in place (an SGD step): what the caller's own
    arrays hold afterwards, the keys rebound to new objects, and the other arguments afterwards."""
    originals = dict(first)
    function(first, *rest, **kwargs)
    return {"updated": originals,
            "rebound": [k for k in originals if first.get(k) is not originals[k]],
            "after": list(rest)}


def probe_of(function: GradedFunction) -> Callable[..., Any]:
    """The probe that calls and observes `function`."""
    if function.probe is Probe.CALL:
        return call
    if function.probe is Probe.IN_PLACE:
        return in_place
    module, _, name = function.course_probe.partition(":")
    return getattr(importlib.import_module(module), name)
