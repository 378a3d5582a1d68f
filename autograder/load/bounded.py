"""Loading is bounded like running: the whole of it (unzipping, notebook parsing, AST filtering)
runs in a child process of its own, with a memory limit (RLIMIT_AS, where the platform has one)
and a wall-clock limit, so no upload makes the grader process slow or large. A submission that
exceeds a limit is kind "rejected", with a message naming the limit.

The child is a fresh interpreter (`python -m autograder.load.bounded`, started in the folder
holding the autograder package, never in the submission's) importing neither numpy nor the
course: it gets the course's shape (parts, graded names, allowed imports) as JSON and answers
with `Loaded` as JSON on its own pipe; what it prints goes to its stderr.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from autograder.load.submission import KINDS, Loaded
from autograder.registry import Course, GradedFunction, Part

LOAD_SECONDS = 30.0
LOAD_MEMORY_BYTES = 1 * 2**30
_ROOT = str(Path(__file__).resolve().parents[2])  # the folder holding the autograder package


@dataclass(frozen=True)
class LoadLimits:
    """The limits of one submission's loading."""

    seconds: float = LOAD_SECONDS
    memory_bytes: int = LOAD_MEMORY_BYTES


class LoadError(RuntimeError):
    """The loading child failed for a reason that is not the submission's (a grader bug)."""


def load_in_child(path: Path, dest: Path, course: Course, limits: LoadLimits) -> Loaded:
    """`forms.load_here(path, dest, course)` in a child process within ``limits``: a fork of a
    long-lived loading server where the platform forks (one interpreter start per process, not
    per submission: 70 ms each), else a fresh interpreter."""
    request = {"path": str(path.absolute()), "dest": str(dest.absolute()), "course": course_shape(course),
               "memory": limits.memory_bytes, "seconds": limits.seconds}
    if hasattr(os, "fork"):
        with _SERVER_LOCK:  # one request at a time on the server's pipes (grade-all reads its starter in a thread)
            done = _server().run(request)
    else:
        done = _fresh_child(request)
    if done is None:
        return over_limit(course, f"reading it took longer than {limits.seconds:g} s, the limit for loading "
                                  "a submission")
    code, stdout, stderr = done
    if code == 0:
        return _parse_result(stdout, course, limits)
    if code < 0 or b"MemoryError" in stderr:
        return _over_memory(course, limits)
    tail = stderr.decode(errors="replace").strip()[-2000:]
    raise LoadError(f"loading {path.name} failed in the loading child (exit status {code}):\n{tail}")


def _environment() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([_ROOT, *filter(None, [os.environ.get("PYTHONPATH")])])}


def _fresh_child(request: dict[str, Any]) -> tuple[int, bytes, bytes] | None:
    try:
        done = subprocess.run([sys.executable, "-m", __name__], input=json.dumps(request).encode(),
                              capture_output=True, timeout=request["seconds"], cwd=_ROOT, env=_environment())
    except subprocess.TimeoutExpired:
        return None
    return done.returncode, done.stdout, done.stderr


class _LoadServer:
    """A process running `_serve`: it forks one limited child per request (JSON lines both ways)
    and reads no upload itself. Restarted if it ever stops answering."""

    def __init__(self) -> None:
        entry = f"from {__name__} import _serve; _serve()"  # (-m would run this module twice)
        self.process = subprocess.Popen([sys.executable, "-c", entry], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, cwd=_ROOT, env=_environment())

    def run(self, request: dict[str, Any]) -> tuple[int, bytes, bytes] | None:
        import select

        try:
            self.process.stdin.write(json.dumps(request).encode() + b"\n")
            self.process.stdin.flush()
            if select.select([self.process.stdout], [], [], request["seconds"] + 10)[0]:
                reply = json.loads(self.process.stdout.readline())
                if reply.get("timeout"):
                    return None
                return reply["code"], reply["out"].encode(), reply["err"].encode()
        except (OSError, ValueError):
            pass
        self.process.kill()  # no answer: a new server for the next request, and this one failed
        raise LoadError("the loading server stopped answering")


_SERVERS: dict[int, _LoadServer] = {}
_SERVER_LOCK = threading.Lock()


def start_server() -> None:
    """Start this process's loading server now, where the platform forks: it takes about 0.15 s
    to be ready, which a first submission then need not wait for."""
    if hasattr(os, "fork"):
        with _SERVER_LOCK:
            _server()


def _server() -> _LoadServer:
    """This process's loading server (a forked grading worker starts its own)."""
    server = _SERVERS.get(os.getpid())
    if server is None or server.process.poll() is not None:
        server = _SERVERS[os.getpid()] = _LoadServer()
    return server


def _serve() -> None:
    """The server's loop: a forked child per request line, within the request's limits."""
    import importlib

    for name in ("autograder.load.forms", "nbformat"):  # once, for every child (nbformat: 0.1 s)
        importlib.import_module(name)
    for line in sys.stdin.buffer:
        sys.stdout.write(json.dumps(_one_request(json.loads(line))) + "\n")
        sys.stdout.flush()


