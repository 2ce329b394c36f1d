"""改期: one occurrence of a fixed activity held at another day or hour, the schedule left
as it is (下周三的夜学改到周四, 这次夜学推迟到20:00, 改期 夜学 12月10日 19:30).

Said by a secretary, 委员, leader or administrator in the branch group (a leader's 中心组学习
or 第一议题 in the leaders' group or privately, as 设置 takes them). The occurrence is an
activity of its schedule: the one named is written if the scheduler has not yet, then
cancelled with 改期至 … for its reason and kept, so the scheduler does not make it again at
its old time, and the activity held instead is written beside it under the same schedule
(its reminders follow its time). The leave asked for the old one is carried to it
(storage.leave.carry), the groups told of the old time and those who asked leave hear the
new time once (bot.scheduling.called_off.tell). 改期 back to the old time opens the old
activity again (storage.corrections.reopen_moved) and carries the leave back.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlmodel import or_, select

from bot.context import Ctx
from bot.core import Reply
from bot.domain.attendance import ACTIVITY_WORDS, parse_activity_type, plan_times
from bot.domain.text import WEEKDAYS, DateError, cn_number, parse_date, show_date
from bot.registry import LEADERS, MANAGERS, Command, CommandRegistry, rest, usage_text
from bot.scheduling.called_off import Retimed, tell
from bot.scheduling.holidays import default_calendar, held_between
from bot.scheduling.plan import QuietHours
from bot.scheduling.retimed import ask_again
from bot.scheduling.rules import PART_OF_DAY, RuleError, fold, parse_rule, parse_time
from handlers.attendance import calling_off, closed_branch
from handlers.schedule import BUREAU, KIND_WORDS, is_bureau_schedule
from storage import confirmations, corrections, org
from storage import leave as leave_store
from storage.attendance import CANCELLED, MOVED_TO
from storage.models import Activity, ActivityType, Attendance, Schedule
from storage.schedules import (
    branch_schedules,
    bureau_schedules,
    called_off,
    held_at,
    last_day,
    scheduled_at,
)

# The verbs that say a move, between the activity and its new time, or before the new time.
MOVE_VERBS = ("改期到", "改期至", "推迟到", "推后到", "延后到", "延迟到", "顺延到", "提前到",
              "调整到", "调整为", "改到", "改在", "改为", "改成", "改至", "挪到", "调到")
_APART = re.compile(r"[\s,，、;；]+")
_NOW = {"这次": "this", "这一次": "this", "本次": "this", "下次": "next", "下一次": "next"}
_WEEKS = {"这周": 0, "本周": 0, "这个星期": 0, "本星期": 0, "下周": 1, "下个星期": 1,
          "下下周": 2}
_WEEKDAY = re.compile(r"^(?:周|星期|礼拜)([一二三四五六日天七1-7])$")
_WEEKDAY_INDEX = {c: i for i, c in enumerate(WEEKDAYS)} | {"天": 6, "七": 6} | {
    str(i + 1): i for i in range(7)}
_MONTH_DAY = re.compile(r"^(\d{1,2}|[一二三四五六七八九十]{1,3})[日号]$")
_CLOCK = re.compile(rf"({PART_OF_DAY}?\d{{1,2}}(?::\d{{2}}|[点时](?:半|\d{{1,2}}分?)?))$")
# Looked this far ahead for the occurrence named, and back for one already over.
_AHEAD = timedelta(days=62)
_BACK = timedelta(days=7)
_FARTHEST = timedelta(days=366)


@dataclass
class Said:
    kind: ActivityType
    which: str = ""  # the occurrence: a day, 这次, 下次, 本周 …; "" the next one
    which_at: time | None = None  # its hour, when said (12月9日 19:30 改到 …); None any
    day: str = ""  # the new day as said (周四, 16日, 12月10日); "" its own day
    at: time | None = None  # the new hour; None its own hour
    part: str = ""  # a part of the new day said with no hour (明晚: 晚上)
    reason: str = ""


@dataclass
class Slot:
    """One occurrence of a schedule: its activity when the scheduler made it already."""

    schedule: Schedule
    starts_at: datetime
    ends_at: datetime
    activity: Activity | None = None


def reschedule(ctx: Ctx, args: dict[str, Any], *, confirmed: bool = False) -> Reply:
    text = args["text"] or ""
    said = _read(text)
    if said == NO_KIND and ctx.branch is not None:
        found = _held_then_said(ctx, text)
        if isinstance(found, Reply):
            return found
        if found is not None:
            text = found
            said = _read(text)
    if isinstance(said, str):
        return Reply.error(usage_text(RESCHEDULE, f"{said}，什么也没有改"))
    kind = said.kind
    bureau = is_bureau_schedule(ctx, kind)
    if not bureau:
        if ctx.branch is None:
            return Reply.error("请在支部群里发送改期。")
        closed = closed_branch(ctx, ctx.branch.id)
        if closed:
            return Reply.error(closed)
    scope = BUREAU if bureau else ctx.branch.name  # type: ignore[union-attr]
    schedules = [s for s in (bureau_schedules(ctx.session) if bureau else branch_schedules(
        ctx.session, branch_id=ctx.branch.id))  # type: ignore[union-attr, arg-type]
        if s.activity_type == kind.value]
    if not schedules:
        return Reply.error(f"{scope}没有{kind.value}的固定日程，什么也没有改。改期只用于固定日程的活动；"
                           f"临时活动请「取消活动」后按新时间「开始 {kind.value}」。")
    group = ""
    if len(schedules) > 1:
        # Each party group has its own 党小组会: the one meant is the group's, never the
        # branch's next, which may be another group's.
        found = _of_group(ctx, schedules, text)
        if isinstance(found, str):
            return Reply.error(found)
        schedule, group = found
        schedules = [schedule]
        said = _read(re.sub(rf"(?:^|(?<=\s)){re.escape(group)}(?=\s|$)", " ", text, count=1))
        if isinstance(said, str):
            return Reply.error(usage_text(RESCHEDULE, f"{said}，什么也没有改"))
    today = ctx.local_now.date()
    try:
        which_day = _which_day(said.which, today)
        explicit = None if (not said.day or _WEEKDAY.match(said.day)
                            or _MONTH_DAY.match(said.day)) else parse_date(said.day, today)
    except DateError as exc:
        return Reply.error(usage_text(RESCHEDULE, f"{exc}，什么也没有改"))
    far = next((d for d in (which_day, explicit) if d is not None and d > today + _FARTHEST), None)
    if far is not None:
        # A year is as far as anyone plans one occasion; 9999年 overflowed the look-ahead.
        return Reply.error(f"{show_date(far, today=today)}太远了，改期只在一年之内，什么也没有改。")
    until = max(d for d in (today + _AHEAD, which_day, explicit) if d is not None) + _AHEAD
    slots = _slots(ctx, schedules, until)
    slot = _named(ctx, slots, said.which, which_day, said.which_at)
    if isinstance(slot, str):
        return Reply.error(slot + "什么也没有改。")
    what = _label(ctx, kind.value, slot.starts_at)
    if slot.ends_at <= ctx.now:
        return Reply.error(f"{what}已经结束，不能改期，什么也没有改。")
    if slot.starts_at <= ctx.now:
        return Reply.error(f"{what}已经开始，不能改期，什么也没有改。"
                           "要改下一次，请写明日期，例如：改期 夜学 12月16日 改到 12月17日")
    if slot.activity is not None and _checked_in(ctx, slot.activity):
        return Reply.error(f"{what}已有人签到，不能改期，什么也没有改。")
    tz = ctx.settings.tz
    old = slot.starts_at.astimezone(tz)
    try:
        day = _new_day(said.day, old.date(), today)
    except DateError as exc:
        return Reply.error(usage_text(RESCHEDULE, f"{exc}，什么也没有改"))
    if said.at is None and said.part and not _in_part(old.time(), said.part):
        # 明晚 of a 14:30 theme day: its own hour is not the evening said, and no other was.
        return Reply.error(f"写了{said.part}没有写时间，{what}不在{said.part}，请写上新的时间"
                           f"（如 改到{said.day} {said.part}{_PART_EXAMPLE[said.part]}），什么也没有改。")
    starts_at = datetime.combine(day, said.at or old.time(), tzinfo=tz)
    length = slot.ends_at - slot.starts_at
    ends_at = starts_at + length
    new = _label(ctx, kind.value, starts_at)
    if confirmed and "occasion" in args:
        # The words are read again at 「确认」: 下次 said before the occasion began, or
        # 明天 before midnight, names another by then, which would go to the holiday unasked.
        asked = datetime.fromisoformat(args["occasion"])
        asked_to = datetime.fromisoformat(args["to"])
        if (asked, asked_to) != (slot.starts_at, starts_at):
            return Reply.error(
                f"情况已有变化：确认的是{_label(ctx, kind.value, asked)}改到"
                f"{_label(ctx, kind.value, asked_to)}，现在会改的是{what}改到{new}，"
                "什么也没有改。如仍要改期，请重新发送。")
    if starts_at == slot.starts_at:
        return Reply.error(f"{what}本来就是这个时间，什么也没有改。")
    if starts_at <= ctx.now:
        return Reply.error(f"{new}已经过去了，什么也没有改。请写以后的日期和时间。")
    quiet = QuietHours.of(ctx.settings)
    if quiet.contains(starts_at.time()) or quiet.contains((ends_at - timedelta(minutes=1)).time()):
        return Reply.error(f"{new}到 {ends_at.astimezone(tz):%H:%M} 落在夜间免打扰时段"
                           f"（{quiet.start:%H:%M}–{quiet.end:%H:%M}），不安排活动，什么也没有改。")
    end_day = last_day(ctx.session, slot.schedule)
    if end_day is not None and day > end_day:
        return Reply.error(f"{scope}{show_date(end_day, today=today)}结束，{new}已在其后，什么也没有改。")
    clash = next((s for s in slots if s is not slot
                  and s.starts_at < ends_at and s.ends_at > starts_at), None)
    other = _held_then(ctx, slot, kind.value, starts_at, ends_at)
    if clash is not None or other is not None:
        at = clash.starts_at if clash is not None else other.starts_at  # type: ignore[union-attr]
        return Reply.error(f"{new}和{_label(ctx, kind.value, at)}时间重叠，"
                           "同一种活动不能同时举行两次，什么也没有改。")
    assert slot.schedule.id is not None
    there = scheduled_at(ctx.session, schedule_id=slot.schedule.id, starts_at=starts_at)
    if there is not None and there.status == CANCELLED and not (
            there.schedule_withdrawn or (there.cancel_reason or "").startswith(MOVED_TO)):
        return Reply.error(f"{new}已用「取消活动」取消，不能改期到那时，什么也没有改。"
                           "要恢复它请发送「恢复活动」。")
    holiday = default_calendar().holiday_name(day) if day != old.date() else None
    if holiday is not None and not confirmed:
        # Asked, not refused: a branch may hold it then on purpose (a theme day at a memorial
        # on 国庆), but 元旦 on a Friday is easily missed when typing 1月1日. (改期 has roles:
        # the sender is on the roster, as who answers 「确认」 must be.)
        assert ctx.member is not None and ctx.member.id is not None
        confirmations.ask(ctx.session, platform=ctx.message.platform, chat_id=ctx.message.chat_id,
                          member_id=ctx.member.id, kind=MOVE_TO_HOLIDAY, now=ctx.now,
                          payload={"text": text, "occasion": slot.starts_at.isoformat(),
                                   "to": starts_at.isoformat()})
        minutes = int(confirmations.CONFIRM_WITHIN.total_seconds() // 60)
        return Reply(f"{new}是法定节假日（{holiday}），还没有改。确实要在这天举行，"
                     f"请在 {minutes} 分钟内发送「确认」；否则请改到别的日子。")
    return _move(ctx, slot, starts_at, length, said.reason, what=what, new=new, scope=scope,
                 group=group)


NO_KIND = "缺少要改期的活动（如 夜学、主题党日）"
MOVE_TO_HOLIDAY = "activity.reschedule_holiday"  # 「确认」 of a move onto a statutory holiday


def _held_then_said(ctx: Ctx, text: str) -> str | Reply | None:
    """改期 12月2日 19:30 改到 12月3日, no activity said: the words with the activity (and
    party group) of the one fixed schedule of the branch held that day (at that hour); asked
    which when several are. None when no day of an occasion is said (改期 明天 names none)."""
    assert ctx.branch is not None
    if not _opens_with_when(text):
        return None  # 改期 学习会 12月2日 …: an activity djbot does not know, not the day's
    today = ctx.local_now.date()
    held: list[tuple[str, str, Slot]] = []  # (the words, the label, the occasion)
    shown = hour = ""
    schedules = branch_schedules(ctx.session, branch_id=ctx.branch.id)
    if not schedules:
        return None
    for schedule in schedules:
        kind = schedule.activity_type
        said = _read(f"{kind} {text}")
        if isinstance(said, str):
            return None
        try:
            day = _which_day(said.which, today)
        except DateError:
            return None
        if day is None or day > today + _FARTHEST:
            return None
        shown = show_date(day, today=today)
        hour = f" {said.which_at:%H:%M}" if said.which_at else ""
        group = (org.party_group(ctx.session, group_id=schedule.party_group_id)
                 if schedule.party_group_id is not None else None)
        named = f"{kind} {group.name}" if group is not None else kind
        for slot in _slots(ctx, [schedule], day + timedelta(days=1)):
            if isinstance(_named(ctx, [slot], said.which, day, said.which_at), Slot):
                held.append((f"{named} {text}", _label(ctx, named, slot.starts_at), slot))
    if len({words for words, _, _ in held}) == 1:
        return held[0][0]
    if not held:
        return Reply.error(usage_text(RESCHEDULE, f"{shown}{hour}没有固定日程的活动，"
                                                  "请写明要改期的活动，什么也没有改"))
    held.sort(key=lambda h: h[2].starts_at)
    return Reply.error(f"{shown}{hour}有 {len(held)} 个活动：{'、'.join(h[1] for h in held)}，"
                       f"请写明改哪一个，什么也没有改。例如：改期 {held[0][0]}")


def _opens_with_when(text: str) -> bool:
    """Whether the words begin with a day or an hour (12月2日, 今晚, 19:30), as they do when
    the occasion is named by its time alone: a word before it names an activity."""
    words = _APART.split(_EVENING.sub(r"\1天 晚上", fold(text)).strip())
    first = words[0].removeprefix("从").removesuffix("的") if words else ""
    clock = _CLOCK.search(first)
    head = first[:clock.start()] if clock else first
    return first in _PARTS or (clock is not None and not head) or (bool(head) and _is_day(head))


def _of_group(ctx: Ctx, schedules: list[Schedule], text: str) -> tuple[Schedule, str] | str:
    """The schedule of the party group named among the words, and its name; else what to
    say (each of the kind's schedules is a party group's: 设置 党小组会 第一党小组 …)."""
    named = {s.party_group_id: org.party_group(ctx.session, group_id=s.party_group_id)
             for s in schedules if s.party_group_id is not None}
    names = {group_id: group.name for group_id, group in named.items() if group is not None}
    words = set(_APART.split(text))
    said = [s for s in schedules if names.get(s.party_group_id) in words]
    if len(said) == 1:
        return said[0], names[said[0].party_group_id]
    kind = schedules[0].activity_type
    listed = "、".join(sorted(names.values()))
    return (f"{kind}有 {len(schedules)} 个固定日程（{listed}），请写明是哪个党小组，什么也没有改。\n"
            f"例如：改期 {kind} {min(names.values(), default='第一党小组')} 12月10日 19:30")


def _move(ctx: Ctx, slot: Slot, starts_at: datetime, length: timedelta, reason: str, *,
          what: str, new: str, scope: str, group: str = "") -> Reply:
    session, tz, now = ctx.session, ctx.settings.tz, ctx.now
    schedule = slot.schedule
    kind = ActivityType(schedule.activity_type)
    opens = ctx.settings.checkin_opens_minutes_before
    taken = slot.activity or _made(ctx, schedule, plan_times(
        kind, slot.starts_at, opens_minutes_before=opens, duration=length))
    reason = reason or "未说明原因"
    when = f"{show_date(starts_at.date())} {starts_at:%H:%M}"
    # Withheld first, as a schedule change does: a reminder of the old time still queued
    # would call the members at the hour nobody meets.
    corrections.withhold_unsent(session, activity=taken)
    corrections.cancel_activity(session, activity=taken, by=ctx.member,
                                reason=f"{MOVED_TO} {when}：{reason}", now=now)
    times = plan_times(kind, starts_at, opens_minutes_before=opens, duration=length)
    to, made = held_at(session, schedule=schedule, times=times, now=now)
    assert to is not None
    back = False
    if not made:  # its own time again (改期 back), or one a schedule change took away
        back = corrections.reopen_moved(session, activity=to, now=now, tz=tz)
        if not back:
            corrections.reopen(session, activity=to, keep_rows=False, now=now, tz=tz)
    else:
        to.topic, to.lecturer = taken.topic, taken.lecturer
        to.audience_branch_ids = taken.audience_branch_ids
        session.add(to)
    off = calling_off(ctx)
    carried = leave_store.carry(session, taken=taken, to=to, now=now, not_for=(
        leave_store.of_its_day(session, taken=taken, to=to, tz=tz)))
    leave_store.excuse(session, activity=to, tz=tz)
    ask_again(off, taken, to, carried)
    standing = sum(1 for c in carried if c.standing)
    groups, asked = tell(off, taken, reason, Retimed(to, standing))
    ctx.audit("activity.reschedule", target=scope, detail={
        "kind": kind.value, "from": slot.starts_at.isoformat(), "to": starts_at.isoformat(),
        "reason": reason, "from_activity_id": taken.id, "to_activity_id": to.id,
        "back": back, "leave_carried": standing, "groups_told": groups, "members_told": asked})
    word = "夜学" if kind == ActivityType.NIGHT_STUDY else kind.value
    if group:
        word = f"{word} {group}"
    old = slot.starts_at.astimezone(tz)
    lines = [f"已{'改回' if back else '改期'}：{what} → {new}。只改这一次，"
             f"固定日程（{schedule.rule}）不变，提醒按新时间发送。"]
    if standing:
        lines.append(f"{standing} 人的请假随之改到新时间。")
    if groups:
        lines.append(f"已在收到过活动通知的 {groups} 个群里说明改时间。")
    if asked:
        lines.append(f"已私信告知请过假的 {asked} 人。")
    # Moved back, the time it was at is the one 改期 moved it to: no 原时间 to go back to.
    undo = "要撤回这次改回，" if back else "改回原时间"
    # With the year when not this one's: 6月10日 said in November is this June's, gone.
    today = ctx.local_now.date()
    lines.append(f"{undo}请发送「改期 {word} {show_date(starts_at.date(), today=today)} 改到 "
                 f"{show_date(old.date(), today=today)} {old:%H:%M}」。")
    return Reply("\n".join(lines))


def _made(ctx: Ctx, schedule: Schedule, times) -> Activity:
    """The occurrence the scheduler has not made yet (more than three days ahead), made now
    so that it stays on record, cancelled, at its time: else the scheduler would make it."""
    made, written = held_at(ctx.session, schedule=schedule, times=times, now=ctx.now)
    assert made is not None
    if not written:  # one a schedule change took away, held again by its rule
        corrections.reopen(ctx.session, activity=made, keep_rows=True, now=ctx.now,
                           tz=ctx.settings.tz)
    # Leave asked for its day (请假 主题党日 出差, 请假 12月4日至18日) is written on it, then
    # carried with the rest.
    leave_store.excuse(ctx.session, activity=made, tz=ctx.settings.tz)
    return made


def _read(text: str) -> Said | str:
    """改期's words: [which] <activity> [which] [改到] [day] [time] [reason]."""
    # 今晚, 明晚: a day and its evening (明晚8点 is tomorrow's 20:00), as parse_date has no 明晚.
    text = _EVENING.sub(r"\1天 晚上", fold(text))
    # 从12月9日 改到 12月10日: the 从 says which, as the order does.
    words = [w.removeprefix("从") for w in _APART.split(text.strip()) if w.removeprefix("从")]
    for at, word in enumerate(words):
        found = _kind_in(word)
        if found is None:
            continue
        kind, before = found
        which = [*words[:at], *([before] if before else [])]
        after = words[at + 1:]
        break
    else:
        return NO_KIND
    if after and after[0] in MOVE_VERBS:
        after = after[1:]
    elif after and (verb := next((v for v in MOVE_VERBS if after[0].startswith(v)), None)):
        after[0] = after[0][len(verb):]
    said = Said(kind, which=_which("".join(w.removesuffix("的") for w in which
                                           if w not in _PARTS)))
    if clock := _CLOCK.search(said.which):
        # 12月9日19:30的夜学: the hour says which of the day's, as after the activity.
        said.which = said.which[:clock.start()].removesuffix("的")
        try:
            said.which_at = parse_time(clock.group())
        except RuleError as exc:
            return str(exc)
    named = _named_before_verb(after)
    if named is not None:
        # 改期 夜学 12月9日 19:30 改到 12月10日: what comes before the verb is which one.
        cut, day, at = named
        if day and said.which:
            return f"要改的是{said.which}的{kind.value}，又写了{day}，请只写一个"
        if at is not None and said.which_at is not None:
            return f"要改的那次写了两个时间（{said.which_at:%H:%M} 和 {at:%H:%M}），请只写一个"
        said.which = day or said.which
        said.which_at = at if at is not None else said.which_at
        after = after[cut:]
        if after and (verb := next((v for v in (*MOVE_VERBS, "到", "至")
                                    if after[0].startswith(v) and after[0] != v), None)):
            after[0] = after[0][len(verb):]
    days: list[str] = []
    reason: list[str] = []
    pending_part = ""
    for word in after:
        if word in MOVE_VERBS or word in ("到", "至"):
            continue
        if word in _PARTS:
            pending_part = word
            continue
        part, word, pending_part = pending_part, pending_part + word, ""
        clock = _CLOCK.search(word)
        head = word[:clock.start()] if clock else word
        head = head.removesuffix("的")
        if clock and (not head or _is_day(head)):
            if said.at is not None:
                return f"写了两个时间（{said.at:%H:%M} 和 {clock.group()}），请只写新的时间"
            try:
                said.at = _hour(kind, clock.group())
            except RuleError as exc:
                return str(exc)
            if head:
                days.append(head)
        elif _is_day(word):
            days.append(word)
        else:
            # 改到明晚 开庭: the evening is the new day's, the rest the reason.
            said.part = said.part or part
            reason.append(word.removeprefix(part))
    if len(days) > 2:
        return f"日期写了 {len(days)} 个，请只写要改的那次和新的日期"
    if len(days) == 2:
        if named is not None:
            return f"新的日期写了 {len(days)} 个，请只写一个"
        if said.which:
            return f"要改的是{said.which}的{kind.value}，新的日期只写一个"
        said.which = days.pop(0)
    said.day = days[0] if days else ""
    said.part = pending_part or said.part
    if not said.day and said.at is None:
        return "缺少新的日期或时间"
    said.reason = " ".join(reason)
    return said


