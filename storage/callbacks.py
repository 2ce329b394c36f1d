"""What every replica must know about callbacks: which messages were answered, and which
DingTalk header pairs were already used. Queries never commit; the caller owns the session."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlmodel import Session

from storage.models import CallbackSignature, MessageAnswer
from storage.prepared import Prepared


def claim_answer(session: Session, *, platform: str, message_id: str, via: str,
                 now: datetime) -> bool:
    """Record that this message is being answered; False when someone answered it already."""
    return _insert_new(session, MessageAnswer, platform=platform, message_id=message_id,
                       via=via, answered_at=now)


def was_answered(session: Session, *, platform: str, message_id: str) -> bool:
    return session.execute(select(MessageAnswer.via).where(
        MessageAnswer.platform == platform, MessageAnswer.message_id == message_id)
    ).first() is not None


# A header pair is new (True) or came before (False, then its body decides); on the
# connection of the message's own transaction, so the statements are prepared once.
_SIGNATURE_KEYS = ("platform", "timestamp", "signature", "body_sha256", "seen_at")
_ADMIT = {
    name: Prepared(dialect.insert(CallbackSignature.__table__).on_conflict_do_nothing()
                   .returning(CallbackSignature.__table__.c.platform), keys=_SIGNATURE_KEYS)
    for name, dialect in (("sqlite", sqlite), ("postgresql", postgresql))
}
_SEEN_BODY = Prepared(select(CallbackSignature.body_sha256).where(
    CallbackSignature.platform == bindparam("platform"),
    CallbackSignature.timestamp == bindparam("timestamp"),
    CallbackSignature.signature == bindparam("signature")))


def admit_signature(conn: Connection, *, platform: str, timestamp: str, signature: str,
                    body_sha256: str, now: datetime) -> bool:
    """Remember a header pair with its body; False when the pair came before with another body.

    The same pair with the same body is a platform retry and is admitted again. Run on the
    connection of the message's own transaction: a refused message leaves nothing, an
    admitted one is remembered with its answer. Pairs past the freshness window (which the
    timestamp check refuses anyway) are deleted by forget_signatures, from the scheduler.
    """
    values = dict(platform=platform, timestamp=timestamp, signature=signature,
                  body_sha256=body_sha256, seen_at=now)
    if _ADMIT[conn.dialect.name].rows(conn, values):
        return True
    seen = _SEEN_BODY.first(conn, values)
    return seen is not None and seen[0] == body_sha256


def forget_signatures(session: Session, *, before: datetime) -> int:
    """Delete the header pairs first seen before `before`; how many."""
    return session.execute(delete(CallbackSignature).where(
        CallbackSignature.seen_at < before)).rowcount


def _insert_new(session: Session, model, **values) -> bool:
    """INSERT … ON CONFLICT DO NOTHING: True when this row is new (no savepoint needed)."""
    dialect = sqlite if session.get_bind().dialect.name == "sqlite" else postgresql
    table = model.__table__
    statement = (dialect.insert(table).values(**values).on_conflict_do_nothing()
                 .returning(table.c.platform))  # rowcount is not reliable with psycopg 3
    return session.execute(statement).first() is not None
