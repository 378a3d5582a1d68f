"""The canonical submission: a folder holding the part modules, and what the loader found."""

from __future__ import annotations

import ast
import difflib
from dataclasses import dataclass, field
from pathlib import Path

from autograder.isolate.protocol import FailureKind
from autograder.registry import Course, GradedFunction


@dataclass
class Submission:
    """A loaded submission.

    `folder` holds plain `.py` modules ready to import; `kind` is one of "folder", "notebook",
    "script" (a lone .py holding every part), "zip", "empty" or "rejected"; `modules` lists the
    part modules that exist in `folder`; `missing` the graded functions it does not define, each
    with the sentence a student reads (they are not run; other parts get stand-ins for them);
    `failed` the graded functions known broken before anything runs (a syntax error in their
    notebook cell, an import the grader does not have), each with its FailureKind and message
    (not run either; stand-ins elsewhere); `messages` are student-facing notes on what was found,
    dropped or rejected.
    """

    folder: Path
    kind: str
    modules: tuple[str, ...]
    messages: list[str] = field(default_factory=list)
    missing: dict[GradedFunction, str] = field(default_factory=dict)
    failed: dict[GradedFunction, tuple[FailureKind, str]] = field(default_factory=dict)


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


def defined_functions(folder: Path, course: Course) -> dict[GradedFunction, str]:
    """The graded functions the part modules in `folder` certainly lack, with why. A module that
    does not parse is not judged here: importing it reports its syntax error."""
    missing = {}
    for part in course.parts:
        path = folder / part.file
        if not path.is_file():
            for f in course.in_part(part):
                missing[f] = f"not attempted: no {part.file} in the submission"
            continue
        source = path.read_text(encoding="utf-8", errors="replace")
        try:
            names, star = top_level_names(ast.parse(source))
            if star and (folder / "notebook.py").is_file() and "from notebook import *" in source:
                names, star = top_level_names(ast.parse((folder / "notebook.py").read_text(errors="replace")))
        except (SyntaxError, ValueError, RecursionError):
            continue
        if star:
            continue
        for f in course.in_part(part):
            if f.name not in names:
                near = difflib.get_close_matches(f.name, sorted(names), n=1, cutoff=0.6)
                found = f" (found {near[0]})" if near else ""
                missing[f] = f"not attempted: no {f.name} in {part.file}{found}"
    return missing
