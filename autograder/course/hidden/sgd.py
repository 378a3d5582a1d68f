"""Part 3 hidden checks."""

from __future__ import annotations

from autograder.check import Check, Rng, fixed
from autograder.course import COURSE
from autograder.course.checks.sgd import (
    describe_training,
    follows_the_rng,
    sgd_arguments,
    steps_in_place,
    train_tiny_agrees,
    training,
    trains_like_torch,
)

F = COURSE.by_name

CHECKS = [
    Check(F["sgd_step"], "in place with lr = 2.5 on a 0-d, a 1-D and a 3-D array", 1.5,
          sgd_arguments({"a": (), "b": (4,), "c": (2, 2, 3)}, 2.5), steps_in_place, visible=False),
    Check(F["minibatch_indices"], "follows the rng exactly with a short last batch, and with batch_size ≥ n", 1.5,
          fixed((10, 3, Rng(9305)), (5, 8, Rng(9306)), (7, 7, Rng(9307)), (9, 1, Rng(9308))),
          follows_the_rng, visible=False),
    Check(F["train_tiny"], "4 epochs with lr = 0.05, and batch_size ≥ n", 1.5,
          lambda rng: [(rng.normal(size=10), rng.uniform(-0.9, 0.9, size=10), 1.3, 0.2, 0.05, 4, 4, 21),
                       (rng.normal(size=5), rng.uniform(-0.9, 0.9, size=5), -0.7, -0.5, 1.5, 8, 2, 22)],
          train_tiny_agrees, visible=False),
    Check(F["torch_train_step"], "three calls in a row on a batch of 3 sequences of length 5 (lr = 0.1)", 1.5,
          training(9, 4, 6, 3, 5, 0.1, 3), trains_like_torch, visible=False, describe=describe_training),
]
