"""Trimming what only matters for a while: delivery records, finished outbox rows and the
questions put for 「确认」."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlmodel import Session

from storage.models import MessageAnswer, OutboxMessage, PendingConfirmation, ProcessedMessage


def prune(session: Session, *, before: datetime) -> tuple[int, int]:
    """Delete delivery records (and who answered them) received, and outbox rows sent or
    withdrawn, before `before`.

    A platform retries a delivery within minutes (WeCom refreshes a stream for six), so a
    record older than the retention can no longer de-duplicate anything; the effects it
    led to (attendance, points, audit) are kept in their own tables. Pending and dead
    outbox rows are never pruned: they are work still owed or waiting for an operator.
    A withdrawn row (a 【请假待批准】 whose leave was taken back, naming the member and the
    reason) goes once both its making and the time it was due are older than that: by
    then nothing reopens it (corrections.reopen revives one only before its activity).
    A question put for 「确认」 (a 取消活动's or a 更正's reason, about a member) holds for
    minutes, answered or not: it goes as a delivery record does. The counts returned are
    (delivery records, outbox rows); questions are not counted in either.
    """
    records = session.execute(
        delete(ProcessedMessage).where(ProcessedMessage.received_at < before)
    ).rowcount
    # Who answered a message matters only while the platform may deliver it again.
    records += session.execute(
        delete(MessageAnswer).where(MessageAnswer.answered_at < before)
    ).rowcount
    sent = session.execute(
        delete(OutboxMessage).where(OutboxMessage.status == "sent", OutboxMessage.sent_at < before)
    ).rowcount
    withdrawn = session.execute(
        delete(OutboxMessage).where(OutboxMessage.status == "withdrawn",
                                    OutboxMessage.created_at < before,
                                    OutboxMessage.next_attempt_at < before)
    ).rowcount
    session.execute(delete(PendingConfirmation).where(PendingConfirmation.expires_at < before))
    return records, sent + withdrawn
