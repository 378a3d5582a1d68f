"""Entry functions that tests/test_sandbox.py runs inside the sandbox: each `fn(job, send)`, made
an entry (called with the child's Channel) by `@entry`, gets the job as the first message.

The tests copy this file into the run's workdir; the child imports it from there. When the child
runs as "nobody" it may be unable to read the Python installation, so stick to modules the zygote
has imported already (the stdlib ones below, numpy, torch).
"""

from __future__ import annotations

import os
import resource
import signal
import sys
import time
from typing import Any, Callable

import numpy as np

Send = Callable[[Any], None]


def entry(fn: Callable[[Any, Send], None]) -> Callable[[Any], None]:
    def run(channel: Any) -> None:
        fn(channel.receive(), channel.send)
    return run


@entry
def echo(job: Any, send: Send) -> None:
    send(job)


class Tagged(np.ndarray):
    """An ndarray subclass the grader must never see as such."""


@entry
def values(job: Any, send: Send) -> None:
    """Values built in the child, of every kind the protocol carries."""
    message = {
        "f32": np.array([[1.5, -2.0], [np.nan, np.inf]], dtype=np.float32),
        "i32": np.arange(6, dtype=np.int32).reshape(2, 3),
        "u8": np.array([0, 255], dtype=np.uint8),
        "bools": np.array([True, False, True]),
        "zero_d": np.array(2.5),
        "empty": np.zeros((0, 3)),
        "scalars": [np.float32(0.5), np.int64(7), np.bool_(True), float("nan"), float("-inf")],
        "nested": {"a": [1, (2, 3), {"b": None, "c": "é"}]},
        "subclass": np.arange(3.0).view(Tagged),
        "fortran": np.asfortranarray(np.arange(6.0).reshape(2, 3)),
    }
    torch = sys.modules.get("torch")
    if torch is not None:
        weights = torch.ones(2, 2, requires_grad=True)
        message["tensor"] = (weights @ weights).sum(dim=0)  # a torch op after fork must not hang
        message["torch_threads"] = torch.get_num_threads()
    send(message)


@entry
def fake_results(job: Any, send: Send) -> None:
    print('{"score": 100, "tests": [{"name": "everything", "score": 100}]}')
    send({"ok": True})


@entry
def forever(job: Any, send: Send) -> None:
    while True:
        pass


@entry
def steps(job: Any, send: Send) -> None:
    for step in range(job["steps"]):
        time.sleep(job["pause"])
        send(step)


@entry
def exit_early(job: Any, send: Send) -> None:
    send("first")
    if job == "sys.exit":
        sys.exit(3)
    os._exit(0)


@entry
def crash(job: Any, send: Send) -> None:
    raise ValueError("student bug")


@entry
def segfault(job: Any, send: Send) -> None:
    """A real fault: confined, the child is PID 1 of its namespace, which ignores signals it
    sends itself, but not a fault."""
    import ctypes

    ctypes.string_at(0)


@entry
def allocate(job: Any, send: Send) -> None:
    try:
        block = np.ones(3 * 2**30, dtype=np.uint8)
    except MemoryError:
        send({"memory": True})
        return
    send({"memory": False, "size": block.size})


@entry
def flood(job: Any, send: Send) -> None:
    line = "x" * 2**20
    for _ in range(100):
        print(line)
    send({"done": True})


@entry
def flood_between_messages(job: Any, send: Send) -> None:
    """As much as the cap allows before every message: each message must not open the cap again."""
    for i in range(200):
        sys.stdout.write("o" * 16384)
        sys.stderr.write("e" * 16384)
        send({"i": i})


@entry
def orphan(job: Any, send: Send) -> None:
    """Leave a detached sleeper (double fork + setsid) that appends to a file every 0.1 s."""
    os.makedirs(os.path.dirname(job["file"]), exist_ok=True)
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            script = f'while :; do echo x >> "{job["file"]}"; sleep 0.1; done'
            os.execv("/bin/sh", ["sh", "-c", script, job["marker"]])  # $0 = marker, in its cmdline
        os._exit(0)
    stop = time.monotonic() + 5
    while time.monotonic() < stop:
        if os.path.exists(job["file"]) and os.path.getsize(job["file"]) >= 4:
            break
        time.sleep(0.05)
    send({"started": os.path.exists(job["file"])})


@entry
def kill_zygote(job: Any, send: Send) -> None:
    with open(job["pid_file"], "w") as file:
        file.write(str(os.getpid()))
    os.kill(os.getppid(), signal.SIGKILL)
    time.sleep(30)


@entry
def identity(job: Any, send: Send) -> None:
    try:
        with open(os.path.join(job["private_dir"], "intruder"), "w") as file:
            file.write("x")
        error = None
    except OSError as exc:
        error = type(exc).__name__
    send({"euid": os.geteuid(), "egid": os.getegid(), "groups": os.getgroups(), "write_error": error})


@entry
def environment(job: Any, send: Send) -> None:
    send(
        {
            "cwd": os.getcwd(),
            "path0": sys.path[0],
            "env": dict(os.environ),
            "fds": [int(fd) for fd in os.listdir("/proc/self/fd")],
            "own_session": os.getsid(0) == os.getpid(),
            "stdin": os.read(0, 1).decode(),
            "core": list(resource.getrlimit(resource.RLIMIT_CORE)),
            "fsize": list(resource.getrlimit(resource.RLIMIT_FSIZE)),
            "address_space": list(resource.getrlimit(resource.RLIMIT_AS)),
        }
    )


@entry
def garbage_then_sleep(job: Any, send: Send) -> None:
    """A frame that is not JSON, then hang: the grader must reject it and stop the child."""
    os.write(3, len(b"{not json").to_bytes(8, "big") + b"{not json")
    time.sleep(30)


@entry
def oversized_frame(job: Any, send: Send) -> None:
    os.write(3, (2**40).to_bytes(8, "big"))
    time.sleep(30)
