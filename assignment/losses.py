"""Part 1: losses (25 points).

A language model is trained by minimising a loss L(θ) that says how badly it predicts the next
word. For next-word prediction that loss is the cross-entropy: with a one-hot true distribution it
is the negative log-probability the model gives the correct word, e.g. -log p("ChatGPT" | "my
favorite LLM is"). Every function here works in float64 NumPy.
"""

import numpy as np


def softmax(logits):
    """Probabilities over the last axis: softmax(z)_i = exp(z_i) / sum_j exp(z_j).

    logits: array of shape (..., V). Returns an array of the same shape whose last axis sums to 1.
    Subtract the max of each row first: exp(1e4) overflows, but softmax(z) = softmax(z - max z),
    so the result stays finite and exact for entries as large as ±1e4.
    """
    # YOUR CODE HERE
    raise NotImplementedError


def log_softmax(logits):
    """log softmax(z)_i = z_i - log sum_j exp(z_j), over the last axis.

    logits: array of shape (..., V). Returns an array of the same shape. Compute it stably with the
    log-sum-exp trick (z - max z - log sum exp(z - max z)), never as log(softmax(z)), which gives
    log(0) = -inf for very unlikely words.
    """
    # YOUR CODE HERE
    raise NotImplementedError


def cross_entropy(logits, targets):
    """Mean cross-entropy: L = (1/N) sum_i -log softmax(logits)[i, targets[i]].

    logits: (N, V) scores, targets: (N,) ints in [0, V). Returns a float, the same value as
    torch.nn.functional.cross_entropy(logits, targets) (reduction "mean").
    One example is also accepted: logits (V,) and an int target.
    Finite for large logits (use log_softmax).
    """
    # YOUR CODE HERE
    raise NotImplementedError


def square_loss(y, o):
    """Square loss L = mean(½ (y - o)²), the loss of the lecture's tiny network.

    y, o: floats or arrays of the same shape. Returns a float.
    """
    # YOUR CODE HERE
    raise NotImplementedError
