"""Mutation operators for numerical array code: each turns one AST node into its one-change variants.

Why not mutmut or cosmic-ray: mutmut 3 compiles every mutant of a module into one trampolined copy
that an environment variable switches inside its own pytest run, with no API that hands out one
mutant's source; cosmic-ray's operators work on parso trees inside its session database and bring
a dozen dependencies (SQLAlchemy, aiohttp, GitPython) for the three generic operators (binary
operator, comparison, number). Our mutants must be plain submissions graded in the sandbox, and most
operators here exist in neither (axis, keepdims, reductions, slices, transposes, a call replaced by
its argument, in-place updates, the rng), so they are a few small functions over `ast` nodes.

An operator yields replacement nodes for a node; `autograder.audit.mutants` splices each into the
source (so the diff is one change, comments kept) and drops duplicates.

"""

from __future__ import annotations

import ast
import copy
from dataclasses import dataclass, field
from typing import Callable, Iterator


@dataclass(frozen=True)
class Context:
    """What operators need to know of the code around a node: the numpy module's local name, and
    the names that hold a numpy Generator (parameters called rng, results of default_rng)."""

    numpy: str = "np"
    generators: frozenset[str] = field(default_factory=frozenset)


Variants = Callable[[ast.AST, Context], Iterator[ast.AST]]


@dataclass(frozen=True)
class Operator:
    name: str       # short, for tables and mutant ids
    title: str      # what it does, for the report
    variants: Variants


def _copy(node: ast.AST, **changes) -> ast.AST:
    new = copy.deepcopy(node)
    for key, value in changes.items():
        setattr(new, key, value)
    return new


def _number(node: ast.AST) -> float | None:
    """The value of a numeric literal (`2`, `0.5`, `-1`), else None; booleans are not numbers."""
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = _number(node.operand)
        return None if inner is None else -inner
    return None


def _literal(value: float) -> ast.expr:
    return ast.UnaryOp(ast.USub(), ast.Constant(-value)) if value < 0 else ast.Constant(value)


# ---------------------------------------------------------------- arithmetic and comparisons

_ARITHMETIC = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult,
               ast.FloorDiv: ast.Div, ast.Pow: ast.Mult, ast.MatMult: ast.Mult}


def arithmetic(node: ast.AST, context: Context) -> Iterator[ast.AST]:
    """`a + b` -> `a - b`, `*` <-> `/`, `**` -> `*`, `-=` -> `+=`; a unary minus dropped."""
    if isinstance(node, (ast.BinOp, ast.AugAssign)) and type(node.op) in _ARITHMETIC:
        yield _copy(node, op=_ARITHMETIC[type(node.op)]())
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and _number(node) is None:
        yield copy.deepcopy(node.operand)


_COMPARISONS = {ast.Eq: ast.NotEq, ast.NotEq: ast.Eq, ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE,
                ast.GtE: ast.Gt, ast.Is: ast.IsNot, ast.IsNot: ast.Is, ast.In: ast.NotIn, ast.NotIn: ast.In}


def comparison(node: ast.AST, context: Context) -> Iterator[ast.AST]:
    """`==` <-> `!=`, `<` <-> `<=`, `>` <-> `>=`, `is` <-> `is not`, one operator at a time."""
    if isinstance(node, ast.Compare):
        for i, op in enumerate(node.ops):
            if type(op) in _COMPARISONS:
                ops = list(node.ops)
                ops[i] = _COMPARISONS[type(op)]()
                yield _copy(node, ops=ops)


# ---------------------------------------------------------------- constants

# Survivors argued equivalent (they stay in the kill rate, and `make audit` lists them):
# - init_rnn_params, `rng.uniform(-0.1, 0.1, ...)` for E -> `(-0.2, 0.1)` and `(-0.1, 0.2)`. SPEC
#   asks of the initial parameters only: these shapes, float64, finite, |entry| <= 1, random weight
#   matrices, the same for one seed and different for another. Both ranges meet every one of these
#   on every input, so they are correct solutions that merely draw other values than solutions/:
#   a check that failed them would fail a correct student. (The bound `2 / sqrt(H)` is not: it
#   exceeds 1 for H < 4, and the check of values in [-1, 1] runs H = 2 to kill it.)
def constant(node: ast.AST, context: Context) -> Iterator[ast.AST]:
    """A numeric literal changed: 0 <-> 1, ±1, doubled; a factor 0.5 dropped (`0.5 * x` -> `x`)."""
    value = _number(node)
    if value is not None:  # `-1` is a negated literal: its inner 1's variants are the same, deduplicated
        for new in dict.fromkeys([1 if value == 0 else None, 0 if value == 1 else None,
                                  value + 1, value - 1, value * 2]):
            if new is not None and new != value:
                yield _literal(type(value)(new))
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
        for kept, other in ((node.left, node.right), (node.right, node.left)):
            if _number(other) == 0.5:
                yield copy.deepcopy(kept)


