"""Generate the student stubs in `assignment/` from the reference `solutions/`.

Each region between `# BEGIN SOLUTION` and `# END SOLUTION` becomes `# YOUR CODE HERE` and
`raise NotImplementedError`, at the region's indentation; everything else (imports, signatures,
docstrings) is kept byte for byte, so the stubs can never drift from the solutions' contract.
"""

from __future__ import annotations

import re
from pathlib import Path

from autograder.registry import Course

_REGION = re.compile(
    r"^(?P<indent>[ \t]*)# BEGIN SOLUTION[^\n]*\n.*?^[ \t]*# END SOLUTION[^\n]*\n",
    re.DOTALL | re.MULTILINE,
)


def make_stub(solution_source: str) -> str:
    """Replace every solution region of a module's source by a NotImplementedError stub."""
    if solution_source.count("# BEGIN SOLUTION") != solution_source.count("# END SOLUTION"):
        raise ValueError("unbalanced # BEGIN SOLUTION / # END SOLUTION markers")
    return _REGION.sub(
        lambda m: f"{m['indent']}# YOUR CODE HERE\n{m['indent']}raise NotImplementedError\n",
        solution_source,
    )


def stub_sources(solutions_dir: Path, course: Course) -> dict[str, str]:
    """The stub text of each part module, keyed by file name."""
    return {p.file: make_stub((solutions_dir / p.file).read_text()) for p in course.parts}


def write_stubs(solutions_dir: Path, assignment_dir: Path, course: Course) -> list[Path]:
    """Write the stubs of every part module into assignment_dir; returns the files written."""
    assignment_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in stub_sources(solutions_dir, course).items():
        target = assignment_dir / name
        target.write_text(text)
        written.append(target)
    return written
