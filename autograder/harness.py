"""The only grader code that runs beside student code, inside a sandboxed child.

It imports the student's module, swaps correct (torch-based) versions in for the graded functions
that the function under test calls, makes the calls the grader asked for, and sends back plain
values. It computes no expected value and no score: whatever happens here, the grader judges the
numbers it receives with its own reference.

Messages sent (each one resets the child's time limit):
  {"event": "module", "name": m, "status": "begin"|"ok"|<failure kind>, "message": str}
  {"event": "call", "i": i}                       before call i
  {"event": "result", "i": i, "value": ...}       after it returned
  {"event": "error", "i": i, "kind": k, "message": str}   it raised (k: not_attempted, memory,
                                                  exception, missing_function, unserialisable)
  {"event": "done"}
"""

from __future__ import annotations

import copy
import importlib
import importlib.abc
import importlib.machinery
import os
import sys
import traceback
import types
from itertools import islice
from typing import Any, Callable

import numpy as np

from autograder import reference
from autograder.contract import FUNCTIONS, PART_MODULES

Send = Callable[[dict], None]


def run_job(job: dict, send: Send) -> None:
    """Entry point in the child: job = {"module", "broken", "calls"} where each call names its
    function (one child serves a module's functions in turn), or {"imports": [modules],
    "broken": [...]} for the import probe."""
    workdir = os.getcwd()
    preloaded = len(sys.modules)  # modules imported from here on are the student's (or theirs)
    finder = PartModuleFinder(workdir, set(job.get("broken", ())), send)
    sys.meta_path.insert(0, finder)
    if "imports" in job:
        for name in job["imports"]:
            if name not in sys.modules:
                finder.import_reporting(name)
        send({"event": "done"})
        return
    module = finder.import_reporting(job["module"])
    if module is None:
        send({"event": "done"})
        return
    students = student_modules(workdir, preloaded)
    swaps, current, function = Swaps(), None, None
    state = SharedState(students)
    for call in job["calls"]:
        i, name = call["i"], call["function"]
        send({"event": "call", "i": i})
        if name != current:  # the next function starts from the state after import, its callees swapped
            swaps.undo()
            state.restore()
            current, function = name, getattr(module, name, None)
            if callable(function):
                swaps.substitute_callees(function, f"{job['module']}.{name}", students)
        if not callable(function):
            send({"event": "error", "i": i, "kind": "missing_function",
                  "message": f"{job['module']}.py defines no function {name}"})
            continue
        send(observe(function, i, call))
    send({"event": "done"})


class PartModuleFinder(importlib.abc.MetaPathFinder):
    """Imports the student's part modules, reporting each; a part module that is missing or
    broken (known from the import probe, or failing now as a dependency) is replaced by a
    stand-in holding the reference functions, so it costs only its own functions."""

    def __init__(self, workdir: str, broken: set[str], send: Send) -> None:
        self.workdir, self.broken, self.send = workdir, broken, send
        self.target: str | None = None

    def import_reporting(self, name: str) -> types.ModuleType | None:
        """Import the module under test; report ok or why not (it gets no stand-in)."""
        self.target = name
        self.send({"event": "module", "name": name, "status": "begin"})
        try:
            module = importlib.import_module(name)
        except BaseException as error:  # SystemExit and KeyboardInterrupt included: the student's
            kind, message = describe_import_failure(name, error)
            self.send({"event": "module", "name": name, "status": kind, "message": message})
            return None
        self.send({"event": "module", "name": name, "status": "ok"})
        return module

    def find_spec(self, name, path=None, target=None):
        if name not in PART_MODULES or name == self.target:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, [self.workdir])
        if spec is None or name in self.broken:
            return importlib.machinery.ModuleSpec(name, StandInLoader())
        spec.loader = TolerantLoader(spec.loader, self.send)
        return spec


class StandInLoader(importlib.abc.Loader):
    def create_module(self, spec):
        return None

    def exec_module(self, module):
        module.__dict__.update(reference.GRADED[module.__name__])
        module.np = np


