"""The named lease that lets one replica hold a long connection (storage/leases.py).

Runs on SQLite, and on PostgreSQL in its pass (the `engine` fixture picks the database).
"""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from storage import leases
from storage.db import session_scope
from storage.models import Lease

TTL = timedelta(seconds=60)


def take(engine, holder: str, now) -> bool:
    """One replica's attempt, in its own transaction, as the adapters make it."""
    with session_scope(engine) as session:
        return leases.take(session, name="stream", holder=holder, now=now, ttl=TTL)


def stored(engine) -> tuple[str, object] | None:
    with Session(engine) as session:
        row = session.exec(select(Lease).where(Lease.name == "stream")).first()
        return (row.holder, row.expires_at) if row else None


def test_a_free_lease_is_taken_and_renewed_by_its_holder(engine, clock):
    assert take(engine, "a", clock.now())
    assert stored(engine) == ("a", clock.now() + TTL)
    clock.advance(seconds=20)
    assert take(engine, "a", clock.now())  # the holder renews before it runs out
    assert stored(engine) == ("a", clock.now() + TTL)


def test_a_held_lease_is_refused_to_another_replica_until_it_lapses(engine, clock):
    assert take(engine, "a", clock.now())
    assert not take(engine, "b", clock.now())
    clock.advance(seconds=59)
    assert not take(engine, "b", clock.now())
    assert stored(engine)[0] == "a"
    # "a" died and stopped renewing: "b" takes over, and "a" coming back is refused.
    clock.advance(seconds=1)
    assert take(engine, "b", clock.now())
    assert not take(engine, "a", clock.now())
    assert stored(engine) == ("b", clock.now() + TTL)


def test_a_released_lease_is_free_at_once_and_only_its_holder_can_release_it(engine, clock):
    assert take(engine, "a", clock.now())
    with session_scope(engine) as session:
        leases.release(session, name="stream", holder="b")  # not b's to give up
    assert not take(engine, "b", clock.now())
    with session_scope(engine) as session:
        leases.release(session, name="stream", holder="a")
    assert take(engine, "b", clock.now())


def test_leases_are_independent_by_name(engine, clock):
    with session_scope(engine) as session:
        assert leases.take(session, name="wecom-longconn", holder="a", now=clock.now(), ttl=TTL)
        assert leases.take(session, name="dingtalk-stream", holder="b", now=clock.now(), ttl=TTL)


@pytest.mark.parametrize("before", ["free", "lapsed"])
def test_replicas_racing_for_the_lease_leave_exactly_one_holder(engine, clock, before):
    if before == "lapsed":
        assert take(engine, "old", clock.now())
        clock.advance(seconds=61)
    now = clock.now()
    start = threading.Barrier(8)
    won: list[str] = []

    def replica(holder: str) -> None:
        start.wait()
        if take(engine, holder, now):
            won.append(holder)

    threads = [threading.Thread(target=replica, args=(f"r{i}",)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(won) == 1
    assert stored(engine)[0] == won[0]


def test_doctor_says_when_this_server_s_clock_is_off_from_the_database_s(pg_url):
    """Each replica decides by its own clock when a reminder is due, when check-in closes
    and when a lease has lapsed: one whose clock ran five minutes fast posted the 19:30
    start notice at 19:25, and `djbot doctor database` said all was well."""
    from datetime import UTC, datetime

    from bot.doctor import clock_lines
    from storage import db

    engine = db.make_engine(pg_url)
    try:
        [(ok, line)] = clock_lines(engine, now=datetime.now(UTC) + timedelta(minutes=5))
        assert ok is False and "快约 300 秒" in line and "NTP" in line
        [(ok, line)] = clock_lines(engine, now=datetime.now(UTC) - timedelta(minutes=2))
        assert ok is False and "慢约 120 秒" in line
        assert clock_lines(engine, now=datetime.now(UTC)) == []
    finally:
        engine.dispose()


def test_one_process_on_sqlite_has_no_other_clock_to_be_off_from(tmp_path):
    from datetime import UTC, datetime

    from bot.doctor import clock_lines
    from storage import db

    engine = db.make_engine(f"sqlite:///{tmp_path / 'djbot.db'}")
    assert clock_lines(engine, now=datetime.now(UTC) + timedelta(minutes=5)) == []
