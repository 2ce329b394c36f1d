"""Time the dashboard's pages on the bench database, beside the weekly report they draw from.

    python -m bench.bench_dashboard --db bench/bench.db --repeat 11

Each page is fetched through the FastAPI app (session cookie, queries, template), as a
browser would get it from `djbot serve`, minus the network; `report weekly` is
storage.reports.build_report for the same week, which 周报 and the Monday push send.
The goal (issue 14): every page under 300 ms. Build the database with bench/seed.py.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import text
from sqlmodel import Session

from bot.clock import ManualClock
from bot.config import Settings, WebSettings
from bot.domain.points import last_complete_week, previous_period
from bot.runtime import build_runtime
from bot.web import tokens
from storage.reports import build_report

SECRET = "bench" * 8


def median_ms(fn: Callable[[], object], repeat: int) -> float:
    fn()  # warm the page cache and SQLAlchemy's statement cache
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def run(path: Path, repeat: int) -> list[tuple[str, float]]:
    from fastapi.testclient import TestClient

    from bot.app import create_app

    settings = Settings(database_url=f"sqlite:///{path}", _env_file=None,
                        web=WebSettings(secret=SECRET, base_url="http://bench"))
    # The Monday after 2026-W48, as a leader would open the link from the summary.
    clock = ManualClock(datetime(2026, 11, 30, 10, 0, tzinfo=settings.tz))
    runtime = build_runtime(settings, clock=clock, migrate=False)
    week = last_complete_week(clock.now(), settings.tz)
    before = previous_period(week)
    with Session(runtime.engine) as session:
        leader, branch_id = session.execute(text(
            "SELECT id, branch_id FROM member ORDER BY id LIMIT 1")).one()
        session.execute(text("UPDATE member SET role = 'leader' WHERE id = :m"), {"m": leader})
        session.commit()
        activity = session.execute(text(
            "SELECT id FROM activity WHERE branch_id = :b AND starts_at < :t "
            "ORDER BY starts_at DESC LIMIT 1"),
            {"b": branch_id, "t": "2026-11-30"}).scalar_one()
        member = session.execute(text(
            "SELECT id FROM member WHERE branch_id = :b ORDER BY id DESC LIMIT 1"),
            {"b": branch_id}).scalar_one()

        def report():
            return build_report(session, start=week.start, end=week.end,
                                previous=(before.start, before.end), tz=settings.tz,
                                visit_target=settings.visit_target_per_year,
                                rules=runtime.rules)

        report_ms = median_ms(report, repeat)

    cookie = tokens.sign(SECRET, tokens.SESSION, {"m": leader},
                         expires=clock.now() + timedelta(hours=1))
    client = TestClient(create_app(runtime, start_background=False))
    client.cookies.set("djbot_session", cookie, path="/web")
    # The first view after start counts the year (the service does it at start-up).
    started = time.perf_counter()
    assert client.get("/web/").status_code == 200
    cold_ms = (time.perf_counter() - started) * 1000
    results = [("report weekly (build_report, W48)", report_ms),
               ("bureau page, first view (cold, once)", cold_ms)]
    for name, url in (("bureau page /web/", "/web/"),
                      ("branch page /web/branch/…", f"/web/branch/{branch_id}"),
                      ("attendance sheet /web/activity/…", f"/web/activity/{activity}"),
                      ("member page /web/member/…", f"/web/member/{member}")):
        def fetch(url=url):
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)
        results.append((name, median_ms(fetch, repeat)))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description="time the dashboard's pages")
    parser.add_argument("--db", type=Path, default=Path("bench/bench.db"))
    parser.add_argument("--repeat", type=int, default=11)
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    if not args.db.exists():
        raise SystemExit(f"{args.db} not found: run `python -m bench.seed --db {args.db}` first")
    for run_no in range(1, args.runs + 1):
        results = run(args.db, args.repeat)
        report_ms = results[0][1]
        print(f"run {run_no} (median of {args.repeat})")
        print(f"{'what':40} {'ms':>8} {'÷ report':>9}")
        for name, ms in results:
            print(f"{name:40} {ms:8.1f} {ms / report_ms:9.2f}")


if __name__ == "__main__":
    main()
