"""设置 / 日程 / 暂停提醒 / 恢复提醒 / 不要提醒我 / 恢复提醒我: schedules and reminders in chat.

`设置` dispatches on its first word: this module owns the activity kinds (设置 主题党日
每月15日 14:30 2小时); other capabilities add their own words to the registry's settings
(e.g. handlers/push.py: 设置 推送 <支部> <key>).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from bot.context import Ctx
from bot.core import Reply
from bot.domain.attendance import (
    AUDIENCE_LABELS,
    BUREAU_COMMITTEE,
    BUREAU_SCOPE,
    COMMITTEE_TYPES,
    DEFAULT_DURATION,
    DURATIONS,
    parse_activity_type,
)
from bot.domain.text import clean, is_particle, show_date
from bot.registry import LEADERS, MANAGERS, Command, CommandRegistry, day, rest, usage_text
from bot.registry import branch as branch_arg
from bot.scheduling.called_off import tell_cancelled
from bot.scheduling.holidays import (
    DEFAULT_POLICY,
    MOVE,
    SKIP,
    Occurrence,
    default_calendar,
    holds,
    held_on,
    next_held,
    rule_holds,
)
from bot.scheduling.retimed import carry_leave, moved_to
from bot.scheduling.rules import (
    PART_OF_DAY,
    WEEKDAY_NAMES,
    Recurrence,
    RuleError,
    fold,
    parse_duration,
    parse_rule,
    parse_time,
)
from handlers.attendance import calling_off, closed_branch
from sqlmodel import select

from bot.scheduling.plan import QuietHours, ReminderPlan
from storage import confirmations, org
from storage import outbox as outbox_store
from storage.models import (
    ROLE_LABELS,
    ActivityType,
    BranchReminderSettings,
    LeavePeriod,
    LeaveState,
    Member,
    Role,
    Schedule,
)
from storage.corrections import LONGEST_PAUSE
from storage.org import branch_by_name
from storage.org import branches as org_branches
from storage.schedules import (
    branch_schedules,
    bureau_schedules,
    called_off,
    expects,
    last_day,
    moved_ahead,
    save_schedule,
)

# The words a secretary uses for an activity kind; 夜学 is what everyone calls 政治夜学.
KIND_WORDS: dict[str, ActivityType] = {t.value: t for t in ActivityType} | {
    "夜学": ActivityType.NIGHT_STUDY}
POLICY_WORDS = {"顺延": MOVE, "跳过": SKIP, "取消": SKIP}
# The holiday rule as said, or as djbot's reply says it (遇节假日顺延到下一个工作日): those
# not in POLICY_WORDS (不举行, 不顺延) are SKIP.
_POLICY = re.compile(r"(?:遇到?)?(?:法定)?(?:节假日|假日|节日|假期)?(?:则|就)?"
                     r"(顺延|跳过|取消|不举行|不顺延)(?:到下一个工作日|到工作日)?")
BUREAU = BUREAU_SCOPE  # how a bureau schedule's scope is named in replies
POLICY_LABELS = {MOVE: "遇节假日顺延到下一个工作日", SKIP: "遇节假日不举行"}


def _set(ctx: Ctx, args: dict[str, Any]) -> Reply:
    # 设置 主题党日，每月15日，14:30: the comma of voice input parts the words as a space.
    head, _, tail = _SETTING_SPLIT.sub(" ", args["text"] or "", count=1).partition(" ")
    setting = ctx.registry.settings.get(head)
    if setting is not None:
        if ctx.role not in setting.roles:
            allowed = "、".join(ROLE_LABELS[r] for r in Role if r in setting.roles)
            return Reply.error(f"「设置 {head}」仅限{allowed}使用。")
        return setting.handler(ctx, tail.strip())
    # 中心组学习, 中心组, 大讲堂…: the aliases 开始 accepts name the same kinds here.
    kind = KIND_WORDS.get(head) or (parse_activity_type(head) if head else None)
    if kind is not None:
        if is_bureau_schedule(ctx, kind):
            return set_schedule(ctx, kind, tail.strip())
        if ctx.role not in MANAGERS:
            return Reply.error("设置活动日程仅限书记、委员、管理员使用。")
        return set_schedule(ctx, kind, tail.strip())
    known = "、".join(["主题党日", "夜学", *ctx.registry.settings])
    return Reply.error(usage_text(SET, f"不知道要设置「{head}」，可以设置：{known}"))


_SETTING_SPLIT = re.compile(r"[\s,，、;；:：]+")
# A comma between the words of a rule (每月15日，14:30，2小时，顺延) parts them as a space does;
# one before a weekday lists the weekdays (每周二，四 19:30; 每周二,周四).
_COMMA_APART = re.compile(r"\s*[，,;；]\s*(?!(?:周|星期)?(?:[一二三四五六日天七](?![个点时小])"
                          r"|[1-7](?![\d:：.点时小个hH])))")
# A time from and to at the end of a rule (19:30-21:00, 19:30至21:00, 晚上7点到9点).
_SPAN = re.compile(rf"({PART_OF_DAY}?\s*\d{{1,2}}\s*(?:[:：]\s*\d{{2}}|[点时]\s*(?:半|\d{{1,2}}分?)?))"
                   rf"\s*(?:-|—|–|~|～|至|到)\s*"
                   rf"({PART_OF_DAY}?\s*\d{{1,2}}\s*(?:[:：]\s*\d{{2}}|[点时]\s*(?:半|\d{{1,2}}分?)?))$")


_DOTTED_SPAN = re.compile(r"(?<![\d.])\d{1,2}[.:：][0-5]\d\s*(?:-|—|–|~|～|至|到)\s*"
                          rf"{PART_OF_DAY}?\s*\d{{1,2}}(?:[.:：][0-5]\d)?(?![\d.])")


def _is_length(word: str) -> bool:
    # A word with 点, 时 or : is a time of day (19点30分), never a duration.
    return bool(re.search(r"(小时|钟头|分钟|分|h|min)$", word)) and \
        not re.search(r"[点:：]|\d时", word)


@dataclass(frozen=True)
class Spec:
    rule: Recurrence
    minutes: int
    policy: str


def parse_spec(kind: ActivityType, text: str) -> Spec:
    """「每月15日 14:30 2小时 [顺延|跳过]」→ rule, duration and holiday policy (RuleError if not)."""
    words = _COMMA_APART.sub(" ", text).split()
    if words and is_particle(words[-1]):
        words.pop()  # 设置 夜学 每周三 19:30 吧
    policy = DEFAULT_POLICY.get(kind.value, SKIP)
    if words and (said := _POLICY.fullmatch(words[-1])):
        words.pop()
        policy = POLICY_WORDS.get(said.group(1), SKIP)
    duration = DURATIONS.get(kind, DEFAULT_DURATION)
    minutes = int(duration.total_seconds() // 60)
    # 19.30-21.00: a phone's dots in a span, read as the colons they stand for.
    # 晚上七点到九点: in words, as parse_rule reads a time.
    spoken = fold(_DOTTED_SPAN.sub(lambda m: m.group().replace(".", ":"), " ".join(words)))
    # 19:30-21:00 2小时: the length said again after the span.
    said_length = None
    head, _, last = spoken.rpartition(" ")
    if head and _SPAN.search(head) and _is_length(last):
        said_length, spoken = last, head
    if _SPAN.search(spoken):
        words = spoken.split()
    span = _SPAN.search(" ".join(words))
    if span is not None:
        # 每周三 19:30-21:00: from, to. Read as one time, it was refused as no weekday.
        start, end = parse_time(span.group(1)), parse_time(span.group(2))
        if end.hour < 12 <= start.hour and not re.search(PART_OF_DAY, span.group(2)):
            end = end.replace(hour=end.hour + 12)  # 19:30-9:00 is until 21:00
        minutes = (end.hour - start.hour) * 60 + end.minute - start.minute
        if minutes <= 0:
            raise RuleError(f"「{span.group().strip()}」的结束时间不晚于开始时间，什么也没有保存")
        if minutes < 10:  # as parse_duration refuses 5分钟
            raise RuleError(f"「{span.group().strip()}」只有{minutes}分钟，时长应在10分钟到24小时之间，"
                            "什么也没有保存")
        if said_length is not None and parse_duration(said_length) != minutes:
            raise RuleError(f"「{span.group().strip()}」是{_minutes(minutes)}，和「{said_length}」"
                            "不一致，请只写一个，什么也没有保存")
        words = " ".join(words)[:span.start()].split() + [span.group(1)]
    # 19点 30分 is one time, typed apart: its 30分 is the minutes, not a duration.
    if len(words) > 1 and re.fullmatch(r"\d{1,2}分", words[-1]) and \
            re.search(r"\d[点时]$", words[-2]):
        words[-2:] = [words[-2] + words[-1]]
    if span is None and len(words) > 1 and _is_length(words[-1]):
        minutes = parse_duration(words.pop())
    rule = parse_rule(" ".join(words))
    if kind == ActivityType.NIGHT_STUDY and 1 <= rule.at.hour <= 9 and \
            not re.search(PART_OF_DAY, text):
        # A night study at 7:30 (or 8:00, 9:30) is almost surely 19:30 typed short; saved as
        # 07:30 its members would be reminded in the morning and counted absent all evening.
        at = f"{rule.at.hour}:{rule.at.minute:02d}"
        raise RuleError(f"是晚上{at}吗？请写 {rule.at.hour + 12}:{rule.at.minute:02d} "
                        f"或 晚上{at}，什么也没有保存")
    if 1 <= rule.at.hour <= 6 and not re.search(PART_OF_DAY, text):
        # No branch meets at 2:30 in the night: 设置 主题党日 每月15日 2:30 is 14:30 typed
        # short, and saved as 02:30 the members were reminded and counted absent at night.
        at = f"{rule.at.hour}:{rule.at.minute:02d}"
        part = "晚上" if rule.at.hour == 6 else "下午"
        raise RuleError(f"是{part}{at}吗？请写 {rule.at.hour + 12}:{rule.at.minute:02d} "
                        f"或 {part}{at}，什么也没有保存")
    return Spec(rule, minutes, policy)


def is_bureau_schedule(ctx: Ctx, kind: ActivityType) -> bool:
    """中心组学习 and 第一议题 set by a leader in the leaders' group or privately are the
    bureau's own: no branch, and they expect the bureau's party committee."""
    return (kind in COMMITTEE_TYPES and ctx.role in LEADERS
            and (ctx.binding is None or ctx.binding.is_leaders))


# Longer than half a day is almost surely a slip (9:00-18:00 for 9:00-10:00, 9小时 for 2):
# saved, members could check in all day and the list of the missing came at night.
LONGEST_USUAL = 4 * 60
SET_LONG = "schedule.set_long"  # 「确认」 of a length past LONGEST_USUAL


def set_schedule(ctx: Ctx, kind: ActivityType, text: str, *, confirmed: bool = False) -> Reply:
    bureau = is_bureau_schedule(ctx, kind)
    if ctx.branch is None and not bureau:
        return Reply.error("请在支部群里设置，或私聊时你需属于某个支部。")
    # Here, not in the command: the 「确认」 of a long schedule comes back through this
    # function only, and a branch closed between the question and the answer was set up
    # with a schedule that planned and reminded as any other.
    if not bureau and (closed := closed_branch(ctx, ctx.branch.id)):  # type: ignore[union-attr]
        return Reply.error(closed)
    if not text.strip():
        return Reply.error(f"缺少{kind.value}的日期和时间。\n"
                           f"例如：设置 {kind.value} 每月15日 14:30 2小时")
    if text.strip() in ("取消", "删除", "停止", "停用"):
        return Reply.error(f"删除固定日程请发送「删除日程 {kind.value}」；"
                           "只取消某一次活动请在活动当天发送「取消活动 原因」。")
    said = text  # as typed, the party group's name too: 「确认」 sets it again from these words
    group = None
    branch_id = None if bureau else ctx.branch.id  # type: ignore[union-attr]
    scope = BUREAU if bureau else ctx.branch.name  # type: ignore[union-attr]
    if kind == ActivityType.GROUP_MEETING:
        # A 党小组会 is one party group's: each group has its own schedule.
        first, _, text = text.strip().partition(" ")
        group = org.party_group_by_name(ctx.session, branch_id=ctx.branch.id, name=first)
        if group is None:
            return Reply.error("党小组会要写明是哪个党小组，每个党小组各设一个日程。\n"
                               "例如：设置 党小组会 第一党小组 每月第一个周三 19:30")
    try:
        spec = parse_spec(kind, text.strip())
    except RuleError as exc:
        return Reply.error(usage_text(SET, str(exc)))
    if spec.minutes > LONGEST_USUAL and not confirmed and ctx.member is not None:
        assert ctx.member.id is not None
        confirmations.ask(ctx.session, platform=ctx.message.platform, chat_id=ctx.message.chat_id,
                          member_id=ctx.member.id, kind=SET_LONG, now=ctx.now,
                          payload={"kind": kind.value, "text": said})
        end = (datetime.combine(date.min, spec.rule.at) + timedelta(minutes=spec.minutes)).time()
        return Reply(f"{kind.value}一次{_minutes(spec.minutes)}（{spec.rule.at:%H:%M} 至 {end:%H:%M}）？"
                     "还没有保存。写错了请重新设置；确实这么长，请在 5 分钟内发送「确认」。")
    policy = spec.policy
    current = (bureau_schedules(ctx.session) if bureau
               else branch_schedules(ctx.session, branch_id=branch_id))  # type: ignore[arg-type]
    old = next((s for s in current
                if s.activity_type == kind.value
                and s.party_group_id == (group.id if group else None)), None)
    before = (f"{old.rule}，{_minutes(old.duration_minutes)}，{POLICY_LABELS.get(old.holiday_policy, '')}"
              if old is not None else None)
    schedule, replaced = save_schedule(
        ctx.session, branch_id=branch_id, kind=kind.value, rule=spec.rule.describe(),
        duration_minutes=spec.minutes, policy=policy, now=ctx.now, by=ctx.member,
        party_group_id=group.id if group else None,
        holds=holds(spec.rule, policy, default_calendar(), ctx.settings.tz),
        held=rule_holds(ctx.settings.tz))
    ctx.audit("schedule.set", target=scope,
              detail={"kind": kind.value, "rule": schedule.rule, "party_group": group.name if group else None,
                      "minutes": schedule.duration_minutes, "policy": policy})
    what = f"{kind.value}·{group.name}" if group else kind.value
    verb = "已改为" if before is not None else "已设置"
    lines = [f"{verb} {scope} {what}：{schedule.rule}，"
             f"{_minutes(schedule.duration_minutes)}，{POLICY_LABELS[policy]}。"]
    if before is not None:
        lines.append(f"原来的日程（已替换）：{before}。")
    if spec.rule.kind == "monthly_day" and (last := spec.rule.day or 0) >= 29:
        # Such a month has no occurrence (docs/schedules.md), and 三会一课 counts a month
        # without its 主题党日: said now, not first heard in a late reminder.
        lacking = {29: "平年的2月", 30: "2月"}.get(last, "2、4、6、9、11月")
        lines.append(f"注意：没有{last}日的月份不举行（{lacking}）。每月都要举行的，"
                     "可写「每月最后一个周五」或28日以前的日子。")
    off = calling_off(ctx)
    # Still held that day at another hour: the leave asked for it stands at the new hour.
    retimed = carry_leave(off, schedule, replaced.cancelled)
    if cancelled := [a for a in replaced.cancelled if a.id not in retimed]:
        groups, asked = tell_cancelled(off, cancelled)
        lines.append(f"按原日程已安排、已通知过或已有人请假的 {len(cancelled)} 次活动已取消，"
                     "不再提醒，也不计出勤和缺席。"
                     + (f"已在收到过活动通知的 {groups} 个群里说明取消。" if groups else "")
                     + (f"已私信告知请过假的 {asked} 人。" if asked else ""))
    if moved := [a for a in replaced.cancelled if a.id in retimed]:
        groups, asked = tell_cancelled(off, moved, retimed)
        carried = sum(retimed[a.id].carried for a in moved)  # type: ignore[index]
        lines.append("、".join(moved_to(off, a, retimed[a.id]) for a in moved)  # type: ignore[index]
                     + (f"，{carried} 人的请假随之改到新时间" if carried else "") + "。"
                     + (f"已在收到过活动通知的 {groups} 个群里说明改时间。" if groups else "")
                     + (f"已私信告知请过假的 {asked} 人。" if asked else ""))
    if before is not None and (told := _leave_left_behind(ctx, schedule)):
        lines.append(f"已私信告知 {told} 位请过这项活动的假、而新日程那天不再举行的同志。")
    lines.append("接下来：")
    lines += [_line(o, ctx, kind.value) for o in _upcoming(ctx, schedule, 3)]
    if bureau:
        lines.append(f"应到：{AUDIENCE_LABELS[BUREAU_COMMITTEE]}。提醒发到领导群，"
                     "开始后未签到的委员私聊提醒一次。")
    return Reply("\n".join(lines))


def _leave_left_behind(ctx: Ctx, schedule: Schedule) -> int:
    """Leave asked for the next one of a kind before it was planned (请假 主题党日 出差: a
    period of its day, for that kind) whose day the changed rule no longer holds: it excuses
    nothing now, and the member would be nudged on the new day and counted missing, told of
    nothing. Each hears it, privately (quiet hours held), and may ask again. Returns how
    many were told."""
    tz = ctx.settings.tz
    today = ctx.local_now.date()
    left = []
    for period in ctx.session.exec(select(LeavePeriod).where(
            LeavePeriod.activity_type == schedule.activity_type,
            LeavePeriod.first_day == LeavePeriod.last_day, LeavePeriod.first_day >= today,
            LeavePeriod.leave_state != LeaveState.REVOKED)).all():
        member = ctx.session.get(Member, period.member_id)
        if member is None or not member.active or not expects(schedule, member):
            continue
        if not held_on(schedule, period.first_day, tz=tz):  # held that day: it still applies
            left.append((member, period))
    for member, period in left:
        text = (f"【请假提示】{schedule.activity_type}的日程已改为 {schedule.rule}，"
                f"{show_date(period.first_day, today=today)}不再举行，你那天的请假不再适用。"
                f"如新日程那天也不能参加，请再发送「请假 {schedule.activity_type} 原因」。")
        outbox_store.enqueue_private(
            ctx.session, reached=org.reach(ctx.session, [member], prefer=ctx.message.platform),
            text=text, title="请假提示", kind=outbox_store.LEAVE_MOVED,
            key=f"leave.left:{period.id}:{schedule.rule}", now=ctx.now,
            branch_id=schedule.branch_id,
            not_before=QuietHours.of(ctx.settings).held_until(ctx.local_now))
    return len(left)


def _minutes(minutes: int) -> str:
    return f"{minutes // 60}小时{minutes % 60}分钟".replace("小时0分钟", "小时") if minutes >= 60 \
        else f"{minutes}分钟"


def _upcoming(ctx: Ctx, schedule: Schedule, count: int):
    """The next occurrences, none after a temporary branch's end (the scheduler creates
    none then) and none called off by 取消活动 (listed, members came to a study that was
    not held)."""
    held = next_held(schedule, now=ctx.now, tz=ctx.settings.tz, count=count,
                     until=last_day(ctx.session, schedule),
                     called_off=called_off(ctx.session, schedule=schedule, after=ctx.now))
    # One 改期 moved: held where the rule holds none, so listed from its activity.
    starts = {o.starts_at for o in held}
    moved = [Occurrence(a.starts_at, a.starts_at, "改期")
             for a in moved_ahead(ctx.session, schedule=schedule, after=ctx.now)
             if a.starts_at not in starts]
    return sorted([*held, *moved], key=lambda o: o.starts_at)[:count]  # type: ignore[arg-type, return-value]


def _line(occurrence, ctx: Ctx, kind: str) -> str:
    local = occurrence.starts_at.astimezone(ctx.settings.tz)
    note = f"（{occurrence.note}）" if occurrence.note else ""
    return f"· {show_date(local.date())} 周{WEEKDAY_NAMES[local.weekday()]} {local:%H:%M} {kind}{note}"


def agenda(ctx: Ctx, args: dict[str, Any]) -> Reply:
    branch = ctx.branch
    if args.get("branch"):
        branch = branch_by_name(ctx.session, name=args["branch"])
        if branch is None:
            return Reply.error(usage_text(AGENDA, f"没有找到支部「{args['branch']}」"))
    if branch is None:
        if not ctx.bureau_wide:
            return Reply.error("你还没有所属支部。请在支部群里发送「日程」。")
        return _bureau_agenda(ctx, args.get("day"))
    schedules = branch_schedules(ctx.session, branch_id=branch.id)
    if not schedules:
        return Reply(f"{branch.name}还没有固定日程。书记可发送「设置 主题党日 每月15日 14:30 2小时」。")
    lines = [f"{branch.name}的日程："]
    lines += [f"· {_kind_of(ctx, s)}：{s.rule}，{_minutes(s.duration_minutes)}"
              f"{_paused(ctx, s)}" for s in schedules]
    upcoming = sorted(((o, s.activity_type) for s in schedules for o in _upcoming(ctx, s, 3)),
                      key=lambda pair: pair[0].starts_at)[:5]
    if (said := args.get("day")) is not None and said >= ctx.local_now.date():
        # 明天有活动吗: the answer first, then the agenda as ever.
        lines.insert(0, _on_the_day(ctx, schedules, said))
    lines.append("接下来：")
    lines += [_line(o, ctx, kind) for o, kind in upcoming]
    row = ctx.session.get(BranchReminderSettings, branch.id)
    if row is not None and row.paused_until is not None and row.paused_until >= ctx.local_now.date():
        lines.append(f"提醒已暂停至 {show_date(row.paused_until, today=ctx.local_now.date())}。")
    return Reply("\n".join(lines))


_DAYS_FROM_TODAY = {0: "今天", 1: "明天", 2: "后天"}


def _on_the_day(ctx: Ctx, schedules: list[Schedule], day: date) -> str:
    """What the branch's schedules hold on a day asked about (明天有活动吗), or that they
    hold nothing and which is next."""
    tz = ctx.settings.tz
    said = _day_said(ctx, day)
    held = _held_from(ctx, schedules)
    then = [(o, kind) for o, kind in held if o.starts_at.astimezone(tz).date() == day]
    if then:
        return f"{said}有：" + "、".join(
            f"{o.starts_at.astimezone(tz):%H:%M} {kind}" for o, kind in then) + "。"
    after = [(o, kind) for o, kind in held if o.starts_at.astimezone(tz).date() > day]
    if after:
        return f"{said}没有活动，下一次是" + _line(after[0][0], ctx, after[0][1])[2:] + "。"
    return f"{said}没有活动。"


def _day_said(ctx: Ctx, day: date) -> str:
    """明天（12月8日 周二）, or 12月20日（周日） further off."""
    word = _DAYS_FROM_TODAY.get((day - ctx.local_now.date()).days)
    weekday = f"周{WEEKDAY_NAMES[day.weekday()]}"
    return f"{word}（{show_date(day)} {weekday}）" if word else f"{show_date(day)}（{weekday}）"


def _held_from(ctx: Ctx, schedules: list[Schedule]) -> list[tuple[Occurrence, str]]:
    """What the schedules hold in the next month or so, the earliest first; a party
    group's meeting by its group (two groups meeting the same day were 党小组会 twice)."""
    return sorted(((o, _kind_of(ctx, s)) for s in schedules for o in _upcoming(ctx, s, 31)),
                  key=lambda pair: pair[0].starts_at)


