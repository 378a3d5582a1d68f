"""Run a submission's functions in the sandbox: the grader's side of the conversation.

A `Session` runs a list of calls (function by function, in the course's order) in one child,
importing the part modules first (a student's quick first child: only its function's). A module that is missing, does not parse, raises, exits or
hangs at import costs only its own functions: every other part sees stand-ins for it. A call that
hangs or kills the child is charged to that call, and the calls after it run in a fresh child.
While a function runs, its stand-ins (the correct versions it may call, and whatever graded
function the submission lacks) ask the grader, which answers from the reference: the reference
never enters the child. Every frame the child sends is decoded within the step's size limit and
checked against the message it may be before anything else reads it.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Sequence

from autograder.check import Call
from autograder.isolate import protocol
from autograder.isolate.protocol import FailureKind
from autograder.isolate.run import Event

if TYPE_CHECKING:  # the sandbox is Linux's; the portable runner has the same interface
    from autograder.isolate.sandbox import Child, Sandbox
from autograder.registry import Course, Effect, GradedFunction, Probe

MAX_TIMEOUTS = 2
IMPORT_LIMIT = 256 * 1024  # bytes of a frame while importing: notes and a capped message
STEP_FLOOR = 1 << 20  # the least frame size a call's answer may take; more for big inputs


@dataclass(frozen=True)
class Failure:
    """Why a call produced no value, in words a student understands."""

    kind: FailureKind
    message: str


@dataclass(frozen=True)
class Observed:
    """One call's outcome: the value its probe observed, or a Failure; and what it printed."""

    value: Any = None
    failure: Failure | None = None
    printed: str = ""


@dataclass
class Plan:
    """What a session knows of the submission before it runs: which graded functions it lacks
    (stand-ins everywhere, never called) and which part modules cannot be imported."""

    course: Course
    folder: Path
    missing: dict[GradedFunction, str] = field(default_factory=dict)  # function -> why (student words)
    broken: dict[str, Failure] = field(default_factory=dict)          # module -> why
    failed: dict[GradedFunction, Failure] = field(default_factory=dict)  # known broken before running


class AnswerMemo:
    """The reference's answers to stand-ins, by the exact bytes of the question: most students
    call a callee on the same arguments, and they get the stored answer rather than a second
    computation (the answer is a function of the question, so the report cannot differ)."""

    def __init__(self, budget_bytes: int = 64 * 2**20) -> None:
        self.budget, self.used = budget_bytes, 0
        self.answers: OrderedDict[bytes, bytes] = OrderedDict()

    @staticmethod
    def key(course: Course, allowed: set[str], question: bytes) -> bytes:
        digest = hashlib.blake2b(repr((id(course), sorted(allowed))).encode(), digest_size=32)
        digest.update(question)
        return digest.digest()

    def get(self, key: bytes) -> bytes | None:
        answer = self.answers.get(key)
        if answer is not None:
            self.answers.move_to_end(key)
        return answer

    def put(self, key: bytes, answer: bytes) -> None:
        if len(answer) > self.budget // 8:
            return
        self.answers[key] = answer
        self.used += len(answer)
        while self.used > self.budget:
            self.used -= len(self.answers.popitem(last=False)[1])


ANSWERS = AnswerMemo()  # one per process: a worker keeps it across the submissions it grades


