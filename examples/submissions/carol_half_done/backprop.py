import numpy as np

from losses import softmax, square_loss


def tiny_forward(x, y, w1, w2):
    h = np.tanh(w1 * np.asarray(x, dtype=float))
    o = np.tanh(w2 * h)
    return square_loss(y, o), {"x": x, "y": y, "w1": w1, "w2": w2, "h": h, "o": o}


def tiny_backward(cache):
    x, y, w2, h, o = (cache[k] for k in ("x", "y", "w2", "h", "o"))
    delta = -(np.asarray(y) - o) * (1 - o**2) / np.size(o)
    return float(np.sum(delta * w2 * (1 - h**2) * x)), float(np.sum(delta * h))


def cross_entropy_grad(logits, targets):
    p = softmax(np.atleast_2d(logits))
    t = np.atleast_1d(targets)
    p[np.arange(len(t)), t] -= 1
    p /= len(t)
    return p.reshape(np.shape(logits))
