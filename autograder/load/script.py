"""The definition rule: what a notebook's answer cells (or a lone script) contribute is every
top-level statement that runs no student code when executed, so prints, plots, training loops and
slow cells never run:

  * imports, function and class definitions (with their decorators);
  * assignments to plain names of literals and arithmetic on them (`EPS = 1e-8`, `H = 2 * V`),
    of lambdas (`stable = lambda z: z - z.max(axis=-1, keepdims=True)`) and of names defined
    before (`sm = softmax`, `exp = np.exp`), or tuples of those.

Everything else is dropped with a note. A cell that does not compile gives a CellError naming the
graded functions it defines (by its answer mark, or by scanning it for `def <name>(`).
"""

from __future__ import annotations

import ast
import builtins
import re
from dataclasses import dataclass, field

from autograder.load.files import count, short, shown, summary
from autograder.registry import Course

_MAGIC_LINE = re.compile(r"\s*[%!]")


_ARITHMETIC = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow)


_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)


_DEFINITIONS = (ast.Import, ast.ImportFrom, ast.ClassDef, *_FUNCTIONS)


_BLOCKS = {ast.If: "an if block", ast.Try: "a try block", ast.With: "a with block", ast.Expr: "an expression"}


_BUILTINS = frozenset(dir(builtins))


@dataclass(frozen=True)
class Cell:
    """A code cell to read: its number in the notebook, its source and its answer mark."""

    number: int
    source: str
    mark: str | None = None


@dataclass(frozen=True)
class Definition:
    """One kept top-level statement."""

    cell: int
    node: ast.stmt
    text: str                 # its source, decorators included
    binds: frozenset[str]     # the names it binds
    reads_now: frozenset[str]  # the names it reads when it runs (decorators, defaults, values)
    reads: frozenset[str]     # every name it may read, when it runs or when it is called

    @property
    def is_import(self) -> bool:
        return isinstance(self.node, (ast.Import, ast.ImportFrom))


@dataclass(frozen=True)
class CellError:
    """A cell that does not compile: the message a student reads, and the graded names it defines."""

    cell: int
    message: str
    defines: frozenset[str]


@dataclass
class Extracted:
    """What the answer cells contribute, in notebook order."""

    docstring: str = ""
    futures: list[str] = field(default_factory=list)
    definitions: list[Definition] = field(default_factory=list)
    errors: list[CellError] = field(default_factory=list)


def extract(cells: list[Cell], label: str, messages: list[str], course: Course) -> Extracted:
    """The kept statements of ``cells``; notes on what was dropped go to ``messages``, prefixed
    ``label`` ("notebook" or the script's name)."""
    out, bound = Extracted(), set(_BUILTINS)
    dropped: list[str] = []
    magics: list[str] = []
    for index, cell in enumerate(cells):
        if cell.source.lstrip().startswith("%%"):
            magics.append(shown(cell.source.lstrip().splitlines()[0]))
            continue
        try:
            parsed = _read_cell(cell.source, first=index == 0, bound=bound)
        except (SyntaxError, ValueError, RecursionError) as exc:  # ValueError: null bytes
            out.errors.append(_cell_error(cell, exc, label, {f.name for f in course.functions}))
            continue
        definitions = _take(cell, parsed, label, course, out, dropped)
        magics += parsed.magics
        out.definitions += definitions
        bound |= set().union(*(d.binds for d in definitions))
    _note(label, magics, dropped, out.errors, messages)
    return out


def _take(cell: Cell, parsed: _Parsed, label: str, course: Course, out: Extracted, dropped: list[str]
          ) -> list[Definition]:
    """The definitions of one parsed cell; its docstring and future imports go to ``out``, what
    it drops to ``dropped``."""
    where = f" (cell {cell.number})" if label == "notebook" else ""
    dropped += [what + where for what in parsed.dropped]
    definitions = []
    for node in parsed.kept:
        text = ast.get_source_segment(parsed.source, node) or ""
        if _is_docstring(node):
            out.docstring = text
        elif _is_future(node):
            out.futures += [] if text in out.futures else [text]
        elif _imports_part_module(node, course):
            dropped.append(f"an import of a part module, not needed in one {label}{where}")
        else:
            definitions.append(_definition(cell.number, parsed.source, node, text))
    return definitions


