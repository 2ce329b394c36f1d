"""Activities, attendance, leave, make-up and ratings: keyword-only queries that never commit.

An activity's scope is a branch (branch_id), optionally one party group in it, or the whole
bureau (branch_id None). Absence stays provisional until the activity is finalized: only
then are absent rows written and penalties posted, so a forgotten check-in can be made up
without a penalty ever appearing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from types import SimpleNamespace

from sqlalchemy import (
    String,
    and_,
    bindparam,
    case,
    cast,
    func,
    insert,
    or_,
    true,
    update,
)
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, select

from bot.domain.attendance import (
    ATTENDED,
    BRANCH_COMMITTEE,
    BRANCH_COMMITTEE_ROLES,
    BUREAU_COMMITTEE,
    PARTY_GROUP,
    RATING_WINDOW,
    Participation,
    activity_label,
    audience,
    checkin_status,
    plan_times,
)
from bot.domain.rules import Rules
from storage import ledger, membership, outbox
from storage.errors import Conflict
from storage.models import (
    Activity,
    ActivityType,
    Attendance,
    AttendanceStatus,
    AuditEntry,
    ChatBinding,
    Identity,
    LeaveState,
    Member,
    OutboxMessage,
    PointEntry,
    Rating,
)

OPEN = "open"
CLOSED = "closed"
CANCELLED = "cancelled"  # 取消活动: kept on record, counted nowhere
# The cancel reason of a scheduled activity 改期 moved (改期至 12月10日 19:30：…): its row
# stays, cancelled, so the scheduler does not make it again at its old time; only 改期
# back to that time opens it again (storage.corrections.reopen_moved), never 恢复活动.
MOVED_TO = "改期至"


# --- finding activities -------------------------------------------------------------


def _in_scope(branch_id: int | None):
    return (
        Activity.branch_id == branch_id if branch_id is not None else Activity.branch_id.is_(None)
    )


def open_activity(
    session: Session,
    *,
    activity_type: ActivityType,
    branch_id: int | None,
    starts_at: datetime,
    now: datetime,
    opens_minutes_before: int,
    tz: tzinfo,
    topic: str = "",
    lecturer: str | None = None,
    party_group_id: int | None = None,
    opened_by: int | None = None,
    duration: timedelta | None = None,
    schedule_id: int | None = None,
    audience_branch_ids: list[int] | None = None,
) -> Activity:
    times = plan_times(
        activity_type,
        starts_at,
        duration=duration,
        opens_minutes_before=opens_minutes_before,
    )
    activity = Activity(
        type=activity_type.value,
        topic=topic,
        lecturer=lecturer,
        branch_id=branch_id,
        party_group_id=party_group_id,
        starts_at=times.starts_at,
        ends_at=times.ends_at,
        checkin_opens_at=times.checkin_opens_at,
        checkin_closes_at=times.checkin_closes_at,
        status=OPEN,
        opened_by=opened_by,
        schedule_id=schedule_id,
        created_at=now,
        audience_branch_ids=audience_branch_ids,
    )
    session.add(activity)
    session.flush()
    from storage import leave  # leave builds on this module's who-is-expected rule

    leave.excuse(session, activity=activity, tz=tz)
    return activity


def running_activity(session: Session, *, branch_id: int | None, now: datetime) -> Activity | None:
    """The open activity of this scope that has started and not yet reached its end."""
    return session.exec(
        select(Activity)
        .where(
            _in_scope(branch_id),
            Activity.status == OPEN,
            Activity.starts_at <= now,
            Activity.ends_at > now,
        )
        .order_by(Activity.starts_at.desc())
    ).first()


def current_in(scope):
    """The open activities of `scope` whose check-in window has opened (at :now): those
    under way first, then those only taking early check-ins or over and not closed yet (a
    committee member late for the 支委会 at 09:40 is checked in there, not at the theme day
    of 10:00 whose check-in opened at 09:30), each the latest start first (of two starting
    together, the one made last): which activity 签到 means (storage.checkin reads it the
    same way)."""
    now = bindparam("now")
    return (
        select(Activity)
        .where(scope, Activity.status == OPEN, Activity.checkin_opens_at <= now)
        # Under way (begun, not over: one past its end waits for the tick to close it).
        .order_by(case((and_(Activity.starts_at <= now, Activity.ends_at > now), 0), else_=1),
                  Activity.starts_at.desc(), Activity.id.desc())
    )


# Every 签到 asks for the current activity: the statement is built once per kind of scope
# (building one costs more CPU than running it) and the values are bound per call.
_CURRENT_IN_BRANCH = current_in(Activity.branch_id == bindparam("branch_id"))
_CURRENT_BUREAU_WIDE = current_in(Activity.branch_id.is_(None))


def current_activity(session: Session, *, branch_id: int | None, now: datetime) -> Activity | None:
    """The open activity whose check-in window has opened. It may be past its end and not yet
    closed by the scheduler; 签到 then says the window has passed."""
    if branch_id is None:
        return session.exec(_CURRENT_BUREAU_WIDE, params={"now": now}).first()
    return session.exec(_CURRENT_IN_BRANCH, params={"branch_id": branch_id, "now": now}).first()


def current_activities(session: Session, *, branch_id: int | None, now: datetime
                       ) -> list[Activity]:
    """Every open activity of the scope whose check-in window has opened, the latest start
    first: two party groups meeting the same evening, a 支委会 running into the theme day
    whose check-in has opened. Each member's is the first that expects them."""
    if branch_id is None:
        return list(session.exec(_CURRENT_BUREAU_WIDE, params={"now": now}).all())
    return list(session.exec(_CURRENT_IN_BRANCH,
                             params={"branch_id": branch_id, "now": now}).all())


def ended_since(session: Session, *, branch_id: int | None, now: datetime,
                since: datetime) -> list[Activity]:
    """The scope's activities ended (by 结束 or at their end) since `since`, the latest
    first: a 签到 just after is told which one ended and how to be made up."""
    return list(session.exec(
        select(Activity)
        .where(_in_scope(branch_id), Activity.status == CLOSED, Activity.closed_at >= since,
               Activity.closed_at <= now)
        .order_by(Activity.closed_at.desc()).limit(UPCOMING_LOOKED_AT)
    ).all())


def under_way(session: Session, *, branch_id: int | None, now: datetime) -> list[Activity]:
    """The scope's activities under way: current_activities, less any past its end that the
    scheduler has not closed yet (without it, the one current_activity gives, as ever). A
    secretary's command that names none asks which when there are two."""
    found = current_activities(session, branch_id=branch_id, now=now)
    if len(found) < 2:
        return found
    return [a for a in found if a.ends_at > now] or found[:1]


def next_activity(session: Session, *, branch_id: int | None, now: datetime) -> Activity | None:
    """The earliest open activity of this scope that has not started yet."""
    return session.exec(
        select(Activity)
        .where(_in_scope(branch_id), Activity.status == OPEN, Activity.starts_at > now)
        .order_by(Activity.starts_at)
    ).first()


# Scheduled activities exist CREATE_AHEAD (three days) before they start, so a scope has a
# handful not started; a member's own is among the first few even in a branch of many
# party groups.
UPCOMING_LOOKED_AT = 30


def next_activities(session: Session, *, branch_id: int | None, now: datetime
                    ) -> list[Activity]:
    """The scope's open activities that have not started yet, the earliest first (at most
    UPCOMING_LOOKED_AT): the next one may be a 支委会 or another party group's meeting, and a
    member's own next one comes after it."""
    return list(session.exec(
        select(Activity)
        .where(_in_scope(branch_id), Activity.status == OPEN, Activity.starts_at > now)
        .order_by(Activity.starts_at).limit(UPCOMING_LOOKED_AT)
    ).all())


def record_activity(session: Session, *, branch_id: int | None, now: datetime,
                    window: timedelta = RATING_WINDOW) -> Activity | None:
    """The activity whose record a secretary works on: the current one, else the latest
    not yet finalized, else the latest finalized that started within `window` (to correct
    it; for 补签 the rules' attendance.makeup_window_days)."""
    current = current_activity(session, branch_id=branch_id, now=now)
    if current is not None:
        return current
    started = select(Activity).where(_in_scope(branch_id), Activity.starts_at <= now,
                                     Activity.status != CANCELLED)
    pending = session.exec(
        started.where(Activity.finalized_at.is_(None)).order_by(Activity.starts_at.desc())
    ).first()
    if pending is not None:
        return pending
    return session.exec(
        started.where(Activity.starts_at >= now - window).order_by(Activity.starts_at.desc())
    ).first()


