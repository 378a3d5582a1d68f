"""The course settings file, `grading.toml`: the deadline, the late policy, per-student
extensions, what the exports look like and how similar two submissions may be.

It lies beside the submissions (inside the submissions folder, or in the folder holding the
export's .zip) or is given with `--settings`; every key is optional, and an unknown key or a
value of the wrong form is an error naming it (a typo must not silently grade everyone on time).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

SETTINGS_FILE = "grading.toml"

_KEYS = {
    "deadline": {"due", "timezone"},
    "late": {"grace_minutes", "penalty", "per", "cap", "no_credit_after_days"},
    "exports": {"bom"},
    "canvas": {"assignment", "section", "login_id", "points"},
    "similarity": {"threshold", "min_shared", "starter"},
}
PER = ("started day", "day")
LOGIN_IDS = ("email", "email-user", "sid")
CANVAS_POINTS = ("total", "points")


class SettingsError(ValueError):
    """A settings, overrides or roster file that cannot be used: the message names what is wrong."""


@dataclass(frozen=True)
class LatePolicy:
    """How a late submission loses credit: `penalty` (a fraction of the score) per day, counted
    pro rata (per="day") or for every started day (per="started day"), at most `cap`; nothing
    after `no_credit_after_days`. Within `grace_minutes` of the deadline a submission is on time."""

    grace_minutes: float = 0.0
    penalty: float = 0.0
    per: str = "started day"
    cap: float = 1.0
    no_credit_after_days: float | None = None


@dataclass(frozen=True)
class Extension:
    """A student's own deadline: so many extra days, or a date-time of its own."""

    days: float = 0.0
    due: dt.datetime | None = None

    def applied_to(self, deadline: dt.datetime) -> dt.datetime:
        return self.due or deadline + dt.timedelta(days=self.days)

    def describe(self) -> str:
        return f"extended to {self.due.isoformat(' ')}" if self.due else f"extended by {self.days:g} day(s)"


@dataclass(frozen=True)
class Canvas:
    assignment: str = "Autograder"
    section: str = ""
    login_id: str = "email"
    points: str = "total"


@dataclass(frozen=True)
class Settings:
    """Everything grading.toml can say; the defaults are what grade-all does without one."""

    path: Path | None = None
    due: dt.datetime | None = None
    late: LatePolicy = LatePolicy()
    extensions: dict[str, Extension] = field(default_factory=dict)
    bom: bool = False
    canvas: Canvas = Canvas()
    similarity_threshold: float = 0.7
    similarity_min_shared: int = 25
    starter: Path | None = None


def find_settings(submissions: Path) -> Path | None:
    """grading.toml beside the submissions: inside their folder, or beside the export's .zip."""
    folder = submissions if submissions.is_dir() else submissions.parent
    path = folder / SETTINGS_FILE
    return path if path.is_file() else None


def read_settings(path: Path | None) -> Settings:
    """The settings in `path` (None: the defaults)."""
    if path is None:
        return Settings()
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise SettingsError(f"cannot read {path}: {error}") from None
    except tomllib.TOMLDecodeError as error:
        raise SettingsError(f"{path}: {error}") from None
    where = Path(path).name
    _check_keys(data, where)
    deadline, late, exports = data.get("deadline", {}), data.get("late", {}), data.get("exports", {})
    similarity, canvas = data.get("similarity", {}), data.get("canvas", {})
    due = _due(deadline, where) if "due" in deadline else None
    return Settings(
        path=Path(path), due=due, late=_late(late, where),
        extensions={str(k): _extension(v, deadline, f"{where} [extensions] {k}")
                    for k, v in data.get("extensions", {}).items()},
        bom=_typed(exports, "bom", bool, False, where),
        canvas=_canvas(canvas, where),
        similarity_threshold=_fraction(similarity, "threshold", 0.7, where),
        similarity_min_shared=int(_number(similarity, "min_shared", 25, where)),
        starter=(Path(path).parent / similarity["starter"]) if "starter" in similarity else None)


