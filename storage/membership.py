"""Where a member was: the spell in their current place, and the spells that have ended.

A member's place is their branch, party group, role and whether they are 党委委员: what
decides which activities expect them. Their current spell is on the member (that place,
since `branch_since`, or since they were created); one that ends (a move to another
branch, a return from a temporary branch, a new role or party group, joining or leaving
the party committee, leaving the roster) is kept as a PastMembership. Who an activity
expects is read at its end (storage.attendance, storage.reports), so an absence not
confirmed yet when someone's place changes is counted as they were due, and a place taken
afterwards (a branch, a 支委 role) does not make them due at what was held before.
Keyword-only functions that never commit.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from storage.models import Member, PastMembership

# The member's fields an activity's audience reads: a change to any of them ends a spell.
PLACE = ("branch_id", "party_group_id", "role", "bureau_committee")


def since(member: Member) -> datetime:
    """When the member's current spell began."""
    return member.branch_since or member.created_at


def began(place: Member | PastMembership) -> datetime:
    """When a place (a member's current spell, or one that has ended) began."""
    return place.since if isinstance(place, PastMembership) else since(place)


def end_spell(session: Session, *, member: Member, now: datetime) -> None:
    """Keep the member's current spell as it was, ended now (before a change of place or
    leaving the roster). A member off the roster has no current spell: nothing is kept."""
    if not member.active:
        return
    session.add(PastMembership(
        member_id=member.id, branch_id=member.branch_id,  # type: ignore[arg-type]
        party_group_id=member.party_group_id, role=member.role,
        bureau_committee=member.bureau_committee, since=since(member), until=now))


def change(session: Session, *, member: Member, now: datetime, **place: Any) -> bool:
    """The member's place (some of PLACE) is as given from now. Only a real change ends
    the spell: a roster imported again as it was, or a role set to the one held, keeps
    it whole. Returns whether anything changed."""
    unknown = set(place) - set(PLACE)
    if unknown:
        raise ValueError(f"not a member's place: {sorted(unknown)}")
    changed = {key: value for key, value in place.items() if getattr(member, key) != value}
    if not changed:
        return False
    end_spell(session, member=member, now=now)
    for key, value in changed.items():
        setattr(member, key, value)
    member.branch_since = now
    return True


def move(session: Session, *, member: Member, branch_id: int | None, now: datetime) -> None:
    """The member goes to another branch (or to none) from now."""
    change(session, member=member, now=now, branch_id=branch_id)


def leave_roster(session: Session, *, member: Member, now: datetime) -> None:
    """The member is off the roster from now (their history stays)."""
    end_spell(session, member=member, now=now)
    member.active = False


def back_on_roster(member: Member, *, now: datetime) -> None:
    """The member is on the roster again from now: not expected at what was held meanwhile."""
    member.active = True
    member.branch_since = now


def place_at(session: Session, *, member: Member, moment: datetime
             ) -> Member | PastMembership | None:
    """Where the member was at `moment`: the member (their current spell), the spell that
    has ended that covers it, or None (not on the roster then)."""
    if member.active and since(member) <= moment:
        return member
    return session.exec(
        select(PastMembership)
        .where(PastMembership.member_id == member.id, PastMembership.since <= moment,
               PastMembership.until > moment)
        .order_by(PastMembership.until.desc())  # type: ignore[attr-defined]
    ).first()


def places_after(session: Session, *, member: Member, moment: datetime
                 ) -> list[Member | PastMembership]:
    """The places the member took after `moment`, in order: the spells that began after it
    and have ended, then their current one."""
    later: list[Member | PastMembership] = list(session.exec(
        select(PastMembership)
        .where(PastMembership.member_id == member.id, PastMembership.since > moment)
        .order_by(PastMembership.since)  # type: ignore[arg-type]
    ).all())
    if member.active and since(member) > moment:
        later.append(member)
    return later


def branch_at(session: Session, *, member: Member, moment: datetime) -> int | None:
    """The branch the member was in at `moment`: their current one unless a spell that has
    ended covers it."""
    place = place_at(session, member=member, moment=moment)
    return place.branch_id if place is not None else member.branch_id
