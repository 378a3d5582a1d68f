"""When a submission came in, and what the late policy takes for it.

The time is the export's `:created_at` (Gradescope's upload time); without one, the newest
modification time of a file inside the submission (weaker: copying can change it), and the row
says which it is.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import re
from pathlib import Path

from autograder.batch.settings import Extension, LatePolicy, Settings
from autograder.report.adjust import Late

FROM_EXPORT, FROM_FILES = "export", "file time"

# Gradescope (Ruby) writes "2026-11-20 10:00:00.123456789 -08:00"; ISO 8601 is read as well.
_TIME = re.compile(r"^\s*(\d{4}-\d\d-\d\d)[ T](\d\d:\d\d(?::\d\d)?)(?:\.(\d+))?\s*(Z|[+-]\d\d:?\d\d)?\s*$")


def parse_time(text: str) -> dt.datetime | None:
    """An export's time stamp as an aware datetime (UTC when it names no offset); None if unreadable."""
    match = _TIME.match(str(text))
    if not match:
        return None
    day, clock, fraction, zone = match.groups()
    micro = f".{(fraction or '0')[:6]:0<6}"
    zone = "+00:00" if zone in (None, "Z") else zone if ":" in zone else f"{zone[:3]}:{zone[3:]}"
    try:
        return dt.datetime.fromisoformat(f"{day}T{clock}{micro}{zone}")
    except ValueError:
        return None


def newest_file_time(path: Path) -> dt.datetime | None:
    """The newest modification time of a regular file in `path` (or of `path` itself), in UTC."""
    times = []
    if path.is_dir():
        for folder, dirs, names in os.walk(path):
            dirs[:] = [d for d in dirs if not d.startswith(".") and d != "__MACOSX"]
            times += [_mtime(Path(folder, n)) for n in names if not n.startswith(".")]
    else:
        times.append(_mtime(path))
    times = [t for t in times if t is not None]
    return dt.datetime.fromtimestamp(max(times), dt.timezone.utc) if times else None


def _mtime(path: Path) -> float | None:
    try:
        stat = path.lstat()
    except OSError:
        return None
    return stat.st_mtime if path.is_file() and not path.is_symlink() else None


def lateness(settings: Settings, keys: list[str], submitted: dt.datetime | None, source: str) -> Late | None:
    """The row's Late (None: no time known; without a deadline, the time alone); `keys` are the
    student's id and e-mail, which [extensions] may name."""
    if submitted is None:
        return None
    if settings.due is None:
        return Late(submitted=submitted, source=source, deadline=None, days=0.0, penalty=0.0)
    extension = next((settings.extensions[k] for k in keys if k and k in settings.extensions), None)
    deadline = extension.applied_to(settings.due) if extension else settings.due
    late_by = (submitted - deadline).total_seconds()
    on_time = late_by <= 60 * settings.late.grace_minutes
    days = 0.0 if on_time else late_by / 86400
    return Late(submitted=submitted, source=source, deadline=deadline, days=days,
                penalty=0.0 if on_time else penalty(settings.late, days),
                extension=extension.describe() if isinstance(extension, Extension) else "")


def penalty(policy: LatePolicy, days: float) -> float:
    """The fraction of the score a submission `days` late loses."""
    if policy.no_credit_after_days is not None and days > policy.no_credit_after_days:
        return 1.0
    counted = math.ceil(days) if policy.per == "started day" else days
    return round(min(policy.cap, policy.penalty * counted), 6)