def _under_way_from(activity):
    """When an activity (a row, or the Activity columns) came under way: its check-in
    opening, or when it was made if later (开始 opens one at once)."""
    opens, made = activity.checkin_opens_at, activity.created_at
    if isinstance(activity, Activity):
        return max(opens, made)
    return case((made > opens, made), else_=opens)


def _under_way_until(activity):
    """When an activity (a row, or the Activity columns) stopped being under way: when it
    was closed, if that was before its end (结束 early), else its end."""
    closed, ends = activity.closed_at, activity.ends_at
    if isinstance(activity, Activity):
        return closed if closed is not None and closed < ends else ends
    return case((and_(closed.is_not(None), closed < ends), closed), else_=ends)


def held_with(session: Session, *, activity: Activity, now: datetime) -> list[Activity]:
    """The activity and those of its scope under way at some moment it was (not cancelled,
    come under way by now), the latest start first as current_activities lists them: two
    party groups meeting the same evening, one of them ended early; a 支委会 running into
    the theme day whose check-in opened at 09:30. One closed (结束) before another was
    opened (开始) was not under way with it, so it stands alone as ever."""
    found = {activity.id: activity}
    begun, until = _under_way_from(activity), _under_way_until(activity)
    if begun < until:
        for other in session.exec(
            select(Activity).where(
                _in_scope(activity.branch_id), Activity.status != CANCELLED,
                _under_way_from(Activity) <= now, _under_way_from(Activity) < until,
                _under_way_until(Activity) > begun)
        ).all():
            found.setdefault(other.id, other)
    return sorted(found.values(), key=lambda a: (a.starts_at, a.id), reverse=True)


def last_cancelled(session: Session, *, branch_id: int | None, since: datetime,
                   kind: str | None = None) -> Activity | None:
    """The activity of the scope (of `kind`, if given) cancelled last by 取消活动 (not by a
    schedule change, nor moved by 改期), starting since `since`: what 恢复活动 restores."""
    return session.exec(select(Activity).where(
        _in_scope(branch_id), Activity.status == CANCELLED,
        Activity.schedule_withdrawn == False,  # noqa: E712
        or_(Activity.cancel_reason.is_(None),  # type: ignore[union-attr]
            ~Activity.cancel_reason.startswith(MOVED_TO, autoescape=True)),  # type: ignore[union-attr]
        *([Activity.type == kind] if kind is not None else []),
        Activity.starts_at >= since).order_by(Activity.cancelled_at.desc(),  # type: ignore[union-attr]
                                              Activity.id.desc())).first()  # type: ignore[union-attr]


def held_instead(session: Session, *, activity: Activity) -> Activity | None:
    """An activity of the same kind, scope and party group held in its time (开始 again
    after it was cancelled): restoring it would count the same meeting twice."""
    return session.exec(select(Activity).where(
        _in_scope(activity.branch_id), Activity.id != activity.id,
        Activity.status != CANCELLED, Activity.type == activity.type,
        Activity.party_group_id == activity.party_group_id
        if activity.party_group_id is not None else Activity.party_group_id.is_(None),  # type: ignore[union-attr]
        Activity.starts_at < activity.ends_at, Activity.ends_at > activity.starts_at)).first()


def named_activity(session: Session, *, branch_id: int | None, now: datetime,
                   kind: str | None = None, day: tuple[datetime, datetime] | None = None
                   ) -> Activity | None:
    """The latest activity in the scope that has started, of `kind` and starting within
    `day` (from, to) where given: the one a secretary names to 补签 or 更正 on. A cancelled
    one too: named, it is refused as cancelled, not passed over for an earlier one nor
    said not to exist."""
    # Under way counts as begun: the theme day whose check-in opened while the 支委会 ran.
    begun = or_(Activity.starts_at <= now,
                and_(Activity.status == OPEN, Activity.checkin_opens_at <= now))
    query = select(Activity).where(_in_scope(branch_id), begun)
    if kind is not None:
        query = query.where(Activity.type == kind)
    if day is not None:
        query = query.where(Activity.starts_at >= day[0], Activity.starts_at < day[1])
    return session.exec(query.order_by(Activity.starts_at.desc())).first()


def held_on(session: Session, *, branch_id: int | None, day: tuple[datetime, datetime],
            kind: str | None = None) -> list[Activity]:
    """The scope's activities not cancelled starting within `day` (from, to), of `kind`
    where given, earliest first: those a 取消活动 that names a day means, held or to come."""
    query = select(Activity).where(_in_scope(branch_id), Activity.status != CANCELLED,
                                   Activity.starts_at >= day[0], Activity.starts_at < day[1])
    if kind is not None:
        query = query.where(Activity.type == kind)
    return list(session.exec(query.order_by(Activity.starts_at, Activity.id)).all())


def cancelled_since(session: Session, *, branch_id: int | None, after: datetime,
                    now: datetime) -> Activity | None:
    """The latest cancelled activity of the scope that started after `after` (and by now):
    the one a 补签 or 更正 that names no activity would have meant, had it been held."""
    return session.exec(
        select(Activity)
        .where(_in_scope(branch_id), Activity.status == CANCELLED,
               Activity.starts_at > after, Activity.starts_at <= now)
        .order_by(Activity.starts_at.desc())
    ).first()


def latest_activity(session: Session, *, branch_id: int | None, now: datetime) -> Activity | None:
    """The current activity, else the most recent one that has started."""
    return (
        current_activity(session, branch_id=branch_id, now=now)
        or session.exec(
            select(Activity)
            .where(_in_scope(branch_id), Activity.starts_at <= now, Activity.status != CANCELLED)
            .order_by(Activity.starts_at.desc())
        ).first()
    )


# --- who is expected ----------------------------------------------------------------


def _in_place_at(activity: Activity, moment):
    """Members in the activity's audience at `moment` (storage.membership.in_place_at)."""
    return membership.in_place_at(moment, lambda holder: _in_audience(holder, activity))


def _expected_condition(activity: Activity):
    """Members the activity expects (its type's audience) as they were at its end. A
    member who came to the branch, or took the role it asks for, after it ended is not
    expected there, and one who moved away before its absences were confirmed still is."""
    at_end = _in_place_at(activity, activity.ends_at)
    if getattr(activity, "starts_at", None) is None:  # a shape read for every activity
        return or_(*at_end)
    # Moved away while it was under way: still theirs to be made up or corrected, as it
    # counts them there (_counted_condition).
    _, left_during = _in_place_at(activity, activity.starts_at)
    return or_(*at_end, left_during)


def _counted_condition(activity: Activity):
    """Members the activity counts whether or not they came (absent unless there or
    excused): its audience as they were when it began. One who moved in, joined or took
    the role while it was under way may still check in (_expected_condition), and counts
    only by a record; one who moved away meanwhile counts where they were. Otherwise a
    member moved during one branch's night study, checked in there, was absent at the
    other's held the same evening."""
    return or_(*_in_place_at(activity, activity.starts_at))


def audience_rule(activity: Activity) -> list[tuple[str, tuple]]:
    """What the activity's audience asks of a member's place, as (field, the values it
    allows): the one rule read in SQL (_in_audience) and of a place in hand (in_audience)."""
    rule: list[tuple[str, tuple]] = []
    if activity.branch_id is not None:
        rule.append(("branch_id", (activity.branch_id,)))
    if activity.audience_branch_ids is not None:  # a lecture's explicit audience
        rule.append(("branch_id", tuple(activity.audience_branch_ids)))
    who = audience(activity.type, branch_id=activity.branch_id,
                   party_group_id=activity.party_group_id)
    if who == PARTY_GROUP:
        rule.append(("party_group_id", (activity.party_group_id,)))
    elif who == BRANCH_COMMITTEE:
        rule.append(("role", tuple(sorted(r.value for r in BRANCH_COMMITTEE_ROLES))))
    elif who == BUREAU_COMMITTEE:
        rule.append(("bureau_committee", (True,)))
    return rule


def _in_audience(holder, activity: Activity) -> list:
    """The audience's conditions on a member's place: the member now (Member), or a spell
    that has ended (PastMembership), which carry the same columns."""
    return [getattr(holder, field) == values[0] if len(values) == 1
            else getattr(holder, field).in_(values)
            for field, values in audience_rule(activity)]


def unmet(place, activity: Activity) -> str | None:
    """The first field of a place (a member, a spell that has ended, or storage.checkin's
    duck-typed row) that keeps it out of the activity's audience; None when it is in."""
    return next((field for field, values in audience_rule(activity)
                 if getattr(place, field) not in values), None)


def in_audience(place, activity: Activity) -> bool:
    """Whether a place is in the activity's audience (as _in_audience says in SQL)."""
    return unmet(place, activity) is None