class Session:
    """Runs calls in children of `sandbox`, restarting a fresh child after a crash or a hang."""

    def __init__(self, sandbox: Sandbox, plan: Plan, quick_start: bool = False) -> None:
        """`quick_start`: the first child imports only the first function's module (a student's
        first result then waits for nothing else); a function of another module, or a restart,
        gets a child that imports them all, as grading's every child does."""
        self.sandbox, self.plan, self.course = sandbox, plan, plan.course
        self.child: Child | None = None
        self.printed: dict[str, str] = {}  # what importing each module printed
        self.timeouts: dict[GradedFunction, int] = {}
        self.quick_start = quick_start
        self.only: str | None = None  # the one part module the running (quick) child imported

    def run(self, work: Sequence[tuple[GradedFunction, Sequence[Call]]]) -> dict[GradedFunction, list[Observed]]:
        """One Observed per call of each function, in order (the child stays for the next run)."""
        return {function: [self.call(function, call) for call in calls] for function, calls in work}

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # ---------------------------------------------------------------- children

    def stop(self) -> None:
        if self.child is not None:
            self.child.close()
            self.child = None

    def ready(self, function: GradedFunction) -> Child:
        """The running child with every importable part module imported (the quick first child:
        `function`'s); a fresh one if none."""
        if self.only not in (None, function.module):
            self.stop()
        while self.child is None:
            self.only, self.quick_start = (function.module if self.quick_start else None), False
            self.child = self.sandbox.start(self.plan.folder)
            self.child.answer({"setup": self.setup()})
            for module in [self.only] if self.only else self.course.modules:
                if module in self.plan.broken:
                    continue
                if not self.import_part(module):
                    break  # the child died: the culprit is now broken; start another
        return self.child

    def setup(self) -> dict[str, Any]:
        effects = {f.name: f.effect.value for f in self.course.functions if f.effect is not Effect.NONE}
        return {"parts": {p.module: [f.name for f in self.course.in_part(p)] for p in self.course.parts},
                "effects": effects, "broken": sorted(self.plan.broken)}

    def import_part(self, module: str) -> bool:
        """Import `module` in the child; False when the child died doing it."""
        self.child.step({"import": module}, self.sandbox.limits.timeout_s, IMPORT_LIMIT)
        importing: list[str] = []  # the part modules being imported, innermost last
        printed: list[str] = []
        for message in self.replies(("note", "status"), self.stand_ins_for(None), printed):
            if isinstance(message, dict) and "note" in message:
                note = message["module"]
                if message["note"] == "importing":
                    importing.append(note)
                elif note in importing:
                    importing.remove(note)
                continue
            self.keep_printed(module, printed)
            if isinstance(message, Event):  # it died (or hung) importing: the innermost is the culprit
                culprit = importing[-1] if importing else module
                self.plan.broken[culprit] = ended_failure(message, f"importing {culprit}.py", self.sandbox)
                return False
            if message is None:
                self.plan.broken[module] = Failure(FailureKind.PROTOCOL, "importing it sent a malformed message")
                return False
            self.imported(module, message)
            return True
        raise AssertionError("replies() ends with the child")

    def imported(self, module: str, message: dict) -> None:
        if message["status"] != "ok":
            self.plan.broken[module] = Failure(FailureKind(message["status"]), message["message"])
        for name in message.get("filled", []):  # bound at import yet not a function
            function = self.course.by_name.get(name)
            if function is not None and function.module == module and function not in self.plan.failed:
                self.plan.missing.setdefault(function, f"not attempted: {module}.py defines no function {name}")

    def replies(self, kinds: Sequence[str], allowed: set[str], printed: list[str]) -> Iterator[dict | Event | None]:
        """The child's messages of `kinds` in this step; the stand-ins' questions it asks on the
        way are answered (for `allowed` functions) and what it prints goes to `printed`. Yields
        None for a malformed message (the child is stopped) and the Event when the child ended
        (then it is gone); both end the step."""
        while True:
            event = self.child.next_event()
            if event.kind != "message":
                printed.append(printed_text(event))
                if event.kind == "ended":
                    self.child = None
                    yield event
                    return
                continue
            key = ANSWERS.key(self.course, allowed, event.data)
            if (known := ANSWERS.get(key)) is not None:  # the very question, validated and answered before
                self.child.answer(known)
                continue
            message = self.decode(event, (*kinds, "callee"))
            if message is None:
                self.stop()
                yield None
                return
            if "callee" in message:
                self.answer(message, allowed, key)
            else:
                yield message

    def keep_printed(self, module: str, printed: list[str]) -> None:
        text = "".join(printed)
        if text:
            self.printed[module] = protocol.capped(self.printed.get(module, "") + text)

    # ---------------------------------------------------------------- calls

    def call(self, function: GradedFunction, call: Call) -> Observed:
        if function in self.plan.missing:
            return Observed(failure=Failure(FailureKind.MISSING_FUNCTION, self.plan.missing[function]))
        if function in self.plan.failed:
            return Observed(failure=self.plan.failed[function])
        if function.module in self.plan.broken:
            return Observed(failure=self.plan.broken[function.module])
        if self.timeouts.get(function, 0) >= MAX_TIMEOUTS:
            return Observed(failure=Failure(FailureKind.TIMEOUT, f"not run: {function.name} already timed out "
                                                                 f"on {MAX_TIMEOUTS} calls"))
        child = self.ready(function)
        if function.module in self.plan.broken:  # its import failed in this child
            return Observed(failure=self.plan.broken[function.module])
        request = {"call": function.name, "module": function.module, "probe": probe_name(function),
                   "args": list(call.args), "kwargs": call.kwargs,
                   "substitute": [c.name for c in self.course.callees_of(function)]}
        payload = protocol.encode(request)
        child.step(payload, self.sandbox.limits.timeout_s, max(STEP_FLOOR, 8 * len(payload)))
        return self.await_answer(function)

    def await_answer(self, function: GradedFunction) -> Observed:
        printed: list[str] = []
        for message in self.replies(("value", "error", "note"), self.stand_ins_for(function), printed):
            text = protocol.capped("".join(printed))
            if isinstance(message, Event):
                if message.outcome == "timeout":
                    self.timeouts[function] = self.timeouts.get(function, 0) + 1
                return Observed(failure=ended_failure(message, f"{function.name} was called and", self.sandbox),
                                printed=text)
            if message is None:
                return Observed(failure=Failure(FailureKind.PROTOCOL, "the call sent a malformed message "
                                                "to the grader"), printed=text)
            if "note" in message:
                continue
            if "error" in message:
                failure = self.failure_of(message)
                if failure.kind in _POISONED:
                    self.stop()  # what it left behind (processes, memory) must not cost the next call
                return Observed(failure=failure, printed=text)
            return Observed(value=message["value"], printed=text)
        raise AssertionError("replies() ends with the child")

    def stand_ins_for(self, function: GradedFunction | None) -> set[str]:
        """The graded functions whose stand-ins the grader answers for while `function` runs (None:
        while a module is imported): its callees, and whatever the submission lacks or broke."""
        callees = self.course.callees_of(function) if function else ()
        return ({c.name for c in callees} | {f.name for f in self.plan.missing} | {f.name for f in self.plan.failed}
                | {f.name for f in self.course.functions if f.module in self.plan.broken})

    def failure_of(self, message: dict) -> Failure:
        kind = FailureKind(message["error"])
        text = message["message"]
        if kind is FailureKind.MEMORY:
            text += f" (limit {self.sandbox.limits.memory_bytes / 2**30:g} GiB)"
        return Failure(kind, text)

    def answer(self, request: dict, allowed: set[str], key: bytes) -> None:
        """Answer a stand-in; the time the reference takes is the grader's, not the student's."""
        start = time.monotonic()
        payload = self.answer_callee(request, allowed)
        ANSWERS.put(key, payload)
        self.child.answer(payload, time.monotonic() - start)

    def answer_callee(self, request: dict, allowed: set[str]) -> bytes:
        """A stand-in's question: the reference's answer, if the function under test may have it."""
        name = request["callee"]
        if name not in allowed:
            return protocol.encode({"raise": f"{name} is not available here"})
        function = self.course.function(name)
        args, kwargs = request["args"], request["kwargs"]
        try:
            value = function.reference(*args, **kwargs)
            answer = {"answer": value}
            if function.effect is Effect.UPDATES_FIRST_ARGUMENT and args and isinstance(args[0], dict):
                answer["first"] = args[0]
            if function.effect is Effect.DRAWS_FROM_RNG:
                answer["rng"] = [getattr(getattr(a, "bit_generator", None), "state", None)
                                 for a in (*args, *kwargs.values())]
            return protocol.encode(answer)
        except Exception as problem:  # noqa: BLE001 - arguments the contract does not allow
            return protocol.encode({"raise": protocol.capped(f"{name}() could not be computed for these arguments: "
                                                             f"{type(problem).__name__}: {problem}")})

    def decode(self, event: Event, kinds: Sequence[str]) -> dict | None:
        """The child's message, if it is one of `kinds` and well formed; else None."""
        try:
            message = protocol.decode(event.data)
        except protocol.ProtocolError:
            return None
        return message if valid_message(message, kinds) else None


