"""The canonical submission: a folder holding one module per course part, and what the loader found.

`Loaded` is what the loading child reports (plain data: the child imports neither numpy nor the
course); `Submission` is what the grader makes of it. Both name the failure kinds by the values
of `autograder.isolate.protocol.FailureKind`.
"""

from __future__ import annotations

import ast
import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from autograder.registry import Course, GradedFunction, Part

if TYPE_CHECKING:  # protocol imports numpy, which the loading child does without
    from autograder.isolate.protocol import FailureKind

KINDS = ("folder", "notebook", "script", "zip", "empty", "rejected")


SYNTAX_ERROR = "syntax_error"  # FailureKind values the loader reports
UNAVAILABLE_IMPORT = "unavailable_import"


@dataclass
class Submission:
    """A loaded submission.

    `folder` holds one plain `.py` module per course part (an empty one, with a comment, for a part
    the submission lacks), each graded function in the module the registry gives it, and the
    submission's own helper modules; nothing at all for kinds "empty" and "rejected". `kind` is
    one of KINDS ("script": one .py holding every part); `modules` lists the part modules the
    submission supplied; `missing` the graded functions it does not define, each with the
    sentence a student reads (they are not run; other parts get stand-ins for them); `failed`
    the graded functions known broken before anything runs (a syntax error in their notebook
    cell, an import the grader does not have), each with its FailureKind and message (not run
    either; stand-ins elsewhere); `broken` the part modules never to import (a .py part with an
    unavailable import: stand-ins for all of it, on every machine alike); `messages` are
    student-facing notes on what was found, dropped or rejected.
    """

    folder: Path
    kind: str
    modules: tuple[str, ...]
    messages: list[str] = field(default_factory=list)
    missing: dict[GradedFunction, str] = field(default_factory=dict)
    failed: dict[GradedFunction, tuple[FailureKind, str]] = field(default_factory=dict)
    broken: dict[str, tuple[FailureKind, str]] = field(default_factory=dict)


@dataclass
class Loaded:
    """What loading found, as plain data: functions by qualname, failure kinds by value."""

    kind: str = "empty"
    modules: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    missing: dict[str, str] = field(default_factory=dict)
    failed: dict[str, tuple[str, str]] = field(default_factory=dict)
    broken: dict[str, tuple[str, str]] = field(default_factory=dict)


def top_level_names(tree: ast.Module) -> tuple[set[str], bool]:
    """The names a module binds at its top level, and whether a `*` import may bind more."""
    names, star = set(), False
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                star = star or alias.name == "*"
                names.add((alias.asname or alias.name).split(".")[0])
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                for sub in ast.walk(target):
                    if isinstance(sub, ast.Name):
                        names.add(sub.id)
        elif not isinstance(node, ast.Expr):
            star = True  # an if/try/with/for block may bind anything
    return names, star


def not_attempted(name: str, where: str, names: set[str]) -> str:
    """What a student reads for a graded function ``where`` lacks, naming a near miss if any."""
    near = difflib.get_close_matches(name, sorted(names), n=1, cutoff=0.6)
    return f"not attempted: no `{name}` in {where}" + (f" (found `{near[0]}`)" if near else "")


def missing_in_part(part: Part, tree: ast.Module | None, course: Course) -> dict[GradedFunction, str]:
    """The graded functions of ``part`` that its module (parsed as ``tree``; None: no such file)
    certainly lacks. A module that does not parse, or binds names in ways not read here (a `*`
    import, a block), is not judged: importing it tells."""
    if tree is None:
        return {f: f"not attempted: no {part.file} in the submission" for f in course.in_part(part)}
    names, star = top_level_names(tree)
    if star:
        return {}
    return {f: not_attempted(f.name, part.file, names) for f in course.in_part(part) if f.name not in names}