def _bureau_on_the_day(ctx: Ctx, day: date) -> str:
    """A leader's 明天有活动吗: which branches hold what that day, across the bureau, as a
    secretary is told their branch's (the list below gives each branch's next one only,
    which may be another day's)."""
    tz = ctx.settings.tz

    def that_day(schedules: list[Schedule]) -> tuple[list[tuple[Occurrence, str]], list]:
        held = _held_from(ctx, schedules)
        return ([(o, kind) for o, kind in held if o.starts_at.astimezone(tz).date() == day],
                [(o, kind) for o, kind in held if o.starts_at.astimezone(tz).date() > day])

    def times(found: list[tuple[Occurrence, str]]) -> str:
        return "、".join(f"{o.starts_at.astimezone(tz):%H:%M} {kind}" for o, kind in found)

    said = _day_said(ctx, day)
    own, later = that_day(bureau_schedules(ctx.session))
    parts, after = [], [(o, kind, BUREAU) for o, kind in later[:1]]
    for branch in org_branches(ctx.session):
        found, later = that_day(branch_schedules(ctx.session, branch_id=branch.id))
        if found:
            parts.append(f"{branch.name} {times(found)}")
        after += [(o, kind, branch.name) for o, kind in later[:1]]
    line = (f"{said}共 {len(parts)} 个支部有活动：" + "；".join(parts) + "。") if parts else \
        f"{said}各支部都没有活动。"
    if own:
        line += f"{BUREAU}：{times(own)}。"
    elif not parts and after:
        o, kind, whose = min(after, key=lambda found: found[0].starts_at)
        line = line.removesuffix("。") + f"，下一次是{whose} " + _line(o, ctx, kind)[2:] + "。"
    return line


