"""Single-change mutants of the solutions: every operator at every node of every graded function.

A mutant is the solutions folder with one node of one graded function replaced, spliced into the
source text (comments and layout kept, so its diff is one change). Variants that parse to the same
program as the original or as an earlier mutant are dropped. Each mutant is written as a
submission folder named by its id, so grade-all grades (and caches) it like a student's.
"""

from __future__ import annotations

import ast
import difflib
import hashlib
import re
import shutil
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Iterator, Sequence

from autograder.audit.operators import OPERATORS, Operator, context_of
from autograder.registry import Course, GradedFunction, Part

ORIGINAL = "original"  # the unmutated solutions, graded beside the mutants as the control


@dataclass(frozen=True)
class Mutant:
    id: str              # the submission's folder name: <function>-<operator>-<hash>
    function: str        # the graded function's qualname
    operator: str
    module: str          # the part module it changes
    line: int
    source: str          # the whole mutated module
    diff: str            # unified diff against the solution


def mutants_of(course: Course, solutions: Path, operators: Sequence[Operator] = OPERATORS) -> list[Mutant]:
    """Every distinct single-change mutant of the course's graded functions in `solutions`."""
    found: list[Mutant] = []
    for part in course.parts:
        path = solutions / part.file
        if path.is_file():
            found += _module_mutants(course, part, path.read_text(encoding="utf-8"), tuple(operators))
    return found


@lru_cache(maxsize=16)  # pure in its arguments; a re-run in one process (tests) reuses it
def _module_mutants(course: Course, part: Part, source: str, operators: tuple[Operator, ...]) -> tuple[Mutant, ...]:
    tree = ast.parse(source)
    graded = {f.name: f for f in course.in_part(part)}
    mutants = []
    for function in tree.body:
        if not (isinstance(function, ast.FunctionDef) and function.name in graded):
            continue
        context, seen = context_of(tree, function), {_key(function)}
        for node in _body_nodes(function):
            for operator in operators:
                for variant in operator.variants(node, context):
                    text, key = _spliced(source, function, node, variant)
                    if text and key not in seen:
                        seen.add(key)
                        mutants.append(_mutant(graded[function.name], operator, node, source, text))
    return tuple(mutants)


def _body_nodes(function: ast.FunctionDef) -> Iterator[ast.AST]:
    """The nodes of a function's body, breadth first, without its docstring."""
    body = function.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    for statement in body:
        yield from ast.walk(statement)


def _mutant(function: GradedFunction, operator: Operator, node: ast.AST, source: str, text: str) -> Mutant:
    digest = hashlib.sha256(text.encode()).hexdigest()[:8]
    path = f"solutions/{function.part.file}"
    diff = "".join(difflib.unified_diff(source.splitlines(keepends=True), text.splitlines(keepends=True),
                                        path, f"{path} ({operator.name})", n=1))
    return Mutant(f"{function.name}-{operator.name}-{digest}", function.qualname, operator.name,
                  function.module, node.lineno, text, diff)


# ---------------------------------------------------------------- splicing

def _spliced(source: str, function: ast.FunctionDef, node: ast.AST, variant: ast.AST) -> tuple[str | None, str]:
    """`source` with `node`'s text replaced by `variant`'s, and the mutated function's key; (None, "")
    when the text would not be exactly the function with the one node replaced. Parenthesised
    only where precedence needs it."""
    variant = ast.fix_missing_locations(ast.copy_location(variant, node))
    expected = _replaced(function, node, variant)
    text = ast.unparse(variant)
    texts = dict.fromkeys([text.replace("'", '"'), text])  # the solutions' double quotes, when they parse alike
    candidates = [*texts, *(f"({t})" for t in texts)] if isinstance(variant, ast.expr) else list(texts)
    for candidate in candidates:
        spliced = _splice(source, node, candidate)
        try:
            tree = ast.parse(spliced)
        except SyntaxError:
            continue
        mutated = next((f for f in tree.body if isinstance(f, ast.FunctionDef) and f.name == function.name), None)
        if mutated is not None and _key(mutated) == expected:
            return spliced, expected
    return None, ""


