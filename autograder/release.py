"""`python -m autograder release` / `make release`: the student release, folder and zip.

    dist/student-release/
        README.md                the student README (from release_README.md, points from contract.py)
        losses.py backprop.py sgd.py rnn.py   the stubs (assignment/*.py)
        nlm_training.ipynb       the notebook handout, when assignment/ has one
        conftest.py              puts autograder-checks/ on sys.path and loads the pytest plugin
        pytest.ini               turns the visible checks on (nlm_checks = true), pytest-timeout
        autograder-checks/
            pyproject.toml       `pip install -e ./autograder-checks` (numpy, nbformat, pytest, ...)
            autograder/          the checking code students need, and nothing else
    dist/student-release.zip     the same, under the folder student-release/

What never ships: solutions/, the hidden checks (autograder/checks/hidden/: their code and their
inputs), the instructor tools (stub, notebook, release and class-grading code), and the wrong
versions in hints.py. The package copy is the import closure of what student-side checking runs
(the pytest plugin, the CLI's grade and check commands, the sandbox and harness, the visible
checks), never following an import into an instructor-only module. hints.py is the exception that
ships changed: its known mistakes are code that is, by design, a switch away from a correct
solution (a full NumPy BPTT among them), so the release keeps its public part (texts, Mistake, the
probe wrappers) and replaces every wrong version by what it returns on the visible checks' inputs,
recorded at build time (hints_recorded.json). A student whose output matches a known mistake gets
the same hint as on Gradescope.
"""

from __future__ import annotations

import ast
import json
import re
import shutil
import sys
import zipfile
from pathlib import Path

from autograder.contract import BONUS_SCORE, FUNCTIONS, MAX_SCORE, PARTS

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "autograder"
ASSIGNMENT = ROOT / "assignment"
RELEASE_NAME = "student-release"
CHECKS_FOLDER = "autograder-checks"  # the package's folder inside the release
README_TEMPLATE = PACKAGE / "release_README.md"
DEFAULT_TORCH_SPEC = "torch==2.13.0"

# Where student-side checking starts: the plugin, `python -m autograder` (grade, check), the
# sandbox's zygote (`python -m autograder.sandbox`) and the harness it preloads, and the visible
# check modules (load_checks imports them by name).
ROOTS = ("autograder", "autograder.__main__", "autograder.pytest_plugin", "autograder.cli",
         "autograder.sandbox", "autograder.harness", "autograder.checks")
# Never shipped, never followed: the instructor's tools and the hidden checks.
INSTRUCTOR_ONLY = ("autograder.checks.hidden", "autograder.release", "autograder.stubs",
                   "autograder.notebook", "autograder.grade_all", "autograder.bundle",
                   "autograder.gradescope")
HINTS_MODULE = "autograder.hints"
HINTS_TABLE = "hints_recorded.json"
_STAMP = (2024, 1, 1, 0, 0, 0)  # every zip entry's date: the same release, the same bytes


def build_release(out_dir: Path = ROOT / "dist") -> Path:
    """Write `out_dir/student-release/` and `out_dir/student-release.zip`; return the folder."""
    out_dir = Path(out_dir).resolve()
    release = out_dir / RELEASE_NAME
    if release.exists():
        shutil.rmtree(release)
    release.mkdir(parents=True)

    handouts = sorted(ASSIGNMENT.glob("*.py")) + sorted(ASSIGNMENT.glob("*.ipynb"))
    for path in handouts:
        shutil.copy2(path, release / path.name)

    checks = release / CHECKS_FOLDER
    for module, source in sorted(package_files().items()):
        target = checks / source.relative_to(ROOT)
        target.parent.mkdir(parents=True, exist_ok=True)
        if module == HINTS_MODULE:
            target.write_text(student_hints(source.read_text()))
            (target.parent / HINTS_TABLE).write_text(json.dumps(record_hints(), indent=None, sort_keys=True))
        else:
            shutil.copy2(source, target)
    for data in _data_files({p.parent for p in checks.rglob("*.py")}, checks):
        shutil.copy2(PACKAGE.parent / data, checks / data)

    from autograder import __version__

    (checks / "pyproject.toml").write_text(PYPROJECT.format(version=__version__))
    (release / "conftest.py").write_text(CONFTEST)
    (release / "pytest.ini").write_text(PYTEST_INI)
    (release / "README.md").write_text(render_readme(notebook=[p.name for p in handouts if p.suffix == ".ipynb"]))

    _zip(release, out_dir / f"{RELEASE_NAME}.zip")
    return release


# ---------------------------------------------------------------- the package copy


