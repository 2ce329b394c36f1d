"""The `djbot` script. `djbot report weekly` on the SQLite file is answered here, without the
full command line; everything else goes to bot.cli.

The full command line imports typer, pydantic settings, SQLAlchemy and the models before it
reads a row: several times what the weekly report's SQL costs (docs/benchmarks.md). The
figures are the same either way. storage.figures counts and writes them, from the same
statements: storage/report_sql.py is storage.reports' statements compiled for SQLite.
tests/test_report_quick.py checks that both ways print the same text.

This path answers only the plain case, and exactly as the full command line would:
`report weekly`, with `--week` and `--json` at most, on an existing SQLite file that is
migrated, has a roster and already has these points rules on record. Anything else goes
to the full command line untouched: another command or option, --help, a week it cannot
read, a setting it cannot check, PostgreSQL, a URL with options, a database to migrate or
rules to record (the full path writes those), no roster yet (it says what to do first),
any database error. It opens the file read-only.
It does not check settings the report does not use (a platform secret, say).
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any


def main() -> None:
    if not quick_report(sys.argv[1:], os.environ):
        from bot.cli import main as full_command_line

        full_command_line()


# The settings the weekly report reads; unset ones take bot.config.Settings' defaults
# (tests/test_report_quick.py holds these to them).
DEFAULTS = {"database_url": "sqlite:///djbot.db", "timezone": "Asia/Shanghai",
            "rules_file": None, "visit_target_per_year": "2"}


def quick_report(argv: Sequence[str], environ: Mapping[str, str]) -> bool:
    """Print the weekly report and return True, or return False having printed nothing."""
    asked = _asked(argv)
    settings = _settings(environ) if asked is not None else None
    if asked is None or settings is None:
        return False
    week, as_json = asked
    import sqlite3

    try:
        text = _report(settings, week, as_json)
    except (sqlite3.Error, OSError, ValueError):
        return False  # the full command line says what is wrong, in its own words
    if text is None:
        return False
    sys.stdout.write(text)
    sys.stdout.flush()
    return True


def _asked(argv: Sequence[str]) -> tuple[str | None, bool] | None:
    """(--week, --json) of `report weekly [--week W] [--json]`; None for anything else."""
    if list(argv[:2]) != ["report", "weekly"]:
        return None
    week, as_json, rest = None, False, list(argv[2:])
    while rest:
        word = rest.pop(0)
        if word == "--json" and not as_json:
            as_json = True
        elif word == "--week" and week is None and rest and not rest[0].startswith("-"):
            week = rest.pop(0)
        elif word.startswith("--week=") and week is None:
            week = word.removeprefix("--week=")
        else:
            return None
    return week, as_json


def _settings(environ: Mapping[str, str]) -> dict[str, Any] | None:
    """The report's settings as bot.config.Settings reads them (DJBOT_ variables, any case),
    or None where this cannot be sure of reading them the same way."""
    given: dict[str, str] = {}
    for key, value in environ.items():
        name = key.lower().removeprefix("djbot_")
        if key.lower().startswith("djbot_") and name in DEFAULTS:
            if name in given:
                return None  # the same setting twice, in two cases
            given[name] = value
    values = {**DEFAULTS, **given}
    url = values["database_url"]
    if not url.startswith("sqlite:///") or any(c in url for c in "?#%"):
        return None
    path = url.removeprefix("sqlite:///")
    if path in ("", ":memory:") or not Path(path).is_file():
        return None
    if not re.fullmatch(r"[0-9]+", values["visit_target_per_year"]):
        return None
    rules_file = values["rules_file"]
    if rules_file is not None and not rules_file.strip():
        return None
    from zoneinfo import ZoneInfo

    try:
        tz = ZoneInfo(values["timezone"])
    except (ValueError, OSError, KeyError):
        return None
    return {"path": path, "tz": tz, "visit_target": int(values["visit_target_per_year"]),
            "rules_file": Path(rules_file) if rules_file is not None else None}


def _report(settings: dict[str, Any], week: str | None, as_json: bool) -> str | None:
    import sqlite3

    from bot.domain.points import last_complete_week, parse_iso_week, previous_period
    from bot.domain.rules import RulesError, load_rules
    from storage import figures
    from storage.report_sql import SQLITE
    from storage.revisions import head_revisions_on_disk

    tz = settings["tz"]
    now = datetime.now(timezone.utc)
    try:
        period = parse_iso_week(week, tz) if week is not None else last_complete_week(now, tz)
        rules = load_rules(settings["rules_file"])
    except (ValueError, RulesError, OSError):
        return None
    if period.start.date() > now.astimezone(tz).date():
        return None  # a week not begun: the full command line refuses it
    connection = sqlite3.connect(f"file:{settings['path']}?mode=ro", uri=True, timeout=30)
    try:
        stamped = {row[0] for row in connection.execute("SELECT version_num FROM alembic_version")}
        heads = head_revisions_on_disk()
        if not heads or stamped != heads:
            return None
        if connection.execute("SELECT 1 FROM ruleset WHERE digest = ?",
                              (rules.digest,)).fetchone() is None:
            return None
        if connection.execute("SELECT 1 FROM branch LIMIT 1").fetchone() is None:
            return None

        def run(name: str, values: Mapping[str, Any]):
            sql, order, fixed = SQLITE[name]
            return connection.execute(
                sql, [fixed[key] if key in fixed else _sqlite_value(values[key]) for key in order])

        before = previous_period(period)
        report = figures.build_report(
            run, start=period.start, end=period.end, previous=(before.start, before.end),
            tz=tz, visit_target=settings["visit_target"], rules=rules, title=period.label,
            now=now)
    finally:
        connection.close()
    if as_json:
        return figures.render_json(report) + "\n"
    return figures.render_markdown(report, table=True)


def _sqlite_value(value: Any) -> Any:
    """A value as storage.types.UTCDateTime and SQLAlchemy's Date store them in SQLite."""
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).replace(tzinfo=None).isoformat(" ", "microseconds")
    if isinstance(value, date):
        return value.isoformat()
    return value
