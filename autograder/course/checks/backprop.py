"""Part 2 checks, visible to students: tiny_forward, tiny_backward, cross_entropy_grad."""

from __future__ import annotations

from typing import Any

import numpy as np

from autograder.check import Call, Check, fixed, named_rng
from autograder.check.judges import Objective, agrees_with_finite_differences, all_of, matches_reference
from autograder.course import COURSE
from autograder.course.checks.losses import FAR_APART
from autograder.course.inputs import rows_far_apart, tiny_cache

F = COURSE.by_name


def tiny_objective(call: Call) -> Objective:
    """The tiny network's loss as a function of (w1, w2), at the cache's weights."""
    from autograder.course import reference

    cache = call.args[0]
    return Objective(lambda w: float(reference.tiny_loss(cache["x"], cache["y"], w["w1"], w["w2"])),
                     {"w1": np.array(cache["w1"]), "w2": np.array(cache["w2"])})


def cross_entropy_objective(call: Call) -> Objective:
    """cross_entropy as a function of the logits, at the call's logits."""
    from autograder.course import reference

    logits, targets = call.args
    return Objective(lambda z: reference.cross_entropy(z["logits"], targets),
                     {"logits": np.asarray(logits, dtype=float)})


def weight_gradients(value: Any) -> dict[str, Any]:
    """(dL_dw1, dL_dw2) by the weight's name."""
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise ValueError("expected two values")
    return {"w1": value[0], "w2": value[1]}


def named_gradients(value: Any) -> dict[str, Any]:
    """(dL_dw1, dL_dw2) by the contract's names, for feedback like "the result['dL_dw1']"."""
    w1, w2 = weight_gradients(value).values()
    return {"dL_dw1": w1, "dL_dw2": w2}


tiny_loss_agrees = matches_reference(pick=lambda v: v[0], where="the loss L")
tiny_cache_agrees = matches_reference(pick=lambda v: v[1], where="the cache")
tiny_forward_agrees = all_of(tiny_loss_agrees, tiny_cache_agrees)
tiny_backward_agrees = matches_reference(pick=named_gradients)
tiny_backward_fd = agrees_with_finite_differences(tiny_objective, weight_gradients)
cross_entropy_grad_fd = agrees_with_finite_differences(cross_entropy_objective, lambda value: {"logits": value})
ce_grad_agrees = matches_reference()

_batch = named_rng("backprop: a batch of 6")
X6, Y6 = _batch.normal(size=6), _batch.uniform(-0.9, 0.9, size=6)
ON_THE_BATCH = (X6, Y6, 0.7, -1.3)

CHECKS = [
    Check(F["tiny_forward"], "the loss L = mean(½(y - o)²) on a batch of 6", 2.5,
          fixed(ON_THE_BATCH), tiny_loss_agrees),
    Check(F["tiny_forward"], "the cache holds x, y, w1, w2, h = tanh(w1·x) and o = tanh(w2·h)", 1.5,
          fixed(ON_THE_BATCH), tiny_cache_agrees),
    Check(F["tiny_forward"], "one example given as Python floats", 1,
          fixed((0.8, -0.4, 1.1, 0.6)), tiny_forward_agrees),
    Check(F["tiny_backward"], "matches autograd's (dL/dw1, dL/dw2) on a batch of 6", 3,
          fixed((tiny_cache(*ON_THE_BATCH),)), tiny_backward_agrees),
    Check(F["tiny_backward"], "agrees with centred finite differences of the loss on a batch of 6", 2,
          fixed((tiny_cache(*ON_THE_BATCH),)), tiny_backward_fd),
    Check(F["tiny_backward"], "one example: a cache of 0-d arrays from float inputs", 1.5,
          fixed((tiny_cache(0.8, -0.4, 1.1, 0.6),)), tiny_backward_agrees),
    Check(F["cross_entropy_grad"], "matches autograd's gradient on random logits (5, 7)", 2.5,
          lambda rng: [(rng.normal(size=(5, 7)), rng.integers(0, 7, size=5))], ce_grad_agrees),
    Check(F["cross_entropy_grad"], "agrees with centred finite differences of cross_entropy (4, 6)", 1,
          lambda rng: [(rng.normal(size=(4, 6)), rng.integers(0, 6, size=4))], cross_entropy_grad_fd),
    Check(F["cross_entropy_grad"], "one example: logits (V,) and an int target give a (V,) gradient", 1,
          lambda rng: [(rng.normal(size=5), 3)], ce_grad_agrees),
    Check(F["cross_entropy_grad"], FAR_APART, 1,
          lambda rng: [(rows_far_apart(rng, 4, 6), rng.integers(0, 6, size=4))], ce_grad_agrees),
]