def _paused(ctx: Ctx, schedule: Schedule) -> str:
    """（暂停至 …） while a pause lasts: one that has ended is said no more."""
    today = ctx.local_now.date()
    if schedule.paused_until is None or schedule.paused_until < today:
        return ""
    return f"（暂停至 {show_date(schedule.paused_until, today=today)}）"


def _bureau_agenda(ctx: Ctx, day: date | None = None) -> Reply:
    """A leader in a private chat: the bureau's own schedules, each branch's next activity,
    and how to see one branch; asked of a day (明天有活动吗), that day's answer first."""
    lines = []
    if day is not None and day >= ctx.local_now.date():
        lines.append(_bureau_on_the_day(ctx, day))
    own = bureau_schedules(ctx.session)
    if own:
        lines.append(f"{BUREAU}的日程：")
        lines += [f"· {s.activity_type}：{s.rule}，{_minutes(s.duration_minutes)}"
                  f"{_paused(ctx, s)}"
                  + ("，下次 " + _line(nxt[0], ctx, s.activity_type)[2:]
                     if (nxt := _upcoming(ctx, s, 1)) else "")
                  for s in own]
    lines.append("各支部接下来的活动：")
    for branch in org_branches(ctx.session):
        found = sorted(((o, s.activity_type)
                        for s in branch_schedules(ctx.session, branch_id=branch.id)
                        for o in _upcoming(ctx, s, 1)), key=lambda pair: pair[0].starts_at)
        if found:
            lines.append(f"{branch.name}：" + _line(found[0][0], ctx, found[0][1])[2:])
        else:
            lines.append(f"{branch.name}：还没有固定日程")
    lines.append("看某个支部的全部日程：发送「日程 支部名称」，例如：日程 城关")
    return Reply("\n".join(lines))