def _note(label: str, magics: list[str], dropped: list[str], errors: list[CellError], messages: list[str]) -> None:
    if magics:
        messages.append(f"{label}: removed {count(len(magics), 'IPython magic or shell command')}: {summary(magics)}")
    if dropped:
        messages.append(f"{label}: dropped {count(len(dropped), 'top-level statement')} (only imports, definitions "
                        f"and constants are kept): {summary(dropped)}")
    for error in errors:  # a script's error names it already: "SyntaxError in student.py, line 3"
        defines = ", ".join(sorted(error.defines))
        where = ("notebook: ", "that cell") if label == "notebook" else ("", "it")
        messages.append(f"{where[0]}{error.message}; nothing from {where[1]} was kept"
                        + (f" (it defines {defines}, which score 0)" if defines else ""))


@dataclass
class _Parsed:
    """What a code cell contributes: the statements kept, and what was removed from it."""

    source: str  # as parsed, magic lines blanked
    kept: list[ast.stmt]
    magics: list[str]
    dropped: list[str]


def _read_cell(source: str, first: bool, bound: set[str]) -> _Parsed:
    """Split a cell into kept statements and descriptions of dropped ones; ``bound`` holds the
    names defined by the cells before (an alias must name one of them).

    Raises SyntaxError (or ValueError, RecursionError) for a cell that cannot be compiled.
    """
    tree, source, magics = _parse_cell(source)
    kept, dropped, names = [], [], set(bound)
    for position, node in enumerate(tree.body):
        if _is_kept(node, names) or (first and position == 0 and _is_docstring(node)):
            kept.append(node)
            names |= _bound_names(node)
        else:
            dropped.append(_describe(node))
    # Parsing misses errors such as a bad `nonlocal`; one would make a whole part unimportable.
    ordered = [n for n in kept if _is_future(n)] + [n for n in kept if not _is_future(n)]
    compile(ast.Module(ordered, type_ignores=[]), "<cell>", "exec", dont_inherit=True)
    return _Parsed(source, kept, magics, dropped)


def _cell_error(cell: Cell, exc: BaseException, label: str, graded: set[str]) -> CellError:
    """The error of a cell that cannot be read, and the graded functions it holds."""
    where = f"cell {cell.number}" if label == "notebook" else label
    if isinstance(exc, SyntaxError):
        line = f", line {exc.lineno}" if exc.lineno else ""
        message = f"{type(exc).__name__} in {where}{line}: {exc.msg}"
    elif isinstance(exc, RecursionError):
        message = f"{where} is too deeply nested to read"
    else:
        message = f"{where} cannot be read ({exc})"
    mark = (cell.mark or "").rpartition(".")[2]
    scanned = set(re.findall(r"^[ \t]*(?:async[ \t]+)?def[ \t]+(\w+)[ \t]*\(|^(\w+)[ \t]*=[ \t]*lambda\b",
                             cell.source, re.M))
    found = {name for pair in scanned for name in pair} | {mark}
    return CellError(cell.number, shown(message), frozenset(found & graded))


def _parse_cell(source: str) -> tuple[ast.Module, str, list[str]]:
    """Parse a code cell; return its tree, the parsed source and the magic lines removed.

    Magic and shell lines are not Python, so a cell that parses as is has none: it is kept
    verbatim (a docstring line starting with "%" survives). Otherwise those lines are replaced,
    not deleted, so syntax-error line numbers still match the student's cell: by a blank line, or
    by ``pass`` when indented, since it may be all a function body holds.
    """
    try:
        return ast.parse(source), source, []
    except SyntaxError:
        lines = source.splitlines(keepends=True)
        magics = [shown(line.strip()) for line in lines if _MAGIC_LINE.match(line)]
        if not magics:
            raise
        cleaned = "".join(_without_magic(line) for line in lines)
        return ast.parse(cleaned), cleaned, magics


def _without_magic(line: str) -> str:
    """The line, or what replaces it if it is a magic or shell command (see _parse_cell)."""
    if not _MAGIC_LINE.match(line):
        return line
    indent = line[: len(line) - len(line.lstrip())]
    return f"{indent}pass\n" if indent else "\n"


def _is_kept(node: ast.stmt, bound: set[str]) -> bool:
    """Imports, function and class definitions, and assignments of inert values to plain names."""
    if isinstance(node, _DEFINITIONS):
        return True
    if isinstance(node, (ast.Assign, ast.AnnAssign)):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        names = [n for t in targets for n in (t.elts if isinstance(t, (ast.Tuple, ast.List)) else [t])]
        # A notebook's `__all__` lists the functions of every part: wrong in each part module.
        plain = all(isinstance(n, ast.Name) and n.id != "__all__" for n in names)
        return plain and node.value is not None and _is_inert(node.value, bound)
    return False


