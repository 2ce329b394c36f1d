"""Leave over a period (请假 12月4日至12月18日), and taking leave back (销假): keyword-only
queries that never commit.

A period is kept as one row and turned into ordinary leave rows on every activity the
member is expected at in its days: those that exist when it is asked, those opened or
scheduled later (open_activity and the scheduler call `excuse`), and those of a place the
member moves to (`refit`). So every figure, nudge and day-before list already knows about
it.

A change of place (storage.moves) refits the member's leave: what they asked for an
activity not started yet that no longer expects them is withdrawn (kept, for a move back).

A schedule moved to another time on the same day (设置 夜学 每周三 20:00) carries the leave
asked for the activity it took away to the one it holds that day (`carry`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo

from sqlalchemy import and_, or_
from sqlmodel import Session, select

from storage import outbox
from storage.attendance import CANCELLED, expected_at, real_start, row_entries
from storage.ledger import insert_ignoring_duplicates
from storage.models import (
    Activity,
    Attendance,
    AttendanceStatus,
    AuditEntry,
    LeavePeriod,
    LeaveState,
    Member,
    PastMembership,
)


def _local_day(moment: datetime, tz: tzinfo) -> date:
    return moment.astimezone(tz).date()


def record_period(session: Session, *, member: Member, first: date, last: date, reason: str,
                  state: str, now: datetime, tz: tzinfo, platform: str | None = None,
                  message_id: str | None = None, activity_type: str | None = None,
                  grace: timedelta = timedelta(0)) -> tuple[LeavePeriod, list[Activity]]:
    """Keep the period and excuse the member from the activities already planned in it
    (of `activity_type` only, where given) that have not started, or started no more than
    `grace` ago (leave may be asked until a check-in would be late); returns the period
    and those activities."""
    period = LeavePeriod(member_id=member.id, first_day=first, last_day=last,  # type: ignore[arg-type]
                         reason=reason, leave_state=state, platform=platform,
                         message_id=message_id, created_at=now, activity_type=activity_type)
    session.add(period)
    session.flush()
    excused = _excuse_planned(session, member=member, period=period, now=now, tz=tz,
                              grace=grace)
    session.flush()
    return period, excused


def begun_later(session: Session, *, now: datetime, grace: timedelta) -> list[int]:
    """Activities begun more than `grace` ago by the start told that a 更正 said really
    began later (storage.attendance.real_start), so that leave may still be asked or taken
    back there, as a check-in still counts present: 请假 honours it, and 销假 or leave over
    days closed at the start told."""
    if not grace:
        return []
    started = session.exec(select(Activity).where(
        Activity.starts_at < now - grace, Activity.checkin_closes_at > now,
        Activity.status != CANCELLED)).all()
    return [activity.id for activity in started  # type: ignore[misc]
            if (kept := real_start(session, activity=activity)) is not None
            and kept >= now - grace]


def _excuse_planned(session: Session, *, member: Member, period: LeavePeriod, now: datetime,
                    tz: tzinfo, grace: timedelta = timedelta(0)) -> list[Activity]:
    """Excuse the member from the activities planned in the period that start from `now`,
    or began less than `grace` ago (from the real start, where a 更正 said one), and expect
    them; returns those."""
    start = datetime.combine(period.first_day, time(0), tzinfo=tz)
    end = datetime.combine(period.last_day + timedelta(days=1), time(0), tzinfo=tz)
    later = begun_later(session, now=now, grace=grace)
    candidates = session.exec(select(Activity).where(
        or_(Activity.starts_at >= max(start, now - grace),
            and_(Activity.id.in_(later), Activity.starts_at >= start)),  # type: ignore[union-attr]
        Activity.starts_at < end,
        Activity.status != CANCELLED,
        *([Activity.type == period.activity_type] if period.activity_type else []))
        .order_by(Activity.starts_at)).all()
    return [activity for activity in candidates
            if _excuse_one(session, activity=activity, member=member, period=period)]


def _excuse_one(session: Session, *, activity: Activity, member: Member,
                period: LeavePeriod) -> bool:
    if not expected_at(session, member=member, activity=activity):
        return False
    existing = session.exec(select(Attendance).where(
        Attendance.activity_id == activity.id, Attendance.member_id == member.id)).first()
    values = dict(status=AttendanceStatus.LEAVE, leave_reason=period.reason,
                  leave_state=period.leave_state, platform=period.platform,
                  updated_at=period.created_at)
    if existing is None:
        session.add(Attendance(activity_id=activity.id, member_id=member.id,  # type: ignore[arg-type]
                               **values))
        return True
    if existing.checked_in_at is not None or existing.made_up_at is not None \
            or existing.leave_state is None or not (
                existing.status == AttendanceStatus.WITHDRAWN or _asked_again(existing, period)):
        return False  # already answered (checked in, or asked leave for it alone)
    # Leave a move withdrew (refit), where they are due again, or that was turned down and
    # is asked again: the period excuses it, and a new decision is to come.
    for key, value in values.items():
        setattr(existing, key, value)
    existing.leave_decided_by = None
    session.add(existing)
    return True


def _asked_again(row: Attendance, period: LeavePeriod) -> bool:
    """Leave turned down, under a period that waits for a decision: the member asks again,
    and the secretary decides it with the period. Where leave needs no approval, the
    secretary's refusal stands, as it does against 请假 for that activity alone."""
    return (row.status == AttendanceStatus.LEAVE and row.leave_state == LeaveState.REVOKED
            and period.leave_state == LeaveState.PENDING)