def expected_in_current_spell(member, activity) -> bool | None:
    """Whether the activity expects the member when their current spell covers its start
    (where they are now is where they were when it began, and no spell that has ended
    covers it); None when it does not, and only _expected_condition can tell (one who came
    while it ran may still check in). Read without a
    statement: 签到's quick lane reads storage.checkin's duck-typed rows with it."""
    if not member.active or membership.since(member) > activity.starts_at:
        return None
    return in_audience(member, activity)


def expected_at(session: Session, *, member: Member, activity: Activity) -> bool:
    """Whether the activity expects the member (may check in or be made up there):
    _expected_condition for one member, as they were at its start or end (no statement
    when their current spell covers the start). Every record
    of a past activity (补签, leave, ratings) asks this, so none refuses someone the
    figures count (_counted_condition, or a record once made)."""
    decided = expected_in_current_spell(member, activity)
    if decided is not None:
        return decided
    return session.exec(select(Member.id).where(Member.id == member.id,
                                                _expected_condition(activity))).first() is not None


def with_record(activity_id):
    """The members with a record on the activity that the figures count: any but one
    withdrawn (withdraw). Each counts once among those expected, expected or not, so that
    someone who checked in and has since moved or left cannot take a rate past 100%."""
    return select(Attendance.member_id).where(
        Attendance.activity_id == activity_id, Attendance.status != AttendanceStatus.WITHDRAWN)


def expected_count(session: Session, *, activity: Activity) -> int:
    return session.exec(select(func.count(Member.id)).where(_counted_condition(activity))).one()


def expected_members(session: Session, *, activity: Activity) -> list[Member]:
    return list(
        session.exec(
            select(Member).where(_expected_condition(activity)).order_by(Member.name, Member.id)
        ).all()
    )


def _counted_or_recorded(activity: Activity):
    """The members participation counts: its audience when it began, and whoever has a
    record on it (one who came while it ran, one who has since left the roster)."""
    return or_(_counted_condition(activity), Member.id.in_(with_record(activity.id)))


def counted_members(session: Session, *, activity: Activity) -> list[Member]:
    """The members participation counts (_counted_or_recorded), by name. What the
    scheduler's 【活动结束】 lists, so that its 应到 and 未签到 are 结束's and 确认缺席's: a
    member who joined while it ran and did not come is not missing there either."""
    return list(session.exec(
        select(Member).where(_counted_or_recorded(activity))
        .order_by(Member.name, Member.id)).all())


# --- records of someone not expected ----------------------------------------------------


def _expected_at_its_activity(session: Session, moment=Activity.ends_at):
    """_expected_condition of the activity of whichever row a statement over Activity and
    Member is on, with the member's place at `moment` (a column of Activity: its end, as
    the figures read it, or its start): the figures' own rule, read for every activity at
    once. What it asks of
    a member (audience_rule) follows from the activity's type, whether it is the bureau's,
    a branch's or a party group's, and a lecture's named branches; the activities of each
    such shape are picked by their columns, and the shape stands in for them with the
    Activity table's columns as its place and end, so that the condition is correlated.
    The named branches are read first (a lecture's few rows)."""
    listed: dict[tuple[int, ...], list[int]] = {}
    for activity_id, branches in session.execute(
            select(Activity.id, Activity.audience_branch_ids)
            # None is kept as JSON null: neither it nor SQL NULL names any branch.
            .where(func.coalesce(cast(Activity.audience_branch_ids, String), "null") != "null")):
        listed.setdefault(tuple(branches), []).append(activity_id)
    named = [activity_id for ids in listed.values() for activity_id in ids]
    audiences = [(None, Activity.id.not_in(named) if named else true()),
                 *((list(branches), Activity.id.in_(ids)) for branches, ids in listed.items())]
    scopes = ((Activity.branch_id.is_(None), None, None),
              (and_(Activity.branch_id.is_not(None), Activity.party_group_id.is_(None)),
               Activity.branch_id, None),
              (and_(Activity.branch_id.is_not(None), Activity.party_group_id.is_not(None)),
               Activity.branch_id, Activity.party_group_id))
    known = [kind.value for kind in ActivityType]
    shapes = []
    for scope, branch_id, group_id in scopes:
        kinds_by_audience: dict[str, list[str]] = {}
        for kind in [*known, ""]:  # "": a type djbot does not know, read as the rule reads it
            who = audience(kind, branch_id=branch_id, party_group_id=group_id)
            kinds_by_audience.setdefault(who, []).append(kind)
        for kinds in kinds_by_audience.values():
            of_kind = Activity.type.in_(kinds)
            if "" in kinds:
                of_kind = or_(of_kind, Activity.type.not_in(known))
            for branches, which in audiences:
                shape = SimpleNamespace(type=kinds[0], branch_id=branch_id,
                                        party_group_id=group_id, audience_branch_ids=branches,
                                        ends_at=moment)
                shapes.append(and_(scope, of_kind, which, _expected_condition(shape)))
    return or_(*shapes)


@dataclass(frozen=True)
class NotExpected:
    """Check-ins and 补签 of members their activity did not expect (withdraw puts each right)."""

    count: int
    reachable: int  # of them, on activities 更正 can still reach
    first: list[tuple[str, Activity]]  # the first few of those: the member's name, the activity


def not_expected(session: Session, *, reachable_since: datetime, limit: int = 5) -> NotExpected:
    """The attended records of members their activity did not expect, by the figures' rule,
    and who were not its audience when it began either (one who checked in and was moved
    before its end is counted by their record, and their check-in is real: only a record
    of someone who had nothing to do with it, as a newcomer's 补签 made by a version
    before 02ef51d, is listed), on activities not cancelled: how many, how many on
    activities whose record 更正 can still change (absences not confirmed, or started since
    `reachable_since`), and the first `limit` of those, earliest first. One statement counts them over every record;
    the few shown are read only when there are any."""
    # CASE rather than NOT: a comparison with a NULL (a member in no party group) is no
    # match, not unknown. Not coalesce(…, false) either: over the bench database's 1.2M
    # records SQLite took 12 s with it, 3.5 s with CASE (as long as the bare join).
    expected = case((_expected_at_its_activity(session), 0), else_=1)
    at_start = case((_expected_at_its_activity(session, Activity.starts_at), 0), else_=1)
    wrong = and_(Attendance.status.in_(ATTENDED), Activity.status != CANCELLED, expected == 1,
                 at_start == 1)  # read only for the rare row the first one lets through
    reachable = or_(Activity.finalized_at.is_(None), Activity.starts_at >= reachable_since)
    count, near = session.execute(
        select(func.count(), func.coalesce(func.sum(case((reachable, 1), else_=0)), 0))
        .select_from(Attendance)
        .join(Activity, Activity.id == Attendance.activity_id)
        .join(Member, Member.id == Attendance.member_id)
        .where(wrong)).one()
    first: list[tuple[str, Activity]] = []
    if near:
        first = [(name, activity) for name, activity in session.execute(
            select(Member.name, Activity)
            .select_from(Attendance)
            .join(Activity, Activity.id == Attendance.activity_id)
            .join(Member, Member.id == Attendance.member_id)
            .where(wrong, reachable)
            .order_by(Activity.starts_at, Activity.id, Member.name)
            .limit(limit))]
    return NotExpected(int(count), int(near), first)


_ATTENDANCE_OF = select(Attendance).where(
    Attendance.activity_id == bindparam("activity_id"),
    Attendance.member_id == bindparam("member_id"),
)


def attendance_of(session: Session, *, activity_id: int, member_id: int) -> Attendance | None:
    return session.exec(
        _ATTENDANCE_OF, params={"activity_id": activity_id, "member_id": member_id}
    ).first()


def late_rows(session: Session, *, activity_id: int) -> list[Attendance]:
    """The activity's 迟到 records, earliest check-in first (更正 迟到 出席 restates them)."""
    return list(session.exec(select(Attendance).where(
        Attendance.activity_id == activity_id, Attendance.status == AttendanceStatus.LATE)
        .order_by(Attendance.checked_in_at, Attendance.id)).all())  # type: ignore[arg-type]


def _counts_as_excused(row: Attendance) -> bool:
    return row.status == AttendanceStatus.LEAVE and row.leave_state == LeaveState.GRANTED


def excused_members(session: Session, *, activity: Activity) -> list[Member]:
    """Members with granted leave from the activity, by name."""
    return list(session.exec(
        select(Member)
        .join(Attendance, Attendance.member_id == Member.id)
        .where(Attendance.activity_id == activity.id,
               Attendance.status == AttendanceStatus.LEAVE,
               Attendance.leave_state == LeaveState.GRANTED)
        .order_by(Member.name, Member.id)
    ).all())


