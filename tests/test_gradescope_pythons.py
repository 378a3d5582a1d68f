"""The Gradescope bundle's requirements.txt installs, from PyPI's wheels, on every supported Python
(pyproject's classifiers: 3.10 to 3.13) that this machine has, each in a fresh virtual environment
(resolved by pip running on that Python), and pins everything it installs. With each, the unpacked bundle imports its
grading entry point and loads a notebook submission (nbformat, jsonschema), importing none of the
instructor-only packages. torch is not installed (for most Pythons only its CUDA build could be
downloaded); where the test's own interpreter has it and is that Python, the environment is given
that torch (linked, with what torch needs, but none of the lock's packages) and run_autograder
grades the solutions with it.
"""

from __future__ import annotations

import importlib.metadata as metadata
import os
import shutil
import subprocess
import sys
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from autograder.build.bundle import build_gradescope_zip
from autograder.build.lock import name_of, pyproject, pypi_only_environment, read_lock, supported_pythons
from autograder.course import COURSE
from conftest import ASSIGNMENT, SOLUTIONS
from test_gradescope import make_root, run_autograder, spy_dir, total_points

PYTHONS = supported_pythons()
INSTALL_TIMEOUT_S = 300
INSTRUCTOR_ONLY = {name_of(r) for r in pyproject()["optional-dependencies"]["instructor"]}
# ... and the modules they provide here ("yaml" for PyYAML), which grading must never import.
INSTRUCTOR_MODULES = {module for module, dists in metadata.packages_distributions().items()
                      if any(name_of(d) in INSTRUCTOR_ONLY for d in dists)}

IMPORT_CHECK = """
import sys, tempfile
from pathlib import Path
import autograder.gradescope as gradescope
from autograder.check import load_checks
from autograder.load import load_submission
from autograder.registry import load_course

course = load_course()
checks = load_checks(course)
with tempfile.TemporaryDirectory() as dest:
    submission = load_submission(Path(sys.argv[1]), Path(dest), course)
assert sorted(submission.modules) == sorted(course.modules), submission.messages
assert gradescope.valid(gradescope.failure_results(0.0))
import importlib.metadata as metadata
print("LOADED", " ".join(sorted({name.split(".")[0] for name in sys.modules})))
print("INSTALLED", " ".join(sorted(f"{d.metadata['Name']}=={d.version}" for d in metadata.distributions())))
"""


def interpreter(version: str) -> str | None:
    """A python of `version` (X.Y): pyenv's, else one on PATH; None when the machine has none."""
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    candidates = sorted(pyenv.glob(f"{version}.*/bin/python{version}"), reverse=True)
    candidates += [Path(d) / f"python{version}" for d in os.environ.get("PATH", "").split(os.pathsep)]
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK) and reports_version(str(candidate), version):
            return str(candidate)
    return None


