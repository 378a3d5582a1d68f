"""Part 4 hidden checks, with rnn_backward on a model of mid size."""

from __future__ import annotations

import numpy as np

from autograder.check import Check, fixed, named_rng
from autograder.course import COURSE
from autograder.course.checks.rnn import (
    agrees,
    backward_agrees_with_finite_differences,
    defaults_to_seed_zero,
    float64_arrays,
    forward_agrees,
    on,
    proper_parameters,
)
from autograder.course.inputs import rnn_lm

F = COURSE.by_name
R = rnn_lm(13, 2, 6, named_rng("rnn: the hidden model R"))  # V = 13, d = 2, H = 6
S = rnn_lm(9, 5, 4, named_rng("rnn: the hidden model S"))   # V = 9, d = 5, H = 4


def model_of_size(vocab: int, embed: int, hidden: int):
    """Inputs: one call on an RNN LM of the given size, N = 2, T = 6; built only when the check runs.
    Uniform draws scaled so that hidden units and logits stay in tanh's and softmax's working range."""
    def inputs(rng):
        params = {"E": rng.uniform(-0.5, 0.5, (vocab, embed)),
                  "W_e": rng.uniform(-0.5, 0.5, (hidden, embed)),
                  "W_h": rng.uniform(-1.5, 1.5, (hidden, hidden)) / np.sqrt(hidden),
                  "b_h": rng.uniform(-0.1, 0.1, hidden),
                  "U": rng.uniform(-0.3, 0.3, (vocab, hidden)),
                  "b_o": rng.uniform(-0.1, 0.1, vocab)}
        return [(params, rng.integers(0, vocab, size=(2, 6)))]
    return inputs


def large_model_check() -> Check:
    """rnn_backward on about 2M parameters (V = 10,000, d = 64, H = 128): the finite-difference
    check's scaling target, measured by `make bench`. Not graded: 16 MB of gradient per submission
    would triple a bulk run's time and memory, and the mid-size check below catches the same bugs."""
    return Check(F["rnn_backward"], "agrees with finite differences on a large model "
                 "(V = 10,000, d = 64, H = 128, N = 2, T = 6)", 2, model_of_size(10_000, 64, 128),
                 backward_agrees_with_finite_differences(directions=1, coordinates=2), visible=False)


CHECKS = [
    Check(F["init_rnn_params"], "seed defaults to 0: leaving it out gives the parameters of seed=0 (V = 11, d = 4, H = 6)",
          0.75, fixed((11, 4, 6), (11, 4, 6, 0), (11, 4, 6, 0)), proper_parameters(defaults_to_seed_zero), visible=False),
    Check(F["init_rnn_params"], "returns float64 arrays (not float32)", 0.5,
          fixed((9, 4, 6, 3)), proper_parameters(float64_arrays), visible=False),
    Check(F["rnn_forward"], "logits and hiddens from a given h0 on a longer batch (N = 4, T = 9)", 2.5,
          on(R, 13, (4, 9), h0=(4, 6)), forward_agrees, visible=False),
    Check(F["rnn_forward"], "T = 1 and T = 2 with h0 = None on another model (V = 9, d = 5, H = 4)", 2,
          on(S, 9, (3, 1), (2, 2)), forward_agrees, visible=False),
    Check(F["next_word_probs"], "a prefix of 8 words on another model", 1.5, on(R, 13, (8,)), agrees, visible=False),
    Check(F["sequence_loss"], "N = 1, T = 7 and N = 4, T = 3 on other models", 2.5,
          lambda rng: [(R, rng.integers(0, 13, size=(1, 7))), (S, rng.integers(0, 9, size=(4, 3)))],
          agrees, visible=False),
    Check(F["rnn_backward"], "matches autograd on a longer batch with larger weights (N = 3, T = 8)", 1.5,
          lambda rng: [(rnn_lm(8, 3, 5, rng, 1.6), rng.integers(0, 8, size=(3, 8)))], agrees, visible=False),
    Check(F["rnn_backward"], "agrees with finite differences on a mid-size model "
          "(V = 1,000, d = 32, H = 64, N = 2, T = 6)", 2, model_of_size(1_000, 32, 64),
          backward_agrees_with_finite_differences(directions=1, coordinates=2), visible=False),
]
