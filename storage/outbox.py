"""Enqueueing outbound messages. The delivery worker lives in bot/outbox.py."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from storage.ledger import insert_ignoring_duplicates
from storage.models import OutboxMessage


def enqueue(
    session: Session,
    *,
    platform: str,
    target_kind: str,
    target: str,
    payload: dict[str, Any],
    now: datetime,
    kind: str = "message",
    dedupe_key: str | None = None,
    branch_id: int | None = None,
    not_before: datetime | None = None,
) -> bool:
    """Add a message to the outbox in the caller's transaction.

    With a dedupe_key (kind, target, occurrence time) the row is written at most once,
    however many replicas try: True means this call wrote it.
    """
    values = dict(
        dedupe_key=dedupe_key,
        platform=platform,
        target_kind=target_kind,
        target=target,
        branch_id=branch_id,
        kind=kind,
        payload=payload,
        status="pending",
        attempts=0,
        next_attempt_at=not_before or now,
        created_at=now,
    )
    if dedupe_key is None:
        session.add(OutboxMessage(**values))
        return True
    return insert_ignoring_duplicates(session, OutboxMessage, values)
