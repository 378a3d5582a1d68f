"""Random inputs for each graded function, spanning its contract (SPEC.md): what `python -m
autograder audit` calls a mutant and the solutions on to tell an equivalent mutant from one the
checks miss. Each entry draws the arguments of one call from `rng` (seeded by the function's name).

They cover every input form the contract allows (floats and arrays, one example and a batch,
h0 given or not, seed given or not) and its ranges: logits up to ±1e4 with rows at very different
scales, batch sizes that do and do not divide n, repeated tokens in a batch.
"""

from __future__ import annotations

import numpy as np

from autograder.check import Rng
from autograder.course import COURSE
from autograder.course.inputs import rnn_lm, tiny_cache

F = COURSE.by_name


def logits(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Normal logits at a random scale; half the time each row is moved by its own offset up to
    ±9,000 (rows far apart), so no entry exceeds the contract's 1e4."""
    z = rng.normal(size=shape) * rng.choice([0.1, 1.0, 10.0, 100.0])
    if rng.random() < 0.5:
        z = z + rng.uniform(-9e3, 9e3, size=(*shape[:-1], 1))
    return z


def any_logits(rng: np.random.Generator) -> tuple:
    ndim = int(rng.integers(1, 4))
    return (logits(rng, tuple(int(n) for n in rng.integers(1, 6, size=ndim))),)


def logits_and_targets(rng: np.random.Generator) -> tuple:
    """One example, (V,) and an int, a quarter of the time; else (N, V) and (N,) ints."""
    vocab = int(rng.integers(1, 9))
    if rng.random() < 0.25:
        return logits(rng, (vocab,)), int(rng.integers(0, vocab))
    n = int(rng.integers(1, 7))
    return logits(rng, (n, vocab)), rng.integers(0, vocab, size=n)


def float_or_batch(rng: np.random.Generator, n: int | None, scale: float = 1.0):
    return float(rng.normal() * scale) if n is None else rng.normal(size=n) * scale


def batch_size(rng: np.random.Generator) -> int | None:
    """None (Python floats) a third of the time, else a batch of 1 to 8."""
    return None if rng.random() < 1 / 3 else int(rng.integers(1, 9))


def square_loss_inputs(rng: np.random.Generator) -> tuple:
    if rng.random() < 1 / 3:
        return float(rng.normal()), float(rng.normal())
    shape = tuple(int(n) for n in rng.integers(1, 6, size=int(rng.integers(1, 3))))
    return rng.normal(size=shape), rng.normal(size=shape) * 2


def tiny_inputs(rng: np.random.Generator) -> tuple:
    n = batch_size(rng)
    return float_or_batch(rng, n, 1.5), float_or_batch(rng, n, 0.9), float(rng.uniform(-2.5, 2.5)), \
        float(rng.uniform(-2.5, 2.5))


def sgd_inputs(rng: np.random.Generator) -> tuple:
    shapes = [(), (int(rng.integers(1, 5)),), (2, int(rng.integers(1, 4)))]
    keys = rng.permutation(["W", "b", "w"])[:int(rng.integers(1, 4))]
    shape_of = {str(k): shapes[int(rng.integers(0, 3))] for k in keys}
    return ({k: rng.normal(size=s) for k, s in shape_of.items()},
            {k: rng.normal(size=s) for k, s in shape_of.items()}, float(rng.uniform(0.01, 3.0)))


def minibatch_inputs(rng: np.random.Generator) -> tuple:
    return int(rng.integers(1, 21)), int(rng.integers(1, 13)), Rng(int(rng.integers(0, 2**31)))


def train_tiny_inputs(rng: np.random.Generator) -> tuple:
    n = int(rng.integers(1, 11))
    return (rng.normal(size=n), rng.uniform(-0.9, 0.9, size=n), float(rng.uniform(-1.5, 1.5)),
            float(rng.uniform(-1.5, 1.5)), float(rng.uniform(0.01, 1.5)), int(rng.integers(1, 13)),
            int(rng.integers(1, 5)), int(rng.integers(0, 1000)))


def model(rng: np.random.Generator) -> tuple[dict[str, np.ndarray], int, int]:
    """A random RNN LM (small V, so batches repeat tokens), its V and H."""
    vocab, embed, hidden = (int(n) for n in rng.integers(2, 8, size=3))
    return rnn_lm(vocab, embed, hidden, rng, float(rng.uniform(0.3, 1.6))), vocab, hidden


def torch_training_inputs(rng: np.random.Generator) -> tuple:
    """What the training probe takes: a model's parameters, inputs, targets, lr and the number of calls."""
    params, vocab, _ = model(rng)
    n, t = (int(k) for k in rng.integers(1, 5, size=2))
    return (params, rng.integers(0, vocab, size=(n, t)), rng.integers(0, vocab, size=(n, t)),
            float(rng.uniform(0.05, 1.0)), int(rng.integers(1, 4)))


def init_inputs(rng: np.random.Generator) -> tuple:
    sizes = tuple(int(n) for n in rng.integers(1, 10, size=3))
    return sizes if rng.random() < 0.25 else (*sizes, int(rng.integers(0, 1000)))


def forward_inputs(rng: np.random.Generator) -> tuple:
    params, vocab, hidden = model(rng)
    n, t = (int(k) for k in rng.integers(1, 5, size=2))
    ids = rng.integers(0, vocab, size=(n, t))
    draw = rng.random()
    return (params, ids) if draw < 1 / 3 else (params, ids, None) if draw < 2 / 3 else \
        (params, ids, rng.normal(size=(n, hidden)))


def prefix_inputs(rng: np.random.Generator) -> tuple:
    params, vocab, _ = model(rng)
    return params, rng.integers(0, vocab, size=int(rng.integers(1, 8)))


def sequence_inputs(rng: np.random.Generator) -> tuple:
    params, vocab, _ = model(rng)
    return params, rng.integers(0, vocab, size=(int(rng.integers(1, 5)), int(rng.integers(2, 7))))


RANDOM_INPUTS = {
    F["softmax"]: any_logits,
    F["log_softmax"]: any_logits,
    F["cross_entropy"]: logits_and_targets,
    F["square_loss"]: square_loss_inputs,
    F["tiny_forward"]: tiny_inputs,
    F["tiny_backward"]: lambda rng: (tiny_cache(*tiny_inputs(rng)),),
    F["cross_entropy_grad"]: logits_and_targets,
    F["sgd_step"]: sgd_inputs,
    F["minibatch_indices"]: minibatch_inputs,
    F["train_tiny"]: train_tiny_inputs,
    F["torch_train_step"]: torch_training_inputs,
    F["init_rnn_params"]: init_inputs,
    F["rnn_forward"]: forward_inputs,
    F["next_word_probs"]: prefix_inputs,
    F["sequence_loss"]: sequence_inputs,
    F["rnn_backward"]: sequence_inputs,
}
