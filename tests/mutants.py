"""Deliberately broken submissions: the solutions with one typical student mistake each.

A Mutant names the graded function it breaks and the text replacements that break it; tests grade
each one and require it to lose points in exactly that function.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from conftest import SOLUTIONS


@dataclass(frozen=True)
class Mutant:
    function: str                       # "losses.softmax": the only function that may lose points
    mistake: str                        # what a student did
    edits: tuple[tuple[str, str], ...]  # (old, new) text replacements in <module>.py
    hint: str = ""                      # a phrase the feedback must contain ("" when no hint is due)

    @property
    def module(self) -> str:
        return self.function.split(".")[0]

    def write(self, dest: Path) -> Path:
        """A copy of the solutions with the edits applied (each old text must occur exactly once)."""
        shutil.copytree(SOLUTIONS, dest)
        path = dest / f"{self.module}.py"
        text = path.read_text()
        for old, new in self.edits:
            assert text.count(old) == 1, f"{self.mistake}: {old!r} occurs {text.count(old)} times"
            text = text.replace(old, new)
        path.write_text(text)
        return dest


def m(function: str, mistake: str, old: str, new: str, hint: str = "") -> Mutant:
    return Mutant(function, mistake, ((old, new),), hint)


MUTANTS = [
    m("losses.softmax", "no max subtraction",
      "    shifted = z - np.max(z, axis=-1, keepdims=True)\n    exp = np.exp(shifted)",
      "    exp = np.exp(z)", "subtract the maximum"),
    m("losses.softmax", "normalises over the wrong axis",
      "return exp / np.sum(exp, axis=-1, keepdims=True)",
      "return exp / np.sum(exp, axis=0, keepdims=True)", "last axis"),
    m("losses.softmax", "subtracts the maximum of the whole array, not each row's",
      "    shifted = z - np.max(z, axis=-1, keepdims=True)\n    exp = np.exp(shifted)",
      "    shifted = z - np.max(z)\n    exp = np.exp(shifted)", "each row's own maximum"),
    m("losses.softmax", "computes in float32",
      "    z = np.asarray(logits, dtype=np.float64)\n    shifted = z - np.max(z, axis=-1, keepdims=True)\n    exp",
      "    z = np.asarray(logits, dtype=np.float32)\n    shifted = z - np.max(z, axis=-1, keepdims=True)\n    exp",
      "compute in float64"),
    m("losses.log_softmax", "subtracts the maximum of the whole array, not each row's",
      "    shifted = z - np.max(z, axis=-1, keepdims=True)\n    return shifted",
      "    shifted = z - np.max(z)\n    return shifted", "each row's own maximum"),
    m("losses.log_softmax", "log of softmax",
      "    return shifted - np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))",
      "    return np.log(softmax(z))", "log-sum-exp"),
    m("losses.cross_entropy", "sum instead of mean",
      "return float(-np.mean(log_probs[np.arange(n), t]))",
      "return float(-np.sum(log_probs[np.arange(n), t]))", "not the sum"),
    m("losses.cross_entropy", "sign error",
      "return float(-np.mean(log_probs[np.arange(n), t]))",
      "return float(np.mean(log_probs[np.arange(n), t]))", "NEGATIVE"),
    m("losses.cross_entropy", "no single-example form",
      "    if z.ndim == 1:\n        z, t = z[None, :], t.reshape(1)\n", ""),
    m("losses.cross_entropy", "computes in float32",
      "    z = np.asarray(logits, dtype=np.float64)\n    t = np.asarray(targets)",
      "    z = np.asarray(logits, dtype=np.float32)\n    t = np.asarray(targets)", "compute in float64"),
    m("losses.square_loss", "forgot the ½",
      "return float(np.mean(0.5 * diff**2))", "return float(np.mean(diff**2))", "½"),
    m("backprop.tiny_forward", "sum instead of mean",
      "loss = square_loss(y, o)", "loss = float(np.sum(0.5 * (y - o) ** 2))"),
    m("backprop.tiny_forward", "skips the hidden layer",
      "o = np.tanh(w2 * h)", "o = np.tanh(w2 * x)"),
    m("backprop.tiny_backward", "missing 1 - o²",
      "dL_dz2 = dL_do * (1.0 - o**2)", "dL_dz2 = dL_do", "1 - o"),
    m("backprop.tiny_backward", "missing 1 - h²",
      "dL_dz1 = dL_dz2 * w2 * (1.0 - h**2)", "dL_dz1 = dL_dz2 * w2", "1 - h"),
    m("backprop.tiny_backward", "sign error",
      "dL_do = -(y - o) / n", "dL_do = (y - o) / n", "sign"),
    m("backprop.tiny_backward", "sum instead of mean",
      "dL_do = -(y - o) / n", "dL_do = -(y - o)"),
    m("backprop.cross_entropy_grad", "no division by N", "    grad /= n\n", ""),
    m("backprop.cross_entropy_grad", "forgot the one-hot",
      "    grad[np.arange(n), t] -= 1.0\n", ""),
    m("backprop.cross_entropy_grad", "its own softmax, with the maximum of the whole array",
      "    grad = softmax(z2)\n",
      "    e = np.exp(z2 - np.max(z2))\n    grad = e / e.sum(axis=-1, keepdims=True)\n", "each row's own maximum"),
    m("sgd.sgd_step", "does nothing", "    for k in params:\n        params[k] -= lr * grads[k]\n", "    pass\n"),
    m("sgd.sgd_step", "rebinds instead of updating in place",
      "        params[k] -= lr * grads[k]\n", "        params[k] = params[k] - lr * grads[k]\n", "in place"),
    m("sgd.sgd_step", "steps up the gradient",
      "        params[k] -= lr * grads[k]\n", "        params[k] += lr * grads[k]\n"),
    m("sgd.minibatch_indices", "no shuffle", "    perm = rng.permutation(n)\n    return",
      "    perm = np.arange(n)\n    return"),
    m("sgd.minibatch_indices", "drops the last short batch",
      "for i in range(0, n, batch_size)]", "for i in range(0, n - batch_size + 1, batch_size)]"),
    m("sgd.train_tiny", "a new rng every epoch",
      "    for _ in range(epochs):\n", "    for _ in range(epochs):\n        rng = np.random.default_rng(seed)\n"),
    m("sgd.train_tiny", "records the loss after the update",
      "            losses.append(float(loss))",
      "            losses.append(tiny_forward(x[idx], y[idx], float(params['w1']), float(params['w2']))[0])"),
    m("sgd.torch_train_step", "never clears the gradients", "    optimizer.zero_grad()\n", "", "zero_grad"),
    m("sgd.torch_train_step", "returns the loss after the step",
      "    return float(loss.item())",
      "    return float(F.cross_entropy(model(inputs).reshape(-1, logits.shape[-1]), targets.reshape(-1)))"),
    m("rnn.init_rnn_params", "unseeded", "rng = np.random.default_rng(seed)", "rng = np.random.default_rng()", "seed"),
    m("rnn.init_rnn_params", "constant recurrent weights",
      '"W_h": uniform(hidden_dim, hidden_dim),', '"W_h": np.full((hidden_dim, hidden_dim), 0.1),'),
    m("rnn.rnn_forward", "h @ W_h without the transpose", 'h @ params["W_h"].T', 'h @ params["W_h"]'),
    m("rnn.rnn_forward", "ignores h0",
      "h = np.zeros((n, hidden)) if h0 is None else np.asarray(h0, dtype=np.float64)",
      "h = np.zeros((n, hidden))"),
    m("rnn.next_word_probs", "first position instead of the last",
      "return softmax(logits[0, -1])", "return softmax(logits[0, 0])"),
    m("rnn.sequence_loss", "off by one between logits and next-word targets",
      "return cross_entropy(logits[:, :-1].reshape(-1, vocab), ids[:, 1:].reshape(-1))",
      "return cross_entropy(logits[:, 1:].reshape(-1, vocab), ids[:, 1:].reshape(-1))", "off-by-one"),
    m("rnn.sequence_loss", "sum over positions instead of mean",
      "return cross_entropy(logits[:, :-1].reshape(-1, vocab), ids[:, 1:].reshape(-1))",
      "return cross_entropy(logits[:, :-1].reshape(-1, vocab), ids[:, 1:].reshape(-1)) * ids[:, 1:].size"),
    m("rnn.rnn_backward", "gradient not carried back through time",
      '        dh_next = dz @ params["W_h"]', "        dh_next = dh_next * 0", "through time"),
    m("rnn.rnn_backward", "W_h gradient from h_t instead of h_{t-1}",
      'grads["W_h"] += dz.T @ h_prev', 'grads["W_h"] += dz.T @ h'),
    m("rnn.rnn_backward", "missing 1 - h²",
      "dz = (dlogits[:, t] @ params[\"U\"] + dh_next) * (1.0 - h**2)",
      "dz = dlogits[:, t] @ params[\"U\"] + dh_next"),
]
