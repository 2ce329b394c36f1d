"""Where a member was: the spell in their current branch, and the spells that have ended.

A member's current spell is on the member (branch, party group, role, since
`branch_since`, or since they were created); one that ends (a move to another branch, a
return from a temporary branch, leaving the roster) is kept as a PastMembership. Who an
activity expects is read at its end (storage.attendance, storage.reports), so an absence
not confirmed yet when someone moves is counted in the branch they were due in, and the
branch they move to does not expect them at what it held before they came.
Keyword-only functions that never commit.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from storage.models import Member, PastMembership


def since(member: Member) -> datetime:
    """When the member's current spell began."""
    return member.branch_since or member.created_at


def end_spell(session: Session, *, member: Member, now: datetime) -> None:
    """Keep the member's current spell as it was, ended now (before a move or leaving the
    roster). A member off the roster has no current spell: nothing is kept."""
    if not member.active:
        return
    session.add(PastMembership(
        member_id=member.id, branch_id=member.branch_id,  # type: ignore[arg-type]
        party_group_id=member.party_group_id, role=member.role,
        bureau_committee=member.bureau_committee, since=since(member), until=now))


def move(session: Session, *, member: Member, branch_id: int | None, now: datetime) -> None:
    """The member goes to another branch (or to none) from now."""
    if member.branch_id == branch_id:
        return
    end_spell(session, member=member, now=now)
    member.branch_id = branch_id
    member.branch_since = now


def leave_roster(session: Session, *, member: Member, now: datetime) -> None:
    """The member is off the roster from now (their history stays)."""
    end_spell(session, member=member, now=now)
    member.active = False


def back_on_roster(member: Member, *, now: datetime) -> None:
    """The member is on the roster again from now: not expected at what was held meanwhile."""
    member.active = True
    member.branch_since = now


def branch_at(session: Session, *, member: Member, moment: datetime) -> int | None:
    """The branch the member was in at `moment`: their current one unless a spell that has
    ended covers it."""
    if member.active and since(member) <= moment:
        return member.branch_id
    spell = session.exec(
        select(PastMembership)
        .where(PastMembership.member_id == member.id, PastMembership.since <= moment,
               PastMembership.until > moment)
        .order_by(PastMembership.until.desc())  # type: ignore[attr-defined]
    ).first()
    return spell.branch_id if spell is not None else member.branch_id
