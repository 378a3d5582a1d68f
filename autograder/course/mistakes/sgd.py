"""Part 3: wrong versions of sgd_step, minibatch_indices, train_tiny and torch_train_step.

sgd_step and torch_train_step are observed through their probes (an in-place update; a model
trained for a few steps), so their wrong versions are plain wrong implementations: the judges
observe them through the same probe as the student's."""

from __future__ import annotations

import numpy as np

from autograder.check.mistakes import Mistake
from autograder.course import COURSE
from autograder.course.hints.sgd import (
    AGAINST_GRADIENT,
    ASCENDS,
    CHANGES_GRADS,
    DROPS_LAST,
    IGNORES_LR,
    LOSS_BEFORE_STEP,
    LOSS_BEFORE_UPDATE,
    MEAN_REDUCTION,
    NO_SHUFFLE,
    REBINDS,
    RNG_ONCE,
    TIMES_LR,
    USE_THE_RNG,
    ZERO_GRAD,
)
from autograder.course.mistakes.common import batches, tiny_backward, tiny_forward

F = COURSE.by_name


def _sgd_rebinds(params, grads, lr):
    for k in params:
        params[k] = params[k] - lr * grads[k]


def _sgd_ascends(params, grads, lr):
    for k in params:
        params[k] += lr * grads[k]


def _sgd_scales_grads(params, grads, lr):
    for k in params:
        grads[k] *= lr
        params[k] -= grads[k]


def _sgd_ignores_lr(params, grads, lr):
    for k in params:
        params[k] -= grads[k]


def _batches_from_np_random(n, batch_size, rng):
    """Ignores `rng`: a fresh unseeded Generator, as np.random.permutation would be."""
    return batches(n, batch_size, np.random.default_rng())


def _train_tiny(x, y, w1, w2, lr, batch_size, epochs, seed, *, loss_after=False, rng_per_epoch=False,
                rate=lambda lr: lr):
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    w1, w2, losses = float(w1), float(w2), []
    rng = np.random.default_rng(seed)
    for _ in range(epochs):
        if rng_per_epoch:
            rng = np.random.default_rng(seed)
        for idx in batches(len(x), batch_size, rng):
            loss, cache = tiny_forward(x[idx], y[idx], w1, w2)
            g1, g2 = tiny_backward(cache)
            w1, w2 = w1 - rate(lr) * g1, w2 - rate(lr) * g2
            losses.append(tiny_forward(x[idx], y[idx], w1, w2)[0] if loss_after else loss)
    return w1, w2, losses


def _torch_step(model, optimizer, inputs, targets, *, zero_grad=True, loss_after=False, reduction="mean"):
    import torch.nn.functional as functional

    def loss_now():
        logits = model(inputs)
        return functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1),
                                        reduction=reduction)

    loss = loss_now()
    if zero_grad:
        optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss_now().item() if loss_after else loss.item()


MISTAKES = {
    F["sgd_step"]: [
        Mistake(REBINDS, _sgd_rebinds),
        Mistake(ASCENDS, _sgd_ascends),
        Mistake(CHANGES_GRADS, _sgd_scales_grads),
        Mistake(IGNORES_LR, _sgd_ignores_lr),
    ],
    F["minibatch_indices"]: [
        Mistake(NO_SHUFFLE, lambda n, b, rng: batches(n, b, rng, shuffle=False)),
        Mistake(DROPS_LAST, lambda n, b, rng: batches(n, b, rng, keep_last=False)),
        Mistake(USE_THE_RNG, _batches_from_np_random),  # never reproducible: judges recognise it by its form
    ],
    F["train_tiny"]: [
        Mistake(LOSS_BEFORE_UPDATE, lambda *args: _train_tiny(*args, loss_after=True)),
        Mistake(RNG_ONCE, lambda *args: _train_tiny(*args, rng_per_epoch=True)),
        Mistake(TIMES_LR, lambda *args: _train_tiny(*args, rate=lambda lr: 1.0)),
        Mistake(AGAINST_GRADIENT, lambda *args: _train_tiny(*args, rate=lambda lr: -lr)),
    ],
    F["torch_train_step"]: [
        Mistake(ZERO_GRAD, lambda *args: _torch_step(*args, zero_grad=False)),
        Mistake(LOSS_BEFORE_STEP, lambda *args: _torch_step(*args, loss_after=True)),
        Mistake(MEAN_REDUCTION, lambda *args: _torch_step(*args, reduction="sum")),
    ],
}