def _kind_of(ctx: Ctx, schedule: Schedule) -> str:
    group = org.party_group(ctx.session, group_id=schedule.party_group_id)
    return f"{schedule.activity_type}·{group.name}" if group else schedule.activity_type


def pause(ctx: Ctx, args: dict[str, Any]) -> Reply:
    if ctx.branch is None:
        return Reply.error("请在支部群里发送。")
    until: date = args["until"]
    today = ctx.local_now.date()
    if until < today:
        return Reply.error(usage_text(PAUSE, f"{show_date(until, today=today)}已经过去了"))
    if until > (latest := today + LONGEST_PAUSE):
        # One of years is the switch that stops a branch's reminders for good, which
        # djbot has not: its members would miss activities unreminded and count absent.
        return Reply.error(f"暂停提醒最长半年（至 {show_date(latest, today=today)}），"
                           "到期可再暂停。什么也没有改。")
    _reminder_settings(ctx).paused_until = until
    ctx.audit("reminders.pause", target=ctx.branch.name, detail={"until": until.isoformat()})
    return Reply(f"已暂停{ctx.branch.name}的活动提醒，至 {show_date(until, today=today)}（含）。"
                 "活动照常，签到不受影响。发送「恢复提醒」可提前恢复。\n"
                 "这期间不举行的活动请用「暂停日程 夜学 至 日期」，否则仍计出勤和缺席。")


