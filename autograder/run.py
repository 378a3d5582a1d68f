"""Run the student's functions safely: the grader side of the sandbox conversation.

For one submission folder: first find out which part modules import (a module that is missing,
does not parse, raises, exits or hangs at import is replaced by a stand-in for everything else),
then run each part module's calls in a child (its functions in turn), restarting a fresh child
after a call that timed out or killed it, so that a hang or crash costs only that call's check.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from autograder.checks import Call
from autograder.checks.judges import Rng
from autograder.contract import PART_MODULES, GradedFunction
from autograder.sandbox import RunResult, Sandbox


@dataclass(frozen=True)
class Failure:
    """Why a call produced no value. kind is one of: not_attempted, exception, memory, timeout,
    exited, signalled, protocol, unserialisable, missing_function, and the import failures
    missing_module, syntax_error, import_error."""

    kind: str
    message: str


def outcome_failure(result: RunResult, what: str, limits_memory: int) -> Failure:
    """A Failure for a child that ended before answering, in words a student understands."""
    kind = {"timeout": "timeout", "signalled": "signalled", "protocol": "protocol"}.get(result.outcome, "exited")
    # A child that exits 0 without saying it is done called exit()/os._exit() mid-call.
    detail = "exited (status 0) before returning" if result.outcome == "finished" else result.detail
    if result.outcome == "signalled" and "SIGKILL" in detail:
        detail += f" (most likely it ran out of memory: the limit is {limits_memory / 2**30:g} GiB)"
    tail = result.stderr.strip().splitlines()[-6:]
    extra = ("\nLast lines of its error output:\n" + "\n".join(tail)) if tail else ""
    return Failure(kind, f"{what} {detail}{extra}")


def wire(value: Any) -> Any:
    """Call arguments as the protocol carries them (tuples as lists, Rng as a marker)."""
    if isinstance(value, Rng):
        return {"__rng__": value.seed}
    if isinstance(value, dict):
        return {k: wire(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [wire(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


MAX_TIMEOUTS = 2
OUTPUT_CAP = 4000  # characters of a module's printed output kept for the report
PENDING = object()  # a call not answered yet (None is a value a function may return)


class Runner:
    """Runs one submission folder's functions in `sandbox`."""

    def __init__(self, sandbox: Sandbox, workdir: Path) -> None:
        self.sandbox, self.workdir = sandbox, workdir
        self.broken: dict[str, Failure] = {}
        self.output: dict[str, str] = {}  # what the student's code printed, per module, capped

    def _run_job(self, label: str, job: dict) -> RunResult:
        result = self.sandbox.run(self.workdir, job)
        printed = self.output.get(label, "") + result.stdout + result.stderr
        if len(printed) > OUTPUT_CAP or result.output_truncated:
            printed = printed[:OUTPUT_CAP].rstrip("\n") + "\n[... more output, not kept]\n"
        if printed:
            self.output[label] = printed
        return result

    def probe_imports(self, modules: Sequence[str] = PART_MODULES) -> dict[str, Failure]:
        """Import every part module once; returns (and remembers) the ones that failed."""
        pending = [m for m in modules if m not in self.broken]
        while pending:
            result = self._run_job("import", {"imports": pending, "broken": sorted(self.broken)})
            open_modules: list[str] = []
            settled: set[str] = set()
            for msg in result.messages:
                if not isinstance(msg, dict) or msg.get("event") != "module":
                    continue
                name, status = msg.get("name"), msg.get("status")
                if name not in PART_MODULES:
                    continue
                if status == "begin":
                    open_modules.append(name)
                    continue
                if name in open_modules:
                    open_modules.remove(name)
                settled.add(name)
                if status != "ok":
                    self.broken[name] = Failure(str(status), str(msg.get("message", "")))
            if result.messages and result.messages[-1] == {"event": "done"}:
                break
            # The child died while importing: the innermost module being imported is the culprit.
            culprit = open_modules[-1] if open_modules else pending[0]
            self.broken[culprit] = outcome_failure(
                result, f"importing {culprit}.py", self.sandbox.limits.memory_bytes)
            pending = [m for m in pending if m not in settled and m != culprit]
        return dict(self.broken)

    def run_module(self, module: str, work: Sequence[tuple[GradedFunction, Sequence[Call]]]
                   ) -> dict[str, list[Any | Failure]]:
        """One value or Failure per call of each function of `module` ({qualname: values}).

        One child serves the module's functions in turn (a fork of the fork server costs about
        15 ms), swapping callees per function; a call that hangs or kills the child is charged,
        and the calls after it go to a fresh child."""
        calls = [(function, call) for function, fcalls in work for call in fcalls]
        if module in self.broken:
            results: list[Any] = [self.broken[module]] * len(calls)
        else:
            results = self._run(module, calls)
        out: dict[str, list[Any | Failure]] = {f.qualname: [] for f, _ in work}
        for (function, _), value in zip(calls, results):
            out[function.qualname].append(value)
        return out

    def _run(self, module: str, calls: Sequence[tuple[GradedFunction, Call]]) -> list[Any]:
        results: list[Any] = [PENDING] * len(calls)
        remaining = list(range(len(calls)))
        timeouts: dict[str, int] = {}
        while remaining:
            job = {"module": module, "broken": sorted(self.broken),
                   "calls": [{"i": i, "function": calls[i][0].name, "probe": calls[i][1].probe,
                              "args": wire(calls[i][1].args), "kwargs": wire(calls[i][1].kwargs)}
                             for i in remaining]}
            result = self._run_job(module, job)
            started: int | None = None
            for msg in result.messages:
                event = msg.get("event") if isinstance(msg, dict) else None
                i = msg.get("i") if event in ("call", "result", "error") else None
                if event in ("call", "result", "error") and i not in remaining:
                    continue  # a forged or repeated index: ignore it
                if event == "call":
                    started = i
                elif event == "result":
                    results[i] = msg.get("value")
                    started = None
                elif event == "error":
                    kind = str(msg.get("kind"))
                    message = str(msg.get("message", ""))
                    if kind == "memory":
                        message += f" (limit {self.sandbox.limits.memory_bytes / 2**30:g} GiB)"
                    results[i] = Failure(kind, message)
                    started = None
                elif event == "module" and msg.get("name") == module and msg.get("status") not in ("begin", "ok"):
                    return [Failure(str(msg.get("status")), str(msg.get("message", "")))] * len(calls)
            done = bool(result.messages) and result.messages[-1] == {"event": "done"}
            unanswered = [i for i in remaining if results[i] is PENDING]
            if done or not unanswered:
                for i in unanswered:
                    results[i] = Failure("protocol", "the child finished without answering this call")
                break
            # The child died or hung: the call in progress is charged, the rest run in a new child.
            culprit = started if started in unanswered else unanswered[0]
            function = calls[culprit][0]
            results[culprit] = outcome_failure(result, f"{function.name} was called and",
                                               self.sandbox.limits.memory_bytes)
            if result.outcome == "timeout":
                timeouts[function.name] = timeouts.get(function.name, 0) + 1
                if timeouts[function.name] == MAX_TIMEOUTS:  # it will not be waited for again
                    for i in unanswered:
                        if calls[i][0] is function and results[i] is PENDING:
                            results[i] = Failure("timeout", f"not run: {function.name} already timed out "
                                                            f"on {MAX_TIMEOUTS} calls")
            remaining = [i for i in unanswered if results[i] is PENDING]
        return results