# ---------------------------------------------------------------- axes and reductions

def axis(node: ast.AST, context: Context) -> Iterator[ast.AST]:
    """`axis=-1` -> `axis=0` (any other axis -> -1), the axis argument dropped, `keepdims` dropped."""
    if not isinstance(node, ast.Call):
        return
    for i, keyword in enumerate(node.keywords):
        rest = node.keywords[:i] + node.keywords[i + 1:]
        if keyword.arg == "axis":
            other = 0 if _number(keyword.value) == -1 else -1
            changed = list(node.keywords)
            changed[i] = ast.keyword("axis", _literal(other))
            yield _copy(node, keywords=changed)
            yield _copy(node, keywords=rest)
        elif keyword.arg == "keepdims":
            yield _copy(node, keywords=rest)


_REDUCTIONS = {"mean": "sum", "sum": "mean", "max": "min", "min": "max"}


def reduction(node: ast.AST, context: Context) -> Iterator[ast.AST]:
    """`np.mean` <-> `np.sum`, `.max()` <-> `.min()` (functions and methods alike)."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in _REDUCTIONS:
        yield _copy(node, func=_copy(node.func, attr=_REDUCTIONS[node.func.attr]))


# ---------------------------------------------------------------- slices and transposes

def _shifted(bound: ast.expr | None, by: int) -> ast.expr | None:
    if bound is None:
        return None
    value = _number(bound)
    if value is not None:
        return _literal(value + by)
    return ast.BinOp(copy.deepcopy(bound), ast.Add() if by > 0 else ast.Sub(), ast.Constant(abs(by)))


def slices(node: ast.AST, context: Context) -> Iterator[ast.AST]:
    """A slice shifted by one: `1:` <-> `:-1`, `a:b` -> `a+1:b+1` and `a-1:b-1`."""
    if not isinstance(node, ast.Slice) or node.step is not None:
        return
    lower, upper = node.lower, node.upper
    if lower is not None and upper is None and _number(lower) == 1:
        yield ast.Slice(None, _literal(-1), None)
    elif lower is None and upper is not None and _number(upper) == -1:
        yield ast.Slice(ast.Constant(1), None, None)
    elif lower is not None and upper is not None:
        for by in (1, -1):
            yield ast.Slice(_shifted(lower, by), _shifted(upper, by), None)


def transpose(node: ast.AST, context: Context) -> Iterator[ast.AST]:
    """`.T` dropped; `.T` added to an operand of `@` that has none."""
    if isinstance(node, ast.Attribute) and node.attr == "T":
        yield copy.deepcopy(node.value)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.MatMult):
        for side in ("left", "right"):
            operand = getattr(node, side)
            if not (isinstance(operand, ast.Attribute) and operand.attr == "T"):
                yield _copy(node, **{side: ast.Attribute(copy.deepcopy(operand), "T", ast.Load())})


# ---------------------------------------------------------------- terms and calls

def term(node: ast.AST, context: Context) -> Iterator[ast.AST]:
    """A term of a sum dropped: `a + b` -> `a` and `b`; `a - b` -> `a` and `-b`."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub)):
        yield copy.deepcopy(node.left)
        right = copy.deepcopy(node.right)
        yield right if isinstance(node.op, ast.Add) else ast.UnaryOp(ast.USub(), right)


# Calls whose argument is never a value of the same kind (a count, an iterable of pairs): replacing
# them by it only makes a TypeError, which says nothing about the checks.
_STRUCTURAL = {"range", "len", "enumerate", "zip", "isinstance", "print", "dict", "list", "tuple", "set",
               "sorted", "getattr", "hasattr", "super", "type", "iter", "next"}