def package_files() -> dict[str, Path]:
    """module name -> source file, for every module student-side checking can import."""
    from autograder.contract import PART_MODULES

    pending = list(ROOTS) + [f"autograder.checks.{part}" for part in PART_MODULES]
    found: dict[str, Path] = {}
    while pending:
        name = pending.pop()
        if name in found or _instructor_only(name):
            continue
        path = _module_file(name)
        if path is None:
            continue
        found[name] = path
        if "." in name:
            pending.append(name.rsplit(".", 1)[0])  # its package's __init__
        pending += _imports(name, path)
    return found


def _instructor_only(name: str) -> bool:
    return any(name == x or name.startswith(x + ".") for x in INSTRUCTOR_ONLY)


def _module_file(name: str) -> Path | None:
    base = PACKAGE.parent.joinpath(*name.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def _imports(name: str, path: Path) -> list[str]:
    """Every `autograder...` module `path` imports, at any depth of its code (lazy imports too)."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    names = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            names.append(module)
            names += [f"{module}.{alias.name}" for alias in node.names]  # may be submodules
    return [n for n in names if n == "autograder" or n.startswith("autograder.")]


def _data_files(folders: set[Path], checks: Path) -> list[Path]:
    """The package's data files (JSON schemas...) in the shipped folders, relative to ROOT."""
    found = []
    for folder in folders:
        source = ROOT / folder.relative_to(checks)
        for path in source.iterdir():
            if path.is_file() and path.suffix == ".json":
                found.append(path.relative_to(ROOT))
    return found


# ---------------------------------------------------------------- hints without the wrong code

# The release's hints.py ends with this: MISTAKES rebuilt from recorded outcomes. The build runs
# the same text (see _recorder) so that the fingerprints of arguments agree by construction.
RECORDED_MISTAKES = '''

# Student release ---------------------------------------------------------------------------------
# The wrong versions behind these hints stay with the course staff. For each known mistake this
# release holds what it returns on the visible checks' inputs (hints_recorded.json, recorded when
# the release was built), so a result that matches one still gets its hint.

import base64 as _base64
import hashlib as _hashlib
import json as _json
from pathlib import Path as _Path


def _canonical(value):
    """A JSON-able description of an argument or result, for fingerprints and storage."""
    if isinstance(value, np.random.Generator):
        return ["rng", value.bit_generator.state]
    if hasattr(value, "detach") and hasattr(value, "numpy"):  # a torch tensor
        value = value.detach().numpy()
    if isinstance(value, (np.ndarray, np.generic)):
        array = np.ascontiguousarray(value)
        if array.dtype.kind not in "biufc":
            raise TypeError(f"cannot record an array of dtype {array.dtype}")
        return ["nd", array.dtype.str, list(array.shape), _base64.b64encode(array.tobytes()).decode()]
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise TypeError("cannot record a dict with keys other than str")
        return ["dict", [[k, _canonical(v)] for k, v in value.items()]]
    if isinstance(value, (list, tuple)):
        return [type(value).__name__, [_canonical(v) for v in value]]
    if value is None or isinstance(value, (bool, int, float, str)):
        return [type(value).__name__, repr(value)]
    raise TypeError(f"cannot record a {type(value).__name__}")


def _fingerprint(args, kwargs) -> str:
    text = _json.dumps(_canonical([list(args), dict(kwargs)]), sort_keys=True, separators=(",", ":"))
    return _hashlib.sha256(text.encode()).hexdigest()[:32]


def _restore(data):
    kind, body = data[0], data[1]
    if kind == "nd":
        dtype, shape, raw = data[1], data[2], data[3]
        return np.frombuffer(_base64.b64decode(raw), dtype=np.dtype(dtype)).reshape(shape).copy()
    if kind == "dict":
        return {k: _restore(v) for k, v in body}
    if kind in ("list", "tuple"):
        items = [_restore(v) for v in body]
        return tuple(items) if kind == "tuple" else items
    return {"NoneType": lambda s: None, "bool": lambda s: s == "True", "int": int, "float": float,
            "str": lambda s: __import__("ast").literal_eval(s)}[kind](body)


class _Recorded:
    """Stands in for a wrong version: its recorded result for the inputs the judges pass."""

    def __init__(self, outcomes):
        self._outcomes = outcomes

    def __call__(self, *args, **kwargs):
        try:
            key = _fingerprint(args, kwargs)
        except TypeError:
            key = None
        if key not in self._outcomes:
            raise LookupError("no recorded outcome for these inputs")  # judges then skip this mistake
        return _restore(self._outcomes[key])


def _recorded_mistakes():
    path = _Path(__file__).with_name("hints_recorded.json")
    table = _json.loads(path.read_text()) if path.is_file() else {}
    return {function: [Mistake(m["hint"], _Recorded(m["outcomes"])) for m in mistakes]
            for function, mistakes in table.items()}


MISTAKES = _recorded_mistakes()
'''


def student_hints(source: str) -> str:
    """hints.py for students: every top-level statement that defines or uses a private name (the
    wrong versions `_...`) or MISTAKES is dropped; MISTAKES then comes from the recorded outcomes."""
    tree = ast.parse(source)
    lines = source.splitlines()
    kept = []
    for node in tree.body:
        if _is_private(node):
            continue
        start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
        kept.append("\n".join(lines[start - 1:node.end_lineno]))
    note = ("# The student release's copy: the wrong versions behind the hints are left out, and MISTAKES\n"
            "# holds their recorded results on the visible checks' inputs (see the end of this file).")
    if kept and _is_docstring(tree.body[0]):
        kept.insert(1, note)
    else:
        kept.insert(0, note)
    return "\n\n".join(kept) + "\n" + RECORDED_MISTAKES


def _is_private(node: ast.stmt) -> bool:
    """Defines or reads a `_name`, or touches MISTAKES (imports and the docstring are kept)."""
    if isinstance(node, (ast.Import, ast.ImportFrom)) or _is_docstring(node):
        return False
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name):
            name = sub.id
        elif isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            name = sub.name
        else:
            continue
        if name == "MISTAKES" or (name.startswith("_") and name != "_" and not name.startswith("__")):
            return True
    return False


