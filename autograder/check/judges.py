"""Judges: turn what the student's function returned into a verdict with feedback.

Every message names the call (argument shapes, the small inputs themselves), what was expected
and what came back (shape, or the first differing index with both values and the max abs/rel
error), and a hint when the output matches one of the function's known mistakes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np

from autograder.check import Call, Check, Judge, Verdict, numerics
from autograder.check.feedback import feedback
from autograder.check.mistakes import fingerprint
from autograder.check.observe import observe
from autograder.isolate import protocol

def difference(got: Any, expected: Any, where: str = "the result",
               rtol: float = numerics.RTOL, atol: float = numerics.ATOL) -> str | None:
    """None when `got` matches `expected` (same structure, shapes, values); else what differs.
    Every wrong component of a dict or tuple is named (both gradients of a wrong derivative)."""
    if isinstance(expected, dict):
        if not isinstance(got, dict):
            return f"{where}: expected a dict, got {numerics.describe(got)}"
        missing = [k for k in expected if k not in got]
        if missing:
            return f"{where}: missing key(s) {', '.join(map(repr, missing))}"
        return _every(difference(got[k], expected[k], f"{where}[{k!r}]", rtol, atol) for k in expected)
    if isinstance(expected, (tuple, list)) and not _is_numeric_list(expected):
        if not isinstance(got, (tuple, list)) or len(got) != len(expected):
            return f"{where}: expected {len(expected)} values, got {numerics.describe(got)}"
        return _every(difference(g, e, f"{where}[{i}]", rtol, atol) for i, (g, e) in enumerate(zip(got, expected)))
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


def _every(problems: Iterable[str | None]) -> str | None:
    """The components' problems, one per line, or None when there are none."""
    found = [p for p in problems if p]
    return ";\n".join(found) or None


def _is_numeric_list(value) -> bool:
    return isinstance(value, list) and all(isinstance(v, (int, float, np.number)) for v in value)


def matching_mistake(got: Any, check: Check, call: Call,
                     pick: Callable[[Any], Any] = lambda value: value) -> Any | None:
    """The first known mistake of the check's function whose observation (after `pick`) `got`
    reproduces (NaN where it has NaN counts); dicts and lists match entry by entry."""
    for mistake in check.mistakes:
        try:
            with np.errstate(all="ignore"):
                wrong = pick(mistake.observation(check.function, call))
        except Exception:  # a mistake that does not apply to these inputs
            continue
        if _reproduces(got, wrong):
            return mistake
    return None


def hint_for(got: Any, check: Check, call: Call, pick: Callable[[Any], Any] = lambda value: value) -> str | None:
    mistake = matching_mistake(got, check, call, pick)
    return mistake.hint if mistake else None


def _reproduces(got: Any, wrong: Any) -> bool:
    """Numbers within tolerance of `wrong` (same shape), or the same structure holding such numbers."""
    try:
        got_array, wrong_array = numerics.as_float64(got), np.asarray(wrong, dtype=np.float64)
    except (numerics.NotNumeric, TypeError, ValueError):
        pass
    else:
        return got_array.shape == wrong_array.shape and bool(np.allclose(
            got_array, wrong_array, rtol=numerics.RTOL, atol=numerics.ATOL, equal_nan=True))
    if isinstance(wrong, dict):
        return isinstance(got, dict) and all(k in got and _reproduces(got[k], v) for k, v in wrong.items())
    if isinstance(wrong, (list, tuple)):
        return (isinstance(got, (list, tuple)) and len(got) == len(wrong)
                and all(_reproduces(g, w) for g, w in zip(got, wrong)))
    return isinstance(wrong, str) and isinstance(got, str) and got == wrong


def reference_observation(check: Check, call: Call) -> Any:
    """The reference's observation on `call`, computed once per call per process: the inputs are
    seeded, so it is the same for every submission a worker grades."""
    return _REFERENCE(check, call)


# The reference's observations recorded when the student release was built (build/release.py),
# "<qualname> <call fingerprint>" -> protocol JSON: judged from these, a check needs no torch.
_RECORDED: dict[str, str] = {}


def use_recorded_reference(table: Mapping[str, str]) -> None:
    """Judge from recorded reference observations where they cover a call (the student release)."""
    _RECORDED.update(table)


def recorded_key(check: Check, call: Call) -> str:
    return f"{check.function.qualname} {fingerprint(call)}"


