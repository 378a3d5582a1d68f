"""Part 2 hidden checks."""

from __future__ import annotations

import numpy as np

from autograder.check import Check
from autograder.course import COURSE
from autograder.course.checks.backprop import (
    ce_grad_agrees,
    cross_entropy_grad_fd,
    tiny_backward_agrees,
    tiny_backward_fd,
    tiny_forward_agrees,
)
from autograder.course.inputs import tiny_cache

F = COURSE.by_name


def _batch_of_9(rng):
    return rng.normal(size=9) * 1.5, rng.uniform(-0.9, 0.9, size=9)


CHECKS = [
    Check(F["tiny_forward"], "the loss and cache on a batch of 9 with negative weights", 2,
          lambda rng: [(*_batch_of_9(rng), -0.9, -2.1), (rng.normal(size=2), rng.normal(size=2), 1.7, 0.4)],
          tiny_forward_agrees, visible=False),
    Check(F["tiny_backward"], "matches autograd on a batch of 9 and on a batch of 1", 2,
          lambda rng: [(tiny_cache(*_batch_of_9(rng), -0.9, -2.1),),
                       (tiny_cache(np.array([0.3]), np.array([0.5]), 2.0, -0.7),)],
          tiny_backward_agrees, visible=False),
    Check(F["tiny_backward"], "agrees with finite differences for one float example and a batch of 3", 1.5,
          lambda rng: [(tiny_cache(-1.2, 0.3, 0.5, 1.9),),
                       (tiny_cache(rng.normal(size=3), rng.normal(size=3), 1.4, -0.6),)],
          tiny_backward_fd, visible=False),
    Check(F["cross_entropy_grad"], "N = 1: logits (1, V) give a (1, V) gradient; and scaled logits (6, 10)", 1.5,
          lambda rng: [(rng.normal(size=(1, 4)), np.array([2])),
                       (rng.normal(size=(6, 10)) * 8, rng.integers(0, 10, size=6))],
          ce_grad_agrees, visible=False),
    Check(F["cross_entropy_grad"], "agrees with finite differences for one example and for N = 1", 1,
          lambda rng: [(rng.normal(size=7), 0), (rng.normal(size=(1, 5)), np.array([4]))],
          cross_entropy_grad_fd, visible=False),
]