def resume(ctx: Ctx, args: dict[str, Any]) -> Reply:
    if ctx.branch is None:
        return Reply.error("请在支部群里发送。")
    today = ctx.local_now.date()
    row = ctx.session.get(BranchReminderSettings, ctx.branch.id)
    if row is None or row.paused_until is None or row.paused_until < today:
        # 恢复提醒 after 暂停日程: 「已恢复」 said so, and the activity stayed off.
        paused = [s for s in branch_schedules(ctx.session, branch_id=ctx.branch.id)  # type: ignore[arg-type]
                  if s.paused_until is not None and s.paused_until >= today]
        said = "".join(
            f"暂停的是{_kind_of(ctx, s)}日程（至 {show_date(s.paused_until, today=today)}，"  # type: ignore[arg-type]
            f"这期间不举行），要恢复请发送「恢复日程 {_resume_words(ctx, s)}」。" for s in paused)
        if ctx.member is not None and ctx.member.nudges_off:
            # 开启提醒 after 不要提醒我: what is off is the sender's own nudge.
            said += "你自己的签到私聊提醒已关闭，要重新开启请发送「恢复提醒我」。"
        return Reply.error(f"{ctx.branch.name}的活动提醒没有暂停。{said}")
    _reminder_settings(ctx).paused_until = None
    ctx.audit("reminders.resume", target=ctx.branch.name)
    return Reply(f"已恢复{ctx.branch.name}的活动提醒。")


