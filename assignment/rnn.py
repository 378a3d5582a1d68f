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
    # YOUR CODE HERE
    raise NotImplementedError


def rnn_forward(params, token_ids, h0=None):
    """Run the RNN LM over a batch of sequences.

    token_ids: int array (N, T); h0: (N, H) initial hidden state, or None for zeros.
    For t = 0 … T-1: e_t = E[token_ids[:, t]]; h_t = tanh(e_t W_eᵀ + h_{t-1} W_hᵀ + b_h);
    logits_t = h_t Uᵀ + b_o. Returns (logits, hiddens) of shapes (N, T, V) and (N, T, H).
    """
    # YOUR CODE HERE
    raise NotImplementedError


def next_word_probs(params, prefix_ids):
    """p(w_{T+1} | prefix): the softmax of the logits at the last position.

    prefix_ids: 1-D int array of length T ≥ 1. Returns shape (V,).
    """
    # YOUR CODE HERE
    raise NotImplementedError


def sequence_loss(params, token_ids):
    """Mean next-word cross-entropy of a batch of sequences.

    token_ids: (N, T) ints, T ≥ 2. The logits at position t predict token_ids[:, t+1]; the loss is
    the mean over all N·(T-1) positions (h0 = zeros). Returns a float.
    """
    # YOUR CODE HERE
    raise NotImplementedError


def rnn_backward(params, token_ids):
    """Bonus: the gradient of sequence_loss(params, token_ids) by backpropagation through time.

    Returns a dict with the same keys and shapes as params. Work from the output layer down:
    dlogits_t, then U and b_o; then, from t = T-1 back to 0, the hidden state's gradient gets
    both its own logits' share and what flows back from h_{t+1} through W_h.
    """
    # YOUR CODE HERE
    raise NotImplementedError
