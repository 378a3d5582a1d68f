"""Build the Gradescope autograder zip: `make gradescope` / `python -m autograder bundle`.

The zip holds, at its root, `setup.sh` and `run_autograder` (from the templates in `gradescope/`,
executable), `requirements.txt` (torch pinned to the Makefile's TORCH_SPEC, everything else the
grader imports pinned to the versions installed here) and the `autograder` package, hidden checks
included. Never `solutions/`, `assignment/`, tests, examples or the virtual environment: the
package is the only folder copied, and the build fails if any file it ships carries a solution
marker. Entries are sorted and dated 1980-01-01, so the same tree gives the same zip.
"""

from __future__ import annotations

import importlib.metadata as metadata
import os
import re
import sys
import tempfile
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PACKAGE = REPO / "autograder"
TEMPLATES = REPO / "gradescope"
DEFAULT_OUT = REPO / "dist" / "gradescope-autograder.zip"

# Instructor tools that read solutions/ to write the handout and the student release; Gradescope
# never runs them (the commands that use them import them lazily).
DEV_ONLY = {"stubs.py", "notebook.py", "release.py"}
SHIPPED_SUFFIXES = {".py", ".json", ".html"}
# Spelled in two pieces so that this file, which is shipped, does not contain the markers itself.
SOLUTION_MARKERS = ("BEGIN " + "SOLUTION", "END " + "SOLUTION")
# Needed by pytest and the build only, or installed with torch itself.
NOT_SHIPPED_REQUIREMENTS = {"torch", "pytest", "pytest-timeout", "pip", "setuptools", "wheel"}

_EXECUTABLE = 0o100755 << 16
_REGULAR = 0o100644 << 16
_EPOCH = (1980, 1, 1, 0, 0, 0)


def build_gradescope_zip(out: Path = DEFAULT_OUT, torch_spec: str | None = None) -> Path:
    """Write the autograder zip to `out` (atomically) and return its path."""
    out = Path(out).resolve()
    torch_spec = torch_spec or os.environ.get("TORCH_SPEC") or makefile_torch_spec()
    entries: list[tuple[str, bytes, int]] = [
        ("setup.sh", render(TEMPLATES / "setup.sh", torch_spec), _EXECUTABLE),
        ("run_autograder", (TEMPLATES / "run_autograder").read_bytes(), _EXECUTABLE),
        ("requirements.txt", requirements_txt(torch_spec).encode(), _REGULAR),
    ]
    entries += [(name, path.read_bytes(), _REGULAR) for name, path in package_files()]
    for name, data, _ in entries:
        if name.endswith((".py", ".txt", ".json", ".html", ".sh")) or "." not in name:
            text = data.decode("utf-8", errors="replace")
            if any(marker in text for marker in SOLUTION_MARKERS):
                raise RuntimeError(f"{name} contains a solution marker: it must not be shipped")
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)
    os.close(fd)
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for name, data, mode in entries:
                info = zipfile.ZipInfo(name, date_time=_EPOCH)
                info.create_system = 3  # Unix: unzip then honours the mode bits below
                info.external_attr = mode
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return out


def package_files() -> list[tuple[str, Path]]:
    """(name in the zip, file) for the autograder package, sorted; no caches, no dev tools."""
    files = []
    for root, dirs, names in os.walk(PACKAGE):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__" and not d.startswith("."))
        for name in sorted(names):
            path = Path(root) / name
            relative = path.relative_to(REPO).as_posix()
            if path.suffix not in SHIPPED_SUFFIXES or name.startswith("."):
                continue
            if path.parent == PACKAGE and name in DEV_ONLY:
                continue
            files.append((relative, path))
    if not any(name.startswith("autograder/checks/hidden/") for name, _ in files):
        raise RuntimeError("autograder/checks/hidden is missing: the bundle would grade visible checks only")
    return files


def render(template: Path, torch_spec: str) -> bytes:
    text = template.read_text()
    text = text.replace("@TORCH_SPEC@", torch_spec)
    text = text.replace("@PYTHON_MIN@", f"{sys.version_info.major}.{sys.version_info.minor}")
    if re.search(r"@[A-Z_]+@", text):
        raise RuntimeError(f"{template.name} has a placeholder the build does not fill")
    return text.encode()


def makefile_torch_spec() -> str:
    """TORCH_SPEC's default in the Makefile (`TORCH_SPEC ?= torch==X`)."""
    match = re.search(r"^TORCH_SPEC\s*\??=\s*(\S+)", (REPO / "Makefile").read_text(), re.M)
    if not match:
        raise RuntimeError("no TORCH_SPEC in the Makefile")
    return match.group(1)


def requirements_txt(torch_spec: str) -> str:
    """torch as pinned by the Makefile, then every other package the grader needs, with its own
    dependencies, pinned to the version installed in this environment."""
    if not re.fullmatch(r"torch==[\w.+!-]+", torch_spec):
        raise RuntimeError(f"TORCH_SPEC must pin one version (torch==X.Y.Z), not {torch_spec!r}")
    pins = pinned_closure([r for r in project_dependencies() if _name(r) not in NOT_SHIPPED_REQUIREMENTS])
    lines = ["# Generated by `make gradescope`; setup.sh installs torch first from the CPU index.",
             torch_spec.split("+")[0]]
    lines += [f"{name}=={version}" for name, version in sorted(pins.items(), key=lambda p: p[0].lower())]
    return "\n".join(lines) + "\n"


def project_dependencies() -> list[str]:
    text = (REPO / "pyproject.toml").read_text()
    try:
        import tomllib

        return list(tomllib.loads(text)["project"]["dependencies"])
    except ImportError:  # Python 3.10: the dependencies array is simple enough to read directly
        block = re.search(r"^dependencies\s*=\s*\[(.*?)\]", text, re.S | re.M)
        return re.findall(r'"([^"]+)"', block.group(1)) if block else []


def pinned_closure(requirements: list[str]) -> dict[str, str]:
    """{distribution name: installed version} for `requirements` and, recursively, what they need
    here (environment markers evaluated, extras not taken); torch's own tree is left to torch."""
    from packaging.requirements import Requirement

    pins: dict[str, str] = {}
    todo = list(requirements)
    while todo:
        requirement = Requirement(todo.pop())
        key = _name(requirement.name)
        if key in NOT_SHIPPED_REQUIREMENTS or any(_name(n) == key for n in pins):
            continue
        if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
            continue
        try:
            dist = metadata.distribution(requirement.name)
        except metadata.PackageNotFoundError:
            raise RuntimeError(f"{requirement.name} is not installed here: run `make install` first") from None
        pins[dist.metadata["Name"]] = dist.version
        todo += dist.requires or []
    return pins


def _name(requirement: str) -> str:
    """The normalised project name at the start of a requirement string."""
    return re.sub(r"[-_.]+", "-", re.match(r"\s*([A-Za-z0-9._-]+)", requirement).group(1)).lower()


def main(out: Path = DEFAULT_OUT) -> int:
    path = build_gradescope_zip(out)
    with zipfile.ZipFile(path) as archive:
        count = len(archive.namelist())
    print(f"wrote {path} ({count} files, {path.stat().st_size / 1024:.0f} KiB)")
    return 0
