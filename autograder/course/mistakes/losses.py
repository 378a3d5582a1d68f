"""Part 1: wrong versions of softmax, log_softmax, cross_entropy and square_loss."""

from __future__ import annotations

import numpy as np

from autograder.check.mistakes import Mistake
from autograder.course import COURSE
from autograder.course.hints.losses import (
    FLOAT64,
    GLOBAL_MAX,
    HALF,
    LOG_OF_SOFTMAX,
    MEAN_OVER_ROWS,
    MIXES_ROWS,
    NEGATIVE,
    NOT_NORMALISED,
    OVERFLOW,
    SUM_NOT_MEAN,
    TAKE_THE_LOG,
    WRONG_AXIS,
)
from autograder.course.mistakes.common import exp_normalise, naive_log_softmax, picked, rows, stable_log_softmax

F = COURSE.by_name


def _as_float(z):
    return np.asarray(z, float)


def _as_float32(z):
    return np.asarray(z, np.float32)


def _global_max_log_softmax(z):
    """z - max(z) - log(sum(exp(z - max(z)))) with the maximum of the whole array: -inf - ... for a low row."""
    with np.errstate(divide="ignore", invalid="ignore"):
        shifted = z - np.max(z)
        return shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))


def _ce(log_probs_of, reduce):
    def wrong(z, t):
        zs, ts = rows(z, t)
        return reduce(picked(log_probs_of(zs), ts), zs)
    return wrong


MISTAKES = {
    F["softmax"]: [
        Mistake(OVERFLOW, lambda z: exp_normalise(_as_float(z), -1)),
        Mistake(WRONG_AXIS, lambda z: exp_normalise(_as_float(z) - np.max(z), 0)),
        Mistake(MIXES_ROWS, lambda z: exp_normalise(_as_float(z) - np.max(z), None)),
        Mistake(NOT_NORMALISED, lambda z: np.exp(_as_float(z) - np.max(z, axis=-1, keepdims=True))),
        Mistake(GLOBAL_MAX, lambda z: exp_normalise(_as_float(z) - np.max(z), -1)),
        Mistake(FLOAT64, lambda z: exp_normalise(_as_float32(z) - np.max(_as_float32(z), -1, keepdims=True), -1)),
    ],
    F["log_softmax"]: [
        Mistake(LOG_OF_SOFTMAX, lambda z: naive_log_softmax(_as_float(z))),
        Mistake(OVERFLOW, lambda z: _as_float(z) - np.log(np.exp(_as_float(z)).sum(-1, keepdims=True))),
        Mistake(WRONG_AXIS, lambda z: stable_log_softmax(_as_float(z), axis=0)),
        Mistake(GLOBAL_MAX, lambda z: _global_max_log_softmax(_as_float(z))),
        Mistake(FLOAT64, lambda z: stable_log_softmax(_as_float32(z))),
    ],
    F["cross_entropy"]: [
        Mistake(SUM_NOT_MEAN, _ce(stable_log_softmax, lambda p, z: -p.sum())),
        Mistake(NEGATIVE, _ce(stable_log_softmax, lambda p, z: p.mean())),
        Mistake(TAKE_THE_LOG, _ce(lambda z: np.exp(stable_log_softmax(z)), lambda p, z: -p.mean())),
        Mistake(LOG_OF_SOFTMAX, _ce(naive_log_softmax, lambda p, z: -p.mean())),
        Mistake(MEAN_OVER_ROWS, _ce(stable_log_softmax, lambda p, z: -p.sum() / z.size)),
        Mistake(GLOBAL_MAX, _ce(_global_max_log_softmax, lambda p, z: -p.mean())),
        Mistake(FLOAT64, _ce(lambda z: stable_log_softmax(_as_float32(z)), lambda p, z: -p.mean())),
    ],
    F["square_loss"]: [
        Mistake(HALF, lambda y, o: np.mean((_as_float(y) - _as_float(o)) ** 2)),
        Mistake(SUM_NOT_MEAN, lambda y, o: np.sum(0.5 * (_as_float(y) - _as_float(o)) ** 2)),
    ],
}
