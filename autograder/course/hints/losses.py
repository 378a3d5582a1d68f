"""Part 1 hints: softmax, log_softmax, cross_entropy, square_loss."""

OVERFLOW = ("exp() overflows for large logits: subtract the maximum of each row first "
            "(softmax(z) = softmax(z - max z)), so the largest exponent is exp(0) = 1.")
GLOBAL_MAX = ("subtract each row's own maximum, np.max(z, axis=-1, keepdims=True): with the maximum of the "
              "whole array, a row far below it becomes exp(-huge) = 0 everywhere, and 0/0 is NaN.")
FLOAT64 = ("compute in float64 (NumPy's default): float32 keeps about 7 digits, so logits near 1e4 lose "
           "their differences. np.float32, .astype(np.float32), torch.Tensor(x) and .float() give float32; "
           "torch.from_numpy(x) keeps float64.")
WRONG_AXIS = ("normalise over the last axis (axis=-1, keepdims=True): each row of logits is one "
              "distribution over the vocabulary.")
MIXES_ROWS = WRONG_AXIS + " Dividing by the sum over the whole array mixes the rows."
NOT_NORMALISED = "divide by the sum of the exponentials so each row sums to 1."
SUM_NOT_MEAN = "use the mean over the examples, not the sum (divide by N)."
LOG_OF_SOFTMAX = ("log(softmax(z)) gives log(0) = -inf when a probability underflows: compute "
                  "z - max z - log(sum(exp(z - max z))) directly (log-sum-exp).")
NEGATIVE = "the loss is the NEGATIVE log-probability of the right word (it is ≥ 0)."
TAKE_THE_LOG = "take the log of the probability: cross-entropy is -log p(correct word)."
MEAN_OVER_ROWS = "average over the N examples only, not over all N·V entries of the one-hot product."
HALF = "the lecture's loss has a factor ½: L = ½(y - o)²."
