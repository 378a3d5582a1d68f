"""The only grader code that runs beside student code, inside a confined child.

It serves the grader one step at a time: import a part module, or call one function on arguments
the grader sends and send back what its probe observes. It holds no reference and computes no
expected value or score: a graded function that the function under test may call correctly (its
callees) or that the submission lacks is a stand-in that asks the grader for the answer. Nothing
here imports the course: the grader says in the first message which modules are parts, which
names are graded in each and what a stand-in must do to its caller's arguments.

Messages (protocol frames), grader -> child:
  {"setup": {"parts": {module: [graded names]}, "effects": {name: effect}, "broken": [module]}}
  {"import": module}
  {"call": name, "module": m, "probe": "call" | "in_place" | "module:function", "args": [...],
   "kwargs": {...}, "substitute": [names]}
  {"answer": value, "first": {key: value} (optional), "rng": state (optional)} | {"raise": text}
child -> grader:
  {"status": "ok", "filled": [names]} | {"status": kind, "message": text}   the answer to "import"
                                                (filled: graded names it lacked, now stand-ins)
  {"value": observation} | {"error": kind, "message": text}    the answer to "call"
  {"callee": name, "args": [...], "kwargs": {...}}             a stand-in asking for an answer
  {"note": "importing" | "imported", "module": m}              while importing, for a hang's culprit
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import os
import sys
import traceback
import types
from itertools import islice
from operator import is_
from typing import Any, Callable

import numpy as np

from autograder.isolate import probes, protocol
from autograder.isolate.protocol import FailureKind

MESSAGE_CAP = protocol.TEXT_CAP


class Channel:
    """The child's two pipes to the grader (through the sandbox's zygote)."""

    def __init__(self, inbox: int, outbox: int) -> None:
        self.inbox, self.outbox = inbox, outbox

    def send(self, message: dict | bytes) -> None:
        """Send a message (or its protocol bytes)."""
        for stream in (sys.stdout, sys.stderr):  # what was printed belongs to this step
            try:
                stream.flush()
            except Exception:  # noqa: BLE001 - a student may have replaced or closed it
                pass
        protocol.write_frame(self.outbox, protocol.encoded(message))

    def receive(self) -> dict | None:
        frame = protocol.read_frame(self.inbox)
        return None if frame is None else protocol.decode(frame)

    def ask(self, message: dict | bytes) -> dict:
        self.send(message)
        answer = self.receive()
        if answer is None:
            raise SystemExit(0)  # the grader is gone
        return answer


def serve(channel: Channel) -> None:
    """Entry point in the child: answer the grader's steps until it closes the inbox."""
    setup = channel.receive()["setup"]
    harness = Harness(channel, setup)
    while (message := channel.receive()) is not None:
        if "import" in message:
            channel.send(harness.import_part(message["import"]))
        elif "call" in message:
            channel.send(harness.call(message))


