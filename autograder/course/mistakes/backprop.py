"""Part 2: wrong versions of tiny_forward, tiny_backward and cross_entropy_grad (independent NumPy
versions with a switch per mistake; each Mistake flips one switch)."""

from __future__ import annotations

import numpy as np

from autograder.check.mistakes import Mistake
from autograder.course import COURSE
from autograder.course.hints.backprop import (
    BATCH_MEAN,
    CE_GRAD_MEAN,
    CE_GRAD_ONEHOT,
    CE_GRAD_SIGN,
    FLOAT64,
    GLOBAL_MAX,
    H_FACTOR,
    HALF,
    O_FACTOR,
    SIGN,
    SKIPS_HIDDEN,
    SUM_NOT_MEAN,
)
from autograder.course.mistakes.common import exp_normalise, rows, tiny_backward, tiny_forward

F = COURSE.by_name


def _ce_grad(logits, targets, *, per_row=True, sign=1.0, onehot=True, row_max=True, dtype=np.float64):
    z, t = rows(logits, targets)
    z = z.astype(dtype)
    hot = np.zeros_like(z)
    hot[np.arange(len(t)), t] = 1.0
    shift = z.max(-1, keepdims=True) if row_max else z.max()
    grad = sign * (exp_normalise(z - shift, -1) - (hot if onehot else 0.0))
    grad = grad / (len(z) if per_row else 1)
    return grad[0] if np.ndim(logits) == 1 else grad


MISTAKES = {
    F["tiny_forward"]: [
        Mistake(SUM_NOT_MEAN, lambda x, y, w1, w2: tiny_forward(x, y, w1, w2, mean=False)),
        Mistake(HALF, lambda x, y, w1, w2: tiny_forward(x, y, w1, w2, half=False)),
        Mistake(SKIPS_HIDDEN, lambda x, y, w1, w2: tiny_forward(x, y, w1, w2, skip_h=True)),
    ],
    F["tiny_backward"]: [
        Mistake(O_FACTOR, lambda cache: tiny_backward(cache, o_factor=False)),
        Mistake(O_FACTOR, lambda cache: tiny_backward(cache, o_factor_w2=False)),  # forgotten in dL/dw2 only
        Mistake(H_FACTOR, lambda cache: tiny_backward(cache, h_factor=False)),
        Mistake(SIGN, lambda cache: tiny_backward(cache, sign=-1.0)),
        Mistake(BATCH_MEAN, lambda cache: tiny_backward(cache, mean=False)),
    ],
    F["cross_entropy_grad"]: [
        Mistake(CE_GRAD_MEAN, lambda z, t: _ce_grad(z, t, per_row=False)),
        Mistake(CE_GRAD_SIGN, lambda z, t: _ce_grad(z, t, sign=-1.0)),
        Mistake(CE_GRAD_ONEHOT, lambda z, t: _ce_grad(z, t, onehot=False)),
        Mistake(GLOBAL_MAX, lambda z, t: _ce_grad(z, t, row_max=False)),
        Mistake(FLOAT64, lambda z, t: _ce_grad(z, t, dtype=np.float32)),
    ],
}
