"""Part 3: stochastic gradient descent (20 points).

Training steps against the gradient: θ_new = θ_old - η · dL/dθ, with η the learning rate. The
batch size says how many training examples estimate dL/dθ before each step; one pass over the
shuffled data in minibatches is an epoch. In PyTorch the last two steps are `loss.backward()`
and `optimizer.step()`.
"""

import numpy as np
import torch
import torch.nn.functional as F

from backprop import tiny_backward, tiny_forward


def sgd_step(params, grads, lr):
    """One SGD step, in place: params[k] -= lr * grads[k] for every key k.

    params, grads: dicts with the same keys whose values are float arrays (0-d allowed).
    The same array objects must end up holding the new values (like torch.optim.SGD.step());
    grads is left unchanged. The return value is ignored.
    """
    # BEGIN SOLUTION
    for k in params:
        params[k] -= lr * grads[k]
    # END SOLUTION


def minibatch_indices(n, batch_size, rng):
    """Shuffled minibatches of the indices 0 … n-1.

    rng: a numpy.random.Generator. Exactly: perm = rng.permutation(n), then the slices
    perm[i:i + batch_size] for i = 0, batch_size, 2·batch_size, … Returns a list of int arrays
    that together hold every index once; the last may be shorter.
    """
    # BEGIN SOLUTION
    perm = rng.permutation(n)
    return [perm[i:i + batch_size] for i in range(0, n, batch_size)]
    # END SOLUTION


def train_tiny(x, y, w1, w2, lr, batch_size, epochs, seed):
    """Minibatch SGD on the tiny network h = tanh(w1·x), o = tanh(w2·h), L = mean(½(y - o)²).

    x, y: 1-D arrays of the same length; w1, w2, lr: floats. rng = np.random.default_rng(seed)
    once; each epoch, for each idx in minibatch_indices(len(x), batch_size, rng): forward on
    x[idx], y[idx] with tiny_forward, gradients from tiny_backward, update w1 and w2 with sgd_step,
    and record that minibatch's loss (before the update).
    Returns (w1, w2, losses): two floats and a list of epochs × batches-per-epoch floats.
    """
    # BEGIN SOLUTION
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    rng = np.random.default_rng(seed)
    params = {"w1": np.array(w1, dtype=np.float64), "w2": np.array(w2, dtype=np.float64)}
    losses = []
    for _ in range(epochs):
        for idx in minibatch_indices(len(x), batch_size, rng):
            loss, cache = tiny_forward(x[idx], y[idx], float(params["w1"]), float(params["w2"]))
            dw1, dw2 = tiny_backward(cache)
            sgd_step(params, {"w1": np.array(dw1), "w2": np.array(dw2)}, lr)
            losses.append(float(loss))
    return float(params["w1"]), float(params["w2"]), losses
    # END SOLUTION


def torch_train_step(model, optimizer, inputs, targets):
    """One PyTorch training step on a language model.

    model maps a LongTensor (N, T) of token ids to logits (N, T, V); targets: LongTensor (N, T).
    Computes the mean cross-entropy over all N·T positions with F.cross_entropy, clears old
    gradients, loss.backward(), optimizer.step(). Returns the loss before the step as a float.
    Calling it twice in a row must not accumulate gradients.
    """
    # BEGIN SOLUTION
    logits = model(inputs)
    loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return float(loss.item())
    # END SOLUTION
