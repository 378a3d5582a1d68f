"""Build the Jupyter notebook handout from the part modules and the course's handout text.

The notebook is one nbformat v4.5 document: the course's `handout/intro.md`, then per part its
lesson (`handout/<part>.md`) with the table of what is graded there, a code cell with the part's
imports and one answer cell per graded function, then `handout/check-your-work.md` and one cell
per file of `handout/extras/` in the order of their numbers (`1-train-intro.md` a Markdown cell,
`2-train-data.py` a code cell, ...).

Answer cells carry the metadata ``{"nlm": {"answer": "<module>.<function>"}}`` (and the tag
"answer"), and each is followed by a check cell (tag "check", no mark: never graded) that runs
that function's visible checks with `from autograder import check`; the imports cells carry ``{"nlm": {"answer": "<module>.imports"}}``, because once any
cell is marked the loader (`submission.py`) reads the marked cells only, and the answers need their
imports. The functions come verbatim from the stubs (or the solutions), cut out with `ast`, so the
notebook can never drift from the `.py` handout. Imports of the part modules themselves (`from
losses import softmax`) are dropped: a notebook is one namespace.

The output is deterministic (fixed cell ids, no timestamps): `python -m autograder stubs`
regenerates identical bytes, and a test compares the committed notebook with what this makes.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import nbformat

from autograder.build.stubs import make_stub
from autograder.registry import Course

NBFORMAT_MINOR = 5  # cell ids, which make the file reproducible byte for byte
ANSWER_TAG = "answer"
CHECK_TAG = "check"
CHECK_CELL = """\
# Check {name}: its visible checks, on the cells you have run (the checks must be installed: README.md).
from autograder import check
check({name})"""
_SOLUTIONS = Path(__file__).resolve().parents[2] / "solutions"
_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
_MARKER_LINE = re.compile(r"^[ \t]*# (BEGIN|END) SOLUTION[^\n]*\n", re.MULTILINE)
_METADATA = {
    "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
    "language_info": {"name": "python"},
}


def answer_mark(module: str, name: str) -> str:
    """The ``nlm.answer`` mark of a cell: "losses.softmax", or "losses.imports" for the imports."""
    return f"{module}.{name}"


def build_notebook(sources: dict[str, str], course: Course, *, with_solutions: bool) -> nbformat.NotebookNode:
    """The handout notebook made from the part modules' solution sources.

    ``sources`` maps each part ("losses" or "losses.py", ...) to its solution text (stub text
    works too: it has no solution regions). With ``with_solutions`` the functions keep their
    solutions (marker comments removed); otherwise they are the stubs `make_stub` makes.
    """
    by_module = {Path(key).stem: text for key, text in sources.items()}
    missing = [m for m in course.modules if m not in by_module]
    if missing:
        raise ValueError(f"no source for the part module(s) {', '.join(missing)}")

    text_of = handout_text(course)
    cells = [_markdown("intro", fill(text_of("intro.md"), handout_fields(course)))]
    for part in course.parts:
        text = by_module[part.module]
        text = _MARKER_LINE.sub("", text) if with_solutions else make_stub(text)
        cells.append(_markdown(f"{part.module}-lesson", text_of(f"{part.module}.md") + _graded_here(course, part)))
        cells += _code_cells(course, part, text)
    cells.append(_markdown("check-your-work", text_of("check-your-work.md")))
    cells += extra_cells(course)
    nb = nbformat.v4.new_notebook(cells=cells, metadata=_METADATA)
    nb.nbformat_minor = NBFORMAT_MINOR
    nbformat.validate(nb)
    return nb


def write_notebook(path: Path, course: Course, solutions_dir: Path | None = None, *,
                   with_solutions: bool = False) -> Path:
    """Build the notebook from ``solutions_dir`` (default: the repository's solutions/), write it
    to ``path`` with `nbformat.write`, and return ``path``."""
    solutions_dir = Path(solutions_dir) if solutions_dir else _SOLUTIONS
    sources = {p.file: (solutions_dir / p.file).read_text() for p in course.parts}
    nb = build_notebook(sources, course, with_solutions=with_solutions)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))
    return path


# --- cells -------------------------------------------------------------------------------------


def _markdown(cell_id: str, text: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_markdown_cell(text.strip("\n"), id=cell_id)


def _code(cell_id: str, source: str, mark: str | None = None,
          tags: tuple[str, ...] = ()) -> nbformat.NotebookNode:
    metadata = {}
    if mark:
        metadata["nlm"] = {"answer": mark}
    if tags:
        metadata["tags"] = list(tags)
    return nbformat.v4.new_code_cell(source.strip("\n"), id=cell_id, metadata=metadata)


def _code_cells(course: Course, part, text: str) -> list[nbformat.NotebookNode]:
    """The part's imports cell, then one answer cell per graded function, in the contract's order."""
    tree = ast.parse(text)
    lines = text.splitlines()
    module = part.module
    functions = {n.name: n for n in tree.body if isinstance(n, _FUNCTIONS)}
    graded = [f.name for f in course.in_part(part)]
    absent = [name for name in graded if name not in functions]
    if absent:
        raise ValueError(f"{module}: no top-level definition of {', '.join(absent)}")

    setup, from_parts = [], []
    for position, node in enumerate(tree.body):
        if position == 0 and _is_docstring(node):
            continue  # the module docstring: the lesson cell says it better
        if isinstance(node, _FUNCTIONS) and node.name in graded:
            continue
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module in course.modules:
            from_parts += [alias.name for alias in node.names]
            continue
        if isinstance(node, ast.Import):
            kept = [alias for alias in node.names if alias.name not in course.modules]
            if len(kept) < len(node.names):
                from_parts += [alias.name for alias in node.names if alias.name in course.modules]
                if kept:
                    setup.append(ast.unparse(ast.Import(names=kept)))
                continue
        setup.append(_segment(lines, node))

    header = [f"# {part.short_title} imports: this cell is graded with your answers, so add any import they need here."]
    if from_parts:
        header.append(f"# {', '.join(from_parts)}: defined in the parts above (a notebook is one namespace).")
    cells = [_code(f"{module}-imports", "\n".join(header) + "\n" + "\n".join(setup),
                   answer_mark(module, "imports"), (ANSWER_TAG, "imports"))]
    for name in graded:
        cells.append(_code(f"{module}-{name}", _segment(lines, functions[name], comments=True),
                           answer_mark(module, name), (ANSWER_TAG,)))
        cells.append(_code(f"{module}-{name}-check", CHECK_CELL.format(name=name), tags=(CHECK_TAG,)))
    return cells


def _segment(lines: list[str], node: ast.stmt, comments: bool = False) -> str:
    """A top-level statement's source lines, with its decorators (and the comment block just above)."""
    start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
    if comments:
        while start > 1 and lines[start - 2].startswith("#"):
            start -= 1
    return "\n".join(lines[start - 1:node.end_lineno])


def _is_docstring(node: ast.stmt) -> bool:
    return (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str))


