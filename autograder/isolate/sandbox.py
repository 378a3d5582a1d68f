"""Run untrusted student code in child processes forked from a preloaded zygote, with limits.

The grader (`Sandbox`) talks to one long-lived zygote, `python -I -m autograder.isolate.sandbox`,
that has numpy, torch and the child-side code imported already, so each child costs a fork
instead of a torch import. Per child the zygote forks, applies rlimits, drops privileges and calls
the entry function with a Channel (its inbox and outbox), and hands the grader its ends of the
child's four pipes (inbox, outbox, stdout, stderr) over a Unix socket: the grader (`Child`) then
talks with the child directly, keeps each step's deadline and the head of its output, and decodes
what it sends within the step's frame limit. The zygote watches the run's CPU time and processes
and, when the child ends or the grader says so, kills every process it left behind before
reporting how it ended.

Control channel (tagged frames of autograder.isolate.protocol over the zygote's stdin and stdout):
  grader -> zygote: b"P" {"preload": [...], "allowed": [...], "confine": bool, "fd_socket": fd}
                    once; b"S" {run} starts a child (its pipes come back over the socket);
                    b"T": a step starts now (its CPU time is counted from here); b"K": kill it now.
  zygote -> grader: b"R" + {"confined", "reason", "mode"} once preloaded and its confinement
                    tried; b"D" + JSON {"code", "cpu_over", "too_many"} once the run is over.
The deadline of a step is the grader's: nothing the child sends can extend it, and the grader
writes to the child without blocking (a child that does not read cannot hold it up).
"""

from __future__ import annotations

import ctypes
import dataclasses
import gc
import importlib
import json
import os
import pwd
import re
import resource
import select
import signal
import socket
import stat
import struct
import subprocess
import sys
import time
import traceback
import warnings
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TextIO

from autograder.isolate import confine, protocol
from autograder.isolate.run import ChildEnd, Confinement, Event, Limits, exit_verdict

if TYPE_CHECKING:
    from autograder.registry import Course

_PR_SET_PDEATHSIG = 1
_PR_SET_CHILD_SUBREAPER = 36
_OUTBOX_FD, _INBOX_FD = 3, 4  # the child's send() writes to 3 and its receive() reads 4
_FSIZE_LIMIT = 64 * 2**20
_CHUNK = 2**16
_START_TIMEOUT_S = 300.0  # importing torch on a busy machine
_GRACE_S = 10.0  # zygote cleanup time on top of a step's timeout before the grader gives up on it
_KILL_WAIT_S = 5.0  # how long to keep killing and reaping leftovers
_DRAIN_S = 1.0  # reading what the child's pipes still hold once every writer is dead
_CPU_POLL_S = 0.25  # how often a running step's CPU time and processes are looked at
_DRAIN_CHUNKS = 16  # reads of what was printed before a message is handed on (the rest comes later)
_ZYGOTE_MODULE = "autograder.isolate.sandbox"
_PACKAGE_PARENT = str(Path(__file__).resolve().parent.parent.parent)
# -I: no user site-packages, no PYTHON* variables, not the current folder on the path.
_ZYGOTE_ARGS = ("-I", "-c", f"import sys; sys.path.insert(0, {_PACKAGE_PARENT!r}); import runpy; "
                            f"runpy.run_module({_ZYGOTE_MODULE!r}, run_name='__main__')")
_ENTRY = "autograder.isolate.harness:serve"

_PROTOCOL_DETAIL = "sent a malformed message to the grader"

_LIBC = ctypes.CDLL(None, use_errno=True)
_STATUS = re.compile(rb"^State:\s*(\S).*?^PPid:\s*(\d+).*?^Uid:\s*([^\n]*)", re.S | re.M)


# Imported once by the zygote: children start with them loaded (fast), and a confined child,
# which sees no Python installation of the grader's, can use them. The whole public standard
# library comes too (0.2 s and 8 MB on top of torch, which loads most of it anyway).
_NOT_PRELOADED = {"antigravity", "this", "idlelib", "tkinter", "turtle", "turtledemo", "pydoc",
                  "ensurepip", "venv", "lib2to3", "distutils", "msilib", "winreg", "winsound", "nt",
                  "msvcrt"}
PRELOAD = ("numpy", "numpy.random", "numpy.linalg", "numpy.fft", "numpy.testing", "torch", "torch.nn",
           "torch.nn.functional", "torch.optim", "autograder.isolate.harness",
           *sorted(name for name in sys.stdlib_module_names
                   if not name.startswith("_") and name not in _NOT_PRELOADED))


