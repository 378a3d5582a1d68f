"""The sandbox and its wire protocol: isolation, limits, cleanup and hostile bytes."""

from __future__ import annotations

import base64
import json
import math
import os
import shutil
import struct
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from autograder.isolate import protocol
from autograder.isolate.sandbox import Limits, RunResult, Sandbox

TARGETS = Path(__file__).with_name("sandbox_targets.py")
MiB = 2**20
IS_ROOT = os.geteuid() == 0


@pytest.fixture(scope="module")
def box() -> Iterator[Sandbox]:
    """torch preloaded, privileges dropped when root."""
    with Sandbox(Limits(timeout_s=10, memory_bytes=512 * MiB)) as sandbox:
        yield sandbox


@pytest.fixture(scope="module")
def quick() -> Iterator[Sandbox]:
    with Sandbox(Limits(timeout_s=1), preload=("numpy",)) as sandbox:
        yield sandbox


def scratch_dir(mode: int) -> Path:
    # Under /tmp itself: pytest's own tmp dirs are 0700, unreachable for the dropped user.
    path = Path(tempfile.mkdtemp(prefix="sandbox-test-", dir="/tmp"))
    path.chmod(mode)
    return path


@pytest.fixture
def workdir() -> Iterator[Path]:
    path = scratch_dir(0o700)
    shutil.copy(TARGETS, path)
    yield path
    shutil.rmtree(path)


def run(sandbox: Sandbox, workdir: Path, target: str, job: object = None) -> RunResult:
    return sandbox.run(workdir, job, f"sandbox_targets:{target}")


# ---------------------------------------------------------------- protocol


def array_message(raw: bytes, dtype: str, shape: list) -> bytes:
    return json.dumps({"__ndarray__": base64.b64encode(raw).decode(), "dtype": dtype, "shape": shape}).encode()


def test_protocol_round_trip_in_process() -> None:
    message = {"a": np.arange(4, dtype=np.int16), "b": [np.float64(1.5), (True, None)], "c": np.array(True)}
    back = protocol.decode(protocol.encode(message))
    assert back["a"].dtype == np.int64 and back["a"].tolist() == [0, 1, 2, 3]
    assert back["b"] == [1.5, [True, None]]
    assert back["c"].shape == () and back["c"].dtype == np.bool_ and bool(back["c"])


@pytest.mark.parametrize(
    "payload",
    [
        array_message(b"\0" * 7, "<f8", [1]),  # wrong byte length
        array_message(b"\0" * 16, "<f8", [1]),
        array_message(b"\0" * 8, "|O", [1]),  # object arrays would unpickle
        array_message(b"\0" * 12, "<U3", [1]),
        array_message(b"", "<f8", [-1]),  # negative shape
        array_message(b"", "<f8", [True]),
        array_message(b"", "<f8", [0, 10**30]),
        array_message(b"\2", "|b1", [1]),  # a bool byte that is neither 0 nor 1
        b'{"__ndarray__": "AAAAAAAAAAA=", "dtype": "<f8", "shape": [1], "extra": 1}',
        b'{"__ndarray__": "not base64!", "dtype": "<f8", "shape": [1]}',
        b"[" * 200 + b"]" * 200,  # too deep
        b"[" * 100_000,  # deep enough to blow the recursion limit
        b"\xff\xfe",  # not UTF-8
        b"{not json",
    ],
)
def test_decode_rejects(payload: bytes) -> None:
    with pytest.raises(protocol.ProtocolError):
        protocol.decode(payload)


def test_encode_rejects_what_it_cannot_carry() -> None:
    for value in (object(), {1: "int key"}, np.array(["text"]), np.array([1 + 2j]), b"bytes"):
        with pytest.raises(TypeError):
            protocol.encode(value)


def test_frames_over_the_cap_are_rejected() -> None:
    header = struct.pack(">Q", protocol.MAX_FRAME_BYTES + 1)
    with pytest.raises(protocol.ProtocolError):
        protocol.FrameReader().feed(header)
    read_end, write_end = os.pipe()
    try:
        os.write(write_end, header)
        with pytest.raises(protocol.ProtocolError):
            protocol.read_frame(read_end)
    finally:
        os.close(read_end)
        os.close(write_end)


def test_frames_survive_arbitrary_chunking() -> None:
    read_end, write_end = os.pipe()
    for payload in (b"one", b"", b"three" * 1000):
        protocol.write_frame(write_end, payload)
    os.close(write_end)
    stream = os.read(read_end, 1 << 20)
    os.close(read_end)
    reader = protocol.FrameReader()
    frames = [frame for i in range(0, len(stream), 7) for frame in reader.feed(stream[i : i + 7])]
    assert frames == [b"one", b"", b"three" * 1000] and reader.pending == 0


