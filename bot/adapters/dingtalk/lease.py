"""A named lease in the database, so exactly one replica holds a long connection.

The holder renews it well before it expires; a replica that dies simply stops renewing,
and another takes over once the lease has run out. Keyword-only, never commits.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update
from sqlmodel import Session

from storage.ledger import insert_ignoring_duplicates
from storage.models import Lease


def take(session: Session, *, name: str, holder: str, now: datetime, ttl: timedelta) -> bool:
    """Take or renew the lease; True when `holder` now holds it until now + ttl."""
    renewed = session.execute(
        update(Lease)
        .where(Lease.name == name, or_(Lease.holder == holder, Lease.expires_at < now))
        .values(holder=holder, expires_at=now + ttl)
    )
    if renewed.rowcount:
        return True
    # No row yet, or another replica holds it. If another replica inserts first, its row
    # stands; reading the holder back decides (an insert's rowcount is unreliable on
    # PostgreSQL with ON CONFLICT DO NOTHING).
    insert_ignoring_duplicates(session, Lease, dict(name=name, holder=holder, expires_at=now + ttl))
    return session.execute(select(Lease.holder).where(Lease.name == name)).scalar_one() == holder


def release(session: Session, *, name: str, holder: str) -> None:
    """Give the lease up at shutdown so another replica need not wait for it to expire."""
    session.execute(delete(Lease).where(Lease.name == name, Lease.holder == holder))
