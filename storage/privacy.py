"""One member's own data: everything djbot holds about them (export), and forgetting them.

Forgetting pseudonymises: the person's name, staff number, platform identities and
free-text notes go; their attendance and ledger rows stay under a neutral label, so a
branch's totals and past reports do not change when someone leaves.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, update
from sqlmodel import Session, SQLModel, select

from storage import moves
from storage.models import (
    Activity,
    Attendance,
    AuditEntry,
    Branch,
    Identity,
    Member,
    OutboxMessage,
    PointEntry,
    ProcessedMessage,
    Rating,
    StudyLog,
)


class MemberNotFound(Exception):
    pass


class AmbiguousMember(Exception):
    def __init__(self, candidates: list[Member]) -> None:
        self.candidates = candidates
        super().__init__(", ".join(f"#{m.id}" for m in candidates))


def pseudonym(member_id: int) -> str:
    return f"已注销成员#{member_id}"


def find_member(session: Session, *, key: str) -> Member:
    """The member whose 编号 (staff number) or name is `key`; 编号 wins, a shared name is refused."""
    key = key.strip()
    by_number = session.exec(select(Member).where(Member.staff_no == key)).first()
    if by_number is not None:
        return by_number
    named = list(session.exec(select(Member).where(Member.name == key).order_by(Member.id)))
    if not named and key.startswith("#") and key[1:].isdigit():
        found = session.get(Member, int(key[1:]))
        named = [found] if found is not None else []
    if not named:
        raise MemberNotFound(key)
    if len(named) > 1:
        raise AmbiguousMember(named)
    return named[0]


def _plain(row: SQLModel, *, without: tuple[str, ...] = ()) -> dict[str, Any]:
    data = row.model_dump(exclude=set(without))
    return {k: v.isoformat() if isinstance(v, (datetime, date)) else v for k, v in data.items()}


def export_member(session: Session, *, member: Member) -> dict[str, Any]:
    """Everything djbot stores about this member, as plain JSON-ready data."""
    mid = member.id
    branch = session.get(Branch, member.branch_id) if member.branch_id else None
    attendance = session.exec(
        select(Attendance, Activity)
        .join(Activity, Activity.id == Attendance.activity_id)
        .where(Attendance.member_id == mid)
        .order_by(Activity.starts_at)
    ).all()
    ratings = session.exec(
        select(Rating, Activity)
        .join(Activity, Activity.id == Rating.activity_id)
        .where(Rating.member_id == mid)
        .order_by(Rating.rated_at)
    ).all()
    points = list(session.exec(
        select(PointEntry)
        .where(PointEntry.member_id == mid)
        .order_by(PointEntry.occurred_at, PointEntry.id)
    ))
    identities = session.exec(
        select(Identity).where(Identity.member_id == mid).order_by(Identity.id)
    )
    study = session.exec(
        select(StudyLog).where(StudyLog.member_id == mid).order_by(StudyLog.logged_at)
    )
    return {
        "member": _plain(member) | {"branch": branch.name if branch else None},
        "identities": [{"platform": i.platform, "user_id": i.user_id} for i in identities],
        "attendance": [
            _plain(a, without=("id", "member_id")) | {"activity": _activity(act)}
            for a, act in attendance
        ],
        "study": [_plain(s, without=("member_id",)) for s in study],
        "points": [_plain(p, without=("member_id",)) for p in points],
        "points_total": sum(p.points for p in points),
        "ratings": [
            _plain(r, without=("id", "member_id")) | {"activity": _activity(act)}
            for r, act in ratings
        ],
    }


def _activity(activity: Activity) -> dict[str, str]:
    return {"type": activity.type, "topic": activity.topic,
            "starts_at": activity.starts_at.isoformat()}


def forget_member(session: Session, *, member: Member, now: datetime, actor: str = "cli") -> None:
    """Pseudonymise one member; their ledger rows and attendance stay, nameless."""
    mid = member.id
    identities = list(session.exec(select(Identity).where(Identity.member_id == mid)))
    for identity in identities:
        # Stored deliveries and queued private messages carry the platform user id.
        session.exec(
            delete(ProcessedMessage).where(
                ProcessedMessage.platform == identity.platform,
                ProcessedMessage.sender_id == identity.user_id,
            )
        )
        session.exec(
            delete(OutboxMessage).where(
                OutboxMessage.platform == identity.platform,
                OutboxMessage.target_kind == "user",
                OutboxMessage.target == identity.user_id,
            )
        )
        session.delete(identity)
    # Free text the member wrote may name them or others; the facts (status, score) stay.
    session.exec(
        update(Attendance).where(Attendance.member_id == mid)
        .values(leave_reason=None, message_id=None)
    )
    session.exec(update(Rating).where(Rating.member_id == mid).values(comment=None))
    session.exec(update(StudyLog).where(StudyLog.member_id == mid).values(material=None))
    session.exec(update(AuditEntry).where(AuditEntry.actor_id == mid).values(actor=pseudonym(mid)))

    member.name = pseudonym(mid)
    member.staff_no = None
    moves.leave_roster(session, member=member, now=now)
    member.forgotten = True
    member.updated_at = now
    session.add(member)
    session.add(
        AuditEntry(at=now, actor=actor, action="member.forget", target=pseudonym(mid),
                   detail={"member_id": mid, "identities_removed": len(identities)})
    )
    session.flush()
