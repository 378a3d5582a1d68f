"""Confinement: student code reaches nothing but its own scratch folder, in every mode.

Each attack wraps a correct function: it raises (and so loses that function's points) only if
the attack got through, so full marks prove every defence held. Run as root (CI), the tests also
run the whole grader as an unprivileged user, where user namespaces give the same confinement.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import socket
import subprocess
import sys
import textwrap
import threading
import uuid
from pathlib import Path

import pytest

from autograder.course import COURSE
from autograder.isolate.run import Limits
from autograder.isolate.sandbox import UID_RANGE, confinement_here
from conftest import ROOT, SOLUTIONS, full_marks, scores_by_function

IS_ROOT = os.geteuid() == 0
pytestmark = pytest.mark.skipif(not confinement_here().confined, reason="no namespaces on this machine")


def wrap(folder: Path, module: str, function: str, attack: str) -> None:
    """Make `module.function` run `attack` (which raises if it got through) before its real work."""
    path = folder / f"{module}.py"
    body = textwrap.indent(textwrap.dedent(attack).strip(), "    ")
    real = f"_real_{function}_{uuid.uuid4().hex[:8]}"  # wrapping twice keeps both layers
    path.write_text(f"{path.read_text()}\n\n{real} = {function}\n\n\ndef {function}(*args, **kwargs):\n"
                    f"{body}\n    return {real}(*args, **kwargs)\n")


def attacker(tmp_path: Path, listener_port: int, secrets: dict[str, str]) -> Path:
    """The solutions with an attack before each of several functions' real work."""
    folder = tmp_path / "attacker"
    shutil.copytree(SOLUTIONS, folder)
    wrap(folder, "losses", "softmax", f"""
        import socket
        try:
            socket.create_connection(("127.0.0.1", {listener_port}), timeout=1).sendall(b"stolen inputs")
        except OSError:
            pass
        else:
            raise RuntimeError("the network is open")
    """)
    wrap(folder, "losses", "log_softmax", f"""
        for path in {sorted(secrets.values())!r}:
            try:
                open(path).read()
            except OSError:
                continue
            raise RuntimeError("read " + path)
    """)
    wrap(folder, "losses", "cross_entropy", f"""
        import os, site
        for path in [site.getsitepackages()[0] + "/evil.pth", {str(ROOT / "evil.txt")!r},
                     os.path.dirname(os.__file__) + "/evil.py", "/submission/evil.py", "/evil.txt"]:
            try:
                open(path, "w").write("import os; os.system('touch /tmp/pwned')")
            except OSError:
                continue
            raise RuntimeError("wrote " + path)
        open("/tmp/left-behind-{uuid.uuid4().hex}", "w").write("x" * 1000)  # the scratch folder: allowed
    """)
    wrap(folder, "losses", "square_loss", f"""
        import os, signal
        mine = [p for p in os.listdir("/proc") if p.isdigit()]
        if len(mine) > 8:
            raise RuntimeError("sees %d processes" % len(mine))
        for pid in ({os.getpid()}, {os.getppid()}):
            try:
                os.kill(pid, 0)
            except OSError:
                continue
            raise RuntimeError("can signal " + str(pid))
    """)
    graded = sorted(f.name for f in COURSE.functions)
    wrap(folder, "backprop", "tiny_forward", f"""
        import gc, sys, types
        for name in list(sys.modules):
            if name.startswith("autograder") and name.endswith((".reference", ".mistakes", ".hidden")):
                raise RuntimeError("found " + name)
        for thing in gc.get_objects():  # a graded function's implementation that is not the student's
            if (isinstance(thing, types.FunctionType) and thing.__name__ in {graded!r}
                    and thing.__module__ not in {list(COURSE.modules)!r} and not thing.__module__.endswith("harness")):
                raise RuntimeError("found " + thing.__module__ + "." + thing.__name__)
    """)
    wrap(folder, "backprop", "tiny_backward", """
        status = open("/proc/self/status").read()
        caps = [line.split()[1] for line in status.splitlines() if line.startswith(("CapEff", "CapPrm"))]
        if any(int(c, 16) for c in caps) or "NoNewPrivs:\\t1" not in status:
            raise RuntimeError("has privileges: " + " ".join(caps))
    """)
    wrap(folder, "sgd", "sgd_step", """
        import os, time
        while True:  # a fork bomb, stopped by the process limit
            if os.fork() == 0:
                time.sleep(30)
    """)
    return folder