def _splice(source: str, node: ast.AST, text: str) -> str:
    """Replace the node's span (ast offsets are UTF-8 bytes) by `text`."""
    data = source.encode("utf-8")
    starts = [0]
    for line in data.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    start = starts[node.lineno - 1] + node.col_offset
    end = starts[node.end_lineno - 1] + node.end_col_offset
    return (data[:start] + text.encode("utf-8") + data[end:]).decode("utf-8")


def _replaced(tree: ast.AST, node: ast.AST, variant: ast.AST) -> str:
    """The key of `tree` with `node` swapped for `variant` (swapped back before returning)."""
    for parent in ast.walk(tree):
        for name, value in ast.iter_fields(parent):
            if value is node:
                setattr(parent, name, variant)
                try:
                    return _key(tree)
                finally:
                    setattr(parent, name, node)
            if isinstance(value, list) and any(child is node for child in value):
                index = next(i for i, child in enumerate(value) if child is node)
                value[index] = variant
                try:
                    return _key(tree)
                finally:
                    value[index] = node
    raise ValueError("the node is not in the tree")


_NEGATED = re.compile(r"UnaryOp\(op=USub\(\), operand=Constant\(value=(?=[\d.])([^,()]+)\)\)")


def _key(tree: ast.AST) -> str:
    """The program's AST dump, with `-<number>` read as one literal (so `-0` is `0`)."""
    return _NEGATED.sub(lambda m: f"Constant(value={-ast.literal_eval(m.group(1)) + 0!r})", ast.dump(tree))


# ---------------------------------------------------------------- submissions

def write_submissions(course: Course, mutants: Sequence[Mutant], solutions: Path, folder: Path) -> None:
    """One submission folder per mutant (the solutions with its module replaced) and the original;
    folders of mutants no longer made are removed, so grade-all sees exactly these."""
    folder.mkdir(parents=True, exist_ok=True)
    wanted = {m.id for m in mutants} | {ORIGINAL}
    for old in folder.iterdir():
        if old.name not in wanted:
            shutil.rmtree(old) if old.is_dir() else old.unlink()
    originals = {p.module: (solutions / p.file).read_text(encoding="utf-8")
                 for p in course.parts if (solutions / p.file).is_file()}
    for name, changed in [(ORIGINAL, {})] + [(m.id, {m.module: m.source}) for m in mutants]:
        target = folder / name
        target.mkdir(exist_ok=True)
        for module, text in {**originals, **changed}.items():
            path = target / f"{module}.py"
            if not path.is_file() or path.read_text(encoding="utf-8") != text:
                path.write_text(text, encoding="utf-8")


def sample(mutants: Sequence[Mutant], operators: Sequence[str] = (), per_operator: int = 0) -> list[Mutant]:
    """The mutants of the named operators (all when none), at most `per_operator` of each (0: all),
    spread evenly over the functions in source order: a fixed, reproducible sample."""
    chosen = [m for m in mutants if not operators or m.operator in operators]
    if not per_operator:
        return chosen
    picked = []
    for name in dict.fromkeys(m.operator for m in chosen):
        mine = [m for m in chosen if m.operator == name]
        count = min(per_operator, len(mine))
        picked += [mine[(2 * i + 1) * len(mine) // (2 * count)] for i in range(count)]  # the middles of equal runs
    return [m for m in chosen if m in picked]


def runs_of(course: Course, solutions: Path, function: GradedFunction) -> list[GradedFunction]:
    """The graded functions whose behaviour a change in `function` can alter: itself, and every
    function whose solution calls it by name and is not checked with a correct version of it."""
    found = [function]
    for part in course.parts:
        path = solutions / part.file
        if not path.is_file():
            continue
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            other = course.by_name.get(node.name) if isinstance(node, ast.FunctionDef) else None
            if other is None or other is function or function.name in other.callees:
                continue
            if any(isinstance(n, ast.Name) and n.id == function.name for n in ast.walk(node)):
                found.append(other)
    return found
