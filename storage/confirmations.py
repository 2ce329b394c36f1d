"""Things a member confirms with 「确认」 within a few minutes: keyword-only, never commit."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, select

from storage.models import PendingConfirmation

CONFIRM_WITHIN = timedelta(minutes=5)


def ask(session: Session, *, platform: str, chat_id: str, member_id: int, kind: str,
        payload: dict[str, Any], now: datetime) -> PendingConfirmation:
    """Record what 「确认」 will do; an earlier unanswered question in this chat lapses."""
    for old in session.exec(select(PendingConfirmation).where(
            PendingConfirmation.platform == platform, PendingConfirmation.chat_id == chat_id,
            PendingConfirmation.member_id == member_id,
            PendingConfirmation.done_at.is_(None))).all():  # type: ignore[union-attr]
        old.done_at = now
        session.add(old)
    pending = PendingConfirmation(platform=platform, chat_id=chat_id, member_id=member_id,
                                  kind=kind, payload=payload, created_at=now,
                                  expires_at=now + CONFIRM_WITHIN)
    session.add(pending)
    session.flush()
    return pending


def take(session: Session, *, platform: str, chat_id: str, member_id: int,
         now: datetime) -> PendingConfirmation | None:
    """The member's open question in this chat, marked answered; None if none or lapsed."""
    pending = session.exec(
        select(PendingConfirmation).where(
            PendingConfirmation.platform == platform, PendingConfirmation.chat_id == chat_id,
            PendingConfirmation.member_id == member_id,
            PendingConfirmation.done_at.is_(None),  # type: ignore[union-attr]
            PendingConfirmation.expires_at > now)
        .order_by(PendingConfirmation.id.desc())  # type: ignore[union-attr]
    ).first()
    if pending is not None:
        pending.done_at = now
        session.add(pending)
    return pending
