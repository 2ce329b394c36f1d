"""Fill a SQLite database with a big bureau, fast: 10,000 members in 30 branches and a
year of activity (a monthly 主题党日 and two 政治夜学 a week per branch: about 1.2M
attendance rows) with the matching ledger entries.

    python -m bench.seed --db bench/bench.db

The schema comes from the models (as the tests build it); the rows go in with plain
executemany in one transaction, which is what makes a million rows take seconds.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from alembic import command
from sqlmodel import SQLModel

from bot.domain.rules import load_rules
from storage import db
import storage.models  # noqa: F401  (registers the tables)

TZ = ZoneInfo("Asia/Shanghai")
YEAR = 2026
BRANCHES = 30
MEMBERS = 10_000
# Attendance mix of a reasonably healthy bureau.
STATUS_WEIGHTS = {"present": 85, "late": 5, "leave": 4, "absent": 6}


def utc_text(moment: datetime) -> str:
    """The text SQLAlchemy's SQLite DateTime stores (UTC, see storage.types.UTCDateTime)."""
    return moment.astimezone(timezone.utc).replace(tzinfo=None).isoformat(" ", "microseconds")


def activity_times() -> list[tuple[str, datetime]]:
    """One branch's year: 主题党日 on the 5th at 14:30, 政治夜学 Tuesdays and Thursdays 19:30."""
    times: list[tuple[str, datetime]] = []
    for month in range(1, 13):
        times.append(("主题党日", datetime(YEAR, month, 5, 14, 30, tzinfo=TZ)))
    day = date(YEAR, 1, 1)
    while day.year == YEAR:
        if day.weekday() in (1, 3):
            times.append(("政治夜学", datetime(day.year, day.month, day.day, 19, 30, tzinfo=TZ)))
        day += timedelta(days=1)
    return times


def seed(path: Path, *, members: int = MEMBERS, branches: int = BRANCHES, seed_: int = 48) -> dict:
    if path.exists():
        path.unlink()
    engine = db.make_engine(f"sqlite:///{path}")
    SQLModel.metadata.create_all(engine)
    # The schema is the models' (as the tests build it), which is the head revision:
    # stamped, so `djbot` opens this file instead of migrating it from scratch.
    command.stamp(db.alembic_config(engine), "head")
    engine.dispose()

    rng = random.Random(seed_)
    rules = load_rules()
    created = utc_text(datetime(YEAR, 1, 1, tzinfo=TZ))
    con = sqlite3.connect(path)
    con.execute("PRAGMA synchronous=OFF")
    con.execute("PRAGMA journal_mode=WAL")
    started = time.perf_counter()
    with con:
        con.executemany(
            "INSERT INTO branch (id, name, temporary, active, created_at) VALUES (?, ?, 0, 1, ?)",
            [(b, f"第{b}支部", created) for b in range(1, branches + 1)],
        )
        con.execute(
            "INSERT INTO ruleset (id, digest, content, loaded_at) VALUES (1, ?, ?, ?)",
            (rules.digest, rules.source, created),
        )
        branch_of = {m: (m - 1) % branches + 1 for m in range(1, members + 1)}
        con.executemany(
            "INSERT INTO member (id, staff_no, name, branch_id, role, active, leaderboard_opt_out,"
            " nudges_off, forgotten, bureau_committee, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, 'member', 1, ?, 0, 0, 0, ?, ?)",
            [(m, f"J{m:05d}", f"党员{m:05d}", branch_of[m], int(m % 50 == 0), created, created)
             for m in range(1, members + 1)],
        )
        con.executemany(
            "INSERT INTO identity (member_id, platform, user_id) VALUES (?, 'wecom', ?)",
            [(m, f"u{m}") for m in range(1, members + 1)],
        )
        roster: dict[int, list[int]] = {}
        for m, b in branch_of.items():
            roster.setdefault(b, []).append(m)

        statuses = list(STATUS_WEIGHTS)
        weights = list(STATUS_WEIGHTS.values())
        activity_id = attendance_id = 0
        activities, attendance, entries = [], [], []
        for b in range(1, branches + 1):
            for kind, starts in activity_times():
                activity_id += 1
                ends = starts + timedelta(hours=2)
                activities.append((
                    activity_id, kind, b, utc_text(starts), utc_text(ends),
                    utc_text(starts - timedelta(minutes=30)), utc_text(ends), utc_text(ends),
                    utc_text(ends + timedelta(hours=24)), len(roster[b]), created,
                ))
                for m, status in zip(roster[b], rng.choices(statuses, weights, k=len(roster[b]))):
                    attendance_id += 1
                    late = status == "late"
                    checked = starts + timedelta(minutes=15 if late else -5)
                    attendance.append((
                        attendance_id, activity_id, m, status,
                        utc_text(checked) if status in ("present", "late") else None,
                        "granted" if status == "leave" else None, utc_text(checked),
                    ))
                    points, rule = rules.attendance_points(kind, status)
                    if points:
                        entries.append((m, b, points, rule, "attendance", str(attendance_id),
                                        utc_text(starts), utc_text(ends)))
        # Self-study: about a third of members log half an hour to two hours a week.
        study_id = 0
        for week in range(52):
            day = date(YEAR, 1, 5) + timedelta(weeks=week, days=rng.randrange(7))
            if day.year != YEAR:
                continue
            for m in rng.sample(range(1, members + 1), members // 3):
                study_id += 1
                minutes = rng.choice((30, 60, 90, 120))
                when = utc_text(datetime(day.year, day.month, day.day, 21, 0, tzinfo=TZ))
                entries.append((m, branch_of[m], rules.study_points(minutes, 0), "study.per_30min",
                                "study", str(study_id), when, when))

        con.executemany(
            "INSERT INTO activity (id, type, topic, branch_id, starts_at, ends_at, checkin_opens_at,"
            " checkin_closes_at, status, closed_at, finalized_at, expected_count, created_at)"
            " VALUES (?, ?, '', ?, ?, ?, ?, ?, 'closed', ?, ?, ?, ?)",
            activities,
        )
        con.executemany(
            "INSERT INTO attendance (id, activity_id, member_id, status, checked_in_at,"
            " leave_state, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            attendance,
        )
        con.executemany(
            "INSERT INTO pointentry (member_id, branch_id, points, rule, ruleset_id, source_kind,"
            " source_id, occurred_at, created_at) VALUES (?, ?, ?, ?, 1, ?, ?, ?, ?)",
            entries,
        )
        visits = [(1 + v % 5, 1 + v % branches, date(YEAR, 1 + v % 11, 1 + v % 28).isoformat(),
                   created) for v in range(86)]
        con.executemany(
            "INSERT INTO researchvisit (leader_id, branch_id, visited_on, problems_found,"
            " problems_solved, logged_at) VALUES (?, ?, ?, 0, 0, ?)",
            visits,
        )
    con.execute("ANALYZE")
    con.close()
    return {
        "members": members, "branches": branches, "activities": len(activities),
        "attendance": len(attendance), "point_entries": len(entries),
        "seconds": round(time.perf_counter() - started, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, default=Path("bench/bench.db"))
    parser.add_argument("--members", type=int, default=MEMBERS)
    parser.add_argument("--branches", type=int, default=BRANCHES)
    args = parser.parse_args()
    figures = seed(args.db, members=args.members, branches=args.branches)
    print(", ".join(f"{k} {v:,}" if isinstance(v, int) else f"{k} {v}" for k, v in figures.items()))


if __name__ == "__main__":
    main()
