"""What a student reads about one check, the same in pytest and in the notebook's `check()`.

A failure shows the autograder's feedback, what the student's code printed during the check
(capped, behind a margin), and the command that replays the failing call by hand. A module that
could not be imported is explained once, under the first of its checks that is reported, with
the advice that fits an import-time crash; its other checks point there.
"""

from __future__ import annotations

import re
import shlex
from typing import TYPE_CHECKING

from autograder.isolate.protocol import FailureKind

if TYPE_CHECKING:
    from autograder.check import Check
    from autograder.student.checking import Outcome

WORDS = {"passed": "PASSED", "failed": "FAILED", "crashed": "CRASHED", "timed out": "TIMED OUT",
         "not attempted": "NOT ATTEMPTED"}
PRINTED_CAP = 1500  # characters of printed output shown under a failure
MARGIN = "  | "
ADVICE = ("Code at the top level of {file} runs whenever the module is imported, by the checks and by "
          "the grader too. If it is code that tries your functions (a call and a print, an input(), a "
          "file read, a training loop), move it under `if __name__ == \"__main__\":`: it then runs "
          "only when you run the file yourself.")
# Import failures that the advice fits: the module's own code raised, exited or hung.
_CRASHES_AT_IMPORT = (FailureKind.IMPORT_ERROR, FailureKind.EXITED, FailureKind.TIMEOUT,
                      FailureKind.SIGNALLED, FailureKind.MEMORY)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def escaped(text: str) -> str:
    """Student-made text with control characters (terminal escapes) shown, never obeyed."""
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1], text)


def printed_block(text: str, what: str = "Your code printed") -> str:
    """What the student's code printed, capped, behind a margin so it cannot pass for feedback."""
    if not text.strip():
        return ""
    shown = text if len(text) <= PRINTED_CAP else text[:PRINTED_CAP] + f"\n[... {len(text) - PRINTED_CAP} more characters]"
    lines = "\n".join(MARGIN + line for line in escaped(shown).rstrip("\n").splitlines())
    return f"{what}:\n{lines}"


def replay_command(check: Check, call: int) -> str:
    """`python -m autograder replay "<check name>"` (and `--call N` when the check makes several calls)."""
    name = check.name
    quoted = f'"{name}"' if not re.search(r'["$`\\!]', name) else shlex.quote(name)
    more = f" --call {call + 1}" if len(check.calls) > 1 else ""
    return f"python -m autograder replay {quoted}{more}"


def module_problem(check: Check, outcome: Outcome, shown_under: dict[str, str]) -> str:
    """An import failure's text: in full the first time its message is reported, then a pointer."""
    message = outcome.failure.message
    first = shown_under.setdefault(message, check.name)
    file = f"{check.function.module}.py"
    if first != check.name:
        return f"not run: {file} could not be imported (the reason is shown once, under \"{first}\")"
    text = f"{file} could not be imported, so none of its functions ran:\n{escaped(message)}"
    if outcome.failure.kind in _CRASHES_AT_IMPORT and "is not available where your work is graded" not in message:
        text += "\n" + ADVICE.format(file=file)
    return text


def failure_text(check: Check, outcome: Outcome, shown_under: dict[str, str], printed_at_import: str = "") -> str:
    """Everything under a failing check: status and points, feedback, printed output, replay."""
    result = outcome.result
    head = f"{result.status} ({result.score:g}/{result.max_score:g} points)"
    if outcome.at_import:
        body = module_problem(check, outcome, shown_under)
        printed = printed_block(printed_at_import, f"Importing {check.function.module}.py printed") \
            if shown_under[outcome.failure.message] == check.name else ""
        return "\n".join(filter(None, [head, body, printed]))
    parts = [head, escaped(result.feedback), printed_block(result.printed)]
    parts.append(f"Replay this call by hand: {replay_command(check, outcome.call)}")
    return "\n".join(filter(None, parts))
