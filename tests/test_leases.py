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
