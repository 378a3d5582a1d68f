"""Autograder for "Training neural language models": isolated runs of student code, checked
against a PyTorch reference and centred finite differences, scored into Gradescope results.

`from autograder import check` gives the notebook's check() (autograder/student/notebook.py),
imported on first use: importing the package itself stays light (the sandbox's children import it).
"""

from typing import Any

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    if name == "check":
        from autograder.student.notebook import check

        return check
    raise AttributeError(f"module 'autograder' has no attribute {name!r}")
