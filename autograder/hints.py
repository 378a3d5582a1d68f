"""Known mistakes as data, for hints.

Each Mistake computes what a typical wrong version of a graded function returns on the same
inputs. When a student's output matches it (and not the reference), the feedback names the
mistake. Judges look these up by function (`MISTAKES["losses.softmax"]`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np


@dataclass(frozen=True)
class Mistake:
    hint: str                        # what to tell the student
    wrong: Callable[..., Any]        # the wrong version: same arguments as the graded function


def _exp_normalise(z, axis):
    with np.errstate(over="ignore", invalid="ignore"):
        e = np.exp(z)
        return e / e.sum(axis=axis, keepdims=True)


def _stable_log_softmax(z, axis=-1):
    shifted = z - z.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def _rows(logits, targets):
    z = np.asarray(logits, dtype=np.float64)
    t = np.asarray(targets)
    return (z[None], t.reshape(1)) if z.ndim == 1 else (z, t)


def _picked(log_probs, targets):
    return log_probs[np.arange(len(targets)), targets]


def _naive_log_softmax(z):
    """log(softmax(z)) with a stable softmax: -inf wherever a probability underflows to 0."""
    with np.errstate(divide="ignore"):
        return np.log(_exp_normalise(z - z.max(axis=-1, keepdims=True), -1))


OVERFLOW = ("exp() overflows for large logits: subtract the maximum of each row first "
            "(softmax(z) = softmax(z - max z)), so the largest exponent is exp(0) = 1.")
WRONG_AXIS = ("normalise over the last axis (axis=-1, keepdims=True): each row of logits is one "
              "distribution over the vocabulary.")
SUM_NOT_MEAN = "use the mean over the examples, not the sum (divide by N)."
LOG_OF_SOFTMAX = ("log(softmax(z)) gives log(0) = -inf when a probability underflows: compute "
                  "z - max z - log(sum(exp(z - max z))) directly (log-sum-exp).")

MISTAKES: dict[str, list[Mistake]] = {
    "losses.softmax": [
        Mistake(OVERFLOW, lambda z: _exp_normalise(np.asarray(z, float), -1)),
        Mistake(WRONG_AXIS, lambda z: _exp_normalise(np.asarray(z, float) - np.max(z), 0)),
        Mistake(WRONG_AXIS + " Dividing by the sum over the whole array mixes the rows.",
                lambda z: _exp_normalise(np.asarray(z, float) - np.max(z), None)),
        Mistake("divide by the sum of the exponentials so each row sums to 1.",
                lambda z: np.exp(np.asarray(z, float) - np.max(z, axis=-1, keepdims=True))),
    ],
    "losses.log_softmax": [
        Mistake(LOG_OF_SOFTMAX, lambda z: _naive_log_softmax(np.asarray(z, float))),
        Mistake(OVERFLOW, lambda z: np.asarray(z, float) - np.log(np.exp(np.asarray(z, float)).sum(-1, keepdims=True))),
        Mistake(WRONG_AXIS, lambda z: _stable_log_softmax(np.asarray(z, float), axis=0)),
    ],
    "losses.cross_entropy": [
        Mistake(SUM_NOT_MEAN, lambda z, t: -_picked(_stable_log_softmax(_rows(z, t)[0]), _rows(z, t)[1]).sum()),
        Mistake("the loss is the NEGATIVE log-probability of the right word (it is ≥ 0).",
                lambda z, t: _picked(_stable_log_softmax(_rows(z, t)[0]), _rows(z, t)[1]).mean()),
        Mistake("take the log of the probability: cross-entropy is -log p(correct word).",
                lambda z, t: -_picked(np.exp(_stable_log_softmax(_rows(z, t)[0])), _rows(z, t)[1]).mean()),
        Mistake(LOG_OF_SOFTMAX, lambda z, t: -_picked(_naive_log_softmax(_rows(z, t)[0]), _rows(z, t)[1]).mean()),
        Mistake("average over the N examples only, not over all N·V entries of the one-hot product.",
                lambda z, t: -_picked(_stable_log_softmax(_rows(z, t)[0]), _rows(z, t)[1]).sum() / _rows(z, t)[0].size),
    ],
    "losses.square_loss": [
        Mistake("the lecture's loss has a factor ½: L = ½(y - o)².",
                lambda y, o: np.mean((np.asarray(y, float) - np.asarray(o, float)) ** 2)),
        Mistake(SUM_NOT_MEAN, lambda y, o: np.sum(0.5 * (np.asarray(y, float) - np.asarray(o, float)) ** 2)),
    ],
}


# Part 2: backprop -------------------------------------------------------------------------------
# Independent NumPy versions with a switch per mistake; each Mistake below flips one switch.

HALF = "the lecture's loss has a factor ½: L = ½(y - o)²."


def _tiny_forward(x, y, w1, w2, *, mean=True, half=True, skip_h=False):
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    h = np.tanh(w1 * x)
    o = np.tanh(w2 * (x if skip_h else h))
    squares = (0.5 if half else 1.0) * (y - o) ** 2
    loss = squares.mean() if mean else squares.sum()
    return float(loss), {"x": x, "y": y, "w1": w1, "w2": w2, "h": h, "o": o}


def _tiny_backward(cache, *, o_factor=True, o_factor_w2=True, h_factor=True, sign=1.0, mean=True):
    x, y, h, o = (np.asarray(cache[k], dtype=np.float64) for k in ("x", "y", "h", "o"))
    d_o = sign * (o - y) / (x.size if mean else 1)
    dz2 = d_o * ((1 - o**2) if o_factor else 1.0)
    dz1 = dz2 * cache["w2"] * ((1 - h**2) if h_factor else 1.0)
    return float(np.sum(dz1 * x)), float(np.sum((dz2 if o_factor_w2 else d_o) * h))


def _onehot_rows(logits, targets):
    z, t = _rows(logits, targets)
    onehot = np.zeros_like(z)
    onehot[np.arange(len(t)), t] = 1.0
    return z, onehot


def _ce_grad(logits, targets, *, per_row=True, sign=1.0, onehot=True):
    z, hot = _onehot_rows(logits, targets)
    grad = sign * (_exp_normalise(z - z.max(-1, keepdims=True), -1) - (hot if onehot else 0.0))
    grad = grad / (len(z) if per_row else 1)
    return grad[0] if np.ndim(logits) == 1 else grad


MISTAKES["backprop.tiny_forward"] = [
    Mistake(SUM_NOT_MEAN, lambda x, y, w1, w2: _tiny_forward(x, y, w1, w2, mean=False)),
    Mistake(HALF, lambda x, y, w1, w2: _tiny_forward(x, y, w1, w2, half=False)),
    Mistake("the output unit reads the hidden unit, not the input: o = tanh(w2·h) with h = tanh(w1·x).",
            lambda x, y, w1, w2: _tiny_forward(x, y, w1, w2, skip_h=True)),
]
_O_FACTOR = ("o = tanh(w2·h), so the chain rule passes through tanh′ = 1 - o²: "
             "dL/dw2 = -(y - o)·(1 - o²)·h, and dL/dw1 carries the same factor.")
MISTAKES["backprop.tiny_backward"] = [
    Mistake(_O_FACTOR, lambda cache: _tiny_backward(cache, o_factor=False)),
    Mistake(_O_FACTOR, lambda cache: _tiny_backward(cache, o_factor_w2=False)),  # forgotten in dL/dw2 only
    Mistake("h = tanh(w1·x) adds a factor 1 - h² on the way down to w1: "
            "dL/dw1 = -(y - o)·(1 - o²)·w2·(1 - h²)·x.",
            lambda cache: _tiny_backward(cache, h_factor=False)),
    Mistake("mind the sign: dL/do = -(y - o) = o - y.", lambda cache: _tiny_backward(cache, sign=-1.0)),
    Mistake("the loss is a mean over the batch, so each gradient is too: divide the sums by N = x.size.",
            lambda cache: _tiny_backward(cache, mean=False)),
]
MISTAKES["backprop.cross_entropy_grad"] = [
    Mistake("cross_entropy is the mean over the N rows, so its gradient has a factor 1/N: "
            "(softmax(logits) - onehot(targets)) / N.",
            lambda z, t: _ce_grad(z, t, per_row=False)),
    Mistake("mind the sign: the gradient is softmax(logits) - onehot(targets), probabilities minus the one-hot.",
            lambda z, t: _ce_grad(z, t, sign=-1.0)),
    Mistake("subtract 1 at each row's target: (softmax(logits) - onehot(targets)) / N.",
            lambda z, t: _ce_grad(z, t, onehot=False)),
]


# Part 3: SGD ------------------------------------------------------------------------------------
# sgd_step and torch_train_step are observed through probes, so their wrong versions return what
# the probe would observe of the typical wrong implementation.

REBINDS = ("update the arrays in place: params[k] -= lr * grads[k]. Writing params[k] = params[k] - "
           "lr * grads[k] puts a new array in the dict, so the caller's arrays (and a model holding "
           "them) never change.")
CHANGES_GRADS = ("leave grads unchanged: compute lr * grads[k] as a new array (params[k] -= lr * grads[k]) "
                 "instead of scaling grads[k] in place.")
NO_SHUFFLE = "shuffle first: perm = rng.permutation(n), then cut perm into the slices perm[i:i + batch_size]."
DROPS_LAST = "keep the last, shorter batch: range(0, n, batch_size) reaches it, so every index appears once."
USE_THE_RNG = ("draw the order from the rng you are given, exactly once: perm = rng.permutation(n). "
               "np.random.* or a new Generator gives an order the grader cannot replay.")


def observe_sgd_step(step: Callable[[dict, dict, float], Any]) -> Callable[[dict, dict, float], dict]:
    """What the "sgd_step" probe sees of `step`: the original arrays' values afterwards, the keys
    rebound to new objects, and grads afterwards."""
    def observed(params: dict, grads: dict, lr: float) -> dict:
        originals = dict(params)
        step(params, grads, lr)
        return {"params": {k: np.array(v) for k, v in originals.items()},
                "rebound": [k for k in originals if params.get(k) is not originals[k]],
                "grads": {k: np.array(v) for k, v in grads.items()}}
    return observed


def _sgd_rebinds(params, grads, lr):
    for k in params:
        params[k] = params[k] - lr * grads[k]


def _sgd_ascends(params, grads, lr):
    for k in params:
        params[k] += lr * grads[k]


def _sgd_scales_grads(params, grads, lr):
    for k in params:
        grads[k] *= lr
        params[k] -= grads[k]


def _sgd_ignores_lr(params, grads, lr):
    for k in params:
        params[k] -= grads[k]


def _batches(n, batch_size, rng, *, shuffle=True, keep_last=True):
    order = rng.permutation(n) if shuffle else np.arange(n)
    stop = n if keep_last else n - n % batch_size
    return [order[i:i + batch_size] for i in range(0, stop, batch_size)]


def _batches_from_np_random(n, batch_size, rng):
    """Ignores `rng`: a fresh unseeded Generator, as np.random.permutation would be."""
    return _batches(n, batch_size, np.random.default_rng())


def _tiny_loss_and_grads(x, y, w1, w2):
    loss, cache = _tiny_forward(x, y, w1, w2)
    return (loss, *_tiny_backward(cache))


def _train_tiny(x, y, w1, w2, lr, batch_size, epochs, seed, *, loss_after=False, rng_per_epoch=False,
                rate=lambda lr: lr):
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    w1, w2, losses = float(w1), float(w2), []
    rng = np.random.default_rng(seed)
    for _ in range(epochs):
        if rng_per_epoch:
            rng = np.random.default_rng(seed)
        for idx in _batches(len(x), batch_size, rng):
            loss, g1, g2 = _tiny_loss_and_grads(x[idx], y[idx], w1, w2)
            w1, w2 = w1 - rate(lr) * g1, w2 - rate(lr) * g2
            losses.append(_tiny_forward(x[idx], y[idx], w1, w2)[0] if loss_after else loss)
    return w1, w2, losses


def observe_torch_train_steps(step: Callable[..., float]) -> Callable[..., dict]:
    """What the "torch_train_steps" probe sees of `step`: its `steps` return values and the
    parameters of reference.RNNLM after them."""
    def observed(params, inputs, targets, lr, steps) -> dict:
        import torch  # only when a hint is looked up: importing hints stays light

        from autograder import reference
        model = reference.RNNLM(params)
        optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=lr)
        x, t = torch.as_tensor(np.asarray(inputs)), torch.as_tensor(np.asarray(targets))
        losses = [float(step(model, optimizer, x, t)) for _ in range(steps)]
        return {"losses": losses,
                "params": {k: v.detach().numpy().copy() for k, v in model.named_arrays().items()}}
    return observed


def _torch_step(model, optimizer, inputs, targets, *, zero_grad=True, loss_after=False, reduction="mean"):
    import torch.nn.functional as F

    def loss_now():
        logits = model(inputs)
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), reduction=reduction)

    loss = loss_now()
    if zero_grad:
        optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss_now().item() if loss_after else loss.item()


def _torch_step_accumulates(model, optimizer, inputs, targets):
    return _torch_step(model, optimizer, inputs, targets, zero_grad=False)


def _torch_step_loss_after(model, optimizer, inputs, targets):
    return _torch_step(model, optimizer, inputs, targets, loss_after=True)


def _torch_step_sums(model, optimizer, inputs, targets):
    return _torch_step(model, optimizer, inputs, targets, reduction="sum")


MISTAKES["sgd.sgd_step"] = [
    Mistake(REBINDS, observe_sgd_step(_sgd_rebinds)),
    Mistake("step against the gradient: params[k] -= lr * grads[k] (not +=).", observe_sgd_step(_sgd_ascends)),
    Mistake(CHANGES_GRADS, observe_sgd_step(_sgd_scales_grads)),
    Mistake("multiply the gradient by the learning rate: params[k] -= lr * grads[k].",
            observe_sgd_step(_sgd_ignores_lr)),
]
MISTAKES["sgd.minibatch_indices"] = [
    Mistake(NO_SHUFFLE, lambda n, b, rng: _batches(n, b, rng, shuffle=False)),
    Mistake(DROPS_LAST, lambda n, b, rng: _batches(n, b, rng, keep_last=False)),
    Mistake(USE_THE_RNG, _batches_from_np_random),  # never reproducible: judges recognise it by its form
]
MISTAKES["sgd.train_tiny"] = [
    Mistake("record each minibatch's loss as tiny_forward returns it, before w1 and w2 are updated.",
            lambda *args: _train_tiny(*args, loss_after=True)),
    Mistake("create rng = np.random.default_rng(seed) once, before the epoch loop: a new rng every "
            "epoch repeats the first epoch's order of batches.",
            lambda *args: _train_tiny(*args, rng_per_epoch=True)),
    Mistake("step by the learning rate times the gradient: w ← w - lr·dL/dw (pass lr to sgd_step).",
            lambda *args: _train_tiny(*args, rate=lambda lr: 1.0)),
    Mistake("step against the gradient: w ← w - lr·dL/dw.", lambda *args: _train_tiny(*args, rate=lambda lr: -lr)),
]
MISTAKES["sgd.torch_train_step"] = [
    Mistake("call optimizer.zero_grad() before loss.backward(): PyTorch adds new gradients to the "
            "old ones, so without it the second step uses the sum of both steps' gradients.",
            observe_torch_train_steps(_torch_step_accumulates)),
    Mistake("return the loss computed before optimizer.step(): loss.item() of the loss you called "
            "backward() on.", observe_torch_train_steps(_torch_step_loss_after)),
    Mistake("use the mean over all N·T positions (F.cross_entropy's default reduction=\"mean\"), not the sum.",
            observe_torch_train_steps(_torch_step_sums)),
]


# Part 4: RNN LM ---------------------------------------------------------------------------------

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


def _rnn_forward(params, token_ids, h0=None, *, wh_transposed=True, use_h0=True, tanh=True,
                 logits_from_previous=False):
    ids = np.asarray(token_ids)
    n, steps = ids.shape
    w_h = params["W_h"].T if wh_transposed else params["W_h"]
    h = np.zeros((n, w_h.shape[0])) if h0 is None or not use_h0 else np.asarray(h0, dtype=np.float64)
    hiddens, previous = [], []
    for t in range(steps):
        previous.append(h)
        z = params["E"][ids[:, t]] @ params["W_e"].T + h @ w_h + params["b_h"]
        h = np.tanh(z) if tanh else z
        hiddens.append(h)
    hiddens = np.stack(hiddens, axis=1)
    source = np.stack(previous, axis=1) if logits_from_previous else hiddens
    return source @ params["U"].T + params["b_o"], hiddens


def _next_word(params, prefix_ids, *, position=-1, output="probs"):
    logits = _rnn_forward(params, np.asarray(prefix_ids)[None, :])[0][0, position]
    return {"probs": _exp_normalise(logits - logits.max(), -1), "logits": logits,
            "log_probs": _stable_log_softmax(logits)}[output]


def _sequence_nll(params, token_ids, *, shift=True, first=0):
    """-log p of each predicted token: logits[:, t] predict ids[:, t+1] (shift) or ids[:, t]."""
    ids = np.asarray(token_ids)
    logits = _rnn_forward(params, ids)[0]
    z, t = (logits[:, :-1], ids[:, 1:]) if shift else (logits[:, first:], ids[:, first:])
    z, t = z.reshape(-1, z.shape[-1]), t.reshape(-1)
    return -_picked(_stable_log_softmax(z), t)


def _rnn_backward(params, token_ids, *, carry=True, tanh_factor=True, wh_from_current=False,
                  divide_by="positions"):
    ids = np.asarray(token_ids)
    n, steps = ids.shape
    logits, hiddens = _rnn_forward(params, ids)
    dlogits = np.zeros_like(logits)
    probs = _exp_normalise(logits[:, :-1] - logits[:, :-1].max(-1, keepdims=True), -1)
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


MISTAKES["rnn.init_rnn_params"] = [  # judged by form, not by value: these only document them
    Mistake(UNSEEDED, lambda V, d, H, seed=0: _init(V, d, H, rng=np.random.default_rng())),
    Mistake(IGNORES_SEED, lambda V, d, H, seed=0: _init(V, d, H, 0)),
    Mistake(CONSTANT, lambda V, d, H, seed=0: _init(V, d, H, seed, fill=0.1)),
    Mistake(TRANSPOSED, lambda V, d, H, seed=0: _init(V, d, H, seed, transpose=True)),
    Mistake(FLOAT32, lambda V, d, H, seed=0: _init(V, d, H, seed, dtype=np.float32)),
    Mistake(TOO_LARGE, lambda V, d, H, seed=0: _init(V, d, H, seed, spread=1.0)),
]
MISTAKES["rnn.rnn_forward"] = [
    Mistake("the recurrence multiplies by W_h transposed: h_{t-1} @ W_h.T, like nn.RNN's weight_hh "
            "(W_h is not symmetric).", lambda p, ids, h0=None: _rnn_forward(p, ids, h0, wh_transposed=False)),
    Mistake("start from the h0 you are given; use zeros only when h0 is None.",
            lambda p, ids, h0=None: _rnn_forward(p, ids, h0, use_h0=False)),
    Mistake("apply tanh: h_t = tanh(e_t W_eᵀ + h_{t-1} W_hᵀ + b_h).",
            lambda p, ids, h0=None: _rnn_forward(p, ids, h0, tanh=False)),
    Mistake("logits_t come from the new state h_t (after step t's update), not from h_{t-1}.",
            lambda p, ids, h0=None: _rnn_forward(p, ids, h0, logits_from_previous=True)),
]
MISTAKES["rnn.next_word_probs"] = [
    Mistake("use the logits at the LAST position, logits[0, -1]: only they have read the whole prefix.",
            lambda p, ids: _next_word(p, ids, position=0)),
    Mistake("return probabilities: apply softmax to the last position's logits.",
            lambda p, ids: _next_word(p, ids, output="logits")),
    Mistake("return probabilities (softmax), not log-probabilities.",
            lambda p, ids: _next_word(p, ids, output="log_probs")),
]
_NEXT_WORD = ("off-by-one: the logits at position t predict the NEXT token, so compare logits[:, :-1] "
              "with token_ids[:, 1:] (T - 1 predictions per sequence).")
MISTAKES["rnn.sequence_loss"] = [
    Mistake(_NEXT_WORD, lambda p, ids: float(_sequence_nll(p, ids, shift=False).mean())),
    Mistake(_NEXT_WORD, lambda p, ids: float(_sequence_nll(p, ids, shift=False, first=1).mean())),
    Mistake("use the mean over all N·(T-1) predictions, not the sum.",
            lambda p, ids: float(_sequence_nll(p, ids).sum())),
    Mistake("divide by the number of predictions, N·(T-1), not by N.",
            lambda p, ids: float(_sequence_nll(p, ids).sum() / len(ids))),
]
MISTAKES["rnn.rnn_backward"] = [
    Mistake("carry the gradient back through time: dh_t gets logits_t's share (dlogits_t @ U) plus "
            "dh_{t+1}'s share through the recurrence (dz_{t+1} @ W_h).",
            lambda p, ids: _rnn_backward(p, ids, carry=False)),
    Mistake("h_t = tanh(z_t): multiply dh_t by (1 - h_t²) to get dz_t before going further down.",
            lambda p, ids: _rnn_backward(p, ids, tanh_factor=False)),
    Mistake("W_h multiplies the previous state: dW_h += dz_tᵀ @ h_{t-1} (with h_{-1} = 0).",
            lambda p, ids: _rnn_backward(p, ids, wh_from_current=True)),
    Mistake("sequence_loss is a mean over the N·(T-1) predictions: divide dlogits by N·(T-1).",
            lambda p, ids: _rnn_backward(p, ids, divide_by="none")),
    Mistake("sequence_loss is a mean over all N·(T-1) predictions: divide dlogits by N·(T-1), not by N.",
            lambda p, ids: _rnn_backward(p, ids, divide_by="batch")),
]