# Survivor argued equivalent: init_rnn_params, `bound = 1.0 / np.sqrt(hidden_dim)` -> `1.0 / hidden_dim`.
# The bound stays within 1 for every H >= 1 and the values stay random and seeded: the contract
# (see `constant` above) holds, so this is a correct solution with other values, not a bug.
def call(node: ast.AST, context: Context) -> Iterator[ast.AST]:
    """A call replaced by its (first) argument: `np.exp(z)` -> `z`, `float(x)` -> `x`."""
    if (isinstance(node, ast.Call) and node.args and not isinstance(node.args[0], ast.Starred)
            and not (isinstance(node.func, ast.Name) and node.func.id in _STRUCTURAL)):
        yield copy.deepcopy(node.args[0])


# ---------------------------------------------------------------- updates and the rng

def in_place(node: ast.AST, context: Context) -> Iterator[ast.AST]:
    """`a[k] -= v` -> `a[k] = a[k] - v` (a new object bound, the caller's never updated);
    `np.add.at(a, i, v)` -> `a[i] += v` (buffered: a repeated index counts once)."""
    if isinstance(node, ast.AugAssign):
        target = copy.deepcopy(node.target)
        value = ast.BinOp(_as_load(node.target), copy.deepcopy(node.op), copy.deepcopy(node.value))
        yield ast.Assign([target], value)
    if (isinstance(node, ast.Expr) and isinstance(node.value, ast.Call) and _dotted(node.value.func)
            == f"{context.numpy}.add.at" and len(node.value.args) == 3):
        array, index, value = (copy.deepcopy(a) for a in node.value.args)
        yield ast.AugAssign(ast.Subscript(array, index, ast.Store()), ast.Add(), value)


def _as_load(target: ast.expr) -> ast.expr:
    loaded = copy.deepcopy(target)
    for each in ast.walk(loaded):
        if hasattr(each, "ctx"):
            each.ctx = ast.Load()
    return loaded


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return ""


def rng(node: ast.AST, context: Context) -> Iterator[ast.AST]:
    """The rng argument replaced by the global one (`rng.permutation(n)` -> `np.random.permutation(n)`),
    and a generator's seed dropped or fixed (`default_rng(seed)` -> `default_rng()`, `default_rng(0)`)."""
    if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
        return
    owner = node.func.value
    if isinstance(owner, ast.Name) and owner.id in context.generators:
        global_rng = ast.Attribute(ast.Name(context.numpy, ast.Load()), "random", ast.Load())
        yield _copy(node, func=ast.Attribute(global_rng, node.func.attr, ast.Load()))
    if node.func.attr == "default_rng" and node.args:
        yield _copy(node, args=[], keywords=[])
        if _number(node.args[0]) is None:
            yield _copy(node, args=[ast.Constant(0)])


# Order matters only for naming: a variant two operators make is credited to the first.
OPERATORS = (
    Operator("axis", "axis argument changed or dropped, keepdims dropped", axis),
    Operator("reduction", "reduction swapped (mean <-> sum, max <-> min)", reduction),
    Operator("slice", "slice shifted by one", slices),
    Operator("transpose", "transpose added or dropped", transpose),
    Operator("in-place", "in-place update replaced by rebinding", in_place),
    Operator("rng", "the rng argument replaced by the global one, or its seed dropped", rng),
    Operator("call", "call replaced by its argument", call),
    Operator("term", "a term of a sum dropped", term),
    Operator("arithmetic", "arithmetic operator swapped, or a minus dropped", arithmetic),
    Operator("comparison", "comparison operator swapped", comparison),
    Operator("constant", "constant changed (0 <-> 1, ±1, x2), a factor 0.5 dropped", constant),
)


def context_of(module: ast.Module, function: ast.FunctionDef) -> Context:
    """The numpy alias of `module` and the Generator names of `function`."""
    numpy = next((alias.asname or alias.name for node in module.body if isinstance(node, ast.Import)
                  for alias in node.names if alias.name == "numpy"), "np")
    names = {a.arg for a in function.args.args if a.arg in ("rng", "generator")}
    for node in ast.walk(function):
        if (isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)
                and _dotted(node.value.func).endswith("default_rng")):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    return Context(numpy, frozenset(names))
