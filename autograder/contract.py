"""SPEC.md's table as data: the parts, their graded functions and the points of each.

Everything that needs names or points (stubs, loader, checks, scoring, reports) reads them here.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class GradedFunction:
    module: str
    name: str
    points: float
    bonus: bool = False

    @property
    def qualname(self) -> str:
        """`module.function`, the prefix of every check name."""
        return f"{self.module}.{self.name}"


PARTS: dict[str, str] = {
    "losses": "Part 1: losses",
    "backprop": "Part 2: backpropagation",
    "sgd": "Part 3: SGD",
    "rnn": "Part 4: RNN language model",
}
PART_MODULES: tuple[str, ...] = tuple(PARTS)

FUNCTIONS: tuple[GradedFunction, ...] = (
    GradedFunction("losses", "softmax", 5),
    GradedFunction("losses", "log_softmax", 5),
    GradedFunction("losses", "cross_entropy", 10),
    GradedFunction("losses", "square_loss", 5),
    GradedFunction("backprop", "tiny_forward", 7),
    GradedFunction("backprop", "tiny_backward", 10),
    GradedFunction("backprop", "cross_entropy_grad", 8),
    GradedFunction("sgd", "sgd_step", 5),
    GradedFunction("sgd", "minibatch_indices", 5),
    GradedFunction("sgd", "train_tiny", 5),
    GradedFunction("sgd", "torch_train_step", 5),
    GradedFunction("rnn", "init_rnn_params", 4),
    GradedFunction("rnn", "rnn_forward", 14),
    GradedFunction("rnn", "next_word_probs", 4),
    GradedFunction("rnn", "sequence_loss", 8),
    GradedFunction("rnn", "rnn_backward", 10, bonus=True),
)
BY_QUALNAME: dict[str, GradedFunction] = {f.qualname: f for f in FUNCTIONS}
GRADED_FUNCTIONS: dict[str, tuple[str, ...]] = {
    m: tuple(f.name for f in FUNCTIONS if f.module == m) for m in PART_MODULES
}
MAX_SCORE = sum(f.points for f in FUNCTIONS if not f.bonus)  # 100
BONUS_SCORE = sum(f.points for f in FUNCTIONS if f.bonus)  # 10
