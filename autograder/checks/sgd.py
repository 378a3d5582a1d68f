"""Part 3 checks, visible to students: sgd_step, minibatch_indices, train_tiny, torch_train_step.

sgd_step and torch_train_step are observed through probes (see Call): what sgd_step did to the
caller's own arrays, and what `steps` calls of torch_train_step did to a real model.
"""

from __future__ import annotations

from functools import partial
from typing import Any, Callable, Sequence

import numpy as np

from autograder import numerics, reference
from autograder.checks import Call, Check, Verdict
from autograder.checks.judges import (
    Rng,
    calls_with,
    difference,
    evaluate,
    feedback,
    matches_reference,
    matching_mistake,
    per_call,
    show,
)
from autograder.checks.rnn import rnn_lm
from autograder.hints import (
    CHANGES_GRADS,
    DROPS_LAST,
    MISTAKES,
    REBINDS,
    USE_THE_RNG,
    observe_sgd_step,
)

rng = np.random.default_rng(301)


# sgd_step ---------------------------------------------------------------------------------------

# The reference's results, once per call (the same for every submission).
STEPPED = per_call(partial(evaluate, observe_sgd_step(reference.sgd_step)))
BATCHES = per_call(partial(evaluate, reference.minibatch_indices))
TRAINED = per_call(partial(evaluate, reference.torch_train_steps))


def steps_in_place(calls: Sequence[Call], values: Sequence[Any]) -> Verdict:
    """The caller's own arrays (never rebound) now hold params - lr·grads."""
    for call, value in zip(calls, values):
        if value["rebound"]:
            keys = " and ".join(f"params[{k!r}]" for k in value["rebound"])
            what = "is a new array" if len(value["rebound"]) == 1 else "are new arrays"
            return Verdict(False, feedback("sgd.sgd_step", call, f"after the call {keys} {what}: the arrays "
                                           "passed in, which the caller still holds, were not updated", REBINDS))
        expected = STEPPED(call)["params"]
        problem = difference(value["params"], expected, "params")
        if problem:
            problem = f"after the call the caller's arrays hold other values than params[k] - lr·grads[k]: {problem}"
            mistake = matching_mistake(value, call, MISTAKES["sgd.sgd_step"])
            return Verdict(False, feedback("sgd.sgd_step", call, problem, mistake and mistake.hint))
    return Verdict(True)


def leaves_grads_unchanged(calls: Sequence[Call], values: Sequence[Any]) -> Verdict:
    for call, value in zip(calls, values):
        problem = difference(value["grads"], call.args[1], "grads")
        if problem:
            return Verdict(False, feedback("sgd.sgd_step", call, f"the call changed grads: {problem}", CHANGES_GRADS))
    return Verdict(True)


def sgd_calls(*arg_tuples: tuple) -> Callable[[], list[Call]]:
    return calls_with(*arg_tuples, probe="sgd_step")


# minibatch_indices ------------------------------------------------------------------------------

def batch_sizes(n: int, batch_size: int) -> list[int]:
    return [min(batch_size, n - i) for i in range(0, n, batch_size)]


def partition_problem(value: Any, n: int, batch_size: int) -> str | None:
    """None when `value` is a list of index batches of the contract's sizes holding 0 … n-1 once each."""
    if not isinstance(value, list) or not all(np.ndim(b) == 1 for b in value):
        return f"expected a list of 1-D index arrays, got {numerics.describe(value)}"
    sizes = [len(b) for b in value]
    if sizes != batch_sizes(n, batch_size):
        return (f"the batch sizes are {sizes}; expected {batch_sizes(n, batch_size)} (slices of "
                "batch_size, only the last one shorter)")
    found = np.sort(np.concatenate([np.asarray(b, dtype=float) for b in value])) if value else np.zeros(0)
    if not np.array_equal(found, np.arange(n)):
        return f"the batches hold the indices {show(found.astype(int))}; expected each of 0 … {n - 1} exactly once"
    return None


def covers_every_index_once(calls: Sequence[Call], values: Sequence[Any]) -> Verdict:
    for call, value in zip(calls, values):
        n, batch_size = call.args[:2]
        problem = partition_problem(value, n, batch_size)
        if problem:
            sizes = [np.size(b) for b in value] if isinstance(value, list) else None
            dropped = sizes == batch_sizes(n - n % batch_size, batch_size)
            return Verdict(False, feedback("sgd.minibatch_indices", call, problem, DROPS_LAST if dropped else None))
    return Verdict(True)