class TolerantLoader(importlib.abc.Loader):
    """Runs a dependency's code; if it fails, its graded names fall back to the reference."""

    def __init__(self, loader, send: Send) -> None:
        self.loader, self.send = loader, send

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        self.send({"event": "module", "name": module.__name__, "status": "begin"})
        try:
            self.loader.exec_module(module)
            self.send({"event": "module", "name": module.__name__, "status": "ok"})
        except BaseException as error:
            kind, message = describe_import_failure(module.__name__, error)
            self.send({"event": "module", "name": module.__name__, "status": kind, "message": message})
            module.__dict__.update(reference.GRADED[module.__name__])


def describe_import_failure(name: str, error: BaseException) -> tuple[str, str]:
    if isinstance(error, SyntaxError):
        where = f"{os.path.basename(error.filename or name + '.py')}:{error.lineno}"
        return "syntax_error", f"{where}: {error.msg}\n{(error.text or '').rstrip()}"
    if isinstance(error, ModuleNotFoundError) and error.name == name:
        return "missing_module", f"no {name}.py in the submission"
    if isinstance(error, SystemExit):
        return "exited", f"{name}.py called exit({error.code!r}) while being imported"
    if isinstance(error, MemoryError):
        return "memory", f"{name}.py ran out of memory while being imported"
    return "import_error", f"importing {name}.py raised:\n{student_traceback(error)}"


def student_modules(workdir: str, preloaded: int) -> list[types.ModuleType]:
    """The modules loaded from the submission folder. Only modules imported after the preload
    can be, and reading just those keeps the child from touching (and so copying) the fork
    server's memory for a thousand others."""
    newest = islice(reversed(sys.modules.values()), len(sys.modules) - preloaded)
    return [m for m in newest if (getattr(m, "__file__", None) or "").startswith(workdir)]


class SharedState:
    """What one function could change for the next one in the same child, put back before each:
    the globals of the student's modules and of numpy, torch and math (rebinding np.exp, say),
    numpy's error handling and global random state, and torch's default dtype, grad mode and seed.
    (A child per function would need no such care, but a fork of the fork server costs ~15 ms.)"""

    SHARED = ("builtins", "math", "numpy", "numpy.random", "numpy.linalg", "torch", "torch.nn",
              "torch.nn.functional")

    def __init__(self, students: list[types.ModuleType]) -> None:
        import torch

        self.dicts = [(vars(m), dict(vars(m))) for m in students + [sys.modules[n] for n in self.SHARED]]
        self.numpy_errors = np.geterr()
        self.numpy_random = np.random.get_state()
        self.torch_state = (torch.get_default_dtype(), torch.is_grad_enabled(), torch.random.get_rng_state())

    def restore(self) -> None:
        import torch

        for namespace, saved in self.dicts:
            for key in [k for k in namespace if k not in saved]:
                del namespace[key]
            for key, value in saved.items():
                if namespace.get(key, saved) is not value:
                    namespace[key] = value
        np.seterr(**self.numpy_errors)
        np.random.set_state(self.numpy_random)
        dtype, grad, rng_state = self.torch_state
        torch.set_default_dtype(dtype)
        torch.set_grad_enabled(grad)
        torch.random.set_rng_state(rng_state)


class Swaps:
    """The callee substitutions for one function under test, undone before the next one."""

    def __init__(self) -> None:
        self.done: list[tuple[object, str, object]] = []

    def substitute_callees(self, under_test: Callable, qualname: str, students: list[types.ModuleType]) -> None:
        """Rebind every other graded function, however the student reached it (`from losses
        import softmax`, `import losses`, `from losses import *`, an alias), to the reference."""
        replacement = {}
        for f in FUNCTIONS:
            module = sys.modules.get(f.module)
            fn = getattr(module, f.name, None) if module else None
            if fn is not None and fn is not under_test and f.qualname != qualname:
                replacement[id(fn)] = reference.GRADED[f.module][f.name]
                self.rebind(module, f.name, reference.GRADED[f.module][f.name])
        for module in students:
            for key, value in list(vars(module).items()):
                if id(value) in replacement and value is not under_test:
                    self.rebind(module, key, replacement[id(value)])

    def rebind(self, module: object, key: str, value: object) -> None:
        self.done.append((module, key, getattr(module, key)))
        setattr(module, key, value)

    def undo(self) -> None:
        for module, key, original in reversed(self.done):
            setattr(module, key, original)
        self.done.clear()