# ---------------------------------------------------------------- messages and output


def test_messages_round_trip(box: Sandbox, workdir: Path) -> None:
    job = {"x": np.array([1.0, np.nan, -np.inf]), "n": [1, [2, {"deep": True}]], "s": "ünïcode"}
    echoed = run(box, workdir, "echo", job)
    assert echoed.outcome == "finished", echoed
    [back] = echoed.messages
    np.testing.assert_array_equal(back["x"], job["x"])
    assert back["n"] == job["n"] and back["s"] == job["s"]

    result = run(box, workdir, "values")
    assert result.outcome == "finished", result
    [got] = result.messages
    assert got["f32"].dtype == np.float32 and got["f32"].shape == (2, 2)  # kept: judges can tell
    np.testing.assert_array_equal(got["f32"], [[1.5, -2.0], [np.nan, np.inf]])
    assert got["i32"].dtype == np.int64 and got["i32"].tolist() == [[0, 1, 2], [3, 4, 5]]
    assert got["u8"].dtype == np.int64 and got["u8"].tolist() == [0, 255]
    assert got["bools"].dtype == np.bool_ and got["bools"].tolist() == [True, False, True]
    assert got["zero_d"].shape == () and got["zero_d"] == 2.5
    assert got["empty"].shape == (0, 3)
    assert got["scalars"][:3] == [0.5, 7, True] and type(got["scalars"][2]) is bool
    assert math.isnan(got["scalars"][3]) and got["scalars"][4] == -math.inf
    assert got["nested"] == {"a": [1, [2, 3], {"b": None, "c": "é"}]}
    assert got["fortran"].tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
    assert got["tensor"].dtype == np.float32 and got["tensor"].tolist() == [4.0, 4.0]
    assert got["torch_threads"] == 1
    # Plain, writable base-class arrays, whatever the child sent.
    assert type(got["subclass"]) is np.ndarray and got["subclass"].tolist() == [0.0, 1.0, 2.0]
    assert all(a.flags.writeable and a.flags.owndata for a in got.values() if isinstance(a, np.ndarray))


def test_printed_results_stay_in_stdout(box: Sandbox, workdir: Path) -> None:
    result = run(box, workdir, "fake_results")
    assert result.messages == [{"ok": True}]
    assert '"score": 100' in result.stdout and result.outcome == "finished"


def test_output_flood_is_capped(box: Sandbox, workdir: Path) -> None:
    result = run(box, workdir, "flood")
    assert result.outcome == "finished" and result.messages == [{"done": True}]
    assert result.output_truncated
    assert len(result.stdout) == box.limits.output_bytes and set(result.stdout) <= {"x", "\n"}


def test_output_is_capped_per_step_however_many_messages_it_sends(box: Sandbox, workdir: Path) -> None:
    result = run(box, workdir, "flood_between_messages")
    assert result.outcome == "finished" and len(result.messages) == 200
    assert len(result.stdout) == len(result.stderr) == box.limits.output_bytes and result.output_truncated


def test_the_grader_holds_the_childs_pipes_close_on_exec(box: Sandbox, workdir: Path) -> None:
    """No program the grader starts (whatever its close_fds) may keep a child's pipe open."""
    child = box.start(workdir, entry="autograder.isolate.harness:serve")
    try:
        assert [os.get_inheritable(fd) for fd in (*child.open, child.inbox)] == [False] * 4
    finally:
        child.close()


def test_a_child_killed_as_it_starts_ends_at_once_and_the_zygote_lives_on(quick: Sandbox, workdir: Path) -> None:
    """Killed before its setsid() it has no process group yet: the zygote must not wait for it
    forever (that hang cost a replaced zygote and the grace period, 10 s, now and then)."""
    zygote = quick._proc.pid
    for _ in range(30):
        ended = quick.start(workdir, entry="autograder.isolate.harness:serve").close()
        assert ended.outcome == "signalled", ended.detail
    assert quick._proc.pid == zygote


def test_child_is_isolated(box: Sandbox, workdir: Path) -> None:
    [got] = run(box, workdir, "environment").messages
    assert got["cwd"] == "/scratch" and got["path0"] == "/submission"  # confined: its own view
    assert set(got["env"]) == {
        "PATH", "LANG", "HOME", "TMPDIR", "PYTHONHASHSEED", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
        "PYTHONDONTWRITEBYTECODE",
    }  # fmt: skip
    assert got["env"]["HOME"] == got["env"]["TMPDIR"] == "/scratch"
    # 0-2, the outbox and inbox pipes and the fd listdir itself opened: nothing of the zygote's.
    assert len(got["fds"]) == 6 and max(got["fds"]) == 5
    assert got["own_session"] and got["stdin"] == ""
    assert got["core"] == [0, 0] and got["fsize"] == [64 * MiB] * 2
    assert 512 * MiB < got["address_space"][0] < 64 * 2**30


