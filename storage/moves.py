"""A change of a member's place (storage.membership) and what it does to their leave
(storage.leave.refit): the spell they were in ends, and leave asked for an activity not
started yet that the new place does not expect them at is withdrawn (restored when a later
change makes them due there again), and a leave period excuses what the new place does.
Each returns what that did (storage.leave.Changed), for the caller to tell. Keyword-only
functions that never commit.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from sqlmodel import Session

from storage import leave, membership
from storage.leave import Changed
from storage.models import Member


def change(session: Session, *, member: Member, now: datetime, tz: tzinfo,
           **place: Any) -> Changed | None:
    """The member's place (some of membership.PLACE) is as given from now. Only a real change ends
    the spell: a roster imported again as it was, or a role set to the one held, keeps
    it whole. Returns what changed for their leave (`tz`: which days a leave period
    covers), or None when nothing changed."""
    unknown = set(place) - set(membership.PLACE)
    if unknown:
        raise ValueError(f"not a member's place: {sorted(unknown)}")
    changed = {key: value for key, value in place.items() if getattr(member, key) != value}
    if not changed:
        return None
    was = membership.end_spell(session, member=member, now=now)
    for key, value in changed.items():
        setattr(member, key, value)
    member.branch_since = now
    return leave.refit(session, changed=Changed(member, was), now=now, tz=tz)


def move(session: Session, *, member: Member, branch_id: int | None, now: datetime,
         tz: tzinfo) -> Changed | None:
    """The member goes to another branch (or to none) from now."""
    return change(session, member=member, now=now, tz=tz, branch_id=branch_id)


def leave_roster(session: Session, *, member: Member, now: datetime) -> Changed:
    """The member is off the roster from now (their history stays; leave asked for what
    is still to come is withdrawn: nothing expects them there)."""
    was = membership.end_spell(session, member=member, now=now)
    member.active = False
    return leave.refit(session, changed=Changed(member, was), now=now, tz=None)


def rejoin(session: Session, *, member: Member, now: datetime, tz: tzinfo) -> Changed:
    """The member, off the roster, is on it again from now, in the place already set on
    them: expected from now on, not at what was held meanwhile. Leave withdrawn when they
    left, for an activity not started yet that expects them again, stands again, as it
    does for a move put right (a full import of a short file, then the right one)."""
    membership.back_on_roster(member, now=now)
    return leave.refit(session, changed=Changed(member, None), now=now, tz=tz)