def _resume_words(ctx: Ctx, schedule: Schedule) -> str:
    kind = "夜学" if schedule.activity_type == ActivityType.NIGHT_STUDY.value else schedule.activity_type
    group = org.party_group(ctx.session, group_id=schedule.party_group_id)
    return f"{kind} {group.name}" if group else kind


def _reminder_settings(ctx: Ctx) -> BranchReminderSettings:
    row = ctx.session.get(BranchReminderSettings, ctx.branch.id)  # type: ignore[union-attr]
    if row is None:
        row = BranchReminderSettings(branch_id=ctx.branch.id)  # type: ignore[union-attr]
    ctx.session.add(row)
    return row


def nudges_off(ctx: Ctx, args: dict[str, Any]) -> Reply:
    """不要提醒我, and 关闭提醒 from a member: their private nudge is the only reminder of
    their own. A secretary's 关闭提醒 (without 我) may mean the branch's reminders, which
    pause until a day rather than stop (a branch without reminders misses its meetings
    unseen): they are shown both ways, and nothing changes until they choose."""
    if ctx.role in MANAGERS and "我" not in clean(ctx.message.text):
        return Reply("关闭哪一种提醒？\n"
                     f"· 本支部的活动提醒：发送「{PAUSE.example}」，到期自动恢复；\n"
                     "· 只是你自己的签到私聊提醒：发送「不要提醒我」。\n"
                     "什么也没有改。")
    return _set_nudges(ctx, off=True)


