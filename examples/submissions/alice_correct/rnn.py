import numpy as np

from backprop import cross_entropy_grad
from losses import cross_entropy, softmax


def init_rnn_params(vocab_size, embed_dim, hidden_dim, seed=0):
    rng = np.random.default_rng(seed)
    s = 0.5
    return dict(E=rng.uniform(-s, s, (vocab_size, embed_dim)), W_e=rng.uniform(-s, s, (hidden_dim, embed_dim)),
                W_h=rng.uniform(-s, s, (hidden_dim, hidden_dim)), b_h=np.zeros(hidden_dim),
                U=rng.uniform(-s, s, (vocab_size, hidden_dim)), b_o=np.zeros(vocab_size))


def rnn_forward(params, token_ids, h0=None):
    E, W_e, W_h, b_h, U, b_o = (params[k] for k in ("E", "W_e", "W_h", "b_h", "U", "b_o"))
    N, T = np.shape(token_ids)
    h = np.zeros((N, len(b_h))) if h0 is None else np.array(h0, dtype=float)
    logits, hiddens = [], []
    for t in range(T):
        h = np.tanh(E[token_ids[:, t]] @ W_e.T + h @ W_h.T + b_h)
        hiddens.append(h)
        logits.append(h @ U.T + b_o)
    return np.stack(logits, axis=1), np.stack(hiddens, axis=1)


def next_word_probs(params, prefix_ids):
    logits, _ = rnn_forward(params, np.array([prefix_ids]))
    return softmax(logits[0, len(prefix_ids) - 1])


def sequence_loss(params, token_ids):
    logits, _ = rnn_forward(params, token_ids)
    N, T, V = logits.shape
    return cross_entropy(logits[:, :T - 1].reshape(N * (T - 1), V), token_ids[:, 1:].ravel())


def rnn_backward(params, token_ids):
    logits, hs = rnn_forward(params, token_ids)
    N, T, V = logits.shape
    g = {k: np.zeros_like(v) for k, v in params.items()}
    dlog = cross_entropy_grad(logits[:, :-1].reshape(-1, V), token_ids[:, 1:].ravel()).reshape(N, T - 1, V)
    carry = np.zeros((N, hs.shape[2]))
    for t in range(T - 1, -1, -1):
        dh = carry
        if t < T - 1:
            g["U"] += dlog[:, t].T @ hs[:, t]
            g["b_o"] += dlog[:, t].sum(0)
            dh = dh + dlog[:, t] @ params["U"]
        da = dh * (1 - hs[:, t] ** 2)
        prev = hs[:, t - 1] if t else np.zeros_like(carry)
        g["W_h"] += da.T @ prev
        g["W_e"] += da.T @ params["E"][token_ids[:, t]]
        g["b_h"] += da.sum(0)
        for n in range(N):
            g["E"][token_ids[n, t]] += da[n] @ params["W_e"]
        carry = da @ params["W_h"]
    return g