def course_preload(course: Course) -> tuple[str, ...]:
    """What the zygote imports for a course: PRELOAD and the course's child-side modules (never
    its reference). Here, not with grading: a grader starts the zygote before importing numpy."""
    return (*PRELOAD, *course.child_modules)


@dataclass
class RunResult:
    """A whole run of `Sandbox.run`: the messages the child sent, how it ended, what it printed."""

    messages: list[Any]
    outcome: str
    detail: str
    stdout: str
    stderr: str
    output_truncated: bool


class Sandbox:
    """A zygote process serving one child at a time; use one Sandbox per concurrent worker."""

    def __init__(
        self,
        limits: Limits = Limits(),
        preload: Sequence[str] = PRELOAD,
        user: str | None = "auto",
        allowed: Sequence[str] = ("numpy", "torch"),
        confined: bool = True,
    ) -> None:
        self.limits = limits
        self._allowed, self._confine = list(allowed), confined
        self.status: Confinement | None = None  # known once the zygote is ready
        # The harness (and its Channel, which every entry is given) is always there.
        self._preload = list(dict.fromkeys([_ENTRY.partition(":")[0], *preload]))
        self._uid_lock: int | None = None
        self._ids = self._resolve_user(user)
        self._proc: subprocess.Popen[bytes] | None = None
        self._ready = False
        self._spawn()  # the zygote preloads while the caller gets on with its own work

    def start(self, workdir: Path, entry: str = _ENTRY) -> Child:
        """A fresh child running `entry(channel)` in `workdir` (one at a time per sandbox)."""
        workdir = Path(workdir).resolve()
        if self._ids is not None:
            _share_with_user(workdir, confined=self._confine)
        run = {"workdir": str(workdir), "entry": entry, "limits": dataclasses.asdict(self.limits),
               "ids": self._ids}
        self._send_control(b"S" + protocol.encode(run))
        return Child(self, self._receive_pipes())

    def run(self, workdir: Path, job: Any, entry: str) -> RunResult:
        """One-shot: start `entry`, send it `job` as one step, collect what it sends until it ends."""
        child = self.start(workdir, entry)
        child.step(job, self.limits.timeout_s, protocol.MAX_FRAME_BYTES)
        messages, out, err, truncated, rejected = [], [], [], False, False
        while (event := child.next_event()).kind != "ended":
            if event.kind == "message" and not rejected:
                try:
                    messages.append(protocol.decode(event.data))
                except protocol.ProtocolError:
                    rejected = True
                    child.kill()
            elif event.kind == "output":
                out.append(event.stdout)
                err.append(event.stderr)
                truncated = truncated or event.truncated
        outcome, detail = ("protocol", _PROTOCOL_DETAIL) if rejected else (event.outcome, event.detail)
        return RunResult(messages, outcome, detail, "".join(out) + event.stdout,
                         "".join(err) + event.stderr, truncated or event.truncated)

    def close(self) -> None:
        """Stop the zygote: it exits on EOF, or, still preloading (it has no child yet, and would
        read that EOF only after importing torch), is killed."""
        if self._uid_lock is not None:
            os.close(self._uid_lock)  # the uid is free for another sandbox
            self._uid_lock = None
        if self._proc is None:
            return
        if not self._ready:
            try:
                os.killpg(self._proc.pid, signal.SIGKILL)  # its group: a confinement probe too
            except ProcessLookupError:
                pass
        self._proc.stdin.close()
        try:
            self._proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        self._proc.stdout.close()
        self._proc = None
        self._fds.close()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _spawn(self) -> None:
        self._fds, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self._fds.settimeout(_START_TIMEOUT_S)
        fd_socket = theirs.fileno()
        with theirs:
            self._proc = subprocess.Popen(
                [sys.executable, *_ZYGOTE_ARGS],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                bufsize=0,
                env=_scrubbed_env(),
                cwd="/",
                start_new_session=True,  # the terminal's Ctrl-C is for the grader, which then closes us
                pass_fds=(fd_socket,),
            )
        self._ready = False
        setup = {"preload": self._preload, "allowed": self._allowed, "confine": self._confine,
                 "fd_socket": fd_socket}
        protocol.write_frame(self._proc.stdin.fileno(), b"P" + protocol.encode(setup))

    def _receive_pipes(self) -> list[int] | None:
        """The grader's ends of a new child's pipes (outbox, inbox, stdout, stderr), from the
        zygote; None when it died first."""
        try:
            _, fds, _, _ = socket.recv_fds(self._fds, 1, 4)
        except OSError:  # a timeout too
            return None
        for fd in fds:  # close-on-exec: no program the grader starts may hold a child's pipe open
            os.set_inheritable(fd, False)
        if len(fds) == 4:
            return fds
        for fd in fds:
            os.close(fd)
        return None

    def _discard(self) -> None:
        """Kill a dead or hung zygote and whatever of the student's escaped it."""
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait()
            self._proc.stdin.close()
            self._proc.stdout.close()
            self._proc = None
            self._fds.close()
        if self._ids is not None:
            # Its children die with it (PDEATHSIG); anything they started now belongs to init.
            _kill_until_gone(lambda: _user_pids(_process_table(), self._ids[0]), reap=False)

    def _send_control(self, frame: bytes) -> None:
        for attempt in range(2):
            if self._proc is None or self._proc.poll() is not None:
                self._discard()
                self._spawn()
            if not self._ready:
                self._await_ready()
            try:
                protocol.write_frame(self._proc.stdin.fileno(), frame)
                return
            except BrokenPipeError:  # died while idle: restart once
                if attempt:
                    raise
                self._discard()

    def _await_ready(self) -> None:
        try:
            frame = protocol.read_frame(self._proc.stdout.fileno(), timeout=_START_TIMEOUT_S)
        except (TimeoutError, protocol.ProtocolError):
            frame = None
        if frame is None or frame[:1] != b"R":
            self._discard()
            raise RuntimeError("the sandbox zygote failed to start; its error is on stderr")
        self.status = Confinement(**json.loads(frame[1:]))
        self._ready = True

    def confinement(self) -> Confinement:
        """Whether student code runs confined here (waits for the zygote to start)."""
        if not self._ready:
            self._await_ready()
        return self.status

    def _resolve_user(self, user: str | None) -> tuple[int, int] | None:
        """(uid, gid) to drop to as root, or None. "auto": a uid of its own (see _allocate_uid)."""
        if user is None or os.geteuid() != 0:
            return None
        if user == "auto":
            uid, self._uid_lock = _allocate_uid()
            return uid, uid
        try:
            account = pwd.getpwnam(user)
        except KeyError:
            raise ValueError(f"no user account named {user!r}") from None
        if account.pw_uid == 0:
            raise ValueError(f"refusing to run student code as {user}: its uid is 0")
        return account.pw_uid, account.pw_gid


