"""Time `report weekly` and a member's `积分` against one hand-written SQL query each.

    python -m bench.seed --db bench/bench.db        # once, about a minute
    python -m bench.bench_reports --db bench/bench.db --repeat 15

Both sides run in the same process on the same database, alternating, after one warm-up
each; the medians and their ratio are printed. The baselines compute the same figures
as djbot in ONE statement each, so the ratio is the price of djbot's code structure
(several GROUP BY queries, ORM overhead), not of a different amount of work.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from sqlalchemy import text
from sqlmodel import Session

from bot.clock import ManualClock
from bot.config import Settings
from bot.core import IncomingMessage
from bot.domain.points import named_period, parse_iso_week, previous_period
from bot.domain.rules import load_rules
from bot.runtime import build_runtime
from storage import db
from storage.reports import build_report, member_standing

WEEK = "2026-W48"
MEMBER_ID = 4321  # any member; 1 in 50 seeded members is opted out, this one is not

BASELINE_BRANCHES = text("""
WITH periods(p, s, e) AS (SELECT 'cur', :s1, :e1 UNION ALL SELECT 'prev', :s0, :e0),
act AS (
  SELECT p.p, a.branch_id, count(*) AS held,
         sum(coalesce(a.expected_count, (SELECT count(*) FROM member m
              WHERE m.active AND m.branch_id = a.branch_id
                AND (a.party_group_id IS NULL OR m.party_group_id = a.party_group_id)))) AS expected
  FROM periods p JOIN activity a ON a.starts_at >= p.s AND a.starts_at < p.e
  WHERE a.branch_id IS NOT NULL GROUP BY p.p, a.branch_id),
att AS (
  SELECT p.p, a.branch_id,
         sum(t.status = 'present') AS present, sum(t.status = 'late') AS late,
         sum(t.status = 'makeup') AS makeup,
         sum(t.status = 'leave' AND coalesce(t.leave_state, 'granted') = 'granted') AS leave
  FROM periods p JOIN activity a ON a.starts_at >= p.s AND a.starts_at < p.e
  JOIN attendance t ON t.activity_id = a.id
  WHERE a.branch_id IS NOT NULL GROUP BY p.p, a.branch_id),
pts AS (
  SELECT p.p, e.branch_id, sum(e.points) AS points
  FROM periods p JOIN pointentry e ON e.occurred_at >= p.s AND e.occurred_at < p.e
  GROUP BY p.p, e.branch_id),
mem AS (
  SELECT p, branch_id, count(*) AS n FROM (
    SELECT p.p, m.branch_id, m.id AS member_id FROM periods p JOIN member m
      ON m.active AND m.branch_id IS NOT NULL AND coalesce(m.branch_since, m.created_at) < p.e
    UNION SELECT p.p, s.branch_id, s.member_id FROM periods p JOIN pastmembership s
      ON s.branch_id IS NOT NULL AND s.since < p.e AND s.until > p.s
    UNION SELECT p.p, e.branch_id, e.member_id FROM periods p JOIN pointentry e
      ON e.branch_id IS NOT NULL AND e.occurred_at >= p.s AND e.occurred_at < p.e)
  GROUP BY p, branch_id),
vis AS (SELECT branch_id, count(*) AS n FROM researchvisit
        WHERE visited_on >= :y0 AND visited_on <= :ylast GROUP BY branch_id)
SELECT b.id, b.name, p.p, act.held, act.expected, att.present, att.late, att.makeup, att.leave,
       pts.points, mem.n, vis.n
FROM branch b CROSS JOIN periods p
LEFT JOIN act ON act.branch_id = b.id AND act.p = p.p
LEFT JOIN att ON att.branch_id = b.id AND att.p = p.p
LEFT JOIN pts ON pts.branch_id = b.id AND pts.p = p.p
LEFT JOIN mem ON mem.branch_id = b.id AND mem.p = p.p
LEFT JOIN vis ON vis.branch_id = b.id
WHERE b.active
""")

BASELINE_TOP = text("""
SELECT m.id, m.name, b.name, sum(e.points) AS points, rank() OVER (ORDER BY sum(e.points) DESC)
FROM pointentry e JOIN member m ON m.id = e.member_id LEFT JOIN branch b ON b.id = m.branch_id
WHERE e.occurred_at >= :s1 AND e.occurred_at < :e1
  AND m.active AND NOT m.forgotten AND NOT m.leaderboard_opt_out
GROUP BY m.id, m.name, b.name HAVING sum(e.points) > 0
ORDER BY points DESC, m.name, m.id LIMIT 10
""")

BASELINE_MY_POINTS = text("""
WITH mine AS (
  SELECT coalesce(sum(CASE WHEN occurred_at >= :ws AND occurred_at < :we THEN points END), 0) AS week,
         coalesce(sum(CASE WHEN occurred_at >= :ms AND occurred_at < :me THEN points END), 0) AS month,
         coalesce(sum(points), 0) AS year,
         coalesce(sum(CASE WHEN occurred_at >= :ms AND occurred_at < :me
                            AND branch_id = :branch THEN points END), 0) AS here
  FROM pointentry WHERE member_id = :member AND occurred_at >= :ys AND occurred_at < :ye),
totals AS (
  SELECT m.id, coalesce(sum(e.points), 0) AS points FROM member m
  LEFT JOIN pointentry e ON e.member_id = m.id AND e.branch_id = :branch
                        AND e.occurred_at >= :ms AND e.occurred_at < :me
  WHERE m.branch_id = :branch AND m.active AND NOT m.forgotten AND NOT m.leaderboard_opt_out
  GROUP BY m.id)