def _reference(check: Check, call: Call) -> Any:
    recorded = _RECORDED.get(recorded_key(check, call)) if _RECORDED else None
    if recorded is not None:
        return protocol.decode(recorded.encode())
    return observe(check.function.reference, check.function, call)


class _PerCall:
    """compute(check, call), cached by the call's identity (a call object lives as long as its check)."""

    def __init__(self, compute: Callable[[Check, Call], Any]) -> None:
        self.compute, self.cache = compute, {}

    def __call__(self, check: Check, call: Call) -> Any:
        hit = self.cache.get(id(call))
        if hit is None or hit[0] is not call:
            hit = self.cache[id(call)] = (call, self.compute(check, call))
        return hit[1]


_REFERENCE = _PerCall(_reference)


def matches_reference(pick: Callable[[Any], Any] = lambda value: value,
                      rtol: float = numerics.RTOL, atol: float = numerics.ATOL,
                      where: str = "the result") -> Judge:
    """A judge: every call's value (after `pick`) equals the reference's observation on the same
    inputs. `pick` selects the graded part of a structured return value (on all three: value,
    reference and mistakes); `where` names that part in feedback ("the cache")."""

    def judge(check: Check, values: Sequence[Any]) -> Verdict:
        for call, value in zip(check.calls, values):
            try:
                got = pick(value)
            except Exception:
                return Verdict(False, feedback(check, call, f"the result has the wrong form: {numerics.describe(value)}"))
            problem = difference(got, pick(reference_observation(check, call)), where, rtol=rtol, atol=atol)
            if problem:
                return Verdict(False, feedback(check, call, problem, hint_for(got, check, call, pick)))
        return Verdict(True)

    return judge


def all_of(*judges: Judge) -> Judge:
    """A judge that passes when every one of `judges` does; the first failure's feedback."""
    def judge(check: Check, values: Sequence[Any]) -> Verdict:
        for each in judges:
            verdict = each(check, values)
            if not verdict.passed:
                return verdict
        return Verdict(True)

    return judge


def provided(main: Judge, side: Judge, job: str) -> Judge:
    """A judge of a side property (grads left unchanged, a seed honoured) that passes only when
    `main` passes on the same calls too: a function that does nothing has every such property,
    and must not earn its points. `job` says what `main` requires ("the step itself is right")."""
    def judge(check: Check, values: Sequence[Any]) -> Verdict:
        verdict = main(check, values)
        if not verdict.passed:
            return Verdict(False, f"{verdict.feedback}\nThis check counts only when {job}.")
        return side(check, values)

    return judge


@dataclass(frozen=True)
class Objective:
    """A scalar loss of named float arrays and the point where its gradient is checked.

    focus: for some names, a boolean mask of the entries the loss depends on (the embedding rows
    of the tokens read); a random probe of a big, mostly-zero gradient would rarely land there,
    so one direction and the sampled coordinates are drawn inside it.
    """

    loss: Callable[[dict[str, np.ndarray]], float]
    point: dict[str, np.ndarray]
    focus: dict[str, np.ndarray] = field(default_factory=dict)


def agrees_with_finite_differences(objective_of: Callable[[Call], Objective],
                                   gradient_of: Callable[[Any], dict[str, Any]],
                                   directions: int = 2, coordinates: int = 3, seed: int = 0) -> Judge:
    """A judge: the returned gradient agrees with centred finite differences of the loss.

    For every name in the objective's point it probes `coordinates` sampled entries and
    `directions` random unit directions (no directions when the coordinates cover every entry),
    comparing the directional derivative ⟨gradient, u⟩ with (L(θ + εu) - L(θ - εu)) / 2ε within
    FD_RTOL/FD_ATOL. `gradient_of` reads the student's value as named arrays ({"w1": g[0], ...}).
    """
    point_of = _PerCall(lambda check, call: objective_of(call).point)
    differences_of = _PerCall(lambda check, call: finite_differences(
        objective_of(call), np.random.default_rng(seed), directions, coordinates))

    def judge(check: Check, values: Sequence[Any]) -> Verdict:
        for call, value in zip(check.calls, values):
            point = point_of(check, call)
            try:
                named = gradient_of(value)
                problem = _gradient_form(named, point)
            except Exception:
                problem = f"the result has the wrong form: {numerics.describe(value)}"
            if not problem:
                got = {k: numerics.as_float64(named[k]).reshape(point[k].shape) for k in point}
                problem = first_disagreement(differences_of(check, call), got)
            if problem:
                return Verdict(False, feedback(check, call, problem, hint_for(value, check, call)))
        return Verdict(True)

    return judge


