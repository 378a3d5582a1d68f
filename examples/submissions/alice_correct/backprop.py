import numpy as np

import losses


def tiny_forward(x, y, w1, w2):
    h = np.tanh(np.multiply(w1, x))
    o = np.tanh(np.multiply(w2, h))
    return losses.square_loss(y, o), dict(x=x, y=y, w1=w1, w2=w2, h=h, o=o, note="extra keys are fine")


def tiny_backward(cache):
    x, y, h, o = (np.atleast_1d(cache[k]) for k in "x y h o".split())
    w2 = cache["w2"]
    g1 = g2 = 0.0
    for xi, yi, hi, oi in zip(x, y, h, o):
        delta = (oi - yi) * (1 - oi * oi)
        g2 += delta * hi
        g1 += delta * w2 * (1 - hi * hi) * xi
    return g1 / len(x), g2 / len(x)


def cross_entropy_grad(logits, targets):
    p = losses.softmax(logits)
    if p.ndim == 1:
        p[targets] -= 1
        return p
    for i, t in enumerate(targets):
        p[i, t] -= 1
    return p / len(targets)