def follows_the_rng(calls: Sequence[Call], values: Sequence[Any]) -> Verdict:
    """Exactly the slices of rng.permutation(n); a right-shaped shuffle from elsewhere gets USE_THE_RNG."""
    for call, value in zip(calls, values):
        problem = difference(value, BATCHES(call), "the batches")
        if problem:
            mistake = matching_mistake(value, call, MISTAKES["sgd.minibatch_indices"])
            hint = mistake.hint if mistake else (None if partition_problem(value, *call.args[:2]) else USE_THE_RNG)
            return Verdict(False, feedback("sgd.minibatch_indices", call, problem, hint))
    return Verdict(True)


# train_tiny -------------------------------------------------------------------------------------

def trained(value: Any) -> dict[str, Any]:
    """(w1, w2, losses) by name, for feedback like "the result['losses']"."""
    return {"w1": value[0], "w2": value[1], "losses": value[2]}


train_tiny_agrees = matches_reference("sgd.train_tiny", pick=trained)


# torch_train_step -------------------------------------------------------------------------------

def training_problem(value: dict, losses: list[float], params: dict[str, np.ndarray]) -> str | None:
    if any(loss is None for loss in value["losses"]):
        return "a call returned None: return the loss before the step as a float (loss.item())"
    problem = difference(value["losses"], losses, "the returned losses (one per call)")
    if problem:
        return problem
    problem = difference(value["params"], params, "params")
    return problem and f"after the calls the model's parameters differ from torch.optim.SGD's: {problem}"


def trains_like_torch(calls: Sequence[Call], values: Sequence[Any]) -> Verdict:
    """The returned losses and the model's parameters after the calls match reference.torch_train_steps."""
    for call, value in zip(calls, values):
        losses, params = TRAINED(call)
        problem = training_problem(value, losses, params)
        if problem:
            mistake = matching_mistake(value, call, MISTAKES["sgd.torch_train_step"])
            return Verdict(False, feedback("sgd.torch_train_step", call, problem, mistake and mistake.hint))
    return Verdict(True)


def training_calls(vocab: int, embed: int, hidden: int, n: int, t: int, lr: float, steps: int,
                   generator: np.random.Generator) -> Callable[[], list[Call]]:
    args = (rnn_lm(vocab, embed, hidden, generator), generator.integers(0, vocab, size=(n, t)),
            generator.integers(0, vocab, size=(n, t)), lr, steps)
    return calls_with(args, probe="torch_train_steps")


X8, Y8 = rng.normal(size=8), rng.uniform(-0.9, 0.9, size=8)
X7, Y7 = rng.normal(size=7), rng.uniform(-0.9, 0.9, size=7)

CHECKS = [
    Check("sgd.sgd_step", "updates every array in place to params[k] - lr·grads[k] (lr = 0.1)", 2,
          sgd_calls(({"W": rng.normal(size=(2, 3)), "b": rng.normal(size=3)},
                     {"W": rng.normal(size=(2, 3)), "b": rng.normal(size=3)}, 0.1)),
          steps_in_place),
    Check("sgd.sgd_step", "updates a 0-d array parameter in place (lr = 0.3)", 1,
          sgd_calls(({"w": np.array(0.5), "v": rng.normal(size=2)}, {"w": np.array(-1.25), "v": rng.normal(size=2)}, 0.3)),
          steps_in_place),
    Check("sgd.sgd_step", "leaves grads unchanged", 0.5,
          sgd_calls(({"W": rng.normal(size=(3, 2)), "w": np.array(0.2)}, {"W": rng.normal(size=(3, 2)), "w": np.array(0.7)}, 0.1)),
          leaves_grads_unchanged),
    Check("sgd.minibatch_indices", "the batches are the slices of rng.permutation(n) (n = 12, batch_size = 4)", 2,
          calls_with((12, 4, Rng(31))), follows_the_rng),
    Check("sgd.minibatch_indices", "covers every index once when batch_size does not divide n (n = 10, batch_size = 3)", 1.5,
          calls_with((10, 3, Rng(32))), covers_every_index_once),
    Check("sgd.train_tiny", "w1, w2 and the losses of 2 epochs of batches of 4 (n = 8, lr = 0.5)", 2,
          calls_with((X8, Y8, 0.6, -0.8, 0.5, 4, 2, 3)), train_tiny_agrees),
    Check("sgd.train_tiny", "n not divisible by batch_size: 3 epochs of batches 3, 3, 1 (n = 7, lr = 0.2)", 1.5,
          calls_with((X7, Y7, -0.4, 1.1, 0.2, 3, 3, 11)), train_tiny_agrees),
    Check("sgd.torch_train_step", "one step returns the loss before the step and updates like torch.optim.SGD", 2,
          training_calls(7, 3, 5, 2, 4, 0.5, 1, rng), trains_like_torch),
    Check("sgd.torch_train_step", "two calls in a row do not accumulate gradients", 1.5,
          training_calls(7, 3, 5, 2, 4, 0.5, 2, rng), trains_like_torch),
]
