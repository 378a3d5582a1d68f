"""Part 2 hints: tiny_forward, tiny_backward, cross_entropy_grad."""

from autograder.course.hints.losses import FLOAT64, GLOBAL_MAX, HALF, SUM_NOT_MEAN  # noqa: F401 - the same mistakes here

SKIPS_HIDDEN = "the output unit reads the hidden unit, not the input: o = tanh(w2·h) with h = tanh(w1·x)."
O_FACTOR = ("o = tanh(w2·h), so the chain rule passes through tanh′ = 1 - o²: "
            "dL/dw2 = -(y - o)·(1 - o²)·h, and dL/dw1 carries the same factor.")
H_FACTOR = ("h = tanh(w1·x) adds a factor 1 - h² on the way down to w1: "
            "dL/dw1 = -(y - o)·(1 - o²)·w2·(1 - h²)·x.")
SIGN = "mind the sign: dL/do = -(y - o) = o - y."
BATCH_MEAN = "the loss is a mean over the batch, so each gradient is too: divide the sums by N = x.size."
CE_GRAD_MEAN = ("cross_entropy is the mean over the N rows, so its gradient has a factor 1/N: "
                "(softmax(logits) - onehot(targets)) / N.")
CE_GRAD_SIGN = ("mind the sign: the gradient is softmax(logits) - onehot(targets), probabilities "
                "minus the one-hot.")
CE_GRAD_ONEHOT = "subtract 1 at each row's target: (softmax(logits) - onehot(targets)) / N."
