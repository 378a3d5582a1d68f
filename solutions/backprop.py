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
    # BEGIN SOLUTION
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    h = np.tanh(w1 * x)
    o = np.tanh(w2 * h)
    loss = square_loss(y, o)
    cache = {"x": x, "y": y, "w1": w1, "w2": w2, "h": h, "o": o}
    return loss, cache
    # END SOLUTION


def tiny_backward(cache):
    """Gradient of the mean loss with respect to (w1, w2), by the chain rule.

    cache: a dict with exactly the keys "x", "y", "w1", "w2", "h", "o" (x, y, h, o arrays shaped
    like x; w1, w2 floats). Returns (dL_dw1, dL_dw2), two floats.
    """
    # BEGIN SOLUTION
    x, y, h, o = (np.asarray(cache[k], dtype=np.float64) for k in ("x", "y", "h", "o"))
    w2 = cache["w2"]
    n = x.size
    dL_do = -(y - o) / n                     # the mean's 1/N comes in once, at the top
    dL_dz2 = dL_do * (1.0 - o**2)            # through o = tanh(z2)
    dL_dw2 = np.sum(dL_dz2 * h)
    dL_dz1 = dL_dz2 * w2 * (1.0 - h**2)      # through z2 = w2·h and h = tanh(z1)
    dL_dw1 = np.sum(dL_dz1 * x)
    return float(dL_dw1), float(dL_dw2)
    # END SOLUTION


def cross_entropy_grad(logits, targets):
    """Gradient of cross_entropy(logits, targets) with respect to logits.

    logits (N, V) and targets (N,) ints -> (N, V): (softmax(logits) - onehot(targets)) / N.
    One example: logits (V,) and an int target -> (V,): softmax(logits) - onehot(target).
    """
    # BEGIN SOLUTION
    z = np.asarray(logits, dtype=np.float64)
    single = z.ndim == 1
    t = np.asarray(targets).reshape(-1)
    z2 = z.reshape(1, -1) if single else z
    n = z2.shape[0]
    grad = softmax(z2)
    grad[np.arange(n), t] -= 1.0
    grad /= n
    return grad[0] if single else grad
    # END SOLUTION
