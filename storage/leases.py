"""Named leases, so exactly one replica holds something only one may hold (a long connection).

The holder renews its lease well before it expires; a replica that dies stops renewing and
another takes over once the lease has run out. Keyword-only, never commits.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from storage.models import Lease


def take(session: Session, *, name: str, holder: str, now: datetime, ttl: timedelta) -> bool:
    """Take the lease if it is free or lapsed, or renew it if it is ours; True when we hold it.

    One INSERT … ON CONFLICT DO UPDATE … WHERE: the database decides atomically, so of two
    replicas racing for a free or lapsed lease exactly one gets a row back (PostgreSQL locks
    the conflicting row and re-checks the WHERE; SQLite has one writer).
    """
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = insert(Lease).values(name=name, holder=holder, expires_at=now + ttl)
    statement = statement.on_conflict_do_update(
        index_elements=[Lease.name],
        set_={"holder": holder, "expires_at": now + ttl},
        where=or_(Lease.holder == holder, Lease.expires_at <= now),
    ).returning(Lease.name)
    return session.execute(statement).first() is not None


def release(session: Session, *, name: str, holder: str) -> None:
    """Give the lease up (at shutdown) so another replica need not wait for it to expire."""
    session.execute(delete(Lease).where(Lease.name == name, Lease.holder == holder))


# `djbot serve` holds one of these per replica while it runs, and leaves it behind when it
# stops: the database is then known to be a service's (see `djbot chat`).
SERVICE_PREFIX = "service:"


def served(session: Session) -> bool:
    """Whether a djbot service has ever run its scheduler on this database."""
    return session.execute(
        select(Lease.name).where(Lease.name.startswith(SERVICE_PREFIX)).limit(1)
    ).first() is not None