def asked_leave(session: Session, *, activity: Activity, standing: bool = False
                ) -> list[Member]:
    """Members on the roster who asked leave for the activity, whatever became of it
    (granted, waiting, turned down), by name; `standing`: those whose leave was not
    turned down."""
    kept = [or_(Attendance.leave_state.is_(None),  # type: ignore[union-attr]
                Attendance.leave_state != LeaveState.REVOKED)] if standing else []
    return list(session.exec(
        select(Member)
        .join(Attendance, Attendance.member_id == Member.id)
        .where(Attendance.activity_id == activity.id,
               Attendance.status == AttendanceStatus.LEAVE, *kept,
               Member.active == True)  # noqa: E712
        .order_by(Member.name, Member.id)
    ).all())


def missing_members(
    session: Session, *, activity: Activity
) -> list[tuple[Member, Attendance | None]]:
    """Members the figures count (participation's expected) who neither took part nor have
    granted leave, with their row if any (a pending or revoked leave, an absence). One who
    came while it ran counts by a record: a check-in put right as 缺席 is an absence here
    too, its penalty posted, not only a 「缺席 1 人」 in the figures."""
    rows = session.exec(
        select(Member, Attendance)
        .join(
            Attendance,
            and_(Attendance.member_id == Member.id, Attendance.activity_id == activity.id),
            isouter=True,
        )
        .where(_counted_or_recorded(activity))
        .order_by(Member.name, Member.id)
    ).all()
    return [
        (member, row)
        for member, row in rows
        if row is None or (row.status not in ATTENDED and not _counts_as_excused(row))
    ]


def participation(session: Session, *, activity: Activity) -> Participation:
    """The activity's figures, counted in SQL. Once finalized, `expected` is the frozen count."""
    by_status = dict(
        session.exec(
            select(Attendance.status, func.count())
            .where(
                Attendance.activity_id == activity.id,
                or_(
                    Attendance.status != AttendanceStatus.LEAVE,
                    Attendance.leave_state == LeaveState.GRANTED,
                ),
            )
            .group_by(Attendance.status)
        ).all()
    )
    if activity.expected_count is not None:
        expected = activity.expected_count
    else:
        # Someone who checked in and has since left the roster still counts once.
        expected = session.exec(
            select(func.count(Member.id)).where(_counted_or_recorded(activity))
        ).one()
    return Participation(
        expected=expected,
        present=by_status.get(AttendanceStatus.PRESENT, 0),
        late=by_status.get(AttendanceStatus.LATE, 0),
        makeup=by_status.get(AttendanceStatus.MAKEUP, 0),
        leave=by_status.get(AttendanceStatus.LEAVE, 0),
    )


# --- points -------------------------------------------------------------------------


def _post_status_points(
    session: Session,
    *,
    attendance: Attendance,
    activity: Activity,
    member: Member,
    rules: Rules,
    now: datetime,
    source_kind: str = "attendance",
) -> int:
    """Post the rules' points for the row's current status; dated at the activity's start so
    a later make-up or confirmation lands in the same week as the activity."""
    points, rule = rules.attendance_points(activity.type, attendance.status)
    if points == 0:
        return 0
    branch_id = _points_branch(session, activity=activity, member=member)
    entry = dict(member_id=member.id, branch_id=branch_id, points=points, rule=rule,
                 source_kind=source_kind, occurred_at=activity.starts_at, now=now,
                 rules_digest=rules.digest)
    if not ledger.post(session, source_id=attendance.id, **entry) and \
            rule not in _live(row_entries(session, attendance=attendance)):
        # Posted before and reversed by a correction since (更正, then 补签 or 签到 again):
        # the status is the row's again, and its points count again, under a new key.
        ledger.post(session, source_id=_free_source_id(
            session, attendance=attendance, source_kind=source_kind, rule=rule), **entry)
    return points


def _points_branch(session: Session, *, activity: Activity, member: Member) -> int | None:
    """The branch an attendance entry counts for: the branch that held the activity, or,
    for one of the whole bureau, the branch the member was in when it began, where it
    counted them (_counted_condition; one who came while it ran, their branch now). Not
    simply the member's branch now: an absence confirmed after they moved belongs to the
    branch they missed."""
    if activity.branch_id is not None:
        return activity.branch_id
    return membership.branch_at(session, member=member, moment=activity.starts_at)


# --- the ledger of one attendance row ----------------------------------------------------

ROW_KINDS = ("attendance", "absence", "correction")


def _names_row(attendance: Attendance):
    """An entry's source is the row: its id, or its id with a number (12#2)."""
    key = str(attendance.id)
    return or_(PointEntry.source_id == key,
               PointEntry.source_id.like(f"{key}#%"))  # type: ignore[attr-defined]


def row_entries(session: Session, *, attendance: Attendance) -> list[PointEntry]:
    """Every ledger entry about the row: earned, penalised and reversed, in order. The
    first entry of a kind and rule names the row by its id; one posted again after a
    correction reversed it names it with a number (12#2), as (event, rule) is unique."""
    return list(session.exec(
        select(PointEntry).where(
            PointEntry.member_id == attendance.member_id,
            PointEntry.source_kind.in_(ROW_KINDS),  # type: ignore[attr-defined]
            _names_row(attendance))
        .order_by(PointEntry.id)
    ).all())


def row_of(source_id: str) -> int | None:
    """The attendance row an entry of ROW_KINDS names: 12, or 12#2; None for another event."""
    row = source_id.split("#", 1)[0]
    return int(row) if row.isdigit() else None


def _live(entries: list[PointEntry]) -> dict[str, tuple[int, PointEntry]]:
    """What the entries still count, by rule: the net points (never 0) and the latest entry
    that posted the rule (a reversal goes with its member, branch, date and rules)."""
    net: dict[str, int] = {}
    posted: dict[str, PointEntry] = {}
    for entry in entries:
        rule = entry.rule.replace("reverse:", "")
        net[rule] = net.get(rule, 0) + entry.points
        if not entry.rule.startswith("reverse:"):
            posted[rule] = entry
    return {rule: (points, posted[rule]) for rule, points in net.items()
            if points and rule in posted}


def _free_source_id(session: Session, *, attendance: Attendance, source_kind: str,
                    rule: str) -> str:
    """The row's id, or the row's id with the next number when that key is taken."""
    key = str(attendance.id)
    taken = set(session.exec(select(PointEntry.source_id).where(
        PointEntry.source_kind == source_kind, PointEntry.rule == rule,
        _names_row(attendance))).all())
    number = 2
    while key in taken:
        key = f"{attendance.id}#{number}"
        number += 1
    return key


def _reverse_live(session: Session, *, attendance: Attendance, now: datetime, note: str) -> int:
    """Reverse what the row's entries still count by correcting entries; returns the points
    reversed. Nothing still counted, nothing posted: a second reversal writes nothing.
    Every change of a row's status starts here, so that the member counts for one status
    only: a penalty, leave points, a check-in's or a make-up's, never two of them."""
    reversed_points = 0
    for rule, (points, entry) in _live(row_entries(session, attendance=attendance)).items():
        reverse = f"reverse:{rule}"
        # Reverse what was actually posted, not what today's rules would say.
        if ledger.post(
            session,
            member_id=entry.member_id,
            branch_id=entry.branch_id,
            points=-points,
            rule=reverse,
            source_kind="correction",
            source_id=_free_source_id(session, attendance=attendance,
                                      source_kind="correction", rule=reverse),
            occurred_at=entry.occurred_at,
            now=now,
            ruleset_id=entry.ruleset_id,
            note=note,
        ):
            reversed_points -= points
    return reversed_points


def _hold(session: Session, activity: Activity) -> None:
    """Hold the activity's row until the transaction ends (PostgreSQL): a correction, the
    confirmation of the activity's absences (finalize, which claims the row first) and its
    cancellation go one after the other, whichever replica or thread runs them. On SQLite
    the first write holds the database, and _confirmed reads after it."""
    session.execute(select(Activity.id).where(Activity.id == activity.id).with_for_update())


def _confirmed(session: Session, activity: Activity) -> bool:
    """Whether the activity's absences are confirmed, read after the correction's first
    write rather than when the activity was loaded: they may have been confirmed since
    (see _hold). Cancelled since, the activity counts nowhere and nothing may be posted on
    it: Conflict, and the message is tried again and refused as on a cancelled activity."""
    status, finalized_at = session.execute(
        select(Activity.status, Activity.finalized_at).where(Activity.id == activity.id)).one()
    if status == CANCELLED:
        raise Conflict(f"activity {activity.id} cancelled under us")
    set_committed_value(activity, "finalized_at", finalized_at)
    return finalized_at is not None


