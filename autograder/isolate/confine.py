"""Confinement: each run of student code in namespaces of its own (Linux).

The zygote's forked child calls `enter()`, which

  1. unshares a mount, PID, network, IPC and UTS namespace, and, when not root, a user namespace
     too (unprivileged user namespaces: the same isolation without root);
  2. forks the process that runs the student's code: PID 1 of the new PID namespace, so it sees
     and can signal only its own descendants, and when it ends every one of them is killed;
  3. builds its mount view: an empty read-only root holding read-only binds of the system
     (/usr, /lib, /bin, ...), of the Python standard library and of the packages student code may
     import (and nothing else of site-packages), the submission's modules read-only at
     /submission, a size-limited tmpfs at /scratch (its only writable place: cwd, HOME, TMPDIR,
     /tmp), a minimal /dev and a /proc of its own; the grader's home, project, virtual
     environment, reports, cache and every other submission are absent;
  4. leaves the network namespace with only a loopback that is down;
  5. drops every capability (as root: to the run's unprivileged uid; in a user namespace: an
     empty capability set and bounding set) and sets no_new_privs.

Why unshare(2) directly rather than bubblewrap: bubblewrap execs a new program, and each child
would then import numpy and torch again (about 1.5 s); unsharing inside a fork of the preloaded
zygote keeps a child at a fork plus a few milliseconds of mounts (measured by `make bench`).

Where the kernel refuses (unprivileged user namespaces disabled), `probe()` says so and why; the
sandbox then runs unconfined and the grader says so, loudly.
"""

from __future__ import annotations

import ctypes
import os
import platform
import resource
import signal
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from autograder.isolate.run import Confinement

_LIBC = ctypes.CDLL(None, use_errno=True)

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x10000000, 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 0x1, 0x2, 0x4, 0x8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 0x20, 0x1000, 0x4000, 0x40000
MNT_DETACH = 0x2
PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS, PR_CAPBSET_DROP = 1, 38, 24
PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 47, 4
_SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41, "riscv64": 41, "armv7l": 218, "ppc64le": 203, "s390x": 217}
_CAPABILITY_VERSION_3 = 0x20080522

SCRATCH = "/scratch"
SUBMISSION = "/submission"
INNER_UID = INNER_GID = 1000  # who the student is inside a user namespace
# Where the new root is assembled: a tmpfs mounted over /sys in the new namespace only (never a
# source of the view, unlike /tmp, which holds the submission's copy).
_STAGE = "/sys"
_SYSTEM = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
_ETC = ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/localtime", "/etc/nsswitch.conf")
_DEVICES = ("null", "zero", "full", "random", "urandom")


@dataclass(frozen=True)
class View:
    """What a confined run sees, besides its own /scratch, /dev and /proc."""

    submission: str                           # the folder of part modules, read-only at /submission
    readable: tuple[str, ...] = ()            # read-only at their own paths
    scratch_bytes: int = 64 * 2**20
    ids: tuple[int, int] | None = None        # as root: the (uid, gid) student code runs as
    processes: int = 64                       # processes and threads it may have at once


class ConfinementError(OSError):
    """The kernel refused a step of the confinement."""


def python_paths(allowed: tuple[str, ...]) -> tuple[str, ...]:
    """The standard library's folders and, of site-packages, only the distributions of the
    allowed top-level packages (numpy, torch) and what they need: every other installed package,
    the grader itself among them, stays out of sight."""
    base = {"base": sys.base_prefix, "platbase": sys.base_exec_prefix, "installed_base": sys.base_prefix}
    paths = {sysconfig.get_path("stdlib", vars=base), sysconfig.get_path("platstdlib", vars=base),
             os.path.realpath(os.path.dirname(os.__file__))}
    for dist in _distributions(allowed):
        tops = _top_level(dist)
        for top in tops:
            if top in ("..", "__pycache__") or top.endswith((".dist-info", ".egg-info", ".pth")):
                continue
            paths.add(str(Path(dist.locate_file(top)).resolve()))
    return tuple(sorted(p for p in paths if os.path.exists(p)))


def _top_level(dist) -> set[str]:
    """The first path component of every file a distribution installed: read from its RECORD as
    text (dist.files makes a path object of each of torch's 20,000 files: 0.3 s)."""
    record = dist.read_text("RECORD")
    if record is None:
        return {file.parts[0] for file in dist.files or ()}
    return {line.split(",", 1)[0].split("/", 1)[0] for line in record.splitlines() if line}