_DECIDED_FIRST = {LeaveState.GRANTED: 0, LeaveState.PENDING: 1}


def excuse(session: Session, *, activity: Activity, tz: tzinfo) -> int:
    """Leave rows on a newly created activity for every period that covers its day."""
    day = _local_day(activity.starts_at, tz)
    rows = session.exec(select(LeavePeriod, Member).join(Member, Member.id == LeavePeriod.member_id)
                        .where(LeavePeriod.first_day <= day, LeavePeriod.last_day >= day,
                               or_(LeavePeriod.activity_type.is_(None),  # type: ignore[union-attr]
                                   LeavePeriod.activity_type == activity.type))).all()
    # A period granted or waiting first: one turned down, then asked again, must not set
    # the turned-down state on the activity before the new request is read.
    rows = sorted(rows, key=lambda found: (_DECIDED_FIRST.get(found[0].leave_state, 2),
                                           -(found[0].id or 0)))
    count = sum(1 for period, member in rows
                if _excuse_one(session, activity=activity, member=member, period=period))
    if count:
        session.flush()
    return count


def turned_down(session: Session, *, period: LeavePeriod, now: datetime, tz: tzinfo
                ) -> list[Activity]:
    """Activities not started in the period whose leave the secretary turned down and the
    period did not excuse again (_asked_again): the member is still expected there."""
    start = datetime.combine(period.first_day, time(0), tzinfo=tz)
    end = datetime.combine(period.last_day + timedelta(days=1), time(0), tzinfo=tz)
    return list(session.exec(
        select(Activity).join(Attendance, Attendance.activity_id == Activity.id)
        .where(Attendance.member_id == period.member_id,
               Attendance.status == AttendanceStatus.LEAVE,
               Attendance.leave_state == LeaveState.REVOKED,
               Activity.starts_at >= max(start, now), Activity.starts_at < end,
               Activity.status != CANCELLED,
               *([Activity.type == period.activity_type] if period.activity_type else []))
        .order_by(Activity.starts_at, Activity.id)).all())


def covers(period: LeavePeriod, activity: Activity, tz: tzinfo) -> bool:
    """Whether the activity is held on one of the period's days (and is of its type, for
    a period asked for one type)."""
    return (period.first_day <= _local_day(activity.starts_at, tz) <= period.last_day
            and period.activity_type in (None, activity.type))


