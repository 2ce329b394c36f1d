"""Where a member was: the spell in their current place, and the spells that have ended.

A member's place is their branch, party group, role and whether they are 党委委员: what
decides which activities expect them. Their current spell is on the member (that place,
since `branch_since`, or since they were created); one that ends (a move to another
branch, a return from a temporary branch, a new role or party group, joining or leaving
the party committee, leaving the roster) is kept as a PastMembership. Who an activity
expects is read at its end (storage.attendance, storage.reports), so an absence not
confirmed yet when someone's place changes is counted as they were due, and a place taken
afterwards (a branch, a 支委 role) does not make them due at what was held before.

A change of place is made by storage.moves, which ends the spell here and has the
member's leave follow it (storage.leave.refit). Keyword-only functions that never commit.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, func
from sqlmodel import Session, select

from storage.models import Member, PastMembership

# The member's fields an activity's audience reads: a change to any of them ends a spell.
PLACE = ("branch_id", "party_group_id", "role", "bureau_committee")


# How a member is named in party work: 李明同志 is 李明 (refused as nobody before).
_COMRADE = "同志"


def names_meant(said: str):
    """The condition on Member.name for a name as said: itself, or without 同志."""
    bare = said.removesuffix(_COMRADE)
    if bare != said and len(bare) >= 2:
        return Member.name.in_((said, bare))  # type: ignore[attr-defined]
    return Member.name == said


def since(member: Member) -> datetime:
    """When the member's current spell began."""
    return member.branch_since or member.created_at


def began(place: Member | PastMembership) -> datetime:
    """When a place (a member's current spell, or one that has ended) began."""
    return place.since if isinstance(place, PastMembership) else since(place)


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


def in_place_at(moment, place, *, member=Member) -> tuple:
    """place_at's rule in SQL, for a whole statement: `member` (Member, or an alias of it)
    was on the roster at `moment` in a place `place` accepts (it gives conditions on the
    place's columns, which Member and PastMembership share). Returns the two ways: by the
    spell they are in now, there since then; by one that has ended since (their place
    changed, or they left)."""
    current = and_(member.active == True,  # noqa: E712
                   func.coalesce(member.branch_since, member.created_at) <= moment,
                   *place(member))
    earlier = (select(PastMembership.id)
               .where(PastMembership.member_id == member.id,
                      PastMembership.since <= moment,
                      PastMembership.until > moment,
                      *place(PastMembership))
               # Whatever else it names (the member, an activity) is the statement's own.
               .correlate_except(PastMembership)
               .exists())
    return current, earlier


def places_at(session: Session, *, members: list[Member], moment: datetime
              ) -> dict[int, Member | PastMembership]:
    """place_at for each of the members, read at once: by member id, those on the roster
    at `moment`."""
    found: dict[int, Member | PastMembership] = {
        m.id: m for m in members if m.active and since(m) <= moment}  # type: ignore[misc]
    others = {m.id for m in members if m.id not in found}
    # Every spell covering the moment, whoever's (fewer than the roster), rather than a
    # list of ids to bind; the one that ended latest, as place_at takes, is read last.
    for spell in session.exec(
            select(PastMembership)
            .where(PastMembership.since <= moment, PastMembership.until > moment)
            .order_by(PastMembership.until)).all():  # type: ignore[arg-type]
        if spell.member_id in others:
            found[spell.member_id] = spell
    return found


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
               names_meant(name) | (Member.staff_no == name),
               (Member.branch_id != branch_id)
               | Member.branch_id.is_(None)  # type: ignore[union-attr]
               | (Member.active == False))  # noqa: E712
        .order_by(PastMembership.until.desc())).first()  # type: ignore[attr-defined]
    return (found[0], found[1]) if found is not None else None
