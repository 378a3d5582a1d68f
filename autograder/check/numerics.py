"""Small pure numeric functions: float64 conversion of what a child sent, error measures, and
centred finite differences.

Tolerances. Every correct float64 implementation (loops or vectorised, any algebraically equal
formula) agrees with the torch reference to a few ulps times the condition of the computation;
for these small inputs that is below 1e-12 relative. RTOL = 1e-6 leaves six orders of magnitude of
room, while every mistake in hints.py moves the answer by more than 1e-3.
Finite differences: a centred difference with step eps has truncation error O(eps² |f'''|) and
rounding error O(u |f| / eps) with u = 2.2e-16; eps = 1e-6 balances them at about 1e-10 for
functions of order 1 (CS231n's gradient_check uses 1e-5 in the same way), so FD_RTOL = 1e-5
with FD_ATOL = 1e-7 passes every correct gradient and fails a gradient that is wrong in any
coordinate by more than that.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

RTOL = 1e-6
ATOL = 1e-9
FD_EPS = 1e-6
FD_RTOL = 1e-5
FD_ATOL = 1e-7


class NotNumeric(ValueError):
    """An observation that cannot be read as the float array the contract asks for."""


def as_float64(value: Any) -> np.ndarray:
    """A plain float64 ndarray copy of a decoded observation (arrays, scalars, lists of numbers).

    Decoded observations are already plain arrays and Python scalars (protocol.decode), so this
    only has to reject what is not numeric: strings, None, dicts, ragged lists.
    """
    if isinstance(value, (str, bytes, dict)) or value is None:
        raise NotNumeric(f"expected numbers, got {type(value).__name__}")
    try:
        array = np.array(value, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise NotNumeric(f"expected numbers, got {describe(value)}") from error
    return np.array(array, dtype=np.float64, copy=True)  # base class, owned, writable


def describe(value: Any) -> str:
    """A short description of an observation for feedback: its type and shape."""
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape}"
    if isinstance(value, (list, tuple)):
        return f"a {type(value).__name__} of length {len(value)}"
    return f"a {type(value).__name__}"


@dataclass(frozen=True)
class Difference:
    """How far `got` is from `expected`: the worst entry and the first entry out of tolerance."""

    max_abs: float
    max_rel: float
    first_index: tuple[int, ...] | None
    expected_at: float | None
    got_at: float | None
    nonfinite: bool

    @property
    def ok(self) -> bool:
        return self.first_index is None and not self.nonfinite

    def sentence(self) -> str:
        """One line a student can act on."""
        if self.ok:
            return "values agree"
        parts = []
        if self.first_index == ():
            parts.append(f"expected {self.expected_at:.10g}, got {self.got_at:.10g} "
                         f"(abs error {self.max_abs:.3g}, rel error {self.max_rel:.3g})")
        else:
            if self.first_index is not None:
                parts.append(f"first difference at index {self.first_index}: "
                             f"expected {self.expected_at:.10g}, got {self.got_at:.10g}")
            parts.append(f"max abs error {self.max_abs:.3g}, max rel error {self.max_rel:.3g}")
        if self.nonfinite:
            parts.append("your result holds NaN or inf where finite values are due")
        return "; ".join(parts)


def compare(got: np.ndarray, expected: np.ndarray, rtol: float = RTOL, atol: float = ATOL) -> Difference:
    """Compare two float64 arrays of the same shape; NaN/inf in `got` where `expected` is finite fails."""
    got = np.asarray(got, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    if got.shape != expected.shape:
        raise ValueError("compare() needs equal shapes; check shapes first")
    bad_finite = ~np.isfinite(got) & np.isfinite(expected)
    with np.errstate(invalid="ignore", over="ignore"):
        abs_err = np.abs(got - expected)
        abs_err = np.where(np.isnan(abs_err) | bad_finite, np.inf, abs_err)
        rel_err = abs_err / np.maximum(np.abs(expected), np.finfo(float).tiny)
        wrong = abs_err > atol + rtol * np.abs(expected)
    first = tuple(int(i) for i in np.argwhere(wrong)[0]) if wrong.any() else None
    return Difference(
        max_abs=float(abs_err.max(initial=0.0)),
        max_rel=float(rel_err.max(initial=0.0)),
        first_index=first,
        expected_at=None if first is None else float(expected[first]),
        got_at=None if first is None else float(got[first]),
        nonfinite=bool(bad_finite.any()),
    )


def close(got: np.ndarray, expected: np.ndarray, rtol: float = RTOL, atol: float = ATOL) -> bool:
    """Same shape and within tolerance (used to match an output against a known mistake)."""
    got, expected = np.asarray(got, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    return got.shape == expected.shape and compare(got, expected, rtol, atol).ok


def centred_difference(f: Callable[[np.ndarray], float], theta: np.ndarray, direction: np.ndarray,
                       eps: float = FD_EPS) -> float:
    """(f(θ + εu) - f(θ - εu)) / 2ε: the directional derivative of f at θ along u, any shape."""
    return (f(theta + eps * direction) - f(theta - eps * direction)) / (2 * eps)


def random_directions(shape: tuple[int, ...], count: int, rng: np.random.Generator) -> list[np.ndarray]:
    """`count` unit directions of the given shape (gradcheck's fast mode probes a few of these)."""
    directions = []
    for _ in range(count):
        u = rng.normal(size=shape)
        directions.append(u / np.linalg.norm(u))
    return directions


def sampled_coordinates(shape: tuple[int, ...], count: int, rng: np.random.Generator) -> list[tuple[int, ...]]:
    """Up to `count` distinct coordinates of an array of `shape` (all of them when it is small)."""
    size = int(np.prod(shape))
    flat = np.arange(size) if size <= count else rng.choice(size, size=count, replace=False)
    return [tuple(int(i) for i in np.unravel_index(k, shape)) for k in np.sort(flat)]
