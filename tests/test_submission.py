"""The submission loader: folders, notebooks and zips become importable modules, never executed."""

from __future__ import annotations

import ast
import json
import os
import stat
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest

from autograder.course import COURSE
from autograder.load import Submission, load_submission

PART_MODULES = COURSE.modules

SOFTMAX = "import numpy as np\n\ndef softmax(x):\n    return np.exp(x) / np.exp(x).sum()\n"


# --- helpers -----------------------------------------------------------------------------------


def load(tmp_path: Path, path: Path) -> Submission:
    dest = tmp_path / "dest"
    dest.mkdir()
    return load_submission(path, dest, COURSE)


def code(source: str, answer: str | None = None) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(source)
    if answer:
        cell.metadata["nlm"] = {"answer": answer}
    return cell


def write_notebook(path: Path, cells: list, minor: int = 5, metadata: dict | None = None) -> Path:
    """Write raw JSON (not nbformat.write, which would normalise what we want to test)."""
    nb = json.loads(json.dumps(nbformat.v4.new_notebook(cells=cells, metadata=metadata or {})))
    nb["nbformat_minor"] = minor
    if minor < 5:  # cell ids arrived in 4.5
        for cell in nb["cells"]:
            cell.pop("id", None)
    path.write_text(json.dumps(nb))
    return path