_PARTS = frozenset({"上午", "下午", "晚上", "早上", "中午", "晚"})
# The hours each part of the day takes in (from, before), and one to give as an example.
_PART_HOURS = {"早上": (5, 12), "上午": (5, 12), "中午": (11, 14), "下午": (12, 18),
               "晚上": (17, 24), "晚": (17, 24)}
_PART_EXAMPLE = {"早上": "8:30", "上午": "9:00", "中午": "12:00", "下午": "14:30",
                 "晚上": "19:30", "晚": "19:30"}


def _in_part(at: time, part: str) -> bool:
    start, end = _PART_HOURS[part]
    return start <= at.hour < end
# 今晚 or 明晚 as a word of its own or after a verb (改到明晚), never inside one (说明晚到).
_EVENING = re.compile(r"(?:(?<!\S)|(?<=[到至在为成从]))([今明])晚上?")


def _named_before_verb(words: list[str]) -> tuple[int, str, time | None] | None:
    """Where the move's verb stands after a day and (or) an hour only, with them: (the
    verb's place, the day, the hour); None when no verb follows such words."""
    day, at, part = "", None, ""
    for place, word in enumerate(words):
        if place and (word in MOVE_VERBS or word in ("到", "至")
                      or any(word.startswith(v) for v in MOVE_VERBS)):
            return place, day, at
        if word in _PARTS:
            part = word
            continue
        word, part = part + word, ""
        clock = _CLOCK.search(word)
        head = (word[:clock.start()] if clock else word).removesuffix("的")
        if clock and at is None and (not head or (_is_day(head) and not day)):
            try:
                at = parse_time(clock.group())
            except RuleError:
                return None
            day = head or day
        elif not clock and not day and _is_day(word):
            day = word
        else:
            return None
    return None


