"""Inputs the checks of several parts share (visible and hidden), drawn from generators named
after what they are, so that they never depend on the order of checks."""

from __future__ import annotations

import numpy as np

LARGE_LOGITS = np.array([[1e4, -1e4, 0.0, 5.0], [-1e4, -1e4, 1e4, 1e4 - 1.0]])


def rows_far_apart(rng: np.random.Generator, rows: int, vocab: int) -> np.ndarray:
    """Logits (rows, vocab) whose rows sit at very different scales: row offsets spread evenly
    from -9,900 to 9,900 (in a random order), small differences within each row. Subtracting the
    maximum of the whole array instead of each row's leaves the low rows as exp(-huge) = 0 and
    0/0 = NaN; float32 arithmetic rounds entries near 1e4 to 1e-3 and is off by far more than
    the tolerance."""
    offsets = rng.permutation(np.linspace(-9.9e3, 9.9e3, rows))
    return offsets[:, None] + rng.normal(size=(rows, vocab)) * 3


def tiny_cache(x, y, w1: float, w2: float) -> dict:
    """The cache tiny_backward is called with: exactly the six keys (x, y, h, o arrays; w1, w2 floats)."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    h = np.tanh(float(w1) * x)
    o = np.tanh(float(w2) * h)
    return {"x": x, "y": y, "w1": float(w1), "w2": float(w2), "h": h, "o": o}


def rnn_lm(vocab: int, embed: int, hidden: int, generator: np.random.Generator, scale: float = 1.0) -> dict[str, np.ndarray]:
    """Random RNN LM parameters in the contract's naming; W_h drawn freely, so not symmetric."""
    return {"E": generator.normal(size=(vocab, embed)) * scale,
            "W_e": generator.normal(size=(hidden, embed)) * 0.5 * scale,
            "W_h": generator.normal(size=(hidden, hidden)) * 0.5 * scale,
            "b_h": generator.normal(size=hidden) * 0.2 * scale,
            "U": generator.normal(size=(vocab, hidden)) * 0.5 * scale,
            "b_o": generator.normal(size=vocab) * 0.2 * scale}


def parameter_shapes(vocab: int, embed: int, hidden: int) -> dict[str, tuple[int, ...]]:
    return {"E": (vocab, embed), "W_e": (hidden, embed), "W_h": (hidden, hidden), "b_h": (hidden,),
            "U": (vocab, hidden), "b_o": (vocab,)}
