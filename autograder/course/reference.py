"""The PyTorch reference for every graded function, in float64.

The grader computes every expected value with these, and they stand in for the graded functions
that a function under test calls, so that a bug is charged only where it is. Each takes and
returns what the contract says (NumPy in, NumPy or floats out). Nothing here comes from
`solutions/`: these are written with torch's own operators and modules.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from autograder.course.probes import SGD

DTYPE = torch.float64
# Grading evaluates many small tensors: waking torch's thread pool for each costs more than the
# work (tenfold on the large RNN check), and a grading worker or the fork server has the other core.
torch.set_num_threads(1)


def tensor(a) -> torch.Tensor:
    """A float64 tensor holding a copy of `a`."""
    return torch.tensor(np.asarray(a, dtype=np.float64), dtype=DTYPE)


def _long(a) -> torch.Tensor:
    return torch.as_tensor(np.asarray(a, dtype=np.int64))


# Part 1: losses ---------------------------------------------------------------------------------

def softmax(logits) -> np.ndarray:
    """torch.softmax over the last axis; (..., V) -> (..., V)."""
    return torch.softmax(tensor(logits), dim=-1).numpy()


def log_softmax(logits) -> np.ndarray:
    """torch.log_softmax over the last axis; (..., V) -> (..., V)."""
    return torch.log_softmax(tensor(logits), dim=-1).numpy()


def cross_entropy(logits, targets) -> float:
    """F.cross_entropy, reduction "mean"; (N, V), (N,) or (V,), int -> float."""
    z, t = tensor(logits), _long(targets)
    if z.dim() == 1:
        z, t = z.unsqueeze(0), t.reshape(1)
    return float(F.cross_entropy(z, t))


def square_loss(y, o) -> float:
    """mean(½(y - o)²) via F.mse_loss (which has no ½)."""
    return float(0.5 * F.mse_loss(tensor(o), tensor(y)))


# Part 2: backprop -------------------------------------------------------------------------------

def tiny_loss(x, y, w1, w2) -> torch.Tensor:
    """The lecture's tiny network as a torch graph: mean(½(y - tanh(w2·tanh(w1·x)))²)."""
    w1, w2 = torch.as_tensor(w1, dtype=DTYPE), torch.as_tensor(w2, dtype=DTYPE)
    o = torch.tanh(w2 * torch.tanh(w1 * tensor(x)))
    return 0.5 * F.mse_loss(o, tensor(y))


def tiny_forward(x, y, w1, w2) -> tuple[float, dict]:
    """(L, cache) with cache holding x, y, w1, w2, h, o."""
    x_t, y_t = tensor(x), tensor(y)
    h = torch.tanh(float(w1) * x_t)
    o = torch.tanh(float(w2) * h)
    loss = float(0.5 * F.mse_loss(o, y_t))
    return loss, {"x": x_t.numpy(), "y": y_t.numpy(), "w1": float(w1), "w2": float(w2),
                  "h": h.numpy(), "o": o.numpy()}


def tiny_gradients(x, y, w1, w2) -> tuple[float, float]:
    """(dL/dw1, dL/dw2) by torch autograd."""
    w = torch.tensor([float(w1), float(w2)], dtype=DTYPE, requires_grad=True)
    tiny_loss(x, y, w[0], w[1]).backward()
    return float(w.grad[0]), float(w.grad[1])


def tiny_backward(cache) -> tuple[float, float]:
    """The gradient of the mean loss, from the cache's x, y, w1, w2 (autograd)."""
    return tiny_gradients(cache["x"], cache["y"], cache["w1"], cache["w2"])


def cross_entropy_grad(logits, targets) -> np.ndarray:
    """d cross_entropy / d logits by autograd; same shape as logits."""
    z = tensor(logits).requires_grad_(True)
    t = _long(targets)
    if z.dim() == 1:
        F.cross_entropy(z.unsqueeze(0), t.reshape(1)).backward()
    else:
        F.cross_entropy(z, t).backward()
    return z.grad.numpy()


# Part 3: SGD ------------------------------------------------------------------------------------

def sgd_step(params: dict, grads: dict, lr: float) -> None:
    """torch.optim.SGD.step() semantics: every params[k] updated in place (0-d arrays too)."""
    for k in params:
        grad = torch.from_numpy(np.asarray(grads[k], dtype=params[k].dtype))
        torch.from_numpy(params[k]).sub_(grad, alpha=lr)  # from_numpy shares the array's memory