def _which(said: str) -> str:
    """The occurrence as said, less the part of its day (今晚 is today's, 周三晚上 Wednesday's)."""
    said = said.replace("今晚", "今天").replace("明晚", "明天").removesuffix("的")
    return re.sub(rf"{PART_OF_DAY}$", "", said)


def _kind_in(word: str) -> tuple[ActivityType, str] | None:
    """The activity a word names at its end (下周三的夜学, 夜学), and what comes before it."""
    for cut in range(len(word)):
        tail = word[cut:].removesuffix("的")
        if tail in ACTIVITY_WORDS or tail in KIND_WORDS:
            kind = KIND_WORDS.get(tail) or parse_activity_type(tail)
            if kind is not None:
                return kind, word[:cut].removesuffix("的")
    return None


def _is_day(word: str) -> bool:
    if word in _NOW or word in _WEEKS:
        return False
    try:
        parse_date(word, date(2026, 1, 1))
    except DateError:
        return False
    return True


def _hour(kind: ActivityType, said: str) -> time:
    """The new hour; one a night study or a meeting is hardly held at, asked about as 设置
    asks (夜学推迟到8点 is 20:00 typed short, and at 8:00 everyone would be counted absent)."""
    at = parse_time(said)
    if re.search(PART_OF_DAY, said):
        return at
    short = f"{at.hour}:{at.minute:02d}"
    if kind == ActivityType.NIGHT_STUDY and 1 <= at.hour <= 9:
        raise RuleError(f"是晚上{short}吗？请写 {at.hour + 12}:{at.minute:02d} 或 晚上{short}")
    if 1 <= at.hour <= 6:
        part = "晚上" if at.hour == 6 else "下午"
        raise RuleError(f"是{part}{short}吗？请写 {at.hour + 12}:{at.minute:02d} 或 {part}{short}")
    return at


