# Carol: parts 1 and 2 done, part 3 started, part 4 not yet (no rnn.py).
import numpy as np


def softmax(logits):
    z = logits - np.max(logits, axis=-1, keepdims=True)
    return np.exp(z) / np.sum(np.exp(z), axis=-1, keepdims=True)


def log_softmax(logits):
    z = logits - np.max(logits, axis=-1, keepdims=True)
    return z - np.log(np.sum(np.exp(z), axis=-1, keepdims=True))


def cross_entropy(logits, targets):
    lp = log_softmax(np.atleast_2d(logits))
    t = np.atleast_1d(targets)
    return float(-np.mean(lp[np.arange(len(t)), t]))


def square_loss(y, o):
    return float(np.mean((np.asarray(y) - np.asarray(o)) ** 2) / 2)
