"""What every replica must know about callbacks: which messages were answered, and which
DingTalk header pairs were already used. Queries never commit; the caller owns the session."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.engine import Connection
from sqlmodel import Session

from storage.ledger import insert_ignoring_duplicates, insert_ignoring_duplicates_statement
from storage.models import CallbackSignature, MessageAnswer
from storage.prepared import Prepared, Writes

log = logging.getLogger(__name__)


def claim_answer(session: Session, *, platform: str, message_id: str, via: str,
                 now: datetime) -> bool:
    """Record that this message is being answered; False when someone answered it already."""
    return insert_ignoring_duplicates(session, MessageAnswer, dict(
        platform=platform, message_id=message_id, via=via, answered_at=now))


def answered_via(session: Session, *, platform: str, message_id: str) -> str | None:
    """How the message was answered ("passive", "late"), or None if it was not yet."""
    return session.execute(select(MessageAnswer.via).where(
        MessageAnswer.platform == platform, MessageAnswer.message_id == message_id)
    ).scalar()


def answer_now_via(session: Session, *, platform: str, message_id: str, via: str) -> None:
    """Say the message is answered another way after all (a late reply taken back)."""
    session.execute(update(MessageAnswer).where(
        MessageAnswer.platform == platform, MessageAnswer.message_id == message_id
    ).values(via=via))


# A header pair is new (True) or came before (False, then its bodies decide); on the
# connection of the message's own transaction, so the statements are prepared once.
_SIGNATURE_KEYS = ("platform", "timestamp", "signature", "ordinal", "body_sha256", "seen_at")
_ADMIT = Prepared(partial(insert_ignoring_duplicates_statement, CallbackSignature.__table__),
                  keys=_SIGNATURE_KEYS)
_SEEN_BODIES = Prepared(select(CallbackSignature.body_sha256, CallbackSignature.seen_at).where(
    CallbackSignature.platform == bindparam("platform"),
    CallbackSignature.timestamp == bindparam("timestamp"),
    CallbackSignature.signature == bindparam("signature")).order_by(CallbackSignature.ordinal))


# The pair as new, among a message's writes (HeaderPair.claim): no ON CONFLICT, so a pair
# seen before fails them on its key.
_CLAIM = Prepared(insert(CallbackSignature.__table__), keys=_SIGNATURE_KEYS)

# DingTalk signs the timestamp alone, in milliseconds, so two genuine callbacks sent in the
# same millisecond (members of two branches checking in at once) carry the same pair. A
# pair is therefore taken with another body, up to BODIES_PER_PAIR in all, while it is
# fresh: within SAME_MOMENT of when djbot first saw it. Someone who could use a pair that
# soon would be reading the callback as it travels, and could as well have changed the
# body of the callback itself: the sign never covered it. Later, when a leaked pair is
# what a forger would have, another body is refused.
SAME_MOMENT = timedelta(seconds=5)
BODIES_PER_PAIR = 4


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
        """Remember the pair with its body; False when the body is refused: the pair came
        with other bodies only, and either came first more than SAME_MOMENT ago or already
        carries BODIES_PER_PAIR of them.

        A body the pair came with before is a platform retry and is admitted again. Run on
        the connection of the message's own transaction: a refused message leaves nothing,
        an admitted one is remembered with its answer. Pairs past the freshness window
        (which the timestamp check refuses anyway) are deleted by forget_signatures, from
        the scheduler.
        """
        if _ADMIT.rows(conn, self._values(0)):
            return True
        seen = _SEEN_BODIES.rows(conn, self._values(0))
        if any(body == self.body_sha256 for body, _ in seen):
            return True
        if not seen or self.now - seen[0][1] > SAME_MOMENT:
            return False
        for ordinal in range(len(seen), BODIES_PER_PAIR):  # a racing twin may take one
            if _ADMIT.rows(conn, self._values(ordinal)):
                log.info("dingtalk header pair %s taken with body %d of %d: signed in the "
                         "same millisecond", self.timestamp, ordinal + 1, BODIES_PER_PAIR)
                return True
        return False

    def claim(self, writes: Writes) -> None:
        """Queue the pair as new, with the message's own writes (the quick lane): a pair
        seen before, a platform's retry, a twin or a replay, fails them on its key, and the
        message goes the general way, which tells them apart. The usual case, a new pair,
        then costs no statement of its own."""
        writes.add(_CLAIM, self._values(0))

    def _values(self, ordinal: int) -> dict[str, str | int | datetime]:
        return dict(platform=self.platform, timestamp=self.timestamp, signature=self.signature,
                    ordinal=ordinal, body_sha256=self.body_sha256, seen_at=self.now)


def forget_signatures(session: Session, *, before: datetime) -> int:
    """Delete the header pairs first seen before `before`; how many."""
    return session.execute(delete(CallbackSignature).where(
        CallbackSignature.seen_at < before)).rowcount