def write_zip(path: Path, entries: dict[str, str | bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return path


def statements(source: str) -> list[str]:
    """A generated part module's top-level statements, one short label each, without the imports
    of the other parts' graded functions that close every one (tested on their own)."""
    labels = []
    for node in ast.parse(source).body:
        if isinstance(node, ast.ImportFrom) and node.module in PART_MODULES:
            continue
        if isinstance(node, ast.Try) and all(isinstance(n, (ast.Import, ast.ImportFrom)) for n in node.body):
            assert [ast.unparse(h.type) for h in node.handlers] == ["ImportError"]
            node = node.body[0]  # a guarded import: a missing plotting library must not sink the notebook
        if isinstance(node, ast.Import):
            labels += [f"import {a.name}" for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            labels += [f"from {node.module} import {a.name}" for a in node.names]
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            labels.append(f"{type(node).__name__} {node.name}")
        elif isinstance(node, ast.Assign):
            labels.append(f"{ast.unparse(node.targets[0])} =")
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            labels.append(f"docstring {node.value.value}")
        else:
            labels.append(f"other: {ast.unparse(node)}")
    return labels


def listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


PART_FILES = sorted(f"{m}.py" for m in PART_MODULES)


def part(sub: Submission, module: str) -> str:
    return (sub.folder / f"{module}.py").read_text()


# --- folders and single files ------------------------------------------------------------------


def test_folder_copies_only_top_level_python_modules(tmp_path):
    src = tmp_path / "upload"
    src.mkdir()
    for name in ["losses.py", "sgd.py", "helpers.py", "my losses.py", ".hidden.py", "notes.txt", "hw.ipynb"]:
        (src / name).write_text("X = 1\n")
    (src / "__pycache__").mkdir()
    (src / "__pycache__" / "losses.cpython-311.pyc").write_bytes(b"")
    (src / "sub").mkdir()
    (src / "sub" / "backprop.py").write_text("X = 1\n")
    (tmp_path / "outside.py").write_text("SECRET = 1\n")
    (src / "rnn.py").symlink_to(tmp_path / "outside.py")

    sub = load(tmp_path, src)

    assert (sub.kind, sub.modules) == ("folder", ("losses", "sgd"))
    assert listing(sub.folder) == sorted(["helpers.py", *PART_FILES])  # an empty module for each part lacking
    assert part(sub, "rnn").startswith("#") and "def" not in part(sub, "rnn")
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o644 for p in sub.folder.iterdir())
    assert stat.S_IMODE(sub.folder.stat().st_mode) == 0o755
    text = "\n".join(sub.messages)
    assert "skipped rnn.py: it is a symbolic link (links are not followed)" in text
    assert "skipped my losses.py: not a valid module name" in text
    assert "missing backprop.py, rnn.py" in text
    assert "ignored hw.ipynb: the .py files are graded" in text


def test_folder_with_nothing_gradable_is_empty_and_says_what_it_found(tmp_path):
    src = tmp_path / "upload"
    src.mkdir()
    (src / "a.txt").write_text("hi")
    (src / "b.pdf").write_bytes(b"%PDF")
    sub = load(tmp_path, src)
    assert (sub.kind, sub.modules, listing(sub.folder)) == ("empty", (), [])
    files = ", ".join(p.file for p in COURSE.parts)
    assert sub.messages == [f"nothing to grade: found a.txt, b.pdf; expected {files} (at the top or inside one "
                            "folder), or one .py file or notebook (.ipynb) holding the whole assignment, or a "
                            ".zip of these"]
    assert set(sub.missing) == set(COURSE.functions)


def test_single_python_file(tmp_path):
    (tmp_path / "losses.py").write_text(SOFTMAX)
    (tmp_path / "mine.py").write_text(SOFTMAX)
    single = load(tmp_path, tmp_path / "losses.py")
    assert (single.kind, single.modules, listing(single.folder)) == ("folder", ("losses",), PART_FILES)
    dest = tmp_path / "other"
    dest.mkdir()
    other = load_submission(tmp_path / "mine.py", dest, COURSE)  # one script holding every part
    assert (other.kind, other.modules, listing(dest)) == ("script", ("losses",), PART_FILES)
    assert other.messages[0].startswith("mine.py: graded as one script holding every part")
    assert "def softmax" in part(other, "losses") and "def softmax" not in part(other, "rnn")


def test_missing_path_is_rejected_and_an_unsupported_one_is_empty(tmp_path):
    (tmp_path / "report.pdf").write_bytes(b"%PDF")
    sub = load(tmp_path, tmp_path / "missing.ipynb")
    assert (sub.kind, sub.modules) == ("rejected", ())
    assert sub.messages[0].startswith("rejected: missing.ipynb")
    dest = tmp_path / "other"
    dest.mkdir()
    pdf = load_submission(tmp_path / "report.pdf", dest, COURSE)
    assert (pdf.kind, len(pdf.messages)) == ("empty", 1)
    assert pdf.messages[0].startswith("nothing to grade: found report.pdf; expected ")


def test_destination_must_exist_and_be_empty(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_submission(tmp_path, tmp_path / "nope", COURSE)
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("")
    with pytest.raises(ValueError):
        load_submission(tmp_path, tmp_path / "full", COURSE)


# --- notebooks ---------------------------------------------------------------------------------


def test_notebook_keeps_exactly_imports_definitions_and_constants(tmp_path):
    cells = [
        nbformat.v4.new_markdown_cell("# Homework"),  # cell 1
        code('"""My answers."""\nimport numpy as np\nfrom math import exp'),
        code("%matplotlib inline\nimport matplotlib.pyplot as plt"),
        code("!pip install x"),
        code('V = 10\nEPS = 1e-8\nNAMES = ("a", "b")\nSIZE = -2 ** 10\nmodel = build()'),  # cell 5
        code("print('hello')"),
        code("undefined_name + 1"),
        code("import time\ntime.sleep(100)"),
        code("import functools\n\n\n@functools.lru_cache(maxsize=None)\ndef softmax(x):\n"
             "    # keep me\n    return x\n\n\nclass Model:\n    pass"),
        code("for epoch in range(3):\n    loss = softmax(epoch)\nplt.plot([1, 2])\nplt.show()"),  # cell 10
        code("def broken(:\n    pass"),
        code("%%time\ndef timed():\n    pass"),
        code("from __future__ import annotations\n\ndef log_softmax(x: Tensor):\n    return x"),
        code("def bad():\n    nonlocal x\n"),
        code("def timed(x):\n    %timeit x\n    return x\n!ls"),  # cell 15: an indented magic
    ]
    sub = load(tmp_path, write_notebook(tmp_path / "hw.ipynb", cells))

    assert (sub.kind, sub.modules) == ("notebook", ("losses",))
    assert listing(sub.folder) == PART_FILES
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o644 for p in sub.folder.iterdir())
    shared = [
        "docstring My answers.",
        "from __future__ import annotations",
        "import numpy", "from math import exp",
        "V =", "EPS =", "NAMES =", "SIZE =",
        "import time",
        "import functools", "ClassDef Model",
        "FunctionDef timed",
    ]
    for module in PART_MODULES:  # every part has the shared definitions; its own graded functions follow
        source = part(sub, module)
        compile(source, f"{module}.py", "exec")  # e.g. the __future__ import must come first
        graded = ["FunctionDef softmax", "FunctionDef log_softmax"] if module == "losses" else []
        assert statements(source) == shared + graded, module
    assert "@functools.lru_cache(maxsize=None)\ndef softmax(x):\n    # keep me\n" in part(sub, "losses")
    text = "\n".join(sub.messages)
    assert ("removed 5 IPython magic or shell commands: "
            "%matplotlib inline, !pip install x, %%time, %timeit x, !ls") in text
    assert ("dropped 7 top-level statements (only imports, definitions and constants are kept): "
            "an assignment to model (cell 5), a call to print() (cell 6), an expression (cell 7), "
            "a call to time.sleep() (cell 8), a loop (cell 10)") in text
    assert "notebook: `matplotlib` not available where your work is graded" in text
    assert "SyntaxError in cell 11, line 1: " in text
    assert "SyntaxError in cell 14, line 2: " in text


def test_notebook_modules_import_without_running_the_rest(tmp_path):
    """The generated folder imports cleanly (in a child, as grading will) though cells would raise;
    each part module gets the other parts' graded functions from their own modules."""
    others = "".join(f"def {f.name}(*args):\n    return {f.name!r}\n\n" for f in COURSE.functions
                     if f.name != "softmax")
    cells = [code(SOFTMAX), code("raise SystemExit('ran student code')"), code(others), code("open('ran', 'w')")]
    sub = load(tmp_path, write_notebook(tmp_path / "hw.ipynb", cells))
    probe = ("import losses, rnn; print(losses.softmax([0.0, 0.0]).tolist(), rnn.softmax is losses.softmax, "
             "'softmax' in vars(rnn) and rnn.__dict__['np'] is losses.np)")
    out = subprocess.run([sys.executable, "-c", probe], cwd=sub.folder, capture_output=True, text=True,
                         check=True, timeout=60).stdout
    assert out.split() == ["[0.5,", "0.5]", "True", "True"]
    assert not (sub.folder / "ran").exists()


def test_marked_cells_take_precedence(tmp_path):
    cells = [
        code("def softmax(x):\n    return 'draft'"),
        code("def softmax(x):\n    return 'final'", answer="losses.softmax"),
        code("def helper():\n    pass"),
    ]
    sub = load(tmp_path, write_notebook(tmp_path / "hw.ipynb", cells))
    source = part(sub, "losses")
    assert statements(source) == ["FunctionDef softmax"]
    assert "'final'" in source and "draft" not in source
    assert "graded the 1 marked answer cell, ignored 2 unmarked code cells" in sub.messages[0]


@pytest.mark.parametrize("minor", [0, 5])
def test_nbformat_4_minor_versions_load(tmp_path, minor):
    path = write_notebook(tmp_path / "hw.ipynb", [code("")], minor=minor)
    nb = json.loads(path.read_text())
    nb["cells"][0]["source"] = ["def softmax(x):\n", "    return x\n"]  # on disk, sources are line lists
    path.write_text(json.dumps(nb))
    sub = load(tmp_path, path)
    assert sub.kind == "notebook"
    assert statements(part(sub, "losses")) == ["FunctionDef softmax"]


def test_colab_metadata_is_tolerated(tmp_path):
    metadata = {"colab": {"provenance": [], "name": "hw.ipynb"}, "accelerator": "GPU",
                "kernelspec": {"name": "python3", "display_name": "Python 3"}}
    cell = code(SOFTMAX)
    cell.metadata.update({"id": "8xK2", "colab": {"base_uri": "https://localhost:8080/"}, "outputId": "f3"})
    cell.outputs = [nbformat.v4.new_output("stream", text="hello\n")]
    sub = load(tmp_path, write_notebook(tmp_path / "hw.ipynb", [cell], minor=0, metadata=metadata))
    assert sub.kind == "notebook"
    assert "FunctionDef softmax" in statements(part(sub, "losses"))


def test_empty_notebook_gives_modules_without_functions(tmp_path):
    sub = load(tmp_path, write_notebook(tmp_path / "hw.ipynb", []))
    assert (sub.kind, sub.modules, listing(sub.folder)) == ("notebook", (), PART_FILES)
    assert all(statements(part(sub, m)) == [] for m in PART_MODULES)
    assert set(sub.missing) == set(COURSE.functions)
    assert "notebook: the notebook has no code cells" in sub.messages


@pytest.mark.parametrize("content", ["not json {", '{"hello": "world"}', "[1, 2, 3]", "",
                                     '{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": 3}'])
def test_corrupt_notebook_is_rejected(tmp_path, content):
    (tmp_path / "hw.ipynb").write_text(content)
    sub = load(tmp_path, tmp_path / "hw.ipynb")
    assert (sub.kind, sub.modules, listing(sub.folder)) == ("rejected", (), [])
    assert sub.messages[-1].startswith("rejected: hw.ipynb is not a readable Jupyter notebook")


def test_folder_with_several_notebooks_prefers_marked_then_newest(tmp_path):
    src = tmp_path / "upload"
    src.mkdir()
    (src / ".ipynb_checkpoints").mkdir()
    write_notebook(src / "old.ipynb", [code("def softmax(x):\n    return 'old'", answer="losses.softmax")])
    write_notebook(src / "new.ipynb", [code("def softmax(x):\n    return 'new'")])
    os.utime(src / "old.ipynb", (1_000_000, 1_000_000))
    sub = load(tmp_path, src)
    assert sub.kind == "notebook"
    assert "'old'" in part(sub, "losses")
    assert "graded old.ipynb, the only one with marked answer cells" in sub.messages[0]

    write_notebook(src / "old.ipynb", [code("def softmax(x):\n    return 'old'")])
    os.utime(src / "old.ipynb", (1_000_000, 1_000_000))
    dest = tmp_path / "dest2"
    dest.mkdir()
    sub = load_submission(src, dest, COURSE)
    assert "'new'" in (dest / "losses.py").read_text()
    assert "graded new.ipynb, the most recently modified" in sub.messages[0]


# --- zip archives ------------------------------------------------------------------------------


@pytest.mark.parametrize("top", ["", "hw3/"])
def test_zip_at_top_level_or_in_one_folder(tmp_path, top):
    path = write_zip(tmp_path / "hw.zip", {f"{top}losses.py": SOFTMAX, f"{top}rnn.py": "X = 1\n",
                                           f"{top}README.md": "hi"})
    sub = load(tmp_path, path)
    assert (sub.kind, sub.modules) == ("zip", ("losses", "rnn"))
    assert listing(sub.folder) == PART_FILES  # no leftover extraction folder
    assert sub.messages[0] == (f"zip: hw.zip holds 3 files{' in the folder ' + repr(top) if top else ''}: "
                               "losses.py, rnn.py, README.md")


def test_zip_of_a_notebook_in_a_folder(tmp_path):
    notebook = write_notebook(tmp_path / "hw.ipynb", [code(SOFTMAX)]).read_text()
    sub = load(tmp_path, write_zip(tmp_path / "hw.zip", {"hw/": "", "hw/hw.ipynb": notebook}))
    assert (sub.kind, sub.modules) == ("zip", ("losses",))
    assert "FunctionDef softmax" in statements(part(sub, "losses"))


def test_zip_ignores_macos_metadata_and_dotfiles(tmp_path):
    path = write_zip(tmp_path / "hw.zip", {"hw/losses.py": SOFTMAX, "__MACOSX/hw/._losses.py": b"\0\5",
                                           "hw/.DS_Store": b"\0"})
    sub = load(tmp_path, path)
    assert (sub.kind, sub.modules, listing(sub.folder)) == ("zip", ("losses",), PART_FILES)
    assert "in the folder 'hw/'" in sub.messages[0]


def test_folder_holding_only_a_zip_is_unpacked_but_not_a_zip_in_a_zip(tmp_path):
    src = tmp_path / "upload"
    src.mkdir()
    inner = write_zip(tmp_path / "inner.zip", {"losses.py": SOFTMAX})
    write_zip(src / "outer.zip", {"inner.zip": inner.read_bytes()})
    sub = load(tmp_path, src)
    assert (sub.kind, sub.modules, listing(sub.folder)) == ("empty", (), [])
    assert len(sub.messages) == 1
    assert sub.messages[0].startswith("nothing to grade in outer.zip: found inner.zip (a .zip inside the .zip "
                                      "is not unpacked); expected")

    (src / "outer.zip").unlink()
    (src / "inner.zip").write_bytes(inner.read_bytes())
    dest = tmp_path / "dest2"
    dest.mkdir()
    assert load_submission(src, dest, COURSE).kind == "zip"


@pytest.mark.parametrize("name", ["../evil.py", "hw/../../evil.py", "..\\evil.py", "/tmp/evil.py",
                                  "C:/evil.py"])
def test_zip_pointing_outside_is_rejected_and_writes_nothing_outside(tmp_path, name):
    path = write_zip(tmp_path / "hw.zip", {"losses.py": SOFTMAX, name: "import os\n"})
    before = listing(tmp_path.parent)
    sub = load(tmp_path, path)
    assert (sub.kind, sub.modules, listing(sub.folder)) == ("rejected", (), [])
    assert sub.messages == [f"rejected: zip entry '{name}' points outside the archive"]
    assert listing(tmp_path.parent) == before
    assert not Path("/tmp/evil.py").exists()


def test_zip_with_symlink_entry_is_rejected(tmp_path):
    path = tmp_path / "hw.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("losses.py", SOFTMAX)
        link = zipfile.ZipInfo("rnn.py")
        link.create_system = 3  # unix, whose mode bits live in external_attr
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(link, "/etc/passwd")
    sub = load(tmp_path, path)
    assert (sub.kind, listing(sub.folder)) == ("rejected", [])
    assert sub.messages == ["rejected: zip entry 'rnn.py' is a symbolic link"]


def test_zip_with_too_many_entries_is_rejected(tmp_path):
    sub = load(tmp_path, write_zip(tmp_path / "hw.zip", {f"f{i}.txt": "x" for i in range(300)}))
    assert (sub.kind, listing(sub.folder)) == ("rejected", [])
    assert sub.messages == ["rejected: the zip has 300 entries; at most 200 are allowed"]


@pytest.mark.parametrize(("entries", "reason"), [
    ({"losses.py": bytes(50 * 2**20)}, "zip entry 'losses.py' is larger than 5 MB"),
    ({f"f{i}.bin": bytes(4 * 2**20) for i in range(6)}, "the zip unpacks to more than 20 MB"),
])
def test_zip_bomb_is_rejected(tmp_path, entries, reason):
    path = write_zip(tmp_path / "hw.zip", entries)
    assert path.stat().st_size < 2**20  # zeros compress to almost nothing
    sub = load(tmp_path, path)
    assert (sub.kind, listing(sub.folder)) == ("rejected", [])
    assert sub.messages == [f"rejected: {reason}"]


def patch_zip(path: Path, local_offset: int, central_offset: int, fmt: str, value: int) -> None:
    """Overwrite a field of the first entry's local and central headers (a hand-made hostile zip)."""
    data = bytearray(path.read_bytes())
    struct.pack_into(fmt, data, data.index(b"PK\x03\x04") + local_offset, value)
    struct.pack_into(fmt, data, data.index(b"PK\x01\x02") + central_offset, value)
    path.write_bytes(bytes(data))


def test_zip_whose_header_understates_the_size_is_rejected(tmp_path):
    path = write_zip(tmp_path / "hw.zip", {"losses.py": bytes(8 * 2**20)})
    patch_zip(path, 22, 24, "<I", 100)  # uncompressed size: 100 bytes, really 8 MB
    sub = load(tmp_path, path)
    assert (sub.kind, listing(sub.folder)) == ("rejected", [])
    assert sub.messages[0].startswith("rejected: zip entry 'losses.py' cannot be read")


def test_encrypted_zip_is_rejected(tmp_path):
    path = write_zip(tmp_path / "hw.zip", {"losses.py": SOFTMAX})
    patch_zip(path, 6, 8, "<H", 0x1)  # general purpose flag bit 0: encrypted
    sub = load(tmp_path, path)
    assert sub.messages == ["rejected: zip entry 'losses.py' is encrypted"]


def test_corrupt_zip_is_rejected(tmp_path):
    (tmp_path / "hw.zip").write_bytes(b"PK\x03\x04 this is not really a zip")
    sub = load(tmp_path, tmp_path / "hw.zip")
    assert sub.kind == "rejected"
    assert sub.messages[0].startswith("rejected: hw.zip is not a readable zip archive")