def _distributions(names: tuple[str, ...]) -> list:
    """The installed distributions of `names` and, recursively, of what they require (extras
    left out; other markers taken as true: one folder too many is only read-only)."""
    import importlib.metadata as metadata
    import re

    seen, found, todo = set(), [], list(names)
    while todo:
        try:
            dist = metadata.distribution(todo.pop())
        except metadata.PackageNotFoundError:
            continue
        if dist.metadata["Name"].lower() in seen:
            continue
        seen.add(dist.metadata["Name"].lower())
        found.append(dist)
        todo += [re.match(r"[A-Za-z0-9._-]+", r).group() for r in dist.requires or () if "extra ==" not in r]
    return found


def probe(view: View) -> Confinement:
    """Try the whole confinement once in a throwaway child: what every run here will get."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        try:
            enter(view)
            os.write(write, b"ok" if _looks_confined() else b"the mount view is not as built")
        except BaseException as error:  # noqa: BLE001 - the reason is the report
            os.write(write, f"{type(error).__name__}: {error}".encode()[:500])
        os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        said = pipe.read().decode(errors="replace")
    os.waitpid(pid, 0)
    mode = "root" if os.geteuid() == 0 else "user namespace"
    return Confinement(True, mode=mode) if said == "ok" else Confinement(False, said or "the confined child died")


def _looks_confined() -> bool:
    """PID 1, in /scratch, the root read-only: what enter() promises."""
    try:
        open("/probe", "w").close()
        return False
    except OSError:
        return os.getpid() == 1 and os.getcwd() == SCRATCH and os.path.isdir(SUBMISSION)


def enter(view: View) -> None:
    """Confine the calling process (a forked child, single-threaded). Returns in the process that
    runs student code: PID 1 of a new PID namespace, in its mount view, with no privileges. The
    caller's process stays behind as that process's parent, waits for it and exits as it did."""
    uid, gid = os.getuid(), os.getgid()
    as_root = os.geteuid() == 0
    flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS
    _check(_LIBC.unshare(flags | (0 if as_root else CLONE_NEWUSER)), "unshare")
    # Only now: set before a user namespace, the limit would count every process of the
    # instructor's uid (the grader, its workers, their threads) and a run could not even fork.
    resource.setrlimit(resource.RLIMIT_NPROC, (view.processes,) * 2)
    if not as_root:
        _write("/proc/self/setgroups", "deny")
        _write("/proc/self/uid_map", f"{INNER_UID} {uid} 1")
        _write("/proc/self/gid_map", f"{INNER_GID} {gid} 1")
    pid = os.fork()
    if pid:
        _wait_as_parent(pid)
    _check(_LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "prctl")
    os.setsid()  # a session (and process group) of its own inside the namespace
    _build_view(view)
    _drop_privileges(view.ids if as_root else None)


def _wait_as_parent(pid: int) -> NoReturn:
    """The process left outside the new PID namespace: end as the confined one ends."""
    try:
        _, status = os.waitpid(pid, 0)
    except BaseException:  # noqa: BLE001
        os._exit(1)
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        signal.signal(sig, signal.SIG_DFL)
        os.kill(os.getpid(), sig)
    os._exit(os.waitstatus_to_exitcode(status) & 0xFF)


def _build_view(view: View) -> None:
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    root = _STAGE
    mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=0755")
    for path in _SYSTEM:
        _bind_system(root, path)
    for path in _ETC:
        if os.path.isfile(path):
            _bind(root, path, path)
    _write_accounts(root, view)
    scratch = root + SCRATCH
    os.mkdir(scratch)
    owner = view.ids or (INNER_UID, INNER_GID)
    mount("tmpfs", scratch, "tmpfs", MS_NOSUID | MS_NODEV,
          f"size={view.scratch_bytes},mode=0700,uid={owner[0]},gid={owner[1]}")
    holders = _scratch_at_tmp(root, view)
    for path in view.readable:
        _bind(root, path, path)
    for holder in holders:  # (no folder leading to a bound path is writable)
        mount(None, holder, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
    _bind(root, view.submission, SUBMISSION)
    _build_dev(root)
    os.mkdir(root + "/proc")
    mount("proc", root + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    os.mkdir(root + "/.old")
    _check(_LIBC.syscall(_SYS_PIVOT_ROOT[platform.machine()], root.encode(), (root + "/.old").encode()), "pivot_root")
    os.chdir("/")
    _check(_LIBC.umount2(b"/.old", MNT_DETACH), "umount2")
    os.rmdir("/.old")
    mount(None, "/", None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)
    os.chdir(SCRATCH)
    _LIBC.sethostname(b"sandbox", 7)


def _scratch_at_tmp(root: str, view: View) -> list[str]:
    """/tmp is the scratch folder too (one folder, one size limit): a symlink to it, or, where a
    readable path lives under /tmp (a virtual environment there), a second mount of the same tmpfs
    holding, for each top folder of those paths, a small tmpfs that the paths are bound into and
    that is then made read-only, like the root. Returns those folders."""
    tops = sorted({Path(path).parts[2] for path in view.readable
                   if Path(path).is_relative_to("/tmp") and len(Path(path).parts) > 2})
    if not tops:
        os.symlink(SCRATCH.lstrip("/"), root + "/tmp")
        return []
    os.mkdir(root + "/tmp")
    mount(root + SCRATCH, root + "/tmp", None, MS_BIND)
    holders = [f"{root}/tmp/{top}" for top in tops]
    for holder in holders:
        os.mkdir(holder)
        mount("tmpfs", holder, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=0755")
    return holders


def _bind_system(root: str, path: str) -> None:
    if os.path.islink(path):
        os.symlink(os.readlink(path), root + path)
    elif os.path.isdir(path):
        _bind(root, path, path)


def _bind(root: str, source: str, target: str) -> None:
    """A read-only bind of `source` at root + `target` (intermediate folders made, 0755)."""
    where = root + target
    if os.path.isdir(source):
        os.makedirs(where, mode=0o755, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(where), mode=0o755, exist_ok=True)
        if not os.path.exists(where):
            open(where, "w").close()
    mount(source, where, None, MS_BIND | MS_REC)
    mount(None, where, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)


def _write_accounts(root: str, view: View) -> None:
    """A passwd and group of the student alone (the machine's accounts stay out of sight)."""
    uid, gid = view.ids or (INNER_UID, INNER_GID)
    os.makedirs(root + "/etc", exist_ok=True)
    _write(root + "/etc/passwd", f"student:x:{uid}:{gid}:student:{SCRATCH}:/bin/false\n")
    _write(root + "/etc/group", f"student:x:{gid}:\n")


def _build_dev(root: str) -> None:
    dev = root + "/dev"
    os.mkdir(dev)
    mount("tmpfs", dev, "tmpfs", MS_NOSUID | MS_NOEXEC, "size=64k,mode=0755")
    for name in _DEVICES:
        open(f"{dev}/{name}", "w").close()
        mount(f"/dev/{name}", f"{dev}/{name}", None, MS_BIND)
    os.symlink("/proc/self/fd", f"{dev}/fd")
    os.symlink("/scratch", f"{dev}/shm")


def _drop_privileges(ids: tuple[int, int] | None) -> None:
    """As root: the run's own unprivileged uid and gid. In a user namespace: no capabilities."""
    for cap in range(_last_capability() + 1):
        _LIBC.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)
    if ids is not None:
        os.setgroups([])
        os.setgid(ids[1])
        os.setuid(ids[0])
    else:
        header = (ctypes.c_uint32 * 2)(_CAPABILITY_VERSION_3, 0)
        data = (ctypes.c_uint32 * 6)()
        _check(_LIBC.capset(header, data), "capset")
    _LIBC.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    _check(_LIBC.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(no_new_privs)")
    _check(_LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "prctl")  # setuid cleared it


def _last_capability() -> int:
    try:
        return int(Path("/proc/sys/kernel/cap_last_cap").read_text())
    except (OSError, ValueError):
        return 40


def mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    def c(text: str | None) -> bytes | None:
        return None if text is None else text.encode()

    _check(_LIBC.mount(c(source), c(target), c(fstype), ctypes.c_ulong(flags), c(data)), f"mount {target}")


def _check(result: int, what: str) -> None:
    if result != 0:
        code = ctypes.get_errno()
        raise ConfinementError(code, f"{what}: {os.strerror(code)}")


def _write(path: str, text: str) -> None:
    with open(path, "w") as file:
        file.write(text)
