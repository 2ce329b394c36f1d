"""Recurring schedules: keyword-only queries that never commit."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta

from sqlmodel import Session, select

from bot.domain.attendance import ActivityTimes
from storage.attendance import CANCELLED, OPEN, in_audience
from storage.corrections import RULE_CHANGED, Withdrawn, withdraw
from storage.ledger import insert_ignoring_duplicates
from storage.models import Activity, Branch, Member, Schedule


def save_schedule(session: Session, *, branch_id: int | None, kind: str, rule: str,
                  duration_minutes: int, policy: str, now: datetime,
                  by: Member | None = None, party_group_id: int | None = None,
                  holds: Callable[[datetime], bool] | None = None,
                  held: Callable[[str, str, datetime], bool] | None = None
                  ) -> tuple[Schedule, Withdrawn]:
    """One schedule per (branch, activity kind, party group): set it, or change it.

    Changed, its activities already created ahead that the new rule still holds (`holds`
    their start) stay, with the new duration: leave asked for them still counts. The others
    are replaced: removed when nobody has answered them, cancelled otherwise, as 删除日程
    does (a cancelled one keeps its (schedule, start), so only one no longer held may be).
    Returns the schedule and what replacing them did (Withdrawn: the answered ones
    cancelled are to be told of).

    `held(rule, policy, start)`: whether a rule as stored holds an occurrence at a start.
    An activity ahead the old rule did not hold either is one 改期 moved there, a decision
    about that occasion alone: the change leaves it as it is (its old time stays cancelled,
    so the week keeps its one).
    """
    scope = (Schedule.branch_id == branch_id if branch_id is not None
             else Schedule.branch_id.is_(None))  # type: ignore[union-attr]
    group = (Schedule.party_group_id == party_group_id if party_group_id is not None
             else Schedule.party_group_id.is_(None))  # type: ignore[union-attr]
    schedule = session.exec(select(Schedule).where(scope, group,
                                                   Schedule.activity_type == kind)).first()
    replaced = Withdrawn()
    if schedule is None:
        schedule = Schedule(branch_id=branch_id, activity_type=kind, rule=rule,
                            created_by=by.id if by else None,
                            party_group_id=party_group_id, created_at=now, updated_at=now)
    else:
        ahead = [a for a in session.exec(select(Activity).where(
            Activity.schedule_id == schedule.id, Activity.starts_at > now,
            Activity.status != CANCELLED)).all()
            if held is None or held(schedule.rule, schedule.holiday_policy, a.starts_at)]
        for activity in ahead:
            if holds is not None and holds(activity.starts_at):
                activity.ends_at = activity.starts_at + timedelta(minutes=duration_minutes)
                activity.checkin_closes_at = activity.ends_at
                session.add(activity)
        replaced = withdraw(session, by=by, reason=f"{RULE_CHANGED} {rule}", now=now, activities=[
            a for a in ahead if holds is None or not holds(a.starts_at)])
    if not schedule.active:
        # Deleted while paused, then set again: a new schedule, not the old pause (the reply
        # said 已设置, and nothing was held until the old pause ended).
        schedule.paused_until = None
    schedule.rule = rule
    schedule.duration_minutes = duration_minutes
    schedule.holiday_policy = policy
    schedule.active = True
    schedule.updated_at = now
    session.add(schedule)
    session.flush()
    return schedule, replaced


def insert_scheduled(session: Session, *, schedule: Schedule, times: ActivityTimes,
                     now: datetime) -> Activity | None:
    """The schedule's activity at `times`, written once however many replicas write it at
    the same moment (INSERT … ON CONFLICT DO NOTHING on (schedule, start)): returned when
    this call wrote it, None when it was there already."""
    values = dict(
        type=schedule.activity_type, topic=schedule.topic, branch_id=schedule.branch_id,
        party_group_id=schedule.party_group_id,
        starts_at=times.starts_at, ends_at=times.ends_at,
        checkin_opens_at=times.checkin_opens_at, checkin_closes_at=times.checkin_closes_at,
        status=OPEN, schedule_id=schedule.id, created_at=now,
    )
    if not insert_ignoring_duplicates(session, Activity, values):
        return None
    assert schedule.id is not None
    return scheduled_at(session, schedule_id=schedule.id, starts_at=times.starts_at)


def held_at(session: Session, *, schedule: Schedule, times: ActivityTimes,
            now: datetime) -> tuple[Activity | None, bool]:
    """The schedule's activity at `times` and whether this call wrote it: written now, or
    the one there already (cancelled or not: a moved or withdrawn occurrence, for the
    caller to reopen as its case asks)."""
    made = insert_scheduled(session, schedule=schedule, times=times, now=now)
    if made is not None:
        return made, True
    assert schedule.id is not None
    return scheduled_at(session, schedule_id=schedule.id, starts_at=times.starts_at), False


def scheduled_at(session: Session, *, schedule_id: int, starts_at: datetime) -> Activity | None:
    """The schedule's activity starting at `starts_at`, cancelled or not."""
    return session.exec(select(Activity).where(Activity.schedule_id == schedule_id,
                                               Activity.starts_at == starts_at)).first()


