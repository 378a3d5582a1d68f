"""The student stubs are exactly what the generator makes from the solutions, and hold no answer."""

from __future__ import annotations

import ast
import inspect

import pytest

from autograder.build.stubs import make_stub, stub_sources
from autograder.course import COURSE
from conftest import ASSIGNMENT, SOLUTIONS

PART_FILES = [p.file for p in COURSE.parts]


def test_assignment_is_what_the_generator_makes_today():
    for name, text in stub_sources(SOLUTIONS, COURSE).items():
        assert (ASSIGNMENT / name).read_text() == text, f"assignment/{name} is stale: run `make stubs`"


def solution_lines(source: str) -> set[str]:
    lines, inside = set(), False
    for line in source.splitlines():
        if "# BEGIN SOLUTION" in line:
            inside = True
        elif "# END SOLUTION" in line:
            inside = False
        elif inside and line.strip():
            lines.add(line.strip())
    return lines


@pytest.mark.parametrize("name", PART_FILES)
def test_no_solution_line_appears_in_the_stub(name):
    hidden = solution_lines((SOLUTIONS / name).read_text())
    stub_lines = {line.strip() for line in (ASSIGNMENT / name).read_text().splitlines()}
    assert hidden, "the solution has no marked region"
    assert not hidden & stub_lines


def test_stub_keeps_signatures_docstrings_and_imports(solutions, stubs):
    for f in COURSE.functions:
        sol, stub = getattr(solutions[f.module], f.name), getattr(stubs[f.module], f.name)
        assert inspect.signature(sol) == inspect.signature(stub)
        assert tuple(inspect.signature(sol).parameters) == f.parameters  # the registry's signature
        assert inspect.getdoc(sol) == inspect.getdoc(stub)
    for module in COURSE.modules:
        def imports(path):
            return [ast.dump(n) for n in ast.parse(path.read_text()).body
                    if isinstance(n, (ast.Import, ast.ImportFrom))]
        assert imports(SOLUTIONS / f"{module}.py") == imports(ASSIGNMENT / f"{module}.py")


@pytest.mark.parametrize("function", COURSE.functions, ids=lambda f: f.qualname)
def test_every_stub_raises_not_implemented(stubs, function):
    with pytest.raises(NotImplementedError):
        getattr(stubs[function.module], function.name)(*function.stub_args())


def test_make_stub_keeps_indentation_and_rejects_unbalanced_markers():
    source = "def f():\n    '''doc'''\n    # BEGIN SOLUTION\n    return 1\n    # END SOLUTION\n"
    assert make_stub(source) == "def f():\n    '''doc'''\n    # YOUR CODE HERE\n    raise NotImplementedError\n"
    with pytest.raises(ValueError):
        make_stub("# BEGIN SOLUTION\nx = 1\n")
