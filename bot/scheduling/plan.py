"""The reminder plan, pure: from a branch's activities and now, which messages are due.

Nothing here reads the database or the clock; tick.py gathers the views below and
enqueues what this returns. Every reminder carries a unique key (kind, target,
occurrence time) so enqueueing it twice, from any replica, writes it once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from bot.scheduling.holidays import MAX_MOVE_DAYS
from bot.scheduling.rules import WEEKDAY_NAMES, parse_time

# The kinds of message (OutboxMessage.kind), by the names the plan has always used.
from storage.kinds import (  # noqa: F401
    DAY_BEFORE,
    GROUP_BEFORE,
    LEADERBOARD,
    MEETINGS_DUE,
    MISSING,
    NUDGE,
    PIONEER_SHORTLIST,
    START,
    SUMMARY,
    SUMMARY_PICTURE,
)

log = logging.getLogger("djbot.plan")


@dataclass(frozen=True)
class ReminderPlan:
    """What a branch is sent; BranchReminderSettings.plan overrides any field by name."""

    day_before: bool = True
    day_before_at: time = time(9, 0)
    group_before_minutes: int = 60  # 0 turns the group reminder off
    start_notice: bool = True
    nudge_after_minutes: int = 15  # 0 turns nudges off
    missing_list: bool = True
    leaderboard: bool = True

    @classmethod
    def from_overrides(cls, overrides: dict[str, Any] | None) -> "ReminderPlan":
        """The plan with an operator's JSON over the defaults. A value that cannot be read
        keeps its default, and is logged once: {"day_before_at": "9:00"} raised in every
        tick, so no branch at all was reminded."""
        defaults, values = cls(), {}
        for f in fields(cls):
            if f.name not in (overrides or {}):
                continue
            said = overrides[f.name]  # type: ignore[index]
            try:
                values[f.name] = _plan_value(said, getattr(defaults, f.name))
            except (TypeError, ValueError):
                if (f.name, repr(said)) not in _UNREAD:
                    _UNREAD.add((f.name, repr(said)))
                    log.error("reminder plan: %s=%r cannot be read; the default %s is kept",
                              f.name, said, getattr(defaults, f.name))
        return cls(**values)


_UNREAD: set[tuple[str, str]] = set()


def _plan_value(said: Any, default: Any) -> Any:
    """An override read as its default's type: a switch, minutes, a time of day."""
    if isinstance(default, bool):
        if isinstance(said, bool):
            return said
        raise ValueError(said)
    if isinstance(default, int):
        minutes = int(said)  # 60 or "60"; a switch or words are not minutes
        if isinstance(said, bool) or minutes < 0:
            raise ValueError(said)
        return minutes
    if isinstance(said, time):
        return said
    return parse_time(str(said))  # 09:00, 9:00, 9点


@dataclass(frozen=True)
class QuietHours:
    start: time = time(22, 0)
    end: time = time(7, 30)

    @classmethod
    def of(cls, settings: Any) -> "QuietHours":
        """The quiet hours configured (Settings.quiet_start, quiet_end)."""
        return cls(settings.quiet_start, settings.quiet_end)

    def contains(self, moment: time) -> bool:
        if self.start <= self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end  # spans midnight

    def held_until(self, local: datetime) -> datetime | None:
        """When what is due at `local` may go: None (then), or in quiet hours their end."""
        return self.next_end(local) if self.contains(local.time()) else None

    def next_end(self, local: datetime) -> datetime:
        """The first moment after local when quiet hours are over."""
        candidate = local.replace(hour=self.end.hour, minute=self.end.minute, second=0,
                                  microsecond=0)
        return candidate if candidate > local else candidate + timedelta(days=1)


@dataclass(frozen=True)
class Recipient:
    member_id: int | None
    name: str
    platform: str
    user_id: str


@dataclass(frozen=True)
class GroupChat:
    platform: str
    chat_id: str
    target_kind: str = "group"  # "leaders" for the leaders' group (bureau schedules)