def periods_of(session: Session, *, member_id: int, today: date) -> list[LeavePeriod]:
    """The member's periods that have not ended yet."""
    return list(session.exec(select(LeavePeriod).where(
        LeavePeriod.member_id == member_id, LeavePeriod.last_day >= today)
        .order_by(LeavePeriod.first_day)).all())


def pending_periods(session: Session, *, member_id: int, today: date) -> list[LeavePeriod]:
    """The member's periods not over yet whose leave waits for a decision."""
    return [p for p in periods_of(session, member_id=member_id, today=today)
            if p.leave_state == LeaveState.PENDING]


def decide_period(session: Session, *, period: LeavePeriod, state: str) -> None:
    """Approve or turn down a period: activities planned in it later take its new state
    (those already planned are decided one by one, as their rows)."""
    period.leave_state = state
    session.add(period)


@dataclass
class Withdrawn:
    """What a 销假 took back: leave on activities, and periods ended early or dropped."""

    activities: list[Activity] = field(default_factory=list)
    # (first day, last day as asked, last day now; None: the period had not begun and is gone)
    periods: list[tuple[date, date, date | None]] = field(default_factory=list)
    # The rows and periods taken back, by id: the requests about them are stale.
    row_ids: list[int] = field(default_factory=list)
    period_ids: list[int] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.activities or self.periods)


def withdraw(session: Session, *, member_id: int, today: date, now: datetime,
             grace: timedelta, kind: str | None = None, day: date | None = None,
             last: date | None = None, tz: tzinfo | None = None) -> Withdrawn:
    """销假: the member is back. Leave on every activity for which it could still be asked
    (not started, or started less than `grace` ago: the same window as 请假) is taken back,
    so the member is expected there again; a period not over ends yesterday, or is dropped
    if it had not begun, so activities planned later are not excused either. Leave on an
    activity further under way stays as it is: whoever comes checks in, which replaces it.

    With `kind` or `day` (销假 夜学, 销假 12月10日; `tz` for the day), only leave for such
    activities, and periods asked for that kind or that day alone: a period of several days
    for everything is not cut up by one of its activities, and stays. With `last` as well
    (销假 12月14日至18日, 销假 下周), the days from `day` to it, and the periods within them."""
    only = kind is not None or day is not None
    last = last or day
    withdrawn = Withdrawn()
    for period in session.exec(select(LeavePeriod).where(
            LeavePeriod.member_id == member_id, LeavePeriod.last_day >= today)
            .order_by(LeavePeriod.first_day)).all():
        if only and not ((kind is None or period.activity_type == kind) and (
                day is None or day <= period.first_day <= period.last_day <= (last or day))):
            continue
        assert period.id is not None
        withdrawn.period_ids.append(period.id)
        asked = period.last_day
        if period.first_day >= today:
            session.delete(period)
            withdrawn.periods.append((period.first_day, asked, None))
        else:
            period.last_day = today - timedelta(days=1)
            session.add(period)
            withdrawn.periods.append((period.first_day, asked, period.last_day))
    named: list = []
    if kind is not None:
        named.append(Activity.type == kind)
    if day is not None:
        assert tz is not None
        start = datetime.combine(day, time(0), tzinfo=tz)
        end = datetime.combine((last or day) + timedelta(days=1), time(0), tzinfo=tz)
        named += [Activity.starts_at >= start, Activity.starts_at < end]
    rows = session.exec(
        select(Attendance, Activity).join(Activity, Activity.id == Attendance.activity_id)
        .where(Attendance.member_id == member_id, *named,
               Attendance.status == AttendanceStatus.LEAVE,
               or_(Attendance.leave_state.is_(None),  # type: ignore[union-attr]
                   Attendance.leave_state.in_([LeaveState.GRANTED, LeaveState.PENDING])),  # type: ignore[union-attr]
               or_(Activity.starts_at >= now - grace,
                   Activity.id.in_(begun_later(session, now=now, grace=grace))),  # type: ignore[union-attr]
               # One a schedule change took away may be held again (corrections.reopen):
               # the leave taken back is taken back there too.
               or_(Activity.status != CANCELLED, Activity.schedule_withdrawn == True),  # noqa: E712
               Activity.finalized_at.is_(None),  # type: ignore[union-attr]
               # Not a check-in or 补签 that a 更正 made leave: the ledger holds its points
               # and their reversal, which must keep naming a row (and SQLite would give
               # its id to the next row, whose points then collide with them). It stays
               # the secretary's record; the member who is there checks in over it.
               Attendance.checked_in_at.is_(None), Attendance.made_up_at.is_(None))  # type: ignore[union-attr]
        .order_by(Activity.starts_at)).all()
    for row, activity in rows:
        # Nothing was posted for it (leave points come when absences are confirmed), so the
        # row goes: the member is as if they had never asked. The audit entry keeps it.
        assert row.id is not None
        withdrawn.row_ids.append(row.id)
        session.delete(row)
        if activity.status != CANCELLED:  # the reply lists what they are expected at
            withdrawn.activities.append(activity)
    # Leave a move withdrew goes too: taken back, it is not restored by a move back.
    for row in () if only else session.exec(
            select(Attendance).join(Activity, Activity.id == Attendance.activity_id)
            .where(Attendance.member_id == member_id, moved_off(),
                   Activity.starts_at >= now - grace,
                   Activity.finalized_at.is_(None))).all():  # type: ignore[union-attr]
        session.delete(row)
    session.flush()
    return withdrawn


