"""Recurring schedules: keyword-only queries that never commit."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, delete, select

from storage.models import Activity, Attendance, Branch, Schedule


def save_schedule(session: Session, *, branch_id: int | None, kind: str, rule: str,
                  duration_minutes: int, policy: str, now: datetime,
                  by: int | None = None, party_group_id: int | None = None) -> Schedule:
    """One schedule per (branch, activity kind, party group): set it, or change it.

    A changed rule replaces the activities already created ahead from the old one, as
    long as they have not started and nobody has answered them (leave asked, …).
    """
    scope = (Schedule.branch_id == branch_id if branch_id is not None
             else Schedule.branch_id.is_(None))  # type: ignore[union-attr]
    group = (Schedule.party_group_id == party_group_id if party_group_id is not None
             else Schedule.party_group_id.is_(None))  # type: ignore[union-attr]
    schedule = session.exec(select(Schedule).where(scope, group,
                                                   Schedule.activity_type == kind)).first()
    if schedule is None:
        schedule = Schedule(branch_id=branch_id, activity_type=kind, rule=rule, created_by=by,
                            party_group_id=party_group_id, created_at=now, updated_at=now)
    else:
        answered = select(Attendance.activity_id)
        session.exec(delete(Activity).where(  # type: ignore[call-overload]
            Activity.schedule_id == schedule.id, Activity.starts_at > now,
            Activity.id.not_in(answered)))  # type: ignore[union-attr]
    schedule.rule = rule
    schedule.duration_minutes = duration_minutes
    schedule.holiday_policy = policy
    schedule.active = True
    schedule.updated_at = now
    session.add(schedule)
    session.flush()
    return schedule


def scheduled_starting(session: Session, *, branch_id: int | None, after: datetime,
                       before: datetime) -> list[Activity]:
    """The scope's scheduled activities, still open, that start in (after, before), the
    earliest first: what an activity opened by hand over that span would run alongside."""
    scope = (Activity.branch_id == branch_id if branch_id is not None
             else Activity.branch_id.is_(None))  # type: ignore[union-attr]
    return list(session.exec(select(Activity).where(
        scope, Activity.schedule_id.is_not(None),  # type: ignore[union-attr]
        Activity.status == "open", Activity.starts_at > after, Activity.starts_at < before)
        .order_by(Activity.starts_at)).all())


def branch_schedules(session: Session, *, branch_id: int) -> list[Schedule]:
    return list(session.exec(select(Schedule).where(
        Schedule.branch_id == branch_id, Schedule.active == True)  # noqa: E712
        .order_by(Schedule.id)).all())


def bureau_schedules(session: Session) -> list[Schedule]:
    """The bureau's own schedules (中心组学习, 第一议题 for the party committee): no branch."""
    return list(session.exec(select(Schedule).where(
        Schedule.branch_id.is_(None), Schedule.active == True)  # type: ignore[union-attr]  # noqa: E712
        .order_by(Schedule.id)).all())


def all_schedules(session: Session) -> list[tuple[Schedule, str | None]]:
    """Every schedule with its branch's name (None for a bureau-wide one)."""
    return [(s, name) for s, name in session.exec(
        select(Schedule, Branch.name).outerjoin(Branch, Branch.id == Schedule.branch_id)
        .order_by(Branch.name, Schedule.activity_type)).all()]