@dataclass(frozen=True)
class BranchView:
    id: int | None  # None: the bureau's own schedules (中心组学习, 第一议题)
    name: str
    groups: tuple[GroupChat, ...]
    secretaries: tuple[Recipient, ...]
    paused_until: date | None = None
    plan: ReminderPlan = field(default_factory=ReminderPlan)


@dataclass(frozen=True)
class Expected:
    """A member expected at an activity, and where they stand."""

    recipient: Recipient
    state: str  # "present" | "leave" | "pending" (leave not decided yet) | "missing"
    nudges_off: bool = False


@dataclass(frozen=True)
class ActivityView:
    id: int
    branch_id: int | None
    type: str
    topic: str
    starts_at: datetime
    ends_at: datetime
    expected: tuple[Expected, ...] = ()
    closed_at: datetime | None = None  # 结束 by hand: check-in is over from then
    party_group: str | None = None  # a 党小组会's group: two may meet the same evening
    finalized_at: datetime | None = None  # 确认缺席 (or its automatic confirmation)


@dataclass(frozen=True)
class Reminder:
    kind: str
    platform: str
    target_kind: str  # "group" | "user" | "leaders" (the leaders' group)
    target: str
    branch_id: int | None
    occurrence: datetime  # the activity's start, or the Monday 09:00 it belongs to
    due_at: datetime
    text: str
    title: str | None = None
    markdown: bool = False
    # An activity's reminders name it: two activities of one group can start the same
    # minute (第一议题 as the first item of the 中心组学习), and each gets its reminders.
    activity_id: int | None = None
    at_night: bool = False  # an activity set inside quiet hours: its reminders go at night

    @property
    def dedupe_key(self) -> str:
        key = self.legacy_key
        return key if self.activity_id is None else f"{key}|activity:{self.activity_id}"

    @property
    def legacy_key(self) -> str:
        """The key before it named the activity (rows written by djbot before 2026-12-06)."""
        return f"{self.kind}|{self.platform}:{self.target_kind}:{self.target}|{self.occurrence.isoformat()}"

    def payload(self) -> dict[str, Any]:
        payload = {"text": self.text, "markdown": self.markdown, "mentions": [],
                   "is_error": False, "title": self.title}
        if self.at_night:
            payload["at_night"] = True  # bot.outbox.AT_NIGHT: retried at night too
        return payload


def _clock(moment: datetime, tz: tzinfo) -> str:
    return moment.astimezone(tz).strftime("%H:%M")


def _day(moment: datetime, tz: tzinfo) -> str:
    local = moment.astimezone(tz)
    return f"{local.month}月{local.day}日 周{WEEKDAY_NAMES[local.weekday()]}"


def _names(people: list[Expected]) -> str:
    return "、".join(p.recipient.name for p in people)


def reminder_times(plan: ReminderPlan, starts_at: datetime, ends_at: datetime, tz: tzinfo,
                   quiet: QuietHours) -> dict[str, datetime]:
    """When each of an activity's reminders is due under this plan, quiet hours applied.

    A reminder that would land in quiet hours waits until they end, except a nudge, which
    is dropped (a nudge the next morning is no use to anyone). An activity the secretary
    set inside quiet hours is exempt: they chose the hour.
    """
    times: dict[str, datetime] = {}
    if plan.day_before:
        day_before = (starts_at.astimezone(tz) - timedelta(days=1)).date()
        times[DAY_BEFORE] = datetime.combine(day_before, plan.day_before_at, tzinfo=tz)
    if plan.group_before_minutes > 0:
        times[GROUP_BEFORE] = starts_at - timedelta(minutes=plan.group_before_minutes)
    if plan.start_notice:
        times[START] = starts_at
    if plan.nudge_after_minutes > 0:
        times[NUDGE] = starts_at + timedelta(minutes=plan.nudge_after_minutes)
    if plan.missing_list:
        times[MISSING] = ends_at
    if quiet.contains(starts_at.astimezone(tz).time()):
        return times
    for kind, due in list(times.items()):
        local_due = due.astimezone(tz)
        if quiet.contains(local_due.time()):
            if kind == NUDGE:
                del times[kind]
            elif kind == DAY_BEFORE and quiet.next_end(local_due).date() > local_due.date():
                # Set for a quiet evening (22:30): their end is the activity's own day,
                # where 【明日活动】 would say 明日 of today. It goes when they ended that
                # morning instead, still the day before.
                times[kind] = quiet.next_end(local_due - timedelta(days=1))
            else:
                times[kind] = quiet.next_end(local_due)
    if START in times and GROUP_BEFORE in times and times[GROUP_BEFORE] >= starts_at:
        # Held to the end of quiet hours, the hour-before notice would come with the start's.
        del times[GROUP_BEFORE]
    return times


