"""An activity a schedule change moved to another time of its day: 设置 夜学 每周三 20:00
takes Wednesday's 19:30 night study away, and the night study is still held on Wednesday.

Leave asked for the 19:30 one (请假 出差: away the whole day) is not taken back by moving the
hour. So the activity the new rule holds that day is written at once, in the transaction
of the change, and the leave is carried to it (storage.leave.carry), with its reason and
state: the member is not nudged nor counted absent there, 批准请假 by name decides it, 销假
takes it back, and a move of branch refits it, all as for any leave, since it is one. At
once rather than when the scheduler would have planned it: the leave is never nowhere (a
cancelled activity, which no command reads), and the change and the carry are one write.
A change that moves the activity to another day does not carry it (the member asked for
that day): the activity is cancelled and they are told, as before.

The chat's 设置 and `djbot schedule set` call `carry_leave`; bot.scheduling.called_off
tells of what it moved.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, time, timedelta

from bot.domain.attendance import plan_times
from bot.scheduling.called_off import CalledOff, Retimed, hour, label, new_time
from bot.scheduling.holidays import default_calendar, held_between
from bot.scheduling.moves import ask_for_a_decision
from bot.scheduling.plan import QuietHours
from bot.scheduling.rules import RuleError, parse_rule
from storage import corrections, org, outbox
from storage import leave as leave_store
from storage import schedules as schedules_store
from storage.attendance import CANCELLED
from storage.models import Activity, ActivityType, Attendance, LeaveState, Member, Schedule


def carry_leave(off: CalledOff, schedule: Schedule,
                cancelled: Iterable[Activity]) -> dict[int, Retimed]:
    """The activities `schedule`'s change cancelled that it still holds the day of, at
    another time, by id: the activity held instead is written now (once, however many
    replicas tick: the scheduler's own INSERT … ON CONFLICT on (schedule, start)), with the
    leave asked for the one taken away. A request for a decision the secretary has not
    received yet (held for the morning, and withdrawn with the activity) is asked again,
    of the activity held instead."""
    session, settings = off.session, off.settings
    tz = settings.tz
    try:
        rule = parse_rule(schedule.rule)
    except RuleError:
        return {}
    duration = timedelta(minutes=schedule.duration_minutes)
    retimed: dict[int, Retimed] = {}
    for taken in cancelled:
        day = taken.starts_at.astimezone(tz).date()
        if schedule.paused_until is not None and day <= schedule.paused_until:
            continue  # 暂停日程: not held that day
        midnight = datetime.combine(day, time(), tzinfo=tz)
        held = held_between(rule, schedule.holiday_policy, default_calendar(), midnight,
                            midnight + timedelta(days=1), tz)
        if not held or held[0].starts_at is None:
            continue  # moved to another day: cancelled, as before
        starts_at = held[0].starts_at.astimezone(off.now.tzinfo)
        times = plan_times(ActivityType(schedule.activity_type), starts_at,
                           opens_minutes_before=settings.checkin_opens_minutes_before,
                           duration=duration)
        if times.ends_at <= off.now:
            continue  # the new hour is over already: nothing to carry to
        assert taken.id is not None
        to, created = schedules_store.held_at(session, schedule=schedule, times=times,
                                              now=off.now)
        if not created:
            if (to is not None and to.starts_at > off.now
                    and corrections.reopen(session, activity=to, keep_rows=False,
                                           now=off.now, tz=tz)):
                created = True  # moved back to an hour an earlier change took it from
            elif to is None or to.status == CANCELLED:
                continue  # called off at that hour (取消活动): not held, nothing to carry to
        # Carried before a leave period is written on it: leave asked for the activity
        # alone, in its own state, stands as it did (storage.leave._excuse_one).
        carried = leave_store.carry(session, taken=taken, to=to, now=off.now)
        if created:
            leave_store.excuse(session, activity=to, tz=tz)
        ask_again(off, taken, to, carried)
        retimed[taken.id] = Retimed(to, sum(1 for c in carried if c.standing))
    return retimed


def ask_again(off: CalledOff, taken: Activity, to: Activity,
               carried: list[leave_store.Carried]) -> None:
    """Leave carried while waiting for a decision whose request never reached anyone (held
    for the morning, then withdrawn with the activity taken away): asked of the activity
    held instead, so a decision still comes before the absences are confirmed. One that was
    received is decided by name (批准请假 李明), which finds the carried leave."""
    session, settings = off.session, off.settings
    for c in carried:
        if not c.standing or c.leave_state != LeaveState.PENDING:
            continue
        asks = outbox.leave_asks_of(c.member_id)
        if outbox.went_out(session, kind=outbox.LEAVE_ASK,
                           key_prefix=f"{asks}attendance:{c.was_id}|"):
            continue
        row, member = session.get(Attendance, c.row_id), session.get(Member, c.member_id)
        if row is None or member is None:
            continue
        ask_for_a_decision(
            session, member=member, branch_id=to.branch_id,
            key=f"attendance:{c.row_id}|carried:{c.was_id}",
            asked=f"{label(session, to, settings)}，原因：{row.leave_reason}"
                  f"（活动由 {hour(taken, off)} 改至 {new_time(taken, to, off)}）。",
            now=off.now,
            not_before=QuietHours.of(settings).held_until(off.now.astimezone(settings.tz)),
            prefer=off.platform or org.group_platform(session, branch_id=to.branch_id))


def moved_to(off: CalledOff, taken: Activity, retimed: Retimed) -> str:
    """政治夜学（11月25日 19:30）改到当天 20:00: what a reply says of one."""
    return f"{label(off.session, taken, off.settings)}改到当天 {hour(retimed.to, off)}"
