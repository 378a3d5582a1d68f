"""Part 3 checks, visible to students: sgd_step, minibatch_indices, train_tiny, torch_train_step.

sgd_step and torch_train_step are observed through their probes: what sgd_step did to the
caller's own arrays (Probe.IN_PLACE), and what `steps` calls of torch_train_step did to a real
model (the course probe `probes.train_steps`).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from autograder.check import Call, Check, Rng, Verdict, fixed, numerics
from autograder.check.feedback import feedback, show
from autograder.check.judges import difference, hint_for, matches_reference, provided, reference_observation
from autograder.course import COURSE
from autograder.course.hints.sgd import CHANGES_GRADS, DROPS_LAST, REBINDS, RETURNS_NONE, USE_THE_RNG
from autograder.course.inputs import rnn_lm

F = COURSE.by_name


# sgd_step ---------------------------------------------------------------------------------------

def steps_in_place(check: Check, values: Sequence[Any]) -> Verdict:
    """The caller's own arrays (never rebound) now hold params - lr·grads."""
    for call, value in zip(check.calls, values):
        if value["rebound"]:
            keys = " and ".join(f"params[{k!r}]" for k in value["rebound"])
            what = "is a new array" if len(value["rebound"]) == 1 else "are new arrays"
            return Verdict(False, feedback(check, call, f"after the call {keys} {what}: the arrays "
                                           "passed in, which the caller still holds, were not updated", REBINDS))
        problem = difference(value["updated"], reference_observation(check, call)["updated"], "params")
        if problem:
            problem = f"after the call the caller's arrays hold other values than params[k] - lr·grads[k]: {problem}"
            return Verdict(False, feedback(check, call, problem, hint_for(value, check, call)))
    return Verdict(True)


def leaves_grads_unchanged(check: Check, values: Sequence[Any]) -> Verdict:
    for call, value in zip(check.calls, values):
        problem = difference(value["after"][0], call.args[1], "grads")
        if problem:
            return Verdict(False, feedback(check, call, f"the call changed grads: {problem}", CHANGES_GRADS))
    return Verdict(True)


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


def covers_every_index_once(check: Check, values: Sequence[Any]) -> Verdict:
    for call, value in zip(check.calls, values):
        n, batch_size = call.args[:2]
        problem = partition_problem(value, n, batch_size)
        if problem:
            sizes = [np.size(b) for b in value] if isinstance(value, list) else None
            dropped = sizes == batch_sizes(n - n % batch_size, batch_size)
            return Verdict(False, feedback(check, call, problem, DROPS_LAST if dropped else None))
    return Verdict(True)


def follows_the_rng(check: Check, values: Sequence[Any]) -> Verdict:
    """Exactly the slices of rng.permutation(n); a right-shaped shuffle from elsewhere gets USE_THE_RNG."""
    for call, value in zip(check.calls, values):
        problem = difference(value, reference_observation(check, call), "the batches")
        if problem:
            hint = hint_for(value, check, call)
            if hint is None and not partition_problem(value, *call.args[:2]):
                hint = USE_THE_RNG
            return Verdict(False, feedback(check, call, problem, hint))
    return Verdict(True)


# train_tiny -------------------------------------------------------------------------------------

def trained(value: Any) -> dict[str, Any]:
    """(w1, w2, losses) by name, for feedback like "the result['losses']"."""
    return {"w1": value[0], "w2": value[1], "losses": value[2]}


train_tiny_agrees = matches_reference(pick=trained)


# torch_train_step -------------------------------------------------------------------------------

def describe_training(call: Call) -> str:
    """How the probe calls torch_train_step: on a model and optimizer it builds."""
    params, inputs, targets, lr, steps = call.args
    (vocab, embed), hidden = params["E"].shape, params["W_h"].shape[0]
    times = "once" if steps == 1 else f"{steps} times in a row"
    return (f"torch_train_step(model, optimizer, inputs, targets) {times}, with model an RNN LM "
            f"(nn.Embedding → nn.RNN → nn.Linear; V = {vocab}, d = {embed}, H = {hidden}), optimizer = "
            f"torch.optim.SGD(model.parameters(), lr={lr}), inputs = torch.tensor({show(inputs)}), "
            f"targets = torch.tensor({show(targets)})")