def activity_reminders(activity: ActivityView, branch: BranchView, tz: tzinfo,
                       quiet: QuietHours) -> list[Reminder]:
    """Every reminder of one activity, each with the time it is due."""
    start, end = activity.starts_at, activity.ends_at
    times = reminder_times(branch.plan, start, end, tz, quiet)
    if activity.closed_at is not None:
        # Ended by hand (结束): what asks people to come or to send 签到 after that would
        # send them to a check-in that is closed. The secretary's lists still go.
        for kind in (GROUP_BEFORE, START, NUDGE):
            if kind in times and times[kind] >= activity.closed_at:
                del times[kind]
    if MISSING in times and activity.finalized_at is not None \
            and activity.finalized_at <= times[MISSING]:
        # Its absences confirmed already (结束 and 确认缺席 before the planned end): a list
        # asking to 确认或补签 would ask for what is done.
        del times[MISSING]
    # 党小组会·第一党小组: the branch group and the secretary hear of each party group's.
    kind = f"{activity.type}·{activity.party_group}" if activity.party_group else activity.type
    title = f"{kind}{'：' + activity.topic if activity.topic else ''}"
    at_night = quiet.contains(start.astimezone(tz).time())
    when = f"{_day(start, tz)} {_clock(start, tz)}–{_clock(end, tz)}"
    on_leave = [e for e in activity.expected if e.state == "leave"]
    undecided = [e for e in activity.expected if e.state == "pending"]
    missing = [e for e in activity.expected if e.state == "missing"]
    # Leave still to be approved is said apart, with what becomes of it: an absence if it is
    # still undecided when absences are confirmed.
    undecided_line = (f"请假待批准 {len(undecided)} 人：{_names(undecided)}"
                      "（回复「批准请假 姓名」或「驳回请假 姓名」；确认缺席时仍未批准的记为缺席）"
                      if undecided else "")
    out: list[Reminder] = []

    def add(kind: str, target_kind: str, platform: str, target: str, text: str) -> None:
        out.append(Reminder(kind, platform, target_kind, target, branch.id, start, times[kind],
                            text, title=title, activity_id=activity.id, at_night=at_night))

    if DAY_BEFORE in times:
        leave_line = (f"已请假 {len(on_leave)} 人：{_names(on_leave)}" if on_leave
                      else "暂无人请假" if not undecided else "")
        lines = [f"【明日活动】{title}", f"时间：{when}", leave_line, undecided_line]
        for sec in branch.secretaries:
            add(DAY_BEFORE, "user", sec.platform, sec.user_id, "\n".join(filter(None, lines)))
    for group in branch.groups:
        if GROUP_BEFORE in times:
            add(GROUP_BEFORE, group.target_kind, group.platform, group.chat_id,
                f"【活动提醒】{title}\n{_clock(start, tz)} 开始（{when}）。"
                "不能参加的同志请提前发送「请假 原因」。")
        if START in times:
            add(START, group.target_kind, group.platform, group.chat_id,
                f"【{kind}】现在开始，请到场的同志发送「签到」。")
    if NUDGE in times:
        for person in missing:
            # Never a public list: one private message to each, and never to someone
            # on leave or who turned nudges off.
            if person.nudges_off:
                continue
            r = person.recipient
            # Not 「请假 原因」: sent once check-in counts late, leave is refused by then
            # (handlers.attendance), and one who followed the advice was told 不能再请假.
            add(NUDGE, "user", r.platform, r.user_id,
                f"{r.name}同志，{title}已开始，你还没有签到。到场请发送「签到」；"
                "不能参加的请向书记说明。（发送「不要提醒我」可关闭此类提醒）")
    if MISSING in times:
        count = len(activity.expected)
        present = count - len(on_leave) - len(undecided) - len(missing)
        lines = [f"【活动结束】{title}（{when}）",
                 f"应到 {count} 人，签到 {present} 人，请假 {len(on_leave)} 人。",
                 f"未签到 {len(missing)} 人：{_names(missing)}。请确认或补签。"
                 if missing else "" if undecided else "全员签到或请假，无缺席。",
                 undecided_line]
        for sec in branch.secretaries:
            add(MISSING, "user", sec.platform, sec.user_id, "\n".join(filter(None, lines)))
    return out


