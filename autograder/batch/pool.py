"""Worker processes; each owns ONE Sandbox (a fork server with numpy and torch preloaded) and reuses
it for every submission it grades. A dead worker or a submission over its time budget gives that
task an error payload; the worker is replaced and the batch goes on.

Two or more workers are forked from multiprocessing's fork server, which has imported torch and
the grader's modules and nothing else: they then share one copy of what importing torch allocates
(about 140 MB) instead of holding one each. It never sees a task, so a worker starts clean, and it
is single-threaded when it forks (the thread pools are made single before it starts). A lone
worker shares with no one: it is forked from the grader while that is still small and
single-threaded (batch/launch.py starts it at launch), else spawned, and loads torch beside its
own fork server."""

from __future__ import annotations

import multiprocessing
import os
import shutil
import signal
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing.connection import wait
from pathlib import Path
from typing import Any


def grade_task(task: dict[str, Any], course: Any, sandbox: Any, checks: Sequence[Any]) -> dict[str, Any]:
    """Grade one submission in this worker, and read its graded functions' sources and their
    fingerprints (for the similarity report); never raises (an exception becomes {"error": ...})."""
    from autograder.batch.cache import report_to_dict
    from autograder.batch.similarity import function_fingerprints, function_sources
    from autograder.grade import grade

    options = task["options"]
    sources: dict[str, str] = {}

    def read_sources(submission: Any) -> None:
        if submission.kind != "rejected":
            sources.update(function_sources(submission.folder, course))

    try:
        report = grade(Path(task["path"]), course, limits=sandbox.limits, include_hidden=options["include_hidden"],
                       sandbox=sandbox, checks=checks, on_loaded=read_sources)
        return {"id": task["id"], "report": report_to_dict(report), "sources": sources,
                "prints": function_fingerprints(sources)}
    except Exception as error:  # noqa: BLE001 - one broken submission must not stop the batch
        detail = "".join(traceback.format_exception_only(type(error), error)).strip()
        return {"id": task["id"], "error": detail, "traceback": traceback.format_exc()}


def _worker_main(conn: Any, options: dict[str, Any]) -> None:
    """A worker process: one Sandbox, reused for every task the parent sends until None."""
    import gc

    gc.freeze()  # the fork server's objects: no collection here touches (and so copies) their pages
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    # Stopped by the parent (over budget, Ctrl-C): unwind, so temporary folders and the sandbox close.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    from autograder.isolate.sandbox import Limits, Sandbox, course_preload
    from autograder.load.bounded import start_server
    from autograder.registry import load_course

    course = load_course(options["course"] or None)
    sandbox = Sandbox(Limits(**options["limits"]), preload=course_preload(course))  # preloads while the checks load
    start_server()  # the loading server too
    try:
        from autograder.check import load_checks

        checks = load_checks(course, options["include_hidden"])
        try:
            import torch

            torch.set_num_threads(1)
        except ImportError:
            pass
        while True:
            try:
                task = conn.recv()
            except (EOFError, OSError):
                break
            if task is None:
                break
            conn.send({"started": task["id"]})  # the parent's time budget runs from here
            conn.send(grade_task(task, course, sandbox, checks))
            _return_freed_memory()
    finally:
        sandbox.close()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)  # the interpreter's teardown with torch loaded takes about 0.2 s, of use to no one


