"""签到's own statements: the busiest message of djbot read and written without the ORM.

A whole branch checks in within minutes of a theme day's start, each check-in committed
before its answer. Through the ORM one cost about 1.4 ms of CPU, nine tenths of it in the
session's layers around eight statements SQLite ran in 0.1 ms. Here the check-in's simple
case is one SELECT (the member, the chat's branch, the branch's current activity and the
member's row on it) and two INSERTs, as SQLAlchemy Core statements built once, executed on
a plain connection, read as tuples; the INSERTs go with the message's record (on
PostgreSQL as one statement: storage.prepared.Writes). Everything else (leave rows,
bureau-wide activities, party groups, strangers) goes through storage.attendance, which
this module mirrors.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, select, true
from sqlalchemy.engine import Connection

from storage import ledger
from storage.attendance import INSERT_ATTENDANCE, current_in
from storage.models import Activity, Attendance, ChatBinding, Identity, Member
from storage.prepared import Prepared, Returned, Writes

_member = Member.__table__
_identity = Identity.__table__
_binding = ChatBinding.__table__
_activity = Activity.__table__
_attendance = Attendance.__table__

# The branch's current activity, by the same rule as storage.attendance.current_activity.
_CURRENT = (
    current_in(Activity.branch_id == ChatBinding.branch_id)
    .with_only_columns(Activity.id)
    .limit(1)
    .correlate(_binding)
    .scalar_subquery()
)

# One row when the chat is bound; member and activity columns are NULL when there is none.
_LOOK_UP = (
    select(
        _binding.c.branch_id.label("chat_branch_id"),
        _member.c.id.label("member_id"),
        _member.c.name,
        _member.c.branch_id,
        _member.c.party_group_id,
        _member.c.role,
        _member.c.active,
        _member.c.bureau_committee,
        _member.c.branch_since,
        _member.c.created_at,
        _activity.c.id.label("activity_id"),
        _activity.c.type,
        _activity.c.topic,
        _activity.c.branch_id.label("activity_branch_id"),
        _activity.c.party_group_id.label("activity_party_group_id"),
        _activity.c.audience_branch_ids,
        _activity.c.starts_at,
        _activity.c.ends_at,
        _activity.c.checkin_closes_at,
        _attendance.c.id.label("attendance_id"),
    )
    .select_from(_binding)
    .outerjoin(_identity, and_(_identity.c.platform == bindparam("platform"),
                               _identity.c.user_id == bindparam("user_id")))
    .outerjoin(_member, and_(_member.c.id == _identity.c.member_id, _member.c.active == true()))
    .outerjoin(_activity, _activity.c.id == _CURRENT)
    .outerjoin(_attendance, and_(_attendance.c.activity_id == _activity.c.id,
                                 _attendance.c.member_id == _member.c.id))
    .where(_binding.c.platform == bindparam("platform"),
           _binding.c.chat_id == bindparam("chat_id"))
)

_ATTENDANCE_KEYS = ("held_activity_id", "member_id", "status", "checked_in_at", "platform",
                    "message_id", "updated_at")
LOOK_UP = Prepared(_LOOK_UP)
_QUICK_INSERT_ATTENDANCE = Prepared(INSERT_ATTENDANCE, keys=_ATTENDANCE_KEYS)
_QUICK_POST = Prepared(ledger.insert_with_rules_lookup, keys=ledger.POST_KEYS)


@dataclass(frozen=True, slots=True)
class SeenMember:
    """The member as storage.attendance.expected_in_current_spell reads one (duck-typed
    for Member): their place, and since when (storage.membership.since)."""

    id: int
    name: str
    branch_id: int | None
    party_group_id: int | None
    role: str
    active: bool
    bureau_committee: bool
    branch_since: datetime | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class SeenActivity:
    """The activity as expected_in_current_spell reads one (duck-typed for Activity), plus
    its label's parts."""

    id: int
    type: str
    topic: str
    branch_id: int | None
    party_group_id: int | None
    audience_branch_ids: list[int] | None
    starts_at: datetime
    ends_at: datetime
    checkin_closes_at: datetime


@dataclass(frozen=True, slots=True)
class CheckInView:
    """What a 签到 in a bound group needs to know, read in one statement."""

    chat_branch_id: int | None
    member: SeenMember | None
    activity: SeenActivity | None
    attendance_id: int | None


def look_up_params(*, platform: str, chat_id: str, user_id: str, now: datetime
                   ) -> dict[str, Any]:
    """LOOK_UP's values for the sender of a message in a chat."""
    return {"platform": platform, "chat_id": chat_id, "user_id": user_id, "now": now}


def view(row: tuple | None) -> CheckInView | None:
    """LOOK_UP's row (its values converted: Prepared.convert) as what it says; None when
    the chat is not bound (no row)."""
    if row is None:
        return None
    (chat_branch_id, member_id, name, branch_id, party_group_id, role, active,
     bureau_committee, branch_since, created_at, activity_id, kind, topic, activity_branch_id,
     activity_party_group_id, audience_branch_ids, starts_at, ends_at, checkin_closes_at,
     attendance_id) = row
    member = None
    if member_id is not None:
        member = SeenMember(member_id, name, branch_id, party_group_id, role, bool(active),
                            bool(bureau_committee), branch_since, created_at)
    activity = None
    if activity_id is not None:
        activity = SeenActivity(activity_id, kind, topic or "", activity_branch_id,
                                activity_party_group_id, audience_branch_ids, starts_at,
                                ends_at, checkin_closes_at)
    return CheckInView(chat_branch_id, member, activity, attendance_id)


def look_up(conn: Connection, *, platform: str, chat_id: str, user_id: str,
            now: datetime) -> CheckInView | None:
    """The sender, the chat's branch, its current activity and the sender's row on it;
    None when the chat is not bound."""
    return view(LOOK_UP.first(conn, look_up_params(platform=platform, chat_id=chat_id,
                                                   user_id=user_id, now=now)))


def record(writes: Writes, *, activity: SeenActivity, member: SeenMember, status: str,
           now: datetime, platform: str, message_id: str, points: int, rule: str,
           rules_digest: str) -> None:
    """Queue the member's attendance row and, when the rules give points, its ledger entry
    dated at the activity's start (as storage.attendance.check_in does), the entry's source
    the row's id; they are written with the message's record (Writes.flush)."""
    values: dict[str, Any] = dict(held_activity_id=activity.id, member_id=member.id,
                                  status=status, checked_in_at=now, platform=platform,
                                  message_id=message_id, updated_at=now)
    attendance = writes.add(_QUICK_INSERT_ATTENDANCE, values)
    if points:
        writes.add(_QUICK_POST, ledger.post_values(
            member_id=member.id, branch_id=member.branch_id, points=points, rule=rule,
            source_kind="attendance", source_id=Returned(attendance),
            occurred_at=activity.starts_at, now=now, rules_digest=rules_digest),
            taken=("source_id",))