def _check_keys(data: dict[str, Any], where: str) -> None:
    for table, value in data.items():
        if table == "extensions":
            continue
        if table not in _KEYS or not isinstance(value, dict):
            raise SettingsError(f"{where}: unknown table [{table}] (known: {', '.join(sorted(_KEYS))}, extensions)")
        unknown = sorted(set(value) - _KEYS[table])
        if unknown:
            raise SettingsError(f"{where}: unknown key {unknown[0]!r} in [{table}] "
                                f"(known: {', '.join(sorted(_KEYS[table]))})")
    if not isinstance(data.get("extensions", {}), dict):
        raise SettingsError(f"{where}: [extensions] must map student ids to days or a date-time")


def _zone(deadline: dict[str, Any], where: str) -> ZoneInfo | None:
    name = deadline.get("timezone")
    if name is None:
        return None
    try:
        return ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(f"{where}: unknown time zone {name!r} in [deadline] (e.g. \"Europe/Berlin\")") from None


def _datetime(value: Any, deadline: dict[str, Any], what: str) -> dt.datetime:
    """A TOML date-time (or an ISO string) with its time zone: its own offset, else [deadline] timezone."""
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value.strip())
        except ValueError:
            raise SettingsError(f"{what}: {value!r} is not a date-time such as 2026-11-20T23:59:00-08:00") from None
    if not isinstance(value, dt.datetime):
        raise SettingsError(f"{what}: expected a date and a time, such as 2026-11-20T23:59:00-08:00")
    if value.tzinfo is None:
        zone = _zone(deadline, what)
        if zone is None:
            raise SettingsError(f"{what}: {value.isoformat(' ')} has no time zone: write its offset "
                                "(…T23:59:00-08:00) or set timezone = \"Area/City\" in [deadline]")
        value = value.replace(tzinfo=zone)
    return value


def _due(deadline: dict[str, Any], where: str) -> dt.datetime:
    return _datetime(deadline["due"], deadline, f"{where} [deadline] due")


def _extension(value: Any, deadline: dict[str, Any], what: str) -> Extension:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if value < 0:
            raise SettingsError(f"{what}: an extension cannot be negative")
        return Extension(days=float(value))
    return Extension(due=_datetime(value, deadline, what))


def _late(late: dict[str, Any], where: str) -> LatePolicy:
    per = _typed(late, "per", str, "started day", where)
    if per not in PER:
        raise SettingsError(f"{where}: [late] per must be one of {', '.join(map(repr, PER))}, not {per!r}")
    after = late.get("no_credit_after_days")
    return LatePolicy(grace_minutes=_number(late, "grace_minutes", 0.0, where),
                      penalty=_fraction(late, "penalty", 0.0, where), per=per,
                      cap=_fraction(late, "cap", 1.0, where),
                      no_credit_after_days=None if after is None else _number(late, "no_credit_after_days", 0, where))


def _canvas(canvas: dict[str, Any], where: str) -> Canvas:
    login_id = _typed(canvas, "login_id", str, "email", where)
    points = _typed(canvas, "points", str, "total", where)
    if login_id not in LOGIN_IDS:
        raise SettingsError(f"{where}: [canvas] login_id must be one of {', '.join(map(repr, LOGIN_IDS))}")
    if points not in CANVAS_POINTS:
        raise SettingsError(f"{where}: [canvas] points must be one of {', '.join(map(repr, CANVAS_POINTS))}")
    return Canvas(_typed(canvas, "assignment", str, "Autograder", where),
                  _typed(canvas, "section", str, "", where), login_id, points)


def _typed(table: dict[str, Any], key: str, kind: type, default: Any, where: str) -> Any:
    value = table.get(key, default)
    if not isinstance(value, kind):
        raise SettingsError(f"{where}: {key} must be a {kind.__name__}, not {value!r}")
    return value


def _number(table: dict[str, Any], key: str, default: float, where: str) -> float:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise SettingsError(f"{where}: {key} must be a number ≥ 0, not {value!r}")
    return float(value)


def _fraction(table: dict[str, Any], key: str, default: float, where: str) -> float:
    value = _number(table, key, default, where)
    if value > 1:
        raise SettingsError(f"{where}: {key} is a fraction between 0 and 1 (0.1 is 10 %), not {value!r}")
    return value