# ---------------------------------------------------------------- how runs end


def test_timeout(quick: Sandbox, workdir: Path) -> None:
    result = run(quick, workdir, "forever")
    assert (result.outcome, result.detail) == ("timeout", "timed out after 1 s")


def test_messages_never_extend_the_deadline(quick: Sandbox, workdir: Path) -> None:
    """A harmless message every 0.4 s does not keep a 1 s step alive: the deadline runs from the
    step's start (an attacker once ran 40 s on a 10 s limit this way)."""
    result = run(quick, workdir, "steps", {"steps": 4, "pause": 0.4})
    assert (result.outcome, result.detail) == ("timeout", "timed out after 1 s")
    assert result.messages == [0, 1]


def test_sys_exit_before_finishing(quick: Sandbox, workdir: Path) -> None:
    result = run(quick, workdir, "exit_early", "sys.exit")
    assert result.messages == ["first"]
    assert (result.outcome, result.detail) == ("exited", "exited with status 3 before finishing")


def test_os_exit_zero_before_the_final_message(quick: Sandbox, workdir: Path) -> None:
    result = run(quick, workdir, "exit_early", "os._exit")
    assert result.messages == ["first"] and result.outcome == "finished"


def test_exception_exits_with_traceback(quick: Sandbox, workdir: Path) -> None:
    result = run(quick, workdir, "crash")
    assert result.outcome == "exited" and "ValueError: student bug" in result.stderr


def test_segfault(quick: Sandbox, workdir: Path) -> None:
    result = run(quick, workdir, "segfault")
    assert (result.outcome, result.detail) == ("signalled", "was killed by signal SIGSEGV")


def test_memory_limit_raises_memory_error_in_the_child(box: Sandbox, workdir: Path) -> None:
    result = run(box, workdir, "allocate")
    assert result.messages == [{"memory": True}] and result.outcome == "finished"


def test_malformed_message_stops_the_child_and_the_zygote_lives_on(box: Sandbox, workdir: Path) -> None:
    zygote = box._proc.pid
    result = run(box, workdir, "garbage_then_sleep")
    assert result.outcome == "protocol" and result.messages == []
    assert box._proc.pid == zygote


def test_a_dead_childs_last_frame_and_output_reach_the_grader_in_order() -> None:
    """A frame still in the outbox and output at EOF when the child is gone: the grader reads both
    to their end, what was printed before the frame first, and the same round must not read a pipe
    it closed at EOF (this once crashed the reader, seconds lost per child)."""
    from types import SimpleNamespace

    from autograder.isolate.sandbox import Child

    outbox, inbox, stdout, stderr, control = (os.pipe() for _ in range(5))
    protocol.write_frame(outbox[1], b'{"value": 1}')
    os.write(stdout[1], b"printed\n")
    for fd in (outbox[1], inbox[0], stdout[1], stderr[1]):
        os.close(fd)
    protocol.write_frame(control[1], b"D" + json.dumps({"code": 0, "cpu_over": False, "too_many": False}).encode())
    with open(control[0], "rb", buffering=0) as reports, open(os.devnull, "wb") as commands:
        zygote = SimpleNamespace(stdout=reports, stdin=commands)
        child = Child(SimpleNamespace(limits=Limits(), _proc=zygote), [outbox[0], inbox[1], stdout[0], stderr[0]])
        events = [child.next_event() for _ in range(3)]
    assert [e.kind for e in events] == ["output", "message", "ended"]
    assert events[0].stdout == "printed\n" and events[1].data == b'{"value": 1}' and events[2].outcome == "finished"
    os.close(control[1])


def test_oversized_frame_is_a_protocol_violation(box: Sandbox, workdir: Path) -> None:
    result = run(box, workdir, "oversized_frame")
    assert result.outcome == "protocol"  # at once: waiting for the deadline would say "timeout"


# ---------------------------------------------------------------- cleanup and privileges


def processes_with(marker: str) -> list[int]:
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if marker.encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
                found.append(int(pid))
        except OSError:
            pass
    return found