def _which_day(which: str, today: date) -> date | None:
    if not which or which in _NOW or which in _WEEKS:
        return None
    return parse_date(which, today)


def _new_day(said: str, old: date, today: date) -> date:
    """The new day: 周四 in the week of the one moved (下周三的夜学改到周四), 16日 in its
    month (主题党日改到16日), any other as parse_date reads it; none, its own day."""
    if not said:
        return old
    if weekday := _WEEKDAY.match(said):
        return old + timedelta(days=_WEEKDAY_INDEX[weekday[1]] - old.weekday())
    if number := _MONTH_DAY.match(said):
        try:
            return old.replace(day=cn_number(number[1]) or 0)
        except ValueError:
            raise DateError(f"{old.month}月没有{said}") from None
    return parse_date(said, today)


def _slots(ctx: Ctx, schedules: list[Schedule], until: date) -> list[Slot]:
    """The schedules' occurrences from a week ago to `until`, earliest first: their
    activities not cancelled (one moved here by 改期 among them), and what their rules hold
    that has no activity yet, but those 取消活动 or 改期 took away and the days paused."""
    tz = ctx.settings.tz
    since = ctx.now - _BACK
    found: dict[tuple[int, datetime], Slot] = {}
    for schedule in schedules:
        assert schedule.id is not None
        for activity in ctx.session.exec(select(Activity).where(
                Activity.schedule_id == schedule.id, Activity.status != CANCELLED,
                Activity.ends_at > since)):
            found[(schedule.id, activity.starts_at)] = Slot(
                schedule, activity.starts_at, activity.ends_at, activity)
        try:
            rule = parse_rule(schedule.rule)
        except RuleError:
            continue
        off = called_off(ctx.session, schedule=schedule, after=since)
        end = last_day(ctx.session, schedule)
        start = datetime.combine(since.astimezone(tz).date(), time(), tzinfo=tz)
        for held in held_between(rule, schedule.holiday_policy, default_calendar(), start,
                                 datetime.combine(until, time(), tzinfo=tz), tz):
            at = held.starts_at
            if at is None or at in off or (schedule.id, at) in found:
                continue
            day = at.astimezone(tz).date()
            if schedule.paused_until is not None and day <= schedule.paused_until:
                continue
            if end is not None and day > end:
                continue
            found[(schedule.id, at)] = Slot(
                schedule, at, at + timedelta(minutes=schedule.duration_minutes))
    return sorted(found.values(), key=lambda s: s.starts_at)


