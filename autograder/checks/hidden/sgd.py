"""Part 3 hidden checks."""

from __future__ import annotations

import numpy as np

from autograder.checks import Check
from autograder.checks.judges import Rng, calls_with
from autograder.checks.sgd import (
    follows_the_rng,
    sgd_calls,
    steps_in_place,
    train_tiny_agrees,
    training_calls,
    trains_like_torch,
)

rng = np.random.default_rng(9301)

CHECKS = [
    Check("sgd.sgd_step", "in place with lr = 2.5 on a 0-d, a 1-D and a 3-D array", 1.5,
          sgd_calls(({"a": np.array(-0.3), "b": rng.normal(size=4), "c": rng.normal(size=(2, 2, 3))},
                     {"a": np.array(0.9), "b": rng.normal(size=4), "c": rng.normal(size=(2, 2, 3))}, 2.5)),
          steps_in_place, visible=False),
    Check("sgd.minibatch_indices", "follows the rng exactly with a short last batch, and with batch_size ≥ n", 1.5,
          calls_with((10, 3, Rng(9305)), (5, 8, Rng(9306)), (7, 7, Rng(9307)), (9, 1, Rng(9308))),
          follows_the_rng, visible=False),
    Check("sgd.train_tiny", "4 epochs with lr = 0.05, and batch_size ≥ n", 1.5,
          calls_with((rng.normal(size=10), rng.uniform(-0.9, 0.9, size=10), 1.3, 0.2, 0.05, 4, 4, 21),
                     (rng.normal(size=5), rng.uniform(-0.9, 0.9, size=5), -0.7, -0.5, 1.5, 8, 2, 22)),
          train_tiny_agrees, visible=False),
    Check("sgd.torch_train_step", "three calls in a row on a batch of 3 sequences of length 5 (lr = 0.1)", 1.5,
          training_calls(9, 4, 6, 3, 5, 0.1, 3, rng), trains_like_torch, visible=False),
]
