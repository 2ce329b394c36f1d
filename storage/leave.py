"""Leave over a period (请假 12月4日至12月18日), and taking leave back (销假): keyword-only
queries that never commit.

A period is kept as one row and turned into ordinary leave rows on every activity the
member is expected at in its days: those that exist when it is asked, and those opened or
scheduled later (open_activity and the scheduler call `excuse`). So every figure, nudge
and day-before list already knows about it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo

from sqlalchemy import or_
from sqlmodel import Session, select

from storage.attendance import CANCELLED, expected_at
from storage.models import Activity, Attendance, AttendanceStatus, LeavePeriod, LeaveState, Member


def _local_day(moment: datetime, tz: tzinfo) -> date:
    return moment.astimezone(tz).date()


def record_period(session: Session, *, member: Member, first: date, last: date, reason: str,
                  state: str, now: datetime, tz: tzinfo, platform: str | None = None,
                  message_id: str | None = None) -> tuple[LeavePeriod, list[Activity]]:
    """Keep the period and excuse the member from the activities already planned in it
    that have not started; returns the period and those activities."""
    period = LeavePeriod(member_id=member.id, first_day=first, last_day=last,  # type: ignore[arg-type]
                         reason=reason, leave_state=state, platform=platform,
                         message_id=message_id, created_at=now)
    session.add(period)
    session.flush()
    start = datetime.combine(first, time(0), tzinfo=tz)
    end = datetime.combine(last + timedelta(days=1), time(0), tzinfo=tz)
    candidates = session.exec(select(Activity).where(
        Activity.starts_at >= max(start, now), Activity.starts_at < end,
        Activity.status != CANCELLED).order_by(Activity.starts_at)).all()
    excused = []
    for activity in candidates:
        if _excuse_one(session, activity=activity, member=member, period=period):
            excused.append(activity)
    session.flush()
    return period, excused


def _excuse_one(session: Session, *, activity: Activity, member: Member,
                period: LeavePeriod) -> bool:
    if not expected_at(session, member=member, activity=activity):
        return False
    existing = session.exec(select(Attendance).where(
        Attendance.activity_id == activity.id, Attendance.member_id == member.id)).first()
    if existing is not None:
        return False  # already answered (checked in, or asked leave for it alone)
    session.add(Attendance(
        activity_id=activity.id, member_id=member.id,  # type: ignore[arg-type]
        status=AttendanceStatus.LEAVE, leave_reason=period.reason,
        leave_state=period.leave_state, platform=period.platform,
        updated_at=period.created_at))
    return True


def excuse(session: Session, *, activity: Activity, tz: tzinfo) -> int:
    """Leave rows on a newly created activity for every period that covers its day."""
    day = _local_day(activity.starts_at, tz)
    rows = session.exec(select(LeavePeriod, Member).join(Member, Member.id == LeavePeriod.member_id)
                        .where(LeavePeriod.first_day <= day, LeavePeriod.last_day >= day)).all()
    count = sum(1 for period, member in rows
                if _excuse_one(session, activity=activity, member=member, period=period))
    if count:
        session.flush()
    return count


def covers(period: LeavePeriod, activity: Activity, tz: tzinfo) -> bool:
    """Whether the activity is held on one of the period's days."""
    return period.first_day <= _local_day(activity.starts_at, tz) <= period.last_day


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

    def __bool__(self) -> bool:
        return bool(self.activities or self.periods)


def withdraw(session: Session, *, member_id: int, today: date, now: datetime,
             grace: timedelta) -> Withdrawn:
    """销假: the member is back. Leave on every activity for which it could still be asked
    (not started, or started less than `grace` ago: the same window as 请假) is taken back,
    so the member is expected there again; a period not over ends yesterday, or is dropped
    if it had not begun, so activities planned later are not excused either. Leave on an
    activity further under way stays as it is: whoever comes checks in, which replaces it."""
    withdrawn = Withdrawn()
    for period in session.exec(select(LeavePeriod).where(
            LeavePeriod.member_id == member_id, LeavePeriod.last_day >= today)
            .order_by(LeavePeriod.first_day)).all():
        asked = period.last_day
        if period.first_day >= today:
            session.delete(period)
            withdrawn.periods.append((period.first_day, asked, None))
        else:
            period.last_day = today - timedelta(days=1)
            session.add(period)
            withdrawn.periods.append((period.first_day, asked, period.last_day))
    rows = session.exec(
        select(Attendance, Activity).join(Activity, Activity.id == Attendance.activity_id)
        .where(Attendance.member_id == member_id,
               Attendance.status == AttendanceStatus.LEAVE,
               or_(Attendance.leave_state.is_(None),  # type: ignore[union-attr]
                   Attendance.leave_state.in_([LeaveState.GRANTED, LeaveState.PENDING])),  # type: ignore[union-attr]
               Activity.starts_at >= now - grace, Activity.status != CANCELLED,
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
        session.delete(row)
        withdrawn.activities.append(activity)
    session.flush()
    return withdrawn
