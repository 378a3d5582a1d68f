"""`make gradescope-check`: the Gradescope bundle in a fresh Debian image, built and run the way
Gradescope builds and runs it. Opt-in (not in CI): it needs root, debootstrap and the network to
the distribution's archive and PyPI, and takes a few minutes.

1. debootstrap a minimal root file system: Debian bookworm (python3 3.11, the default) or trixie
   (3.13) with python3, python3-pip and python3-venv, or Ubuntu jammy (22.04, 3.10: Gradescope's
   default image) or noble (24.04, 3.12) with python3 and python3-pip only, so that setup.sh
   installs python3-venv itself; the downloaded packages are cached, the file system is new
   every time;
2. unzip the bundle into its /autograder/source and run setup.sh there as root (Gradescope's
   image build), then run_autograder once per submission: the solutions (full marks), the stubs
   (0) and a hostile submission (0, and nothing it tries works). Each command runs in a mount and
   PID namespace of its own whose root is the image (pivot_root, as a container's root is, so the
   sandbox can make namespaces of its own; a plain chroot would forbid that), with the host's
   network, DNS and CA bundle (a proxy may stand between this machine and PyPI);
3. torch: the CPU index may be unreachable from here, and PyPI's default torch is the CUDA build
   (gigabytes), so the image is given a torch wheel for its Python (--torch-wheel, default: the
   one in pip's find-links, as pip takes it here) through PIP_FIND_LINKS; setup.sh still tries the
   CPU index first and falls back to the default index, which then finds the wheel. With no wheel
   for the image's Python (here: only 3.11 has one), the check is partial: setup.sh runs without
   its torch step, and its self-test is replaced by an import of everything but torch; no
   submission is graded;
4. prints the image build time (setup.sh) and each submission's time, and exits 1 on any failure.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

from autograder.build.bundle import makefile_torch_spec
from autograder.check import load_checks
from autograder.registry import Course, load_course

REPO = Path(__file__).resolve().parent.parent

DEBIAN, UBUNTU = "http://deb.debian.org/debian", "http://archive.ubuntu.com/ubuntu"
WITH_VENV, WITHOUT_VENV = "python3,python3-pip,python3-venv,ca-certificates", "python3,python3-pip,ca-certificates"
SUITES = {  # suite: (archive, packages, components)
    "bookworm": (DEBIAN, WITH_VENV, "main"), "trixie": (DEBIAN, WITH_VENV, "main"),
    "jammy": (UBUNTU, WITHOUT_VENV, "main,universe"), "noble": (UBUNTU, WITHOUT_VENV, "main,universe"),
}
UBUNTU_KEYRING = Path("/usr/share/keyrings/ubuntu-archive-keyring.gpg")
SCRIPTS = Path("/usr/share/debootstrap/scripts")
CACHE = Path("/var/cache/nlm-gradescope-check")
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
HOSTILE_WORDS = ("HACKED", "HAUNTED")

# Run "$@" as root in a mount and PID namespace whose root file system is "$1" (pivot_root).
ENTER = r"""
set -euo pipefail
R="$1"; shift
mount --make-rprivate /
mount --bind "$R" "$R"
mount --rbind /dev "$R/dev"
mount --rbind /sys "$R/sys"
cd "$R"
mkdir -p .host
pivot_root . .host
cd /
mount -t proc proc /proc
umount -l /.host
rmdir /.host
env -i PATH="$ENTER_PATH" HOME=/root LANG=C.UTF-8 ${ENTER_ENV:-} "$@"
"""

# One submission, as Gradescope runs it: /autograder/run_autograder, its own time, and 1 s more
# before the namespace ends, for anything left behind to overwrite the results if it can.
RUN = r"""
start=$(date +%s%N)
/autograder/run_autograder
rc=$?
echo "$(( $(date +%s%N) - start ))" > /autograder/.elapsed-ns
sleep 1
exit $rc
"""

# Imported as the first part module: everything a student might try, reported through the
# first graded function's feedback (the one channel a submission has).
HOSTILE = r'''
import json, os, time

def _try(what, action):
    try:
        action()
        return f"{what}: done"
    except Exception as error:
        return f"{what}: {type(error).__name__}"

def _fake_results():
    with open("/autograder/results/results.json", "w") as f:
        json.dump({"score": 1000.0, "output": "HACKED", "tests": []}, f)

def _haunt():  # a detached process that keeps overwriting the results for 30 s
    if os.fork():
        return
    os.setsid()
    if os.fork():
        os._exit(0)
    stop = time.time() + 30
    while time.time() < stop:
        try:
            with open("/autograder/results/results.json", "w") as f:
                json.dump({"score": 1000.0, "output": "HAUNTED", "tests": []}, f)
        except Exception:
            pass
        time.sleep(0.1)
    os._exit(0)

try:
    _haunt()
except Exception:
    pass

_REPORT = "; ".join([
    _try("read-source", lambda: open("/autograder/source/setup.sh").read()),
    _try("list-source", lambda: os.listdir("/autograder/source")),
    _try("write-source", lambda: open("/autograder/source/run_autograder", "a").write("exit 0\n")),
    _try("write-results", _fake_results),
    _try("read-metadata", lambda: open("/autograder/submission_metadata.json").read()),
])

def {function}(*args, **kwargs):
    raise RuntimeError("REPORT " + _REPORT)
'''
METADATA = {"id": 1, "users": [{"email": "ada@example.com", "id": 7, "name": "Ada Lovelace"}],
            "previous_submissions": []}


@dataclass
class Outcome:
    name: str
    seconds: float
    results: dict
    problems: list[str]


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    rootfs = args.work.resolve() / "rootfs"
    try:
        problems, partial = check(rootfs, args, load_course())
    finally:
        if not args.keep:
            remove(rootfs)
    for problem in problems:
        print(f"gradescope-check: FAILED: {problem}")
    verdict = "FAILED" if problems else "passed" + (" (partial: no torch, nothing graded)" if partial else "")
    print(f"gradescope-check: {verdict}")
    return 1 if problems else 0


def check(rootfs: Path, args: argparse.Namespace, course: Course) -> tuple[list[str], bool]:
    """Build the image, set it up, grade the submissions: (problems, whether the check was partial)."""
    seconds_bootstrap = bootstrap(rootfs, args.suite, args.mirror)
    python = image_python(rootfs)
    wheel = args.torch_wheel or local_torch_wheel(python)
    print(f"gradescope-check: {args.suite} root file system in {seconds_bootstrap:.0f} s; python3 {python}; "
          f"torch wheel: {wheel or 'none for this Python here: a partial check, without torch'}")
    install_bundle(rootfs, args.zip, wheel)
    if wheel is None:
        without_torch(rootfs / "autograder" / "source")
    seconds_setup, setup_log = run_setup(rootfs, wheel)
    problems = setup_problems(setup_log, seconds_setup, "self-test: passed" if wheel else "imports without torch")
    outcomes = [] if problems or wheel is None else [run_submission(rootfs, name, files, course)
                                                     for name, files in submissions(course)]
    report(args.suite, python, seconds_bootstrap, seconds_setup, setup_log, outcomes)
    return problems + [f"{o.name}: {p}" for o in outcomes for p in o.problems], wheel is None


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("zip", type=Path, help="the bundle (make gradescope)")
    parser.add_argument("--suite", default="bookworm", choices=sorted(SUITES),
                        help="the distribution to debootstrap (default bookworm)")
    parser.add_argument("--mirror", help="its archive (default: Debian's or Ubuntu's)")
    parser.add_argument("--torch-wheel", type=Path, help="a torch wheel for the image's Python "
                        "(default: the one in pip's find-links, if any)")
    parser.add_argument("--work", type=Path, default=Path("/var/tmp/nlm-gradescope-check"),
                        help="where the root file system is made (removed afterwards)")
    parser.add_argument("--keep", action="store_true", help="keep the root file system")
    return parser.parse_args(argv)


def bootstrap(rootfs: Path, suite: str, mirror: str | None) -> float:
    """A new minimal root file system of `suite` (SUITES) with python3 and pip; its seconds."""
    if os.geteuid() != 0 or not shutil.which("debootstrap"):
        raise SystemExit("gradescope-check: needs root and debootstrap (apt-get install debootstrap)")
    archive, packages, components = SUITES[suite]
    options = [f"--include={packages}", f"--components={components}", f"--cache-dir={CACHE / suite}"]
    if archive == UBUNTU and not UBUNTU_KEYRING.is_file():  # Debian has no package of Ubuntu's keys
        print(f"gradescope-check: {UBUNTU_KEYRING} is missing: the {suite} archive's signatures are not checked")
        options.append("--no-check-gpg")
    remove(rootfs)
    rootfs.parent.mkdir(parents=True, exist_ok=True)
    (CACHE / suite).mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    script = SCRIPTS / suite if (SCRIPTS / suite).exists() else SCRIPTS / "gutsy"  # Ubuntu's, newer than debootstrap
    subprocess.run(["debootstrap", "--variant=minbase", *options, suite, str(rootfs), mirror or archive, str(script)],
                   check=True, stdout=subprocess.DEVNULL)
    return time.monotonic() - start


def image_python(rootfs: Path) -> str:
    """X.Y of the image's python3, from its standard library's folder name."""
    found = [m.group(1) for p in (rootfs / "usr" / "lib").glob("python3.*")
             if (m := re.fullmatch(r"python(3\.\d+)", p.name)) and (p / "os.py").is_file()]
    if len(found) != 1:
        raise SystemExit(f"gradescope-check: cannot tell the image's python3 ({found})")
    return found[0]


def local_torch_wheel(python: str) -> Path | None:
    """The torch wheel of TORCH_SPEC's version for `python` in pip's find-links, or None."""
    version = makefile_torch_spec().split("==")[1]
    configured = subprocess.run([sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True).stdout
    folders = re.findall(r"find-links='([^']*)'", configured) + [os.environ.get("PIP_FIND_LINKS", "")]
    tag = "cp" + python.replace(".", "")
    for folder in (Path(f) for entry in folders for f in entry.split() if f):
        for wheel in sorted(folder.glob(f"torch-{version}*-{tag}-{tag}-*.whl")):
            return wheel
    return None


def without_torch(source: Path) -> None:
    """The partial check's setup.sh: no torch (nor its pin), and an import of all but torch as
    its last step instead of the self-test (which grades, so needs torch)."""
    setup = (source / "setup.sh").read_text()
    last_step = setup.index("# Fail the image build now")
    if "\ninstall_torch\n" not in setup:
        raise SystemExit("gradescope-check: setup.sh no longer has an install_torch step")
    setup = setup[:last_step].replace("\ninstall_torch\n", '\nsay "gradescope-check: torch skipped"\n') + (
        'cd "$SOURCE"\n"$PY" -c "import sys, autograder.gradescope, nbformat, jsonschema, numpy; '
        'from autograder.registry import load_course; from autograder.check import load_checks; '
        "print('setup.sh: imports without torch:', len(load_checks(load_course())), 'checks, Python', "
        'sys.version.split()[0], \'numpy\', numpy.__version__)"\n')
    (source / "setup.sh").write_text(setup)
    requirements = (source / "requirements.txt").read_text().splitlines()
    (source / "requirements.txt").write_text("".join(f"{r}\n" for r in requirements if not r.startswith("torch==")))


def install_bundle(rootfs: Path, bundle: Path, wheel: Path | None) -> None:
    """Unzip the bundle into /autograder/source (modes kept), give the image the host's network
    settings and CA bundle, and the torch wheel."""
    source = rootfs / "autograder" / "source"
    source.mkdir(parents=True)
    with zipfile.ZipFile(bundle) as archive:
        for info in archive.infolist():
            target = source / info.filename
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(archive.read(info))
            target.chmod((info.external_attr >> 16) & 0o777)
    shutil.copy2(source / "run_autograder", rootfs / "autograder" / "run_autograder")
    shutil.copy2("/etc/resolv.conf", rootfs / "etc" / "resolv.conf")
    shutil.copy2("/etc/ssl/certs/ca-certificates.crt", rootfs / "host-ca.crt")
    if wheel is not None:
        (rootfs / "wheels").mkdir()
        shutil.copy2(wheel, rootfs / "wheels" / wheel.name)


def inside(rootfs: Path, command: list[str], env: dict[str, str], timeout: float) -> subprocess.CompletedProcess:
    """`command` as root in the image (its own mount and PID namespace), with `env` only; its
    output and errors together in `stdout`."""
    environment = {"ENTER_PATH": PATH, "ENTER_ENV": " ".join(f"{k}={v}" for k, v in env.items()), "PATH": PATH}
    return subprocess.run(["unshare", "--mount", "--pid", "--fork", "bash", "-c", ENTER, "enter", str(rootfs),
                           *command], env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=timeout)


def run_setup(rootfs: Path, wheel: Path | None) -> tuple[float, str]:
    """setup.sh, as Gradescope runs it while building the image: its seconds and its log."""
    env = {"PIP_CERT": "/host-ca.crt"} | ({"PIP_FIND_LINKS": "/wheels"} if wheel else {})
    start = time.monotonic()
    done = inside(rootfs, ["bash", "/autograder/source/setup.sh"], env, timeout=3600)
    seconds = time.monotonic() - start
    log = done.stdout + f"\n[setup.sh exit code {done.returncode}]\n"
    (rootfs.parent / "setup.log").write_text(log)
    return seconds, log


def setup_problems(log: str, seconds: float, success: str) -> list[str]:
    """setup.sh's own lines and the end of its log; what went wrong."""
    lines = log.splitlines()
    print(f"gradescope-check: setup.sh took {seconds:.0f} s (whole log: setup.log beside the root file system):\n"
          + indent("\n".join([line for line in lines[:-12] if line.startswith("setup.sh:")] + lines[-12:])))
    if "[setup.sh exit code 0]" not in log:
        return ["setup.sh failed (the image build would fail)"]
    if success not in log:
        return [f"setup.sh passed without saying {success!r}"]
    return []


