"""The portable runner: the student checks on any OS (Linux, macOS, Windows) and in Colab.

The same interface as the sandbox (`start(workdir) -> Child` with `step`, `answer`, `next_event`,
`close`; `limits`; `confinement()`), so `runner.Session` drives it unchanged, but each child is a
fresh `python` process running `harness.serve` over its stdin (the child's inbox) and stdout (its
outbox). What the student's code prints travels as frames on the outbox too, so it stays in order
with the messages; output written straight to the file descriptors goes to stderr, read by a
thread. The grader reads the outbox in a thread (Windows pipes support no `select`) and enforces
each step's deadline by killing the child's process group. Memory is limited where the platform
enforces RLIMIT_AS (Linux). An import hook refuses a top-level module the grader's environment
lacks (not numpy, torch, the standard library or the submission's own) when the student's code
imports it, whatever is installed here.

There is no confinement: the student's code runs as the student, on their own machine. Grading
always uses the sandbox. Nothing on this path may use a Linux-only facility (`resource` only
where present, no `fork`, no `prctl`, no `select` on pipes).

Outbox frames (child -> grader): b"R" once preloaded; b"O" + JSON {"text", "truncated"}: printed;
b"M" + a harness message. Inbox (grader -> child): a start frame {"workdir", "limits", "allowed"}
once, then the harness's messages.
"""

from __future__ import annotations

import builtins
import importlib.machinery
import io
import json
import os
import queue
import signal
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from autograder.isolate import protocol
from autograder.isolate.run import ChildEnd, Confinement, Event, Limits, exit_verdict

_PACKAGE_PARENT = str(Path(__file__).resolve().parents[2])
_BOOTSTRAP = (f"import sys; sys.path.insert(0, {_PACKAGE_PARENT!r}); "
              "from autograder.isolate.portable import child_main; child_main()")
# As the sandbox's zygote: the harness restores these modules' namespaces before each function,
# so a submodule imported lazily later (numpy.random) would be cut off from its package.
PRELOAD = ("numpy", "numpy.random", "numpy.linalg", "numpy.fft", "numpy.testing", "torch", "torch.nn",
           "torch.nn.functional", "torch.optim", "autograder.isolate.harness")
_START_TIMEOUT_S = 300.0  # a spare importing torch on a busy machine
_CHUNK = 2**16
_GRACE_S = 1.0  # what a child that closed its outbox has to exit before it is killed
_WINDOWS = sys.platform == "win32"
_HEADER = struct.Struct(">Q")  # protocol.py's frame header: the payload's length
_DYING_S = 5.0  # how long a killed child may take to close its pipes
UNAVAILABLE = "`{root}` is not available where your work is graded; use numpy"


