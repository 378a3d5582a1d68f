"""A class given as one .zip (a Gradescope export): unpacked with the loader's safe unzip."""

from __future__ import annotations

from pathlib import Path

from autograder.batch.discover import _IGNORED, METADATA_FILE
from autograder.load.archive import EXPORT, unpack
from autograder.load.files import Rejected


def unpack_export(archive: Path, dest: Path, notes: list[str]) -> Path:
    """Unpack a .zip of submissions safely into `dest`; return the folder to read (the one
    holding submission_metadata.yml, through any lone top folders)."""
    try:
        unpack(archive, dest, EXPORT, notes)
    except Rejected as error:
        raise ValueError(f"{archive.name}: {error}") from None
    root = dest
    while True:
        if (root / METADATA_FILE).is_file():
            return root
        inside = [p for p in root.iterdir() if not p.name.startswith(".") and p.name not in _IGNORED]
        if len(inside) == 1 and inside[0].is_dir():
            root = inside[0]
        else:
            return root