def _return_freed_memory() -> None:
    """Give the pages a graded submission freed back to the system (glibc keeps them otherwise),
    so a worker's peak is one submission's, not the largest so far plus fragmentation."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass


@dataclass
class _Worker:
    process: Any
    conn: Any
    task: dict[str, Any] | None = None
    started: float | None = None  # when the worker began grading its task (after its own startup)


# What the fork server imports for the workers (the course itself is loaded in each worker).
_SHARED_IMPORTS = ["numpy", "torch", "autograder.grade", "autograder.check", "autograder.batch.cache",
                   "autograder.batch.similarity", "autograder.isolate.sandbox", "autograder.load.bounded"]
_SINGLE_THREADED = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def _context(size: int) -> Any:
    """Fork server for two or more workers where its socket is private to this user (a path in a
    0700 folder: a student's process under another uid, or in its own namespaces, cannot reach it;
    an abstract socket, which any local process can, needs Python 3.14's authentication). A lone
    worker is forked where that is safe: it starts its own fork server about a quarter of a second
    sooner than a spawned one, which must start an interpreter and import the grader again."""
    from multiprocessing.connection import arbitrary_address

    if size < 2:
        return multiprocessing.get_context("fork" if _fork_is_safe() else "spawn")
    if ("forkserver" not in multiprocessing.get_all_start_methods()
            or (arbitrary_address("AF_UNIX").startswith("\0") and sys.version_info < (3, 14))):
        return multiprocessing.get_context("spawn")
    global _fork_server_used
    _fork_server_used = True
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(_SHARED_IMPORTS)
    return context


_fork_server_used = False


def _fork_is_safe() -> bool:
    """A copy of this process can run Python: one thread (no lock held by another), and no
    numpy or torch yet (their native thread pools do not survive a fork)."""
    return ("fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1
            and not {"numpy", "torch"} & sys.modules.keys())


def remove_fork_server_folder() -> None:
    """Remove the folder of the fork server's socket, as multiprocessing does at interpreter exit,
    in a process about to end by os._exit (its fork server ends with it)."""
    if _fork_server_used:
        from multiprocessing import util

        shutil.rmtree(util.get_temp_dir(), ignore_errors=True)


class _Pool:
    """Workers that each take one task at a time, replaced when one dies or is stopped."""

    def __init__(self, size: int, options: dict[str, Any]) -> None:
        for name in _SINGLE_THREADED:  # workers share the cores, and a fork server must not hold threads
            os.environ[name] = "1"
        self.size = size
        self.context = _context(size)
        self.options = options
        self.workers: list[_Worker] = []
        self._failure: BaseException | None = None
        # A fork server's first worker waits for its imports (a second): meanwhile the caller works.
        # A fork is made here, while this process has one thread; it takes milliseconds.
        self._starting = threading.Thread(target=self._start_all, args=(size,), name="nlm-grade-pool", daemon=True)
        if self.context.get_start_method() == "fork":
            self._start_all(size)
        else:
            self._starting.start()

    def _start_all(self, size: int) -> None:
        try:
            for _ in range(size):
                self.workers.append(self._start())
        except BaseException as error:  # noqa: BLE001 - raised again where the workers are needed
            self._failure = error

    def _wait_started(self) -> None:
        if self._starting.is_alive():
            self._starting.join()

    def _started(self) -> list[_Worker]:
        self._wait_started()
        if self._failure is not None:
            raise RuntimeError(f"the grading workers could not start: {self._failure}") from self._failure
        return self.workers

    def _start(self) -> _Worker:
        context = self.context
        if context.get_start_method() == "fork" and not _fork_is_safe():  # a replacement, once threads run
            context = multiprocessing.get_context("spawn")
        parent, child = context.Pipe()
        process = context.Process(target=_worker_main, args=(child, self.options), name="nlm-grade-worker",
                                  daemon=True)
        process.start()
        child.close()
        return _Worker(process, parent)

    def _replace(self, worker: _Worker) -> None:
        self._stop(worker, graceful=False)
        self.workers[self.workers.index(worker)] = self._start()

    @staticmethod
    def _stop(worker: _Worker, graceful: bool) -> None:
        if graceful:
            try:
                worker.conn.send(None)
            except OSError:
                pass
            worker.process.join(timeout=15)
        if worker.process.is_alive():
            worker.process.terminate()
            worker.process.join(timeout=5)
        if worker.process.is_alive():
            worker.process.kill()
            worker.process.join()
        worker.conn.close()

    def finish(self) -> None:
        """Tell every worker to close its sandbox and exit, without waiting for it (close waits)."""
        self._wait_started()
        for worker in self.workers:
            try:
                worker.conn.send(None)
            except OSError:
                pass

    def close(self, graceful: bool = True) -> None:
        """Stop every worker: let it finish and close its sandbox, or (on Ctrl-C) kill it now;
        a killed worker's zygote sees its control pipe close and kills what it was running."""
        self.finish()
        for worker in self.workers:
            self._stop(worker, graceful=graceful)

    def run(self, tasks: list[dict[str, Any]], budget_s: float, on_grading: Callable[[], None] = lambda: None):
        """Yield one payload per task, in completion order: {"id", "report"} or {"id", "error"}.
        `on_grading` is called once, when the first worker begins grading (its start-up, torch
        above all, done): work for this process that would otherwise slow that start-up."""
        self._started()
        pending, grading = deque(tasks), False
        while pending or any(w.task for w in self.workers):
            for worker in list(self.workers):
                if worker.task is None and pending:
                    task = pending.popleft()
                    try:
                        worker.conn.send(task)
                    except OSError:  # it died while idle: start another and retry the task
                        pending.appendleft(task)
                        self._replace(worker)
                        continue
                    worker.task, worker.started = task, None
            busy = [w for w in self.workers if w.task]
            wait([w.conn for w in busy] + [w.process.sentinel for w in busy], timeout=1.0)
            for worker in busy:
                payload = None
                if worker.conn.poll():
                    try:
                        payload = worker.conn.recv()
                    except (EOFError, OSError):
                        worker.process.join(timeout=1)
                        payload = {"id": worker.task["id"], "error": "the grading worker process died "
                                   f"(exit code {worker.process.exitcode})"}
                        self._replace(worker)
                    if payload is not None and "started" in payload:
                        if not grading:
                            grading = True
                            on_grading()
                        worker.started, payload = time.monotonic(), None
                elif not worker.process.is_alive():
                    payload = {"id": worker.task["id"], "error": "the grading worker process died "
                               f"(exit code {worker.process.exitcode})"}
                    self._replace(worker)
                elif worker.started is not None and time.monotonic() - worker.started > budget_s:
                    payload = {"id": worker.task["id"], "error": f"grading took longer than {budget_s:g} s "
                               "and was stopped"}
                    self._replace(worker)
                if payload is not None:
                    worker.task = None
                    yield payload


def default_jobs() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)
