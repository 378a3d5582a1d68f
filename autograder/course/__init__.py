"""The course "Training neural language models": the only wing a TA edits for this assignment.

This file is the registry, SPEC.md's table as data: one entry per graded function, with its
module, parameters, points, PyTorch reference, how the child calls it, which graded functions it
is checked with correct versions of ("graded with correct versions of" in SPEC.md), and arguments
on which its stub must raise NotImplementedError.

Beside it, one module per part in each folder:
  checks/    visible checks (they ship to students)       hints/     hint texts (ship)
  hidden/    hidden checks (never ship to students)       mistakes/  wrong versions (never ship)
  handout/   the notebook's lecture text (Markdown) and extra cells (.py)
  reference.py   the PyTorch reference (grader side)      probes.py  child-side code of course probes
"""

from __future__ import annotations

import importlib
from typing import Any, Callable

from autograder.registry import Course, Effect, GradedFunction, Part, Probe

LOSSES = Part("losses", "Part 1: losses")
BACKPROP = Part("backprop", "Part 2: backpropagation")
SGD = Part("sgd", "Part 3: SGD")
RNN = Part("rnn", "Part 4: RNN language model")


def reference_of(name: str) -> Callable[..., Any]:
    """reference.<name>, imported on first call: loading the course must not import torch."""
    def call(*args: Any, **kwargs: Any) -> Any:
        return getattr(importlib.import_module(f"{__name__}.reference"), name)(*args, **kwargs)

    call.__name__ = call.__qualname__ = name
    return call


# The stubs' arguments are made only when a check needs them: loading the course (a cached
# grade-all re-run does nothing else with it) must not import numpy.
def _zeros(*shape: int) -> Any:
    import numpy as np

    return np.zeros(shape)


def _ids(*shape: int) -> Any:
    import numpy as np

    return np.zeros(shape, dtype=int)


def _targets() -> Any:
    import numpy as np

    return np.array([0, 1])


def _rng() -> Any:
    import numpy as np

    return np.random.default_rng(0)


_TINY_CALLEES = ("tiny_forward", "tiny_backward", "sgd_step", "minibatch_indices", "square_loss")
_RNN_CALLEES = ("rnn_forward", "softmax", "log_softmax")

FUNCTIONS = (
    GradedFunction(LOSSES, "softmax", ("logits",), 5, reference_of("softmax"), ("log_softmax",),
                   lambda: (_zeros(2, 3),)),
    GradedFunction(LOSSES, "log_softmax", ("logits",), 5, reference_of("log_softmax"), (),
                   lambda: (_zeros(2, 3),)),
    GradedFunction(LOSSES, "cross_entropy", ("logits", "targets"), 10, reference_of("cross_entropy"),
                   ("softmax", "log_softmax"), lambda: (_zeros(2, 3), _targets())),
    GradedFunction(LOSSES, "square_loss", ("y", "o"), 5, reference_of("square_loss"), (),
                   lambda: (1.0, 0.0)),
    GradedFunction(BACKPROP, "tiny_forward", ("x", "y", "w1", "w2"), 7, reference_of("tiny_forward"),
                   ("square_loss",), lambda: (0.1, 0.2, 0.3, 0.4)),
    GradedFunction(BACKPROP, "tiny_backward", ("cache",), 10, reference_of("tiny_backward"), (),
                   lambda: ({},)),
    GradedFunction(BACKPROP, "cross_entropy_grad", ("logits", "targets"), 8,
                   reference_of("cross_entropy_grad"), ("softmax", "log_softmax"),
                   lambda: (_zeros(2, 3), _targets())),
    GradedFunction(SGD, "sgd_step", ("params", "grads", "lr"), 5, reference_of("sgd_step"), (),
                   lambda: ({}, {}, 0.1), probe=Probe.IN_PLACE, effect=Effect.UPDATES_FIRST_ARGUMENT),
    GradedFunction(SGD, "minibatch_indices", ("n", "batch_size", "rng"), 5,
                   reference_of("minibatch_indices"), (), lambda: (4, 2, _rng()),
                   effect=Effect.DRAWS_FROM_RNG),
    GradedFunction(SGD, "train_tiny", ("x", "y", "w1", "w2", "lr", "batch_size", "epochs", "seed"), 5,
                   reference_of("train_tiny"), _TINY_CALLEES,
                   lambda: (_zeros(3), _zeros(3), 0.1, 0.2, 0.1, 2, 1, 0)),
    GradedFunction(SGD, "torch_train_step", ("model", "optimizer", "inputs", "targets"), 5,
                   reference_of("torch_train_step"), (), lambda: (None, None, None, None),
                   probe=Probe.COURSE, course_probe=f"{__name__}.probes:train_steps"),
    GradedFunction(RNN, "init_rnn_params", ("vocab_size", "embed_dim", "hidden_dim", "seed"), 4,
                   reference_of("init_rnn_params"), (), lambda: (5, 2, 3)),
    GradedFunction(RNN, "rnn_forward", ("params", "token_ids", "h0"), 14, reference_of("rnn_forward"), (),
                   lambda: ({}, _ids(1, 2))),
    GradedFunction(RNN, "next_word_probs", ("params", "prefix_ids"), 4, reference_of("next_word_probs"),
                   _RNN_CALLEES, lambda: ({}, _ids(2))),
    GradedFunction(RNN, "sequence_loss", ("params", "token_ids"), 8, reference_of("sequence_loss"),
                   (*_RNN_CALLEES, "cross_entropy"), lambda: ({}, _ids(1, 2))),
    GradedFunction(RNN, "rnn_backward", ("params", "token_ids"), 10, reference_of("rnn_backward"),
                   (*_RNN_CALLEES, "cross_entropy", "cross_entropy_grad", "sequence_loss"),
                   lambda: ({}, _ids(1, 2)), bonus=True),
)

COURSE = Course(
    name="Training neural language models",
    package=__name__,
    parts=(LOSSES, BACKPROP, SGD, RNN),
    functions=FUNCTIONS,
    allowed_imports=("numpy", "torch"),
    child_modules=(f"{__name__}.probes",),
    reference_module=f"{__name__}.reference",
    notebook_name="nlm_training.ipynb",
)
