"""The `python -m autograder` / `nlm-grade` commands."""

from __future__ import annotations

import argparse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _stubs(args: argparse.Namespace) -> int:
    from autograder.stubs import write_stubs

    for path in write_stubs(args.solutions, args.assignment):
        print(f"wrote {path}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m autograder", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    stubs = commands.add_parser("stubs", help="regenerate assignment/ from solutions/")
    stubs.add_argument("--solutions", type=Path, default=ROOT / "solutions")
    stubs.add_argument("--assignment", type=Path, default=ROOT / "assignment")
    stubs.set_defaults(run=_stubs)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.run(args)