class Child(ChildEnd):
    """The grader's handle on the running child: it writes steps and answers to the child's inbox,
    reads its outbox, stdout and stderr, and keeps the step's deadline; the zygote kills on "K"."""

    def __init__(self, sandbox: Sandbox, pipes: list[int] | None) -> None:
        self.sandbox = sandbox
        self.ended: Event | None = None
        self.deadline = time.monotonic() + sandbox.limits.timeout_s  # (the first step sets its own)
        self.limit = protocol.MAX_FRAME_BYTES
        self.frames = protocol.FrameReader()
        self.messages: deque[bytes] = deque()  # frames read and not yet handed on
        self.pending = bytearray()             # bytes for the inbox not yet written
        self.timed_out = self.violation = self.killed = self.truncated = False
        self.report: dict[str, Any] | None = None  # the zygote's word on how the run ended
        if pipes is None:
            self.open, self.inbox, self.captured, self.kept = [], -1, {}, {}
            self._lost()
            return
        self.outbox, self.inbox, stdout, stderr = pipes
        for fd in pipes:  # a child that stops reading or writing must not block the grader
            os.set_blocking(fd, False)
        self.open = [self.outbox, stdout, stderr]
        self.captured = {stdout: bytearray(), stderr: bytearray()}
        self.kept = {stdout: 0, stderr: 0}  # bytes of each kept in this step (the cap is per step)

    def step(self, message: Any, timeout_s: float, limit: int) -> None:
        """Send a step (a message, or its protocol bytes): the child has `timeout_s` from now, and
        may send frames of `limit` bytes."""
        self.deadline, self.limit = time.monotonic() + timeout_s, limit
        self.kept = dict.fromkeys(self.kept, 0)
        self._control(b"T")
        self._queue(protocol.encoded(message))

    def answer(self, message: Any, grader_s: float = 0.0) -> None:
        """Send what the child asked for (a message, or its protocol bytes) within the current
        step; `grader_s`, the time the grader took to answer, is not the student's to pay: the
        step's deadline moves by that much (nothing the child sends can move it)."""
        self.deadline += grader_s
        self._queue(protocol.encoded(message))

    def kill(self) -> None:
        if not self.killed:
            self.killed = True
            self._control(b"K")

    def next_event(self) -> Event:
        """The child's next message or output; "ended" once it is gone (also if the zygote died)."""
        while self.ended is None:
            if self.messages and not self.violation:
                printed = self._printed_before()
                return printed or Event("message", data=self.messages.popleft())
            if self.report is not None:
                return self._end()
            self._wait()
        return self.ended

    # ---------------------------------------------------------------- the pipes

    def _wait(self) -> None:
        """One round of select: write what the inbox can take, read what is there; past the
        deadline, have the zygote kill the run (and give it _GRACE_S to say it has)."""
        control = self.sandbox._proc.stdout.fileno()
        remaining = self.deadline - time.monotonic()
        if remaining <= 0 and not self.killed:
            self.timed_out = True
            self.kill()
        wait = _GRACE_S if self.killed else remaining
        writable = [self.inbox] if self.pending else []
        readable, ready, _ = select.select([control, *self.open], writable, [], max(0.0, wait))
        if not readable and not ready and self.killed:
            self._lost()  # the zygote hung
            return
        if ready:
            self._flush()
        for fd in readable:
            if fd != control:
                self._pump(fd)
        if control in readable:
            self._read_report(control)

    def _read_report(self, control: int) -> None:
        try:
            frame = protocol.read_frame(control, timeout=_GRACE_S)
        except (TimeoutError, protocol.ProtocolError, OSError):
            frame = None
        if frame is None or frame[:1] != b"D":
            self._lost()
            return
        self.report = json.loads(frame[1:])
        self._drain()

    def _queue(self, payload: bytes) -> None:
        if self.ended is None:
            self.pending += struct.pack(">Q", len(payload)) + payload
            self._flush()

    def _flush(self) -> None:
        try:
            while self.pending:
                del self.pending[:os.write(self.inbox, self.pending)]
        except BlockingIOError:
            pass
        except BrokenPipeError:
            self.pending.clear()  # the child closed its inbox: it is ending

    def _pump(self, fd: int) -> None:
        if fd not in self.open:  # closed at EOF earlier in this same round
            return
        try:
            data = os.read(fd, _CHUNK)
        except BlockingIOError:  # drained already in this same round
            return
        if not data:
            self.open.remove(fd)
            os.close(fd)
        elif fd != self.outbox:
            room = max(0, self.sandbox.limits.output_bytes - self.kept[fd])
            self.captured[fd] += data[:room]
            self.kept[fd] += min(room, len(data))
            self.truncated = self.truncated or len(data) > room
        elif not self.violation:
            try:
                self.messages += self.frames.feed(data, self.limit)
            except protocol.ProtocolError:
                self.violation = True
                self.kill()

    def _printed_before(self) -> Event | None:
        """What the child printed before the message it just sent (it flushes before sending)."""
        for fd in self.captured:
            for _ in range(_DRAIN_CHUNKS):
                if fd not in self.open or not select.select([fd], [], [], 0)[0]:
                    break
                self._pump(fd)
        if any(self.captured.values()) or self.truncated:
            return Event("output", **self._output())
        return None

    def _drain(self) -> None:
        """Read what the pipes still hold: every writer is dead, so EOF comes at once unless one
        escaped (then what it writes is not waited for)."""
        stop = time.monotonic() + _DRAIN_S
        while self.open and (remaining := stop - time.monotonic()) > 0:
            for fd in select.select(self.open, [], [], remaining)[0]:
                self._pump(fd)
        self._close_pipes()

    def _close_pipes(self) -> None:
        for fd in self.open + ([self.inbox] if self.inbox >= 0 else []):
            os.close(fd)
        self.open, self.inbox = [], -1

    def _output(self) -> dict[str, Any]:
        """What was printed since the last report (then forgotten), as text."""
        stdout, stderr = (bytes(b) for b in self.captured.values())
        report = {"stdout": stdout.decode(errors="replace"), "stderr": stderr.decode(errors="replace"),
                  "truncated": self.truncated}
        for kept in self.captured.values():
            kept.clear()
        self.truncated = False
        return report

    def _end(self) -> Event:
        outcome, detail = self._verdict(self.report)
        self.ended = Event("ended", outcome=outcome, detail=detail, **self._output())
        return self.ended

    def _lost(self) -> None:
        """The zygote died or hung (a student may kill it when not confined): start another."""
        self._close_pipes()
        self.sandbox._discard()
        self.sandbox._spawn()
        self.ended = Event("ended", outcome="exited",
                           detail="grading was interrupted because the sandbox process stopped")

    def _verdict(self, report: dict[str, Any]) -> tuple[str, str]:
        limits = self.sandbox.limits
        if report["too_many"]:
            return "processes", f"ran too many processes or threads (the limit is {limits.processes})"
        if self.timed_out:
            return "timeout", f"timed out after {limits.timeout_s:g} s"
        if report["cpu_over"]:
            return "timeout", f"used more than {limits.cpu_s or limits.timeout_s:g} s of CPU time"
        code = report["code"]
        # A partial frame only counts when the child exited cleanly; a crash explains it otherwise.
        if self.violation or (code == 0 and self.frames.pending):
            return "protocol", _PROTOCOL_DETAIL
        return exit_verdict(code)

    def _control(self, frame: bytes) -> None:
        if self.ended is None:
            try:
                protocol.write_frame(self.sandbox._proc.stdin.fileno(), frame)
            except (BrokenPipeError, AttributeError):
                pass  # the zygote is gone; the next round reads its end