def _restated(session: Session, row: Attendance, *, was: str, **values) -> bool:
    """Write the row's new status (and what goes with it) only if it still has the status
    it was read with; False, writing nothing, when another has changed it since."""
    changed = session.execute(
        update(Attendance).where(Attendance.id == row.id, Attendance.status == was)
        .values(**values)
    ).rowcount
    if changed != 1:
        return False
    for key, value in values.items():
        set_committed_value(row, key, value)
    return True


def _restate(session: Session, row: Attendance, *, was: str, **values) -> None:
    """_restated, for a correction. Two secretaries putting the same record right at once:
    the second finds it changed and raises Conflict, and the dispatcher tries that message
    again, so it is answered from what the first did (as a racing 签到 is), not written
    over it with a reply and an audit entry about a status the row no longer had."""
    if not _restated(session, row, was=was, **values):
        raise Conflict(f"attendance {row.id} changed under us")


# --- check-in, leave, make-up -------------------------------------------------------


# The start a meeting really kept, said by a 更正 …出席 (会议推迟到19:45开始) while it still
# takes check-ins: the late line of the check-ins still to come. On record in the audit
# trail, as 退出's sign-out is (storage.dashboard), with who said it and why; the start
# the members were told (Activity.starts_at) stays, as schedules and labels read it.
REAL_START = "activity.real_start"


def real_start_target(activity_id: int | None) -> str:
    return f"activity {activity_id}"


def real_start(session: Session, *, activity: Activity) -> datetime | None:
    """The latest real start said of the activity, if any (the audit's index on its time
    keeps this to the entries since its check-in opened)."""
    detail = session.execute(
        select(AuditEntry.detail)
        .where(AuditEntry.at >= activity.checkin_opens_at, AuditEntry.action == REAL_START,
               AuditEntry.target == real_start_target(activity.id))
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())  # type: ignore[attr-defined]
        .limit(1)).scalar()
    return datetime.fromisoformat(detail["starts_at"]) if detail else None


# The activity a check-in's row is for, read again as the row is written: NULL, which
# activity_id refuses, once it is cancelled. A 取消活动 committed since the check-in read it
# therefore fails the write (an IntegrityError: the dispatcher answers again from what is
# there now), and the row lock waits for one not committed yet: cancel_activity holds the
# activity FOR UPDATE before it reads the rows whose points it reverses, so a check-in's
# row is either written before that read (and reversed) or not at all. FOR KEY SHARE, the
# lock the row's foreign key takes anyway: FOR SHARE added a second lock on the activity
# every check-in of it shares, and cost PostgreSQL a fifth more CPU a check-in.
_STILL_HELD = (select(Activity.id)
               .where(Activity.id == bindparam("held_activity_id"), Activity.status != CANCELLED)
               .with_for_update(read=True, key_share=True)
               .scalar_subquery())

# RETURNING id rather than a flush: the row is a record of what was written. A racing
# duplicate fails here, on (activity, member). storage.checkin runs it too. Its activity
# is given as held_activity_id (_STILL_HELD).
INSERT_ATTENDANCE = (insert(Attendance.__table__).values(activity_id=_STILL_HELD)
                     .returning(Attendance.__table__.c.id))


def check_in(
    session: Session,
    *,
    activity: Activity,
    member: Member,
    existing: Attendance | None,
    now: datetime,
    late_grace_minutes: int,
    rules: Rules,
    platform: str | None = None,
    message_id: str | None = None,
) -> Attendance:
    """Record the member as present or late and post the points.

    `existing` is the row the caller read (None, or a leave row: they came after all).
    There is deliberately no second read here: a racing check-in must collide, on the
    (activity, member) key or on the leave row's unchanged status, so that exactly one
    delivery says 签到成功 and the dispatcher's retry tells the others 已签到.
    """
    status = checkin_status(now, activity.starts_at, grace_minutes=late_grace_minutes)
    kept = real_start(session, activity=activity) if status == AttendanceStatus.LATE else None
    if kept is not None:  # the meeting began later than told: counted from when it did
        status = checkin_status(now, kept, grace_minutes=late_grace_minutes)
    values = dict(
        status=status, checked_in_at=now, platform=platform, message_id=message_id, updated_at=now
    )
    if existing is None:
        row = Attendance(activity_id=activity.id, member_id=member.id, **values)  # type: ignore[arg-type]
        # One plain INSERT … RETURNING id instead of a unit-of-work flush: this is the
        # busiest write in djbot. A racing duplicate fails here on (activity, member).
        # The returned row is a record of what was written, not tracked by the session.
        row.id = session.execute(
            INSERT_ATTENDANCE, {"held_activity_id": activity.id, "member_id": member.id,
                                **values}
        ).scalar_one()
    else:
        # A leave row turned into a check-in: as the INSERT, only while the activity is
        # held (Conflict otherwise, and the retry reads it cancelled).
        changed = session.execute(
            update(Attendance)
            .where(Attendance.id == existing.id, Attendance.status == existing.status,
                   Attendance.activity_id == _STILL_HELD)
            .values(**values), {"held_activity_id": activity.id}
        ).rowcount
        if changed != 1:
            raise Conflict(f"attendance {existing.id} changed under us")
        # The row now holds these values: tell the loaded object so, without a re-read.
        for key, value in values.items():
            set_committed_value(existing, key, value)
        row = existing
    _post_status_points(
        session, attendance=row, activity=activity, member=member, rules=rules, now=now
    )
    return row


def ask_leave(
    session: Session,
    *,
    activity: Activity,
    member: Member,
    reason: str,
    now: datetime,
    requires_approval: bool,
    platform: str | None = None,
    message_id: str | None = None,
    withdrawn: Attendance | None = None,
    granted_by: Member | None = None,
) -> Attendance:
    """Leave asked before the start: granted at once, or pending when approval is required.
    Leave points (if the rules give any) are posted when the activity is finalized.
    `withdrawn`: the member's withdrawn row on the activity (leave a move took back, where
    they are due again), which becomes this leave. `granted_by`: the secretary who recorded
    leave the member asked for off-chat (代请假), granted by them and on record as theirs."""
    state = LeaveState.PENDING if requires_approval and granted_by is None else LeaveState.GRANTED
    values = dict(status=AttendanceStatus.LEAVE, leave_reason=reason, leave_state=state,
                  leave_decided_by=granted_by.id if granted_by is not None else None,
                  platform=platform, message_id=message_id, updated_at=now)
    if withdrawn is not None:
        assert withdrawn.status == AttendanceStatus.WITHDRAWN
        for key, value in values.items():
            setattr(withdrawn, key, value)
        row = withdrawn
    else:
        row = Attendance(activity_id=activity.id, member_id=member.id, **values)  # type: ignore[arg-type]
    session.add(row)
    session.flush()
    return row


def leave_to_decide(
    session: Session, *, branch_id: int | None, member_id: int, now: datetime
) -> tuple[Attendance, Activity] | None:
    """The member's leave that 批准请假 or 驳回请假 of them acts on, of this scope's activities
    not cancelled (nobody is to attend those) whose record is open: the next one not ended
    yet, which is what a secretary deciding has in mind, else the one ended last."""
    found = session.exec(
        select(Attendance, Activity)
        .join(Activity, Activity.id == Attendance.activity_id)
        .where(
            _in_scope(branch_id),
            Activity.finalized_at.is_(None),  # type: ignore[union-attr]
            Activity.status != CANCELLED,
            Attendance.member_id == member_id,
            Attendance.status == AttendanceStatus.LEAVE,
        )
        .order_by(Activity.starts_at, Activity.id)
    ).all()
    ahead = [(row, activity) for row, activity in found if activity.ends_at > now]
    return ahead[0] if ahead else (found[-1] if found else None)


def pending_leave(
    session: Session, *, branch_id: int | None, member_id: int, any_scope: bool = False
) -> list[tuple[Attendance, Activity]]:
    """The member's leave still waiting for a decision on this scope's activities (every
    scope's, with any_scope) whose record is open, earliest first: what 批准请假 or 驳回请假
    of that member decides."""
    return _leave_waiting(session, branch_id=branch_id, member_id=member_id,
                          status=AttendanceStatus.LEAVE, any_scope=any_scope)


def own_leave(session: Session, *, member_id: int, now: datetime
              ) -> list[tuple[Attendance, Activity]]:
    """The member's leave on activities not cancelled that have not ended or whose record
    is still open, earliest first, whatever its state: what 我的请假 shows them."""
    still_open = Activity.finalized_at.is_(None)  # type: ignore[union-attr]
    return list(session.exec(
        select(Attendance, Activity)
        .join(Activity, Activity.id == Attendance.activity_id)
        .where(Attendance.member_id == member_id, Attendance.status == AttendanceStatus.LEAVE,
               Activity.status != CANCELLED, or_(Activity.ends_at > now, still_open))
        .order_by(Activity.starts_at, Activity.id)
    ).all())