def submissions(course: Course) -> list[tuple[str, dict[str, str]]]:
    """(name, {file: text}): the solutions, the stubs and a hostile submission."""
    def folder(name: str) -> dict[str, str]:
        return {f"{m}.py": (REPO / name / f"{m}.py").read_text() for m in course.modules}

    first = course.functions[0]
    return [("solutions", folder("solutions")), ("stubs", folder("assignment")),
            ("hostile", {f"{first.module}.py": HOSTILE.replace("{function}", first.name)})]


def run_submission(rootfs: Path, name: str, files: dict[str, str], course: Course) -> Outcome:
    """run_autograder on `files` in a fresh /autograder/submission, and what is wrong with its results."""
    root = rootfs / "autograder"
    for folder in ("submission", "results"):
        shutil.rmtree(root / folder, ignore_errors=True)
        (root / folder).mkdir()
    for file, text in files.items():
        (root / "submission" / file).write_text(text)
    (root / "submission_metadata.json").write_text(json.dumps(METADATA))
    done = inside(rootfs, ["bash", "-c", RUN], {}, timeout=600)
    seconds = int((root / ".elapsed-ns").read_text()) / 1e9
    text = (root / "results" / "results.json").read_text()
    results = json.loads(text)
    return Outcome(name, seconds, results, result_problems(name, done, text, results, course))


