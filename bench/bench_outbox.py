"""Time the outbox at scale: a claim and a look-up by key, with and without migration 0020.

    python -m bench.bench_outbox --rows 300000                  # SQLite, in a temporary file
    python -m bench.bench_outbox --database-url postgresql://…  # an EMPTY database

A bureau keeps 30 days of sent messages (storage.housekeeping); a big one, or a longer
retention, keeps hundreds of thousands. Every claim (every few seconds, on every replica)
counts the last minute's sends, and a cancelled or moved activity looks its messages up by
the start of their key. The baseline is the same database without migration 0020's two
indexes, as it was before: they are dropped and made again between runs, and both sides
are timed in turns, so the machine's load falls on both alike. The figures printed are
medians in milliseconds and the ratio of the indexed time to the baseline's.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, text, update
from sqlmodel import Session

from bot.clock import ManualClock
from bot.outbox import OutboxWorker
from bot.sender import SendResult
from storage import db, outbox
from storage.models import OutboxMessage

NOW = datetime(2026, 12, 8, 2, 0, tzinfo=UTC)
INDEXES = {
    "sqlite": ("CREATE INDEX ix_outbox_sent_at ON outboxmessage (sent_at)",
               "CREATE INDEX ix_outbox_key_prefix ON outboxmessage (kind, dedupe_key)"),
    "postgresql": ("CREATE INDEX ix_outbox_sent_at ON outboxmessage (sent_at)",
                   "CREATE INDEX ix_outbox_key_prefix ON outboxmessage "
                   "(kind, dedupe_key text_pattern_ops)"),
}
DROP = ("DROP INDEX ix_outbox_sent_at", "DROP INDEX ix_outbox_key_prefix")


class Sent:
    platform = "wecom"

    async def send(self, message):  # never called: the bench claims, it does not send
        return SendResult.sent()


def fill(engine, rows: int) -> None:
    """`rows` sent messages over the last 30 days (group reminders, nudges, replies), and
    one still to go."""
    kinds = (outbox.DAY_BEFORE, "nudge", "reply")
    step = timedelta(days=30) / rows
    batch: list[dict] = []
    with engine.begin() as conn:
        for i in range(rows):
            at = NOW - timedelta(days=30) + step * i
            kind = kinds[i % 3]
            batch.append(dict(
                dedupe_key=f"{kind}|wecom:g{i % 30}|activity:{i}", platform="wecom",
                target_kind="group", target=f"g{i % 30}", kind=kind,
                payload={"text": "提醒"}, status="sent", attempts=1, next_attempt_at=at,
                sent_at=at, created_at=at, sends=1))
            if len(batch) == 5000:
                conn.execute(insert(OutboxMessage), batch)
                batch = []
        if batch:
            conn.execute(insert(OutboxMessage), batch)
    with Session(engine) as session:
        outbox.enqueue(session, platform="wecom", target_kind="group", target="g1",
                       payload={"text": "还有一条"}, now=NOW, kind=outbox.DAY_BEFORE,
                       dedupe_key=f"{outbox.DAY_BEFORE}|wecom:g1|activity:{rows + 1}")
        session.commit()


def analyze(engine) -> None:
    """The planner's figures as a bureau's database has them: PostgreSQL's autovacuum
    gathers them on its own (a moment after the rows go in, so the first run would differ);
    on SQLite nobody runs ANALYZE, djbot included, and the planner goes by its rules."""
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE outboxmessage")


def timed(fn: Callable[[], object], repeat: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=300_000)
    parser.add_argument("--repeat", type=int, default=11)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--database-url", help="an empty database (default: a temporary SQLite file)")
    args = parser.parse_args()

    folder = tempfile.TemporaryDirectory()
    url = args.database_url or f"sqlite:///{Path(folder.name) / 'outbox.db'}"
    engine = db.make_engine(url)
    db.upgrade(engine)
    started = time.perf_counter()
    fill(engine, args.rows)
    print(f"{args.rows:,} sent messages in {engine.dialect.name} "
          f"({time.perf_counter() - started:.0f} s to write)")
    analyze(engine)
    worker = OutboxWorker(engine, ManualClock(NOW), {"wecom": Sent()})

    def claim() -> None:
        assert len(worker.claim()) == 1
        with engine.begin() as conn:  # back to pending, for the next claim to take again
            conn.execute(update(OutboxMessage).where(OutboxMessage.status == "sending")
                         .values(status="pending", claimed_by=None, claimed_at=None,
                                 attempts=0, next_attempt_at=NOW))

    def went_out() -> None:
        # Asked before a message is queued (was it already sent?): mostly the answer is no,
        # which an unindexed look-up gives only after reading every sent row of the kind.
        with Session(engine) as session:
            assert not outbox.went_out(session, kind="nudge",
                                       key_prefix=f"nudge|wecom:g1|activity:{args.rows}|")

    def indexes(on: bool) -> None:
        with engine.begin() as conn:
            for statement in INDEXES[engine.dialect.name] if on else DROP:
                conn.execute(text(statement))
        analyze(engine)

    print("| run | claim ms (0020 / before) | ratio | went_out ms (0020 / before) | ratio |")
    print("|---|---|---|---|---|")
    for run in range(1, args.runs + 1):
        with_claim, with_lookup = timed(claim, args.repeat), timed(went_out, args.repeat)
        indexes(False)
        base_claim, base_lookup = timed(claim, args.repeat), timed(went_out, args.repeat)
        indexes(True)
        print(f"| {run} | {with_claim:.1f} / {base_claim:.1f} | {with_claim / base_claim:.3f} "
              f"| {with_lookup:.2f} / {base_lookup:.2f} | {with_lookup / base_lookup:.3f} |")
    engine.dispose()
    folder.cleanup()


if __name__ == "__main__":
    main()
