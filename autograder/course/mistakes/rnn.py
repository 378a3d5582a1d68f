"""Part 4: wrong versions of init_rnn_params, rnn_forward, next_word_probs, sequence_loss and
rnn_backward."""

from __future__ import annotations

import numpy as np

from autograder.check.mistakes import Mistake
from autograder.course import COURSE
from autograder.course.hints.rnn import (
    APPLY_TANH,
    CONSTANT,
    DIVIDE_BY_PREDICTIONS,
    DLOGITS_MEAN,
    DLOGITS_NOT_BY_N,
    FLOAT32,
    IGNORES_SEED,
    LAST_POSITION,
    LOGITS_FROM_NEW_STATE,
    NEXT_WORD,
    NOT_LOG_PROBABILITIES,
    RETURN_PROBABILITIES,
    SEQUENCE_MEAN,
    TANH_FACTOR,
    THROUGH_TIME,
    TOO_LARGE,
    TRANSPOSED,
    UNSEEDED,
    USE_H0,
    WH_PREVIOUS_STATE,
    WH_TRANSPOSE,
)
from autograder.course.mistakes.common import exp_normalise, picked, rnn_forward, stable_log_softmax

F = COURSE.by_name


def _init(vocab_size, embed_dim, hidden_dim, seed=0, *, rng=None, fill=None, transpose=False,
          dtype=np.float64, spread=None):
    rng = np.random.default_rng(seed) if rng is None else rng
    bound = hidden_dim ** -0.5

    def draw(*shape):
        shape = shape[::-1] if transpose else shape
        if fill is not None:
            return np.full(shape, fill)
        return (rng.normal(size=shape) * spread if spread else rng.uniform(-bound, bound, size=shape)).astype(dtype)

    return {"E": draw(vocab_size, embed_dim), "W_e": draw(hidden_dim, embed_dim),
            "W_h": draw(hidden_dim, hidden_dim), "b_h": draw(hidden_dim), "U": draw(vocab_size, hidden_dim),
            "b_o": draw(vocab_size)}


def _next_word(params, prefix_ids, *, position=-1, output="probs"):
    logits = rnn_forward(params, np.asarray(prefix_ids)[None, :])[0][0, position]
    return {"probs": exp_normalise(logits - logits.max(), -1), "logits": logits,
            "log_probs": stable_log_softmax(logits)}[output]


def _sequence_nll(params, token_ids, *, shift=True, first=0):
    """-log p of each predicted token: logits[:, t] predict ids[:, t+1] (shift) or ids[:, t]."""
    ids = np.asarray(token_ids)
    logits = rnn_forward(params, ids)[0]
    z, t = (logits[:, :-1], ids[:, 1:]) if shift else (logits[:, first:], ids[:, first:])
    z, t = z.reshape(-1, z.shape[-1]), t.reshape(-1)
    return -picked(stable_log_softmax(z), t)


def _rnn_backward(params, token_ids, *, carry=True, tanh_factor=True, wh_from_current=False,
                  divide_by="positions"):
    ids = np.asarray(token_ids)
    n, steps = ids.shape
    logits, hiddens = rnn_forward(params, ids)
    dlogits = np.zeros_like(logits)
    probs = exp_normalise(logits[:, :-1] - logits[:, :-1].max(-1, keepdims=True), -1)
    probs[np.arange(n)[:, None], np.arange(steps - 1)[None, :], ids[:, 1:]] -= 1.0
    dlogits[:, :-1] = probs / {"positions": n * (steps - 1), "batch": n, "none": 1}[divide_by]
    grads = {k: np.zeros_like(v) for k, v in params.items()}
    grads["U"] = np.einsum("ntv,nth->vh", dlogits, hiddens)
    grads["b_o"] = dlogits.sum(axis=(0, 1))
    dh_next = np.zeros((n, params["W_h"].shape[0]))
    for t in reversed(range(steps)):
        h = hiddens[:, t]
        h_prev = hiddens[:, t - 1] if t > 0 else np.zeros_like(h)
        dz = (dlogits[:, t] @ params["U"] + (dh_next if carry else 0.0)) * ((1 - h**2) if tanh_factor else 1.0)
        grads["W_e"] += dz.T @ params["E"][ids[:, t]]
        grads["W_h"] += dz.T @ (h if wh_from_current else h_prev)
        grads["b_h"] += dz.sum(axis=0)
        np.add.at(grads["E"], ids[:, t], dz @ params["W_e"])
        dh_next = dz @ params["W_h"]
    return grads


MISTAKES = {
    F["init_rnn_params"]: [  # judged by form, not by value: these only document them
        Mistake(UNSEEDED, lambda V, d, H, seed=0: _init(V, d, H, rng=np.random.default_rng())),
        Mistake(IGNORES_SEED, lambda V, d, H, seed=0: _init(V, d, H, 0)),
        Mistake(CONSTANT, lambda V, d, H, seed=0: _init(V, d, H, seed, fill=0.1)),
        Mistake(TRANSPOSED, lambda V, d, H, seed=0: _init(V, d, H, seed, transpose=True)),
        Mistake(FLOAT32, lambda V, d, H, seed=0: _init(V, d, H, seed, dtype=np.float32)),
        Mistake(TOO_LARGE, lambda V, d, H, seed=0: _init(V, d, H, seed, spread=1.0)),
    ],
    F["rnn_forward"]: [
        Mistake(WH_TRANSPOSE, lambda p, ids, h0=None: rnn_forward(p, ids, h0, wh_transposed=False)),
        Mistake(USE_H0, lambda p, ids, h0=None: rnn_forward(p, ids, h0, use_h0=False)),
        Mistake(APPLY_TANH, lambda p, ids, h0=None: rnn_forward(p, ids, h0, tanh=False)),
        Mistake(LOGITS_FROM_NEW_STATE, lambda p, ids, h0=None: rnn_forward(p, ids, h0, logits_from_previous=True)),
    ],
    F["next_word_probs"]: [
        Mistake(LAST_POSITION, lambda p, ids: _next_word(p, ids, position=0)),
        Mistake(RETURN_PROBABILITIES, lambda p, ids: _next_word(p, ids, output="logits")),
        Mistake(NOT_LOG_PROBABILITIES, lambda p, ids: _next_word(p, ids, output="log_probs")),
    ],
    F["sequence_loss"]: [
        Mistake(NEXT_WORD, lambda p, ids: float(_sequence_nll(p, ids, shift=False).mean())),
        Mistake(NEXT_WORD, lambda p, ids: float(_sequence_nll(p, ids, shift=False, first=1).mean())),
        Mistake(SEQUENCE_MEAN, lambda p, ids: float(_sequence_nll(p, ids).sum())),
        Mistake(DIVIDE_BY_PREDICTIONS, lambda p, ids: float(_sequence_nll(p, ids).sum() / len(ids))),
    ],
    F["rnn_backward"]: [
        Mistake(THROUGH_TIME, lambda p, ids: _rnn_backward(p, ids, carry=False)),
        Mistake(TANH_FACTOR, lambda p, ids: _rnn_backward(p, ids, tanh_factor=False)),
        Mistake(WH_PREVIOUS_STATE, lambda p, ids: _rnn_backward(p, ids, wh_from_current=True)),
        Mistake(DLOGITS_MEAN, lambda p, ids: _rnn_backward(p, ids, divide_by="none")),
        Mistake(DLOGITS_NOT_BY_N, lambda p, ids: _rnn_backward(p, ids, divide_by="batch")),
    ],
}