class PortableSandbox:
    """Starts one child at a time, each a fresh interpreter started ahead of need (a spare), so
    that a child starts with numpy and torch already imported."""

    def __init__(self, limits: Any = Limits(), allowed: Sequence[str] = ("numpy", "torch"),
                 preload: Sequence[str] = PRELOAD, eager: bool = False) -> None:
        """`eager`: start the next spare as soon as a child starts (a notebook's next check() is then
        instant), not only when a child ends (one run of checks: a spare only after a crash)."""
        self.limits = limits
        self._allowed, self._preload, self._eager = list(allowed), list(preload), eager
        self._spare: subprocess.Popen[bytes] | None = None
        self._closed = False
        self._spawn_spare()

    def start(self, workdir: Path, entry: str = "autograder.isolate.harness:serve") -> PortableChild:
        """A fresh child serving the harness with `workdir` (the submission folder) first on its path."""
        process = self._take_spare()
        if self._eager:
            self._spawn_spare()  # the next child preloads while this one runs
        limits = {"memory_bytes": self.limits.memory_bytes, "output_bytes": self.limits.output_bytes}
        start = {"workdir": str(Path(workdir).resolve()), "limits": limits, "allowed": self._allowed,
                 "entry": entry}
        return PortableChild(self, process, protocol.encode(start))

    def confinement(self) -> Confinement:
        return Confinement(False, "the portable runner runs your code as you, without a sandbox", "portable")

    def close(self) -> None:
        """Stop the spare; a child still running ends by itself when its grader side closes it."""
        self._closed = True
        self._discard_spare()

    def _discard_spare(self) -> None:
        if self._spare is not None:
            _kill_tree(self._spare)
            _close_pipes(self._spare)
            self._spare = None

    def __enter__(self) -> PortableSandbox:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _take_spare(self) -> subprocess.Popen[bytes]:
        self._closed = False  # a runner may be used again after close(), like the sandbox
        if self._spare is None or self._spare.poll() is not None:
            self._discard_spare()
            self._spawn_spare()
        process, self._spare = self._spare, None
        return process

    def _spawn_spare(self) -> None:
        """Start the next child now; it imports the preloaded modules, then waits for its start frame."""
        if self._spare is not None or self._closed:
            return
        group = {"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP} if _WINDOWS else {"start_new_session": True}
        env = {**os.environ, "NLM_PRELOAD": ",".join(self._preload), "PYTHONIOENCODING": "utf-8"}
        self._spare = subprocess.Popen([sys.executable, "-c", _BOOTSTRAP], stdin=subprocess.PIPE,
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0,
                                       cwd=_PACKAGE_PARENT, env=env, **group)


class PortableChild(ChildEnd):
    """The grader's handle on one child: steps and answers in, events out, deadlines kept."""

    def __init__(self, sandbox: PortableSandbox, process: subprocess.Popen[bytes], start: bytes) -> None:
        self.sandbox, self.process = sandbox, process
        self.ended: Event | None = None
        self._events: queue.Queue[tuple[str, Any]] = queue.Queue()
        self._ready = False
        self._timeout: float | None = None  # of the current step, counted once the child is ready
        self._deadline = time.monotonic() + _START_TIMEOUT_S
        self._limit = protocol.MAX_FRAME_BYTES
        self._timed_out = False
        self._stray = _Capped(sandbox.limits.output_bytes)  # written straight to the descriptors
        self._writes: queue.Queue[bytes | None] = queue.Queue()
        for target in (self._write_inbox, self._read_outbox, self._read_stderr):
            threading.Thread(target=target, daemon=True).start()
        self._send(start)

    def step(self, message: Any, timeout_s: float, limit: int) -> None:
        """Send a step: the child has `timeout_s` from now (from when it is ready, if it is not yet)."""
        self._timeout, self._limit = timeout_s, limit
        if self._ready:
            self._deadline = time.monotonic() + timeout_s
        self._stray.new_step()
        self._send(protocol.encoded(message))

    def answer(self, message: Any, grader_s: float = 0.0) -> None:
        """Send what the child asked for (a message or its protocol bytes); the time the grader
        took to answer moves the step's deadline."""
        if self._deadline is not None:
            self._deadline += grader_s
        self._send(protocol.encoded(message))

    def kill(self) -> None:
        _kill_tree(self.process)

    def next_event(self) -> Event:
        """The child's next message or output; "ended" once it is gone (killed at its deadline)."""
        while self.ended is None:
            text, truncated = self._stray.take()
            if text or truncated:
                return Event("output", stderr=text, truncated=truncated)
            try:
                kind, value = self._events.get(timeout=max(0.0, self._deadline - time.monotonic()))
            except queue.Empty:
                self._expire()
                continue
            if kind == "ready":
                self._ready = True
                if self._timeout is not None:
                    self._deadline = time.monotonic() + self._timeout
            elif kind == "output":
                return Event("output", stdout=value["text"], truncated=value["truncated"])
            elif kind == "message":
                return Event("message", data=value)
            else:  # the outbox closed ("eof") or carried something that is no frame ("protocol")
                self._end(kind)
        return self.ended

    def _expire(self) -> None:
        """The deadline passed: kill the child; if its pipes still do not close, end it anyway."""
        if self._timed_out:
            self._end("eof")
            return
        self._timed_out = True
        self.kill()
        self._deadline = time.monotonic() + _DYING_S

    # ---------------------------------------------------------------- threads

    def _send(self, payload: bytes) -> None:
        self._writes.put(_HEADER.pack(len(payload)) + payload)

    def _write_inbox(self) -> None:
        """Writes in a thread of their own: a child that stops reading must not block the grader."""
        try:
            while (data := self._writes.get()) is not None:
                self.process.stdin.write(data)
        except (BrokenPipeError, OSError, ValueError):
            pass

    def _read_outbox(self) -> None:
        frames = protocol.FrameReader()
        try:
            while data := self.process.stdout.read(_CHUNK):
                for frame in frames.feed(data, self._limit):
                    self._events.put(_outbox_event(frame))
        except (protocol.ProtocolError, ValueError):
            self._events.put(("protocol", None))
            return
        except OSError:
            pass
        self._events.put(("protocol" if frames.pending else "eof", None))

    def _read_stderr(self) -> None:
        try:
            while data := self.process.stderr.read(_CHUNK):
                self._stray.add(data.decode("utf-8", errors="replace"))
        except (OSError, ValueError):
            pass

    # ---------------------------------------------------------------- the end

    def _end(self, how: str) -> None:
        """The outbox is closed or broken: make sure the process is gone and say how it ended."""
        if how == "protocol":
            self.kill()
        try:
            self.process.wait(timeout=_GRACE_S)
        except subprocess.TimeoutExpired:
            self.kill()
            self.process.wait()
        self._writes.put(None)
        _close_pipes(self.process)
        text, truncated = self._stray.take()
        outcome, detail = self._verdict(how, self.process.returncode)
        self.ended = Event("ended", stderr=text, truncated=truncated, outcome=outcome, detail=detail)
        self.sandbox._spawn_spare()  # the next child, on its way while this one is reported

    def _verdict(self, how: str, code: int) -> tuple[str, str]:
        if self._timed_out:
            return "timeout", f"timed out after {self._timeout or _START_TIMEOUT_S:g} s"
        if how == "protocol":
            return "protocol", "sent a malformed message to the grader"
        return exit_verdict(code)


def _outbox_event(frame: bytes) -> tuple[str, Any]:
    """A frame of the child's outbox as a (kind, value) pair; a malformed one is a protocol error."""
    tag, body = frame[:1], frame[1:]
    if tag == b"M":
        return "message", body
    if tag == b"R" and not body:
        return "ready", None
    if tag == b"O":
        try:
            printed = json.loads(body)
        except ValueError:
            return "protocol", None
        if isinstance(printed, dict) and isinstance(printed.get("text"), str) \
                and isinstance(printed.get("truncated"), bool):
            return "output", {"text": protocol.capped(printed["text"]), "truncated": printed["truncated"]}
    return "protocol", None


class _Capped:
    """Text kept up to `cap` characters per step (thread-safe); the rest counted as truncated."""

    def __init__(self, cap: int) -> None:
        self.cap, self.lock = cap, threading.Lock()
        self.parts: list[str] = []
        self.kept = 0
        self.truncated = False

    def add(self, text: str) -> None:
        with self.lock:
            room = max(0, self.cap - self.kept)
            self.parts.append(text[:room])
            self.kept += min(room, len(text))
            self.truncated = self.truncated or len(text) > room

    def take(self) -> tuple[str, bool]:
        with self.lock:
            text, truncated = "".join(self.parts), self.truncated
            self.parts, self.truncated = [], False
            return text, truncated

    def new_step(self) -> None:
        with self.lock:
            self.kept = 0


def _kill_tree(process: subprocess.Popen[bytes]) -> None:
    """Kill a child and whatever it started (its process group; on Windows its process tree)."""
    if process.poll() is not None:
        return
    if _WINDOWS:
        subprocess.run(["taskkill", "/F", "/T", "/PID", str(process.pid)], capture_output=True)
    else:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    try:
        process.kill()
    except OSError:
        pass


def _close_pipes(process: subprocess.Popen[bytes]) -> None:
    for pipe in (process.stdin, process.stdout, process.stderr):
        try:
            pipe.close()
        except OSError:
            pass


# ---------------------------------------------------------------- the child


class PipeChannel:
    """The child's end: harness messages on the outbox (after what was printed), steps read from
    the inbox with plain blocking reads (no select, no readv: Windows pipes have neither)."""

    def __init__(self, inbox: int, outbox: int, output_bytes: int) -> None:
        self.inbox, self.outbox = inbox, outbox
        self.lock = threading.Lock()  # the student's threads print too
        self.budget = self.cap = output_bytes

    def send(self, message: dict | bytes) -> None:
        """Send a message (or its protocol bytes)."""
        self.write(b"M" + protocol.encoded(message))

    def receive(self) -> dict | None:
        frame = read_frame(self.inbox)
        self.budget = self.cap  # a new step: its own output allowance
        return None if frame is None else protocol.decode(frame)

    def ask(self, message: dict | bytes) -> dict:
        self.send(message)
        answer = self.receive()
        if answer is None:
            raise SystemExit(0)  # the grader is gone
        return answer

    def printed(self, text: str) -> None:
        """What the student's code printed, sent at once (so it is never lost to a crash), capped per step."""
        with self.lock:
            kept, self.budget = text[:self.budget], max(0, self.budget - len(text))
            truncated = len(kept) < len(text)
        if kept or truncated:
            self.write(b"O" + json.dumps({"text": kept, "truncated": truncated}).encode())

    def write(self, frame: bytes) -> None:
        with self.lock:
            protocol.write_frame(self.outbox, frame)


class _Printed(io.TextIOBase):
    """sys.stdout and sys.stderr of the child: each write goes to the grader as a frame."""

    def __init__(self, channel: PipeChannel) -> None:
        self.channel = channel

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self.channel.printed(str(text))
        return len(text)


def read_frame(fd: int) -> bytes | None:
    """One length-prefixed frame from a blocking fd with os.read alone; None at EOF between frames."""
    header = _read_exactly(fd, _HEADER.size)
    if not header:
        return None
    if len(header) < _HEADER.size:
        raise protocol.ProtocolError("stream ended inside a frame header")
    (length,) = _HEADER.unpack(header)
    if length > protocol.MAX_FRAME_BYTES:
        raise protocol.ProtocolError(f"frame of {length} bytes is over the limit")
    payload = _read_exactly(fd, length)
    if len(payload) < length:
        raise protocol.ProtocolError("stream ended inside a frame")
    return payload


def _read_exactly(fd: int, size: int) -> bytes:
    chunks, left = [], size
    while left:
        chunk = os.read(fd, min(left, _CHUNK))
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


class ImportGuard:
    """builtins.__import__ for the child: a top-level module that the student's code (a module of
    the workdir) imports must be allowed, the standard library, or one of the submission's own
    files; anything else is refused as the grader's environment would refuse it."""

    def __init__(self, workdir: str, allowed: Sequence[str]) -> None:
        self.workdir = os.path.join(workdir, "")
        self.allowed = {*allowed, *sys.stdlib_module_names, "__future__"}
        self.original = builtins.__import__

    def __call__(self, name: str, globals: dict | None = None, locals: dict | None = None,
                 fromlist: Sequence[str] = (), level: int = 0) -> Any:
        if level == 0 and self.refuses(name.partition(".")[0], globals):
            root = name.partition(".")[0]
            raise ModuleNotFoundError(UNAVAILABLE.format(root=root), name=root)
        return self.original(name, globals, locals, fromlist, level)

    def refuses(self, root: str, importer: dict | None) -> bool:
        if root in self.allowed:
            return False
        path = (importer or {}).get("__file__") or ""
        if not isinstance(path, str) or not path.startswith(self.workdir):
            return False  # numpy's and torch's own imports
        return importlib.machinery.PathFinder.find_spec(root, [self.workdir]) is None


def child_main() -> None:
    """The child: take over the standard streams, preload, then serve one run's harness."""
    inbox, outbox = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)  # input() gets EOF, never the grader's frames
    os.dup2(2, 1)     # what is written straight to fd 1 goes to stderr, read by the grader
    sys.stdin = open(os.devnull)
    _preload(os.environ.pop("NLM_PRELOAD", "").split(","))
    protocol.write_frame(outbox, b"R")
    start = read_frame(inbox)
    if start is None:
        return
    run = protocol.decode(start)
    channel = PipeChannel(inbox, outbox, run["limits"]["output_bytes"])
    sys.stdout = sys.stderr = _Printed(channel)
    _enter(run)
    module, _, name = run["entry"].partition(":")
    getattr(importlib.import_module(module), name)(channel)


def _preload(names: list[str]) -> None:
    for name in filter(None, names):
        try:
            importlib.import_module(name)
        except ImportError:  # torch may be absent where only numpy is needed
            pass
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(1)  # as in the sandbox: the same speed and results


def _enter(run: dict[str, Any]) -> None:
    """The run's folder first on the path and as the working directory; limits; the import guard."""
    workdir = run["workdir"]
    os.chdir(workdir)
    sys.path[:] = [workdir, *(p for p in sys.path if p not in ("", workdir))]
    _limit_memory(run["limits"]["memory_bytes"])
    builtins.__import__ = ImportGuard(workdir, run["allowed"])


def _limit_memory(extra_bytes: int) -> None:
    """Address space: what is mapped now plus `extra_bytes`, where the kernel enforces it (Linux)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import resource
    except ImportError:
        return
    with open("/proc/self/status", "rb") as status:
        sizes = [int(line.split()[1]) * 1024 for line in status if line.startswith(b"VmSize:")]
    if sizes:
        resource.setrlimit(resource.RLIMIT_AS, (sizes[0] + extra_bytes,) * 2)