def confinement_here(allowed: Sequence[str] = ("numpy", "torch")) -> Confinement:
    """Whether student code would run confined on this machine, as this user (tried in a child
    of this process, which must not have started threads yet)."""
    readable = confine.python_paths(tuple(allowed))
    return _try_confinement(readable)


NOT_CONFINED = ("STUDENT CODE IS NOT CONFINED on this machine ({reason}): it runs as this user and can "
                "read and write whatever this user can. Grade on a machine with user namespaces "
                "(or as root) for the confinement the README describes.")


def confinement_or_refuse(required: bool, status: Confinement | None = None) -> bool:
    """Say loudly, once, on stderr, that student code will run unconfined; False (refuse) when
    confinement is `required`."""
    status = status or confinement_here()
    if not status.confined:
        verdict = "refusing to grade: " if required else ""
        print(f"\033[1;31m{verdict}{NOT_CONFINED.format(reason=status.reason)}\033[0m", file=sys.stderr)
    return status.confined or not required


UID_RANGE = range(61000, 62000)  # uids for student code as root, one per live sandbox
_UID_LOCKS = Path("/run/lock")


def _allocate_uid() -> tuple[int, int]:
    """An unprivileged uid no account has and no other live sandbox uses (a lock file held while
    the sandbox lives), so that concurrent workers run student code as distinct users."""
    import fcntl

    for uid in UID_RANGE:
        try:
            pwd.getpwuid(uid)
            continue  # a real account: never share its files
        except KeyError:
            pass
        fd = os.open(_UID_LOCKS / f"nlm-autograder-uid-{uid}.lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return uid, fd
        except BlockingIOError:
            os.close(fd)
    raise RuntimeError(f"every uid of {UID_RANGE} is in use by another sandbox")


def _share_with_user(workdir: Path, confined: bool) -> None:
    """Make the tree readable by the dropped user: dirs 0755, files 0644. Confined, the tree is
    bound into the child's view, so its parents need not be reachable (and stay private)."""
    for parent in () if confined else workdir.parents:
        if not parent.stat().st_mode & stat.S_IXOTH:
            raise PermissionError(f"{workdir} is unreachable for other users: {parent} lacks o+x")
    for root, dirs, files in os.walk(workdir):
        os.chmod(root, 0o755)
        for name in dirs + files:
            path = os.path.join(root, name)
            info = os.lstat(path)
            # Never follow a symlink or touch a hard link: as root that could expose any file.
            if stat.S_ISREG(info.st_mode) and info.st_nlink == 1:
                os.chmod(path, 0o644)


def _scrubbed_env() -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", os.defpath),
        "LANG": "C.UTF-8",
        "HOME": "/nonexistent",
        "PYTHONHASHSEED": "0",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
    }