def reports_version(python: str, version: str) -> bool:
    """Whether `python` runs and is `version` (a pyenv shim of an inactive version does not run)."""
    done = subprocess.run([python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                          capture_output=True, text=True)
    return done.returncode == 0 and done.stdout.strip() == version


@dataclass
class Install:
    version: str
    python: str | None
    venv: Path
    steps: list[subprocess.CompletedProcess]  # the last: IMPORT_CHECK, run in the unpacked bundle

    @property
    def ok(self) -> bool:
        return all(step.returncode == 0 for step in self.steps)

    def log(self) -> str:
        return "\n".join(f"$ {' '.join(map(str, s.args))}\n{s.stdout[-3000:]}{s.stderr[-3000:]}" for s in self.steps)

    @property
    def bin(self) -> Path:
        return self.venv / "bin"

    def printed(self, tag: str) -> set[str]:
        """The words IMPORT_CHECK printed after `tag`."""
        return set(next(line for line in self.steps[-1].stdout.splitlines() if line.startswith(tag)).split()[1:])


def install(version: str, requirements: Path, source: Path, folder: Path) -> Install:
    """A virtual environment of `version` with the bundle's requirements but torch, from PyPI
    alone (no local index or pip configuration), then IMPORT_CHECK in the bundle's `source`.
    This pip, run by `--python` on that Python (which evaluates markers and Requires-Python),
    spares each environment a pip of its own; --no-compile spares bytecode the imports write."""
    python, venv = interpreter(version), folder / f"venv-{version}"
    result = Install(version, python, venv, [])
    if python is None:
        return result
    notebook = ASSIGNMENT / COURSE.notebook_name
    for command in ([python, "-m", "venv", "--without-pip", str(venv)],
                    [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install",
                     "--only-binary=:all:", "--no-compile", "-r", str(requirements)],
                    [str(venv / "bin" / "python"), "-c", IMPORT_CHECK, str(notebook)]):
        result.steps.append(subprocess.run(command, capture_output=True, text=True, env=pypi_only_environment(),
                                           cwd=source, timeout=INSTALL_TIMEOUT_S))
        if not result.ok:
            break
    return result


@pytest.fixture(scope="module")
def bundle_zip(tmp_path_factory) -> Path:
    return build_gradescope_zip(COURSE, tmp_path_factory.mktemp("bundle") / "gradescope-autograder.zip")


@pytest.fixture(scope="module")
def bundle_root(bundle_zip) -> Path:
    """The bundle unpacked into a folder laid out like /autograder (no submission)."""
    root = make_root(bundle_zip, {})
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def installs(bundle_root, tmp_path_factory) -> dict[str, Install]:
    """One environment per supported Python, all installed at once (pip waits on the network)."""
    folder = tmp_path_factory.mktemp("venvs")
    requirements = folder / "requirements-without-torch.txt"
    lines = (bundle_root / "source" / "requirements.txt").read_text().splitlines()
    requirements.write_text("\n".join(line for line in lines if not line.startswith("torch==")) + "\n")
    with ThreadPoolExecutor(max_workers=len(PYTHONS)) as pool:
        return dict(zip(PYTHONS, pool.map(lambda v: install(v, requirements, bundle_root / "source", folder), PYTHONS)))


def ready(installs: dict[str, Install], version: str) -> Install:
    done = installs[version]
    if done.python is None:
        pytest.skip(f"no Python {version} on this machine (neither under pyenv nor on PATH): "
                    "the bundle's requirements are untested on it here")
    assert done.ok, done.log()
    return done


@pytest.mark.slow
@pytest.mark.parametrize("version", PYTHONS)
def test_the_requirements_install_and_pin_everything(installs, version):
    done = ready(installs, version)
    installed = {name_of(n): v for n, v in (item.split("==", 1) for item in done.printed("INSTALLED"))}
    assert installed == {name_of(n): v for n, v in read_lock().items()}  # nothing unpinned came along
    assert not set(installed) & INSTRUCTOR_ONLY


@pytest.mark.slow
@pytest.mark.parametrize("version", PYTHONS)
def test_the_bundle_imports_and_loads_a_notebook(installs, version):
    done = ready(installs, version)
    # The notebook was read (nbformat) in the loader's bounded child, with the same interpreter:
    # the probe asserts its parts loaded; here, what the grader process itself imported.
    assert {"autograder", "jsonschema", "numpy"} <= done.printed("LOADED")
    assert INSTRUCTOR_MODULES and not done.printed("LOADED") & INSTRUCTOR_MODULES


def link_torch(done: Install) -> None:
    """Give the environment this interpreter's torch and what torch needs, except what the lock
    pins (the lock's own versions stay first on sys.path): links in a folder named by a .pth."""
    overlay = done.venv / "torch-overlay"
    overlay.mkdir()
    pinned = {name_of(n) for n in read_lock()}
    todo, seen = ["torch"], set()
    while todo:
        requirement = Requirement(todo.pop())
        key = name_of(requirement.name)
        if key in seen or key in pinned or (requirement.marker and not requirement.marker.evaluate({"extra": ""})):
            continue
        seen.add(key)
        dist = metadata.distribution(requirement.name)
        for top in {f.parts[0] for f in dist.files or [] if f.parts[0] not in ("..", "__pycache__")}:
            if not (overlay / top).exists():
                (overlay / top).symlink_to(Path(dist.locate_file(top)))
        todo += dist.requires or []
    site = next(done.venv.glob("lib/python*/site-packages"))
    (site / "torch-overlay.pth").write_text(f"{overlay}\n")


@pytest.mark.slow
def test_with_torch_the_bundle_grades_the_solutions(installs, bundle_zip):
    version = "%d.%d" % sys.version_info[:2]
    try:
        metadata.distribution("torch")
    except metadata.PackageNotFoundError:
        pytest.skip("this interpreter has no torch to lend the test environments")
    if version not in installs:
        pytest.skip(f"this interpreter is Python {version}, not a supported one")
    done = ready(installs, version)
    link_torch(done)
    root, spy = make_root(bundle_zip, SOLUTIONS), spy_dir()
    try:
        run = run_autograder(root, spy, PATH=f"{done.bin}:{os.defpath}")
        assert run.results["score"] == pytest.approx(total_points()), run.process.stdout + run.process.stderr
    finally:
        shutil.rmtree(root, ignore_errors=True)
        shutil.rmtree(spy, ignore_errors=True)
