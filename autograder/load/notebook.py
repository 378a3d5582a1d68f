"""Jupyter notebooks (nbformat, any version 4 and Colab's metadata) and lone scripts: read within
the limits, pick the answer cells, and write their definitions as the part modules."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

from autograder.load.files import MAX_CELLS, MAX_NOTEBOOK_BYTES, Rejected, count, read_file, shown
from autograder.load.imports import ImportRule
from autograder.load.parts import write_parts
from autograder.load.script import Cell, extract
from autograder.load.submission import Loaded
from autograder.registry import Course

if TYPE_CHECKING:  # nbformat (and the jsonschema it loads) is imported only for a notebook
    import nbformat

_CELL_KEY = b'"cell_type"'  # each cell has one; counted before parsing, which costs per cell


def read_notebook(path: Path, plain_only: bool = True) -> nbformat.NotebookNode:
    """Read any nbformat 4 (or older, converted) notebook within the size and cell limits;
    reject anything else."""
    data = read_file(path, MAX_NOTEBOOK_BYTES, plain_only)
    _check_cells(path, data.count(_CELL_KEY))
    try:
        nb = _parse(path, data.decode("utf-8-sig", errors="replace"))
    except Rejected:
        raise
    # json and nbformat raise many types (ValueError, ValidationError, AttributeError...) on odd JSON.
    except Exception as exc:  # noqa: BLE001
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise Rejected(f"{shown(path.name)} is not a readable Jupyter notebook ({reason})") from None
    if not isinstance(nb.cells, list) or not all(isinstance(c, dict) for c in nb.cells):
        raise Rejected(f"{shown(path.name)} is not a readable Jupyter notebook (malformed cell list)")
    return nb


def _parse(path: Path, text: str) -> nbformat.NotebookNode:
    """The notebook, its cells counted as plain JSON first (keys written with escapes evade the
    byte count; nbformat's conversion and validation cost per cell)."""
    import nbformat

    cells = json.loads(text).get("cells")
    _check_cells(path, len(cells) if isinstance(cells, list) else 0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. missing cell ids: harmless for grading
        return nbformat.reads(text, as_version=4)


def _check_cells(path: Path, cells: int) -> None:
    if cells > MAX_CELLS:
        raise Rejected(f"{shown(path.name)} has {cells:,} cells; at most {MAX_CELLS:,} are read")


def choose_notebook(paths: list[Path], messages: list[str]) -> tuple[Path, nbformat.NotebookNode]:
    """Pick the notebook to grade: one with marked answer cells, else the most recently modified."""
    if len(paths) == 1:
        return paths[0], read_notebook(paths[0])
    readable: dict[Path, nbformat.NotebookNode] = {}
    for path in paths:
        try:
            readable[path] = read_notebook(path)
        except Rejected as exc:
            messages.append(f"skipped a notebook: {exc}")
    marked = [p for p, nb in readable.items() if any(answer_mark(c) for c in nb.cells)]
    pool = marked or list(readable) or paths
    chosen = max(pool, key=lambda p: p.stat().st_mtime)
    if len(marked) == 1:
        reason = "the only one with marked answer cells"
    else:
        reason = "the most recently modified" + (" with marked answer cells" if marked else "")
    names = ", ".join(shown(p.name) for p in paths)
    messages.append(f"found {len(paths)} notebooks ({names}); graded {shown(chosen.name)}, {reason}")
    return chosen, readable[chosen] if chosen in readable else read_notebook(chosen)


def load_notebook(path: Path, nb: nbformat.NotebookNode, dest: Path, out: Loaded, course: Course,
                  rule: ImportRule) -> None:
    """Write the definitions of the notebook's answer cells as the part modules."""
    extracted = extract(answer_cells(nb, out.messages), "notebook", out.messages, course)
    write_parts(extracted, path.name, "notebook", dest, course, rule, out)
    out.kind = "notebook"


def load_script(path: Path, source: str, dest: Path, out: Loaded, course: Course, rule: ImportRule) -> None:
    """A .py not named like a part (student.py): one script holding every part, read like a
    one-cell notebook, so only its imports, definitions and constants are kept."""
    name = shown(path.name)
    out.messages.append(f"{name}: graded as one script holding every part "
                        "(only its imports, definitions and constants are kept)")
    extracted = extract([Cell(1, source)], name, out.messages, course)
    write_parts(extracted, path.name, name, dest, course, rule, out)
    out.kind = "script"


def answer_cells(nb: nbformat.NotebookNode, messages: list[str]) -> list[Cell]:
    """The marked answer cells, or every code cell if none is marked."""
    code = [(n, c) for n, c in enumerate(nb.cells, 1) if c.get("cell_type") == "code"]
    marked = [(n, c) for n, c in code if answer_mark(c)]
    if marked:
        messages.append(f"notebook: graded the {count(len(marked), 'marked answer cell')}, "
                        f"ignored {count(len(code) - len(marked), 'unmarked code cell')}")
    elif code:
        messages.append(f"notebook: no answer cells are marked, so every code cell was read "
                        f"({count(len(code), 'cell')})")
    else:
        messages.append("notebook: the notebook has no code cells")
    return [Cell(n, cell_source(c), answer_mark(c)) for n, c in marked or code]


def answer_mark(cell: dict) -> str | None:
    """The ``nlm.answer`` mark of a code cell (e.g. "losses.softmax"), if any."""
    meta = cell.get("metadata")
    nlm = meta.get("nlm") if isinstance(meta, dict) else None
    mark = nlm.get("answer") if isinstance(nlm, dict) else None
    return mark if isinstance(mark, str) and mark and cell.get("cell_type") == "code" else None


def cell_source(cell: dict) -> str:
    """A cell's source as one string (nbformat joins line lists, but the JSON is untrusted)."""
    source = cell.get("source", "")
    if isinstance(source, list) and all(isinstance(s, str) for s in source):
        return "".join(source)
    return source if isinstance(source, str) else ""
