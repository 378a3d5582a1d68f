"""Jupyter notebooks (nbformat, any version 4 and Colab's metadata) and lone scripts: read, pick
the answer cells, and write their definitions as the part modules."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING

from autograder.load.files import MAX_FILE_BYTES, MAX_NOTEBOOK_BYTES, Rejected, count, read_file, write_file
from autograder.load.script import definitions_source
from autograder.registry import Course

if TYPE_CHECKING:  # nbformat (and the jsonschema it loads) is imported only for a notebook
    import nbformat

# A part module of a notebook submission: the notebook's definitions, under the module's name.
_PART_SHIM = b"# Graded from the notebook: see notebook.py.\nfrom notebook import *  # noqa: F401,F403\n"


def read_notebook(path: Path) -> nbformat.NotebookNode:
    """Read any nbformat 4 (or older, converted) notebook; reject anything else."""
    import nbformat

    text = read_file(path, MAX_NOTEBOOK_BYTES).decode("utf-8-sig", errors="replace")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. missing cell ids: harmless for grading
            nb = nbformat.reads(text, as_version=4)
        cells = nb.cells
    # nbformat raises many types (ValueError, ValidationError, AttributeError...) on odd JSON.
    except Exception as exc:  # noqa: BLE001
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise Rejected(f"{path.name} is not a readable Jupyter notebook ({reason})") from None
    if not isinstance(cells, list) or not all(isinstance(c, dict) for c in cells):
        raise Rejected(f"{path.name} is not a readable Jupyter notebook (malformed cell list)")
    return nb


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
    names = ", ".join(p.name for p in paths)
    messages.append(f"found {len(paths)} notebooks ({names}); graded {chosen.name}, {reason}")
    return chosen, readable[chosen] if chosen in readable else read_notebook(chosen)


def load_script(path: Path, dest: Path, messages: list[str], course: Course) -> str:
    """A lone .py other than the four part modules (student.py): one script holding every part,
    read like a one-cell notebook, so only its imports, definitions and constants are kept."""
    import nbformat

    source = read_file(path, MAX_FILE_BYTES).decode("utf-8", errors="replace")
    notes: list[str] = []
    load_notebook(path, nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)]), dest, notes, course)
    messages.append(f"{path.name}: graded as one script holding every part "
                    "(only its imports, definitions and constants are kept)")
    messages += [m.replace("notebook: ", f"{path.name}: ").replace(" (cell 1)", "") for m in notes
                 if not m.startswith("notebook: no answer cells are marked")]
    return "script"


def load_notebook(path: Path, nb: nbformat.NotebookNode, dest: Path, messages: list[str], course: Course) -> None:
    """Write the notebook's definitions to notebook.py and a re-exporting module per part."""
    source = definitions_source(answer_cells(nb, messages), path.name, messages, course)
    write_file(dest / "notebook.py", source.encode())
    for module in course.modules:
        write_file(dest / f"{module}.py", _PART_SHIM)


def answer_cells(nb: nbformat.NotebookNode, messages: list[str]) -> list[tuple[int, str]]:
    """(cell number, source) of the marked answer cells, or of every code cell if none is marked."""
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
    return [(n, cell_source(c)) for n, c in marked or code]


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
