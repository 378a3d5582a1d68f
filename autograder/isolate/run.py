"""What a run of student code is, whichever runner makes it (the Linux sandbox, the portable
runner): its limits, the events the grader reads from it, and whether it is confined. Plain data,
importable on every OS."""

from __future__ import annotations

import signal
from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    # Per step: wall-clock seconds from the step's start; nothing the child sends extends it.
    timeout_s: float = 10.0
    # Address space the student may add on top of the pre-imported baseline.
    memory_bytes: int = 2 * 2**30
    # stdout and stderr each, per step: the first N bytes are kept, the rest read and discarded.
    output_bytes: int = 16 * 1024
    # Processes and threads a run may have at once (RLIMIT_NPROC, per user namespace or per uid).
    processes: int = 64
    # CPU seconds per step, all the run's processes together (besides the wall-clock deadline);
    # None: as many as the timeout has seconds.
    cpu_s: float | None = None
    # The run's writable scratch folder (a tmpfs), and nothing else is writable.
    scratch_bytes: int = 64 * 2**20


@dataclass
class Event:
    """What the child did: sent a message (raw bytes, not yet decoded), printed, or ended
    (outcome: finished, timeout, exited, signalled, processes or protocol)."""

    kind: str                       # "message", "output" or "ended"
    data: bytes = b""
    stdout: str = ""
    stderr: str = ""
    truncated: bool = False
    outcome: str = ""
    detail: str = ""


@dataclass(frozen=True)
class Confinement:
    """Whether student code runs confined, and if not, why."""

    confined: bool
    reason: str = ""
    mode: str = ""  # "root" (namespaces as root), "user namespace", "portable"


def exit_verdict(code: int) -> tuple[str, str]:
    """(outcome, detail) for a child that ended by itself with `code` (negative: killed by that
    signal), as os.waitstatus_to_exitcode and Popen.returncode give it."""
    if code == 0:
        return "finished", "finished"
    if code > 0:
        return "exited", f"exited with status {code} before finishing"
    try:
        name = signal.Signals(-code).name
    except ValueError:
        name = str(-code)
    return "signalled", f"was killed by signal {name}"


class ChildEnd:
    """The end of a run both runners' child handles share: kill it, and read on until it ended.
    A handle has `ended` (its last Event, None while running), kill() and next_event()."""

    ended: Event | None

    def close(self) -> Event:
        """Kill the child (if still running) and wait for its end."""
        if self.ended is None:
            self.kill()
        while (event := self.next_event()).kind != "ended":
            pass
        return event