def _prctl(option: int, value: int) -> None:
    args = (ctypes.c_ulong(value), ctypes.c_ulong(0), ctypes.c_ulong(0), ctypes.c_ulong(0))
    if _LIBC.prctl(option, *args):
        raise OSError(ctypes.get_errno(), f"prctl({option}) failed")


# ---------------------------------------------------------------- processes


def become_subreaper() -> None:
    """Orphans of this process's descendants are reparented to it, so kill_descendants finds them."""
    _prctl(_PR_SET_CHILD_SUBREAPER, 1)


def kill_descendants() -> None:
    """SIGKILL and reap every process below this one."""
    me = os.getpid()
    _kill_until_gone(lambda: _descendants(me), reap=True)


def kill_user_processes(uid: int) -> bool:
    """SIGKILL every process of `uid` (but another sandbox's running child) until none is left;
    False when some survived the wait."""
    _kill_until_gone(lambda: _user_pids(_process_table(), uid), reap=False)
    return not _user_pids(_process_table(), uid)


_Table = dict[int, tuple[int, str, set[int]]]  # pid -> (ppid, state letter, its four uids)


def _process_table() -> _Table:
    table = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/status", "rb") as file:
                state, ppid, uids = _STATUS.search(file.read()).groups()
        except OSError:  # it ended meanwhile
            continue
        table[int(name)] = (int(ppid), state.decode(), {int(uid) for uid in uids.split()})
    return table