def _is_docstring(node: ast.stmt) -> bool:
    return (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str))


def _recorder() -> dict:
    """The release's _canonical / _fingerprint, run here from the very text that ships."""
    import numpy as np

    from autograder.hints import Mistake

    namespace = {"np": np, "Mistake": Mistake, "__file__": str(PACKAGE / "hints.py")}
    body = RECORDED_MISTAKES.replace("MISTAKES = _recorded_mistakes()", "")
    exec(compile(body, "<release hints>", "exec"), namespace)  # noqa: S102 - our own constant
    return namespace


def record_hints() -> dict:
    """function -> [{"hint", "outcomes": {fingerprint of the inputs: recorded result}}], over every
    call of every visible check of that function. A mistake that raises, whose result cannot be
    recorded, or that is not reproducible (e.g. an unseeded rng) gets no outcome there: the judges
    then pass over it, as they would over a result that no student reproduces."""
    import numpy as np

    from autograder.checks import load_checks
    from autograder.checks.judges import materialise
    from autograder.hints import MISTAKES

    recorder = _recorder()
    canonical, fingerprint = recorder["_canonical"], recorder["_fingerprint"]
    calls: dict[str, list] = {}
    for check in load_checks(include_hidden=False):
        calls.setdefault(check.function, []).extend(check.calls)
    table = {}
    for function, mistakes in MISTAKES.items():
        entries = []
        for mistake in mistakes:
            outcomes = {}
            for call in calls.get(function, []):
                try:
                    key = fingerprint(materialise(call.args), materialise(call.kwargs))
                    with np.errstate(all="ignore"):
                        first = canonical(mistake.wrong(*materialise(call.args), **materialise(call.kwargs)))
                        again = canonical(mistake.wrong(*materialise(call.args), **materialise(call.kwargs)))
                except Exception:  # noqa: BLE001 - a mistake that does not apply here
                    continue
                if first == again:
                    outcomes[key] = first
            entries.append({"hint": mistake.hint, "outcomes": outcomes})
        table[function] = entries
    return table


# ---------------------------------------------------------------- the release's own files

PYPROJECT = """\
[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "nlm-autograder-checks"
version = "{version}"
description = "The visible checks of the assignment 'Training neural language models', run by pytest."
requires-python = ">=3.10"
# torch is installed first, on its own (see README.md): a bare "torch" requirement would make pip
# fetch the multi-gigabyte CUDA build on Linux. Any torch 2.x satisfies this line.
dependencies = [
    "numpy>=1.24",
    "torch>=2.0",
    "nbformat>=5.7",
    "pytest>=8.0",
    "pytest-timeout>=2.1",
    "rich>=13",
    "jsonschema>=4.18",
]

[project.scripts]
nlm-grade = "autograder.cli:main"

[tool.setuptools.packages.find]
include = ["autograder*"]

[tool.setuptools.package-data]
autograder = ["*.json", "report/*.json"]
"""

