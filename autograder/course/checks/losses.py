"""Part 1 checks, visible to students: softmax, log_softmax, cross_entropy, square_loss."""

import numpy as np

from autograder.check import Check, fixed
from autograder.check.judges import matches_reference
from autograder.course import COURSE
from autograder.course.inputs import LARGE_LOGITS, rows_far_apart

F = COURSE.by_name
agrees = matches_reference()
FAR_APART = "rows at very different scales (from -9,900 to 9,900), exact to float64 precision"

CHECKS = [
    Check(F["softmax"], "matches torch.softmax on random logits (4, 7)", 1.5,
          lambda rng: [(rng.normal(size=(4, 7)),)], agrees),
    Check(F["softmax"], "finite and exact for logits of ±1e4", 1, fixed((LARGE_LOGITS,)), agrees),
    Check(F["softmax"], FAR_APART, 1, lambda rng: [(rows_far_apart(rng, 4, 6),)], agrees),
    Check(F["log_softmax"], "matches torch.log_softmax on random logits (3, 6)", 1.5,
          lambda rng: [(rng.normal(size=(3, 6)) * 3,)], agrees),
    Check(F["log_softmax"], "finite and exact for logits of ±1e4", 1, fixed((LARGE_LOGITS,)), agrees),
    Check(F["log_softmax"], FAR_APART, 1, lambda rng: [(rows_far_apart(rng, 3, 5),)], agrees),
    Check(F["cross_entropy"], "matches F.cross_entropy (mean) on random logits (5, 8)", 3,
          lambda rng: [(rng.normal(size=(5, 8)), rng.integers(0, 8, size=5))], agrees),
    Check(F["cross_entropy"], "finite and exact for logits of ±1e4", 1.5,
          fixed((LARGE_LOGITS, np.array([1, 3]))), agrees),
    Check(F["cross_entropy"], "accepts one example: logits (V,) and an int target", 1,
          lambda rng: [(rng.normal(size=6), 2)], agrees),
    Check(F["cross_entropy"], FAR_APART, 1.5,
          lambda rng: [(rows_far_apart(rng, 4, 7), rng.integers(0, 7, size=4))], agrees),
    Check(F["square_loss"], "mean of ½(y - o)² on arrays", 2,
          lambda rng: [(rng.normal(size=6), rng.normal(size=6))], agrees),
    Check(F["square_loss"], "½(y - o)² on two floats", 1, fixed((0.8, -0.3)), agrees),
]
