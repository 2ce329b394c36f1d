"""Where a member was: the spell in their current place, and the spells that have ended.

A member's place is their branch, party group, role and whether they are 党委委员: what
decides which activities expect them. Their current spell is on the member (that place,
since `branch_since`, or since they were created); one that ends (a move to another
branch, a return from a temporary branch, a new role or party group, joining or leaving
the party committee, leaving the roster) is kept as a PastMembership. Who an activity
expects is read at its end (storage.attendance, storage.reports), so an absence not
confirmed yet when someone's place changes is counted as they were due, and a place taken
afterwards (a branch, a 支委 role) does not make them due at what was held before.

Leave follows the change (storage.leave.refit): leave asked for an activity not started
yet that the new place does not expect them at is withdrawn, and a leave period excuses
what the new place does. The change returns what that did, for the caller to tell.
Keyword-only functions that never commit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any

from sqlmodel import Session, select

from storage.models import Activity, LeavePeriod, Member, PastMembership

# The member's fields an activity's audience reads: a change to any of them ends a spell.
PLACE = ("branch_id", "party_group_id", "role", "bureau_committee")


def since(member: Member) -> datetime:
    """When the member's current spell began."""
    return member.branch_since or member.created_at


def began(place: Member | PastMembership) -> datetime:
    """When a place (a member's current spell, or one that has ended) began."""
    return place.since if isinstance(place, PastMembership) else since(place)


@dataclass(frozen=True)
class Restored:
    """Leave a change of place had withdrawn, on record again as it was."""

    activity: Activity
    attendance_id: int
    leave_state: str  # as it was: granted, waiting for a decision, or turned down
    withdrawn_at: datetime  # when the change that withdrew it came


@dataclass
class Changed:
    """A change of place, and what it did to the member's leave (storage.leave.refit),
    for the caller to tell: storage sends nothing."""

    member: Member
    was: PastMembership | None  # the spell that ended: where they were (None: off the roster)
    # Leave they asked for one activity not started yet that the new place does not
    # expect them at: withdrawn (rows a leave period made are not listed; it stands).
    withdrawn: list[Activity] = field(default_factory=list)
    # Leave a period had made there, withdrawn with the rest: the period still excuses
    # wherever they are due.
    released: list[Activity] = field(default_factory=list)
    # Activities not started yet that the new place expects them at, which a period of
    # theirs covers: excused now, as they would have been had they been due when planned.
    excused: list[Activity] = field(default_factory=list)
    # Periods still waiting for a decision that are now another branch's to decide: the
    # requests queued to the old one were withdrawn; the new one is still to be asked.
    to_decide: list[LeavePeriod] = field(default_factory=list)
    # Leave the secretary had turned down (驳回) on such an activity: no longer due there,
    # though nothing of theirs was withdrawn.
    turned_down: list[Activity] = field(default_factory=list)
    # Leave an earlier change withdrew that stands again: the new place expects them at
    # that activity, not started yet, once more (moved back).
    restored: list[Restored] = field(default_factory=list)
    # Requests for a decision queued and not sent yet, withdrawn.
    asks_withdrawn: int = 0

    @property
    def branch_changed(self) -> bool:
        return self.was is not None and self.was.branch_id != self.member.branch_id


def end_spell(session: Session, *, member: Member, now: datetime) -> PastMembership | None:
    """Keep the member's current spell as it was, ended now (before a change of place or
    leaving the roster), and return it. A member off the roster has no current spell:
    nothing is kept."""
    if not member.active:
        return None
    spell = PastMembership(
        member_id=member.id, branch_id=member.branch_id,  # type: ignore[arg-type]
        party_group_id=member.party_group_id, role=member.role,
        bureau_committee=member.bureau_committee, since=since(member), until=now)
    session.add(spell)
    return spell


def change(session: Session, *, member: Member, now: datetime, tz: tzinfo,
           **place: Any) -> Changed | None:
    """The member's place (some of PLACE) is as given from now. Only a real change ends
    the spell: a roster imported again as it was, or a role set to the one held, keeps
    it whole. Returns what changed for their leave (`tz`: which days a leave period
    covers), or None when nothing changed."""
    unknown = set(place) - set(PLACE)
    if unknown:
        raise ValueError(f"not a member's place: {sorted(unknown)}")
    changed = {key: value for key, value in place.items() if getattr(member, key) != value}
    if not changed:
        return None
    was = end_spell(session, member=member, now=now)
    for key, value in changed.items():
        setattr(member, key, value)
    member.branch_since = now
    from storage import leave  # leave reads who is expected, which reads these spells

    return leave.refit(session, changed=Changed(member, was), now=now, tz=tz)


def move(session: Session, *, member: Member, branch_id: int | None, now: datetime,
         tz: tzinfo) -> Changed | None:
    """The member goes to another branch (or to none) from now."""
    return change(session, member=member, now=now, tz=tz, branch_id=branch_id)


def leave_roster(session: Session, *, member: Member, now: datetime) -> Changed:
    """The member is off the roster from now (their history stays; leave asked for what
    is still to come is withdrawn: nothing expects them there)."""
    was = end_spell(session, member=member, now=now)
    member.active = False
    from storage import leave  # leave reads who is expected, which reads these spells

    return leave.refit(session, changed=Changed(member, was), now=now, tz=None)


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


def left_branch(session: Session, *, branch_id: int, name: str) -> tuple[Member, datetime] | None:
    """The member named (by name or 编号) who was in the branch and is no longer, with when
    they left it (the latest such); None when nobody was. For telling a secretary who names
    someone no longer theirs where that person went, rather than that nobody is called so."""
    found = session.exec(
        select(Member, PastMembership.until)
        .join(PastMembership, PastMembership.member_id == Member.id)
        .where(PastMembership.branch_id == branch_id, Member.forgotten == False,  # noqa: E712
               (Member.name == name) | (Member.staff_no == name),
               (Member.branch_id != branch_id)
               | Member.branch_id.is_(None)  # type: ignore[union-attr]
               | (Member.active == False))  # noqa: E712
        .order_by(PastMembership.until.desc())).first()  # type: ignore[attr-defined]
    return (found[0], found[1]) if found is not None else None
