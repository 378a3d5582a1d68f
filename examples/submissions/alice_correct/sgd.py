import numpy as np
import torch

from backprop import *   # tiny_forward, tiny_backward


def sgd_step(params, grads, lr):
    for name, value in params.items():
        np.subtract(value, lr * grads[name], out=value)
    return params


def minibatch_indices(n, batch_size, rng):
    order = rng.permutation(n)
    batches, start = [], 0
    while start < n:
        batches.append(order[start:start + batch_size])
        start += batch_size
    return batches


def train_tiny(x, y, w1, w2, lr, batch_size, epochs, seed):
    rng = np.random.default_rng(seed)
    w = {"w1": np.array(float(w1)), "w2": np.array(float(w2))}
    history = []
    for epoch in range(epochs):
        for idx in minibatch_indices(len(x), batch_size, rng):
            loss, cache = tiny_forward(np.asarray(x)[idx], np.asarray(y)[idx], w["w1"].item(), w["w2"].item())
            g1, g2 = tiny_backward(cache)
            sgd_step(w, {"w1": np.array(g1), "w2": np.array(g2)}, lr)
            history.append(loss)
    return w["w1"].item(), w["w2"].item(), np.array(history)


def torch_train_step(model, optimizer, inputs, targets):
    optimizer.zero_grad(set_to_none=True)
    logits = model(inputs)
    loss = torch.nn.functional.cross_entropy(logits.flatten(0, 1), targets.flatten())
    loss.backward()
    optimizer.step()
    return loss.item()