def result_problems(name: str, done: subprocess.CompletedProcess, text: str, results: dict, course: Course) -> list[str]:
    import jsonschema

    from autograder.report.gradescope import schema

    expected = {"solutions": course.max_score + course.bonus_score}.get(name, 0)
    problems = [] if done.returncode == 0 else [f"run_autograder exited {done.returncode}: {done.stdout[-500:]}"]
    try:
        jsonschema.validate(results, schema())
    except jsonschema.ValidationError as error:
        problems.append(f"results.json is invalid: {error.message}")
    if results.get("score") != expected:
        problems.append(f"score {results.get('score')}, expected {expected:g}")
    if len(results.get("tests", [])) != len(load_checks(course)):
        problems.append(f"{len(results.get('tests', []))} tests, expected {len(load_checks(course))}")
    problems += [f"a submission wrote the results ({word})" for word in HOSTILE_WORDS if word in text]
    if name == "hostile":
        problems += hostile_problems(results)
    return problems


def hostile_problems(results: dict) -> list[str]:
    """Every attempt the hostile submission reported must have been refused."""
    report = next((t["output"].split("REPORT ", 1)[1] for t in results.get("tests", []) if "REPORT " in t["output"]), "")
    attempts = [a.strip() for a in report.split(";") if a.strip()]
    if len(attempts) != 5:
        return [f"the hostile submission's report is missing: {report[:300]!r}"]
    return [f"the hostile submission could: {a}" for a in attempts if not a.endswith(("PermissionError", "OSError"))]


