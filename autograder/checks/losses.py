"""Part 1 checks, visible to students: softmax, log_softmax, cross_entropy, square_loss."""

import numpy as np

from autograder.checks import Check
from autograder.checks.judges import calls_with, matches_reference

rng = np.random.default_rng(101)
LARGE = np.array([[1e4, -1e4, 0.0, 5.0], [-1e4, -1e4, 1e4, 1e4 - 1.0]])

CHECKS = [
    Check("losses.softmax", "matches torch.softmax on random logits (4, 7)", 2,
          calls_with((rng.normal(size=(4, 7)),)), matches_reference("losses.softmax")),
    Check("losses.softmax", "finite and exact for logits of ±1e4", 1.5,
          calls_with((LARGE,)), matches_reference("losses.softmax")),
    Check("losses.log_softmax", "matches torch.log_softmax on random logits (3, 6)", 2,
          calls_with((rng.normal(size=(3, 6)) * 3,)), matches_reference("losses.log_softmax")),
    Check("losses.log_softmax", "finite and exact for logits of ±1e4", 1.5,
          calls_with((LARGE,)), matches_reference("losses.log_softmax")),
    Check("losses.cross_entropy", "matches F.cross_entropy (mean) on random logits (5, 8)", 4,
          calls_with((rng.normal(size=(5, 8)), rng.integers(0, 8, size=5))),
          matches_reference("losses.cross_entropy")),
    Check("losses.cross_entropy", "finite and exact for logits of ±1e4", 2,
          calls_with((LARGE, np.array([1, 3]))), matches_reference("losses.cross_entropy")),
    Check("losses.cross_entropy", "accepts one example: logits (V,) and an int target", 1,
          calls_with((rng.normal(size=6), 2)), matches_reference("losses.cross_entropy")),
    Check("losses.square_loss", "mean of ½(y - o)² on arrays", 2,
          calls_with((rng.normal(size=6), rng.normal(size=6))), matches_reference("losses.square_loss")),
    Check("losses.square_loss", "½(y - o)² on two floats", 1,
          calls_with((0.8, -0.3)), matches_reference("losses.square_loss")),
]