def training_problem(value: dict, expected: dict) -> str | None:
    if any(loss is None for loss in value["losses"]):
        return RETURNS_NONE
    problem = difference(value["losses"], expected["losses"], "the returned losses (one per call)")
    if problem:
        return problem
    problem = difference(value["params"], expected["params"], "params")
    return problem and f"after the calls the model's parameters differ from torch.optim.SGD's: {problem}"


def trains_like_torch(check: Check, values: Sequence[Any]) -> Verdict:
    """The returned losses and the model's parameters after the calls match the reference step's."""
    for call, value in zip(check.calls, values):
        problem = training_problem(value, reference_observation(check, call))
        if problem:
            return Verdict(False, feedback(check, call, problem, hint_for(value, check, call)))
    return Verdict(True)


def training(vocab: int, embed: int, hidden: int, n: int, t: int, lr: float, steps: int):
    """Inputs of the training probe: a random RNN LM, inputs and targets (N, T), lr and steps."""
    return lambda rng: [(rnn_lm(vocab, embed, hidden, rng), rng.integers(0, vocab, size=(n, t)),
                         rng.integers(0, vocab, size=(n, t)), lr, steps)]


def sgd_arguments(shapes: dict[str, tuple[int, ...]], lr: float):
    """params and grads with arrays of these shapes (0-d included), and lr."""
    return lambda rng: [({k: rng.normal(size=s) for k, s in shapes.items()},
                         {k: rng.normal(size=s) for k, s in shapes.items()}, lr)]


CHECKS = [
    Check(F["sgd_step"], "updates every array in place to params[k] - lr·grads[k] (lr = 0.1)", 2,
          sgd_arguments({"W": (2, 3), "b": (3,)}, 0.1), steps_in_place),
    Check(F["sgd_step"], "updates a 0-d array parameter in place (lr = 0.3)", 1,
          sgd_arguments({"w": (), "v": (2,)}, 0.3), steps_in_place),
    Check(F["sgd_step"], "leaves grads unchanged (while updating params right)", 0.5,
          sgd_arguments({"W": (3, 2), "w": ()}, 0.1),
          provided(steps_in_place, leaves_grads_unchanged, "the step itself is right, in place")),
    Check(F["minibatch_indices"], "the batches are the slices of rng.permutation(n) (n = 12, batch_size = 4)", 2,
          fixed((12, 4, Rng(31))), follows_the_rng),
    Check(F["minibatch_indices"], "covers every index once when batch_size does not divide n (n = 10, batch_size = 3)", 1.5,
          fixed((10, 3, Rng(32))), covers_every_index_once),
    Check(F["train_tiny"], "w1, w2 and the losses of 2 epochs of batches of 4 (n = 8, lr = 0.5)", 2,
          lambda rng: [(rng.normal(size=8), rng.uniform(-0.9, 0.9, size=8), 0.6, -0.8, 0.5, 4, 2, 3)],
          train_tiny_agrees),
    Check(F["train_tiny"], "n not divisible by batch_size: 3 epochs of batches 3, 3, 1 (n = 7, lr = 0.2)", 1.5,
          lambda rng: [(rng.normal(size=7), rng.uniform(-0.9, 0.9, size=7), -0.4, 1.1, 0.2, 3, 3, 11)],
          train_tiny_agrees),
    Check(F["torch_train_step"], "one step returns the loss before the step and updates like torch.optim.SGD", 2,
          training(7, 3, 5, 2, 4, 0.5, 1), trains_like_torch, describe=describe_training),
    Check(F["torch_train_step"], "two calls in a row do not accumulate gradients", 1.5,
          training(7, 3, 5, 2, 4, 0.5, 2), trains_like_torch, describe=describe_training),
]
