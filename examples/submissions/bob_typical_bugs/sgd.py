import numpy as np
import torch.nn.functional as F

import backprop


def sgd_step(params, grads, lr):
    for k in params:
        params[k] = params[k] - lr * grads[k]     # BUG: rebinds, the caller's arrays keep the old values


def minibatch_indices(n, batch_size, rng):
    perm = rng.permutation(n)
    return [perm[i:i + batch_size] for i in range(0, n, batch_size)]


def train_tiny(x, y, w1, w2, lr, batch_size, epochs, seed):
    rng = np.random.default_rng(seed)
    params, losses = {"w1": np.array(w1), "w2": np.array(w2)}, []
    for _ in range(epochs):
        for idx in minibatch_indices(len(x), batch_size, rng):
            loss, cache = backprop.tiny_forward(x[idx], y[idx], float(params["w1"]), float(params["w2"]))
            g1, g2 = backprop.tiny_backward(cache)
            sgd_step(params, {"w1": np.array(g1), "w2": np.array(g2)}, lr)
            losses.append(loss)
    return float(params["w1"]), float(params["w2"]), losses


def torch_train_step(model, optimizer, inputs, targets):
    logits = model(inputs)
    loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()
