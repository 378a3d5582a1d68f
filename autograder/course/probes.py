"""Child-side code of this course's probes, and the SGD optimizer they train with.

`train_steps` is how torch_train_step is observed: it builds an RNN language model from the
contract's parameter dict and a plain SGD optimizer, calls the function `steps` times in a row and
returns the losses and the parameters afterwards. The child runs it on the student's function;
the grader runs the very same code on the reference (and on the known mistakes), so the expected
observation is made exactly like the observed one.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import torch
from torch import nn

# The contract's parameter names, in the order of the torch modules' parameters below.
PARAMETERS = ("E", "W_e", "W_h", "b_h", "U", "b_o")


def _skip_dynamo_marking() -> None:
    """Optimizer.add_param_group and zero_grad import torch._dynamo (about 1 s) on their first
    call only to mark themselves as not to be compiled; nothing here is compiled, so fill in the
    cache they look up instead (torch/_compile.py: `fn.__dynamo_disable`)."""
    from torch._compile import _disable_dynamo

    wrapper_code = _disable_dynamo(lambda: None).__code__
    for attr in vars(torch.optim.Optimizer).values():
        fn = getattr(attr, "__wrapped__", None)
        if fn is not None and getattr(attr, "__code__", None) is wrapper_code:
            fn.__dynamo_disable = fn


_skip_dynamo_marking()


class SGD(torch.optim.SGD):
    """torch.optim.SGD (plain: no momentum, no weight decay) whose step() is the update itself,
    p -= lr * p.grad, without torch.optim's graph-break wrapper that imports torch._dynamo.
    tests/test_solutions.py checks that it steps exactly like torch.optim.SGD."""

    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        with torch.no_grad():
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is not None:
                        p.add_(p.grad, alpha=-group["lr"])
        return loss


def train_steps(step: Callable[..., Any], params: dict[str, np.ndarray], inputs: np.ndarray,
                targets: np.ndarray, lr: float, steps: int) -> dict[str, Any]:
    """`steps` calls step(model, optimizer, inputs, targets) on an nn.Embedding -> nn.RNN ->
    nn.Linear model holding `params` (bias_hh fixed at 0: the contract has one hidden bias) with
    SGD(lr); the values it returned and the parameters afterwards, by the contract's names."""
    (vocab, embed), hidden = params["E"].shape, params["W_h"].shape[0]
    embedding = nn.Embedding(vocab, embed).double()
    recurrent = nn.RNN(embed, hidden, nonlinearity="tanh", batch_first=True).double()
    output = nn.Linear(hidden, vocab).double()
    tensors = (embedding.weight, recurrent.weight_ih_l0, recurrent.weight_hh_l0, recurrent.bias_ih_l0,
               output.weight, output.bias)
    with torch.no_grad():
        for tensor, name in zip(tensors, PARAMETERS):
            tensor.copy_(torch.as_tensor(np.asarray(params[name], dtype=np.float64)))
        recurrent.bias_hh_l0.zero_()
    recurrent.bias_hh_l0.requires_grad_(False)
    model = nn.Sequential()  # a Module holding the three, so that model.parameters() finds them
    model.embedding, model.rnn, model.linear = embedding, recurrent, output
    model.forward = lambda ids: output(recurrent(embedding(ids))[0])
    optimizer = SGD(list(tensors), lr=lr)
    x, t = torch.as_tensor(np.asarray(inputs)), torch.as_tensor(np.asarray(targets))
    losses = [step(model, optimizer, x, t) for _ in range(steps)]
    return {"losses": losses,
            "params": {name: tensor.detach().numpy().copy() for tensor, name in zip(tensors, PARAMETERS)}}
