"""Part 1 hidden checks."""

import numpy as np

from autograder.check import Check
from autograder.check.judges import matches_reference
from autograder.course import COURSE

F = COURSE.by_name
agrees = matches_reference()

CHECKS = [
    Check(F["softmax"], "matches torch.softmax over the last axis of a 3-D batch (2, 3, 5)", 1.5,
          lambda rng: [(rng.normal(size=(2, 3, 5)) * 4,), (rng.normal(size=(1, 9)),)], agrees, visible=False),
    Check(F["log_softmax"], "matches torch.log_softmax on a 1-D and a 3-D input", 1.5,
          lambda rng: [(rng.normal(size=7) * 20,), (rng.normal(size=(2, 2, 4)),)], agrees, visible=False),
    Check(F["cross_entropy"], "matches F.cross_entropy for N = 1 and for scaled logits (6, 11)", 3,
          lambda rng: [(rng.normal(size=(1, 4)), np.array([3])),
                       (rng.normal(size=(6, 11)) * 50, rng.integers(0, 11, size=6))], agrees, visible=False),
    Check(F["square_loss"], "mean of ½(y - o)² on a batch of 9", 2,
          lambda rng: [(rng.normal(size=9), rng.normal(size=9) * 2)], agrees, visible=False),
]