def minibatch_indices(n: int, batch_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """perm = rng.permutation(n), cut into consecutive slices of batch_size."""
    perm = rng.permutation(n)
    return [perm[i:i + batch_size] for i in range(0, n, batch_size)]


def train_tiny(x, y, w1, w2, lr, batch_size, epochs, seed) -> tuple[float, float, list[float]]:
    """Minibatch SGD on the tiny network (autograd + SGD), on the contract's minibatches."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    w = torch.tensor([float(w1), float(w2)], dtype=DTYPE, requires_grad=True)
    optimizer = SGD([w], lr=lr)
    rng = np.random.default_rng(seed)
    losses = []
    for _ in range(epochs):
        for idx in minibatch_indices(len(x), batch_size, rng):
            optimizer.zero_grad()
            loss = tiny_loss(x[idx], y[idx], w[0], w[1])
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    return w[0].item(), w[1].item(), losses


class RNNLM(nn.Module):
    """nn.Embedding -> nn.RNN(tanh, batch_first) -> nn.Linear, with the contract's parameter dict.

    bias_hh is held at zero: the contract has one hidden bias b_h (torch's bias_ih).
    """

    def __init__(self, params: dict[str, np.ndarray]) -> None:
        super().__init__()
        vocab, embed = params["E"].shape
        hidden = params["W_h"].shape[0]
        self.embedding = nn.Embedding(vocab, embed).to(DTYPE)
        self.rnn = nn.RNN(embed, hidden, nonlinearity="tanh", batch_first=True).to(DTYPE)
        self.linear = nn.Linear(hidden, vocab).to(DTYPE)
        with torch.no_grad():
            self.embedding.weight.copy_(tensor(params["E"]))
            self.rnn.weight_ih_l0.copy_(tensor(params["W_e"]))
            self.rnn.weight_hh_l0.copy_(tensor(params["W_h"]))
            self.rnn.bias_ih_l0.copy_(tensor(params["b_h"]))
            self.rnn.bias_hh_l0.zero_()
            self.linear.weight.copy_(tensor(params["U"]))
            self.linear.bias.copy_(tensor(params["b_o"]))
        self.rnn.bias_hh_l0.requires_grad_(False)

    def forward(self, token_ids: torch.Tensor, h0: torch.Tensor | None = None):
        """LongTensor (N, T) -> logits (N, T, V); with_hiddens() also gives (N, T, H)."""
        return self.with_hiddens(token_ids, h0)[0]

    def with_hiddens(self, token_ids: torch.Tensor, h0: torch.Tensor | None = None):
        hiddens, _ = self.rnn(self.embedding(token_ids), None if h0 is None else h0.unsqueeze(0))
        return self.linear(hiddens), hiddens

    def named_arrays(self) -> dict[str, torch.Tensor]:
        """The contract's names for the module's parameters."""
        return {"E": self.embedding.weight, "W_e": self.rnn.weight_ih_l0,
                "W_h": self.rnn.weight_hh_l0, "b_h": self.rnn.bias_ih_l0,
                "U": self.linear.weight, "b_o": self.linear.bias}


def torch_train_step(model, optimizer, inputs, targets) -> float:
    """The contract's step: mean F.cross_entropy over N·T, zero_grad, backward, step."""
    logits = model(inputs)
    loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return float(loss.item())


# Part 4: RNN LM ---------------------------------------------------------------------------------

def init_rnn_params(vocab_size: int, embed_dim: int, hidden_dim: int, seed: int = 0) -> dict:
    """PyTorch's own initialisation (seeded), with E scaled into [-1, 1]."""
    generator = torch.Generator().manual_seed(seed)
    bound = hidden_dim ** -0.5

    def uniform(*shape):
        return ((torch.rand(*shape, generator=generator, dtype=DTYPE) * 2 - 1) * bound).numpy()

    return {"E": (torch.rand(vocab_size, embed_dim, generator=generator, dtype=DTYPE) - 0.5).numpy(),
            "W_e": uniform(hidden_dim, embed_dim), "W_h": uniform(hidden_dim, hidden_dim),
            "b_h": uniform(hidden_dim), "U": uniform(vocab_size, hidden_dim),
            "b_o": uniform(vocab_size)}


def rnn_forward(params: dict, token_ids, h0=None) -> tuple[np.ndarray, np.ndarray]:
    """(logits (N, T, V), hiddens (N, T, H)) from RNNLM."""
    with torch.no_grad():
        logits, hiddens = RNNLM(params).with_hiddens(
            _long(token_ids), None if h0 is None else tensor(h0))
    return logits.numpy(), hiddens.numpy()


def next_word_probs(params: dict, prefix_ids) -> np.ndarray:
    """softmax of the last position's logits; (T,) -> (V,)."""
    logits, _ = rnn_forward(params, np.asarray(prefix_ids)[None, :])
    return softmax(logits[0, -1])


def sequence_loss_tensor(model: RNNLM, token_ids: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy of token_ids[:, t+1] given the logits at t, as a torch scalar."""
    logits = model(token_ids)
    return F.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]),
                           token_ids[:, 1:].reshape(-1))


def sequence_loss(params: dict, token_ids) -> float:
    with torch.no_grad():
        return float(sequence_loss_tensor(RNNLM(params), _long(token_ids)))


def rnn_backward(params: dict, token_ids) -> dict[str, np.ndarray]:
    """The gradient of sequence_loss for every parameter, by autograd."""
    model = RNNLM(params)
    sequence_loss_tensor(model, _long(token_ids)).backward()
    return {k: v.grad.numpy().copy() for k, v in model.named_arrays().items()}

