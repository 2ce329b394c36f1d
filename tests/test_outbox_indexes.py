"""The outbox at scale: what every claim and every look-up by a message's key reads is
served by an index, on SQLite and on PostgreSQL, however many sent rows are kept."""

from __future__ import annotations

import asyncio
from contextlib import contextmanager
from datetime import timedelta

from sqlalchemy import event
from sqlmodel import Session

from bot.outbox import OutboxWorker
from bot.sender import SendResult
from storage import outbox
from storage.outbox import enqueue


class Sent:
    platform = "wecom"

    async def send(self, message):
        return SendResult.sent()


@contextmanager
def statements(engine):
    """Each (SQL, parameters) sent while the block ran."""
    seen: list = []

    def record(conn, cursor, sql, parameters, context, executemany):
        seen.append((sql, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def plan(engine, sql: str, parameters) -> str:
    """The statement's query plan, as the database explains it."""
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            # A test's outbox is small enough to read whole: the planner is told it is not,
            # so that the plan shows which index serves the statement.
            conn.exec_driver_sql("SET enable_seqscan = off")
            return "\n".join(row[0] for row in conn.exec_driver_sql("EXPLAIN " + sql, parameters))
        return "\n".join(row[-1] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql,
                                                                  parameters))


def searched_by(engine, column: str, explained: str) -> bool:
    """Whether the plan reads rows by `column` through an index: only those it wants."""
    if engine.dialect.name == "postgresql":
        return any("Index Cond:" in step and f"({column}" in step
                   for step in explained.splitlines())
    return f"{column}>" in explained


def fill(engine, clock, n: int = 30) -> None:
    """Sent reminders to several groups, and one still to go."""
    with Session(engine) as session:
        for i in range(n):
            enqueue(session, platform="wecom", target_kind="group", target=f"g{i % 5}",
                    payload={"text": f"提醒{i}"}, now=clock.now(), kind=outbox.DAY_BEFORE,
                    dedupe_key=f"{outbox.DAY_BEFORE}|wecom:g{i % 5}|activity:{i}")
        session.commit()
    asyncio.run(OutboxWorker(engine, clock, {"wecom": Sent()}).drain())
    clock.advance(timedelta(seconds=5))
    with Session(engine) as session:
        enqueue(session, platform="wecom", target_kind="group", target="g1",
                payload={"text": "还有一条"}, now=clock.now(), kind=outbox.DAY_BEFORE,
                dedupe_key=f"{outbox.DAY_BEFORE}|wecom:g1|activity:99")
        session.commit()


def test_a_claim_counts_the_last_minutes_sends_without_reading_every_sent_row(engine, clock):
    fill(engine, clock)
    worker = OutboxWorker(engine, clock, {"wecom": Sent()})
    with statements(engine) as seen:
        assert len(worker.claim()) == 1
    [(sql, parameters)] = [(sql, p) for sql, p in seen if "sum(" in sql.lower()]
    assert searched_by(engine, "sent_at", plan(engine, sql, parameters))


def test_looking_a_message_up_by_its_key_reads_no_other_message(engine, clock):
    fill(engine, clock)
    with statements(engine) as seen, Session(engine) as session:
        assert outbox.went_out(session, kind=outbox.DAY_BEFORE,
                               key_prefix=f"{outbox.DAY_BEFORE}|wecom:g1|activity:1")
        assert outbox.withdraw_unsent(session, kind=outbox.DAY_BEFORE,
                                      key_prefix=f"{outbox.DAY_BEFORE}|wecom:g1|activity:99",
                                      reason="活动已取消")
        session.commit()
    lookups = [(sql, p) for sql, p in seen if "LIKE" in sql and sql.lstrip().startswith("SELECT")]
    assert len(lookups) == 2
    for sql, parameters in lookups:
        assert searched_by(engine, "dedupe_key", plan(engine, sql, parameters)), sql


def test_a_key_prefix_finds_only_keys_that_start_with_it_letter_for_letter(engine, clock):
    with Session(engine) as session:
        for key in ("leave.ask|member:7|x", "LEAVE.ASK|member:7|x", "leave.ask|member:70|x",
                    "leave.ask|member:7|\u5e9f"):
            enqueue(session, platform="wecom", target_kind="user", target="u", kind="leave.ask",
                    payload={"text": key}, now=clock.now(), dedupe_key=key)
        session.commit()
        withdrawn = outbox.withdraw_unsent(session, kind="leave.ask",
                                           key_prefix="leave.ask|member:7|", reason="已处理")
    assert sorted(row.dedupe_key for row in withdrawn) == ["leave.ask|member:7|x",
                                                          "leave.ask|member:7|\u5e9f"]

