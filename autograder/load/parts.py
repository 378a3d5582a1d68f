"""A notebook's or script's definitions written as the part modules, so that every form is graded
as four `.py` files are: each graded function in its own part's module, where callee substitution
and stand-ins find it.

Each part module holds, in notebook order within each section:
  1. the shared definitions (imports, constants, helper functions and classes, lambdas, aliases);
  2. that part's graded functions;
  3. `from <part> import <graded names>` for every other part: last, so that each module has
     defined its own graded functions before another imports them (circular imports resolve);
  4. what needs a graded function when it runs (`sm = softmax`, a class using one), after those.
A graded function known broken (its cell has a syntax error; it uses an import the grader does
not have) is left out: other parts get a correct stand-in for it, as for a missing one.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from pathlib import Path

from autograder.load.files import summary, write_file
from autograder.load.imports import ImportRule, Unavailable
from autograder.load.script import _BUILTINS, Definition, Extracted
from autograder.load.submission import SYNTAX_ERROR, UNAVAILABLE_IMPORT, Loaded, not_attempted
from autograder.registry import Course


@dataclass
class _Split:
    """The definitions left to write, and the graded names known broken, with (kind, message)."""

    definitions: list[Definition]
    failed: dict[str, tuple[str, str]]


def write_parts(extracted: Extracted, source_name: str, label: str, dest: Path, course: Course,
                rule: ImportRule, out: Loaded) -> None:
    """Write one module per part into ``dest`` and record what is missing or known broken."""
    graded = {f.name: f for f in course.functions}
    split = _Split(list(extracted.definitions), _syntax_failures(extracted, graded))
    _apply_import_rule(split, label, rule, graded, out.messages)
    split.definitions = [d for d in split.definitions if not d.binds & split.failed.keys()]
    _drop_unbound(split, label, graded, out.messages)
    _record(split, source_name, label, course, out)
    for module in course.modules:
        text = module_source(extracted, split.definitions, module, source_name, label, course)
        write_file(dest / f"{module}.py", text.encode("utf-8", errors="replace"))


def _record(split: _Split, source_name: str, label: str, course: Course, out: Loaded) -> None:
    """The graded functions failed or missing, and the parts supplied, into ``out``."""
    bound = set().union(*(d.binds for d in split.definitions))
    defined = {n for d in split.definitions if not d.is_import for n in d.binds}
    out.failed.update({f.qualname: split.failed[f.name] for f in course.functions if f.name in split.failed})
    absent = [f for f in course.functions if f.name not in bound | split.failed.keys()]
    out.missing.update({f.qualname: not_attempted(f.name, source_name, defined) for f in absent})
    if absent:
        out.messages.append(f"{label}: no definition found for {summary([f.qualname for f in absent])}")
    out.modules = [m for m in course.modules if any(f.name in bound | split.failed.keys() for f in course.in_part(m))]


def _syntax_failures(extracted: Extracted, graded: dict) -> dict[str, tuple[str, str]]:
    """Graded names whose last definition is in a cell that does not compile."""
    last_good: dict[str, int] = {}
    for d in extracted.definitions:
        for name in d.binds & graded.keys():
            last_good[name] = d.cell
    return {name: (SYNTAX_ERROR, error.message) for error in extracted.errors for name in error.defines
            if error.cell > last_good.get(name, -1)}


def _apply_import_rule(split: _Split, label: str, rule: ImportRule, graded: dict, messages: list[str]) -> None:
    """Drop the imports the grader does not have; fail the graded functions that use them,
    directly or through the notebook's helpers (never through another graded function: that one
    is replaced by a correct version where it counts)."""
    direct = {id(d): v for d in split.definitions if (v := rule.first_unavailable(d.node, _where(d, label)))}
    dropped = [d for d in split.definitions if d.is_import and id(d) in direct]
    tainted = _tainted_helpers(split.definitions, direct, dropped, graded)
    lost = []
    for d in split.definitions:
        verdict = _verdict(d, direct, tainted)
        for name in sorted(d.binds & graded.keys() - split.failed.keys()) if verdict else ():
            split.failed[name] = (UNAVAILABLE_IMPORT, verdict.message)
            lost.append(name)
    split.definitions = [d for d in split.definitions if d not in dropped]
    if dropped or lost:
        roots = sorted({v.root for v in direct.values()})
        messages.append(f"{label}: {', '.join(f'`{r}`' for r in roots)} not available where your work is graded "
                        "(use numpy, torch, math or the standard library): its imports were dropped"
                        + (f"; the graded functions using it score 0: {summary(lost)}" if lost else ""))


def _tainted_helpers(definitions: list[Definition], direct: dict[int, Unavailable], dropped: list[Definition],
                     graded: dict) -> dict[str, Unavailable]:
    """The helper names that lead to an unavailable import: bound by a dropped import, or by a
    helper using one (helpers calling helpers, to a fixed point)."""
    tainted = {name: direct[id(d)] for d in dropped for name in d.binds}
    helpers = [d for d in definitions if not d.binds & graded.keys()]
    while grown := [d for d in helpers if not d.binds <= tainted.keys() and _verdict(d, direct, tainted)]:
        for d in grown:
            tainted.update(dict.fromkeys(d.binds, _verdict(d, direct, tainted)))
    return tainted


def _verdict(d: Definition, direct: dict[int, Unavailable], tainted: dict[str, Unavailable]) -> Unavailable | None:
    """Why ``d`` cannot work where the work is graded: its own import, or a tainted name it reads."""
    return direct.get(id(d)) or next((tainted[n] for n in sorted(d.reads & tainted.keys())), None)


def _where(d: Definition, label: str) -> str:
    return f"cell {d.cell}" if label == "notebook" else label


def _drop_unbound(split: _Split, label: str, graded: dict, messages: list[str]) -> None:
    """Drop what would fail when its module runs because a name it reads at once is gone (an
    alias of a dropped import): one such statement would cost every part."""
    gone = []
    while True:
        bound = set(_BUILTINS) | graded.keys() | set().union(*(d.binds for d in split.definitions))
        unbound = [d for d in split.definitions if not d.reads_now <= bound]
        if not unbound:
            break
        gone += [f"{', '.join(sorted(d.binds))} ({_where(d, label)}, line {d.node.lineno})" for d in unbound]
        split.definitions = [d for d in split.definitions if d not in unbound]
    if gone:
        messages.append(f"{label}: dropped {summary(gone)}: each uses a name that is not kept")


def module_source(extracted: Extracted, definitions: list[Definition], module: str, source_name: str,
                  label: str, course: Course) -> str:
    """The source of part ``module``: shared definitions, its graded functions, the other parts'
    graded functions, then what needs those when it runs (see the module docstring)."""
    home = {f.name: f.module for f in course.functions}
    mine = [d for d in definitions if _home(d, home) in (None, module)]
    late_names: set[str] = set()
    shared, own, late = [], [], []
    for d in mine:
        needs = d.reads_now & (late_names | {n for n, m in home.items() if m != module or _home(d, home) is None})
        (late if needs else own if _home(d, home) else shared).append(d)
        late_names |= d.binds if needs else set()
    others = [f"from {m} import {', '.join(f.name for f in course.in_part(m))}  # noqa: E402"
              for m in course.modules if m != module]
    header = (f"# Generated by the autograder from {source_name!r}: part {module!r}. Only imports, definitions and\n"
              f"# constants are kept; the other parts' graded functions are imported after this part's own.\n")
    blocks = [header + extracted.docstring, *extracted.futures, _render(shared, label), _render(own, label),
              "# The other parts' graded functions (imported last, so circular imports resolve)\n" + "\n".join(others)]
    if late:
        blocks.append("# What uses a graded function as soon as it runs\n" + _render(late, label))
    return "\n\n".join(b for b in blocks if b) + "\n"


def _home(d: Definition, home: dict[str, str]) -> str | None:
    """The part of the first graded name ``d`` binds; None for a shared definition."""
    return next((home[n] for n in sorted(d.binds) if n in home), None)


def _render(definitions: list[Definition], label: str) -> str:
    """The statements, imports guarded, with a `# cell N` line wherever the cell changes."""
    lines, cell = [], None
    for d in definitions:
        if label == "notebook" and d.cell != cell:
            lines.append(f"# cell {d.cell}")
            cell = d.cell
        lines.append(_guarded_import(d.text) if d.is_import else d.text)
    return "\n\n".join(lines)


def _guarded_import(text: str) -> str:
    """A notebook's import that may fail harmlessly: an allowed module missing on this platform
    (a Windows-only part of the standard library, say) must not sink every part."""
    return f"try:\n{textwrap.indent(text, '    ')}\nexcept ImportError:\n    pass"