def _is_inert(node: ast.expr, bound: set[str]) -> bool:
    """A value whose evaluation runs no student code: literals and arithmetic on them, lambdas,
    names defined before (and attributes of them), and tuples, lists, sets and dicts of those."""
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.Lambda):
        defaults = [*node.args.defaults, *(d for d in node.args.kw_defaults if d is not None)]
        return all(_is_inert(d, bound) for d in defaults)
    if isinstance(node, (ast.Name, ast.Attribute)):
        return _alias_root(node) in bound
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return all(_is_inert(e, bound) for e in node.elts)
    if isinstance(node, ast.Dict):
        keys_ok = all(k is not None and _is_inert(k, bound) for k in node.keys)  # None: `**mapping`
        return keys_ok and all(_is_inert(v, bound) for v in node.values)
    if isinstance(node, ast.UnaryOp):
        return isinstance(node.op, (ast.UAdd, ast.USub)) and _is_inert(node.operand, bound)
    if isinstance(node, ast.BinOp):
        return isinstance(node.op, _ARITHMETIC) and _is_inert(node.left, bound) and _is_inert(node.right, bound)
    return False


def _alias_root(node: ast.expr) -> str | None:
    """`np` of `np.linalg.norm`, `softmax` of `softmax`; None for anything but a dotted name."""
    while isinstance(node, ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _definition(cell: int, source: str, node: ast.stmt, text: str) -> Definition:
    decorators = getattr(node, "decorator_list", [])
    text = "".join(f"@{ast.get_source_segment(source, d)}\n" for d in decorators) + text
    return Definition(cell, node, text, frozenset(_bound_names(node)), frozenset(_reads_now(node)),
                      frozenset(_names_read(node)))


def _bound_names(node: ast.stmt) -> set[str]:
    if isinstance(node, (*_FUNCTIONS, ast.ClassDef)):
        return {node.name}
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return {(a.asname or a.name).split(".")[0] for a in node.names}
    if isinstance(node, (ast.Assign, ast.AnnAssign)):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        return {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
    return set()


def _names_read(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def _reads_now(node: ast.stmt) -> set[str]:
    """The global names a kept statement reads when it is executed (not when what it defines is
    called): a function's decorators and defaults; a class's bases and its body, which runs at
    once, less the names the body binds itself."""
    if isinstance(node, _FUNCTIONS):
        args = node.args
        parts = [*node.decorator_list, *args.defaults, *(d for d in args.kw_defaults if d is not None)]
        return set().union(*map(_names_read, parts)) if parts else set()
    if isinstance(node, ast.ClassDef):
        parts = [*node.decorator_list, *node.bases, *(k.value for k in node.keywords)]
        names = set().union(*map(_names_read, parts)) if parts else set()
        for statement in node.body:
            inner = _reads_now(statement) if isinstance(statement, (*_FUNCTIONS, ast.ClassDef)) else _names_read(statement)
            names |= inner
        return names - set().union(*map(_bound_names, node.body), set())
    if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
        return _value_reads_now(node.value)
    return set()


def _value_reads_now(value: ast.expr) -> set[str]:
    """The names an assigned value reads (a lambda's body runs only when it is called); iterative,
    as a value may be nested deeper than the recursion limit."""
    names, stack = set(), [value]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Lambda):
            stack += [*node.args.defaults, *(d for d in node.args.kw_defaults if d is not None)]
            continue
        if isinstance(node, ast.Name):
            names.add(node.id)
        stack.extend(ast.iter_child_nodes(node))
    return names


def _is_docstring(node: ast.stmt) -> bool:
    value = node.value if isinstance(node, ast.Expr) else None
    return isinstance(value, ast.Constant) and isinstance(value.value, str)


def _is_future(node: ast.stmt) -> bool:
    """``from __future__`` imports must open each generated module, so they are hoisted there."""
    return isinstance(node, ast.ImportFrom) and node.module == "__future__"


def _imports_part_module(node: ast.stmt, course: Course) -> bool:
    """`import losses` / `from backprop import ...`: a notebook is one namespace, and each part
    module generated from it imports the other parts' graded functions itself."""
    if isinstance(node, ast.Import):
        return any(alias.name.split(".")[0] in course.modules for alias in node.names)
    return isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in course.modules


def _describe(node: ast.stmt) -> str:
    """A short student-facing description of a dropped statement."""
    if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
        return f"a call to {short(ast.unparse(node.value.func))}()"
    if isinstance(node, (ast.For, ast.AsyncFor, ast.While)):
        return "a loop"
    if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        return f"an assignment to {short(', '.join(map(ast.unparse, targets)))}"
    return _BLOCKS.get(type(node), "a statement")
