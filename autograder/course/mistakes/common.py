"""NumPy pieces the wrong versions of several parts share."""

from __future__ import annotations

import numpy as np


def exp_normalise(z, axis):
    with np.errstate(over="ignore", invalid="ignore"):
        e = np.exp(z)
        return e / e.sum(axis=axis, keepdims=True)


def stable_log_softmax(z, axis=-1):
    shifted = z - z.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def rows(logits, targets):
    z = np.asarray(logits, dtype=np.float64)
    t = np.asarray(targets)
    return (z[None], t.reshape(1)) if z.ndim == 1 else (z, t)


def picked(log_probs, targets):
    return log_probs[np.arange(len(targets)), targets]


def naive_log_softmax(z):
    """log(softmax(z)) with a stable softmax: -inf wherever a probability underflows to 0."""
    with np.errstate(divide="ignore"):
        return np.log(exp_normalise(z - z.max(axis=-1, keepdims=True), -1))


def tiny_forward(x, y, w1, w2, *, mean=True, half=True, skip_h=False):
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    h = np.tanh(w1 * x)
    o = np.tanh(w2 * (x if skip_h else h))
    squares = (0.5 if half else 1.0) * (y - o) ** 2
    loss = squares.mean() if mean else squares.sum()
    return float(loss), {"x": x, "y": y, "w1": w1, "w2": w2, "h": h, "o": o}


def tiny_backward(cache, *, o_factor=True, o_factor_w2=True, h_factor=True, sign=1.0, mean=True):
    x, y, h, o = (np.asarray(cache[k], dtype=np.float64) for k in ("x", "y", "h", "o"))
    d_o = sign * (o - y) / (x.size if mean else 1)
    dz2 = d_o * ((1 - o**2) if o_factor else 1.0)
    dz1 = dz2 * cache["w2"] * ((1 - h**2) if h_factor else 1.0)
    return float(np.sum(dz1 * x)), float(np.sum((dz2 if o_factor_w2 else d_o) * h))


def batches(n, batch_size, rng, *, shuffle=True, keep_last=True):
    order = rng.permutation(n) if shuffle else np.arange(n)
    stop = n if keep_last else n - n % batch_size
    return [order[i:i + batch_size] for i in range(0, stop, batch_size)]


def rnn_forward(params, token_ids, h0=None, *, wh_transposed=True, use_h0=True, tanh=True,
                logits_from_previous=False):
    ids = np.asarray(token_ids)
    n, steps = ids.shape
    w_h = params["W_h"].T if wh_transposed else params["W_h"]
    h = np.zeros((n, w_h.shape[0])) if h0 is None or not use_h0 else np.asarray(h0, dtype=np.float64)
    hiddens, previous = [], []
    for t in range(steps):
        previous.append(h)
        z = params["E"][ids[:, t]] @ params["W_e"].T + h @ w_h + params["b_h"]
        h = np.tanh(z) if tanh else z
        hiddens.append(h)
    hiddens = np.stack(hiddens, axis=1)
    source = np.stack(previous, axis=1) if logits_from_previous else hiddens
    return source @ params["U"].T + params["b_o"], hiddens