def lapsed_leave(
    session: Session, *, branch_id: int | None, member_id: int, since: datetime,
    any_scope: bool = False,
) -> list[tuple[Attendance, Activity]]:
    """The member's leave still waiting when the absences were confirmed, and so counted
    absent, on this scope's activities (every scope's, with any_scope) that started since
    `since`, earliest first."""
    return _leave_waiting(session, branch_id=branch_id, member_id=member_id,
                          status=AttendanceStatus.ABSENT, since=since, any_scope=any_scope)


def lapsed_leave_before(
    session: Session, *, branch_id: int | None, member_id: int, before: datetime
) -> list[tuple[Attendance, Activity]]:
    """The member's leave that lapsed into an absence on this scope's activities that
    started before `before`: too long ago for 批准请假 to put right, which it must say."""
    return _leave_waiting(session, branch_id=branch_id, member_id=member_id,
                          status=AttendanceStatus.ABSENT, before=before)


def _leave_waiting(session: Session, *, branch_id: int | None, member_id: int,
                   status: AttendanceStatus, since: datetime | None = None,
                   before: datetime | None = None, any_scope: bool = False,
                   ) -> list[tuple[Attendance, Activity]]:
    """The member's rows of `status` whose leave still waits for a decision, on the scope's
    activities not cancelled that started in [since, before), earliest first: open records
    (status leave) or confirmed ones (status absent: the leave lapsed)."""
    record = (Activity.finalized_at.is_(None) if status == AttendanceStatus.LEAVE  # type: ignore[union-attr]
              else Activity.finalized_at.is_not(None))  # type: ignore[union-attr]
    started = [Activity.starts_at >= since] if since is not None else []
    if before is not None:
        started.append(Activity.starts_at < before)
    return list(session.exec(
        select(Attendance, Activity)
        .join(Activity, Activity.id == Attendance.activity_id)
        .where(
            true() if any_scope else _in_scope(branch_id),
            record,
            *started,
            Activity.status != CANCELLED,
            Attendance.member_id == member_id,
            Attendance.status == status,
            Attendance.leave_state == LeaveState.PENDING,
        )
        .order_by(Activity.starts_at, Activity.id)
    ).all())


def grant_lapsed_leave(
    session: Session, *, attendance: Attendance, activity: Activity, member: Member,
    by: Member, now: datetime, rules: Rules,
) -> int:
    """批准请假 after the confirmation: the absence becomes the leave that was asked for, its
    penalty reversed by a new correcting entry (the ledger is never edited). Returns the
    points reversed."""
    _hold(session, activity)
    _restate(session, attendance, was=attendance.status, status=AttendanceStatus.LEAVE,
             leave_state=LeaveState.GRANTED, leave_decided_by=by.id, updated_at=now)
    _confirmed(session, activity)  # not cancelled meanwhile
    reversed_points = _reverse_live(session, attendance=attendance, now=now,
                                    note=f"{by.name}批准请假")
    _post_status_points(session, attendance=attendance, activity=activity, member=member,
                        rules=rules, now=now)
    return reversed_points


def decide_leave(
    session: Session, *, attendance: Attendance, state: LeaveState, by: Member, now: datetime
) -> None:
    """Approve or revoke leave; a revoked member is expected again."""
    attendance.leave_state = state
    attendance.leave_decided_by = by.id
    attendance.updated_at = now
    session.add(attendance)


def make_up(
    session: Session,
    *,
    activity: Activity,
    member: Member,
    by: Member,
    reason: str,
    now: datetime,
    rules: Rules,
) -> tuple[Attendance, int]:
    """补签: mark the member as having taken part. What the row still counts — a confirmed
    absence's penalty, or the leave points of leave granted after all — is reversed by new
    correcting entries (the ledger is never edited). Returns the row and the points
    reversed (0 when there was nothing to reverse)."""
    _hold(session, activity)  # not beside a confirmation that counts the member absent
    row = attendance_of(session, activity_id=activity.id, member_id=member.id)  # type: ignore[arg-type]
    values = {"status": AttendanceStatus.MAKEUP, "made_up_by": by.id, "made_up_at": now,
              "makeup_reason": reason, "updated_at": now}
    fresh = row is None
    if row is None:  # a racing 补签 or 签到 fails on (activity, member) and is tried again
        row = Attendance(activity_id=activity.id, member_id=member.id, **values)  # type: ignore[arg-type]
        session.add(row)
        session.flush()
    else:
        _restate(session, row, was=row.status, **values)
    if _confirmed(session, activity) and fresh \
            and expected_at(session, member=member, activity=activity):  # nor cancelled
        # Confirmed, every member it counted has a row: one without (who came while it
        # was under way, _counted_condition) joins the frozen count with the record.
        _join_frozen_count(session, activity)
    reversed_points = _reverse_live(session, attendance=row, now=now, note=f"补签：{reason}")
    _post_status_points(
        session, attendance=row, activity=activity, member=member, rules=rules, now=now
    )
    return row, reversed_points


def _join_frozen_count(session: Session, activity: Activity) -> None:
    """One more in the expected count frozen at the confirmation: a member it did not count
    (no row then) who now has a record there."""
    session.execute(update(Activity).where(Activity.id == activity.id)
                    .values(expected_count=Activity.expected_count + 1)
                    .execution_options(synchronize_session=False))
    set_committed_value(activity, "expected_count", session.execute(
        select(Activity.expected_count).where(Activity.id == activity.id)).scalar_one())


@dataclass(frozen=True)
class Corrected:
    was: str  # the status corrected (present, late, makeup, absent; "" for no record)
    reversed_points: int  # what the row's entries counted, reversed
    posted_points: int  # the new status's points, when the activity's record is confirmed


def correct(
    session: Session,
    *,
    attendance: Attendance,
    activity: Activity,
    member: Member,
    status: AttendanceStatus,
    by: Member,
    reason: str,
    now: datetime,
    rules: Rules,
) -> Corrected:
    """更正: a check-in or 补签 that should not stand becomes an absence or granted leave, or
    a 迟到 counted from a start the meeting did not keep becomes 出席. What the row's
    entries still count is reversed by correcting entries (the ledger is never edited).
    The new status's points are posted as the rules post them: an attended status's at
    once, as a check-in's are; an absence's or leave's once the absences are confirmed,
    and before that 确认缺席 posts them as for anyone else."""
    _hold(session, activity)
    was = attendance.status
    if status == AttendanceStatus.LEAVE:
        values = {"leave_state": LeaveState.GRANTED, "leave_reason": reason,
                  "leave_decided_by": by.id}
    elif was == AttendanceStatus.LEAVE:
        # Leave an earlier 更正 made, corrected again: its reason and decider were that
        # correction's (on the ledger's note and the audit log), not the absence's.
        values = {"leave_state": None, "leave_reason": None, "leave_decided_by": None}
    else:
        # A leave asked before the check-in is no longer waiting for anyone: the absence
        # is the secretary's, not leave that lapsed (nor one 批准请假 would turn back).
        values = {"leave_state": None}
    _restate(session, attendance, was=was, status=status, updated_at=now, **values)
    label = {AttendanceStatus.LEAVE: "请假", AttendanceStatus.PRESENT: "出席"}.get(status, "缺席")
    reversed_points = _reverse_live(session, attendance=attendance, now=now,
                                    note=f"{by.name}更正为{label}：{reason}")
    posted = 0
    # Confirmed meanwhile, the confirmation counted the member as checked in: the new
    # status's points are this correction's to post, or nobody's. A check-in's points
    # never wait for a confirmation, so neither do those of one no longer late.
    if _confirmed(session, activity) or status in ATTENDED:
        posted = _post_status_points(
            session, attendance=attendance, activity=activity, member=member, rules=rules,
            now=now, source_kind="absence" if status == AttendanceStatus.ABSENT else "attendance")
    return Corrected(was, reversed_points, posted)