@pytest.fixture
def listener():
    """A TCP listener on the grader's loopback, recording anything that connects."""
    server = socket.create_server(("127.0.0.1", 0))
    got: list[bytes] = []

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                connection, _ = server.accept()
                got.append(connection.recv(100))
            except OSError:
                continue

    stop = threading.Event()
    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1], got
    stop.set()
    thread.join()
    server.close()


def planted_secrets(tmp_path: Path) -> dict[str, str]:
    """Files student code must never read: the grader's hidden checks, the project's venv, a
    private key in a home folder, another student's submission."""
    home = tmp_path / "home" / ".ssh"
    home.mkdir(parents=True)
    (home / "id_rsa").write_text("-----BEGIN KEY-----")
    other = tmp_path / "other-student"
    other.mkdir()
    (other / "losses.py").write_text("# another student's work")
    return {"hidden": str(ROOT / "autograder" / "course" / "hidden" / "losses.py"),
            "venv": str(Path(sys.prefix) / "pyvenv.cfg"), "key": str(home / "id_rsa"),
            "other": str(other / "losses.py"), "shadow": "/etc/shadow", "grader": f"/proc/{os.getpid()}/environ"}


def test_every_defence_holds_in_one_graded_submission(grade_folder, tmp_path, listener):
    port, received = listener
    before = set(os.listdir("/tmp"))
    report = grade_folder(attacker(tmp_path, port, planted_secrets(tmp_path)))
    scores = scores_by_function(report)
    bomb = "sgd.sgd_step"
    assert scores == {**full_marks(), bomb: 0}, [r.feedback for r in report.results if r.status != "passed"][:3]
    assert {r.status for r in report.results if r.function == bomb} <= {"crashed", "timed out"}
    assert any("too many processes" in r.feedback for r in report.results if r.function == bomb)
    assert received == []  # nothing reached the listener
    assert not [n for n in set(os.listdir("/tmp")) - before if n.startswith("left-behind")]  # scratch is gone
    assert not (ROOT / "evil.txt").exists()


def test_the_scratch_folder_is_size_limited(grade_folder, tmp_path):
    folder = tmp_path / "filler"
    shutil.copytree(SOLUTIONS, folder)
    wrap(folder, "losses", "square_loss", """
        block = b"x" * 2**20
        try:
            with open("/scratch/big", "wb") as file:
                for _ in range(200):
                    file.write(block)
        except OSError:
            pass
        else:
            raise RuntimeError("wrote 200 MiB")
    """)
    assert scores_by_function(grade_folder(folder)) == full_marks()


@pytest.mark.skipif(not IS_ROOT, reason="root only: as root, the run's uid must be its own")
def test_as_root_student_code_runs_as_a_uid_of_its_own(grade_folder, tmp_path):
    folder = tmp_path / "whoami"
    shutil.copytree(SOLUTIONS, folder)
    wrap(folder, "losses", "square_loss", f"""
        import os
        if os.getuid() not in range({UID_RANGE.start}, {UID_RANGE.stop}) or os.getgroups():
            raise RuntimeError("runs as " + str(os.getuid()))
    """)
    assert scores_by_function(grade_folder(folder)) == full_marks()


