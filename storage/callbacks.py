"""What every replica must know about callbacks: which messages were answered, and which
DingTalk header pairs were already used. Queries never commit; the caller owns the session."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import partial

from sqlalchemy import bindparam, delete, insert, select
from sqlalchemy.engine import Connection
from sqlmodel import Session

from storage.ledger import insert_ignoring_duplicates, insert_ignoring_duplicates_statement
from storage.models import CallbackSignature, MessageAnswer
from storage.prepared import Prepared, Writes


def claim_answer(session: Session, *, platform: str, message_id: str, via: str,
                 now: datetime) -> bool:
    """Record that this message is being answered; False when someone answered it already."""
    return insert_ignoring_duplicates(session, MessageAnswer, dict(
        platform=platform, message_id=message_id, via=via, answered_at=now))


def was_answered(session: Session, *, platform: str, message_id: str) -> bool:
    return session.execute(select(MessageAnswer.via).where(
        MessageAnswer.platform == platform, MessageAnswer.message_id == message_id)
    ).first() is not None


# A header pair is new (True) or came before (False, then its body decides); on the
# connection of the message's own transaction, so the statements are prepared once.
_SIGNATURE_KEYS = ("platform", "timestamp", "signature", "body_sha256", "seen_at")
_ADMIT = Prepared(partial(insert_ignoring_duplicates_statement, CallbackSignature.__table__),
                  keys=_SIGNATURE_KEYS)
_SEEN_BODY = Prepared(select(CallbackSignature.body_sha256).where(
    CallbackSignature.platform == bindparam("platform"),
    CallbackSignature.timestamp == bindparam("timestamp"),
    CallbackSignature.signature == bindparam("signature")))


# The pair as new, among a message's writes (HeaderPair.claim): no ON CONFLICT, so a pair
# seen before fails them on its key.
_CLAIM = Prepared(insert(CallbackSignature.__table__), keys=_SIGNATURE_KEYS)


@dataclass(frozen=True, slots=True)
class HeaderPair:
    """A callback's (timestamp, sign) pair with its body's hash, as the message's admission
    check (IncomingMessage.admit)."""

    platform: str
    timestamp: str
    signature: str
    body_sha256: str
    now: datetime

    def __call__(self, conn: Connection) -> bool:
        """Remember the pair with its body; False when it came before with another body.

        The same pair with the same body is a platform retry and is admitted again. Run on
        the connection of the message's own transaction: a refused message leaves nothing,
        an admitted one is remembered with its answer. Pairs past the freshness window
        (which the timestamp check refuses anyway) are deleted by forget_signatures, from
        the scheduler.
        """
        values = self._values()
        if _ADMIT.rows(conn, values):
            return True
        seen = _SEEN_BODY.first(conn, values)
        return seen is not None and seen[0] == self.body_sha256

    def claim(self, writes: Writes) -> None:
        """Queue the pair as new, with the message's own writes (the quick lane): a pair
        seen before, a platform's retry or a replay, fails them on its key, and the message
        goes the general way, which tells the two apart. The usual case, a new pair, then
        costs no statement of its own."""
        writes.add(_CLAIM, self._values())

    def _values(self) -> dict[str, str | datetime]:
        return dict(platform=self.platform, timestamp=self.timestamp, signature=self.signature,
                    body_sha256=self.body_sha256, seen_at=self.now)


def forget_signatures(session: Session, *, before: datetime) -> int:
    """Delete the header pairs first seen before `before`; how many."""
    return session.execute(delete(CallbackSignature).where(
        CallbackSignature.seen_at < before)).rowcount