def _gradient_form(named: dict[str, Any], point: dict[str, np.ndarray]) -> str | None:
    """None when `named` holds a numeric array shaped like each parameter; else what is wrong."""
    for name, theta in point.items():
        if name not in named:
            return f"the result has no gradient for {name!r}"
        try:
            array = numerics.as_float64(named[name])
        except numerics.NotNumeric as error:
            return f"the gradient for {name}: {error}"
        if array.shape != theta.shape and not (theta.ndim == 0 and array.size == 1):
            kind = "a single number" if theta.ndim == 0 else f"shape {theta.shape}"
            return f"the gradient for {name}: expected {kind} (like {name}), got shape {array.shape}"
    return None


@dataclass(frozen=True)
class FiniteDifference:
    """One finite-difference probe of a gradient: an entry (index) or a unit direction (u) of
    the parameter `name`, and the centred difference of the loss there."""

    name: str
    expected: float
    index: tuple[int, ...] | None = None
    u: np.ndarray | None = None
    label: str = ""


def finite_differences(objective: Objective, rng: np.random.Generator,
                       directions: int, coordinates: int) -> list[FiniteDifference]:
    """Sampled entries and random directions of every parameter, with the centred differences
    of the loss: everything about the check that does not depend on the student's gradient."""
    probes = []
    for name, theta in objective.point.items():
        def loss_at(value: np.ndarray, name: str = name) -> float:
            return objective.loss({**objective.point, name: value})

        mask = objective.focus.get(name)
        for index in _coordinates(theta.shape, mask, coordinates, rng):
            def entry_at(x: float, index: tuple[int, ...] = index) -> float:
                changed = theta.copy()  # a one-hot step, without a full-size direction array
                changed[index] = x
                return loss_at(changed)

            probes.append(FiniteDifference(name, numerics.centred_difference(entry_at, theta[index], 1.0), index=index))
        if theta.size <= coordinates:
            continue  # every entry is already checked one by one
        directions_here = numerics.random_directions(theta.shape, directions, rng)
        if mask is not None and mask.any():
            directions_here.append(_direction_inside(mask, rng))
        for i, u in enumerate(directions_here):
            probes.append(FiniteDifference(name, numerics.centred_difference(loss_at, theta, u), u=u,
                                label=f"probe {i + 1} of {len(directions_here)}"))
    return probes


def first_disagreement(probes: Sequence[FiniteDifference], got: dict[str, np.ndarray]) -> str | None:
    """The first probe where the student's gradient and the centred difference disagree, in words."""
    for probe in probes:
        if probe.index is not None:
            value = float(got[probe.name][probe.index])
            if _disagree(value, probe.expected):
                where = f"[{', '.join(map(str, probe.index))}]" if probe.index else ""
                return (f"∂L/∂{probe.name}{where} disagrees with the centred finite difference of the loss: "
                        f"expected {probe.expected:.10g}, your gradient has {value:.10g}")
        else:
            along = float(np.sum(got[probe.name] * probe.u))
            if _disagree(along, probe.expected):
                return (f"the derivative of the loss along a random unit direction u in {probe.name} "
                        f"({probe.label}) disagrees with its centred finite difference: "
                        f"expected {probe.expected:.10g}, your gradient gives ⟨grad {probe.name}, u⟩ = {along:.10g}")
    return None


def _coordinates(shape: tuple[int, ...], mask: np.ndarray | None, count: int,
                 rng: np.random.Generator) -> list[tuple[int, ...]]:
    """Up to `count` sampled entries, inside `mask` when there is one."""
    if mask is None:
        return numerics.sampled_coordinates(shape, count, rng)
    pool = np.flatnonzero(mask)
    picked = np.sort(pool[rng.choice(pool.size, size=min(count, pool.size), replace=False)])
    return [tuple(int(i) for i in np.unravel_index(k, shape)) for k in picked]


def _direction_inside(mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A random unit direction that is zero outside `mask` (drawn only there: masks of big arrays are small)."""
    u = np.zeros(mask.shape)
    u[mask] = numerics.random_directions((int(mask.sum()),), 1, rng)[0]
    return u


def _disagree(got: float, expected: float) -> bool:
    return not numerics.compare(np.array(got), np.array(expected), numerics.FD_RTOL, numerics.FD_ATOL).ok
