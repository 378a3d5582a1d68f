"""Part 1 hidden checks."""

import numpy as np

from autograder.checks import Check
from autograder.checks.judges import calls_with, matches_reference

rng = np.random.default_rng(9101)

CHECKS = [
    Check("losses.softmax", "matches torch.softmax over the last axis of a 3-D batch (2, 3, 5)", 1.5,
          calls_with((rng.normal(size=(2, 3, 5)) * 4,), (rng.normal(size=(1, 9)),)),
          matches_reference("losses.softmax"), visible=False),
    Check("losses.log_softmax", "matches torch.log_softmax on a 1-D and a 3-D input", 1.5,
          calls_with((rng.normal(size=7) * 20,), (rng.normal(size=(2, 2, 4)),)),
          matches_reference("losses.log_softmax"), visible=False),
    Check("losses.cross_entropy", "matches F.cross_entropy for N = 1 and for scaled logits (6, 11)", 3,
          calls_with((rng.normal(size=(1, 4)), np.array([3])),
                     (rng.normal(size=(6, 11)) * 50, rng.integers(0, 11, size=6))),
          matches_reference("losses.cross_entropy"), visible=False),
    Check("losses.square_loss", "mean of ½(y - o)² on a batch of 9", 2,
          calls_with((rng.normal(size=9), rng.normal(size=9) * 2)),
          matches_reference("losses.square_loss"), visible=False),
]