class Harness:
    """The state of one child: the student's modules, stand-ins, and what each call changed."""

    def __init__(self, channel: Channel, setup: dict) -> None:
        self.channel = channel
        self.graded: dict[str, list[str]] = setup["parts"]
        self.effects: dict[str, str] = setup["effects"]
        # The folder of the part modules: the sandbox puts it first on the path (confined, it is
        # /submission, read-only; the working directory is the run's scratch folder).
        self.workdir = setup.get("workdir") or sys.path[0]
        self.preloaded = len(sys.modules)  # modules imported from here on are the student's (or theirs)
        self.stand_ins = {name: self.stand_in(name) for names in self.graded.values() for name in names}
        self.filled: set[tuple[str, str]] = set()  # (module, name) given a stand-in: the student has none
        self.finder = PartModuleFinder(self, set(setup.get("broken", ())))
        sys.meta_path.insert(0, self.finder)
        if self.workdir not in sys.path:
            sys.path.insert(0, self.workdir)
        self.swaps = Swaps()
        self.state: SharedState | None = None
        self.current: str | None = None

    # ---------------------------------------------------------------- imports

    def import_part(self, name: str) -> dict:
        """Import a part module (if not yet); report ok (with the graded names it lacked) or why not."""
        if name in self.finder.failed:
            return self.finder.failed[name]
        if name in sys.modules:
            return self.imported(name)
        self.finder.target = name
        self.channel.send({"note": "importing", "module": name})
        try:
            importlib.import_module(name)
        except BaseException as error:  # SystemExit and KeyboardInterrupt included: the student's
            kind, message = describe_import_failure(name, error)
            sys.modules.pop(name, None)
            self.finder.failed[name] = {"status": kind.value, "message": message}
            return self.finder.failed[name]
        finally:
            self.finder.target = None
        return self.imported(name)

    def imported(self, name: str) -> dict:
        return {"status": "ok", "filled": sorted(n for m, n in self.filled if m == name)}

    def prefill(self, module: types.ModuleType) -> None:
        """Bind a stand-in to each graded name of a part module before its code runs, so that a
        circular import of a name the part lacks succeeds as a plain one does after `complete`."""
        module.__dict__.update({name: self.stand_ins[name] for name in self.graded.get(module.__name__, ())})

    def complete(self, module: types.ModuleType) -> None:
        """Give a part module a stand-in for each graded name it lacks: `from losses import
        softmax` then works though losses.py has no softmax (it alone is not attempted)."""
        for name in self.graded.get(module.__name__, ()):
            value = getattr(module, name, None)
            if value is self.stand_ins[name] or not callable(value):
                setattr(module, name, self.stand_ins[name])
                self.filled.add((module.__name__, name))

    def stand_in_module(self, module: types.ModuleType) -> None:
        """A part module that is missing or does not import: every graded name a stand-in."""
        module.__dict__.update({name: self.stand_ins[name] for name in self.graded[module.__name__]})
        module.np = np
        self.filled.update((module.__name__, name) for name in self.graded[module.__name__])

    # ---------------------------------------------------------------- calls

    def call(self, message: dict) -> dict:
        module_name, name = message["module"], message["call"]
        if name != self.current:  # the next function starts from the state after import
            if self.state is None:
                self.state = SharedState(self.student_modules())
            self.swaps.undo()
            self.state.restore()
            self.current = None
        module = sys.modules.get(module_name)
        function = getattr(module, name, None) if module else None
        if module is None or (module_name, name) in self.filled or not callable(function):
            return error(FailureKind.MISSING_FUNCTION, f"{module_name}.py defines no function {name}")
        if self.current is None:
            self.current = name
            self.swaps.substitute(function, message["substitute"], self.stand_ins, self.graded,
                                  self.student_modules())
        return observe(function, message)

    def student_modules(self) -> list[types.ModuleType]:
        """The modules loaded from the submission folder. Only modules imported after the preload
        can be, and reading just those keeps the child from touching (and so copying) the fork
        server's memory for a thousand others."""
        newest = islice(reversed(sys.modules.values()), len(sys.modules) - self.preloaded)
        return [m for m in newest if (getattr(m, "__file__", None) or "").startswith(self.workdir)]

    def stand_in(self, name: str) -> Callable[..., Any]:
        """A correct `name`: asks the grader, then does to the caller's arguments what the real
        function would (update the dict it was given in place; advance the generator it drew from)."""
        channel, effect = self.channel, self.effects.get(name, "none")

        def correct_version(*args: Any, **kwargs: Any) -> Any:
            try:
                request = protocol.encode({"callee": name, "args": list(args), "kwargs": kwargs})
            except (TypeError, ValueError) as problem:
                raise TypeError(f"{name}() was called with arguments the contract does not allow: {problem}") from None
            answer = channel.ask(request)
            if "raise" in answer:
                raise TypeError(answer["raise"])
            if effect == "updates_first_argument" and args and isinstance(args[0], dict):
                for key, value in answer.get("first", {}).items():
                    target = args[0].get(key)
                    if isinstance(target, np.ndarray) and target.shape == np.shape(value):
                        target[...] = value
                    else:
                        args[0][key] = value
            if effect == "draws_from_rng":
                for arg, state in zip((*args, *kwargs.values()), answer.get("rng", [])):
                    if state is not None and isinstance(arg, np.random.Generator):
                        arg.bit_generator.state = state
            return answer["answer"]

        correct_version.__name__ = correct_version.__qualname__ = name
        return correct_version