def excuse_unrecorded(
    session: Session,
    *,
    activity: Activity,
    member: Member,
    by: Member,
    reason: str,
    now: datetime,
    rules: Rules,
) -> Corrected:
    """更正 …请假 of a member with no record on the activity: they neither checked in nor
    were counted absent yet (the absences are not confirmed), and had asked leave off-chat.
    The leave is granted by the secretary and on record as theirs. Once the absences are
    confirmed a member without a row was not in the frozen count: they join it with the
    record, as a 补签 makes them, and the leave's points are posted, as finalize would have."""
    _hold(session, activity)
    # A racing 签到, 补签 or 更正 fails on (activity, member) and is tried again.
    row = Attendance(activity_id=activity.id, member_id=member.id,  # type: ignore[arg-type]
                     status=AttendanceStatus.LEAVE, leave_reason=reason,
                     leave_state=LeaveState.GRANTED, leave_decided_by=by.id, updated_at=now)
    session.add(row)
    session.flush()
    posted = 0
    if _confirmed(session, activity):
        if expected_at(session, member=member, activity=activity):
            _join_frozen_count(session, activity)
        posted = _post_status_points(session, attendance=row, activity=activity,
                                     member=member, rules=rules, now=now)
    return Corrected("", 0, posted)


@dataclass(frozen=True)
class Withdrawn:
    was: str  # the status withdrawn (present, late, makeup)
    reversed_points: int  # what the row's entries counted, reversed


def withdraw(
    session: Session,
    *,
    attendance: Attendance,
    activity: Activity,
    by: Member,
    reason: str,
    now: datetime,
) -> Withdrawn:
    """更正 of a check-in or 补签 of someone the activity did not expect (expected_at says
    no: a newcomer made up for a day before they came, as versions before 02ef51d let a
    secretary do). No absence or leave of theirs belongs there, so the record is withdrawn
    rather than restated: what its entries still count is reversed by correcting entries,
    as 更正 reverses, and nothing is posted, now or when the absences are confirmed (which
    count only whom the activity expects). The figures count it nowhere: not attended, and
    no longer among those expected (with_record), the frozen count included.

    Marked, not deleted: the ledger's lines (the points and their reversal) name the row
    by its id, and 积分明细 finds the activity through it. Deleting such a row is what 销假
    did before e894059: its lines then named nothing, SQLite gave the id to the next
    record, whose check-in's points collided with them and were never posted, and `djbot
    repair-ledger` was written to mend it. A withdrawn row keeps its check-in or 补签 on
    file, and repair-ledger finds its lines its own, netting nothing."""
    _hold(session, activity)
    was = attendance.status
    _restate(session, attendance, was=was, status=AttendanceStatus.WITHDRAWN,
             leave_state=None, updated_at=now)
    reversed_points = _reverse_live(session, attendance=attendance, now=now,
                                    note=f"{by.name}撤销：举行时不在应到名单中，{reason}")
    if _confirmed(session, activity) and _there_when_confirmed(session, attendance, activity):
        session.execute(update(Activity).where(Activity.id == activity.id)
                        .values(expected_count=Activity.expected_count - 1)
                        .execution_options(synchronize_session=False))
        set_committed_value(activity, "expected_count", session.execute(
            select(Activity.expected_count).where(Activity.id == activity.id)).scalar_one())
    return Withdrawn(was, reversed_points)


def _there_when_confirmed(session: Session, attendance: Attendance, activity: Activity) -> bool:
    """Whether the row was there when the activity's absences were confirmed, and so in the
    expected count frozen then (participation counts everyone with a record once): checked
    in, made up or earning points by then. A 补签 made after the confirmation was not."""
    confirmed = activity.finalized_at
    assert confirmed is not None
    made = [attendance.checked_in_at, attendance.made_up_at,
            *(entry.created_at for entry in row_entries(session, attendance=attendance))]
    return any(moment is not None and moment <= confirmed for moment in made)


# --- closing and confirming absence -----------------------------------------------------


def close(session: Session, *, activity: Activity, now: datetime, by: int | None = None) -> None:
    """End check-in. Absence is still provisional: nothing is posted here. A cancelled
    activity stays cancelled: closed, it would count again."""
    if activity.status in (CLOSED, CANCELLED):
        return
    activity.status = CLOSED
    activity.closed_at = now
    activity.closed_by = by
    session.add(activity)


def reopen(session: Session, *, activity: Activity) -> bool:
    """Take check-ins again after an early close; False, changing nothing, once its
    absences are confirmed or it is cancelled (meanwhile too: finalize claims the row
    by the same condition)."""
    reopened = session.execute(
        update(Activity).where(Activity.id == activity.id, Activity.status == CLOSED,
                               Activity.finalized_at.is_(None))
        .values(status=OPEN, closed_at=None, closed_by=None)
        .execution_options(synchronize_session=False)
    ).rowcount == 1
    session.refresh(activity)
    return reopened


@dataclass(frozen=True)
class Finalized:
    activity: Activity
    absent: list[Member]
    penalty_points: int
    # Of the absent, those whose leave was still waiting for approval: they asked, and
    # nobody decided (the automatic confirmation; 确认缺席 by hand waits for a decision).
    undecided: list[Member] = field(default_factory=list)
    # False when the absences had been confirmed already (by hand, or by another replica).
    confirmed_now: bool = True