# --- 撤销代请假 ----------------------------------------------------------------------------

RECORDED = "leave.record"  # the audit entry of a 代请假, which says what it recorded
RECORDED_UNDONE = "leave.record.undo"


@dataclass
class Recorded:
    """A 代请假 still standing: its audit entry, the leave rows it made not yet confirmed
    (with their activities), and its period if any."""

    entry: AuditEntry
    rows: list[tuple[Attendance, Activity]]
    period: LeavePeriod | None


def recorded_standing(session: Session, *, member: Member, today: date, tz: tzinfo,
                      looked_at: int = 20) -> Recorded | None:
    """The latest 代请假 for the member of which something still stands: leave it made on
    an activity whose absences are not confirmed yet, not checked in over or made up since
    (nor taken back, or asked again by the member, whose leave nobody recorded for them),
    or its period not over by `today`. None when nothing does."""
    member_id = member.id
    entries = session.exec(select(AuditEntry).where(AuditEntry.action == RECORDED,
                                                    AuditEntry.target == member.name)
                           .order_by(AuditEntry.id.desc()).limit(looked_at)).all()  # type: ignore[union-attr]
    # The name is the audit's; the id says which of two namesakes.
    mine = [e for e in entries if (e.detail or {}).get("member_id") == member_id]
    for entry in mine:
        detail = entry.detail or {}
        ids = set(detail.get("activity_ids") or []) | (
            {detail["activity_id"]} if detail.get("activity_id") else set())
        period = (session.get(LeavePeriod, detail["period_id"])
                  if detail.get("period_id") else None)
        if period is not None and period.last_day < today:
            # Days gone by, their activities confirmed as leave: nothing of it to take back
            # (it was undone for a later mistake, the member said expected on them again).
            period = None
        found = session.exec(
            select(Attendance, Activity).join(Activity, Activity.id == Attendance.activity_id)
            .where(Attendance.member_id == member_id,
                   Attendance.status == AttendanceStatus.LEAVE,
                   Attendance.leave_reason == detail.get("reason"),
                   Attendance.checked_in_at.is_(None), Attendance.made_up_at.is_(None),  # type: ignore[union-attr]
                   Activity.finalized_at.is_(None))  # type: ignore[union-attr]
            .order_by(Activity.starts_at)).all()
        # What the period excused: not what stood in it already, as the member's own leave
        # asked with the same reason (it was taken back with the period).
        standing = set(detail.get("standing_ids") or [])
        # Written by its message, or by its period as activities were planned (no message):
        # not the member's own leave asked again after a 销假 of it, which the same 书记
        # granted (it was taken back as theirs).
        said_in = detail.get("message_id")
        rows = [(row, activity) for row, activity in found
                if row.message_id in (None, said_in)
                and (activity.id in ids and row.leave_decided_by == entry.actor_id
                     or period is not None and covers(period, activity, tz)
                     and activity.id not in standing)]
        if rows or period is not None:
            return Recorded(entry, rows, period)
    return None


