"""What every replica must know about callbacks: which messages were answered, and which
DingTalk header pairs were already used. Queries never commit; the caller owns the session."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from storage.models import CallbackSignature, MessageAnswer


def claim_answer(session: Session, *, platform: str, message_id: str, via: str,
                 now: datetime) -> bool:
    """Record that this message is being answered; False when someone answered it already."""
    return _insert_new(session, MessageAnswer, platform=platform, message_id=message_id,
                       via=via, answered_at=now)


def was_answered(session: Session, *, platform: str, message_id: str) -> bool:
    return session.execute(select(MessageAnswer.via).where(
        MessageAnswer.platform == platform, MessageAnswer.message_id == message_id)
    ).first() is not None


def admit_signature(session: Session, *, platform: str, timestamp: str, signature: str,
                    body_sha256: str, now: datetime, window: timedelta) -> bool:
    """Remember a header pair with its body; False when the pair came before with another body.

    The same pair with the same body is a platform retry and is admitted again. Pairs older
    than the freshness window are forgotten: the timestamp check refuses them anyway.
    """
    session.execute(delete(CallbackSignature).where(
        CallbackSignature.platform == platform, CallbackSignature.seen_at < now - window))
    if _insert_new(session, CallbackSignature, platform=platform, timestamp=timestamp,
                   signature=signature, body_sha256=body_sha256, seen_at=now):
        return True
    seen = session.execute(select(CallbackSignature.body_sha256).where(
        CallbackSignature.platform == platform, CallbackSignature.timestamp == timestamp,
        CallbackSignature.signature == signature)).scalar()
    return seen == body_sha256


def _insert_new(session: Session, model, **values) -> bool:
    """INSERT … ON CONFLICT DO NOTHING: True when this row is new (no savepoint needed)."""
    dialect = sqlite if session.get_bind().dialect.name == "sqlite" else postgresql
    table = model.__table__
    statement = (dialect.insert(table).values(**values).on_conflict_do_nothing()
                 .returning(table.c.platform))  # rowcount is not reliable with psycopg 3
    return session.execute(statement).first() is not None