CONFTEST = '''\
"""Makes `pytest` in this folder run the autograder's visible checks on your work.

The checks live in autograder-checks/ (installed or not: this puts that folder first on the
path, so the copy that came with this release is the one used). Your own test files, if you
write any (test_*.py), are collected as usual next to the checks.
"""

import sys
from pathlib import Path

_CHECKS = str(Path(__file__).resolve().parent / "autograder-checks")
if _CHECKS not in sys.path:
    sys.path.insert(0, _CHECKS)

pytest_plugins = ["autograder.pytest_plugin"]
'''

PYTEST_INI = """\
[pytest]
# The autograder's visible checks (loaded by conftest.py) grade the .py files in this folder;
# `pytest --notebook nlm_training.ipynb` grades the notebook instead.
nlm_checks = true
addopts = -v
# pytest-timeout, for tests of your own: the checks have their own limit per call (--nlm-timeout).
required_plugins = pytest-timeout
timeout = 600
norecursedirs = autograder-checks .* __pycache__ *.egg-info build dist venv .venv
"""


def torch_spec() -> str:
    """The Makefile's torch pin (TORCH_SPEC ?= torch==x.y.z), which the instructors test with."""
    makefile = ROOT / "Makefile"
    if makefile.is_file():
        found = re.search(r"^TORCH_SPEC\s*\?=\s*(\S+)", makefile.read_text(), re.M)
        if found:
            return found.group(1)
    return DEFAULT_TORCH_SPEC


def render_readme(notebook: list[str]) -> str:
    """release_README.md with the points table, totals and the torch pin filled in."""
    from autograder.checks import load_checks

    visible: dict[str, float] = {}
    for check in load_checks(include_hidden=False):
        visible[check.function] = visible.get(check.function, 0.0) + check.points
    rows = ["| function | points | checked here (visible) |", "| --- | ---: | ---: |"]
    for f in FUNCTIONS:
        rows.append(f"| `{f.qualname}`{' (bonus)' if f.bonus else ''} | {f.points:g} | "
                    f"{visible.get(f.qualname, 0):g} |")
    total_visible = sum(visible.values())
    rows.append(f"| **total** | **{MAX_SCORE:g} + {BONUS_SCORE:g} bonus** | **{total_visible:g}** |")
    parts = ["| part | functions | points |", "| --- | --- | ---: |"]
    for part, title in PARTS.items():
        for bonus in (False, True):
            mine = [f for f in FUNCTIONS if f.module == part and f.bonus == bonus]
            if mine:
                label = f"bonus `{part}.py`" if bonus else f"{title.split(':')[0]} `{part}.py`"
                points = sum(f.points for f in mine)
                parts.append(f"| {label} | {', '.join(f'`{f.name}`' for f in mine)} | "
                             f"{'+' if bonus else ''}{points:g} |")
    nb = notebook[0] if notebook else None
    fields = {
        "PARTS_TABLE": "\n".join(parts),
        "TORCH_SPEC": torch_spec(),
        "POINTS_TABLE": "\n".join(rows),
        "MAX_SCORE": f"{MAX_SCORE:g}",
        "BONUS_SCORE": f"{BONUS_SCORE:g}",
        "VISIBLE_POINTS": f"{total_visible:g}",
        "NOTEBOOK": nb or "nlm_training.ipynb",
        "NOTEBOOK_LINE": (f"- `{nb}`: the same assignment as a Jupyter notebook, with the lecture's "
                          "formulas; work in it instead of the .py files if you prefer."
                          if nb else ""),
    }
    text = README_TEMPLATE.read_text()
    for key, value in fields.items():
        text = text.replace("{{" + key + "}}", value)
    leftover = re.findall(r"\{\{[A-Z_]+\}\}", text)
    if leftover:
        raise ValueError(f"release_README.md has unknown fields {leftover}")
    return re.sub(r"\n{3,}", "\n\n", text)


def _zip(folder: Path, target: Path) -> None:
    """folder -> target.zip holding `folder.name/...`, entries sorted and dated alike."""
    target.unlink(missing_ok=True)
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                info = zipfile.ZipInfo(f"{folder.name}/{path.relative_to(folder).as_posix()}", _STAMP)
                info.external_attr = 0o644 << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, path.read_bytes())


def main(out_dir: Path) -> int:
    release = build_release(out_dir)
    files = sum(1 for p in release.rglob("*") if p.is_file())
    print(f"wrote {release}/ ({files} files) and {release.parent / (RELEASE_NAME + '.zip')}")
    return 0


if __name__ == "__main__":
    sys.exit(main(ROOT / "dist"))