def _named(ctx: Ctx, slots: list[Slot], which: str, day: date | None,
           at: time | None = None) -> Slot | str:
    """The occurrence said: that day's, that week's, this one (not over), the next one (not
    begun); nothing said, the one not over yet. An hour said picks among them (7点半 is
    19:30 too: the hour names one held, not a new one)."""
    tz = ctx.settings.tz
    kind = slots[0].schedule.activity_type if slots else "活动"

    def local(slot: Slot) -> datetime:
        return slot.starts_at.astimezone(tz)

    def held_at_hour(slot: Slot) -> bool:
        hour = local(slot).time().replace(tzinfo=None)
        return at is None or hour == at or (1 <= at.hour < 12 and hour == at.replace(
            hour=at.hour + 12))
    if at is not None:
        hour = f" {at:%H:%M}"
        if day is not None:
            shown = show_date(day, today=ctx.local_now.date())
            that_day = [s for s in slots if local(s).date() == day]
            if that_day and not any(held_at_hour(s) for s in that_day):
                return (f"{shown}{hour}没有{kind}（那天的在 "
                        f"{'、'.join(f'{local(s):%H:%M}' for s in that_day)}），")
        slots = [s for s in slots if held_at_hour(s)]
        if not slots:
            return f"接下来没有{hour.strip()}的{kind}，"
    if day is not None:
        shown = show_date(day, today=ctx.local_now.date())
        on = [s for s in slots if local(s).date() == day]
        if not on:
            return f"{shown}没有{kind}，"
        if len(on) > 1:
            # Two that day (one moved beside the day's own): only the hour says which.
            return (f"{shown}有 {len(on)} 次{kind}（{'、'.join(f'{local(s):%H:%M}' for s in on)}），"
                    f"请写上要改的那次的时间（如 {shown} {local(on[-1]):%H:%M} 改到 …），")
        return on[0]
    if which in _WEEKS:
        today = ctx.local_now.date()
        monday = today - timedelta(days=today.weekday()) + timedelta(weeks=_WEEKS[which])
        week = [s for s in slots
                if monday <= s.starts_at.astimezone(tz).date() < monday + timedelta(days=7)]
        if not week:
            return f"{which}没有{kind}，"
        return next((s for s in week if s.ends_at > ctx.now), week[-1])
    if _NOW.get(which) == "next":
        ahead = [s for s in slots if s.starts_at > ctx.now]
    else:
        ahead = [s for s in slots if s.ends_at > ctx.now]
    if not ahead:
        return f"接下来没有{kind}，"
    return ahead[0]