def weekly_pushes(start: datetime, end: datetime, tz: tzinfo, is_workday: Callable[[date], bool],
                  at: time = time(9, 0)) -> list[tuple[datetime, datetime]]:
    """(week key, send time) for the weekly pushes sent in (start, end].

    The key is the week's Monday 09:00; it is sent then, or at 09:00 on the first working
    day after it when that Monday is a holiday (国庆 Monday → the Thursday after). A
    holiday longer than a week (春节 2026: Monday 02-16 to Monday 02-23) sends two weeks'
    on its first working day, each under its own key, rather than one on a day off.
    """
    found = []
    day = start.astimezone(tz).date() - timedelta(days=MAX_MOVE_DAYS)
    while day <= end.astimezone(tz).date():
        if day.weekday() == 0:
            send_day = day
            while not is_workday(send_day) and send_day < day + timedelta(days=MAX_MOVE_DAYS):
                send_day += timedelta(days=1)
            moment = datetime.combine(send_day, at, tzinfo=tz)
            if start < moment <= end:
                found.append((datetime.combine(day, at, tzinfo=tz), moment))
        day += timedelta(days=1)
    return found


def is_paused(branch: BranchView, due: datetime, tz: tzinfo) -> bool:
    return branch.paused_until is not None and due.astimezone(tz).date() <= branch.paused_until


# How long after its time a reminder missed while djbot was down is still worth sending.
# The group's notices and a nudge are about the next minutes: the catch-up grace. What a
# secretary or the leaders read to act on is still of use hours later: the list of the
# missing (to confirm or 补签), the Monday board and summary, the 三会一课 reminder and the
# 先锋党员 shortlist; the day-before message, until the activity starts.
STILL_USEFUL = {MISSING: timedelta(hours=12), LEADERBOARD: timedelta(hours=12),
                SUMMARY: timedelta(hours=12), SUMMARY_PICTURE: timedelta(hours=12),
                MEETINGS_DUE: timedelta(hours=12), PIONEER_SHORTLIST: timedelta(hours=12)}


def useful_until(reminder: Reminder, grace: timedelta) -> datetime:
    """The last moment a reminder that could not go at its time is still sent."""
    if reminder.kind == DAY_BEFORE:
        # 【明日活动】 is true until that day begins (due_at is local: day_before_at).
        midnight = (reminder.due_at + timedelta(days=1)).replace(hour=0, minute=0, second=0,
                                                                  microsecond=0)
        return max(reminder.due_at + grace,
                   min(reminder.due_at + timedelta(hours=12), midnight, reminder.occurrence))
    return reminder.due_at + max(grace, STILL_USEFUL.get(reminder.kind, grace))


def partition_due(reminders: list[Reminder], *, since: datetime, now: datetime,
                  grace: timedelta) -> tuple[list[Reminder], list[Reminder]]:
    """(to send, missed) among the reminders due since the previous tick (or, right after a
    start, over the restart look-back): sent, late and once, while still useful
    (useful_until); missed, and logged, after that. Enqueueing is idempotent, so one already
    in the outbox is harmlessly offered again on the ticks of its catch-up grace."""
    send, missed = [], []
    for reminder in reminders:
        if not (since < reminder.due_at <= now or now - grace <= reminder.due_at <= now):
            continue
        if now <= useful_until(reminder, grace):
            send.append(reminder)
        else:
            missed.append(reminder)
    return send, missed