def _one_request(request: dict[str, Any]) -> dict[str, Any]:
    import select
    import signal
    import time

    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(out_r)
        os.close(err_r)
        os.dup2(err_w, 2)
        os.dup2(err_w, 1)  # anything printed while loading goes to stderr, not into the answer
        try:
            _load_for(request, os.fdopen(out_w, "wb"))
        finally:
            os._exit(0)
    os.close(out_w)
    os.close(err_w)
    chunks = {out_r: bytearray(), err_r: bytearray()}
    done: dict[int, bytes] = {}
    deadline = time.monotonic() + request["seconds"]
    while chunks and (remaining := deadline - time.monotonic()) > 0:
        for fd in select.select(list(chunks), [], [], remaining)[0]:
            data = os.read(fd, 1 << 16)
            if data:
                chunks[fd] += data if len(chunks[fd]) < 1 << 22 else b""
            else:
                done[fd] = bytes(chunks.pop(fd))
                os.close(fd)
    timed_out = bool(chunks)
    if timed_out:
        os.kill(pid, signal.SIGKILL)
        for fd in chunks:
            os.close(fd)
    status = os.waitpid(pid, 0)[1]
    out, err = done.get(out_r, b""), done.get(err_r, b"")
    if timed_out:
        return {"timeout": True}
    return {"code": os.waitstatus_to_exitcode(status), "out": out.decode(errors="replace"),
            "err": err.decode(errors="replace")[-4000:]}


def over_limit(course: Course, why: str) -> Loaded:
    return Loaded("rejected", [], [f"rejected: {why}"],
                  {f.qualname: "not graded: the submission was rejected" for f in course.functions})


def _over_memory(course: Course, limits: LoadLimits) -> Loaded:
    size = limits.memory_bytes
    shown = f"{size / 2**30:g} GiB" if size >= 2**30 else f"{size / 2**20:g} MB"
    return over_limit(course, f"reading it needed more than {shown} of memory, the limit for loading a submission")


def _parse_result(stdout: bytes, course: Course, limits: LoadLimits) -> Loaded:
    try:
        result = json.loads(stdout)
        if result == {"limit": "memory"}:
            return _over_memory(course, limits)
        return _checked(result["loaded"], course)
    except (ValueError, KeyError, TypeError) as exc:
        raise LoadError(f"the loading child answered something malformed ({exc})") from None


def _checked(data: dict[str, Any], course: Course) -> Loaded:
    """The child's Loaded, after checking every field has the form it must (ValueError if not)."""
    loaded = Loaded(**data)
    texts = [*loaded.messages, *loaded.missing.values(), *(t for pair in (*loaded.failed.values(),
                                                                            *loaded.broken.values()) for t in pair)]
    known = {f.qualname for f in course.functions}
    valid = (loaded.kind in KINDS and set(loaded.modules) <= set(course.modules)
             and all(isinstance(t, str) for t in texts)
             and set(loaded.missing) | set(loaded.failed) <= known and set(loaded.broken) <= set(course.modules)
             and all(len(pair) == 2 for pair in (*loaded.failed.values(), *loaded.broken.values())))
    if not valid:
        raise ValueError("a field of Loaded has the wrong form")
    loaded.failed = {k: tuple(v) for k, v in loaded.failed.items()}
    loaded.broken = {k: tuple(v) for k, v in loaded.broken.items()}
    return loaded


def course_shape(course: Course) -> dict[str, Any]:
    """What loading needs of a course, as JSON: parts with their graded names, allowed imports."""
    return {"name": course.name, "package": course.package, "allowed": list(course.allowed_imports),
            "notebook": course.notebook_name,
            "parts": [[p.module, p.title, [f.name for f in course.in_part(p)]] for p in course.parts]}


def course_from_shape(shape: dict[str, Any]) -> Course:
    """A Course with the parts and graded names of ``shape`` (no references: loading needs none)."""
    parts = [(Part(module, title), names) for module, title, names in shape["parts"]]
    functions = tuple(GradedFunction(part, name, (), 0, _no_reference) for part, names in parts for name in names)
    return Course(shape["name"], shape["package"], tuple(p for p, _ in parts), functions,
                  tuple(shape["allowed"]), notebook_name=shape["notebook"])


def _no_reference(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("the loading child has no reference")


def _limit_self(memory_bytes: int, seconds: float) -> None:
    """Limit this process before it reads anything of the upload (where the platform can)."""
    try:
        import resource
    except ImportError:  # Windows: the wall-clock limit alone
        return
    cpu = math.ceil(seconds) + 1  # a backstop should the grader die and leave this child behind
    for limit, value in ((resource.RLIMIT_AS, memory_bytes), (resource.RLIMIT_CPU, cpu)):
        try:
            resource.setrlimit(limit, (value, value))
        except (ValueError, OSError):  # macOS refuses some limits: the wall-clock one still holds
            pass


def _load_for(request: dict[str, Any], answer: Any) -> None:
    """In the limited child: load, and write the answer as JSON to `answer`."""
    _limit_self(request["memory"], request["seconds"])
    from autograder.load.forms import load_here

    try:
        result: dict[str, Any] = {"loaded": asdict(load_here(Path(request["path"]), Path(request["dest"]),
                                                             course_from_shape(request["course"])))}
    except MemoryError:
        result = {"limit": "memory"}
    with answer:
        answer.write(json.dumps(result).encode())


def _child() -> None:
    request = json.loads(sys.stdin.buffer.read())
    answer = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # anything printed while loading goes to stderr, not into the answer
    _load_for(request, answer)


if __name__ == "__main__":
    _child()
