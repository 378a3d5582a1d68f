# Alice: correct, written her own way (loops, logsumexp by hand, NumPy scalars returned).
import numpy as np


def _logsumexp(row):
    m = max(row)
    return m + np.log(sum(np.exp(v - m) for v in row))


def softmax(logits):
    z = np.array(logits, dtype=float)
    flat = z.reshape(-1, z.shape[-1])
    out = np.empty_like(flat)
    for i, row in enumerate(flat):
        out[i] = np.exp(row - _logsumexp(row))
    return out.reshape(z.shape)


def log_softmax(logits):
    z = np.array(logits, dtype=float)
    return z - np.apply_along_axis(_logsumexp, -1, z)[..., None]


def cross_entropy(logits, targets):
    z = np.atleast_2d(np.array(logits, dtype=float))
    t = np.atleast_1d(targets)
    total = np.float64(0.0)
    for row, target in zip(z, t):
        total += _logsumexp(row) - row[target]
    return total / len(t)          # a NumPy scalar


def square_loss(y, o):
    d = np.subtract(y, o, dtype=float)
    return np.array((d * d).mean() / 2)   # a 0-d array
