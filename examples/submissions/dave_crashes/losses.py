# Dave: one function hangs, one crashes, one kills its process; square_loss is right.
import os

import numpy as np


def softmax(logits):
    while True:          # hangs
        pass


def log_softmax(logits):
    return logits[..., 99] - np.log(np.exp(logits).sum())   # IndexError


def cross_entropy(logits, targets):
    os._exit(1)


def square_loss(y, o):
    return 0.5 * np.mean((np.asarray(y) - np.asarray(o)) ** 2)