def test_the_zygote_ignores_user_site_packages_and_home():
    """Root with a Python whose user site is on (a system Python): a file planted under HOME's
    .local is never imported by the fork server, which runs `python -I` with a HOME of its own."""
    from autograder.isolate.sandbox import _ZYGOTE_ARGS, _scrubbed_env

    python = shutil.which("python3.11", path="/usr/bin") or "/usr/bin/python3"
    if not os.path.exists(python):
        pytest.skip("no system Python to try")
    planted = Path("/tmp") / f"home-{uuid.uuid4().hex}"
    site_dir = planted / ".local" / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
    site_dir.mkdir(parents=True)
    marker = planted / "ran"
    (site_dir / "evil.pth").write_text(f"import os; open({str(marker)!r}, 'w').close()\n")
    try:
        env = {**_scrubbed_env()}
        assert env["HOME"] == "/nonexistent"
        code = "import site, sys; print(site.ENABLE_USER_SITE, sys.flags.isolated)"
        done = subprocess.run([python, *_ZYGOTE_ARGS[:1], "-c", code], env={**env, "HOME": str(planted)},
                              capture_output=True, text=True, timeout=60)
        assert done.stdout.split() == ["False", "1"] and not marker.exists()
    finally:
        shutil.rmtree(planted)


# ---------------------------------------------------------------- the whole grader, unprivileged

STUDENT_USER = "nlm-ci-student"


@pytest.fixture
def unprivileged(tmp_path):
    """A fresh unprivileged account that can run this project's Python (CI runs as root)."""
    if not IS_ROOT:
        pytest.skip("creating an account needs root; as a normal user every run is already unprivileged")
    subprocess.run(["useradd", "--create-home", STUDENT_USER], capture_output=True)
    account = pwd.getpwnam(STUDENT_USER)
    # The Python, the venv and this checkout must be reachable: e.g. /root for a pyenv Python, a
    # clone in a `mktemp -d` folder (0700). Only traversal is opened, for the test's length.
    ancestors = {p for where in (sys.base_prefix, sys.prefix, ROOT) for p in Path(where).resolve().parents}
    opened = sorted(p for p in ancestors if p != Path("/") and not p.stat().st_mode & 0o001)
    for path in opened:
        os.chmod(path, path.stat().st_mode | 0o001)
    work = Path(f"/tmp/nlm-unprivileged-{uuid.uuid4().hex}")
    work.mkdir()
    os.chown(work, account.pw_uid, account.pw_gid)
    try:
        yield account, work
    finally:
        for path in opened:
            os.chmod(path, path.stat().st_mode & ~0o001)
        shutil.rmtree(work, ignore_errors=True)
        subprocess.run(["userdel", "--remove", STUDENT_USER], capture_output=True)