def undo_recorded(session: Session, recorded: Recorded) -> None:
    """Take back what a 代请假 recorded by mistake: the member is expected again as if it
    had never been recorded (nothing was posted for it: leave points come when absences
    are confirmed). The audit entries keep both."""
    for row, _ in recorded.rows:
        session.delete(row)
    if recorded.period is not None:
        session.delete(recorded.period)
    session.flush()


# --- a change of place --------------------------------------------------------------------

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

    @property
    def back_on_roster(self) -> bool:
        """Off the roster and on it again (storage.moves.rejoin): no spell ended."""
        return self.was is None and self.member.active


_WHY = "所在支部或职务已变更"  # why a request to decide leave was not sent


def moved_off():
    """Leave rows a change of place withdrew (refit): marked withdrawn, with their leave
    state and reason kept so that a change back restores them. A 更正 withdraws a check-in
    or 补签 (storage.attendance.withdraw): it has one on file, and no leave state."""
    return and_(Attendance.status == AttendanceStatus.WITHDRAWN,
                Attendance.leave_state.is_not(None),  # type: ignore[union-attr]
                Attendance.checked_in_at.is_(None),  # type: ignore[union-attr]
                Attendance.made_up_at.is_(None))  # type: ignore[union-attr]


def refit(session: Session, *, changed: Changed, now: datetime, tz: tzinfo | None) -> Changed:
    """The member's place has just changed (storage.moves): their leave follows it.

    Leave on an activity not started yet that does not expect them where they are now
    (another branch's, a 支委会 once they are no longer on the committee; anything, once
    they are off the roster) is withdrawn, so that activity's 应到, 请假 and lists no longer
    name someone who had left, and its confirmation posts nothing for them. The row is
    marked withdrawn, not deleted: a change back (a roster imported by mistake, then put
    right) makes them due there again, and their leave stands again as it was, rather
    than the member being nudged and counted absent for leave they asked in good time.
    A request to decide it that is not sent yet is withdrawn too. Activities already
    started keep their records: whoever was due there is counted where they were. A leave
    period still excuses wherever they are due: the new place's activities planned in it
    are excused now, and one still waiting for a decision becomes the new branch's to
    decide (the old one's request is withdrawn). Writes an audit entry of what it did;
    returns `changed`, filled in."""
    member = changed.member
    assert member.id is not None
    today = now.astimezone(tz).date() if tz is not None else now.date()
    periods = periods_of(session, member_id=member.id, today=today) if member.active else []
    ahead = [Attendance.member_id == member.id, Activity.starts_at > now,
             Activity.status != CANCELLED,
             Activity.finalized_at.is_(None)]  # type: ignore[union-attr]
    rows = session.exec(
        select(Attendance, Activity).join(Activity, Activity.id == Attendance.activity_id)
        .where(*ahead, Attendance.status == AttendanceStatus.LEAVE,
               # A check-in or 补签 a 更正 made leave is the secretary's record, with its
               # ledger lines (storage.ledger_repair): it stays, as it does for a 销假.
               Attendance.checked_in_at.is_(None), Attendance.made_up_at.is_(None))  # type: ignore[union-attr]
        .order_by(Activity.starts_at, Activity.id)).all()
    gone = []
    for row, activity in rows:
        if member.active and expected_at(session, member=member, activity=activity):
            continue
        if row_entries(session, attendance=row):
            continue  # a line names it: never a line left naming a record it no longer is
        changed.asks_withdrawn += len(outbox.withdraw_unsent(
            session, kind=outbox.LEAVE_ASK,
            key_prefix=f"{outbox.leave_asks_of(member.id)}attendance:{row.id}|",
            reason=_WHY))
        from_period = tz is not None and any(covers(p, activity, tz) for p in periods)
        if from_period:
            changed.released.append(activity)
        elif row.leave_state == LeaveState.REVOKED:
            changed.turned_down.append(activity)
        else:
            changed.withdrawn.append(activity)
        gone.append({"activity_id": activity.id, "leave_state": row.leave_state})
        row.status, row.updated_at = AttendanceStatus.WITHDRAWN, now
        session.add(row)
    back = session.exec(
        select(Attendance, Activity).join(Activity, Activity.id == Attendance.activity_id)
        .where(*ahead, moved_off()).order_by(Activity.starts_at, Activity.id)).all() \
        if member.active else []
    for row, activity in back:
        if not expected_at(session, member=member, activity=activity):
            continue
        assert row.id is not None and row.leave_state is not None
        if tz is not None and any(covers(p, activity, tz) for p in periods):
            changed.excused.append(activity)  # the period's again, told and asked as it is
        else:
            changed.restored.append(Restored(activity, row.id, row.leave_state, row.updated_at))
        row.status, row.updated_at = AttendanceStatus.LEAVE, now
        session.add(row)
    session.flush()
    if member.active and tz is not None:
        for period in periods:
            changed.excused += _excuse_planned(session, member=member, period=period, now=now,
                                               tz=tz)
    if changed.branch_changed or not member.active or changed.back_on_roster:
        # Asked of the branch they were in: now the new branch's to decide (批准请假 reads a
        # period where the member is), or nobody's once they are off the roster. Back on
        # it, the request withdrawn when they left is to be asked again, or nobody decides
        # it and it lapses into an absence.
        waiting = pending_periods(session, member_id=member.id, today=today)
        for period in waiting:
            changed.asks_withdrawn += len(outbox.withdraw_unsent(
                session, kind=outbox.LEAVE_ASK,
                key_prefix=f"{outbox.leave_asks_of(member.id)}period:{period.id}|",
                reason=_WHY))
        changed.to_decide = waiting if member.active else []
    session.flush()
    if gone or changed.restored or changed.excused or changed.to_decide \
            or changed.asks_withdrawn:
        session.add(AuditEntry(
            at=now, actor="system", action="leave.refit", target=member.name,
            detail={"member_id": member.id, "withdrawn": gone,
                    "restored": [{"activity_id": r.activity.id, "leave_state": r.leave_state}
                                 for r in changed.restored],
                    "excused_activity_ids": [a.id for a in changed.excused],
                    "period_ids_to_decide": [p.id for p in changed.to_decide],
                    "asks_withdrawn": changed.asks_withdrawn}))
    return changed