def observe(function: Callable, i: int, call: dict) -> dict:
    """Make call i under its probe; the observation or the error, as a message."""
    try:
        value = PROBES[call["probe"]](function, *build(call["args"]), **build(call["kwargs"]))
    except NotImplementedError:
        return {"event": "error", "i": i, "kind": "not_attempted", "message": "not attempted (raises NotImplementedError)"}
    except MemoryError:
        return {"event": "error", "i": i, "kind": "memory", "message": "ran out of memory"}
    except BaseException as error:  # SystemExit too: exiting costs only this call
        return {"event": "error", "i": i, "kind": "exception",
                "message": f"raised {type(error).__name__}:\n{student_traceback(error)}"}
    try:
        return {"event": "result", "i": i, "value": plain(value)}
    except Exception as error:
        return {"event": "error", "i": i, "kind": "unserialisable", "message": str(error)}


def build(value: Any) -> Any:
    """Fresh copies of the grader's arguments for each call; {"__rng__": s} becomes a Generator."""
    if isinstance(value, dict):
        if set(value) == {"__rng__"}:
            return np.random.default_rng(value["__rng__"])
        return {k: build(v) for k, v in value.items()}
    if isinstance(value, list):
        return [build(v) for v in value]
    return copy.deepcopy(value)


def plain(value: Any, depth: int = 0) -> Any:
    """What the student returned, as plain data: base-class ndarrays, Python scalars, lists, dicts."""
    if depth > 8:
        raise TypeError("the result is nested too deeply")
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return np.array(value, copy=True, subok=False)
    if type(value).__module__.startswith("torch") and hasattr(value, "detach"):
        return value.detach().cpu().numpy().copy()
    if isinstance(value, (list, tuple)):
        return [plain(v, depth + 1) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v, depth + 1) for k, v in value.items()}
    raise TypeError(f"returned a {type(value).__name__}, which is not a number, array, list or dict")


def student_traceback(error: BaseException, limit: int = 12) -> str:
    """The traceback without the harness's own frames: only the student's code is shown."""
    frames = [f for f in traceback.extract_tb(error.__traceback__)
              if "autograder" not in f.filename and "importlib" not in f.filename]
    lines = traceback.format_list(frames[-limit:]) + traceback.format_exception_only(type(error), error)
    return "".join(lines).rstrip()


def probe_call(function, *args, **kwargs):
    return function(*args, **kwargs)


def probe_sgd_step(function, params, grads, lr):
    """Calls sgd_step and observes whether the caller's own arrays now hold the new values."""
    originals = dict(params)
    function(params, grads, lr)
    return {"params": {k: v for k, v in originals.items()},
            "rebound": [k for k in originals if params.get(k) is not originals[k]],
            "grads": grads}


def probe_torch_train_steps(function, params, inputs, targets, lr, steps):
    """Builds the RNN LM and its SGD optimizer here, calls torch_train_step `steps` times."""
    import torch

    model = reference.RNNLM(params)
    optimizer = reference.SGD([p for p in model.parameters() if p.requires_grad], lr=lr)
    x, t = torch.as_tensor(np.asarray(inputs)), torch.as_tensor(np.asarray(targets))
    losses = [function(model, optimizer, x, t) for _ in range(steps)]
    return {"losses": losses,
            "params": {k: v.detach().numpy().copy() for k, v in model.named_arrays().items()}}


PROBES = {"call": probe_call, "sgd_step": probe_sgd_step, "torch_train_steps": probe_torch_train_steps}
