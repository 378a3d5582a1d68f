"""How `grade-all` starts: the instructor's options, and the workers started at launch when the
submissions' files were modified since the last run. This module imports little (the pool and
the listing of submissions), so that a lone worker, forked before the rest of the grader is
imported, starts its fork server (and torch with it) as early as a single `grade` does, while
this process reads the cache.

File times only guess what changed: the content hashes (batch/cache.py) decide what is graded,
and workers started on a wrong guess are stopped unused (run.py)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autograder.batch.discover import changed_since
from autograder.batch.pool import _Pool, default_jobs

LAST_RUN = "gradebook.csv"  # rewritten by every run: its time is when the last run ended


@dataclass
class Options:
    timeout_s: float = 10.0
    memory_bytes: int = 2 * 2**30
    include_hidden: bool = True
    jobs: int = 0                # 0: one per core
    force: bool = False
    course: str = ""             # the course package ("" for the default)
    settings: Path | None = None   # grading.toml (None: the one beside the submissions, if any)
    overrides: Path | None = None  # overrides.csv (None: the one beside the submissions, if any)
    starter: Path | None = None    # the handout whose code similarity leaves out
    bom: bool | None = None        # UTF-8 with BOM in the CSV files (None: as the settings say)
    table: bool = False            # the per-student table in the terminal, however large the class
    require_confinement: bool = False  # refuse to start the workers where student code is not confined

    @classmethod
    def from_args(cls, args: Any) -> Options:
        """The options of the CLI verb (arguments parsed by autograder.cli)."""
        return cls(timeout_s=args.timeout, memory_bytes=int(args.memory_gib * 2**30),
                   include_hidden=not args.visible_only, jobs=args.jobs or 0, force=args.force,
                   settings=args.settings, overrides=args.overrides, starter=args.starter,
                   bom=True if args.bom else None, table=args.table, require_confinement=args.require_confinement)

    @property
    def limits(self) -> Any:
        from autograder.isolate.run import Limits

        return Limits(timeout_s=self.timeout_s, memory_bytes=self.memory_bytes)

    def key(self, limits: Any) -> dict[str, Any]:
        return {"limits": dataclasses.asdict(limits), "include_hidden": self.include_hidden}

    def workers(self, tasks: int) -> int:
        """How many workers grade `tasks` submissions: one per task, up to --jobs (else one per core)."""
        return max(1, min(self.jobs or default_jobs(), tasks))

    def pool(self, size: int) -> _Pool:
        return _Pool(size, {"limits": dataclasses.asdict(self.limits), "include_hidden": self.include_hidden,
                            "course": self.course})


def early_workers(submissions: Path, reports: Path, options: Options) -> _Pool | None:
    """Workers for the submissions whose files were modified since the last run ended (all of
    them before a first run), or None: none were, or `submissions` is an export .zip (unpacked
    later)."""
    submissions, reports = Path(submissions), Path(reports)
    if not submissions.is_dir():
        return None
    try:
        since = (reports / LAST_RUN).stat().st_mtime_ns
    except OSError:
        since = -1
    try:
        changed = changed_since(submissions, since, exclude=[reports])
    except OSError:  # an unreadable folder: grade_all says so
        return None
    return options.pool(options.workers(changed)) if changed else None
