"""`python -m autograder release` / `make release`: the student release, folder and zip.

    dist/student-release/
        README.md                the student README (the course's release_README.md, filled in)
        losses.py backprop.py sgd.py rnn.py   the stubs (assignment/*.py)
        <notebook>.ipynb         the notebook handout, when assignment/ has one
        conftest.py              puts autograder-checks/ on sys.path and loads the pytest plugin
        pytest.ini               turns the visible checks on (nlm_checks = true), pytest-timeout
        nlm_checks-<v>-py3-none-any.whl   the checks as a wheel (Colab: upload it, pip install it)
        autograder-checks/
            pyproject.toml       `pip install -e ./autograder-checks` (numpy, nbformat, pytest, ...)
            autograder/          the checking code students need (build/manifest.py), and nothing else
    dist/student-release.zip     the same, under the folder student-release/
    dist/nlm_checks-<v>-py3-none-any.whl   the wheel again, for the course to put at a URL

What never ships is decided by folder (build/manifest.py): solutions/, the course's hidden checks
and wrong versions (hidden/, mistakes/), the instructor tools. Instead of the wrong versions the
course folder gets `recorded_mistakes.json`: what each known mistake's probe observes on every
visible check's call, recorded here, so a student whose output matches one gets the same hint as
on Gradescope (autograder/check/mistakes.py). Likewise `recorded_reference.json` holds the
reference's observation on every visible check's call, so the students' checks judge those
without importing torch (the reference itself, which ships, is imported only where a check needs
more: finite differences, or a stand-in's answer).

The package installs as `nlm-checks` (`pip install -e ./autograder-checks`, or the wheel); either
registers the pytest plugin (entry point `pytest11`), so `pytest --submission PATH` also works with
a PATH outside the folder, where pytest would otherwise parse its options before the conftest
that defines them.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import shutil
import sys
import zipfile
from pathlib import Path
from typing import Any

from autograder.build.manifest import ENGINE, course_folder, shipped_files
from autograder.registry import Course, load_course
from autograder.student.checking import RECORDED_REFERENCE

ROOT = Path(__file__).resolve().parents[2]
ASSIGNMENT = ROOT / "assignment"
RELEASE_NAME = "student-release"
CHECKS_FOLDER = "autograder-checks"  # the package's folder inside the release
DEFAULT_TORCH_SPEC = "torch==2.13.0"
_STAMP = (2024, 1, 1, 0, 0, 0)  # every zip entry's date: the same release, the same bytes


def build_release(course: Course, out_dir: Path = ROOT / "dist", assignment: Path = ASSIGNMENT) -> Path:
    """Write `out_dir/student-release/` and `out_dir/student-release.zip`; return the folder."""
    from autograder.check import load_checks
    from autograder.check.mistakes import RECORDED_FILE, record_mistakes

    out_dir = Path(out_dir).resolve()
    release = out_dir / RELEASE_NAME
    if release.exists():
        shutil.rmtree(release)
    release.mkdir(parents=True)

    handouts = sorted(assignment.glob("*.py")) + sorted(assignment.glob("*.ipynb"))
    for path in handouts:
        shutil.copy2(path, release / path.name)

    checks = release / CHECKS_FOLDER
    for name, source in shipped_files("student", course):
        target = checks / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
    visible = load_checks(course, include_hidden=False)
    shipped_course = checks / course_folder(course).relative_to(ENGINE.parent)
    (shipped_course / RECORDED_FILE).write_text(json.dumps(record_mistakes(course, visible), sort_keys=True))
    (shipped_course / RECORDED_REFERENCE).write_text(json.dumps(record_reference(visible), sort_keys=True))

    from autograder import __version__

    (checks / "pyproject.toml").write_text(PYPROJECT.format(version=__version__, course=course.name,
                                                             dependencies=_toml_list(DEPENDENCIES)))
    (release / "conftest.py").write_text(CONFTEST)
    (release / "pytest.ini").write_text(PYTEST_INI.format(notebook=course.notebook_name))
    wheel = write_wheel(checks / "autograder", out_dir, __version__, course)
    shutil.copy2(wheel, release / wheel.name)
    notebooks = [p.name for p in handouts if p.suffix == ".ipynb"]
    (release / "README.md").write_text(render_readme(course, notebooks, wheel.name))

    _zip(release, out_dir / f"{RELEASE_NAME}.zip")
    return release


def record_reference(checks: list[Any]) -> dict[str, str]:
    """{"<qualname> <call fingerprint>": the reference's observation as protocol JSON} over every
    call of `checks` (autograder.check.judges reads them back)."""
    from autograder.check.judges import recorded_key, reference_observation
    from autograder.isolate import protocol

    return {recorded_key(check, call): protocol.encode(reference_observation(check, call)).decode()
            for check in checks for call in check.calls}


# ---------------------------------------------------------------- the wheel

DISTRIBUTION = "nlm-checks"
DEPENDENCIES = ("numpy>=1.24", "torch>=2.0", "nbformat>=5.7", "pytest>=8.0", "pytest-timeout>=2.1",
                "rich>=13", "jsonschema>=4.18")
ENTRY_POINTS = """\
[console_scripts]
nlm-grade = autograder.cli:main

[pytest11]
nlm-checks = autograder.student.pytest_plugin
"""


def write_wheel(package: Path, out_dir: Path, version: str, course: Course) -> Path:
    """out_dir/nlm_checks-<version>-py3-none-any.whl: `package` (the shipped autograder/) with
    its metadata, entries sorted and dated alike (the same release, the same bytes)."""
    tag = DISTRIBUTION.replace("-", "_")
    info = f"{tag}-{version}.dist-info"
    files = {f"autograder/{p.relative_to(package).as_posix()}": p.read_bytes()
             for p in sorted(package.rglob("*")) if p.is_file()}
    metadata = ["Metadata-Version: 2.1", f"Name: {DISTRIBUTION}", f"Version: {version}",
                f"Summary: The visible checks of the assignment '{course.name}', run by pytest or check().",
                "Requires-Python: >=3.10", *(f"Requires-Dist: {d}" for d in DEPENDENCIES)]
    files[f"{info}/METADATA"] = ("\n".join(metadata) + "\n").encode()
    files[f"{info}/WHEEL"] = b"Wheel-Version: 1.0\nGenerator: autograder.build.release\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    files[f"{info}/entry_points.txt"] = ENTRY_POINTS.encode()
    record = [f"{name},sha256={_digest(data)},{len(data)}" for name, data in files.items()]
    files[f"{info}/RECORD"] = ("\n".join([*record, f"{info}/RECORD,,"]) + "\n").encode()
    target = Path(out_dir) / f"{tag}-{version}-py3-none-any.whl"
    target.unlink(missing_ok=True)
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            entry = zipfile.ZipInfo(name, _STAMP)
            entry.external_attr = 0o644 << 16
            entry.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(entry, data)
    return target


def _digest(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def _toml_list(items: tuple[str, ...]) -> str:
    return "\n".join(f'    "{item}",' for item in items)


# ---------------------------------------------------------------- the release's own files

PYPROJECT = """\
[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "nlm-checks"
version = "{version}"
description = "The visible checks of the assignment '{course}', run by pytest or check()."
requires-python = ">=3.10"
# torch may be installed first, on its own (see README.md): from PyTorch's CPU index it is a few
# hundred MB instead of the CUDA build. Any torch 2.x satisfies this line.
dependencies = [
{dependencies}
]

[project.scripts]
nlm-grade = "autograder.cli:main"

# pytest loads the checks' plugin before it reads its command line: `pytest --submission PATH`
# then works with a PATH outside this folder too.
[project.entry-points.pytest11]
nlm-checks = "autograder.student.pytest_plugin"

[tool.setuptools.packages.find]
include = ["autograder*"]

[tool.setuptools.package-data]
autograder = ["*.json", "report/*.json", "course/*.json"]
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

if "autograder.student.pytest_plugin" not in sys.modules:  # not loaded already from an installed copy
    pytest_plugins = ["autograder.student.pytest_plugin"]
'''

PYTEST_INI = """\
[pytest]
# The autograder's visible checks (loaded by conftest.py) grade the .py files in this folder;
# `pytest --notebook {notebook}` grades the notebook instead.
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


def render_readme(course: Course, notebook: list[str], wheel: str = "nlm_checks-VERSION-py3-none-any.whl") -> str:
    """The course's release_README.md with the points table, totals, the torch pin and the wheel's name filled in."""
    from autograder.build.handout import fill
    from autograder.check import load_checks

    visible: dict[str, float] = {}
    for check in load_checks(course, include_hidden=False):
        visible[check.function.qualname] = visible.get(check.function.qualname, 0.0) + check.points
    rows = ["| function | points | checked here (visible) |", "| --- | ---: | ---: |"]
    for f in course.functions:
        rows.append(f"| `{f.qualname}`{' (bonus)' if f.bonus else ''} | {f.points:g} | "
                    f"{visible.get(f.qualname, 0):g} |")
    total_visible = sum(visible.values())
    rows.append(f"| **total** | **{course.max_score:g} + {course.bonus_score:g} bonus** | **{total_visible:g}** |")
    parts = ["| part | functions | points |", "| --- | --- | ---: |"]
    for part in course.parts:
        for bonus in (False, True):
            mine = [f for f in course.in_part(part) if f.bonus == bonus]
            if mine:
                label = f"bonus `{part.file}`" if bonus else f"{part.short_title} `{part.file}`"
                points = sum(f.points for f in mine)
                parts.append(f"| {label} | {', '.join(f'`{f.name}`' for f in mine)} | "
                             f"{'+' if bonus else ''}{points:g} |")
    nb = notebook[0] if notebook else None
    fields = {
        "PARTS_TABLE": "\n".join(parts),
        "TORCH_SPEC": torch_spec(),
        "WHEEL": wheel,
        "POINTS_TABLE": "\n".join(rows),
        "MAX_SCORE": f"{course.max_score:g}",
        "BONUS_SCORE": f"{course.bonus_score:g}",
        "VISIBLE_POINTS": f"{total_visible:g}",
        "NOTEBOOK": nb or course.notebook_name,
        "NOTEBOOK_LINE": (f"- `{nb}`: the same assignment as a Jupyter notebook, with the lecture's "
                          "formulas; work in it instead of the .py files if you prefer."
                          if nb else ""),
    }
    text = fill((course_folder(course) / "release_README.md").read_text(), fields)
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


def main(out_dir: Path, course: Course | None = None) -> int:
    release = build_release(course or load_course(), out_dir)
    files = sum(1 for p in release.rglob("*") if p.is_file())
    wheel = next(release.glob("nlm_checks-*.whl")).name
    print(f"wrote {release}/ ({files} files), {release.parent / (RELEASE_NAME + '.zip')} and {release.parent / wheel}")
    return 0


if __name__ == "__main__":
    sys.exit(main(ROOT / "dist"))
