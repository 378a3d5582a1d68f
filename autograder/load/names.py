"""Which uploaded file is which part module: the exact name, else the name in any case
(`Losses.py`), else a downloaded duplicate (`losses (1).py`, `losses-1.py`, `losses_v2.py`,
`losses copy.py`) when only one file is; each match other than the exact name gets a note."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from autograder.load.files import is_module_name, shown, summary

# What browsers and file managers append to a name they already have.
_DUPLICATE = re.compile(r"(?P<stem>.+?)(?:\s*\(\d+\)|[-_ ]\d+|[-_ ]?v\d+|\s+copy(?:\s+\d+)?|\s+-\s+copy(?:\s*\(\d+\))?)",
                        re.IGNORECASE)


@dataclass
class Matched:
    """The file chosen for each part module, the other .py files (helpers), and the notes."""

    parts: dict[str, str] = field(default_factory=dict)  # module -> file name
    helpers: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def match_parts(names: list[str], modules: tuple[str, ...]) -> Matched:
    """Match the file names ``names`` (one folder's files) to the part ``modules``."""
    matched = Matched()
    python = [n for n in names if n.lower().endswith(".py")]
    claimed: set[str] = set()
    for module in modules:
        chosen, note = _choose(module, python)
        if chosen:
            matched.parts[module] = chosen
            claimed.add(chosen)
        if note:
            matched.notes.append(note)
    for name in python:
        if name in claimed:
            continue
        if name.endswith(".py") and is_module_name(name[:-3]):
            matched.helpers.append(name)
        elif _part_of(name, modules):
            matched.notes.append(f"ignored {shown(name)}: {_part_of(name, modules)}.py is graded from another file")
        else:
            matched.notes.append(f"skipped {shown(name)}: not a valid module name")
    return matched


def _choose(module: str, python: list[str]) -> tuple[str | None, str | None]:
    """The file graded as ``module``.py and the note saying how it was matched (None if exact)."""
    for how, candidates in (("", [n for n in python if n == f"{module}.py"]),
                            ("names are matched without regard to case",
                             [n for n in python if n.lower() == f"{module}.py"]),
                            ("the name of a downloaded duplicate",
                             [n for n in python if _duplicate_of(n) == module])):
        if len(candidates) == 1:
            note = f"graded {shown(candidates[0])} as {module}.py ({how})" if how else None
            return candidates[0], note
        if len(candidates) > 1:
            return None, (f"found {summary(candidates)}: cannot tell which one is {module}.py, so none is "
                          f"graded; rename the one to grade {module}.py")
    return None, None


def _duplicate_of(name: str) -> str | None:
    """The stem a duplicate's name was made from (lower case), if it is one."""
    if not name.lower().endswith(".py"):
        return None
    match = _DUPLICATE.fullmatch(name[:-3])
    return match["stem"].lower() if match else None


def _part_of(name: str, modules: tuple[str, ...]) -> str | None:
    stem = name[:-3].lower()
    return stem if stem in modules else (_duplicate_of(name) if _duplicate_of(name) in modules else None)