def nudges_on(ctx: Ctx, args: dict[str, Any]) -> Reply:
    return _set_nudges(ctx, off=False)


def _set_nudges(ctx: Ctx, *, off: bool) -> Reply:
    member = ctx.member
    assert member is not None  # needs_member
    member.nudges_off = off
    member.updated_at = ctx.now
    ctx.session.add(member)
    if off:
        return Reply("好的，不再私聊提醒你签到。群里的活动通知照常。发送「恢复提醒我」可重新开启。")
    return Reply("好的，活动开始后你若未签到，我会私聊提醒你一次。")


SET = Command(
    name="设置", summary="设置固定日程（主题党日、夜学等）", handler=_set,
    args=(rest("text", "要设置的内容", hint="活动类型、日期规则和时间"),), roles=MANAGERS | LEADERS,
    example="设置 主题党日 每月15日 14:30 2小时", capability="schedule",
)
AGENDA = Command(
    name="日程", summary="查看本支部（或指定支部）接下来的活动；问某天（明天有活动吗）先答那天有没有", handler=agenda,
    # 本周日程 and 下周日程 as one word: read as a day, 本周日 (Sunday) left 程.
    aliases=("下次活动", "活动安排", "什么时候开会", "下次开会", "下次什么时候", "本周日程",
             "这周日程", "下周日程", "近期日程", "近期活动", "近期活动安排", "最近的活动"),
    args=(branch_arg("branch", "支部", optional=True),), example="日程", capability="schedule",
    takes_day=True, day_ahead=True,  # 明天有活动吗, 日程 周五: that day's answer leads
)
PAUSE = Command(
    name="暂停提醒", summary="暂停本支部的活动提醒到某天", handler=pause,
    args=(day("until", "恢复提醒的日期"),), roles=MANAGERS, example="暂停提醒 至 12月31日",
    capability="schedule",
)


