"""Leave over a period (请假 12月4日至12月18日): keyword-only queries that never commit.

A period is kept as one row and turned into ordinary leave rows on every activity the
member is expected at in its days: those that exist when it is asked, and those opened or
scheduled later (open_activity and the scheduler call `excuse`). So every figure, nudge
and day-before list already knows about it.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, tzinfo

from sqlmodel import Session, select

from storage.attendance import CANCELLED, is_expected
from storage.models import Activity, Attendance, AttendanceStatus, LeavePeriod, Member


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
    if not is_expected(member, activity):
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


def periods_of(session: Session, *, member_id: int, today: date) -> list[LeavePeriod]:
    """The member's periods that have not ended yet."""
    return list(session.exec(select(LeavePeriod).where(
        LeavePeriod.member_id == member_id, LeavePeriod.last_day >= today)
        .order_by(LeavePeriod.first_day)).all())
