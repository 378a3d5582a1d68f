"""Known mistakes as data, for hints.

Each Mistake computes what a typical wrong version of a graded function returns on the same
inputs. When a student's output matches it (and not the reference), the feedback names the
mistake. Judges look these up by function (`MISTAKES["losses.softmax"]`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np


@dataclass(frozen=True)
class Mistake:
    hint: str                        # what to tell the student
    wrong: Callable[..., Any]        # the wrong version: same arguments as the graded function


def _exp_normalise(z, axis):
    with np.errstate(over="ignore", invalid="ignore"):
        e = np.exp(z)
        return e / e.sum(axis=axis, keepdims=True)


def _stable_log_softmax(z, axis=-1):
    shifted = z - z.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def _rows(logits, targets):
    z = np.asarray(logits, dtype=np.float64)
    t = np.asarray(targets)
    return (z[None], t.reshape(1)) if z.ndim == 1 else (z, t)


def _picked(log_probs, targets):
    return log_probs[np.arange(len(targets)), targets]


def _naive_log_softmax(z):
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        return np.log(_exp_normalise(z, -1))


OVERFLOW = ("exp() overflows for large logits: subtract the maximum of each row first "
            "(softmax(z) = softmax(z - max z)), so the largest exponent is exp(0) = 1.")
WRONG_AXIS = ("normalise over the last axis (axis=-1, keepdims=True): each row of logits is one "
              "distribution over the vocabulary.")
SUM_NOT_MEAN = "use the mean over the examples, not the sum (divide by N)."
LOG_OF_SOFTMAX = ("log(softmax(z)) gives log(0) = -inf when a probability underflows: compute "
                  "z - max z - log(sum(exp(z - max z))) directly (log-sum-exp).")

MISTAKES: dict[str, list[Mistake]] = {
    "losses.softmax": [
        Mistake(OVERFLOW, lambda z: _exp_normalise(np.asarray(z, float), -1)),
        Mistake(WRONG_AXIS, lambda z: _exp_normalise(np.asarray(z, float) - np.max(z), 0)),
        Mistake(WRONG_AXIS + " Dividing by the sum over the whole array mixes the rows.",
                lambda z: _exp_normalise(np.asarray(z, float) - np.max(z), None)),
        Mistake("divide by the sum of the exponentials so each row sums to 1.",
                lambda z: np.exp(np.asarray(z, float) - np.max(z, axis=-1, keepdims=True))),
    ],
    "losses.log_softmax": [
        Mistake(LOG_OF_SOFTMAX, lambda z: _naive_log_softmax(np.asarray(z, float))),
        Mistake(OVERFLOW, lambda z: np.asarray(z, float) - np.log(np.exp(np.asarray(z, float)).sum(-1, keepdims=True))),
        Mistake(WRONG_AXIS, lambda z: _stable_log_softmax(np.asarray(z, float), axis=0)),
    ],
    "losses.cross_entropy": [
        Mistake(SUM_NOT_MEAN, lambda z, t: -_picked(_stable_log_softmax(_rows(z, t)[0]), _rows(z, t)[1]).sum()),
        Mistake("the loss is the NEGATIVE log-probability of the right word (it is ≥ 0).",
                lambda z, t: _picked(_stable_log_softmax(_rows(z, t)[0]), _rows(z, t)[1]).mean()),
        Mistake("take the log of the probability: cross-entropy is -log p(correct word).",
                lambda z, t: -_picked(np.exp(_stable_log_softmax(_rows(z, t)[0])), _rows(z, t)[1]).mean()),
        Mistake(LOG_OF_SOFTMAX, lambda z, t: -_picked(_naive_log_softmax(_rows(z, t)[0]), _rows(z, t)[1]).mean()),
        Mistake("average over the N examples only, not over all N·V entries of the one-hot product.",
                lambda z, t: -_picked(_stable_log_softmax(_rows(z, t)[0]), _rows(z, t)[1]).sum() / _rows(z, t)[0].size),
    ],
    "losses.square_loss": [
        Mistake("the lecture's loss has a factor ½: L = ½(y - o)².",
                lambda y, o: np.mean((np.asarray(y, float) - np.asarray(o, float)) ** 2)),
        Mistake(SUM_NOT_MEAN, lambda y, o: np.sum(0.5 * (np.asarray(y, float) - np.asarray(o, float)) ** 2)),
    ],
}