SELECT mine.week, mine.month, mine.year,
       1 + (SELECT count(*) FROM totals WHERE totals.points > mine.here),
       (SELECT count(*) FROM totals)
FROM mine
""")


def sqlite_time(moment: datetime) -> str:
    """Bind values as UTCDateTime stores them, so the baseline compares like with like."""
    from bench.seed import utc_text

    return utc_text(moment)


def compare(ours: Callable[[], object], baseline: Callable[[], object] | None,
            repeat: int) -> tuple[float, float | None]:
    """Median milliseconds of each, measured in turns so a busy machine slows both alike."""
    ours()  # warm the page cache and SQLAlchemy's statement cache
    if baseline is not None:
        baseline()
    samples: dict[str, list[float]] = {"ours": [], "baseline": []}
    for _ in range(repeat):
        for key, fn in (("ours", ours), ("baseline", baseline)):
            if fn is None:
                continue
            started = time.perf_counter()
            fn()
            samples[key].append((time.perf_counter() - started) * 1000)
    base = statistics.median(samples["baseline"]) if samples["baseline"] else None
    return statistics.median(samples["ours"]), base


def run(path: Path, repeat: int, member_id: int = MEMBER_ID,
        ) -> list[tuple[str, float, float | None]]:
    settings = Settings(database_url=f"sqlite:///{path}", _env_file=None)
    rules = load_rules()
    engine = db.make_engine(settings.database_url)
    tz = settings.tz
    week = parse_iso_week(WEEK, tz)
    before = previous_period(week)
    # 积分 as asked on the Friday of that week.
    now = datetime(2026, 11, 27, 10, 0, tzinfo=tz)
    this_week, month, year = (named_period(n, now, tz) for n in ("本周", "本月", "本年"))

    with Session(engine) as session:
        branch_id = session.execute(text("SELECT branch_id FROM member WHERE id = :m"),
                                    {"m": member_id}).scalar_one()

        def report():
            return build_report(session, start=week.start, end=week.end,
                                previous=(before.start, before.end), tz=settings.tz,
                                visit_target=settings.visit_target_per_year,
                                rules=rules, title=WEEK)

        params = {"s1": sqlite_time(week.start), "e1": sqlite_time(week.end),
                  "s0": sqlite_time(before.start), "e0": sqlite_time(before.end),
                  "y0": "2026-01-01", "ylast": week.last_day.isoformat()}

        def report_baseline():
            return (session.execute(BASELINE_BRANCHES, params).all(),
                    session.execute(BASELINE_TOP, params).all())

        def my_points():
            # What the 积分 handler asks the database for.
            return member_standing(session, member_id=member_id, branch_id=branch_id, periods={
                name: (p.start, p.end)
                for name, p in (("本周", this_week), ("本月", month), ("本年", year))},
                rank_in="本月")

        mine_params = {
            "member": member_id, "branch": branch_id,
            "ws": sqlite_time(this_week.start), "we": sqlite_time(this_week.end),
            "ms": sqlite_time(month.start), "me": sqlite_time(month.end),
            "ys": sqlite_time(year.start), "ye": sqlite_time(year.end),
        }

        def my_points_baseline():
            return session.execute(BASELINE_MY_POINTS, mine_params).one()

        # The two sides must agree, or the comparison means nothing.
        standing, row = my_points(), my_points_baseline()
        assert (*standing.points.values(), standing.rank, standing.of) == tuple(row), (
            standing, row)
        built = report()
        cur = {r[0]: r for r in report_baseline()[0] if r[2] == "cur"}
        for line in built.branches:
            match = next(r for r in cur.values() if r[1] == line.name)
            assert (line.activities, line.expected, line.present, line.points,
                    line.members) == (match[3] or 0, match[4] or 0, match[5] or 0,
                                      match[9] or 0, match[10] or 0), (line, match)

        results = [
            ("report weekly (build_report)", *compare(report, report_baseline, repeat)),
            ("积分 (member points + rank)", *compare(my_points, my_points_baseline, repeat)),
        ]

    # The whole chat command once more, through the dispatcher (dedupe row, commit and all).
    runtime = build_runtime(settings, clock=ManualClock(now), engine=engine, migrate=False)
    counter = iter(range(10**9))

    def say_points():
        return runtime.dispatcher.handle_sync(IncomingMessage(
            platform="wecom", chat_id=f"u{member_id}", sender_id=f"u{member_id}", text="积分",
            message_id=f"bench-{time.time_ns()}-{next(counter)}", at=now, is_private=True))

    # No baseline: this line adds the dedupe row and the commit, which no query can match.
    results.append(("积分 via the dispatcher (incl. commit)", *compare(say_points, None, repeat)))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description="time djbot's reports against hand-written SQL")
    parser.add_argument("--db", type=Path, default=Path("bench/bench.db"))
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--runs", type=int, default=1, help="repeat the whole measurement")
    args = parser.parse_args()
    if not args.db.exists():
        raise SystemExit(f"{args.db} not found: run `python -m bench.seed --db {args.db}` first")
    for run_no in range(1, args.runs + 1):
        print(f"run {run_no} (median of {args.repeat})")
        print(f"{'what':40} {'djbot ms':>10} {'baseline ms':>12} {'ratio':>7}")
        for name, ours, baseline in run(args.db, args.repeat):
            if baseline is None:
                print(f"{name:40} {ours:10.1f} {'—':>12} {'—':>7}")
            else:
                print(f"{name:40} {ours:10.1f} {baseline:12.1f} {ours / baseline:7.2f}")


if __name__ == "__main__":
    main()
