import numpy as np


def tiny_forward(x, y, w1, w2)      # a syntax error: this module costs only its own functions
    h = np.tanh(w1 * x)
