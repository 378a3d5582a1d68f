"""`python -m autograder replay "<check name>"`: one check's call, to run by hand.

Writes the call's arrays to `replay_<function>.npz` (numpy's own format, loaded without pickle)
and prints the three lines of Python that call the student's function on them: the arguments
exactly as the grader sends them (numbers inline, dicts spelled out, a seeded generator as
`np.random.default_rng(seed)`). Functions observed through a probe are called like the checks
call them: an SGD step's updated dict is printed after the call, a course probe is called itself.
"""

from __future__ import annotations

import difflib
import math
from pathlib import Path
from typing import Any

import numpy as np

from autograder.check import Call, Check, Rng
from autograder.registry import Course, Probe


class ReplayError(ValueError):
    """No such check or call; the message says what there is."""


def find_check(checks: list[Check], name: str) -> Check:
    """The check called `name`, or the only one whose name contains it."""
    exact = [c for c in checks if c.name == name]
    found = exact or [c for c in checks if name.lower() in c.name.lower()]
    if len(found) == 1:
        return found[0]
    if found:
        raise ReplayError(f"{len(found)} checks match {name!r}; give the whole name, e.g. \"{found[0].name}\"")
    near = difflib.get_close_matches(name, [c.name for c in checks], n=3, cutoff=0.3)
    raise ReplayError(f"no check is named {name!r}" + (f"; did you mean: {'; '.join(near)}" if near else ""))


class _Arguments:
    """Python source for each argument; the arrays it refers to, by their key in the .npz."""

    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}

    def source(self, value: Any, key: str) -> str:
        if isinstance(value, np.ndarray):
            self.arrays[key] = value
            return f'inputs["{key}"]'
        if isinstance(value, Rng):
            return f"np.random.default_rng({value.seed})"
        if isinstance(value, dict):
            return "{" + ", ".join(f"{k!r}: {self.source(v, f'{key}.{k}')}" for k, v in value.items()) + "}"
        if isinstance(value, (list, tuple)):
            inner = ", ".join(self.source(v, f"{key}.{i}") for i, v in enumerate(value))
            return f"[{inner}]" if isinstance(value, list) else f"({inner}{',' if len(value) == 1 else ''})"
        if isinstance(value, np.generic):
            value = value.item()  # the protocol sends a NumPy scalar as a Python number
        if isinstance(value, float) and not math.isfinite(value):
            return f"float({str(value)!r})"
        return repr(value)


def replay_lines(check: Check, call: Call, file: str) -> tuple[list[str], dict[str, np.ndarray]]:
    """The three lines that call the function on `call` (its arrays loaded from `file`), and those arrays."""
    function = check.function
    arguments = _Arguments()
    names = function.parameters
    shown = [arguments.source(a, names[i] if i < len(names) else f"arg{i}") for i, a in enumerate(call.args)]
    shown += [f"{k}={arguments.source(v, k)}" for k, v in call.kwargs.items()]
    target = f"{function.module}.{function.name}"
    imports = f"import numpy as np, {function.module}"
    if function.probe is Probe.COURSE:
        module, _, probe = function.course_probe.partition(":")
        imports += f", {module} as probes"
        last = f"print(probes.{probe}({target}, {', '.join(shown)}))"
    elif function.probe is Probe.IN_PLACE and shown:
        first = names[0]
        last = f"{target}({', '.join([f'{first} := {shown[0]}', *shown[1:]])}); print({first})"
    else:
        last = f"print({target}({', '.join(shown)}))"
    return [imports, f'inputs = np.load("{file}")', last], arguments.arrays


def write_replay(check: Check, number: int, folder: Path) -> tuple[Path, list[str]]:
    """Write call `number` (1-based) of `check` to folder/replay_<function>.npz; (its path, the lines)."""
    calls = check.calls
    if not 1 <= number <= len(calls):
        raise ReplayError(f"{check.name!r} makes {len(calls)} call{'s' * (len(calls) != 1)}; "
                          f"--call takes 1 to {len(calls)}")
    path = Path(folder) / f"replay_{check.function.name}.npz"
    lines, arrays = replay_lines(check, calls[number - 1], path.name)
    np.savez(path, **arrays)
    return path, lines


def main(name: str, number: int, folder: Path, course: Course | None = None) -> int:
    """The replay command: write the file, print the lines (exit 2 for an unknown check or call)."""
    from autograder.check import load_checks
    from autograder.registry import load_course

    course = course or load_course()
    try:
        check = find_check(load_checks(course), name)
        path, lines = write_replay(check, number, folder)
    except ReplayError as problem:
        print(f"replay: {problem}")
        return 2
    total = len(check.calls)
    print(f"wrote {path} (the inputs of {check.name!r}" + (f", call {number} of {total}" if total > 1 else "") + ")")
    print("Run these three lines in Python, in the folder of your files:\n")
    print("\n".join(lines))
    print(f"\n(In a notebook, run the last two in a cell after your function's, without `{check.function.module}.`.)")
    return 0
