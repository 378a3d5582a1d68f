"""Part 4: a recurrent neural language model (30 points, plus a 10-point bonus).

Parameters θ are a dict of float64 arrays: E (V, d) word embeddings, W_e (H, d), W_h (H, H),
b_h (H,), U (V, H), b_o (V,). Reading a sequence word by word:

    e_t      = E[w_t]
    h_t      = tanh(W_e e_t + W_h h_{t-1} + b_h)
    logits_t = U h_t + b_o,      p(w_{t+1} | w_1 … w_t) = softmax(logits_t)

This is torch.nn.Embedding -> torch.nn.RNN(nonlinearity="tanh", batch_first=True) -> nn.Linear.
Training minimises the cross-entropy of each next word; its gradient flows back through time.
"""

import numpy as np

from backprop import cross_entropy_grad
from losses import cross_entropy, softmax


def init_rnn_params(vocab_size, embed_dim, hidden_dim, seed=0):
    """Random initial parameters: {"E", "W_e", "W_h", "b_h", "U", "b_o"} with the shapes above.

    float64, every entry finite with |value| ≤ 1, weight matrices random (not constant); the same
    seed gives the same dict, a different seed different values.
    """
    # BEGIN SOLUTION
    rng = np.random.default_rng(seed)
    bound = 1.0 / np.sqrt(hidden_dim)  # PyTorch's nn.RNN / nn.Linear initialisation range

    def uniform(*shape):
        return rng.uniform(-bound, bound, size=shape)

    return {
        "E": rng.uniform(-0.1, 0.1, size=(vocab_size, embed_dim)),
        "W_e": uniform(hidden_dim, embed_dim),
        "W_h": uniform(hidden_dim, hidden_dim),
        "b_h": uniform(hidden_dim),
        "U": uniform(vocab_size, hidden_dim),
        "b_o": uniform(vocab_size),
    }
    # END SOLUTION


def rnn_forward(params, token_ids, h0=None):
    """Run the RNN LM over a batch of sequences.

    token_ids: int array (N, T); h0: (N, H) initial hidden state, or None for zeros.
    For t = 0 … T-1: e_t = E[token_ids[:, t]]; h_t = tanh(e_t W_eᵀ + h_{t-1} W_hᵀ + b_h);
    logits_t = h_t Uᵀ + b_o. Returns (logits, hiddens) of shapes (N, T, V) and (N, T, H).
    """
    # BEGIN SOLUTION
    ids = np.asarray(token_ids)
    n, steps = ids.shape
    hidden = params["W_h"].shape[0]
    h = np.zeros((n, hidden)) if h0 is None else np.asarray(h0, dtype=np.float64)
    hiddens = np.empty((n, steps, hidden))
    for t in range(steps):
        e = params["E"][ids[:, t]]
        h = np.tanh(e @ params["W_e"].T + h @ params["W_h"].T + params["b_h"])
        hiddens[:, t] = h
    logits = hiddens @ params["U"].T + params["b_o"]
    return logits, hiddens
    # END SOLUTION


def next_word_probs(params, prefix_ids):
    """p(w_{T+1} | prefix): the softmax of the logits at the last position.

    prefix_ids: 1-D int array of length T ≥ 1. Returns shape (V,).
    """
    # BEGIN SOLUTION
    logits, _ = rnn_forward(params, np.asarray(prefix_ids)[None, :])
    return softmax(logits[0, -1])
    # END SOLUTION


def sequence_loss(params, token_ids):
    """Mean next-word cross-entropy of a batch of sequences.

    token_ids: (N, T) ints, T ≥ 2. The logits at position t predict token_ids[:, t+1]; the loss is
    the mean over all N·(T-1) positions (h0 = zeros). Returns a float.
    """
    # BEGIN SOLUTION
    ids = np.asarray(token_ids)
    logits, _ = rnn_forward(params, ids)
    vocab = logits.shape[-1]
    return cross_entropy(logits[:, :-1].reshape(-1, vocab), ids[:, 1:].reshape(-1))
    # END SOLUTION


def rnn_backward(params, token_ids):
    """Bonus: the gradient of sequence_loss(params, token_ids) by backpropagation through time.

    Returns a dict with the same keys and shapes as params. Work from the output layer down:
    dlogits_t, then U and b_o; then, from t = T-1 back to 0, the hidden state's gradient gets
    both its own logits' share and what flows back from h_{t+1} through W_h.
    """
    # BEGIN SOLUTION
    ids = np.asarray(token_ids)
    n, steps = ids.shape
    logits, hiddens = rnn_forward(params, ids)
    vocab = logits.shape[-1]
    dlogits = np.zeros_like(logits)  # the last position predicts nothing
    dlogits[:, :-1] = cross_entropy_grad(
        logits[:, :-1].reshape(-1, vocab), ids[:, 1:].reshape(-1)
    ).reshape(n, steps - 1, vocab)

    grads = {k: np.zeros_like(v) for k, v in params.items()}
    grads["U"] = np.einsum("ntv,nth->vh", dlogits, hiddens)
    grads["b_o"] = dlogits.sum(axis=(0, 1))
    dh_next = np.zeros((n, hiddens.shape[-1]))
    for t in reversed(range(steps)):
        h = hiddens[:, t]
        h_prev = hiddens[:, t - 1] if t > 0 else np.zeros_like(h)
        dz = (dlogits[:, t] @ params["U"] + dh_next) * (1.0 - h**2)
        grads["W_e"] += dz.T @ params["E"][ids[:, t]]
        grads["W_h"] += dz.T @ h_prev
        grads["b_h"] += dz.sum(axis=0)
        np.add.at(grads["E"], ids[:, t], dz @ params["W_e"])
        dh_next = dz @ params["W_h"]
    return grads
    # END SOLUTION