def report(suite: str, python: str, bootstrap_s: float, setup_s: float, setup_log: str, outcomes: list[Outcome]) -> None:
    ready = re.search(r"setup\.sh: (autograder ready|imports without torch): (.*)", setup_log)
    print(f"\ngradescope-check: {suite} (python3 {python}): root file system {bootstrap_s:.0f} s (debootstrap; "
          f"not part of Gradescope's build)")
    print(f"  image build (setup.sh): {setup_s:.0f} s; {ready.group(0) if ready else 'not ready'}")
    if "could not be reached" in setup_log:
        print("  (the CPU index could not be reached: setup.sh fell back to the default index)")
    for o in outcomes:
        print(f"  run_autograder {o.name:<9} {o.seconds:5.1f} s  score {o.results.get('score')}"
              + (f"  PROBLEMS: {'; '.join(o.problems)}" if o.problems else "  ok"))


def remove(rootfs: Path) -> None:
    """Delete a root file system, refusing while anything is mounted below it."""
    if not rootfs.exists():
        return
    mounts = [line.split()[4] for line in Path("/proc/self/mountinfo").read_text().splitlines()]
    if any(m == str(rootfs) or m.startswith(f"{rootfs}/") for m in mounts):
        raise SystemExit(f"gradescope-check: something is still mounted under {rootfs}; not removing it")
    subprocess.run(["rm", "-rf", "--one-file-system", str(rootfs)], check=True)


def indent(text: str) -> str:
    return "\n".join("    | " + line for line in text.splitlines())


if __name__ == "__main__":
    raise SystemExit(main())