def remind_everyone(ctx: Ctx, args: dict[str, Any]) -> Reply:
    """提醒一下大家签到: djbot reminds by itself, once, privately (the 2024 rules: no nagging,
    nobody named in a group), so what it already does is said instead of reminding again."""
    row = ctx.session.get(BranchReminderSettings, ctx.branch.id) if ctx.branch else None
    plan = ReminderPlan.from_overrides(row.plan if row is not None else None)
    if row is not None and row.paused_until is not None \
            and row.paused_until >= ctx.local_now.date():
        done = (f"本支部的活动提醒已暂停至 {show_date(row.paused_until)}，暂停期间不提醒；"
                "发送「恢复提醒」可恢复。")
    elif plan.nudge_after_minutes > 0:
        done = (f"不用另外提醒：活动开始后 {plan.nudge_after_minutes} 分钟，我会私聊提醒还没签到的"
                "党员一次（请假的、说过「不要提醒我」的不提醒），不在群里点名。")
    else:
        done = "本支部没有开启签到私聊提醒；活动开始时群里会有通知。"
    return Reply(f"{done}想看谁还没签到，请私聊我发送「未签到」。")


REMIND = Command(
    name="提醒签到", summary="问怎么提醒大家签到：说明我会自动私聊提醒一次", handler=remind_everyone,
    aliases=("提醒大家签到", "提醒一下大家签到", "提醒大家", "提醒一下大家", "催一下签到",
             "催一下大家签到", "催大家签到", "通知大家签到", "通知签到", "提醒他们签到"),
    roles=MANAGERS, example="提醒签到", capability="schedule",
)


def register(registry: CommandRegistry) -> None:
    registry.add(SET)
    registry.add(AGENDA)
    registry.add(PAUSE)
    registry.add(REMIND)
    # 开启提醒: said as a word of its own, not 开启 (开始) an activity called 提醒.
    registry.add(Command(name="恢复提醒", summary="恢复本支部的活动提醒", handler=resume,
                         aliases=("开启提醒", "打开提醒"),
                         roles=MANAGERS, example="恢复提醒", capability="schedule",
                         others_mean="恢复提醒我"))
    registry.add(Command(name="不要提醒我", summary="不再私聊提醒我签到", handler=nudges_off,
                         aliases=("关闭提醒我", "别提醒我", "取消提醒我", "关闭提醒", "关掉提醒",
                                  "停止提醒", "取消提醒", "不要提醒", "别提醒"),
                         example="不要提醒我", capability="schedule"))
    registry.add(Command(name="恢复提醒我", summary="重新开启签到提醒", handler=nudges_on,
                         aliases=("开启提醒我", "打开提醒我"),
                         example="恢复提醒我", capability="schedule"))