def _held_then(ctx: Ctx, slot: Slot, kind: str, starts_at: datetime,
               ends_at: datetime) -> Activity | None:
    """An activity of the kind in the same scope held over the new time that no schedule
    made (开始 by hand), the one moved aside; of a party group's, one its members are
    expected at (the group's own or the whole branch's), not another group's."""
    schedule = slot.schedule
    scope = (Activity.branch_id == schedule.branch_id if schedule.branch_id is not None
             else Activity.branch_id.is_(None))  # type: ignore[union-attr]
    query = select(Activity).where(
        scope, Activity.type == kind, Activity.status != CANCELLED,
        Activity.id != (slot.activity.id if slot.activity else None),
        Activity.starts_at < ends_at, Activity.ends_at > starts_at)
    if schedule.party_group_id is not None:
        query = query.where(or_(Activity.party_group_id.is_(None),  # type: ignore[union-attr]
                                Activity.party_group_id == schedule.party_group_id))
    return ctx.session.exec(query).first()


def _checked_in(ctx: Ctx, activity: Activity) -> bool:
    return ctx.session.exec(select(Attendance.id).where(
        Attendance.activity_id == activity.id,
        Attendance.checked_in_at.is_not(None))).first() is not None  # type: ignore[union-attr]


def _label(ctx: Ctx, kind: str, at: datetime) -> str:
    local = at.astimezone(ctx.settings.tz)
    return (f"{kind}（{show_date(local.date(), today=ctx.local_now.date())} "
            f"周{WEEKDAYS[local.weekday()]} {local:%H:%M}）")


RESCHEDULE = Command(
    name="改期", summary="某一次固定活动改到别的日子或时间（固定日程不变）", handler=reschedule,
    aliases=("活动改期",),
    args=(rest("text", "哪次活动改到何时", hint="活动类型、新的日期和（或）时间"),),
    roles=MANAGERS | LEADERS, example="改期 夜学 12月10日 19:30", capability="schedule",
    acts=True, infix=MOVE_VERBS, said_first=ACTIVITY_WORDS | frozenset(KIND_WORDS),
)


def register(registry: CommandRegistry) -> None:
    registry.add(RESCHEDULE)
