"""Part 2 checks, visible to students: tiny_forward, tiny_backward, cross_entropy_grad."""

from __future__ import annotations

from typing import Any

import numpy as np

from autograder import reference
from autograder.checks import Call, Check
from autograder.checks.judges import (
    Objective,
    agrees_with_finite_differences,
    all_of,
    calls_with,
    matches_reference,
)

rng = np.random.default_rng(201)


def tiny_cache(x, y, w1: float, w2: float) -> dict:
    """The cache tiny_backward is called with: exactly the six keys (x, y, h, o arrays; w1, w2 floats)."""
    return reference.tiny_forward(x, y, w1, w2)[1]


def tiny_objective(call: Call) -> Objective:
    """The tiny network's loss as a function of (w1, w2), at the cache's weights."""
    cache = call.args[0]
    return Objective(lambda w: float(reference.tiny_loss(cache["x"], cache["y"], w["w1"], w["w2"])),
                     {"w1": np.array(cache["w1"]), "w2": np.array(cache["w2"])})


def cross_entropy_objective(call: Call) -> Objective:
    """cross_entropy as a function of the logits, at the call's logits."""
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


tiny_loss_agrees = matches_reference("backprop.tiny_forward", pick=lambda v: v[0], where="the loss L")
tiny_cache_agrees = matches_reference("backprop.tiny_forward", pick=lambda v: v[1], where="the cache")
tiny_forward_agrees = all_of(tiny_loss_agrees, tiny_cache_agrees)
tiny_backward_agrees = matches_reference("backprop.tiny_backward", pick=named_gradients)
tiny_backward_fd = agrees_with_finite_differences("backprop.tiny_backward", tiny_objective, weight_gradients)
cross_entropy_grad_fd = agrees_with_finite_differences(
    "backprop.cross_entropy_grad", cross_entropy_objective, lambda value: {"logits": value})

X6, Y6 = rng.normal(size=6), rng.uniform(-0.9, 0.9, size=6)

CHECKS = [
    Check("backprop.tiny_forward", "the loss L = mean(½(y - o)²) on a batch of 6", 2.5,
          calls_with((X6, Y6, 0.7, -1.3)), tiny_loss_agrees),
    Check("backprop.tiny_forward", "the cache holds x, y, w1, w2, h = tanh(w1·x) and o = tanh(w2·h)", 1.5,
          calls_with((X6, Y6, 0.7, -1.3)), tiny_cache_agrees),
    Check("backprop.tiny_forward", "one example given as Python floats", 1,
          calls_with((0.8, -0.4, 1.1, 0.6)), tiny_forward_agrees),
    Check("backprop.tiny_backward", "matches autograd's (dL/dw1, dL/dw2) on a batch of 6", 3,
          calls_with((tiny_cache(X6, Y6, 0.7, -1.3),)), tiny_backward_agrees),
    Check("backprop.tiny_backward", "agrees with centred finite differences of the loss on a batch of 6", 2,
          calls_with((tiny_cache(X6, Y6, 0.7, -1.3),)), tiny_backward_fd),
    Check("backprop.tiny_backward", "one example: a cache of 0-d arrays from float inputs", 1.5,
          calls_with((tiny_cache(0.8, -0.4, 1.1, 0.6),)), tiny_backward_agrees),
    Check("backprop.cross_entropy_grad", "matches autograd's gradient on random logits (5, 7)", 3,
          calls_with((rng.normal(size=(5, 7)), rng.integers(0, 7, size=5))),
          matches_reference("backprop.cross_entropy_grad")),
    Check("backprop.cross_entropy_grad", "agrees with centred finite differences of cross_entropy (4, 6)", 1.5,
          calls_with((rng.normal(size=(4, 6)), rng.integers(0, 6, size=4))), cross_entropy_grad_fd),
    Check("backprop.cross_entropy_grad", "one example: logits (V,) and an int target give a (V,) gradient", 1,
          calls_with((rng.normal(size=5), 3)), matches_reference("backprop.cross_entropy_grad")),
]
