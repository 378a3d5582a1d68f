"""The import rule: a submission may import the course's allowed packages (numpy, torch), the
Python standard library, the part modules and its own helper modules; anything else is not
available where the work is graded. Read from the source (AST), never by trying the import, so
the verdict is the same on every machine whatever the student has installed."""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass

from autograder.registry import Course


@dataclass(frozen=True)
class Unavailable:
    """An import the grader does not have: its top-level name and where it is."""

    root: str
    where: str  # "losses.py, line 3" / "cell 4, line 1"; "(through utils.py)" for a helper's

    @property
    def message(self) -> str:
        """What each graded function it costs reports."""
        return f"`{self.root}` is not available where your work is graded; use numpy ({self.where})"


def imported_roots(tree: ast.AST) -> list[tuple[str, int]]:
    """(top-level module name, line) of every absolute import in ``tree``, nested ones included,
    except under ``if __name__ == "__main__":`` (never run when the module is imported)."""
    found = []
    stack = [tree]
    while stack:
        node = stack.pop()
        if _is_main_guard(node):
            stack.extend(node.orelse)
            continue
        if isinstance(node, ast.Import):
            found += [(alias.name.split(".")[0], node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            found.append((node.module.split(".")[0], node.lineno))
        stack.extend(ast.iter_child_nodes(node))
    return sorted(found, key=lambda item: item[1])


def _is_main_guard(node: ast.AST) -> bool:
    if not isinstance(node, ast.If) or not isinstance(node.test, ast.Compare):
        return False
    sides = [node.test.left, *node.test.comparators]
    names = {s.id for s in sides if isinstance(s, ast.Name)}
    values = {s.value for s in sides if isinstance(s, ast.Constant)}
    return names == {"__name__"} and values == {"__main__"}


class ImportRule:
    """Decides imports for one submission, whose own helper modules are ``helpers`` (name -> tree,
    None for one that does not parse: importing it reports that)."""

    def __init__(self, course: Course, helpers: dict[str, ast.Module | None]) -> None:
        self.allowed = {*course.allowed_imports, *sys.stdlib_module_names, *course.modules, "__future__"}
        self.helpers = helpers
        self.verdicts: dict[str, Unavailable | None] = {}

    def first_unavailable(self, tree: ast.AST, where: str) -> Unavailable | None:
        """The first import in ``tree`` (a module or a statement) that is unavailable, if any;
        ``where`` names the file or cell for the message."""
        for root, line in imported_roots(tree):
            verdict = self.verdict(root)
            if verdict is not None:
                return verdict if verdict.where else Unavailable(root, f"{where}, line {line}")
        return None

    def verdict(self, root: str) -> Unavailable | None:
        """None if ``root`` may be imported; else why not (``where`` empty: the caller's line)."""
        if root in self.allowed:
            return None
        if root not in self.helpers:
            return Unavailable(root, "")
        if root not in self.verdicts:
            self.verdicts[root] = None  # a helper importing itself, or a cycle of helpers
            tree = self.helpers[root]
            inner = self.first_unavailable(tree, f"{root}.py") if tree is not None else None
            self.verdicts[root] = inner and Unavailable(inner.root, f"{inner.where}, which you import")
        return self.verdicts[root]