def scheduled_starting(session: Session, *, branch_id: int | None, after: datetime,
                       before: datetime) -> list[Activity]:
    """The scope's scheduled activities, still open, that start in (after, before), the
    earliest first: what an activity opened by hand over that span would run alongside."""
    scope = (Activity.branch_id == branch_id if branch_id is not None
             else Activity.branch_id.is_(None))  # type: ignore[union-attr]
    return list(session.exec(select(Activity).where(
        scope, Activity.schedule_id.is_not(None),  # type: ignore[union-attr]
        Activity.status == OPEN, Activity.starts_at > after, Activity.starts_at < before)
        .order_by(Activity.starts_at)).all())


def called_off(session: Session, *, schedule: Schedule, after: datetime) -> set[datetime]:
    """The starts after `after` of the schedule's activities cancelled by 取消活动: never held
    again (one a schedule change withdrew is, when the rule holds it), so no list of what is
    to come may name them."""
    return set(session.exec(select(Activity.starts_at).where(
        Activity.schedule_id == schedule.id, Activity.status == CANCELLED,
        Activity.schedule_withdrawn == False,  # noqa: E712
        Activity.starts_at > after)).all())


def moved_ahead(session: Session, *, schedule: Schedule, after: datetime) -> list[Activity]:
    """The schedule's activities to come, not cancelled. Those at a start its rule holds are
    its own occurrences; the others are held there by 改期 (its rule holds none then), which
    日程 lists from these."""
    return list(session.exec(select(Activity).where(
        Activity.schedule_id == schedule.id, Activity.status != CANCELLED,
        Activity.starts_at > after).order_by(Activity.starts_at)).all())


def branch_schedules(session: Session, *, branch_id: int) -> list[Schedule]:
    return list(session.exec(select(Schedule).where(
        Schedule.branch_id == branch_id, Schedule.active == True)  # noqa: E712
        .order_by(Schedule.id)).all())


def bureau_schedules(session: Session) -> list[Schedule]:
    """The bureau's own schedules (中心组学习, 第一议题 for the party committee): no branch."""
    return list(session.exec(select(Schedule).where(
        Schedule.branch_id.is_(None), Schedule.active == True)  # type: ignore[union-attr]  # noqa: E712
        .order_by(Schedule.id)).all())


def last_day(session: Session, schedule: Schedule) -> date | None:
    """The last day the schedule's branch holds anything: a 临时党支部's end date (or a closed
    branch's), else None."""
    branch = session.get(Branch, schedule.branch_id) if schedule.branch_id is not None else None
    return branch.ends_on if branch is not None else None


def expects(schedule: Schedule, member: Member) -> bool:
    """Whether the schedule's activities would expect the member as they are now."""
    return in_audience(member, Activity(type=schedule.activity_type,
                                        branch_id=schedule.branch_id,
                                        party_group_id=schedule.party_group_id))


def schedules_of(session: Session, *, member: Member) -> list[Schedule]:
    """The fixed schedules whose activities expect the member: the bureau's and their
    branch's (their party group's, 支委会 for the committee, as each audience says)."""
    held = bureau_schedules(session)
    if member.branch_id is not None:
        held += branch_schedules(session, branch_id=member.branch_id)
    return [schedule for schedule in held if expects(schedule, member)]


def all_schedules(session: Session) -> list[tuple[Schedule, str | None]]:
    """Every schedule with its branch's name (None for a bureau-wide one)."""
    return [(s, name) for s, name in session.exec(
        select(Schedule, Branch.name).outerjoin(Branch, Branch.id == Schedule.branch_id)
        .order_by(Branch.name, Schedule.activity_type)).all()]