def error(kind: FailureKind, message: str) -> dict:
    return {"error": kind.value, "message": protocol.capped(message)}


class PartModuleFinder(importlib.abc.MetaPathFinder):
    """Imports the student's part modules, completing each with stand-ins for what it lacks; a
    part module that is missing or broken (known before this child, or failing now as a
    dependency) becomes a module of stand-ins, so it costs only its own functions."""

    def __init__(self, harness: Harness, broken: set[str]) -> None:
        self.harness, self.broken = harness, broken
        self.target: str | None = None
        self.failed: dict[str, dict] = {}

    def find_spec(self, name, path=None, target=None):
        if name not in self.harness.graded:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, [self.harness.workdir])
        if spec is None or name in self.broken or (name in self.failed and name != self.target):
            return importlib.machinery.ModuleSpec(name, StandInLoader(self.harness))
        spec.loader = PartLoader(spec.loader, self.harness, is_target=name == self.target)
        return spec


class StandInLoader(importlib.abc.Loader):
    def __init__(self, harness: Harness) -> None:
        self.harness = harness

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        self.harness.stand_in_module(module)


class PartLoader(importlib.abc.Loader):
    """Runs a part module's code and completes it; a dependency that fails becomes stand-ins."""

    def __init__(self, loader, harness: Harness, is_target: bool) -> None:
        self.loader, self.harness, self.is_target = loader, harness, is_target

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        name = module.__name__
        if not self.is_target:
            self.harness.channel.send({"note": "importing", "module": name})
        self.harness.prefill(module)
        try:
            self.loader.exec_module(module)
        except BaseException as failure:
            if self.is_target:
                raise
            kind, message = describe_import_failure(name, failure)
            self.harness.finder.failed[name] = {"status": kind.value, "message": message}
            self.harness.stand_in_module(module)
        else:
            self.harness.complete(module)
        if not self.is_target:
            self.harness.channel.send({"note": "imported", "module": name})


def describe_import_failure(name: str, failure: BaseException) -> tuple[FailureKind, str]:
    if isinstance(failure, SyntaxError):
        where = f"{os.path.basename(failure.filename or name + '.py')}, line {failure.lineno}"
        return FailureKind.SYNTAX_ERROR, f"SyntaxError in {where}: {failure.msg}\n{(failure.text or '').rstrip()}"
    if isinstance(failure, SystemExit):
        return FailureKind.EXITED, f"{name}.py called exit({failure.code!r}) while being imported"
    if isinstance(failure, MemoryError):
        return FailureKind.MEMORY, f"{name}.py ran out of memory while being imported"
    return FailureKind.IMPORT_ERROR, f"importing {name}.py raised:\n{student_traceback(failure)}"