def withdrawn_since(session: Session, *, member_id: int, since: datetime,
                    now: datetime) -> list[Activity]:
    """Activities not started yet whose leave a change of place withdrew at `since` or
    later, and that stays withdrawn: for a notice that replaces ones not sent yet."""
    return list(session.exec(
        select(Activity).join(Attendance, Attendance.activity_id == Activity.id)
        .where(Attendance.member_id == member_id, moved_off(),
               Attendance.updated_at >= since, Activity.starts_at > now,
               Activity.status != CANCELLED)
        .order_by(Activity.starts_at, Activity.id)).all())


# --- a schedule moved to another time of the same day ---------------------------------------

@dataclass(frozen=True)
class Carried:
    """Leave on an activity a schedule change took away, carried to the activity the new rule
    holds on the same day (`carry`)."""

    member_id: int
    leave_state: str | None  # as it was: granted, or waiting for a decision
    was_id: int  # the row on the activity taken away, which stays on record
    row_id: int  # the row on the activity held instead
    standing: bool  # leave that counts there; False: withdrawn by a move, kept for a move back


def of_its_day(session: Session, *, taken: Activity, to: Activity, tz: tzinfo) -> set[int]:
    """The members whose leave on `taken` a leave period wrote (请假 11月25日: away that
    day) that does not cover `to`, held on another day (改期): their leave stays with the
    day, and `to` has what its own day's periods say (excuse)."""
    day = _local_day(taken.starts_at, tz)
    return {period.member_id for period in session.exec(select(LeavePeriod).where(
        LeavePeriod.first_day <= day, LeavePeriod.last_day >= day,
        or_(LeavePeriod.activity_type.is_(None),  # type: ignore[union-attr]
            LeavePeriod.activity_type == taken.type)))
        if not covers(period, to, tz)}


