"""Part 2: backpropagation (25 points).

The lecture's worked example is a scalar network with parameters θ = {w1, w2}:

    h = tanh(w1·x),   o = tanh(w2·h),   L = ½(y - o)²

The chain rule, working from the output layer down and reusing what is already computed, gives

    dL/do  = -(y - o)
    dL/dw2 = dL/do · (1 - o²) · h
    dL/dh  = dL/do · (1 - o²) · w2
    dL/dw1 = dL/dh · (1 - h²) · x

For a batch (x and y 1-D arrays) the loss is the mean over the batch, and so is each gradient.
"""

import numpy as np

from losses import softmax, square_loss


def tiny_forward(x, y, w1, w2):
    """Forward pass of the tiny network.

    x, y: floats or 1-D arrays of the same shape (a batch); w1, w2: floats.
    Returns (L, cache): L = mean(½(y - o)²) as a float, and cache a dict holding the keys
    "x", "y", "w1", "w2", "h", "o" (what tiny_backward needs).
    """
    # YOUR CODE HERE
    raise NotImplementedError


def tiny_backward(cache):
    """Gradient of the mean loss with respect to (w1, w2), by the chain rule.

    cache: a dict with exactly the keys "x", "y", "w1", "w2", "h", "o" (x, y, h, o arrays shaped
    like x; w1, w2 floats). Returns (dL_dw1, dL_dw2), two floats.
    """
    # YOUR CODE HERE
    raise NotImplementedError


def cross_entropy_grad(logits, targets):
    """Gradient of cross_entropy(logits, targets) with respect to logits.

    logits (N, V) and targets (N,) ints -> (N, V): (softmax(logits) - onehot(targets)) / N.
    One example: logits (V,) and an int target -> (V,): softmax(logits) - onehot(target).
    """
    # YOUR CODE HERE
    raise NotImplementedError