class SharedState:
    """What one function could change for the next one in the same child, put back before each:
    the globals of the student's modules and of numpy, torch and math (rebinding np.exp, say),
    numpy's error handling and global random state, and torch's default dtype, grad mode and seed
    when torch is loaded. (A child per function would need no such care, but costs a fork each.)"""

    SHARED = ("builtins", "math", "numpy", "numpy.random", "numpy.linalg", "torch", "torch.nn",
              "torch.nn.functional")

    def __init__(self, students: list[types.ModuleType]) -> None:
        shared = [sys.modules[n] for n in self.SHARED if n in sys.modules]
        self.dicts = [(vars(m), dict(vars(m))) for m in students + shared]
        self.numpy_errors = np.geterr()
        self.numpy_random = np.random.get_state()
        torch = sys.modules.get("torch")
        self.torch_state = None if torch is None else (
            torch.get_default_dtype(), torch.is_grad_enabled(), torch.random.get_rng_state())

    def restore(self) -> None:
        for namespace, saved in self.dicts:
            if unchanged(namespace, saved):  # the usual case, checked in C: torch alone has 1,500 names
                continue
            for key in [k for k in namespace if k not in saved]:
                del namespace[key]
            for key, value in saved.items():
                if namespace.get(key, saved) is not value:
                    namespace[key] = value
        np.seterr(**self.numpy_errors)
        np.random.set_state(self.numpy_random)
        if self.torch_state is not None:
            import torch

            dtype, grad, rng_state = self.torch_state
            torch.set_default_dtype(dtype)
            torch.set_grad_enabled(grad)
            torch.random.set_rng_state(rng_state)


def unchanged(namespace: dict, saved: dict) -> bool:
    """Whether `namespace` holds exactly the names and objects of `saved`, in the same order
    (identity, never `==`, which a student's object could answer falsely)."""
    return namespace.keys() == saved.keys() and all(map(is_, namespace.values(), saved.values()))


class Swaps:
    """The callee substitutions for one function under test, undone before the next one."""

    def __init__(self) -> None:
        self.done: list[tuple[object, str, object]] = []

    def substitute(self, under_test: Callable, names: list[str], stand_ins: dict[str, Callable],
                   graded: dict[str, list[str]], students: list[types.ModuleType]) -> None:
        """Rebind each of `names`, however the student reached it (`from losses import softmax`,
        `import losses`, `from losses import *`, an alias), to its stand-in."""
        replacement = {}
        for module_name, graded_names in graded.items():
            module = sys.modules.get(module_name)
            for name in graded_names:
                fn = getattr(module, name, None) if module and name in names else None
                if fn is not None and fn is not under_test:
                    replacement[id(fn)] = stand_ins[name]
                    self.rebind(module, name, stand_ins[name])
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


def observe(function: Callable, message: dict) -> dict:
    """Make the call under its probe; the observation or the failure, as a message."""
    probe = _PROBES.get(message["probe"]) or _course_probe(message["probe"])
    try:
        value = probe(function, *message["args"], **message["kwargs"])
    except NotImplementedError:
        return error(FailureKind.NOT_ATTEMPTED, "not attempted (raises NotImplementedError)")
    except MemoryError:
        return error(FailureKind.MEMORY, "ran out of memory")
    except (BlockingIOError, RuntimeError) as failure:
        if _out_of_processes(failure):
            return error(FailureKind.PROCESSES, f"too many processes or threads: {failure}")
        return error(FailureKind.EXCEPTION, f"raised {type(failure).__name__}:\n{student_traceback(failure)}")
    except BaseException as failure:  # SystemExit too: exiting costs only this call
        return error(FailureKind.EXCEPTION, f"raised {type(failure).__name__}:\n{student_traceback(failure)}")
    try:
        return {"value": plain(value)}
    except Exception as failure:  # noqa: BLE001
        return error(FailureKind.UNSERIALISABLE, str(failure))


def _out_of_processes(failure: BaseException) -> bool:
    """fork() or a new thread refused by the process limit (EAGAIN)."""
    return getattr(failure, "errno", None) == 11 or "can't start new thread" in str(failure)


_PROBES = {"call": probes.call, "in_place": probes.in_place}


def _course_probe(target: str) -> Callable[..., Any]:
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


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


def student_traceback(failure: BaseException, limit: int = 12) -> str:
    """The traceback without the harness's own frames: only the student's code is shown."""
    frames = [f for f in traceback.extract_tb(failure.__traceback__)
              if "autograder" not in f.filename and "importlib" not in f.filename]
    lines = traceback.format_list(frames[-limit:]) + traceback.format_exception_only(type(failure), failure)
    return protocol.capped("".join(lines).rstrip())