def _graded_here(course: Course, part) -> str:
    rows = [f"| `{f.name}` | {f.points:g}{' (bonus)' if f.bonus else ''} |" for f in course.in_part(part)]
    return "\n\n**Graded in this part** (each function's docstring states its exact contract):\n\n" \
           "| function | points |\n| --- | --- |\n" + "\n".join(rows) + "\n"


def handout_fields(course: Course) -> dict[str, str]:
    """The course's numbers, for the {{FIELDS}} of its handout text."""
    rows = []
    for part in course.parts:
        mine = course.in_part(part)
        regular = sum(f.points for f in mine if not f.bonus)
        bonus = sum(f.points for f in mine if f.bonus)
        names = ", ".join(f"`{f.name}`" for f in mine)
        rows.append(f"| {part.title} | {names} | {regular:g}{f' + {bonus:g} bonus' if bonus else ''} |")
    return {"PARTS_TABLE": "\n".join(rows), "MAX_SCORE": f"{course.max_score:g}",
            "BONUS_SCORE": f"{course.bonus_score:g}"}


def fill(text: str, fields: dict[str, str]) -> str:
    """Replace every {{NAME}} of `text`; an unknown one is an error."""
    for key, value in fields.items():
        text = text.replace("{{" + key + "}}", value)
    leftover = re.findall(r"\{\{[A-Z_]+\}\}", text)
    if leftover:
        raise ValueError(f"unknown fields {leftover}")
    return text


def handout_folder(course: Course) -> Path:
    import importlib

    return Path(importlib.import_module(course.package).__file__).with_name("handout")


def handout_text(course: Course):
    folder = handout_folder(course)
    return lambda name: (folder / name).read_text()


def extra_cells(course: Course) -> list[nbformat.NotebookNode]:
    """One cell per file of handout/extras/, by its number: Markdown for .md, code for .py."""
    extras = handout_folder(course) / "extras"
    files = sorted(extras.glob("*-*.*"), key=lambda p: int(p.name.split("-", 1)[0])) if extras.is_dir() else []
    cells = []
    for path in files:
        cell_id = path.stem.split("-", 1)[1]
        make = _markdown if path.suffix == ".md" else _code
        cells.append(make(cell_id, path.read_text()))
    return cells