def as_user(account: pwd.struct_passwd, *command: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {"PATH": os.environ.get("PATH", os.defpath), "HOME": account.pw_dir, "LANG": "C.UTF-8"}
    return subprocess.run(["setpriv", f"--reuid={account.pw_uid}", f"--regid={account.pw_gid}",
                           "--init-groups", "--", *command], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=600)


BUSY_INSTRUCTOR = """
import runpy, sys, threading
stop = threading.Event()
for _ in range(2 * {limit}):  # the instructor's uid runs more threads than a run may have
    threading.Thread(target=stop.wait, daemon=True).start()
sys.argv = ["autograder", "grade", {solutions!r}, "--results", {results!r}, "--require-confinement"]
runpy.run_module("autograder", run_name="__main__")
"""


def test_the_process_limit_counts_the_runs_processes_not_the_instructors(unprivileged):
    """RLIMIT_NPROC counts a uid's processes and threads; set before the run's user namespace, it
    would count the instructor's too, and the run could not fork while the grader is busy."""
    account, work = unprivileged
    script = work / "busy.py"
    script.write_text(BUSY_INSTRUCTOR.format(limit=Limits().processes, solutions=str(SOLUTIONS),
                                             results=str(work / "results.json")))
    os.chown(script, account.pw_uid, account.pw_gid)
    done = as_user(account, sys.executable, str(script), cwd=ROOT)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    results = json.loads((work / "results.json").read_text())
    assert results["score"] == COURSE.max_score + COURSE.bonus_score, \
        [t["output"][-500:] for t in results["tests"] if t["score"] < t["max_score"]][:3]


def test_grade_all_as_an_unprivileged_user_is_confined_too(unprivileged, listener):
    account, work = unprivileged
    port, received = listener
    home = Path(account.pw_dir)
    (home / ".ssh").mkdir(exist_ok=True)
    (home / ".ssh" / "id_rsa").write_text("-----BEGIN KEY-----")
    (home / ".bashrc").write_text("# the instructor's shell\n")
    secrets = {"key": str(home / ".ssh" / "id_rsa"), "hidden": str(ROOT / "autograder" / "course" / "hidden" / "losses.py")}
    submissions = work / "submissions"
    submissions.mkdir()
    attack = attacker(work, port, secrets)
    shutil.move(str(attack), submissions / "mallory")
    wrap(submissions / "mallory", "losses", "square_loss", f"""
        for path in [{str(home / ".bashrc")!r}, {str(work / "reports" / "gradebook.csv")!r}]:
            try:
                open(path, "a").write("rm -rf ~")
            except OSError:
                continue
            raise RuntimeError("appended to " + path)
    """)
    shutil.copytree(SOLUTIONS, submissions / "alice")
    for path in [work, *work.rglob("*")]:
        os.chown(path, account.pw_uid, account.pw_gid)
    done = as_user(account, sys.executable, "-m", "autograder", "grade-all", str(submissions), "--out",
                   str(work / "reports"), "--jobs", "2", "--timeout", "3", "--require-confinement", cwd=ROOT)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    book = {r["student_id"]: r for r in __import__("csv").DictReader(open(work / "reports" / "gradebook.csv"))}
    full = COURSE.max_score + COURSE.bonus_score
    alice = (work / "reports" / "students" / "alice" / "feedback.md").read_text()
    assert float(book["alice"]["total"]) == full, alice[-3000:]
    bomb = COURSE.function("sgd_step")
    feedback = (work / "reports" / "students" / "mallory" / "feedback.md").read_text()
    assert float(book["mallory"]["total"]) == full - bomb.points, feedback[-3000:]
    assert (home / ".bashrc").read_text() == "# the instructor's shell\n" and received == []
    assert "BEGIN KEY" not in feedback


@pytest.mark.skipif(not IS_ROOT, reason="root only: concurrent workers as distinct uids")
def test_concurrent_root_grade_all_keeps_an_attacker_away_from_honest_students(tmp_path):
    submissions = tmp_path / "submissions"
    markers = {}
    for name in ("ann", "ben", "cat"):
        shutil.copytree(SOLUTIONS, submissions / name)
        markers[name] = f"secret-of-{name}-{uuid.uuid4().hex}"
        with open(submissions / name / "losses.py", "a") as file:
            file.write(f"\n# {markers[name]}\n")
    shutil.copytree(SOLUTIONS, submissions / "zed")
    wrap(submissions / "zed", "losses", "square_loss", """
        import glob, os, signal, time
        found = []
        for _ in range(20):  # while the others are being graded beside it
            try:
                os.kill(-1, signal.SIGKILL)
            except OSError:
                pass
            for path in glob.glob("/tmp/**/*.py", recursive=True) + glob.glob("/proc/*/cmdline"):
                try:
                    found.append(path + ":" + open(path, errors="replace").read()[:200])
                except OSError:
                    pass
            time.sleep(0.05)
        raise RuntimeError("found: " + " | ".join(found)[:3000])
    """)
    reports = tmp_path / "reports"
    done = subprocess.run([sys.executable, "-m", "autograder", "grade-all", str(submissions), "--out", str(reports),
                           "--jobs", "2", "--timeout", "5", "--require-confinement"], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    book = {r["student_id"]: r for r in __import__("csv").DictReader(open(reports / "gradebook.csv"))}
    full = COURSE.max_score + COURSE.bonus_score
    assert {n: float(book[n]["total"]) for n in markers} == {n: full for n in markers}
    stolen = (reports / "students" / "zed" / "feedback.md").read_text()
    assert "found: " in stolen  # its channel works, and carries nothing of the others
    assert not [m for m in markers.values() if m in stolen] and "ann" not in stolen and "grade-all" not in stolen


FRAME = "import os, struct\ndef frame(payload): os.write(3, struct.pack('>Q', len(payload)) + payload)\n"


def test_a_forged_frame_costs_only_the_function_that_sent_it(grade_folder, tmp_path):
    folder = tmp_path / "forger"
    shutil.copytree(SOLUTIONS, folder)
    with open(folder / "losses.py", "a") as file:
        file.write("\n" + FRAME)
    wrap(folder, "losses", "softmax", """
        frame(b'{"error": 1.5, "message": "forged", "i": 2.5}')
    """)
    report = grade_folder(folder)
    softmax = COURSE.function("softmax")
    assert scores_by_function(report) == {**full_marks(), softmax.qualname: 0}
    assert {r.status for r in report.results if r.function == softmax.qualname} == {"crashed"}


def test_huge_frames_keep_the_graders_memory_bounded(tmp_path):
    """Four 30 MB frames once made the grader grow by gigabytes: now a frame over the step's limit
    is refused at its header, before any of it is read."""
    folder = tmp_path / "flooder"
    shutil.copytree(SOLUTIONS, folder)
    with open(folder / "losses.py", "a") as file:
        file.write("\n" + FRAME)
    wrap(folder, "losses", "softmax", """
        for _ in range(4):
            frame(b'{"value": "' + b"x" * (30 * 2**20) + b'"}')
    """)
    code = ("import resource, sys; from autograder.cli import main; main(['grade', sys.argv[1], '--results', "
            "sys.argv[2]]); print('PEAK', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)")
    done = subprocess.run([sys.executable, "-c", code, str(folder), str(tmp_path / "r.json")], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    peak_mib = int(done.stdout.rsplit("PEAK", 1)[1]) / 1024
    results = json.loads((tmp_path / "r.json").read_text())
    lost = sum(t["max_score"] - t["score"] for t in results["tests"])
    assert lost == COURSE.function("softmax").points
    assert peak_mib < 1024, f"the grader peaked at {peak_mib:.0f} MiB"  # torch alone is ~400


TMP_VIEW_PROBE = """
import os
report = {}
def attempt(what, path):
    try:
        with open(path, "w") as f:
            f.write("x")
        report[what] = "written"
    except OSError as error:
        report[what] = type(error).__name__
attempt("tmp", "/tmp/note")
report["tmp is scratch"] = os.path.exists("/scratch/note")
report["read"] = open(READABLE + "/module.py").read()
attempt("bound folder", READABLE + "/planted.py")
attempt("folder leading to it", os.path.dirname(READABLE) + "/planted.pth")
attempt("its top folder under /tmp", "/tmp/" + READABLE.split("/")[2] + "/planted")
"""


def test_tmp_is_the_scratch_even_when_a_readable_path_lives_under_tmp(tmp_path):
    """A grader installed under /tmp (a clone in `mktemp -d`, a venv there): /tmp is still the
    run's scratch, and nothing on the way to the bound path is writable."""
    from autograder.isolate import confine

    top = Path(f"/tmp/nlm-view-{uuid.uuid4().hex}")
    readable = top / "p" / ".venv" / "site-packages"
    readable.mkdir(parents=True)
    (readable / "module.py").write_text("print('hi')")
    for path in (top, top / "p", top / "p" / ".venv", readable):
        path.chmod(0o755)
    (readable / "module.py").chmod(0o644)
    submission = tmp_path / "submission"
    submission.mkdir(mode=0o755)
    view = confine.View(str(submission), readable=(str(readable),), ids=(65534, 65534) if IS_ROOT else None)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        try:
            confine.enter(view)
            scope = {"READABLE": str(readable)}
            exec(TMP_VIEW_PROBE, scope)
            os.write(write, json.dumps(scope["report"]).encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        said = pipe.read()
    os.waitpid(pid, 0)
    try:
        report = json.loads(said)
        assert report == {"tmp": "written", "tmp is scratch": True, "read": "print('hi')", "bound folder": "OSError",
                          "folder leading to it": "OSError", "its top folder under /tmp": "OSError"}, report
        assert sorted(p.name for p in readable.iterdir()) == ["module.py"] and not Path("/tmp/note").exists()
    finally:
        shutil.rmtree(top)