def test_detached_processes_are_killed(box: Sandbox, workdir: Path) -> None:
    """A double-forked, setsid sleeper in the child's PID namespace dies with the run."""
    marker = f"sandbox-orphan-{uuid.uuid4().hex}"
    result = run(box, workdir, "orphan", {"file": "/scratch/ticks", "marker": marker})
    assert result.messages == [{"started": True}], result
    assert processes_with(marker) == []


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_a_confined_child_cannot_signal_the_zygote(workdir: Path) -> None:
    with Sandbox(Limits(timeout_s=5), preload=("numpy",)) as sandbox:
        result = run(sandbox, workdir, "kill_zygote", {"pid_file": "/scratch/pid"})
        assert result.outcome == "timeout"  # it slept on: its parent is out of its sight
        again = run(sandbox, workdir, "echo", {"still": "works"})
        assert again.outcome == "finished" and again.messages == [{"still": "works"}]


def test_unconfined_zygote_killed_by_the_child_is_replaced(workdir: Path) -> None:
    with Sandbox(Limits(timeout_s=5), preload=("numpy",), user=None, confined=False) as sandbox:
        assert not sandbox.confinement().confined
        result = run(sandbox, workdir, "kill_zygote", {"pid_file": str(workdir / "pid")})
        assert result.outcome != "finished" and "interrupted" in result.detail
        child = int((workdir / "pid").read_text())
        stop = time.monotonic() + 2
        while alive(child) and time.monotonic() < stop:  # it dies with the zygote, a moment later
            time.sleep(0.01)
        assert not alive(child)
        again = run(sandbox, workdir, "echo", {"still": "works"})
        assert again.outcome == "finished" and again.messages == [{"still": "works"}]


@pytest.mark.skipif(not IS_ROOT, reason="a uid of its own for the children only as root")
def test_a_dead_zygote_is_replaced_as_root_too(workdir: Path) -> None:
    """Replacing it looks for what the children of its uid left behind (that lookup once raised)."""
    import signal

    with Sandbox(Limits(timeout_s=5), preload=("numpy",)) as sandbox:
        assert run(sandbox, workdir, "echo", {"first": 1}).outcome == "finished"
        os.kill(sandbox._proc.pid, signal.SIGKILL)
        sandbox._proc.wait()
        again = run(sandbox, workdir, "echo", {"still": "works"})
        assert again.outcome == "finished" and again.messages == [{"still": "works"}]


@pytest.mark.skipif(not IS_ROOT, reason="the workdir is shared with the dropped user only as root")
def test_sharing_the_workdir_never_follows_links(box: Sandbox, workdir: Path) -> None:
    outside = scratch_dir(0o700)
    secret = outside / "secret"
    secret.write_text("answers")
    secret.chmod(0o600)
    (workdir / "symlink").symlink_to(secret)
    os.link(secret, workdir / "hardlink")
    (workdir / "sub").mkdir(mode=0o700)
    (workdir / "sub" / "file").write_text("x")
    try:
        assert run(box, workdir, "echo", 1).outcome == "finished"
        assert secret.stat().st_mode & 0o777 == 0o600
        assert (workdir / "sub").stat().st_mode & 0o777 == 0o755
        assert (workdir / "sub" / "file").stat().st_mode & 0o777 == 0o644
    finally:
        shutil.rmtree(outside)


@pytest.mark.skipif(not IS_ROOT, reason="dropping privileges needs root")
def test_child_runs_as_a_uid_of_its_own_and_sees_no_private_folder(box: Sandbox, workdir: Path) -> None:
    from autograder.isolate.sandbox import UID_RANGE

    private = scratch_dir(0o700)  # root-owned
    try:
        [got] = run(box, workdir, "identity", {"private_dir": str(private)}).messages
        assert got["euid"] in UID_RANGE and got["egid"] == got["euid"] and got["groups"] == []
        assert got["write_error"] == "FileNotFoundError"  # not even there in its view
        assert not (private / "intruder").exists()
        with Sandbox(preload=("numpy",)) as other:  # a concurrent sandbox: another uid
            [again] = run(other, workdir, "identity", {"private_dir": str(private)}).messages
            assert again["euid"] in UID_RANGE and again["euid"] != got["euid"]
    finally:
        shutil.rmtree(private)


def test_a_sandbox_closed_while_its_zygote_preloads_kills_it_instead_of_waiting_for_torch() -> None:
    sandbox = Sandbox(Limits())  # preloads numpy and torch: about a second
    zygote = sandbox._proc
    sandbox.close()
    assert zygote.returncode == -9  # killed; after its preload it would have read EOF and exited 0


def test_starting_a_sandbox_imports_no_numpy_until_a_message_needs_it() -> None:
    import subprocess
    import sys

    script = ("import sys; from autograder.isolate import protocol, sandbox; print('numpy' in sys.modules); "
              "protocol.decode(protocol.encode({'x': [1.5, 'a']})); print('numpy' in sys.modules); "
              "protocol.decode(protocol.encode(protocol.Rng(3))); print('numpy' in sys.modules)")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert proc.stdout.split() == ["False", "False", "True"], proc.stderr
