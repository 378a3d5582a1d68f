"""Part 4 hints: init_rnn_params, rnn_forward, next_word_probs, sequence_loss, rnn_backward."""

WEIGHTS = ("E", "W_e", "W_h", "U")  # the matrices that must be random; biases may start at zero
UNSEEDED = ("draw every value from one rng = np.random.default_rng(seed) made inside the function, "
            "so the same seed gives the same parameters.")
IGNORES_SEED = "use the seed argument: a different seed must give different parameters."
DEFAULT_SEED = ("give seed the default 0 (def init_rnn_params(vocab_size, embed_dim, hidden_dim, seed=0)): "
                "a call without seed must equal the call with seed=0.")
CONSTANT = ("initialise the weight matrices randomly, e.g. rng.uniform(-1/√H, 1/√H, size=...): with "
            "equal weights every hidden unit computes the same thing and they never become different.")
TRANSPOSED = ("mind the shapes: W_e is (H, d), W_h (H, H) and U (V, H), output size first like an "
              "nn.Linear weight; E is (V, d).")
FLOAT32 = ("keep the parameters in float64 (NumPy's default), not float32 "
           "(from astype(np.float32), dtype=np.float32 or a float32 torch tensor).")
TOO_LARGE = ("keep every entry within [-1, 1], e.g. rng.uniform(-1/√H, 1/√H) like PyTorch's "
             "nn.RNN; rng.normal draws values beyond 1.")
WH_TRANSPOSE = ("the recurrence multiplies by W_h transposed: h_{t-1} @ W_h.T, like nn.RNN's weight_hh "
                "(W_h is not symmetric).")
USE_H0 = "start from the h0 you are given; use zeros only when h0 is None."
APPLY_TANH = "apply tanh: h_t = tanh(e_t W_eᵀ + h_{t-1} W_hᵀ + b_h)."
LOGITS_FROM_NEW_STATE = "logits_t come from the new state h_t (after step t's update), not from h_{t-1}."
LAST_POSITION = "use the logits at the LAST position, logits[0, -1]: only they have read the whole prefix."
RETURN_PROBABILITIES = "return probabilities: apply softmax to the last position's logits."
NOT_LOG_PROBABILITIES = "return probabilities (softmax), not log-probabilities."
NEXT_WORD = ("off-by-one: the logits at position t predict the NEXT token, so compare logits[:, :-1] "
             "with token_ids[:, 1:] (T - 1 predictions per sequence).")
SEQUENCE_MEAN = "use the mean over all N·(T-1) predictions, not the sum."
DIVIDE_BY_PREDICTIONS = "divide by the number of predictions, N·(T-1), not by N."
THROUGH_TIME = ("carry the gradient back through time: dh_t gets logits_t's share (dlogits_t @ U) plus "
                "dh_{t+1}'s share through the recurrence (dz_{t+1} @ W_h).")
TANH_FACTOR = "h_t = tanh(z_t): multiply dh_t by (1 - h_t²) to get dz_t before going further down."
WH_PREVIOUS_STATE = "W_h multiplies the previous state: dW_h += dz_tᵀ @ h_{t-1} (with h_{-1} = 0)."
DLOGITS_MEAN = "sequence_loss is a mean over the N·(T-1) predictions: divide dlogits by N·(T-1)."
DLOGITS_NOT_BY_N = "sequence_loss is a mean over all N·(T-1) predictions: divide dlogits by N·(T-1), not by N."