def carry(session: Session, *, taken: Activity, to: Activity, now: datetime,
          not_for: set[int] = frozenset()) -> list[Carried]:  # type: ignore[assignment]
    """The schedule holds `to` on the day of `taken`, which a change of its time cancelled
    (storage.schedules.save_schedule): the leave asked for `taken` stands on `to`, with its
    reason and state, so the member is neither nudged nor counted absent for asking in
    good time for the hour it was then. Leave for that activity alone, not a leave period
    of the day: a period would excuse the member from every other activity of the day,
    which they never asked, and 销假 and the figures would speak of days, not of it.

    Carried: leave granted or waiting for a decision of a member `to` expects (one who has
    moved since is not: their leave was withdrawn, and a withdrawn row is carried as it is,
    for a move back to restore). Not leave turned down (驳回): they are expected as anyone,
    nor a check-in or 补签 a 更正 made leave (the secretary's record, with its ledger lines).
    Not the leave of members in `not_for` (of_its_day). The rows on `taken` stay as they
    were, on a cancelled activity that counts nowhere.
    Written with INSERT … ON CONFLICT DO NOTHING: a row already on `to` (a leave period's)
    stands. Nothing was posted for leave before the absences are confirmed, so nothing
    moves in the ledger: leave points come when `to`'s absences are. Writes an audit entry."""
    rows = session.exec(
        select(Attendance, Member).join(Member, Member.id == Attendance.member_id)
        .where(Attendance.activity_id == taken.id,
               Attendance.checked_in_at.is_(None),  # type: ignore[union-attr]
               Attendance.made_up_at.is_(None),  # type: ignore[union-attr]
               or_(and_(Attendance.status == AttendanceStatus.LEAVE,
                        or_(Attendance.leave_state.is_(None),  # type: ignore[union-attr]
                            Attendance.leave_state != LeaveState.REVOKED)),
                   moved_off()))
        .order_by(Member.name, Member.id)).all()
    carried: list[Carried] = []
    for row, member in rows:
        if member.id in not_for:
            continue
        standing = row.status == AttendanceStatus.LEAVE
        if standing and not (member.active and expected_at(session, member=member, activity=to)):
            continue
        written = insert_ignoring_duplicates(session, Attendance, dict(
            activity_id=to.id, member_id=member.id, status=row.status,
            leave_reason=row.leave_reason, leave_state=row.leave_state,
            leave_decided_by=row.leave_decided_by, platform=row.platform,
            message_id=row.message_id,
            # A withdrawn row keeps when the move withdrew it (Restored.withdrawn_at).
            updated_at=now if standing else row.updated_at))
        if not written:
            continue
        new = session.exec(select(Attendance.id).where(
            Attendance.activity_id == to.id, Attendance.member_id == member.id)).one()
        assert row.id is not None and member.id is not None
        carried.append(Carried(member.id, row.leave_state, row.id, new, standing))
    if carried:
        session.add(AuditEntry(
            at=now, actor="system", action="leave.carry", target=taken.type,
            detail={"from_activity_id": taken.id, "to_activity_id": to.id,
                    "carried": [{"member_id": c.member_id, "leave_state": c.leave_state,
                                 "withdrawn": not c.standing} for c in carried]}))
    session.flush()
    return carried