def finalize(
    session: Session, *, activity: Activity, now: datetime, rules: Rules, by: int | None = None
) -> Finalized:
    """Confirm absences: absent rows and penalties for the missing, leave points for the
    excused, and the expected count frozen. Finalizing twice does nothing the second time."""
    if activity.finalized_at is not None:
        return Finalized(activity, [], 0, confirmed_now=False)
    # Claimed before anything is read: a 更正 or 补签 under way on the activity (which holds
    # its row, _hold) finishes first and is read as it left the record; one sent meanwhile
    # waits, and finds the absences confirmed. Another replica's confirmation of the same
    # activity finds it claimed and does nothing.
    claimed = session.execute(
        update(Activity).where(Activity.id == activity.id, Activity.finalized_at.is_(None),
                               Activity.status != CANCELLED)  # a cancelled one counts nowhere
        .values(finalized_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        return Finalized(activity, [], 0, confirmed_now=False)
    close(session, activity=activity, now=now, by=by)
    figures = participation(session, activity=activity)
    absent: list[Member] = []
    undecided: list[Member] = []
    penalty_total = 0
    for member, row in missing_members(session, activity=activity):
        if row is None:
            # A check-in committed since the read fails this on (activity, member): the
            # confirmation is tried again (the next tick, or 确认缺席's retry) and reads it.
            row = Attendance(
                activity_id=activity.id,
                member_id=member.id,  # type: ignore[arg-type]
                status=AttendanceStatus.ABSENT,
                updated_at=now,
            )
            session.add(row)
            session.flush()
        elif not _restated(session, row, was=row.status, status=AttendanceStatus.ABSENT,
                           updated_at=now):
            # A pending or revoked leave becomes an absence, unless the member checked in
            # (or was put right) since it was read: then they are not absent, and a penalty
            # beside the check-in's points would count them twice.
            continue
        elif row.leave_state == LeaveState.PENDING:
            undecided.append(member)
        penalty_total += _post_status_points(
            session,
            attendance=row,
            activity=activity,
            member=member,
            rules=rules,
            now=now,
            source_kind="absence",
        )
        absent.append(member)
    excused = session.exec(
        select(Attendance, Member)
        .join(Member, Member.id == Attendance.member_id)
        .where(
            Attendance.activity_id == activity.id,
            Attendance.status == AttendanceStatus.LEAVE,
            Attendance.leave_state == LeaveState.GRANTED,
        )
    ).all()
    for row, member in excused:
        _post_status_points(
            session, attendance=row, activity=activity, member=member, rules=rules, now=now
        )
    activity.expected_count = figures.expected
    activity.finalized_at = now
    session.add(activity)
    session.flush()
    return Finalized(activity, absent, penalty_total, undecided)


def close_due(session: Session, *, now: datetime) -> list[Activity]:
    """Close every open activity past its end (the scheduler calls this every tick)."""
    due = session.exec(
        select(Activity).where(Activity.status == OPEN, Activity.ends_at <= now)
    ).all()
    for activity in due:
        close(session, activity=activity, now=now)
    session.flush()
    return list(due)


# What asks people to come and check in: the group's notice and start notice, a nudge.
CALLS_TO_CHECK_IN = (outbox.GROUP_BEFORE, outbox.START, outbox.NUDGE)
CHECK_IN_OVER = "签到已结束，不再发送"
NO_LONGER_MISSING = "已签到或已请假，不再提醒"


def withdraw_overtaken_calls(session: Session, *, now: datetime) -> list[OutboxMessage]:
    """Withdraw the calls to check in that are due but no longer so: their activity's
    check-in is over (结束, its end, 取消活动), or a nudge's member has checked in or asked
    for leave since it was queued. The platform held them back until now (a wait, a retry,
    DingTalk's flow control), and they would ask people to send 签到 to a closed check-in,
    or tell one who has that they have not. Returns the rows withdrawn."""
    rows = session.exec(select(OutboxMessage).where(
        OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now,  # type: ignore[operator]
        OutboxMessage.kind.in_(CALLS_TO_CHECK_IN))).all()  # type: ignore[attr-defined]
    of_activity: dict[int, list[OutboxMessage]] = {}
    for row in rows:
        key = outbox.message_key(row.dedupe_key) or ""
        _, _, said = key.rpartition("|activity:")
        if said.isdigit():  # a key from before keys named the activity is left as it is
            of_activity.setdefault(int(said), []).append(row)
    if not of_activity:
        return []
    activities = session.exec(select(Activity).where(
        Activity.id.in_(list(of_activity)))).all()  # type: ignore[union-attr]
    over: list[OutboxMessage] = []
    nudged: list[tuple[Activity, OutboxMessage]] = []
    for activity in activities:
        its_rows = of_activity[activity.id]  # type: ignore[index]
        if activity.status != OPEN or activity.ends_at <= now:
            over += its_rows
        else:
            nudged += [(activity, row) for row in its_rows if row.kind == outbox.NUDGE]
    withdrawn = outbox.withdraw_rows(session, rows=over, reason=CHECK_IN_OVER)
    answered = []
    for activity, row in nudged:
        record = session.exec(select(Attendance).join(
            Identity, Identity.member_id == Attendance.member_id).where(
            Attendance.activity_id == activity.id, Identity.platform == row.platform,
            Identity.user_id == row.target)).first()
        # As the plan tells who is missing (bot.scheduling.tick.activity_view): leave not
        # yet decided is not nudged either, leave taken back is.
        if record is not None and (record.status in ATTENDED or (
                record.status == AttendanceStatus.LEAVE
                and record.leave_state != LeaveState.REVOKED)):
            answered.append(row)
    return withdrawn + outbox.withdraw_rows(session, rows=answered, reason=NO_LONGER_MISSING)


def finalize_due(
    session: Session, *, now: datetime, confirm_hours: int, rules: Rules, tz: tzinfo
) -> list[Finalized]:
    """Finalize every activity that ended more than absence_confirm_hours ago. Each is an
    audit entry, as 确认缺席 by hand is: the penalties it posts are on record (djbot audit),
    with who was counted absent and whose leave lapsed undecided."""
    close_due(session, now=now)
    cutoff = now - timedelta(hours=confirm_hours)
    due = session.exec(
        select(Activity)
        .where(
            Activity.status == CLOSED, Activity.finalized_at.is_(None), Activity.ends_at <= cutoff
        )
        .order_by(Activity.ends_at)
    ).all()
    done = [finalize(session, activity=activity, now=now, rules=rules) for activity in due]
    for confirmed in done:
        if not confirmed.confirmed_now:
            continue
        activity = confirmed.activity
        session.add(AuditEntry(
            at=now, actor="scheduler", action="absence.confirm",
            target=activity_label(activity.type, activity.topic, activity.starts_at, tz, None),
            detail={"activity_id": activity.id,
                    "absent_member_ids": [m.id for m in confirmed.absent],
                    "undecided_member_ids": [m.id for m in confirmed.undecided],
                    "penalty_points": confirmed.penalty_points}))
    session.flush()
    return done


# --- ratings ------------------------------------------------------------------------


def activity_to_rate(session: Session, *, member: Member, now: datetime) -> Activity | None:
    """The latest activity in the past week that the member took part in (签到, 迟到, 补签):
    a rating says how the activity went, which one absent or on leave cannot tell."""
    took_part = select(Attendance.activity_id).where(Attendance.member_id == member.id,
                                                     Attendance.status.in_(ATTENDED))  # type: ignore[attr-defined]
    return session.exec(
        select(Activity)
        .where(Activity.starts_at <= now, Activity.starts_at >= now - RATING_WINDOW,
               Activity.status != CANCELLED, Activity.id.in_(took_part))  # type: ignore[union-attr]
        .order_by(Activity.starts_at.desc())
        .limit(1)
    ).first()


def rate(
    session: Session,
    *,
    activity: Activity,
    member: Member,
    score: int,
    comment: str | None,
    now: datetime,
) -> bool:
    """Store the member's rating; True when it replaced an earlier one."""
    existing = session.exec(
        select(Rating).where(Rating.activity_id == activity.id, Rating.member_id == member.id)
    ).first()
    rating = existing or Rating(activity_id=activity.id, member_id=member.id, score=score)  # type: ignore[arg-type]
    rating.score = score
    rating.comment = comment
    rating.rated_at = now
    session.add(rating)
    session.flush()
    return existing is not None


def rating_summary(session: Session, *, activity_id: int) -> tuple[int, float | None]:
    count, average = session.exec(
        select(func.count(Rating.id), func.avg(Rating.score)).where(
            Rating.activity_id == activity_id
        )
    ).one()
    return count, (float(average) if average is not None else None)


# --- naming members -----------------------------------------------------------------


def find_members(
    session: Session,
    *,
    branch_id: int | None,
    query: str,
    platform: str,
    mentions: tuple[str, ...] = (),
    activity: Activity | None = None,
    leave_since: datetime | None = None,
) -> list[Member]:
    """Resolve '<姓名|@某人|编号>' to active members (of one branch, or anywhere when
    branch_id is None) and, given an activity, to whoever it expects as they were at its
    end or has a record on it: one who has since moved away or left the roster is still
    named where they were due, for a 补签 or 更正 of that record. Given leave_since, also
    to whoever has leave (asked, or lapsed into an absence) on the scope's activities that
    started since then: one who moved away before it was decided is still decided where
    it was asked. Several results mean an ambiguous name: show them with their 编号."""
    query = query.strip()
    named = Member.active == True  # noqa: E712
    if branch_id is not None:
        named = and_(named, Member.branch_id == branch_id)
    if activity is not None:
        has_row = select(Attendance.member_id).where(Attendance.activity_id == activity.id)
        named = or_(named, and_(Member.forgotten == False,  # noqa: E712
                                or_(_expected_condition(activity), Member.id.in_(has_row))))
    if leave_since is not None:
        named = or_(named, and_(Member.forgotten == False,  # noqa: E712
                                Member.id.in_(_leave_askers(branch_id, leave_since))))
    base = select(Member).where(named)
    if query.startswith("@") and mentions:
        # The platform tells us whom the @ named; the text after @ is only a display name.
        return list(
            session.exec(
                base.join(Identity, Identity.member_id == Member.id)
                .where(Identity.platform == platform, Identity.user_id.in_(mentions))
                .order_by(Member.name, Member.id)
            ).all()
        )
    name = query.lstrip("@").strip()
    if not name:
        return []
    by_number = session.exec(base.where(Member.staff_no == name)).all()
    if by_number:
        return list(by_number)
    by_name = session.exec(base.where(membership.names_meant(name)).order_by(Member.id)).all()
    if by_name:
        return list(by_name)
    if name.isdigit():
        # Members without a 编号 are shown with their roster number instead.
        return list(session.exec(base.where(Member.id == int(name))).all())
    return []


def _leave_askers(branch_id: int | None, since: datetime):
    """Who has leave a decision can still reach on the scope's activities started since
    `since`: what pending_leave, leave_to_decide and lapsed_leave read."""
    return (select(Attendance.member_id)
            .join(Activity, Activity.id == Attendance.activity_id)
            .where(_in_scope(branch_id), Activity.status != CANCELLED,
                   Activity.starts_at >= since,
                   or_(Attendance.status == AttendanceStatus.LEAVE,
                       and_(Attendance.status == AttendanceStatus.ABSENT,
                            Attendance.leave_state == LeaveState.PENDING))))


def member_number(member: Member) -> str:
    """The 编号 to show beside a name: the staff number, else the roster id."""
    return member.staff_no or str(member.id)


# --- telling the branches -------------------------------------------------------------


def announce(session: Session, *, activity: Activity, text: str, now: datetime) -> int:
    """Tell every branch group whose members a bureau-wide activity expects, once each;
    returns how many groups."""
    branches = select(Member.branch_id).where(_expected_condition(activity),
                                              Member.branch_id.is_not(None))
    groups = session.exec(select(ChatBinding).where(
        ChatBinding.branch_id.in_(branches), ChatBinding.is_leaders == False)  # noqa: E712
        .order_by(ChatBinding.id)).all()
    for group in groups:
        outbox.enqueue(session, platform=group.platform, target_kind="group",
                       target=group.chat_id, branch_id=group.branch_id, now=now,
                       kind="activity.announce",
                       dedupe_key=f"activity.announce|{activity.id}|{group.platform}:{group.chat_id}",
                       payload=outbox.text_payload(text, title=activity.type))
    return len(groups)