NOT_KEPT = "\n[... more output, not kept]\n"


def printed_text(event: Event) -> str:
    """What an output event says the child printed, marking what the sandbox did not keep."""
    return event.stdout + event.stderr + (NOT_KEPT if event.truncated else "")


_POISONED = (FailureKind.PROCESSES, FailureKind.MEMORY)


def probe_name(function: GradedFunction) -> str:
    return function.course_probe if function.probe is Probe.COURSE else function.probe.value


_TEXT_LIMIT = 4 * protocol.TEXT_CAP
_IMPORT_STATUSES = {"ok"} | {k.value for k in FailureKind if k.at_import or k in (FailureKind.EXITED,
                                                                              FailureKind.MEMORY)}
_CALL_ERRORS = {k.value for k in FailureKind}


def valid_message(message: Any, kinds: Sequence[str]) -> bool:
    """Whether `message` is exactly one of the child's messages named in `kinds` (see harness.py)."""
    if not isinstance(message, dict):
        return False
    keys = set(message)

    def text(key: str) -> bool:
        return isinstance(message.get(key), str) and len(message[key]) <= _TEXT_LIMIT

    shapes = {
        "status": (keys == {"status", "filled"} and message["status"] == "ok" and isinstance(message["filled"], list)
                   and all(isinstance(n, str) for n in message["filled"]))
        or (keys == {"status", "message"} and message.get("status") in _IMPORT_STATUSES and text("message")),
        "value": keys == {"value"},
        "error": keys == {"error", "message"} and message.get("error") in _CALL_ERRORS and text("message"),
        "callee": keys == {"callee", "args", "kwargs"} and isinstance(message.get("callee"), str)
        and isinstance(message.get("args"), list) and isinstance(message.get("kwargs"), dict),
        "note": keys == {"note", "module"} and message.get("note") in ("importing", "imported")
        and isinstance(message.get("module"), str),
    }
    return any(shapes[kind] for kind in kinds if kind in keys)


def ended_failure(event: Event, what: str, sandbox: Sandbox) -> Failure:
    """A Failure for a child that ended before answering, in words a student understands."""
    kind = {"timeout": FailureKind.TIMEOUT, "signalled": FailureKind.SIGNALLED, "processes": FailureKind.PROCESSES,
            "protocol": FailureKind.PROTOCOL}.get(event.outcome, FailureKind.EXITED)
    # A child that exits 0 without being told to called exit()/os._exit() mid-step.
    detail = "exited (status 0) before returning" if event.outcome == "finished" else event.detail
    if event.outcome == "signalled" and "SIGKILL" in detail:
        detail += f" (most likely it ran out of memory: the limit is {sandbox.limits.memory_bytes / 2**30:g} GiB)"
    tail = event.stderr.strip().splitlines()[-6:]
    extra = ("\nLast lines of its error output:\n" + "\n".join(tail)) if tail else ""
    return Failure(kind, protocol.capped(f"{what} {detail}{extra}"))
