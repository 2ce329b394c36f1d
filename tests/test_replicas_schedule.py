"""Two service processes on one PostgreSQL database, through a reminder time.

Each process runs the real tick and outbox worker in a loop, with a clock read from a
file the test moves, and a sender that records every message the "platform" accepted in
a table. A process is killed (os._exit) at each named point; nothing is lost, and only a
death after the platform accepted produces one extra copy.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, func, insert, select
from sqlmodel import Session, SQLModel

from tests.conftest import NO_POSTGRES, POSTGRES_URL, local, postgres_schema

pytestmark = [
    pytest.mark.skipif(not POSTGRES_URL, reason=NO_POSTGRES),
    pytest.mark.own_databases,
]

# What the fake platform accepted, one row per accepted send.
accepted = Table("accepted", MetaData(), Column("id", Integer, primary_key=True),
                 Column("outbox_id", Integer), Column("kind", String), Column("worker", String))


class FileClock:
    """The test's clock, shared with the service processes through a file."""

    def __init__(self, path: str) -> None:
        self.path = path

    def now(self) -> datetime:
        return datetime.fromisoformat(Path(self.path).read_text())

    def set(self, when: datetime) -> None:
        # Written whole, then put in place: a process reading it half-written died after
        # the platform accepted a nudge, and the other sent it again (a copy the test then
        # blamed on the replicas).
        written = Path(f"{self.path}.new")
        written.write_text(when.isoformat())
        os.replace(written, self.path)


def service_loop(url: str, clock_path: str, name: str, crash: str | None) -> None:
    """One djbot service process: tick, deliver, repeat; crash where told to."""
    import asyncio

    from bot.config import Settings
    from bot.domain.rules import load_rules
    from bot.outbox import OutboxWorker
    from bot.scheduling import tick as tick_module
    from bot.scheduling.holidays import HolidayCalendar
    from bot.sender import SendResult
    from storage import db

    settings = Settings(database_url=url, _env_file=None)
    engine = db.make_engine(url)
    clock = FileClock(clock_path)

    if crash == "before_enqueue_commits":
        real_enqueue = tick_module.enqueue

        def enqueue_then_die(*args, **kwargs):
            real_enqueue(*args, **kwargs)
            os._exit(3)  # the row was written in a transaction that never commits

        tick_module.enqueue = enqueue_then_die

    class Platform:
        platform = "wecom"

        async def send(self, message):
            if crash == "after_claim":
                os._exit(3)
            with engine.begin() as conn:
                conn.execute(insert(accepted).values(outbox_id=message.id, kind=message.kind,
                                                     worker=name))
            if crash == "after_platform_accepted":
                os._exit(3)
            return SendResult.sent()

    ticker = tick_module.Ticker(engine, settings, clock, load_rules(None),
                                calendar=HolidayCalendar())
    ticker.last = clock.now()
    worker = OutboxWorker(engine, clock, {"wecom": Platform()}, worker_id=name)
    loop = asyncio.new_event_loop()
    while True:
        ticker.tick()
        loop.run_until_complete(worker.drain())
        time.sleep(0.05)


@pytest.fixture
def pg(tmp_path):
    from storage import db

    with postgres_schema(POSTGRES_URL) as url:
        engine = db.make_engine(url)
        SQLModel.metadata.create_all(engine)
        accepted.create(engine)
        yield url, engine, FileClock(str(tmp_path / "now"))
        engine.dispose()


def seed_branch(engine):
    from storage.models import Role, Schedule
    from tests.factories import bind_chat, make_branch, make_member, seed

    def build(session):
        branch = make_branch(session, "城关支部")
        make_member(session, branch, "王书记", role=Role.SECRETARY, wecom="sec")
        make_member(session, branch, "小李", wecom="li")
        bind_chat(session, branch, "g1")
        session.add(Schedule(branch_id=branch.id, activity_type="政治夜学", rule="每周三 19:30",
                             duration_minutes=90, holiday_policy="skip",
                             created_at=local(2026, 11, 1, 0, 0), updated_at=local(2026, 11, 1, 0, 0)))
    seed(engine, build)


class Services:
    def __init__(self, url: str, clock: FileClock) -> None:
        self.url, self.clock = url, clock
        self.context = multiprocessing.get_context("spawn")
        self.running: list = []

    def start(self, name: str, crash: str | None = None):
        process = self.context.Process(target=service_loop,
                                       args=(self.url, self.clock.path, name, crash), daemon=True)
        process.start()
        self.running.append(process)
        return process

    def stop(self) -> None:
        for process in self.running:
            if process.is_alive():
                process.terminate()
            process.join(10)


@pytest.fixture
def services(pg):
    url, _, clock = pg
    running = Services(url, clock)
    yield running
    running.stop()


def wait_for(condition, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def outbox_rows(engine) -> list[tuple[int, str, str]]:
    from storage.models import OutboxMessage

    with Session(engine) as session:
        return [(r.id, r.kind, r.status) for r in session.exec(
            select(OutboxMessage).order_by(OutboxMessage.id)).scalars()]


def accepted_count(engine, **where) -> int:
    query = select(func.count()).select_from(accepted)
    for column, value in where.items():
        query = query.where(accepted.c[column] == value)
    with engine.connect() as conn:
        return conn.execute(query).scalar_one()


def test_two_replicas_enqueue_and_deliver_each_reminder_once(pg, services):
    _, engine, clock = pg
    seed_branch(engine)
    clock.set(local(2026, 11, 25, 18, 0))
    services.start("a")
    services.start("b")
    for moment, expected in [((18, 30), 1), ((19, 30), 2), ((19, 45), 4), ((21, 0), 5)]:
        clock.set(local(2026, 11, 25, *moment))
        wait_for(lambda: accepted_count(engine) >= expected, f"{expected} deliveries")
    time.sleep(1)  # both kept ticking over the same due times: nothing more may appear
    rows = outbox_rows(engine)
    assert [kind for _, kind, _ in rows] == ["reminder.group_before", "reminder.start", "nudge",
                                             "nudge", "reminder.missing"]
    assert {status for _, _, status in rows} == {"sent"}
    for outbox_id, _, _ in rows:
        assert accepted_count(engine, outbox_id=outbox_id) == 1


@pytest.mark.parametrize("crash, copies", [
    ("before_enqueue_commits", 1),
    ("after_claim", 1),
    ("after_platform_accepted", 2),
])
def test_a_replica_killed_at_each_point_loses_nothing(pg, services, crash, copies):
    _, engine, clock = pg
    seed_branch(engine)
    clock.set(local(2026, 11, 25, 18, 29))
    doomed = services.start("doomed", crash)
    clock.set(local(2026, 11, 25, 18, 30))  # the group reminder is due
    doomed.join(60)
    assert doomed.exitcode == 3, "the process should have died at the crash point"

    services.start("survivor")
    # A claim by the dead process is taken over once it times out (5 minutes); the
    # reminder is still inside the 30-minute catch-up grace.
    clock.set(local(2026, 11, 25, 18, 30) + timedelta(minutes=6))
    wait_for(lambda: [s for _, _, s in outbox_rows(engine)] == ["sent"], "the reminder sent")
    [(outbox_id, kind, _)] = outbox_rows(engine)
    assert kind == "reminder.group_before"
    assert accepted_count(engine, outbox_id=outbox_id) == copies