def _children(pid: int) -> list[int]:
    """The processes whose parent is `pid`, from the kernel's lists in /proc/<pid>/task/*/children:
    a walk of the run's own tree, where reading every process's status costs milliseconds a run."""
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:  # it ended meanwhile
        return []
    found = []
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/children", "rb") as file:
                found += [int(child) for child in file.read().split()]
        except OSError:
            continue
    return found


def _descendants(ancestor: int) -> list[int]:
    found, stack = [], [ancestor]
    while stack:
        for child in _children(stack.pop()):
            found.append(child)
            stack.append(child)
    return found


def _user_pids(table: _Table, uid: int) -> list[int]:
    """Live processes of `uid`, except those of another zygote's run (sandboxes may share a user)."""
    candidates = [pid for pid, (_, state, uids) in table.items() if uid in uids and state != "Z"]
    if not candidates:  # the usual case: spare reading every root process's cmdline
        return []
    zygotes = {pid for pid, (_, _, uids) in table.items() if uids == {0} and _is_zygote(pid)}
    pids = []
    for pid in candidates:
        ancestor = pid
        while ancestor in table and ancestor not in zygotes:
            ancestor = table[ancestor][0]
        if ancestor not in zygotes:
            pids.append(pid)
    return pids


def _is_zygote(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as file:
            args = file.read().split(b"\0")[1:-1]
    except OSError:
        return False
    # Any copy of the autograder's zygote (another unpacked bundle has another path in its -c).
    return args[:2] == [b"-I", b"-c"] and len(args) == 3 and f"runpy.run_module({_ZYGOTE_MODULE!r}".encode() in args[2]


def _kill_until_gone(find: Callable[[], list[int]], reap: bool) -> None:
    """SIGKILL what `find` lists until it lists nothing (and, reaping, no child is left, since the
    kernel's child lists may miss a process forked while they are read); processes may fork until
    they are hit."""
    stop = time.monotonic() + _KILL_WAIT_S
    while (pids := find()) or (reap and _reap_children()):
        for pid in pids:
            _kill(pid)
        if reap:
            _reap_children()
        if time.monotonic() > stop:
            print(f"sandbox: could not get rid of processes {pids}", file=sys.stderr)
            return
        time.sleep(0.001)


_TICKS = os.sysconf("SC_CLK_TCK")


def _tree_usage(pid: int) -> tuple[int, float]:
    """(processes and threads, CPU seconds) of `pid` and its descendants, from /proc."""
    threads, ticks = 0, 0
    for member in [pid, *_descendants(pid)]:
        try:
            with open(f"/proc/{member}/stat", "rb") as file:
                fields = file.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
        threads += int(fields[17])                   # num_threads
    return threads, ticks / _TICKS


def _kill(pid: int, group: bool = False) -> None:
    try:
        (os.killpg if group else os.kill)(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _reap_children() -> bool:
    """Reap the children that ended; whether any child is left."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return False
        if pid == 0:
            return True


# ---------------------------------------------------------------- zygote

_VIEW: tuple[str, ...] | None = None  # in the zygote: what a confined child may read; None: unconfined


def _zygote_main() -> None:
    # Keep the control channel away from fds 0/1 so a stray print can never corrupt it.
    ctl_in, ctl_out = os.dup(0), os.dup(1)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    os.dup2(2, 1)
    _prctl(_PR_SET_CHILD_SUBREAPER, 1)  # orphans of children come back to us, so we can kill them
    sys.dont_write_bytecode = True
    env = dict(os.environ)
    frame = protocol.read_frame(ctl_in)
    if frame is None or frame[:1] != b"P":
        return
    setup = protocol.decode(frame[1:])
    # Confinement first, while a fork is still cheap (before torch is imported).
    readable = confine.python_paths(tuple(setup["allowed"])) if setup["confine"] else ()
    status = _try_confinement(readable) if setup["confine"] else Confinement(False, "switched off")
    global _VIEW
    _VIEW = readable if status.confined else None
    _preload(setup["preload"], status.confined)
    pipes_to = socket.socket(fileno=setup["fd_socket"])
    me = os.getpid()
    try:
        protocol.write_frame(ctl_out, b"R" + json.dumps(dataclasses.asdict(status)).encode())
        while (frame := protocol.read_frame(ctl_in)) is not None:
            if frame[:1] == b"S" and not _serve_run(protocol.decode(frame[1:]), ctl_in, ctl_out, env, pipes_to):
                return
            # A step, answer or kill that arrives after its child ended is moot.
    finally:  # whatever ends the zygote (the grader gone, a bug) must not leave students' processes
        _kill_until_gone(lambda: _descendants(me), reap=True)


def _preload(names: Sequence[str], confined: bool) -> None:
    """Import what children should find loaded. Confined, a child can read the standard library
    from its view, so only the rest (numpy, torch, the child-side code) is worth the time; not
    confined and dropped to another user, it may be unable to read the installation at all."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # deprecated standard modules say so on import
        for name in names:
            if confined and name in sys.stdlib_module_names:
                continue
            try:
                importlib.import_module(name)
            except Exception:  # optional, e.g. a module that does not exist yet
                pass
    if "torch" in sys.modules:
        # No torch op before fork: a started intra-op thread pool would not survive it.
        sys.modules["torch"].set_num_threads(1)
    sys.stdout.flush()  # or every child would inherit the preloads' buffered prints
    gc.collect()
    gc.freeze()  # children then leave the preloaded objects' pages shared


def _try_confinement(readable: tuple[str, ...]) -> Confinement:
    """Whether children here can be confined: the whole setup tried once on an empty folder."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="nlm-probe-") as empty:
        os.chmod(empty, 0o755)
        ids = (65534, 65534) if os.geteuid() == 0 else None
        return confine.probe(confine.View(empty, readable, ids=ids))


def _serve_run(run: dict[str, Any], ctl_in: int, ctl_out: int, env: dict[str, str], pipes_to: socket.socket) -> bool:
    """Fork one child, hand its pipes to the grader, watch it, clean up after it, then report.
    False when the grader has gone."""
    limits = Limits(**run["limits"])
    ids = run["ids"]
    outbox, inbox, stdout, stderr = os.pipe(), os.pipe(), os.pipe(), os.pipe()
    zygote = os.getpid()
    pid = os.fork()
    if pid == 0:
        _child(run, {"outbox": outbox[1], "inbox": inbox[0], "stdout": stdout[1], "stderr": stderr[1]},
               env, zygote, limits)
    for fd in (outbox[1], inbox[0], stdout[1], stderr[1]):
        os.close(fd)
    grader_ends = [outbox[0], inbox[1], stdout[0], stderr[0]]
    try:
        socket.send_fds(pipes_to, [b"F"], grader_ends)
    except OSError:  # the grader is gone: the control channel says so below
        pass
    for fd in grader_ends:  # the grader's now: a dead child's pipes then end at once
        os.close(fd)
    budget = _Budget(limits)
    pidfd = os.pidfd_open(pid)
    grader_gone = False
    while not budget.over(pid):
        readable = select.select([pidfd, ctl_in], [], [], _CPU_POLL_S if budget.running else None)[0]
        if ctl_in in readable:
            frame = protocol.read_frame(ctl_in)
            if frame is None:
                grader_gone = True
                break
            if frame[:1] == b"K":
                break
            if frame[:1] == b"T":
                budget.step_started()
        if pidfd in readable:
            break
    budget.next_poll = 0.0
    budget.over(pid)  # how many processes it had at the end
    # The child itself too: killed before its setsid(), it has no process group yet, and waiting
    # for a child the group kill missed would hang this zygote.
    _kill(pid)
    _kill(pid, group=True)
    status = os.waitpid(pid, 0)[1]
    os.close(pidfd)
    # Confined, the run's processes all lived in its PID namespace, gone with it; unconfined, one
    # of the run's uid may have left the tree (the scan of every process is kept for that case).
    strays = (lambda: _user_pids(_process_table(), ids[0])) if ids and _VIEW is None else list
    _kill_until_gone(lambda: _descendants(zygote) + strays(), reap=True)
    if grader_gone:
        return False
    report = {"code": os.waitstatus_to_exitcode(status), "cpu_over": budget.cpu_over, "too_many": budget.too_many}
    protocol.write_frame(ctl_out, b"D" + json.dumps(report).encode())
    return True


class _Budget:
    """The zygote's watch on a run's CPU time in each step and its processes, polled while a
    step runs (the wall-clock deadline is the grader's)."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.running = False      # a step has started
        self.cpu_at_step = 0.0    # the run's CPU seconds when the current step began
        self.cpu_over = self.too_many = False
        self.next_poll = 0.0

    def step_started(self) -> None:
        self.running = True
        self.cpu_at_step = -1.0  # measured at the next poll, before the step can use much
        self.next_poll = time.monotonic() + _CPU_POLL_S

    def over(self, pid: int) -> bool:
        """Whether the run used more CPU time in this step than allowed, or filled its process limit."""
        now = time.monotonic()
        if not self.running or now < self.next_poll:
            return self.cpu_over
        self.next_poll = now + _CPU_POLL_S
        processes, cpu = _tree_usage(pid)
        self.too_many = self.too_many or processes >= self.limits.processes
        if self.cpu_at_step < 0:
            self.cpu_at_step = cpu
        self.cpu_over = cpu - self.cpu_at_step > (self.limits.cpu_s or self.limits.timeout_s)
        return self.cpu_over


# ---------------------------------------------------------------- child


def _child(run: dict[str, Any], fds: dict[str, int], env: dict[str, str], zygote: int,
           limits: Limits) -> NoReturn:
    """The forked child: whatever happens in it, it must never return into the zygote's loop."""
    code = 1
    try:
        code = _isolate_and_call(run, fds, env, zygote, limits)
    finally:
        os._exit(code)


def _isolate_and_call(run: dict[str, Any], fds: dict[str, int], env: dict[str, str], zygote: int,
                      limits: Limits) -> int:
    """Set up isolation and call the entry function; return the exit status."""
    code = 1
    try:
        os.setsid()  # own process group, so a timeout kills everything it forked
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.dup2(fds["stdout"], 1)
        os.dup2(fds["stderr"], 2)
        os.dup2(fds["outbox"], _OUTBOX_FD, inheritable=False)  # not for programs it may exec
        os.dup2(fds["inbox"], _INBOX_FD, inheritable=False)
        os.closerange(_INBOX_FD + 1, os.sysconf("SC_OPEN_MAX"))  # the control channel above all
        sys.stdout = sys.__stdout__ = _line_buffered(1)
        sys.stderr = sys.__stderr__ = _line_buffered(2)
        _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != zygote:  # the zygote died before the line above
            return 1
        baseline = _vm_size()
        resource.setrlimit(resource.RLIMIT_AS, (baseline + limits.memory_bytes,) * 2)
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        resource.setrlimit(resource.RLIMIT_FSIZE, (_FSIZE_LIMIT,) * 2)
        if _VIEW is not None:
            ids = None if run["ids"] is None else tuple(run["ids"])
            confine.enter(confine.View(run["workdir"], _VIEW, limits.scratch_bytes, ids, limits.processes))
            sys.path.insert(0, confine.SUBMISSION)
            env = {**env, "HOME": confine.SCRATCH, "TMPDIR": confine.SCRATCH}
        else:
            _enter_unconfined(run, limits.processes)
        os.environ.clear()
        os.environ.update(env)
        from autograder.isolate.harness import Channel

        module, _, name = run["entry"].partition(":")
        function = getattr(importlib.import_module(module), name)
        function(Channel(_INBOX_FD, _OUTBOX_FD))
        code = 0
    except SystemExit as exc:
        code = _exit_code(exc)
    except BaseException:
        traceback.print_exc()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass
    return code


def _enter_unconfined(run: dict[str, Any], processes: int) -> None:
    """Where the kernel gives no namespaces: the workdir, and as root an unprivileged uid of the
    run's own (the process limit then counts the run's processes); otherwise the limit is on top
    of what the instructor's uid already runs."""
    os.chdir(run["workdir"])
    sys.path.insert(0, run["workdir"])
    if run["ids"] is None:
        processes += _tasks_of(os.getuid())
    resource.setrlimit(resource.RLIMIT_NPROC, (processes,) * 2)
    if run["ids"] is not None:
        uid, gid = run["ids"]
        os.setgroups([])
        os.setgid(gid)
        os.setuid(uid)
    _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)  # setuid clears it


def _tasks_of(uid: int) -> int:
    """How many processes and threads `uid` runs (what RLIMIT_NPROC counts)."""
    tasks = 0
    for name in filter(str.isdigit, os.listdir("/proc")):
        try:
            if os.stat(f"/proc/{name}").st_uid == uid:
                tasks += len(os.listdir(f"/proc/{name}/task"))
        except OSError:  # it ended meanwhile
            continue
    return tasks


def _line_buffered(fd: int) -> TextIO:
    return open(fd, "w", buffering=1, encoding="utf-8", errors="backslashreplace", closefd=False)


def _vm_size() -> int:
    with open("/proc/self/status", "rb") as file:
        for line in file:
            if line.startswith(b"VmSize:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmSize in /proc/self/status")


def _exit_code(exc: SystemExit) -> int:
    """The status Python itself would exit with for this SystemExit."""
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return exc.code & 0xFF
    print(exc.code, file=sys.stderr)
    return 1


if __name__ == "__main__":
    _zygote_main()
    sys.stderr.flush()
    os._exit(0)  # the students' processes are gone; tearing down torch's interpreter would cost 0.15 s
