"""Activities and attendance: 开始, 签到, 请假, 批准/驳回请假, 补签, 未签到, 结束, 确认缺席,
评价 and 活动.

Which activity a command means is decided by the chat: a branch group speaks for its branch
(and for bureau-wide activities), the leaders' group for the bureau, and a private chat
for the sender's own branch (a leader or admin manages bureau-wide activities there).
Names of absent members are only ever listed in a private chat, so nobody is shamed in
the group.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from functools import partial
from typing import Any

from bot.context import Ctx, QuickCtx
from bot.core import IncomingMessage, Reply
from bot.domain.attendance import (
    ACTIVITY_WORDS,
    ATTENDED,
    AUDIENCE_LABELS,
    LECTURER_MARK,
    STATUS_LABELS,
    activity_label,
    audience,
    checkin_status,
    leave_allowed,
    parse_activity_type,
    plan_times,
    show_time,
    split_lecturer,
    type_list,
)
from bot.domain.dates import (
    DAY_AHEAD,
    DateError,
    DateRange,
    day_left,
    find_date_range,
    find_day_to_day,
    find_leading_day,
    find_leading_week,
    find_until,
    find_record_day,
    without_leading_now,
)
from bot.domain.points import half_up
from bot.domain.text import clean, cn_number, show_date, show_days, show_period
from bot.registry import (
    LEADERS,
    MANAGERS,
    Command,
    CommandRegistry,
    QuickLane,
    branch,
    integer,
    match_branch,
    rest,
    shorten,
    usage_text,
    word,
)
from bot.scheduling.called_off import CalledOff, label, tell
from bot.scheduling.holidays import held_on, next_held
from bot.scheduling.moves import ask_for_a_decision
from bot.scheduling.rules import RuleError
from storage import attendance as store
from storage import checkin as checkin_store
from storage import confirmations, membership, org, outbox, schedules
from storage import leave as leave_store
from storage.models import (
    ROLE_LABELS,
    Activity,
    ActivityType,
    Attendance,
    AttendanceStatus,
    Branch,
    LeavePeriod,
    LeaveState,
    Member,
    Role,
)
from storage.prepared import Prepared

Scope = int | None  # a branch id, or None for the whole bureau
BUREAU_WORD = "全局"  # 未签到 全局: the bureau-wide activity


# --- which activity a chat means ------------------------------------------------------


def _manage_scope(ctx: Ctx) -> tuple[Scope, str | None]:
    """The scope a manager acts on here, or (None, why not)."""
    if ctx.bureau_wide:
        if ctx.role in LEADERS:
            return None, None
        if ctx.binding is not None:  # a secretary speaking in the leaders' group
            return None, "全局活动仅限领导、管理员管理。"
    if ctx.branch is None:
        return None, "你还没有所属支部，请在支部群里发送。"
    return ctx.branch.id, None


def closed_branch(ctx: Ctx, scope: Scope) -> str | None:
    """Why nothing new is planned here: the group's branch is closed (djbot branch close, a
    临时党支部 ended) and its group still bound to it. Its history stays correctable."""
    if scope is None or ctx.branch is None or ctx.branch.active:
        return None
    return (f"「{ctx.branch.name}」已撤销，不再安排活动。本群如改属新支部，"
            "请管理员发送「绑定 新支部名称」。")


def _member_scopes(ctx: Ctx) -> list[Scope]:
    """Where a member's own activities can be: this group's branch, or in a private chat
    their own branch; bureau-wide activities are open to everyone they expect."""
    if ctx.binding is not None:
        return [ctx.binding.branch_id, None] if ctx.binding.branch_id is not None else [None]
    if ctx.member is not None and ctx.member.branch_id is not None:
        return [ctx.member.branch_id, None]
    return [None]


def _find_for_member(
    ctx: Ctx, finder: Callable[..., list[Activity]], *, kind: ActivityType | None = None
) -> tuple[Activity | None, Attendance | None, Activity | None]:
    """(the first activity `finder` lists that the member is expected at, of `kind` where
    given, their attendance row on it if any; else an activity found that is not theirs).
    The first one listed may be someone else's (another party group's meeting, a 支委会)
    while the member's own comes after it."""
    assert ctx.member is not None
    foreign = None
    for scope in _member_scopes(ctx):
        for activity in finder(ctx.session, branch_id=scope, now=ctx.now):
            if kind is not None and activity.type != kind:
                continue
            row = store.attendance_of(ctx.session, activity_id=activity.id,
                                      member_id=ctx.member.id)
            # A withdrawn record (更正 of someone not expected) makes nobody's activity theirs.
            on_record = row is not None and row.status != AttendanceStatus.WITHDRAWN
            if on_record or store.expected_at(ctx.session, member=ctx.member, activity=activity):
                return activity, row, None
            foreign = foreign or activity
    return None, None, foreign


def _label(ctx: Ctx, activity: Activity, *, with_date: bool = False) -> str:
    """主题党日「…」（14:00）; with_date for what is remembered later (a leave)."""
    return label(ctx.session, activity, ctx.settings, None if with_date else ctx.now)


# --- two activities at once -----------------------------------------------------------
# Two party groups meeting the same evening, a 支委会 running into the theme day: a
# secretary's command that names no activity is not taken to mean the latest-started one.
# Where the member named decides (补签, 更正), it does; otherwise the reply lists them with
# the words to send, and nothing changes until told.


def names_one(said: str) -> bool:
    """A word that may name one of the activities held at once: an activity type (支委会,
    夜学) or a party group (第一党小组), which tells two 党小组会 apart."""
    return parse_activity_type(said) is not None or said.endswith("组")


def named_among(ctx: Ctx, among: list[Activity], said: str) -> list[Activity]:
    """Those of `among` a word names: by type, or by their party group's name."""
    kind = parse_activity_type(said)
    if kind is not None:
        return [a for a in among if a.type == kind]
    return [a for a in among if a.party_group_id is not None
            and (group := org.party_group(ctx.session, group_id=a.party_group_id)) is not None
            and group.name == said]


def word_for(ctx: Ctx, activity: Activity, among: list[Activity]) -> str:
    """The word that names an activity among those held with it: its type, or its party
    group's name when two of its type are held (两个党小组会)."""
    if activity.party_group_id is not None and sum(a.type == activity.type for a in among) > 1:
        group = org.party_group(ctx.session, group_id=activity.party_group_id)
        if group is not None:
            return group.name
    return activity.type


def ask_which(ctx: Ctx, among: list[Activity], head: str, send: Callable[[str], str],
              unchanged: str, *, by_type: bool = False) -> Reply:
    """The activities a command could mean, each with the words that mean it (by_type: its
    type, as 补签 and 更正 read it, never a party group)."""
    labels = "、".join(_label(ctx, a) for a in among)
    words = "或".join(f"「{send(a.type if by_type else word_for(ctx, a, among))}」"
                     for a in among)
    return Reply.error(f"{head}：{labels}。请写明是哪一个：{words}。{unchanged}")


def _not_yours(ctx: Ctx, activity: Activity) -> Reply:
    if ctx.member is not None:
        then = _not_due_then(ctx, ctx.member, activity)
        if then is not None:
            return Reply.error(f"{_label(ctx, activity)}举行时你{then[0]}（{then[1]}），"
                               "不需要你参加。")
    own_branch = ctx.member is not None and ctx.member.branch_id == activity.branch_id
    if activity.branch_id is None or own_branch:
        who = AUDIENCE_LABELS[audience(activity.type, branch_id=activity.branch_id,
                                       party_group_id=activity.party_group_id)]
        if activity.audience_branch_ids is not None:  # a lecture for named branches
            who = "、".join(b.name for b in org.branches(ctx.session, include_inactive=True)
                           if b.id in activity.audience_branch_ids) + "党员"
        return Reply.error(f"{_label(ctx, activity)}的应到人员是{who}，"
                           "不需要你参加。")
    return Reply.error("你不是本支部的党员，不能在这里签到或请假。请在自己支部群里发送。")


# What someone's place lacked when an activity ended, by the field its audience asks for
# (None: not on the roster then), and what they did later to have it.
_LACKED = {
    None: ("还不在名册上", "才加入名册"),
    "branch_id": ("还不在本支部", "才调入"),
    "party_group_id": ("还不在本党小组", "才调入"),
    "role": ("还不是支部委员", "才任{role}"),
    "bureau_committee": ("还不是党委委员", "才任党委委员"),
}


def _not_due_then(ctx: Ctx, member: Member, activity: Activity) -> tuple[str, str] | None:
    """Why an activity did not expect someone it would expect as they are now: what their
    place lacked at its end, and since when they have it (("还不在本支部", "12月5日才调入"));
    None when they were due then, or are not its audience now either."""
    if not member.active or not store.in_audience(member, activity):
        return None
    then = membership.place_at(ctx.session, member=member, moment=activity.ends_at)
    lacked = None if then is None else store.unmet(then, activity)
    if then is not None and lacked is None:
        return None
    later = membership.places_after(ctx.session, member=member, moment=activity.ends_at)
    # Said from when they joined the roster, or from when they first held the place it asks.
    place = next((p for p in later if lacked is None or store.in_audience(p, activity)),
                 member)
    day = show_date(membership.began(place).astimezone(ctx.settings.tz).date(),
                    today=ctx.local_now.date())
    state, came = _LACKED[lacked]
    return state, day + came.format(role=ROLE_LABELS[Role(place.role)])


def _resolve_one(ctx: Ctx, command: Command, scope: Scope, query: str,
                 activity: Activity | None = None, *,
                 leave_since: datetime | None = None) -> Member | Reply:
    """The one member a manager named (given the activity whose record is worked on, also
    one it expects who has since moved or left; given leave_since, one with leave on the
    scope's activities since then), or the reply that explains why not."""
    found = store.find_members(
        ctx.session,
        branch_id=scope,
        query=query,
        platform=ctx.message.platform,
        mentions=ctx.message.mentions,
        activity=activity,
        leave_since=leave_since,
    )
    if not found:
        gone = (membership.left_branch(ctx.session, branch_id=scope, name=query.lstrip("@"))
                if scope is not None else None)
        if gone is not None:
            # 批准请假 李明 from the secretary he left: the leave went with him (refit).
            member, left = gone
            day = show_date(left.astimezone(ctx.settings.tz).date(), today=ctx.local_now.date())
            new = ctx.session.get(Branch, member.branch_id) if member.branch_id else None
            went = ("已不在名册上" if not member.active
                    else f"已调至{new.name}" if new is not None else "已调离本支部")
            return Reply.error(f"{member.name} {day}{went}，不再由本支部办理「{command.name}」，"
                               "记录保持不变。" + ("请假由其现在所在支部审批。"
                                                   if "请假" in command.name and member.active
                                                   else ""))
        where = "本支部" if scope is not None else "名册"
        return Reply.error(usage_text(command, f"{where}没有找到「{query}」，请检查姓名或改用编号"))
    if len(found) > 1:
        lines = [f"有 {len(found)} 位「{query}」，请改用编号："]
        lines += [f"· {m.name}（编号 {store.member_number(m)}）" for m in found]
        return Reply.error("\n".join(lines))
    return found[0]


def of_another_branch(ctx: Ctx, member: Member, *, then: str) -> Reply:
    """The refusal of a member of another branch named by a 书记 or 委员: whose they are,
    then `then` (what is not done, and by whom it is), rather than that nobody is called
    that or the record being changed from a branch that is not theirs."""
    branch = ctx.session.get(Branch, member.branch_id) if member.branch_id else None
    where = f"（{branch.name}）" if branch is not None else ""
    return Reply.error(f"{member.name} 不是本支部的党员{where}，{then}")


# --- 开始 ---------------------------------------------------------------------------


def start(ctx: Ctx, args: dict[str, Any], *, confirmed: bool = False) -> Reply:
    """开始: who is expected follows from the type and the chat; a bureau-wide activity for
    more than one branch waits for 「确认」, then every branch group concerned is told."""
    activity_type = parse_activity_type(args["type"])
    if activity_type is None and not _to_the_group(args["type"]):
        # 签到开始了，请大家签到: no activity named, the words are the group's.
        return Reply.error(usage_text(START, "缺少活动类型（如 主题党日、夜学、党员大会）"))
    if activity_type is None:
        return Reply.error(
            usage_text(START, f"没有「{args['type']}」这种活动。可选：{type_list()}")
        )
    scope, problem = _manage_scope(ctx)
    problem = problem or closed_branch(ctx, scope)
    if problem:
        return Reply.error(problem)
    said = (args.get("topic") or "").strip()
    said = _hour_first(said) or said  # 开始 夜学 晚上七点半 学习党章: for later too
    if said and _WHEN_ONLY.fullmatch(said) and said not in ("今天", "今日", "今晚", "现在", "马上"):
        # 开始 夜学 八点 is a start for later: started at once, 八点 was its topic.
        return Reply.error(f"没有开始：「{shorten(said)}」是时间，不是主题。现在开始请发送"
                           f"「开始 {activity_type.value}」；以后的活动请用「设置」安排"
                           f"（如「设置 {activity_type.value} 每周三 19:30 90分钟」），"
                           "发送「日程」查看已安排的活动。")
    topic, lecturer = _to_the_group(args.get("topic") or ""), None
    audience_ids, audience_label = None, None
    if scope is None and activity_type in LECTURE_TYPES:
        named = _lecture_audience(ctx, activity_type, topic)
        if isinstance(named, Reply):
            return named
        audience_ids, audience_label, topic = named
    if activity_type in LECTURE_TYPES:
        topic, lecturer = split_lecturer(topic)  # 讲师: lectures are counted per lecturer
    group_id = None
    if activity_type == ActivityType.GROUP_MEETING:
        found = _party_group(ctx, scope, topic)
        if isinstance(found, Reply):
            return found
        group_id, topic = found
    running = store.running_activity(ctx.session, branch_id=scope, now=ctx.now)
    if running is not None and running.type == activity_type.value \
            and running.party_group_id == group_id:
        return _going_on(ctx, running, topic)
    if running is not None:
        # With another under way (the theme day's check-in open), 「结束」 alone would ask.
        under_way = store.under_way(ctx.session, branch_id=scope, now=ctx.now)
        end = "结束" if len(under_way) < 2 else f"结束 {word_for(ctx, running, under_way)}"
        return Reply.error(f"{_label(ctx, running)}正在进行，请先发送「{end}」再开始新的活动。")
    ended = _ended_early(ctx, activity_type, scope, group_id, topic)
    if ended is not None:
        return _start_again(ctx, ended)
    ahead = _scheduled_alongside(ctx, activity_type, scope)
    if ahead is not None:
        return _start_scheduled(ctx, activity_type, group_id, ahead, topic)
    who = audience(activity_type.value, branch_id=scope, party_group_id=group_id)
    label = audience_label or AUDIENCE_LABELS[who]
    if scope is None and not confirmed:
        planned = Activity(type=activity_type.value, branch_id=None, ends_at=ctx.now,
                           audience_branch_ids=audience_ids)
        people = store.expected_members(ctx.session, activity=planned)
        branches = {m.branch_id for m in people if m.branch_id is not None}
        if len(branches) > 1:
            assert ctx.member is not None and ctx.member.id is not None
            confirmations.ask(ctx.session, platform=ctx.message.platform,
                              chat_id=ctx.message.chat_id, member_id=ctx.member.id,
                              kind=OPEN_BUREAU_WIDE, payload={"type": args["type"],
                                                              "topic": args.get("topic")},
                              now=ctx.now)
            minutes = int(confirmations.CONFIRM_WITHIN.total_seconds() // 60)
            return Reply(
                f"{activity_type.value}将作为全局活动开始：应到{label}，"
                f"涉及 {len(branches)} 个支部共 {len(people)} 人，各支部群都会收到通知，"
                f"缺席将计入各支部积分。\n确认请在 {minutes} 分钟内发送「确认」；不确认则不开始。"
                "只是本支部的活动，请在支部群里发送「开始」。")
    activity = store.open_activity(
        ctx.session,
        activity_type=activity_type,
        branch_id=scope,
        starts_at=ctx.now,
        now=ctx.now,
        opens_minutes_before=ctx.settings.checkin_opens_minutes_before,
        tz=ctx.settings.tz,
        topic=topic,
        lecturer=lecturer,
        party_group_id=group_id,
        opened_by=ctx.member.id if ctx.member else None,
        audience_branch_ids=audience_ids,
    )
    lines = [f"{_label(ctx, activity)}开始了，请大家发送「签到」。",
             f"应到：{label} {store.expected_count(ctx.session, activity=activity)} 人。"]
    if lecturer:
        lines.append(f"主讲：{lecturer}")
    ends = show_time(activity.ends_at, ctx.settings.tz, ctx.now)
    lines.append(
        f"{ctx.settings.late_grace_minutes} 分钟后签到记为迟到，{ends} 截止；"
        "不能参加请发送「请假 原因」。"
    )
    if scope is None:
        told = store.announce(ctx.session, activity=activity, text="【全局活动】" + "\n".join(lines),
                              now=ctx.now)
        ctx.audit("activity.open", target=_label(ctx, activity),
                  detail={"activity_id": activity.id, "groups": told})
        if told:
            lines.append(f"已通知 {told} 个支部群。")
    return Reply("\n".join(lines))


def _hour_first(topic: str) -> str | None:
    """The hour a topic begins with, with its day and part (晚上七点半 学习党章, 今晚 8点 学党章):
    a start for later, which 开始 took at once with the hour in its topic; else None."""
    words = re.split(r"[\s,，、;；。]+", topic)
    for count in (3, 2, 1):
        when = " ".join(words[:count])
        if len(words) > count and _WHEN_ONLY.fullmatch(when) and _AN_HOUR.search(when):
            return when
    return None


_AN_HOUR = re.compile(r"点|\d\s*[:：.]\s*\d")


# Words the opener says to the group with 开始 (主题党日开始 请大家签到, 开始 主题党日 @所有人,
# 主题党日马上开始，请大家准时参加): no topic, though each later reply showed them as one.
_ADDRESS = re.compile(
    r"(?:^|(?<=[\s，,。！!；;]))(?:@\S+|请?(?:大家|各位|全体同志|同志们|所有人)[^\s，,。！!；;]*"
    r"|请[^\s，,。！!；;]*(?:签到|准时|参加|安静|入座|就座|到场|集合))")


def _to_the_group(topic: str) -> str:
    """The topic less what speaks to the group; a lecturer said after it (主讲 @王建国) stays."""
    before, mark, lecturer = topic.rpartition(LECTURER_MARK)
    if not mark:
        before, lecturer = topic, ""
    cleaned = re.sub(r"[\s，,。！!；;]{2,}", " ", _ADDRESS.sub("", before)).strip(" ，,。！!；;")
    return f"{cleaned} {mark}{lecturer}".strip() if mark else cleaned


def _going_on(ctx: Ctx, activity: Activity, topic: str) -> Reply:
    """开始 of the activity already under way (its schedule opened it, or a first 开始 that
    seemed lost): it goes on, as it is; told to 结束 it first, a secretary ended the very
    meeting."""
    if topic and not activity.topic:
        activity.topic = topic
        ctx.session.add(activity)
    return Reply(f"{_label(ctx, activity)}已在进行，不用再开始，请大家直接发送「签到」。\n"
                 + _check_in_terms(ctx, activity))


def _check_in_terms(ctx: Ctx, activity: Activity) -> str:
    """When a check-in counts as late, when check-in closes, and how not to come: what
    every 开始 of an activity already there ends with.

    Late is counted from the start the members were told (the schedule's 19:30, which the
    reminders gave), also when the secretary sends 开始 at 19:45 because the meeting began
    late: djbot cannot tell a meeting begun late from a 开始 typed late (its schedule had
    opened it), and moving the line would make a member's 迟到 depend on when someone
    typed, those who checked in at 19:42 late and those at 19:46 not. So a 开始 past the
    line says whose start it is, and no longer offers 请假, which is closed by then
    (leave_allowed): the group was told to ask for leave that was refused. A secretary's
    更正 …出席 naming the start really kept moves it, and the close of 请假 with it, on record
    (storage.attendance.real_start)."""
    tz = ctx.settings.tz
    line = activity.starts_at + timedelta(minutes=ctx.settings.late_grace_minutes)
    late = show_time(line, tz, ctx.now)
    ends = show_time(activity.ends_at, tz, ctx.now)
    kept = store.real_start(ctx.session, activity=activity)
    if kept is not None:  # a 更正 said the meeting began later: the line it moved to
        kept_line = kept + timedelta(minutes=ctx.settings.late_grace_minutes)
        late = show_time(kept_line, tz, ctx.now)
        leave = "；不能参加请发送「请假 原因」。" if ctx.now <= kept_line else "。"
        return f"按实际 {show_time(kept, tz, ctx.now)} 开始计，{late} 后签到记为迟到，{ends} 截止{leave}"
    if ctx.now > line:
        return (f"按原定 {show_time(activity.starts_at, tz, ctx.now)} 开始计，{late} 后签到记为迟到，"
                f"{ends} 截止。")
    return f"{late} 后签到记为迟到，{ends} 截止；不能参加请发送「请假 原因」。"


def _counted_from(ctx: Ctx, activity: Activity) -> datetime:
    """The start a check-in's 迟到 counts from, and so the close of 请假: the one told, or
    the later one a 更正 said the meeting really kept (storage.attendance.real_start). By
    the start told, 请假 was refused as 「已经开始」 while a check-in still counted present."""
    return store.real_start(ctx.session, activity=activity) or activity.starts_at


def _ended_early(ctx: Ctx, kind: ActivityType, scope: Scope, group_id: int | None,
                 topic: str) -> Activity | None:
    """The same meeting ended before its planned end (结束 sent by mistake, or too soon) that
    a 开始 of its type, party group and topic (or none) means to go on with."""
    for activity in store.ended_since(ctx.session, branch_id=scope, now=ctx.now,
                                      since=ctx.now - timedelta(hours=24)):
        if (activity.type == kind.value and activity.party_group_id == group_id
                and activity.ends_at > ctx.now and (not topic or topic == activity.topic)):
            return activity
    return None


def _start_again(ctx: Ctx, activity: Activity) -> Reply:
    """开始 after an early 结束: a second activity beside the first would split the meeting's
    check-ins between the two (everyone missing from one of them); the first takes check-ins
    again. Once its absences are confirmed, those who came are made up instead."""
    label = _label(ctx, activity)
    tz = ctx.settings.tz
    ends = show_time(activity.ends_at, tz, ctx.now)
    if not store.reopen(ctx.session, activity=activity):
        return Reply.error(f"{label}已结束并确认了缺席，原定 {ends} 结束，不再重新开始，"
                           "也没有另开活动。到场但没签到的同志请用「补签 姓名 原因」补签。")
    checked_in = store.participation(ctx.session, activity=activity).attended
    ctx.audit("activity.reopen", target=label,
              detail={"activity_id": activity.id, "checked_in": checked_in})
    return Reply(f"{label}重新开始，继续签到：已签到 {checked_in} 人，不用再签。\n"
                 f"{_check_in_terms(ctx, activity)}\n" + _another_one(ctx, activity))


def _another_one(ctx: Ctx, activity: Activity) -> str:
    """How a secretary who meant a second meeting (another topic, after the first ended)
    opens it: without the words, every 开始 went on with the first until its planned end,
    two meetings one record."""
    under_way = store.under_way(ctx.session, branch_id=activity.branch_id, now=ctx.now)
    end = "结束" if len(under_way) < 2 else f"结束 {word_for(ctx, activity, under_way)}"
    kind = activity.type
    group = org.party_group(ctx.session, group_id=activity.party_group_id) \
        if activity.party_group_id is not None else None
    if group is not None:
        kind = f"{kind} {group.name}"
    return f"如果是另一次{activity.type}，请先发送「{end}」，再发送「开始 {kind} 主题」。"


def _scheduled_alongside(ctx: Ctx, kind: ActivityType, scope: Scope) -> Activity | None:
    """A scheduled activity of the scope that would start before one opened now ends.

    签到 goes to the activity that starts last, so a second activity opened alongside it
    would get nobody's check-in and count everyone absent, and the scheduled one would
    still say 现在开始 and nudge those who came."""
    ends = plan_times(kind, ctx.now, opens_minutes_before=0).ends_at
    found = schedules.scheduled_starting(ctx.session, branch_id=scope, after=ctx.now,
                                         before=ends)
    return found[0] if found else None


def _start_scheduled(ctx: Ctx, kind: ActivityType, group_id: int | None,
                     activity: Activity, topic: str) -> Reply:
    """开始 over a scheduled activity: the same one starts taking check-ins now (its start,
    which lateness counts from, stays as scheduled); another is refused, nothing opened."""
    label = _label(ctx, activity)
    if activity.type != kind.value or activity.party_group_id != group_id:
        return Reply.error(
            f"{label}是固定日程，会在现在开始的活动结束前开始，签到会记错活动。"
            "什么也没有开始。如果今天不举行它，请先发送「取消活动 下次 原因」再「开始」。")
    if activity.checkin_opens_at > ctx.now:
        activity.checkin_opens_at = ctx.now
    if topic and not activity.topic:
        activity.topic = topic
    ctx.session.add(activity)
    label = _label(ctx, activity)
    return Reply(f"{label}按日程举行，现在已可签到，请大家发送「签到」。\n"
                 f"应到：{store.expected_count(ctx.session, activity=activity)} 人。"
                 + _check_in_terms(ctx, activity))


OPEN_BUREAU_WIDE = "activity.open"

# Held for the whole bureau, a lecture names whom it is for: 对象 城关、交警, or 对象 全体.
LECTURE_TYPES = (ActivityType.LECTURE_HALL, ActivityType.PARTY_LECTURE)
AUDIENCE_RE = re.compile(r"(?:^|\s)对象[:：]?\s*(\S+)")
ALL_BRANCHES = ("全体", "全局", "所有支部", "全部")


def _lecture_audience(ctx: Ctx, kind: ActivityType,
                      topic: str) -> tuple[list[int], str, str] | Reply:
    """(the branch ids a bureau-wide lecture expects, how to say them, the topic without
    the 对象 words), or the reply saying how to name them."""
    example = (f"例如：开始 {kind.value} 学习二十大精神 对象 城关、交警"
               "（全局各支部：对象 全体）")
    found = AUDIENCE_RE.search(topic)
    if found is None:
        return Reply.error(f"全局的{kind.value}要写明对象：哪些支部的党员参加。\n{example}")
    branches = org.branches(ctx.session)
    names = [b.name for b in branches]
    words = [found.group(1)]
    after = topic[found.end():].split()
    while after and after[0] != LECTURER_MARK and match_branch(after[0], names)[0]:
        words.append(after.pop(0))  # 对象 城关 交警: the branches may be spaced too
    rest_of_topic = " ".join([topic[:found.start()].strip(), *after]).strip()
    if found.group(1) in ALL_BRANCHES:
        return [b.id for b in branches], "全体支部党员", rest_of_topic  # type: ignore[misc]
    chosen: list[str] = []
    for said in filter(None, re.split(r"[、，,/]+", "、".join(words))):
        name, problem = match_branch(said, names)
        if problem:
            return Reply.error(f"{problem}\n{example}")
        if name not in chosen:
            chosen.append(name)  # type: ignore[arg-type]
    ids = [b.id for b in branches if b.name in chosen]
    return ids, "、".join(chosen) + "党员", rest_of_topic  # type: ignore[return-value]


def _party_group(ctx: Ctx, scope: Scope, topic: str) -> tuple[int, str] | Reply:
    """A 党小组会 is for one party group: the one named first in the topic, else the
    opener's own; returns (group id, the rest of the topic)."""
    usage = "党小组会要写明是哪个党小组。\n例如：开始 党小组会 第一党小组 学习新党章"
    if scope is None:
        return Reply.error(usage)
    first, _, rest_of_topic = topic.partition(" ")
    named = org.party_group_by_name(ctx.session, branch_id=scope, name=first) if first else None
    if named is not None:
        return named.id, rest_of_topic.strip()  # type: ignore[return-value]
    own = ctx.member.party_group_id if ctx.member else None
    if own is not None and ctx.member is not None and ctx.member.branch_id == scope:
        return own, topic
    return Reply.error(usage)


# --- 签到 ---------------------------------------------------------------------------


def check_in(ctx: Ctx, args: dict[str, Any]) -> Reply:
    assert ctx.member is not None
    named = _type_said(ctx.message.text)
    activity, row, foreign = _find_for_member(ctx, store.current_activities, kind=named)
    if activity is None and named is not None:
        other, _, _ = _find_for_member(ctx, store.current_activities)
        if other is not None:
            # 签到 夜学 while the theme day runs: that one was checked in to, with its points.
            return Reply.error(f"现在进行的是{_label(ctx, other)}，不是{named.value}，没有签到。"
                               f"参加的是{_label(ctx, other)}请只发送「签到」。")
    if activity is None:
        if foreign is not None:
            return _not_yours(ctx, foreign)
        if ctx.binding is not None and ctx.binding.branch_id not in (None, ctx.member.branch_id):
            # Another branch's group: its quiet day says nothing of the member's own.
            return Reply.error("这里不是你所在支部的群。请在自己支部群里发送「签到」，或私聊我发送。")
        upcoming, _, _ = _find_for_member(ctx, store.next_activities)
        following = ""
        if upcoming is not None:
            opens = show_time(upcoming.checkin_opens_at, ctx.settings.tz, ctx.now)
            following = f"下一次是{_label(ctx, upcoming)}，{opens} 开始签到。"
        ended, ended_row, _ = _find_for_member(ctx, partial(
            store.ended_since, since=ctx.now - timedelta(hours=ctx.settings.absence_confirm_hours)))
        if ended is not None and (ended_row is None or ended_row.status not in ATTENDED
                                  and ended_row.leave_state is None):
            # Ended early by 结束, or closed at its end: one who was there but slow to type
            # learns it is over and how to be counted, not that there was nothing to join;
            # one early for the next, when that one opens.
            return Reply.error(f"{_label(ctx, ended)}已结束，签到已截止。如确实参加了，请联系书记补签。"
                               + (f"\n{following}" if following else ""))
        return Reply("现在没有可以签到的活动。" + following)
    if row is not None and row.status in ATTENDED:
        when = row.checked_in_at or row.made_up_at
        shown = show_time(when, ctx.settings.tz, ctx.now) if when else ""
        return Reply(f"你已签到（{STATUS_LABELS[row.status]} {shown}），不用重复签到。")
    if ctx.now > activity.checkin_closes_at:
        return Reply.error(f"{_label(ctx, activity)}的签到已截止。如确实参加了，请联系书记补签。")
    row = store.check_in(
        ctx.session,
        activity=activity,
        member=ctx.member,
        existing=row,
        now=ctx.now,
        late_grace_minutes=ctx.settings.late_grace_minutes,
        rules=ctx.rules,
        platform=ctx.message.platform,
        message_id=ctx.message.message_id,
    )
    points, _ = ctx.rules.attendance_points(activity.type, row.status)
    return _checked_in(ctx.member.name, row.status, _label(ctx, activity), points)


# The words naming an activity, longest first: 签到 主题党日 is the theme day, not 党日 of it.
_TYPE_WORDS = tuple(sorted(ACTIVITY_WORDS, key=len, reverse=True))


def _type_said(text: str) -> ActivityType | None:
    """The activity 签到 names after it (签到 夜学: CHECK_IN.ignores lets it through)."""
    said = clean(text)
    word = next((w for w in _TYPE_WORDS if said.endswith(w)), None)
    return parse_activity_type(word) if word else None


def _checked_in(name: str, status: str, label: str, points: int) -> Reply:
    outcome = "签到成功" if status != "late" else "签到成功（迟到）"
    return Reply(f"{name} {outcome}：{label}，积分 {points:+d}。")


def _quick_read(message: IncomingMessage, now: datetime) -> tuple[Prepared, dict[str, Any]]:
    return checkin_store.LOOK_UP, checkin_store.look_up_params(
        platform=message.platform, chat_id=message.chat_id, user_id=message.sender_id, now=now)


def quick_check_in(q: QuickCtx, row: tuple | None) -> Reply | None:
    """签到's simple case without the ORM: a member of the group's branch, expected at the
    branch's current activity, with no row on it yet, inside its window. Anything else
    (none of these, or a leave row to turn into present) returns None and check_in above
    answers it. tests/test_checkin_quick.py holds the two to the same replies and rows."""
    seen = checkin_store.view(row)
    if seen is None or seen.chat_branch_id is None:  # the leaders' group has no branch
        return None
    member, activity = seen.member, seen.activity
    if member is None or activity is None or seen.attendance_id is not None:
        return None
    # A party group's label needs its name: that rarer case reads it through the session.
    if activity.party_group_id is not None or q.now > activity.checkin_closes_at:
        return None
    # Expected as they are now only while the spell they are in covers the activity's start;
    # anyone else (one who came while it ran or after it, one due through a spell since
    # ended) is the general path's, which reads their spells.
    if not store.expected_in_current_spell(member, activity):
        return None
    status = checkin_status(q.now, activity.starts_at, grace_minutes=q.settings.late_grace_minutes)
    if status == AttendanceStatus.LATE:
        # A 更正 may have said the meeting began later (storage.attendance.real_start): the
        # general path reads it; late check-ins are the few after the burst at the start.
        return None
    points, rule = q.rules.attendance_points(activity.type, status)
    checkin_store.record(q.writes, activity=activity, member=member, status=status, now=q.now,
                         platform=q.message.platform, message_id=q.message.message_id,
                         points=points, rule=rule, rules_digest=q.rules.digest)
    label = activity_label(activity.type, activity.topic, activity.starts_at, q.settings.tz, q.now)
    return _checked_in(member.name, status, label, points)


# --- 请假, 批准请假, 驳回请假 ---------------------------------------------------------------


# Words that call the leave off (请假不请了, 请假作废): never a reason, or the leave they
# take back would be recorded. Not 销假 either: that takes back every leave, more than
# some of these may mean, so the sender is told how to write it.
_CALLED_OFF = re.compile(r"(?:我|这次|这个|那个)?(?:又)?(?:不请了?|不用请了?|不请假了?|作废|算了|"
                         r"不要了|不用了|不需要了|取消了?|撤销了?|撤回了?|撤了|不算了?)"
                         r"[了啊吧呀哈哦喔。！!～~，,\s]*")


# Before five in the morning one not yet asleep says 明天 of the day that has begun: 请假
# 明天 值班 sent at 00:10 on Thursday is Thursday's, as 今晚 then is Thursday evening (read as
# Friday, Thursday's study counted him absent). 明天, 明晚 and 后天 said first are read from
# the day before, and the reply says which day that was; 今天, dates and weekdays are the
# calendar's. 请假 and 销假 read them alike, with 从 before them too (从明天到周五).
_SMALL_HOURS_END = 5
_AHEAD_SAID = re.compile(r"^\s*(?:从\s*)?(明天|明日|明晚|明早|后天|大后天)")


def _ahead_read_from(ctx: Ctx, text: str) -> tuple[date, str]:
    """The day a 明天 or 后天 the text starts with is read from, and what the member is told
    of it (nothing by day)."""
    today = ctx.local_now.date()
    # 夜学 明天 值班 as 明天夜学: the activity may be said first.
    said = _AHEAD_SAID.match(text) or _AHEAD_SAID.match(_named_kind(text)[1])
    if said is None or ctx.local_now.hour >= _SMALL_HOURS_END:
        return today, ""
    meant = today + timedelta(days={"后天": 1, "大后天": 2}.get(said[1], 0))
    return today - timedelta(days=1), f"\n凌晨发送的「{said[1]}」按{show_date(meant)}算。"


def ask_leave(ctx: Ctx, args: dict[str, Any]) -> Reply:
    today, note = _ahead_read_from(ctx, args["reason"])
    reply = _ask_leave(ctx, args, today)
    if note and not reply.is_error:
        return Reply(reply.text + note, title=reply.title)
    return reply


def _ask_leave(ctx: Ctx, args: dict[str, Any], today: date) -> Reply:
    assert ctx.member is not None
    if _CALLED_OFF.fullmatch(args["reason"].strip()):
        return Reply.error("没有记请假，没有改动。要撤回已经请的假，请发送「销假」；"
                           "只撤回一次，写上活动或日期，如「销假 夜学」。")
    decided = _decision_said(ctx, args["reason"])
    if decided is not None:
        return decided
    if (moved := _moved_to(ctx, args["reason"], today)) is not None:
        return moved
    if (other := _another_named(ctx, args["reason"])) is not None:
        if (asked := _name_or_day(ctx, other, args["reason"])) is not None:
            return asked
        if ctx.role in _STAFF:
            # 请假 张三 出差, 请假 @张三 出差 from one who may decide leave: leave 张三 asked for
            # off-chat, put on record for him (代请假). Refused, the 书记 had no way to.
            from handlers.leave_recorded import record_leave  # which imports this module
            return record_leave(ctx, {"who": other, "reason": _after_name(args["reason"], other)})
        return Reply.error(f"没有记请假：请假只能为自己请。{other} 请假请本人发送「请假 原因」；"
                           f"本人不方便发送的，请告诉书记。")
    try:
        # A range (12月4日至18日) or one day (12月10日, 明天, 下周二) is leave for those days:
        # every activity in them, not the activity at hand with the date as its reason.
        # A week (下周 出差) is its days, and a day it lasts until (出差到12月10日) the days
        # from today or from the day said first (12月8日 出差到10号).
        said = args["reason"]
        if (lasting := _HOW_LONG.match(said)) is not None:
            # 请假 三天 出差: how long, not from when; read as a reason it excused the next
            # activity alone, and the days after stayed expected.
            example = f"明天起{lasting['days']}天" if lasting["days"] else "明天起三天"
            return Reply.error(usage_text(LEAVE, f"没有记请假：「{lasting[1]}」是从哪天起没写清楚。"
                                                 f"请写明日期，如「请假 {example} 出差」或「请假 "
                                                 "12月26日至12月27日 出差」"))
        if (vague := _VAGUE_DAYS.match(said)) is not None:
            return Reply.error(usage_text(LEAVE, f"没有记请假：「{vague[1]}」是哪几天没写清楚。"
                                                 "请写明日期，如「请假 12月28日 出差」或「请假 "
                                                 "12月26日至12月27日 出差」"))
        span, tonight = leave_days(said, today)
    except LooseUntil as loose:
        return Reply.error(usage_text(LEAVE, f"没有记请假：「{loose.days}」是哪几天没写清楚。"
                                             "请写明日期，如「请假 出差到12月31日」或「请假 "
                                             "12月26日至12月27日 出差」"))
    except DateError as exc:
        return Reply.error(usage_text(LEAVE, f"没有记请假：{exc}"))
    day: date | None = None
    next_said = just_now = False
    hours: tuple[int, int] | None = None  # of the part of the day named (named_part)
    named_part: str | None = None
    if span is not None:
        # 请假 12月10日 夜学 值班, 明天夜学请假: that day's night study; 请假 夜学 12月8日至
        # 10日 值班: those days' night studies, not every activity of them.
        kind, reason = _named_kind(span.rest)
        if (unread := _day_left(reason)) is not None:
            return unread
        part = _PART_OF_DAY.match(reason)
        named_part = (_PART_SAID[part[1]] if part
                      else _PART_SAID[said.lstrip()[1]] if said.lstrip().startswith(("明晚", "明早"))
                      else _PART_SAID.get(tonight[1] or tonight[2]) if tonight else None)
        if span.first == span.last and (tonight is not None or _NEAR_DAY.match(said)):
            # 今晚请假 加班 on a Tuesday whose study is Wednesday's: tonight was said, and
            # the leave went to Wednesday (明天请假 to a day that excused nothing). Said so,
            # with the next one and how to ask for it.
            at = _PART_HOURS[named_part] if named_part else (0, 24)
            bare = reason[part.end():].strip() if part else reason
            word = (near[1] if (near := _NEAR_DAY.match(said)) is not None
                    else f"今天{named_part}")
            if bare and (empty := _nothing_then(ctx, span.first, at, kind, bare, word)):
                return empty
        if kind is None and span.first == span.last and named_part is not None:
            # 请假 明天晚上 值班: that evening's activity, not the 支委会 that morning too.
            hours = _PART_HOURS[named_part]
            reason = reason[part.end():].strip() if part else reason
        elif kind is None or span.first != span.last:
            return _leave_period(ctx, DateRange(span.first, span.last, reason), kind=kind)
        day = span.first
    else:
        reason = without_leading_now(args["reason"])  # 今晚 出差: the activity at hand
        # 请假 刚才的夜学 值班, 刚才的活动: the one held, with the activity said; 刚才 alone says
        # when, not why (asked the reason). 请假 刚才接到通知要加班 is a reason, for the one
        # ahead.
        if (past := _JUST_NOW.match(reason)) is not None and (
                not reason[past.end():] or past[1]
                or _named_kind(reason[past.end():])[0] is not None):
            reason, just_now = reason[past.end():], True
        # 请假 下次 值班 during a study: the one after it, not the one under way with the
        # reason 「下次 值班」; 下次请假 alone says when, not why, and is asked the reason.
        if (nextone := _NEXT_SAID.match(reason)) is not None:
            reason, next_said = reason[nextone.end():], True
        # 请假 主题党日 出差: the theme day, not whichever activity comes first.
        kind, reason = _named_kind(reason)
        if ((near := _NEAR_DAY.match(said)) is not None and not (next_said or just_now)
                and reason not in _NOW_WORDS):  # 今天请假 alone: asked the reason first
            # 今天请假 加班 with nothing today: not the next one, as 今晚 is not.
            if (empty := _nothing_then(ctx, today, (0, 24), kind, reason, near[1])) is not None:
                return empty
    if kind is not None and day is None:
        try:  # 请假 夜学 12月16日 值班: that day's, not the next one with the day as reason
            said = find_leading_day(reason, today)
        except DateError as exc:
            return Reply.error(usage_text(LEAVE, str(exc)))
        if said is not None:
            day, reason = said.first, said.rest
    if (unread := _day_left(reason)) is not None:
        return unread
    # A second activity named as such (夜学、主题党日, 夜学和主题党日), not a reason that begins
    # with one (夜学 党课培训: away for a 党课 training).
    second = _KIND_ENDS.split(reason.removeprefix("以及").lstrip("和及与跟"), maxsplit=1)[0]
    other = parse_activity_type(second.removesuffix("的")) if kind else None
    if kind is not None and other is not None:
        # 请假 夜学、主题党日 出差: the second was taken for the reason, and stayed expected.
        return Reply.error(usage_text(LEAVE, f"一次请一种活动的假：请分别发送「请假 {kind.value} "
                                             f"原因」和「请假 {other.value} 原因」"))
    if not reason or reason in _NOW_WORDS:
        return Reply.error(usage_text(LEAVE, "请写明请假原因"))

    def held(finder: Callable[..., list[Activity]], *, at: tuple[int, int] | None
             ) -> Callable[..., list[Activity]]:
        """The finder's activities, those of the day named only, and starting in the hours
        `at` where given."""
        tz = ctx.settings.tz
        if day is None:
            return finder
        return lambda session, **scope: [
            a for a in finder(session, **scope)
            if a.starts_at.astimezone(tz).date() == day
            and (at is None or at[0] <= a.starts_at.astimezone(tz).hour < at[1])]

    said_hours = hours or (_PART_HOURS.get(named_part) if named_part else None)
    if tonight is not None and said_hours is not None:
        # 请假 今晚 at 21:40: tonight's is over, never Thursday's instead (nor another of
        # today's, the morning's meeting under way).
        found = any(_find_for_member(ctx, held(finder, at=said_hours), kind=kind)[0] is not None
                    for finder in (store.current_activities, store.next_activities))
        if not found and (over := _held_today(ctx, kind, said_hours)) is not None:
            return _too_late(ctx, over)
    if just_now and _find_for_member(ctx, store.current_activities, kind=kind)[0] is None:
        # 请假 刚才的夜学 值班: the one held, not the next one.
        over = _held_today(ctx, kind, (0, 24))
        if over is not None:
            return _too_late(ctx, over)
        return Reply.error(f"刚才没有需要你参加的{kind.value if kind else '活动'}，没有记请假。")

    activity, row, foreign = (None, None, None) if next_said else _find_for_member(
        ctx, held(store.current_activities, at=hours), kind=kind)
    if activity is not None:
        if row is not None and row.status in ATTENDED:
            activity = None  # already here: the leave must be for the next one
        elif not leave_allowed(
            ctx.now, _counted_from(ctx, activity), grace_minutes=ctx.settings.late_grace_minutes
        ):
            return Reply.error(
                f"{_label(ctx, activity)}已经开始，不能再请假。"
                "如有特殊情况请向书记说明；如果你参加了但忘记签到，请书记补签。"
            )
    if activity is None:
        upcoming = held(store.next_activities, at=hours)
        if next_said:  # not one whose check-in has opened: that is this time's
            def upcoming(session, *, branch_id, now, _all=upcoming):  # noqa: ANN001
                opened = {a.id for a in store.current_activities(session, branch_id=branch_id,
                                                                 now=now)}
                return [a for a in _all(session, branch_id=branch_id, now=now)
                        if a.id not in opened]
        activity, _, foreign_next = _find_for_member(ctx, upcoming, kind=kind)
        foreign = foreign or foreign_next
    if activity is None:
        if foreign is not None:
            return _not_yours(ctx, foreign)
        if day is not None and hours is not None:
            others, _, _ = _find_for_member(ctx, held(store.next_activities, at=None),
                                             kind=kind)
            if others is not None:  # the day has one, at another hour: not asked for
                return Reply.error(
                    f"{show_date(day)}{named_part}没有需要你参加的活动，当天有"
                    f"{_label(ctx, others)}，没有记请假。要请那次的假，请发送"
                    f"「请假 {show_date(day)} {others.type} {reason}」。")
        if day is not None and hours is not None and kind is None:
            # Not planned yet: the kind its schedule holds in those hours, so that leave for
            # tonight does not excuse the meeting that morning too.
            planned = _planned_kinds(ctx, day, hours)
            if not planned:
                return Reply.error(f"{show_date(day)}{named_part}没有需要你参加的活动，没有记请假。"
                                   "发送「日程」可查看本支部接下来的活动。")
            kind = planned[0]
        if day is not None:  # not planned yet (or gone by: said so)
            return _leave_period(ctx, DateRange(day, day, reason), kind=kind)
        if kind is not None:
            return _leave_for_planned(ctx, kind, reason)
        return Reply.error("现在没有还未开始的活动可以请假。")
    row = store.attendance_of(ctx.session, activity_id=activity.id, member_id=ctx.member.id)
    withdrawn = row if row is not None and row.status == AttendanceStatus.WITHDRAWN else None
    if row is not None and withdrawn is None:
        if row.status in ATTENDED:
            return Reply(f"你已在{_label(ctx, activity)}签到，不用请假。")
        who = _who_decides(ctx, activity.branch_id)  # 领导 for the bureau's own activities
        known = {
            LeaveState.GRANTED: "你已经请过假了",
            LeaveState.PENDING: f"你的请假正在等待{who}批准",
            LeaveState.REVOKED: f"你的请假已被{who}驳回，如有疑问请直接联系{who}",
        }
        return Reply(f"{known.get(row.leave_state, '已有你的记录')}：{_label(ctx, activity, with_date=True)}。")
    row = store.ask_leave(
        ctx.session,
        activity=activity,
        member=ctx.member,
        reason=reason,
        now=ctx.now,
        requires_approval=ctx.settings.leave_requires_approval,
        platform=ctx.message.platform,
        message_id=ctx.message.message_id,
        withdrawn=withdrawn,  # a record nobody counts, of leave a move took back
    )
    if row.leave_state == LeaveState.PENDING:
        told = _ask_for_a_decision(
            ctx, branch_id=activity.branch_id, key=f"attendance:{row.id}|{_ask(ctx)}",
            asked=f"{_label(ctx, activity, with_date=True)}，原因：{reason}。")
        return Reply(f"请假已提交，等待{_who_decides(ctx, activity.branch_id)}批准："
                     f"{_label(ctx, activity, with_date=True)}。{told}")
    return Reply(f"已请假：{_label(ctx, activity, with_date=True)}。原因：{reason}")


_JUST_NOW = re.compile(r"^\s*(?:刚才|刚刚|方才)(的)?[\s，,、:：]*")


def _held_today(ctx: Ctx, kind: ActivityType | None, hours: tuple[int, int]
                ) -> Activity | None:
    """The member's latest activity of today, of `kind` where given, starting in those
    hours, that has begun: what leave for tonight sent after it means."""
    begun = _begun_today(ctx, kind, hours)
    return begun[-1] if begun else None


def _begun_today(ctx: Ctx, kind: ActivityType | None, hours: tuple[int, int]
                 ) -> list[Activity]:
    """The member's activities of today that have begun, of `kind` where given, starting
    in those hours, earliest first."""
    assert ctx.member is not None
    tz = ctx.settings.tz
    midnight = datetime.combine(ctx.local_now.date(), time(), tzinfo=tz)
    begun = [a for scope in _member_scopes(ctx)
             for a in store.held_on(ctx.session, branch_id=scope, day=(midnight, ctx.now),
                                    kind=kind.value if kind else None)
             if hours[0] <= a.starts_at.astimezone(tz).hour < hours[1]
             and store.expected_at(ctx.session, member=ctx.member, activity=a)]
    return sorted(begun, key=lambda a: a.starts_at)


def _too_late(ctx: Ctx, activity: Activity) -> Reply:
    when = "结束" if activity.ends_at <= ctx.now else "开始"
    return Reply.error(f"{_label(ctx, activity)}已经{when}，不能再请假。"
                       "如有特殊情况请向书记说明；如果你参加了但忘记签到，请书记补签。")


_FOR_ANOTHER = re.compile(r"^\s*(?:我)?(帮|替|给|为|代)?@?")  # 请假 @李明 发烧: named by a mention
# What ends a name said on its own: 请假 李明 发烧, 请假 李明，发烧.
_NAME_ENDS = " \t，,、。:：;；"


def _another_named(ctx: Ctx, reason: str) -> str | None:
    """Another member of the sender's branch named first in the reason (请假 李明 发烧,
    请假 帮李明请): the name. Leave is each member's own to ask; it was recorded for the
    sender with the other's name as the reason. A name counts said on its own, or after
    帮/替/给: a reason that only begins with one (高强度加班 by the side of 高强, 金华出差 by
    金华's) is the sender's."""
    assert ctx.member is not None
    helper = _FOR_ANOTHER.match(reason)
    said = reason[helper.end():]
    for m in org.members(ctx.session, branch_id=ctx.member.branch_id) \
            if ctx.member.branch_id is not None else []:
        if m.id == ctx.member.id or len(m.name) < 2 or not said.startswith(m.name):
            continue
        after = said[len(m.name):]
        if (helper[1] or not after or after[0] in _NAME_ENDS) \
                and not reason.lstrip().startswith(ctx.member.name):
            return m.name
    if ctx.role in _STAFF:
        # From one who records leave (代请假), anyone on the roster named on their own: 请假
        # 马超 出差 for another branch's 马超 was the 书记's own leave, with 马超 for reason.
        first = re.split(f"[{re.escape(_NAME_ENDS)}]", said, maxsplit=1)[0]
        if len(first) >= 2 and first != ctx.member.name and any(
                m.name == first for m in org.members_by_name_or_staff_no(ctx.session, text=first)):
            return first
    return None


# 请假改到明天, 请假时间改成周四: the member's leave moved to another day. Read as leave,
# 到明天 made it two days' (today and tomorrow) with the reason 改.
_MOVED = re.compile(r"^\s*的?(?:时间|日期|日子)?\s*(?:改期|改|换|调整?|挪|推迟|延期|顺延)\s*"
                    r"(?:到|成|为|至)\s*(?P<to>\S.*)$")
_NEXT_ONE = re.compile(r"^(?:下次|下一次|下回)")


def _moved_to(ctx: Ctx, reason: str, today: date) -> Reply | None:
    """Leave said to move to a day (or the next one): how to move it, nothing recorded.
    None when what follows 改到 is no day (请假 调到市局培训 is a reason)."""
    said = _MOVED.match(reason)
    if said is None:
        return None
    to = said["to"]
    try:
        day = find_leading_day(to, today)
    except DateError:
        day = None
    nextone = _NEXT_ONE.match(to)
    if day is None and nextone is None:
        return None
    rest = day.rest if day is not None else to[nextone.end():]
    when = to[:len(to) - len(rest)].strip()
    why = rest.strip(" ，,、。:：;；") or "原因"
    return Reply.error(f"没有记请假，没有改动：请假不能直接改日期。请先发送「销假」撤回原来的请假"
                       f"（只撤回一次的，写上活动或日期，如「销假 夜学」），再发送「请假 {when} {why}」。")


def _after_name(reason: str, name: str) -> str:
    """What follows the member named first in a leave (请假 帮李明请个假 发烧: 发烧)."""
    said = reason[_FOR_ANOTHER.match(reason).end():]
    return re.sub(r"^[\s，,、。:：;；]*(?:请个?假|请)?[\s，,、。:：;；]*", "",
                  said[len(name):]) if said.startswith(name) else said


def _name_or_day(ctx: Ctx, name: str, reason: str) -> Reply | None:
    """A member's name said first that is also a day (周五, 明天): which one is asked, with the
    day written so that it reads one way only. It was refused as leave for another member,
    and the sender told no way to ask for that day."""
    said = reason.lstrip()
    if not said.startswith(name):
        return None  # 帮周五请: another member's, as said
    try:
        day = find_leading_day(name, ctx.local_now.date())
    except DateError:
        return None
    if day is None or day.rest:
        return None
    why = said[len(name):].strip(_NAME_ENDS) or "原因"
    when = show_date(day.first, today=ctx.local_now.date())
    return Reply.error(f"没有记请假：「{name}」是日期，也是本支部一位同志的名字。请{when}的假，"
                       f"请发送「请假 {when} {why}」；{name}同志请假请本人发送。")


def _day_left(reason: str) -> Reply | None:
    """A day still among the words once the days were read (周二、周四 值班, 值班 周四,
    周二到周四): said so, and nothing recorded, rather than leave for a day not meant."""
    left = day_left(reason)
    if left is None:
        return None
    return Reply.error(usage_text(LEAVE, f"没有记请假：没读懂「{shorten(left)}」是请哪天的假。"
                                         "一次请一天（请假 周四 值班）或连着的几天（请假 12月8日至"
                                         "12月10日 值班），不连着的几天请分别发送"))


# A decision said after 请假 (请假批准 李明, 请假不同意 李明, 请假收到): a secretary deciding
# leave, or acknowledging it, never leave of theirs with 批准 李明 as its reason.
_DECIDED = re.compile(r"(?P<word>不批准|不同意|不通过|不准|驳回|批准|同意|审批|通过|准了|准|收到)了?"
                      r"(?P<apart>[\s,，、:：]*)(?P<who>.*)")
_REFUSED = ("不批准", "不同意", "不通过", "不准", "驳回")
# Only these read a name glued on (请假批准李明): 准备考试, 通过考试 and 收到通知 are reasons.
_NAME_GLUED = ("不批准", "不同意", "驳回", "批准", "同意", "审批")
_DECIDE_HOW = "批准请发送「批准请假 姓名」，驳回请发送「驳回请假 姓名」。没有记请假。"


def _decision_said(ctx: Ctx, reason: str) -> Reply | None:
    """请假批准 李明 from one who may decide it: 批准请假 李明 (驳回请假 for a refusal), which
    says so when no 李明 is found (a name mistyped must not become the secretary's own leave).
    From a member: the words to write if 李明 is on the roster, else None, a reason (请假
    同意书签字). The decision word alone (请假收到, 请假批准): the words to write."""
    assert ctx.member is not None
    said = _DECIDED.fullmatch(reason.strip().rstrip("。！!"))
    if said is None or not said["apart"] and said["who"] and said["word"] not in _NAME_GLUED:
        return None
    # 请假不批准 李明 时间冲突: the name, then the secretary's reason for a refusal.
    who, _, why = re.sub(r"[\s,，、]+", " ", said["who"].strip()).partition(" ") \
        if said["word"] in _REFUSED else (said["who"].strip(), "", "")
    who = who.removesuffix("的请假").removesuffix("请假").removesuffix("的")
    if not who:
        return Reply.error(_DECIDE_HOW)
    may = ctx.role in _STAFF and not (
        ctx.role in (Role.SECRETARY, Role.COMMITTEE) and ctx.branch is not None
        and ctx.member.branch_id != ctx.branch.id)
    if _KIND_ENDS.search(who):
        return None
    if not may:  # 请假 同意书签字 from a member is leave; 请假批准 李明 is not theirs to say
        named = who.startswith("@") or bool(org.members_by_name_or_staff_no(ctx.session,
                                                                            text=who))
        return Reply.error(_DECIDE_HOW) if named else None
    if said["word"] in _REFUSED:
        return revoke_leave(ctx, {"who": who, "reason": why.strip() or None})
    return approve_leave(ctx, {"who": who})


# A part of a day said after it (请假 明天晚上 值班, 周四下午 开会): the activities starting
# then, by the hour. With none planned yet, the whole day is asked for, as before.
# Said apart from the reason only: 明天下午出差 is a trip that leaves in the afternoon, not
# leave for the afternoon's activities. 中午 overlaps 上午 and 下午 on purpose: a meeting at
# 11:30 or 13:00 is what people call the noon one. 晚 and 早 alone too (明天晚 值班): read
# as no part, the whole day was excused with 晚 值班 as the reason.
_PART_OF_DAY = re.compile(r"(上午|早上|中午|下午|晚上|晚|早)(?:[\s，,、:：]+|$)")
_PART_HOURS = {"上午": (0, 12), "早上": (0, 12), "中午": (11, 14), "下午": (12, 18),
               "晚上": (18, 24)}


# A day, a part of it and an hour, any of them (明天, 下午三点, 八点半, 15:00): when, not what.
_CN_NUM = "零〇一二两三四五六七八九十"
_WHEN_ONLY = re.compile(
    rf"(?:{DAY_AHEAD.pattern}|后天|大后天|下次)?\s*(?:上午|下午|晚上|早上|中午|傍晚|晚|早)?\s*"
    rf"(?:\d{{1,2}}\s*[:：.]\s*\d{{2}}|[\d{_CN_NUM}]{{1,3}}\s*点(?:钟|半|整|[\d{_CN_NUM}]{{1,3}}分?)?)?"
    r"\s*(?:再?开始|开)?", re.IGNORECASE)

# 明天起三天, 周一开始请两天假: how many days from the day said.
_DAYS_FROM = re.compile(r"^\s*(?:起|开始)\s*(?:请)?\s*(\d{1,3}|[一二两三四五六七八九十]{1,3})\s*个?\s*天"
                        r"(?:假)?(?:[\s，,、：:]+|$)")

# Days said that are not one day nor a range read (月底, 周末, 下个月): asked, or the leave
# would land on the activity at hand with the words as its reason.
# Words that also begin a reason (这几天发烧, 上个月做了手术, 节前单位加班) are days only when
# said on their own.
# How long, with no day it starts (请假 三天 出差, 这两天 值班, 请假一周 出差): asked. 一天
# and 半天 are the activity at hand, as 请假 alone; 25日 and 十日 are days of the month.
_HOW_LONG = re.compile(
    r"^\s*((?:这|近|最近)?(?P<days>[两二三四五六七八九十]{1,2}|[2-9]|[1-9]\d)\s*个?\s*天"
    r"|(?:[两二三四五六七八九十]|[2-9])\s*个?\s*(?:周|星期|礼拜)"
    r"|一\s*个?\s*(?:周|星期|礼拜|月)|半\s*个?\s*月)(?=[\s，,、:：。;；]|$)")
_VAGUE_DAYS = re.compile(
    r"^\s*((?:这|本|下下|下|上)?(?:周|週|星期|礼拜)末|月底|月初|月中|月末|年底|年初|过几天|节后"
    r"|[上中下]旬|(?:本|这个?|下个?|上个?)月(?:底|初|中|末)(?!\s*[\d一二三四五六七八九十])"
    r"|(?:(?:本|这个?|下个?|上个?)月(?!\s*[\d一二三四五六七八九十])|这几天|近几天|节前)"
    r"(?=[\s，,、:：。;；]|$))")

# Days a leave lasts until, said loosely at its end (出差到月底, 一直到周末, 要到下周才回来).
_UNTIL_LOOSELY = re.compile(r"(?:到|至)\s*(?P<days>[^\s，,、：:到至]+?)(?:为止|才?回来|返回|结束)?"
                            r"[\s。！!]*$")

# Today with the part of it said (今晚, 今天下午): those hours of today.
# The part alone too (请假 晚上 值班): today's, not the meeting under way that morning.
_TODAY_PART = re.compile(r"^\s*(?:(?:今天|今日)?\s*(上午|早上|中午|下午|晚上)|今(晚|早)上?)"
                         r"(?:的(?=\S))?(?:[\s，,、:：]+|$)")
_PART_SAID = {"晚": "晚上", "早": "早上"} | {p: p for p in _PART_HOURS}
# Today said first in a 销假 (今晚的夜学, 今天晚上, 今晚上, 今天): today's leave.
_TODAY_SAID = re.compile(r"^\s*(?:(?:今天|今日)(?:上午|早上|中午|下午|晚上)?|今[晚早]上?)"
                         r"(?:的)?[\s，,、：:]*")
_THIS_ONE = re.compile(r"\s*(?:这次|本次|这一次)(?:的)?(?:请假|假)?\s*")
_TODAY_FROM = re.compile(r"^\s*(?:从\s*)?(?:今天|今日)")

# 今天请假, 请假一天: when or how long, but not why.
_NOW_WORDS = frozenset({"今天", "今日", "今晚", "现在", "这次", "一天", "半天", "一下", "两天",
                        "三天", "一次"})


def _ask(ctx: Ctx) -> str:
    """The part of a request's key that names the message asking: a record's or a period's
    id alone is not enough, since one taken back (销假) is deleted and SQLite gives its id to
    the next, whose request would then share the withdrawn one's key and be dropped as a
    duplicate. A delivery retried is answered from its stored reply, so asks nothing twice."""
    return f"ask:{ctx.message.message_id}"


def _who_decides(ctx: Ctx, branch_id: int | None) -> str:
    """Who decides the sender's leave in the scope, as the reply names them: the 书记, the
    委员 for a 书记's own, the 领导 for the bureau's activities. Named wrongly, the member
    asks someone who has nothing of it."""
    assert ctx.member is not None
    deciders = org.leave_deciders(ctx.session, branch_id=branch_id, asking=ctx.member.id)
    if deciders:
        return ROLE_LABELS.get(Role(deciders[0].role), "书记")
    return "领导" if branch_id is None else "书记"


def _ask_for_a_decision(ctx: Ctx, *, branch_id: int | None, key: str, asked: str) -> str:
    """Leave that needs approval: a private word to whoever decides it, at once or, at
    night, when quiet hours end. Without it the request waits unseen until absences are
    confirmed, and then counts as an absence. Returns what to tell the member of it."""
    assert ctx.member is not None
    reached = ask_for_a_decision(ctx.session, member=ctx.member, branch_id=branch_id, key=key,
                                 asked=asked, now=ctx.now, not_before=ctx.after_quiet_hours(),
                                 prefer=ctx.message.platform)
    if not reached:
        return "没有能收到通知的书记或委员，请直接告诉能批准的同志。"
    return f"已通知{ROLE_LABELS.get(reached[0].role, '书记')}。"


_NOW_GLUED = re.compile(r"^(?:今天晚上|今天下午|今天上午|今天|今日|今晚上|今晚|这次)(?=\S)")
_NEXT_SAID = re.compile(r"^\s*(?:下次|下一次)的?[\s，,、:：]*")
# What may stand between the activity a leave names and its reason.
_KIND_ENDS = re.compile(r"[\s,，、;；:：]+")


def _named_kind(reason: str) -> tuple[ActivityType | None, str]:
    """The activity a leave names before its reason (夜学 值班, 主题党日的 出差, 主题党日，出差,
    夜学值班) and the reason left; (None, reason) when it names none. Read only before a
    space, a comma or a word glued on were taken for the reason, and the leave went to
    whichever activity came first."""
    nextone = _NEXT_SAID.match(reason)
    if nextone is not None and reason[nextone.end():]:
        # 下次夜学 值班: the next night study, which 夜学 alone means (下次 was the reason's,
        # and the leave went to the meeting under way).
        kind, rest_ = _named_kind(reason[nextone.end():])
        if kind is not None:
            return kind, rest_
    parts = _KIND_ENDS.split(reason.strip(), maxsplit=1)
    first, rest_ = parts[0], (parts[1] if len(parts) > 1 else "")
    unsaid = _NOW_GLUED.sub("", first)
    if unsaid != first and parse_activity_type(unsaid.removesuffix("的")) is not None:
        first = unsaid  # 今晚夜学 值班: which evening's, not part of the reason
    kind = parse_activity_type(first.removesuffix("的"))
    if kind is not None:
        return kind, without_leading_now(rest_.strip())  # 夜学 今天 值班: the reason, 值班
    for cut in range(len(first) - 1, 1, -1):  # the longest name first: 政治夜学, not 夜学
        kind = parse_activity_type(first[:cut].removesuffix("的"))
        glued = first[cut:]
        if kind is not None and not glued.startswith("议"):  # 小组会议冲突 names no 小组会
            glued = glued.removeprefix("活动").removeprefix("的")  # 主题党日活动出差
            return kind, f"{glued} {rest_}".strip()
    return None, reason


def _planned_kinds(ctx: Ctx, day: date, hours: tuple[int, int]) -> list[ActivityType]:
    """The kinds the member's fixed schedules hold on the day, starting in those hours,
    earliest first."""
    assert ctx.member is not None
    tz = ctx.settings.tz
    found = sorted(
        (occurrence.starts_at, schedule.activity_type)
        for schedule in schedules.schedules_of(ctx.session, member=ctx.member)
        for occurrence in held_on(schedule, day, tz=tz)
        if occurrence.starts_at is not None and occurrence.starts_at > ctx.now
        and hours[0] <= occurrence.starts_at.astimezone(tz).hour < hours[1])
    return [ActivityType(kind) for _, kind in found]


# A near day said first (今天, 今晚, 明天晚上, 明早): one the member believes holds something.
_NEAR_DAY = re.compile(r"^\s*(?:从\s*)?((?:今天|今日|明天|明日)(?:上午|早上|中午|下午|晚上)?"
                       r"|[今明][晚早]上?)")


def _nothing_then(ctx: Ctx, day: date, hours: tuple[int, int], kind: ActivityType | None,
                  reason: str, word: str) -> Reply | None:
    """The refusal of leave for a near day (今晚, 明天) that holds nothing for the member
    (of `kind` where given), planned or in a schedule, naming the next one and how to ask
    for it. None when the day holds one, even at other hours than those said, or one not
    theirs: the replies that name it are the leave's own."""
    assert ctx.member is not None
    tz = ctx.settings.tz

    def then(session, *, branch_id, now):  # noqa: ANN001, ANN202
        return [a for finder in (store.current_activities, store.next_activities)
                for a in finder(session, branch_id=branch_id, now=now)
                if a.starts_at.astimezone(tz).date() == day]

    if any(found is not None for found in _find_for_member(ctx, then, kind=kind)):
        return None
    planned = _planned_kinds(ctx, day, (0, 24))
    if (planned if kind is None else kind in planned):
        return None
    if day == ctx.local_now.date() and _begun_today(ctx, kind, (0, 24)):
        return None
    what = kind.value if kind is not None else "活动"
    said = f"{word}（{show_date(day)}）" if word[:1] in "今明" else show_date(day)
    text = f"{said}没有需要你参加的{what}，没有记请假。"
    after = datetime.combine(day, time(hours[1] % 24), tzinfo=tz) + (
        timedelta(days=1) if hours[1] >= 24 else timedelta())
    found = _next_after(ctx, after, kind)
    if found is None:
        return Reply.error(text + "发送「日程」可查看本支部接下来的活动。")
    starts, named, planned_one = found
    local = starts.astimezone(tz)
    which = f" {kind.value}" if kind is not None else ""
    ask = f"「请假 {show_date(local.date())}{which} {reason}」"
    if planned_one:
        ask += f"或「请假 下次{which} {reason}」"
    return Reply.error(f"{text}下一次是{named}（{show_date(local.date())} {local:%H:%M}）；"
                       f"要请那次的假，请发送{ask}。")


def _next_after(ctx: Ctx, after: datetime, kind: ActivityType | None
                ) -> tuple[datetime, str, bool] | None:
    """The member's next activity starting from `after`, of `kind` where given: when,
    its type, and whether it is planned already (else a schedule holds it)."""
    assert ctx.member is not None
    planned, _, _ = _find_for_member(
        ctx, lambda session, *, branch_id, now: store.next_activities(
            session, branch_id=branch_id, now=after), kind=kind)
    held = sorted(
        (occurrence.starts_at, schedule.activity_type)
        for schedule in schedules.schedules_of(ctx.session, member=ctx.member)
        if kind is None or schedule.activity_type == kind
        for occurrence in next_held(schedule, now=after, tz=ctx.settings.tz, count=1,
                                    until=schedules.last_day(ctx.session, schedule),
                                    called_off=schedules.called_off(
                                        ctx.session, schedule=schedule, after=after))
        if occurrence.starts_at is not None)
    if planned is not None and (not held or planned.starts_at <= held[0][0]):
        return planned.starts_at, planned.type, True
    return (held[0][0], held[0][1], False) if held else None


def _leave_for_planned(ctx: Ctx, kind: ActivityType, reason: str) -> Reply:
    """请假 主题党日 出差 with no theme day planned yet (activities exist three days ahead):
    leave for the day the member's next one is held by its fixed schedule, as 请假 12月20日
    出差 would be, so it is excused once it is planned."""
    assert ctx.member is not None
    starts = sorted(
        occurrence.starts_at
        for schedule in schedules.schedules_of(ctx.session, member=ctx.member)
        if schedule.activity_type == kind
        for occurrence in next_held(schedule, now=ctx.now, tz=ctx.settings.tz, count=1,
                                    until=schedules.last_day(ctx.session, schedule),
                                    called_off=schedules.called_off(
                                        ctx.session, schedule=schedule, after=ctx.now))
        if occurrence.starts_at is not None)
    if not starts:
        return Reply.error(f"近期没有需要你参加的{kind.value}，没有记请假。"
                           "发送「日程」可查看本支部接下来的活动。")
    day = starts[0].astimezone(ctx.settings.tz).date()
    return _leave_period(ctx, DateRange(day, day, reason), kind=kind)


def _leave_period(ctx: Ctx, span: DateRange, *, kind: ActivityType | None = None) -> Reply:
    """请假 over days: every activity the member is expected at in them is excused, those
    already planned and those planned later; no nudge reaches them meanwhile."""
    assert ctx.member is not None
    today = ctx.local_now.date()
    if not span.rest:
        return Reply.error(usage_text(LEAVE, "请写明请假原因"))
    if span.last < today:
        return Reply.error(usage_text(LEAVE, f"{span.last.month}月{span.last.day}日已经过去了"))
    first = max(span.first, today)
    state = LeaveState.PENDING if ctx.settings.leave_requires_approval else LeaveState.GRANTED
    period, excused = leave_store.record_period(
        ctx.session, member=ctx.member, first=first, last=span.last, reason=span.rest,
        state=state, now=ctx.now, tz=ctx.settings.tz, platform=ctx.message.platform,
        message_id=ctx.message.message_id, activity_type=kind.value if kind else None,
        # The study that opened minutes ago, as 请假 值班 would excuse it (leave_allowed).
        grace=timedelta(minutes=ctx.settings.late_grace_minutes))
    # Leave the secretary turned down stays so where it needs no approval: asked again it
    # would be granted unseen. Where it does, the new request replaces it (storage.leave).
    refused = leave_store.turned_down(ctx.session, period=period, now=ctx.now,
                                      tz=ctx.settings.tz)
    ctx.audit("leave.period", target=ctx.member.name,
              detail={"period_id": period.id, "first": first.isoformat(),
                      "last": span.last.isoformat(), "reason": span.rest,
                      "activity_type": kind.value if kind else None,
                      "activity_ids": [a.id for a in excused],
                      "turned_down_activity_ids": [a.id for a in refused]})
    # Activities in the days on leave already (请假 值班 for Tuesday's, then Tuesday to
    # Thursday): named, never said to be none.
    grace = timedelta(minutes=ctx.settings.late_grace_minutes)
    already = [activity for row, activity in store.own_leave(
        ctx.session, member_id=ctx.member.id, now=ctx.now)
        if activity.starts_at >= ctx.now - grace and activity not in excused
        and row.leave_state != LeaveState.REVOKED
        and leave_store.covers(period, activity, ctx.settings.tz)]
    # Today's activities begun already, which no leave can excuse now: said, or the member
    # believes the day excused and is counted absent.
    missed = [a for a in _begun_today(ctx, None, (0, 24))
              if a.starts_at < ctx.now - grace and a not in excused and a not in already
              and leave_store.covers(period, a, ctx.settings.tz)] if first == today else []
    if missed and not excused and not already and first == span.last:
        return _too_late(ctx, missed[-1])  # 请假 今天 at 21:40: nothing left to excuse
    days = (span.last - first).days + 1
    head = (f"请假已提交，等待{_who_decides(ctx, ctx.member.branch_id)}批准"
            if state == LeaveState.PENDING else "已请假")
    when = show_days(first, span.last) + (f"（{days} 天）" if days > 1 else "")
    pending = state == LeaveState.PENDING
    # A period asked for one kind of activity excuses that kind only (its other activities
    # stay expected), and says so.
    these = ("这期间需要你参加的活动" if kind is None
             else f"{'这天' if first == span.last else '这期间'}的{kind.value}")
    if kind is not None:
        when += f"（{kind.value}）"
    if excused:
        covered = (f"批准后，{these}都记为请假；等待批准时不会提醒你签到。" if pending
                   else f"{these}都记为请假，不会再提醒你签到。")
    elif already:
        covered = (("批准后，" if pending else "") + "这期间之后安排的活动也记为请假。")
    elif kind is not None:  # too far off to be planned yet
        covered = (("批准后，" if pending else "") + f"{these}安排后记为请假"
                   + ("。" if pending else "，不会提醒你签到。"))
    elif held := _held_in(ctx, first, span.last):
        # Activities are planned three days ahead: the days' theme day and studies in the
        # schedule are named, not said to be none (日程 lists them).
        shown = "、".join(f"{show_date(day)} {kind}" for day, kind in held[:4])
        more = "等" if len(held) > 4 else ""  # a weekly schedule is read 45 days ahead
        covered = (f"这期间日程上有{shown}{more}，" + ("批准后" if pending else "")
                   + "安排后都记为请假" + ("。" if pending else "，不会提醒你签到。"))
    else:  # said, so that nobody believes an activity was excused
        covered = ("这期间目前没有安排需要你参加的活动；" + ("批准后，" if pending else "")
                   + "之后安排的也记为请假。")
    lines = [f"{head}：{when}，原因：{span.rest}。", covered]
    if pending:
        planned = f"，其间已安排的活动 {len(excused)} 次" if excused else ""
        told = _ask_for_a_decision(ctx, branch_id=ctx.member.branch_id,
                                   key=f"period:{period.id}|{_ask(ctx)}",
                                   asked=f"{when}，原因：{span.rest}{planned}。")
        lines[-1] += told
    if excused:
        lines.append(f"已安排的 {len(excused)} 次：" + "、".join(_label(ctx, a) for a in excused))
    if already:
        lines.append(f"已请假的 {len(already)} 次（原请假不变）：" + "、".join(
            _label(ctx, a, with_date=True) for a in already))
    if missed:
        lines.append("、".join(_label(ctx, a, with_date=True) for a in missed)
                     + "已经" + ("结束" if all(a.ends_at <= ctx.now for a in missed) else "开始")
                     + "，不能再请假。")
    if refused:
        who = _who_decides(ctx, ctx.member.branch_id)
        lines.append(f"已被{who}驳回的请假不变，仍需参加："
                     + "、".join(_label(ctx, a, with_date=True) for a in refused)
                     + f"。如有疑问请直接联系{who}。")
    return Reply("\n".join(lines))


def _held_in(ctx: Ctx, first: date, last: date) -> list[tuple[date, str]]:
    """The member's fixed schedules' occurrences still to come from `first` to `last`:
    day and kind, earliest first."""
    assert ctx.member is not None
    tz = ctx.settings.tz
    start = max(ctx.now, datetime.combine(first, time(), tzinfo=tz))
    found = []
    for schedule in schedules.schedules_of(ctx.session, member=ctx.member):
        try:
            held = next_held(
                schedule, now=start, tz=tz, count=400,
                until=min(filter(None, (last, schedules.last_day(ctx.session, schedule)))),
                called_off=schedules.called_off(ctx.session, schedule=schedule, after=start))
        except RuleError:  # a rule the tick cannot read holds nothing (it skips it too)
            continue
        found += [(o.starts_at, schedule.activity_type) for o in held if o.starts_at]
    return [(starts.astimezone(tz).date(), kind) for starts, kind in sorted(found)]


def _days_said(text: str, today: date) -> DateRange | None:
    """The days a message names at its start, read alike by 请假 and 销假 (so that 销假
    takes back what the same words asked for): a range or a week (12月14日至18日, 下周,
    今天到周四), one day (12月10日, 周四), or a day and how many from it (明天起三天,
    今天起三天). DateError for a day that does not exist or a count not read."""
    span = (find_date_range(text, today) or find_day_to_day(text, today)
            or find_leading_week(text, today) or find_leading_day(text, today))
    if span is None and (from_today := _TODAY_FROM.match(text)) is not None \
            and _DAYS_FROM.match(text[from_today.end():]):
        span = DateRange(today, today, text[from_today.end():])
    if span is not None and span.first == span.last and (
            lasting := _DAYS_FROM.match(span.rest)) is not None:
        # 明天起三天 出差: three days from tomorrow (one day, reason 起三天 出差, before).
        count = cn_number(lasting[1]) if not lasting[1].isdigit() else int(lasting[1])
        if not count or count > 366:
            raise DateError(f"没读懂「{lasting[0].strip()}」是几天")
        span = DateRange(span.first, span.first + timedelta(days=count - 1),
                         span.rest[lasting.end():].strip())
    return span


class LooseUntil(Exception):
    """出差到月底, 出差到下周: leave until a day said too loosely to count the days by."""

    def __init__(self, days: str) -> None:
        super().__init__(days)
        self.days = days


def leave_days(said: str, today: date) -> tuple[DateRange | None, re.Match[str] | None]:
    """The days leave's words name first, read alike by 请假 and 代请假: _days_said's, 今晚
    (today's activity in those hours, as 明天晚上 is tomorrow's: not the meeting under way,
    nor the next day's with the reason 「今晚 值班」), and a day the leave lasts until (出差到
    12月10日: the days from today, or from the day said first). With the 今晚 match, for the
    hours; (None, None) when no day is said. DateError for a day that is none; LooseUntil
    for 出差到月底, which read as a reason excused the activity at hand alone and left the
    days after it expected."""
    span = _days_said(said, today)
    tonight = _TODAY_PART.match(said) if span is None else None
    if tonight is not None:
        span = DateRange(today, today, said[tonight.end():].strip())
    until = find_until(span.rest if span is not None else said, today)
    loose = _UNTIL_LOOSELY.search(said) if until is None else None
    if loose is not None and (_VAGUE_DAYS.match(loose["days"])
                              or find_leading_week(loose["days"], today) is not None):
        raise LooseUntil(loose["days"])
    if until is not None:
        span = DateRange(span.first if span is not None else today, until.last, until.rest)
    return span, tonight


def _leave_kinds_then(ctx: Ctx, day: date, hours: tuple[int, int]) -> set[ActivityType]:
    """The kinds of the member's leave on activities of the day starting in those hours."""
    assert ctx.member is not None
    tz = ctx.settings.tz
    return {ActivityType(activity.type) for _, activity in store.own_leave(
        ctx.session, member_id=ctx.member.id, now=ctx.now)
        if activity.starts_at.astimezone(tz).date() == day
        and hours[0] <= activity.starts_at.astimezone(tz).hour < hours[1]}


def withdraw_leave(ctx: Ctx, args: dict[str, Any]) -> Reply:
    """销假: back after all. Taken back for every activity leave could still be asked for,
    and periods end yesterday, so the figures count the member as expected again. 销假 夜学
    or 销假 12月10日 takes back that leave alone (the rest was lost with it, and the member
    counted absent where they had asked to be excused)."""
    assert ctx.member is not None and ctx.member.id is not None
    today = ctx.local_now.date()
    which = (args.get("which") or "").strip()
    # 销假 今晚, 今晚的夜学: today's. Not read as a day, the words named nothing, and every
    # leave the member had went with it, days asked for next week too. 今天到周四 and
    # 今天起三天 are those days, as 请假 reads them.
    try:
        from_today = _days_said(which, today) if _TODAY_FROM.match(which) else None
    except DateError as exc:
        return Reply.error(usage_text(WITHDRAW, f"没有销假：{exc}"))
    tonight = _TODAY_SAID.match(which) if from_today is None else None
    kind, rest_ = _named_kind(which[tonight.end():] if tonight else which) \
        if which else (None, "")
    part = _TODAY_PART.match(which) if tonight is not None and kind is None else None
    if part is not None:
        # 销假 今晚: the leave of the evening, not the morning's 主题党日 too (as 请假 今晚
        # is the evening's alone).
        then = _leave_kinds_then(ctx, today, _PART_HOURS[_PART_SAID[part[1] or part[2]]])
        if not then:
            return Reply.error(f"没有找到「{which}」可以撤回的请假，什么也没有改。"
                               "发送「我的请假」查看你的请假。")
        if len(then) == 1:
            kind = then.pop()
    try:
        # Days as 请假 reads them (12月14日至18日, 下周): the leave in them, not all of it.
        said = (DateRange(today, today, rest_) if tonight else _days_said(
            rest_ if kind else which, _ahead_read_from(ctx, rest_ if kind else which)[0])
            if which else None)
    except DateError as exc:
        return Reply.error(usage_text(WITHDRAW, f"没有销假：{exc}"))
    if kind is None and said is not None and said.rest:
        kind, _ = _named_kind(said.rest)  # 销假 明天的夜学: that study, not all of the day
    if _THIS_ONE.fullmatch(which):
        # 销假 这次: the leave asked for the next activity, that one alone (not read, it
        # took back every leave, days asked for next week too).
        grace = timedelta(minutes=ctx.settings.late_grace_minutes)
        upcoming = [activity for row, activity in store.own_leave(
            ctx.session, member_id=ctx.member.id, now=ctx.now)
            if activity.starts_at >= ctx.now - grace
            and row.leave_state != LeaveState.REVOKED]
        if upcoming:
            first = upcoming[0].starts_at.astimezone(ctx.settings.tz).date()
            said = DateRange(first, first, "")
            kind = next((k for k in ActivityType if k.value == upcoming[0].type), None)
    if kind is None and said is None and (vague := _VAGUE_DAYS.match(which)) is not None:
        # 销假 周末: days said that are not read took back every leave, days ahead too.
        return Reply.error(f"没有销假：「{vague[1]}」是哪几天没写清楚。请写明日期，如「销假 12月12日」"
                           "或「销假 12月12日至13日」；全部撤回请发送「销假」。发送「我的请假」可查看。")
    if kind is None and said is None:
        which = ""  # 销假 我能参加了: words about it, not which: all of it, as ever
    day = said.first if said is not None else None
    withdrawn = leave_store.withdraw(
        ctx.session, member_id=ctx.member.id, today=today, now=ctx.now,
        grace=timedelta(minutes=ctx.settings.late_grace_minutes),
        kind=kind.value if kind else None, day=day,
        last=said.last if said is not None else None, tz=ctx.settings.tz)
    if not withdrawn:
        if which:
            return Reply.error(f"没有找到可以撤回的{which}的请假。发送「我的请假」查看你的请假。")
        return Reply.error("你现在没有可以销的假。请假在活动开始前（或刚开始、签到还不算迟到时）"
                           "可以撤回；活动已经开始的，来了直接发送「签到」即可。")
    # Named, the requests about what was taken back, not the others'.
    _withdraw_asks(ctx, ctx.member, "已销假", about=[
        *(f"attendance:{i}|" for i in withdrawn.row_ids),
        *(f"period:{i}|" for i in withdrawn.period_ids)] if which else None)
    ctx.audit("leave.withdraw", target=ctx.member.name, detail={
        "activity_ids": [a.id for a in withdrawn.activities],
        "periods": [{"first": first.isoformat(), "asked_last": asked.isoformat(),
                     "last": last.isoformat() if last else None}
                    for first, asked, last in withdrawn.periods]})
    lines = ["已销假。"]
    for first, asked, last in withdrawn.periods:
        span = f"{show_days(first, asked)}的请假"
        lines.append(f"{span}改为至{last.month}月{last.day}日。" if last else f"{span}已撤销。")
    if withdrawn.activities:
        lines.append("这些活动恢复为需要你参加，届时请签到："
                     + "、".join(_label(ctx, a, with_date=True) for a in withdrawn.activities))
    if which:
        lines.append("其余的请假不变，发送「我的请假」可查看。")
    return Reply("\n".join(lines))


_LEAVE_STATES = {LeaveState.GRANTED: "已准假", LeaveState.REVOKED: "已被驳回，仍需参加"}


def _stands(ctx: Ctx, state: LeaveState, branch_id: int | None) -> str:
    """Where a leave stands, as 我的请假 says it: one waiting names who decides it."""
    if state == LeaveState.PENDING:
        return f"等待{_who_decides(ctx, branch_id)}批准"
    return _LEAVE_STATES[state]


def own_leave(ctx: Ctx, args: dict[str, Any]) -> Reply:
    """我的请假 (请假记录, 请假情况 …): the member's leave not over yet, each with where it
    stands. Asked as 请假记录, it was recorded as leave with the reason 记录."""
    assert ctx.member is not None and ctx.member.id is not None
    today = ctx.local_now.date()
    periods = leave_store.periods_of(ctx.session, member_id=ctx.member.id, today=today)
    listed = [(p.first_day, f"· {show_period(p.first_day, p.last_day, p.activity_type)}："
               f"{_stands(ctx, LeaveState(p.leave_state), ctx.member.branch_id)}，"
               f"原因：{p.reason}")
              for p in periods]
    for row, activity in store.own_leave(ctx.session, member_id=ctx.member.id, now=ctx.now):
        row_state = LeaveState(row.leave_state or LeaveState.GRANTED)
        if any(leave_store.covers(p, activity, ctx.settings.tz) and p.leave_state == row_state
               for p in periods):
            continue  # the period's, listed as the period
        # Decided apart from its period (驳回请假 of one study in leave granted for days):
        # listed, or the period's 已准假 would keep the member away from what they must attend.
        state = _stands(ctx, row_state, activity.branch_id)
        listed.append((activity.starts_at.astimezone(ctx.settings.tz).date(),
                       f"· {_label(ctx, activity, with_date=True)}：{state}，"
                       f"原因：{row.leave_reason}"))
    # 请假情况 from a secretary may ask after the branch's: 请假名单 shows who is on leave.
    branch_list = ("\n本支部谁请了假：私聊发送「请假名单」。"
                   if ctx.role in MANAGERS | LEADERS else "")
    if not listed:
        return Reply("你目前没有请假。不能参加活动请发送「请假 原因」，例如：请假 值班"
                     + branch_list)
    lines = [line for _, line in sorted(listed, key=lambda pair: pair[0])]
    # 销假 takes back all of it, not one: said, so nobody loses leave they meant to keep.
    text = "\n".join(["你的请假：", *lines, "发送「销假」会撤回以上还没开始的全部请假；"
                      "只撤回一次，写上活动或日期，如「销假 夜学」。"]) + branch_list
    # Asked in a group, the reasons (an illness, a family matter) and a refusal the 书记
    # told the member alone would be read out to the branch: they go privately.
    return Reply(tell_privately(ctx, text, kind=outbox.OWN_LEAVE, title="我的请假", key="leave.own",
                                told=f"{ctx.member.name}，你的请假情况已私聊发给你。",
                                unreached="请假情况涉及个人原因，请私聊我发送「我的请假」查看。"))


_LEAVE_SAID_AFTER = re.compile(r"的?(?:请假|假)$")
# 驳回 李明 的请假 时间冲突, 驳回 李明 理由：时间冲突: what stands before the reason itself.
_BEFORE_REASON = re.compile(r"^(?:的?(?:请假|假)[\s,，、:：]*)?(?:(?:理由|原因)(?:是|为|[:：]))?[\s,，、:：]*")
# What may follow the name of the member whose leave is decided, and says nothing more.
_THE_LEAVE = frozenset({"请假", "的请假", "的假"})


def _decide_leave(ctx: Ctx, args: dict[str, Any], command: Command, state: LeaveState) -> Reply:
    scope, problem = _manage_scope(ctx)
    if problem:
        return Reply.error(problem)
    since = ctx.now - timedelta(days=ctx.rules.makeup_window_days)
    # 驳回 周强同志的请假: the leave said with the name is no part of it.
    who = _LEAVE_SAID_AFTER.sub("", args["who"]) or args["who"]
    # 驳回 李明 时间冲突: the secretary's reason, told to the member with the decision.
    why = _BEFORE_REASON.sub("", args.get("reason") or "").strip() or None
    # One who moved away or left the roster since asking is still counted here for those
    # activities (their absences read them as they were at its end): decided here too.
    member = _resolve_one(ctx, command, scope, who, leave_since=since)
    if isinstance(member, Reply):
        return member
    assert ctx.member is not None
    others, _ = _more_names(ctx, scope, why or "")
    if others:
        # 驳回请假 周强 黄丽: one at a time, rather than 周强's with the reason 「黄丽」.
        asks = "、".join(f"「驳回请假 {name}」" for name in [member.name, *others])
        return Reply.error(f"驳回请假一次写一位同志，没有改动，请分别发送：{asks}。")
    if member.id == ctx.member.id:
        return _own_leave(ctx, member, state)
    waiting = store.pending_leave(ctx.session, branch_id=scope, member_id=member.id)
    # A period follows the member (it excuses wherever they are due): once they have gone,
    # it is their new branch's to decide, not this one's.
    periods = leave_store.pending_periods(ctx.session, member_id=member.id,
                                          today=ctx.local_now.date()) \
        if member.active and scope in (None, member.branch_id) else []
    # Leave that lapsed into an absence, within the 补签 window: nobody decided it before
    # the absences were confirmed.
    lapsed = store.lapsed_leave(ctx.session, branch_id=scope, member_id=member.id,
                                since=since)
    if waiting or periods:
        # A period excuses the member wherever they are due, so what it covers is decided
        # with it in every scope: a bureau-wide 中心组学习 planned in it before the branch
        # secretary approved it stayed pending, and lapsed into an absence.
        def covered(found: list[tuple[Attendance, Activity]]) -> list[tuple[Attendance, Activity]]:
            return [(row, activity) for row, activity in found
                    if any(leave_store.covers(p, activity, ctx.settings.tz) for p in periods)]

        if periods:
            waiting += [found for found in covered(store.pending_leave(
                ctx.session, branch_id=scope, member_id=member.id, any_scope=True))
                if found not in waiting]
            waiting.sort(key=lambda found: (found[1].starts_at, found[1].id or 0))
        # The days of a period still waiting that lapsed already are part of the request,
        # and so is leave of this scope that lapsed undecided: the member was told to ask
        # the secretary, whose 批准请假 must not stop at the newer request.
        earlier = lapsed + [found for found in covered(store.lapsed_leave(
            ctx.session, branch_id=scope, member_id=member.id, since=since, any_scope=True))
            if found not in lapsed]
        earlier.sort(key=lambda found: (found[1].starts_at, found[1].id or 0))
        return _decide_pending(ctx, member, waiting, periods, state, earlier, why)
    found = store.leave_to_decide(ctx.session, branch_id=scope, member_id=member.id, now=ctx.now)
    if found is None:
        if lapsed:
            return _decide_lapsed(ctx, member, lapsed, state)
        return _lapsed_long_ago(ctx, scope, member, state) or \
            Reply.error(f"{member.name} 没有待处理的请假。")
    row, activity = found
    verb = "批准" if state == LeaveState.GRANTED else "驳回"
    if row.leave_state == state and state == LeaveState.GRANTED and row.leave_decided_by is None:
        return Reply(f"{member.name} 的请假在提交时已自动批准（本局请假不需要书记审批），"
                     f"不用再批准：{_label(ctx, activity, with_date=True)}。")
    if row.leave_state == state:
        return Reply(f"{member.name} 的请假已经{verb}过了：{_label(ctx, activity, with_date=True)}。")
    if (state == LeaveState.REVOKED and row.leave_state == LeaveState.GRANTED
            and activity.ends_at <= ctx.now):
        # The member stayed away as allowed: turned down now, they would be counted absent,
        # with the penalty, for an activity they can no longer come to.
        return Reply.error(f"{_label(ctx, activity, with_date=True)}已经结束，{member.name} 的请假"
                           "此前已批准，不能再驳回，记录保持请假。")
    before = row.leave_state
    store.decide_leave(ctx.session, attendance=row, state=state, by=ctx.member, now=ctx.now)
    told = _tell_of_decision(ctx, member, state, _label(ctx, activity, with_date=True), why=why)
    ctx.audit(
        "leave.approve" if state == LeaveState.GRANTED else "leave.revoke",
        target=member.name,
        detail={
            "member_id": member.id,
            "activity_id": activity.id,
            "from": before,
            "to": state.value,
        } | ({"reason": why} if why else {}),
    )
    if state == LeaveState.REVOKED:
        return Reply(f"已驳回 {member.name} 的请假，{_label(ctx, activity)}仍需参加。"
                     + _reason_told(why, told))
    return Reply(f"已批准 {member.name} 的请假：{_label(ctx, activity, with_date=True)}。")


def _own_leave(ctx: Ctx, member: Member, state: LeaveState) -> Reply:
    """Nobody decides their own leave, as nobody makes up or corrects their own record: a
    书记's is the 委员's to decide. Turned down, it is taken back, which is 销假's to do."""
    if state == LeaveState.REVOKED:
        return Reply.error("不能驳回自己的请假，没有改动。要撤回自己的请假，请发送「销假」。")
    deciders = org.leave_deciders(ctx.session, branch_id=member.branch_id, asking=member.id)
    who = ("、".join(f"{ROLE_LABELS.get(Role(d.role), '')}{d.name}" for d in deciders)
           or "上级党组织")
    return Reply.error(f"不能批准自己的请假，没有改动：你的请假由{who}审批。")


def _decide_lapsed(ctx: Ctx, member: Member, lapsed: list[tuple[Attendance, Activity]],
                   state: LeaveState) -> Reply:
    """Leave nobody decided before the absences were confirmed was counted absent (and the
    member told to ask the secretary): approved within the 补签 window, it is put right as
    a 补签 is; turned down, it stays the absence it already is."""
    labels = "、".join(_label(ctx, a, with_date=True) for _, a in lapsed)
    if state == LeaveState.REVOKED:
        if not ctx.message.is_private:
            # In a group, not what the record is: that would say the member's absence.
            return Reply.error(f"{member.name}的这次请假不用再驳回，记录保持不变。详情请私聊我"
                               f"发送「驳回请假 {member.name}」查看。")
        return Reply.error(f"{member.name}对{labels}的请假到确认缺席时仍未批准，已记为缺席，"
                           "不用再驳回。")
    reversed_points = _grant_lapsed(ctx, member, lapsed)
    ctx.audit("leave.approve", target=member.name,
              detail={"member_id": member.id, "activity_ids": [a.id for _, a in lapsed],
                      "from": "lapsed", "to": LeaveState.GRANTED.value,
                      "reversed_points": reversed_points})
    _tell_of_decision(ctx, member, state, labels)
    return Reply(f"已批准 {member.name} 的请假：{labels}。" + _put_right(ctx, reversed_points))


def _lapsed_long_ago(ctx: Ctx, scope: Scope, member: Member, state: LeaveState) -> Reply | None:
    """Leave that lapsed into an absence longer ago than the 补签 window: the record stays,
    and the secretary is told why rather than that nothing was asked."""
    days = ctx.rules.makeup_window_days
    older = store.lapsed_leave_before(ctx.session, branch_id=scope, member_id=member.id,
                                      before=ctx.now - timedelta(days=days))
    if not older:
        return None
    if state == LeaveState.REVOKED:
        return _decide_lapsed(ctx, member, older, state)  # 不用再驳回: it changes nothing
    if not ctx.message.is_private:
        # In a group, not what the record is: that would say the member's absence.
        return Reply.error(f"{member.name}的这次请假已超过批准期限（活动后 {days} 天内），"
                           f"记录保持不变。详情请私聊我发送「批准请假 {member.name}」查看。")
    labels = "、".join(_label(ctx, a, with_date=True) for _, a in older)
    return Reply.error(f"{member.name}对{labels}的请假到确认缺席时仍未批准，已记为缺席。"
                       f"批准请假只能在活动后 {days} 天内进行，已超过 {days} 天，记录保持不变。"
                       "如确有错误，请联系管理员。")


def _grant_lapsed(ctx: Ctx, member: Member, lapsed: list[tuple[Attendance, Activity]]) -> int:
    """Lapsed leave approved: each absence becomes the leave asked for, its penalty
    reversed by a correcting entry. Returns the points reversed."""
    assert ctx.member is not None
    return sum(
        store.grant_lapsed_leave(ctx.session, attendance=row, activity=activity, member=member,
                                 by=ctx.member, now=ctx.now, rules=ctx.rules)
        for row, activity in lapsed)


def _put_right(ctx: Ctx, reversed_points: int, labels: str = "") -> str:
    """What approving lapsed leave changed, said to the secretary; in a group without the
    absence it had been, which would be said to everyone."""
    if not ctx.message.is_private:
        return f"{labels}记录已按请假更正" + ("，相关积分已冲销。" if reversed_points else "。")
    return (f"{labels or '它'}确认缺席时还未批准、记为缺席，现改为请假"
            + (f"，缺席扣分已撤销（{reversed_points:+d}）。" if reversed_points else "。"))


def write_privately(ctx: Ctx, members: list[Member], text: str, *, kind: str, title: str,
                    key: str, branch_id: int | None, answer: bool = False) -> list[Member]:
    """One private message to each member who can be reached, by the outbox: at once or,
    in quiet hours, when they end (at once whatever the hour for an `answer` to what the
    member asked: they are awake). Returns those reached."""
    reached = org.reach(ctx.session, members, prefer=ctx.message.platform)
    outbox.enqueue_private(ctx.session, reached=reached, text=text, title=title, kind=kind,
                           key=key, now=ctx.now, branch_id=branch_id,
                           not_before=None if answer else ctx.after_quiet_hours())
    return [member for member, _ in reached]


def tell_privately(ctx: Ctx, text: str, *, kind: str, title: str, key: str, told: str,
                   unreached: str) -> str:
    """A member's own answer (their leave, points, ledger): said in a private chat; asked in
    a group, sent to them alone, and the group hears `told` (or, with no account to write
    to, `unreached`)."""
    if ctx.message.is_private:
        return text
    member = ctx.member
    assert member is not None
    reached = write_privately(ctx, [member], text, kind=kind, title=title, answer=True,
                              branch_id=member.branch_id,
                              key=f"{key}|{ctx.message.platform}:{ctx.message.message_id}")
    return told if reached else unreached


def _tell_of_decision(ctx: Ctx, member: Member, state: LeaveState, what: str,
                      also: str = "", why: str | None = None) -> bool:
    """The member hears the secretary's decision on their leave: turned down, they are
    expected after all and must know it before the activity, not from a nudge, and why
    where the secretary said. Returns whether they can be reached."""
    assert ctx.member is not None
    if state == LeaveState.GRANTED:
        text, title = f"【请假已批准】{ctx.member.name}批准了你的请假：{what}。", "请假已批准"
    else:
        # A leader's refusal (the bureau's activities) is theirs to explain, not the 书记's.
        ask = ctx.member.name if ctx.member.role == Role.LEADER else "书记"
        because = f"理由：{why.rstrip('。.!！')}。" if why else ""
        text, title = (f"【请假未批准】{ctx.member.name}驳回了你的请假：{what}，仍需参加。"
                       f"{because}{also}如有疑问请联系{ask}。", "请假未批准")
    return bool(write_privately(
        ctx, [member], text, kind="leave.decided", title=title,
        key=f"leave.decided|{ctx.message.platform}:{ctx.message.message_id}",
        branch_id=member.branch_id))


def _reason_told(why: str | None, told: bool) -> str:
    """What the secretary is told of the reason they gave for turning leave down."""
    if not why:
        return ""
    return "理由已私信告知本人。" if told else "本人收不到私信，理由请当面告知。"


def calling_off(ctx: Ctx) -> CalledOff:
    """Activities called off in a chat are told of (bot.scheduling.called_off) not to
    whoever called them off, and privately on the chat's platform."""
    return CalledOff(ctx.session, ctx.settings, ctx.now, by=ctx.member,
                     platform=ctx.message.platform)


def called_off(ctx: Ctx, activity: Activity, reason: str) -> tuple[int, int]:
    """An activity called off in a chat, told of; returns (groups told, members told)."""
    return tell(calling_off(ctx), activity, reason)


def _asks_of(member: Member) -> str:
    """The start of the outbox keys of a member's requests for a decision."""
    assert member.id is not None
    return outbox.leave_asks_of(member.id)


def _withdraw_asks(ctx: Ctx, member: Member, reason: str,
                   about: list[str] | None = None) -> None:
    """A decision or a 销假 makes the member's requests not yet delivered stale: at night
    they wait for the morning, and a secretary must not be asked about one already settled.
    `about`: only those about these records (attendance:12|, period:3|), not all."""
    for key in about if about is not None else [""]:
        outbox.withdraw_unsent(ctx.session, kind=outbox.LEAVE_ASK,
                               key_prefix=_asks_of(member) + key, reason=reason)


def _decide_pending(ctx: Ctx, member: Member, waiting: list[tuple[Attendance, Activity]],
                    periods: list[LeavePeriod], state: LeaveState,
                    lapsed: list[tuple[Attendance, Activity]], why: str | None = None) -> Reply:
    """Everything the member asked that waits for a decision, decided at once: what the
    secretary was told about is one request, however many activities it covers. Days of
    it whose absence was confirmed meanwhile (`lapsed`, within the 补签 window) are put
    right when it is approved; turned down, they stay the absences they are."""
    assert ctx.member is not None
    for row, _ in waiting:
        store.decide_leave(ctx.session, attendance=row, state=state, by=ctx.member, now=ctx.now)
    for period in periods:
        leave_store.decide_period(ctx.session, period=period, state=state)
    if state != LeaveState.GRANTED:
        lapsed = []
    reversed_points = _grant_lapsed(ctx, member, lapsed)
    _withdraw_asks(ctx, member, "请假已批准" if state == LeaveState.GRANTED else "请假已驳回")
    detail: dict[str, Any] = {
        "member_id": member.id, "activity_ids": [a.id for _, a in waiting],
        "period_ids": [p.id for p in periods], "from": LeaveState.PENDING.value,
        "to": state.value} | ({"reason": why} if why else {})
    if lapsed:
        detail |= {"lapsed_activity_ids": [a.id for _, a in lapsed],
                   "reversed_points": reversed_points}
    ctx.audit("leave.approve" if state == LeaveState.GRANTED else "leave.revoke",
              target=member.name, detail=detail)
    labels = "、".join(_label(ctx, a, with_date=True) for _, a in waiting)
    # A period asked for one type of activity (请假 12月2日 夜学 值班) says so: the day's
    # other activities were never asked for, and stay expected whatever is decided.
    spans = "、".join(show_period(p.first_day, p.last_day, p.activity_type) for p in periods)
    covered = "、".join(f"{show_days(p.first_day, p.last_day)}的{p.activity_type or '活动'}"
                        for p in periods)
    # Lapsed leave put right outside the periods decided is named: the member was told it
    # became an absence, and must hear that it no longer is.
    apart = "、".join(_label(ctx, a, with_date=True) for _, a in lapsed
                      if not any(leave_store.covers(p, a, ctx.settings.tz) for p in periods))
    # Days turned down in which an activity's leave was approved on its own (请假 值班, then
    # the days around it): that leave stands, and is said to, or the member comes for
    # nothing and the secretary believes the record says otherwise.
    kept = ""
    if state == LeaveState.REVOKED and periods:
        decided = {a.id for _, a in waiting}
        standing = [a for row, a in store.own_leave(ctx.session, member_id=member.id,
                                                    now=ctx.now)
                    if row.leave_state == LeaveState.GRANTED and a.id not in decided
                    and a.ends_at > ctx.now
                    and any(leave_store.covers(p, a, ctx.settings.tz) for p in periods)]
        if standing:
            kept = ("其中" + "、".join(_label(ctx, a, with_date=True) for a in standing)
                    + "的请假此前已批准，不变。")
    told = _tell_of_decision(ctx, member, state,
                             "、".join(filter(None, [labels, spans, apart])), also=kept, why=why)
    if state == LeaveState.REVOKED:
        lines = [f"已驳回 {member.name} 的请假" + (f"，{labels}仍需参加。" if labels else "。")]
        if covered:
            lines.append(f"{covered}（包括以后才安排的）仍需参加。" + kept)
        if why:
            lines.append(_reason_told(why, told))
    else:
        lines = [f"已批准 {member.name} 的请假" + (f"：{labels}。" if labels else "。")]
        if covered:
            lines.append(f"{covered}（包括以后才安排的）都记为请假。")
        if lapsed:
            lines.append(_put_right(ctx, reversed_points, "、".join(
                _label(ctx, a, with_date=True) for _, a in lapsed)))
    return Reply("\n".join(lines))


def approve_leave(ctx: Ctx, args: dict[str, Any]) -> Reply:
    return _decide_leave(ctx, args, APPROVE, LeaveState.GRANTED)


def revoke_leave(ctx: Ctx, args: dict[str, Any]) -> Reply:
    return _decide_leave(ctx, args, REVOKE, LeaveState.REVOKED)


# --- 补签 ---------------------------------------------------------------------------


# How a record's day may be written, said when one is wrong.
RECORD_DAYS = "昨天、前天、上周四、周二（最近的周二）、9号、12月9日"


_MOMENT_FIRST = re.compile(r"^(?:刚才|刚刚|方才|晚上|下午|上午|早上|中午|晚)?"
                           r"(?:\d{1,2}\s*[:：]\s*\d{2}|\d{1,2}点(?:半|\d{1,2}分?)?)?的(?=\S)")


def named_record(text: str, today: date) -> tuple[date | None, ActivityType | None, str]:
    """The day and the type of activity a 补签's or 更正's reason starts with (昨天, 上周四,
    12月9日的夜学, 周二 夜学, 夜学), and the reason left. DateError for a day that does not
    exist; a day to come is returned, for the caller to refuse."""
    said = find_record_day(text, today) or _day_glued_to_kind(text, today)
    words = (said.rest if said else text).split()
    # 刚才的夜学, 19:30的夜学: the hour or the moment adds nothing to the activity. Unread,
    # the latest activity was made up, whichever it was.
    kind = parse_activity_type(_MOMENT_FIRST.sub("", words[0]).removesuffix("的")) \
        if words else None
    if kind is not None:
        words = words[1:]
    if said is None and kind is None:
        return _named_last(text, today)
    return said.first if said else None, kind, " ".join(words)


_APART = re.compile(r"[\s,，、;；]+")


def _named_last(text: str, today: date) -> tuple[date | None, ActivityType | None, str]:
    """The day and activity said after the reason, apart from it (手机没电，8号的夜学, 手机没电
    昨天, 手机没电，11月27日 夜学): read as when said first. Unread, the latest activity was
    made up instead."""
    text = text.strip()
    cuts = [m for m in _APART.finditer(text)][-2:]
    for cut in cuts:  # the last two words, then the last one
        last = text[cut.end():]
        said = find_record_day(last, today) or _day_glued_to_kind(last, today)
        after = (said.rest if said else last).split()
        kind = parse_activity_type(after[0].removesuffix("的")) if after else None
        if (said is not None or kind is not None) and len(after) == (kind is not None):
            return said.first if said else None, kind, text[:cut.start()].strip()
    return None, None, text  # 手机没电 已核实: all of it the reason


def _day_glued_to_kind(text: str, today: date) -> DateRange | None:
    """A day written together with the activity (周二夜学, 昨天主题党日, 12月9日夜学): the day,
    with the activity left first in the rest. Read apart, such a word was taken for the
    reason and the latest activity was made up instead of the one meant."""
    first, _, rest = text.strip().partition(" ")
    for cut in range(2, len(first)):
        if parse_activity_type(first[cut:]) is None:
            continue
        day = find_record_day(first[:cut], today)
        if day is not None and not day.rest:
            return DateRange(day.first, day.last, f"{first[cut:]} {rest}".strip())
    return None


# The start of a day said in a way not read (周末, 上个礼拜, 月底): asked, not the latest.
# A week or a month said first is a day only with its day after it, or on its own: 这周手机
# 一直坏着 and 上个月换了手机 are reasons, and make up the latest activity.
_DAY_LIKE = re.compile(
    r"\s*(?:(?:(?:上上|上|下|这|本)个?(?:周|週|星期|礼拜)|星期|礼拜)"
    r"(?:[一二三四五六日天1-7]|(?=[\s，,、:：]|$))"
    r"|(?:上上|上|下|这|本)个?月(?:[\d一二三四五六七八九十底初末]|(?=[\s，,、:：]|$))"
    r"|(?:周|週)末|月底|月初|月末|昨|前天|前晚|[\d一二三四五六七八九十]{1,3}\s*月\s*[\d一二三四五六七八九十])")

# How to work on the latest activity, by the command: 更正 says the status before the reason.
_LATEST_EXAMPLE = {"补签": "补签 张三 手机没电", "更正": "更正 张三 缺席 他人代签"}


def record_for(ctx: Ctx, scope: Scope, text: str, *, verb: str
               ) -> tuple[Activity, str, bool] | Reply:
    """The activity a 补签 or 更正 works on, the reason left, and whether the activity was
    named: one named first in the reason (补签 张三 夜学 手机没电: a theme day held since
    must not hide the night study; 补签 张三 昨天 手机没电: yesterday's, not today's), else
    the scope's record at hand (store.record_activity); a confirmed one only within the
    rules' makeup window. A Reply says what is wrong."""
    days = ctx.rules.makeup_window_days
    window = timedelta(days=days)
    today = ctx.local_now.date()
    try:
        day, kind, reason = named_record(text, today)
    except DateError as exc:  # 2月30日
        return Reply.error(f"{exc}，记录保持不变。日期可以写{RECORD_DAYS}。")
    if day is None and kind is None and _DAY_LIKE.match(reason) is not None:
        # 补签 张三 周末 …: a day not read made up the latest activity instead.
        return Reply.error(f"没读懂「{shorten(reason.split()[0])}」是哪一天，记录保持不变。"
                           f"日期可以写{RECORD_DAYS}。")
    if day is not None and day > today:
        return Reply.error(f"{show_date(day, today=today)}还没到：{verb}记的是已经举行的活动，"
                           f"记录保持不变。日期可以写{RECORD_DAYS}。")
    if day is not None or kind is not None:
        tz = ctx.settings.tz
        span = None
        if day is not None:
            start = datetime.combine(day, time(), tzinfo=tz)
            span = (start, start + timedelta(days=1))
        activity = store.named_activity(ctx.session, branch_id=scope, now=ctx.now,
                                        kind=kind.value if kind else None, day=span)
        if activity is None:
            said = "".join(filter(None, [show_date(day, today=today) if day else "",
                                         kind.value if kind else ""]))
            return Reply.error(f"没有找到{said}的{_whose(scope)}活动，记录保持不变。"
                               f"不写日期和活动就是最近一次。例如：{_LATEST_EXAMPLE.get(verb, verb)}"
                               + _in_branch_group(scope, verb))
    else:
        activity = store.record_activity(ctx.session, branch_id=scope, now=ctx.now,
                                         window=window)
        if activity is None:
            activity = store.latest_activity(ctx.session, branch_id=scope, now=ctx.now)
        if activity is None:
            return Reply.error(f"最近没有可以{verb}的{_whose(scope)}活动。"
                               + _in_branch_group(scope, verb))
    if activity.finalized_at is not None and activity.starts_at < ctx.now - window:
        # A confirmed record re-opens only within the window the rules set.
        return Reply.error(f"{verb}只能在活动后 {days} 天内进行：{_label(ctx, activity, with_date=True)}"
                           f"已超过 {days} 天，记录保持不变。如确有错误，请联系管理员。")
    return activity, reason, day is not None or kind is not None


def _whose(scope: Scope) -> str:
    return "全局" if scope is None else ""


def _in_branch_group(scope: Scope, verb: str) -> str:
    """Where a leader or admin, whose private chat reaches the bureau's activities only,
    puts a branch's record right (a secretary cannot do his own, and is told to ask one)."""
    if scope is not None:
        return ""
    return f"\n这里只能{verb}全局活动的记录；支部活动的{verb}请在该支部的群里发送。"


def record_and_member(ctx: Ctx, command: Command, args: dict[str, Any], *, verb: str
                      ) -> tuple[Scope, Activity, str, Member] | Reply:
    """What 补签 and 更正 start from: the scope, the activity (record_for), the reason left
    once it is named, and the member named; or the Reply that says what is wrong."""
    scope, problem = _manage_scope(ctx)
    if problem:
        return Reply.error(problem)
    found = record_for(ctx, scope, args["reason"], verb=verb)
    if isinstance(found, Reply):
        return _and_cancelled(ctx, scope, found, verb=verb)
    activity, reason, named = found
    if not reason:
        return Reply.error(usage_text(command, f"缺少{verb}原因"))
    member = _resolve_one(ctx, command, scope, args["who"], activity)
    if isinstance(member, Reply):
        return member
    if ctx.member is not None and member.id == ctx.member.id:
        # A record that decides points and tiers is not put right by the one it counts.
        return Reply.error(f"不能给自己{verb}：请本支部另一位书记、委员或领导{verb}。记录保持不变。")
    held = store.held_with(ctx.session, activity=activity, now=ctx.now)
    if named:  # 补签 张强 党小组会 …: of two groups' meetings, his own group's
        held = [a for a in held if a.type == activity.type]
    if len(held) > 1:
        mine = _members_own(ctx, held, member, verb=verb)
        if isinstance(mine, list):
            status = f" {args['status']}" if args.get("status") else ""
            return ask_which(
                ctx, mine, f"{member.name} 在这几个同时举行的活动都"
                + ("有签到记录" if verb == "更正" else "应到、未签到"),
                lambda word_: f"{verb} {args['who']}{status} {word_} {reason}",
                "记录保持不变。", by_type=True)  # the type, as the reason's start reads it
        activity = mine
    cancelled = _cancelled(ctx, scope, activity, named=named, verb=verb, who=args["who"],
                           reason=reason)
    if cancelled is not None:
        return cancelled
    return scope, activity, reason, member


def _members_own(ctx: Ctx, held: list[Activity], member: Member, *, verb: str
                 ) -> Activity | list[Activity]:
    """Of activities held at once, the one a 补签 or 更正 that names none means for this
    member: for 补签 the one that expects them where they have not checked in, for 更正 the
    one they have a check-in on (a party group's member at their own group's meeting, an
    ordinary member at the theme day beside the 支委会). Those it could be, when more than
    one; when none, the first that expects them (or the first), whose reply says why."""
    rows = {a.id: store.attendance_of(ctx.session, activity_id=a.id, member_id=member.id)
            for a in held}

    def attended(a: Activity) -> bool:
        row = rows[a.id]
        return row is not None and row.status in ATTENDED

    def due(a: Activity) -> bool:
        row = rows[a.id]
        on_record = row is not None and row.status != AttendanceStatus.WITHDRAWN
        return on_record or store.expected_at(ctx.session, member=member, activity=a)

    if verb == "更正":
        wanted = [a for a in held if attended(a)]
    else:
        wanted = [a for a in held if due(a) and not attended(a)]
    if len(wanted) > 1:
        return wanted
    return (wanted or [a for a in held if due(a)] or held)[0]


def _cancelled(ctx: Ctx, scope: Scope, activity: Activity, *, named: bool, verb: str,
               who: str, reason: str) -> Reply | None:
    """A cancelled activity counts nowhere, so nothing on it is made up or corrected: named,
    it is refused as cancelled; unnamed, the latest held one is not taken in its place
    while one cancelled since would have been meant (the 补签 would land on another day's
    record). The Reply says which, and how to name the earlier one."""
    if activity.status == store.CANCELLED:
        return Reply.error(_cancelled_text(ctx, activity, verb))
    if named:
        return None
    since = store.cancelled_since(ctx.session, branch_id=scope, after=activity.starts_at,
                                  now=ctx.now)
    if since is None:
        return None
    day = activity.starts_at.astimezone(ctx.settings.tz)
    if not ctx.message.is_private:  # the group is told how, not again whom and why
        who, reason = "姓名", "原因"
    return Reply.error(
        f"最近一次活动{_label(ctx, since, with_date=True)}已取消，不能{verb}，记录保持不变。"
        f"要{verb}之前的{_label(ctx, activity, with_date=True)}，请写明日期和活动："
        f"{verb} {who} {day.month}月{day.day}日 {activity.type} {reason}")


def _and_cancelled(ctx: Ctx, scope: Scope, refused: Reply, *, verb: str) -> Reply:
    """record_for found nothing to work on: when the latest activity of the window was
    cancelled (the one most likely meant), the refusal says so too."""
    since = ctx.now - timedelta(days=ctx.rules.makeup_window_days)
    held = store.latest_activity(ctx.session, branch_id=scope, now=ctx.now)
    cancelled = store.cancelled_since(ctx.session, branch_id=scope, now=ctx.now,
                                      after=max(held.starts_at, since) if held else since)
    if cancelled is None:
        return refused
    return Reply.error(f"{refused.text}\n{_cancelled_text(ctx, cancelled, verb)}")


def _cancelled_text(ctx: Ctx, activity: Activity, verb: str) -> str:
    why = f"（原因：{activity.cancel_reason}）" if activity.cancel_reason else ""
    return (f"{_label(ctx, activity, with_date=True)}已取消{why}，不计入任何统计，"
            f"不能{verb}，记录保持不变。")


def record_named_first(ctx: Ctx, args: dict[str, Any]) -> dict[str, Any]:
    """补签 上周五 李四 手机没电, 更正 夜学 张三 缺席 代签: the day or activity said before the
    name, read as 补签 李四 上周五 手机没电. It was taken for the name (本支部没有找到「上周五」,
    or for 更正 a second member to write apart). Only when it names a record and nobody,
    and a member's name follows it."""
    said = args["who"]
    after = "status" if "status" in args else "reason"
    name, _, rest_ = (args[after] or "").partition(" ")
    scope, problem = _manage_scope(ctx)
    if problem or not name or is_member_name(ctx, scope, said):
        return args
    try:
        day, kind, left = named_record(said, ctx.local_now.date())
    except DateError:
        return args
    if left or (day is None and kind is None) or not is_member_name(ctx, scope, name):
        return args
    if after == "status":  # 更正 上周五 张三 缺席 他人代签
        status, _, reason = args["reason"].partition(" ")
        return {**args, "who": name, "status": status, "reason": f"{said} {reason}".strip()}
    return {**args, "who": name, "reason": f"{said} {rest_}".strip()}


def make_up(ctx: Ctx, args: dict[str, Any]) -> Reply:
    args = record_named_first(ctx, args)
    found = record_and_member(ctx, MAKEUP, args, verb="补签")
    if isinstance(found, Reply):
        return found
    scope, activity, said_reason, member = found
    args = {**args, "reason": said_reason}
    others, reason = _more_names(ctx, scope, args["reason"], activity)
    if others:
        # 补签 周强、黄丽 手机没电: one at a time, rather than 周强 with the reason 「黄丽 …」.
        asks = "、".join(f"「补签 {name} {reason or '原因'}」" for name in [member.name, *others])
        return Reply.error(f"补签一次写一位同志，请分别发送：{asks}。")
    row = store.attendance_of(ctx.session, activity_id=activity.id, member_id=member.id)
    if row is not None and row.status in ATTENDED:
        return Reply(
            f"{member.name} 已{STATUS_LABELS[row.status]}，无需补签：{_label(ctx, activity)}。"
        )
    unrecorded = row is None or row.status == AttendanceStatus.WITHDRAWN
    if unrecorded and not store.expected_at(ctx.session, member=member, activity=activity):
        then = _not_due_then(ctx, member, activity)
        if then is not None:  # a newcomer made up for a day they were not there
            return Reply.error(f"{_label(ctx, activity, with_date=True)}举行时{member.name}"
                               f"{then[0]}（{then[1]}），不在应到名单中，不能补签，记录保持不变。")
        return Reply.error(f"{member.name} 不在{_label(ctx, activity)}的应到名单中。")
    assert ctx.member is not None
    was = row.status if row is not None else None  # absent, leave, or no row yet
    row, reversed_points = store.make_up(
        ctx.session,
        activity=activity,
        member=member,
        by=ctx.member,
        reason=args["reason"],
        now=ctx.now,
        rules=ctx.rules,
    )
    ctx.audit(
        "makeup",
        target=member.name,
        detail={
            "member_id": member.id,
            "activity_id": activity.id,
            "reason": args["reason"],
            "from": was,
            "reversed_points": reversed_points,
        },
    )
    points, _ = ctx.rules.attendance_points(activity.type, row.status)
    text = (
        f"已为 {member.name} 补签：{_label(ctx, activity)}，积分 {points:+d}。"
        f"原因：{args['reason']}"
    )
    if reversed_points:
        undone = "请假积分" if was == AttendanceStatus.LEAVE else "缺席扣分"
        text += f"\n已撤销{undone}（{reversed_points:+d}）。"
    return Reply(text)


def _more_names(ctx: Ctx, scope: Scope, text: str,
                activity: Activity | None = None) -> tuple[list[str], str]:
    """The names of the scope's members (or the activity's: _resolve_one) a text starts
    with, and the words after them."""
    words = [w.lstrip("@") for w in re.split(r"[\s,，、;；]+", text) if w.lstrip("@")]
    names: list[str] = []
    for token in words:
        if not is_member_name(ctx, scope, token, activity):
            break
        names.append(token)
    return names, " ".join(words[len(names):])


def is_member_name(ctx: Ctx, scope: Scope, word_: str, activity: Activity | None = None) -> bool:
    """The word is the full name of a member of the scope, or of one the activity expects
    (a second name where one was asked for: 补签 周强、黄丽, 更正 周强 黄丽)."""
    return any(m.name == word_ for m in store.find_members(
        ctx.session, branch_id=scope, query=word_, platform=ctx.message.platform,
        activity=activity))


# --- 未签到, 结束, 确认缺席, 活动 -------------------------------------------------------------


def missing(ctx: Ctx, args: dict[str, Any]) -> Reply:
    if args.get("branch") == BUREAU_WORD:
        if ctx.role not in LEADERS:
            return Reply.error("全局活动的签到仅限领导、管理员查看。")
        scope: Scope = None
    elif args.get("branch"):
        # A leader may ask about any branch; anyone else only about their own.
        branch = org.branch_by_name(ctx.session, name=args["branch"])
        if branch is None:
            return Reply.error(usage_text(MISSING, f"没有名为「{args['branch']}」的支部"))
        own = ctx.member is not None and ctx.member.branch_id == branch.id
        if ctx.role not in LEADERS and not own:
            return Reply.error(f"你只能查看本支部的签到，「{branch.name}」不是你的支部。")
        scope = branch.id
    elif ctx.role in LEADERS and ctx.bureau_wide:  # privately or in the leaders' group
        if args.get("day") is not None and args["day"] != ctx.local_now.date():
            return _overview_on(ctx, args["day"])
        overview = _missing_overview(ctx, args.get("day"))
        if overview is not None:
            return overview
        scope = None
    else:
        scope, problem = _manage_scope(ctx)
        if problem:
            return Reply.error(problem)
    if _gone_by(ctx, args.get("day")):
        return _missing_on(ctx, scope, args["day"], args.get("branch"))
    if args.get("day") is not None:
        coming = _to_come_on(ctx, scope, args["day"], args.get("branch"))
        if coming is not None:
            return coming
    # Two party groups meeting the same evening: each one's list.
    activities = store.under_way(ctx.session, branch_id=scope, now=ctx.now)
    if len(activities) < 2:
        activity = store.record_activity(ctx.session, branch_id=scope, now=ctx.now)
        activities = [activity] if activity is not None else []
    said = args.get("day")
    if not activities:
        return Reply(f"{_day_said(ctx, said)}没有活动。" if said else "最近没有活动。")
    asked = f"未签到 {args['branch']}" if args.get("branch") else "未签到"
    lines = [_missing_of(ctx, activity, asked) for activity in activities]
    tz = ctx.settings.tz
    if said is not None and all(a.starts_at.astimezone(tz).date() != said for a in activities):
        # 今天谁请假了 on a day without one: the last activity's list, said to be that.
        lines.insert(0, f"{_day_said(ctx, said)}没有活动，以下是最近一次活动的情况：")
    return Reply("\n".join(lines))


def _gone_by(ctx: Ctx, day: date | None) -> bool:
    return day is not None and day < ctx.local_now.date()


def _held_on(ctx: Ctx, scope: Scope, day: date, *, begun: bool = True) -> list[Activity]:
    """The scope's activities of the day that have begun (or, not `begun`, all of them)."""
    start = datetime.combine(day, time(0), tzinfo=ctx.settings.tz)
    return [a for a in store.held_on(ctx.session, branch_id=scope,
                                     day=(start, start + timedelta(days=1)))
            if not begun or a.starts_at <= ctx.now]


def _to_come_on(ctx: Ctx, scope: Scope, day: date, branch_said: str | None) -> Reply | None:
    """明天谁请假了, or 今天 before tonight's study: who has asked leave for what the day
    holds (as the day-before note tells the secretary). It was answered 明天没有活动 and
    the last one's list, though the agenda showed one. None once the day's has begun."""
    held = _held_on(ctx, scope, day, begun=False)
    if not held or any(a.starts_at <= ctx.now for a in held):
        return None
    asked = _asked_again(ctx, day, branch_said)
    lines = []
    for activity in held:
        excused, pending = _leave_asked(ctx, activity)
        head = f"{_label(ctx, activity)}还没开始"
        if not excused and not pending:
            lines.append(f"{head}，暂无人请假。")
            continue
        if not ctx.message.is_private:  # names never go to the group
            lines.append(f"{head}，{_leave_count(excused, pending)}。"
                         f"名单请私聊我发送「{asked}」查看。")
            continue
        lines.append(f"{head}。已请假 {len(excused)} 人：{'、'.join(m.name for m in excused)}"
                     if excused else f"{head}。")
        if pending:
            lines.append(f"请假待批准 {len(pending)} 人：{'、'.join(m.name for m in pending)}")
    return Reply("\n".join(lines))


def _leave_asked(ctx: Ctx, activity: Activity) -> tuple[list[Member], list[Member]]:
    """Who has leave for the activity, and who has asked and awaits an answer."""
    excused = store.excused_members(ctx.session, activity=activity)
    pending = [m for m, row in store.missing_members(ctx.session, activity=activity)
               if row is not None and row.leave_state == LeaveState.PENDING]
    return excused, pending


def _leave_count(excused: list[Member], pending: list[Member]) -> str:
    waiting = f"，请假待批准 {len(pending)} 人" if pending else ""
    return f"已请假 {len(excused)} 人{waiting}"


def _asked_again(ctx: Ctx, day: date, branch_said: str | None) -> str:
    """The words that ask the same of that day again, for the names privately: 未签到 昨天,
    未签到 城关 明天 (a group is given the counts and these)."""
    return " ".join(["未签到", *([branch_said] if branch_said else []), _day_word(ctx, day)])


def _missing_on(ctx: Ctx, scope: Scope, day: date, branch_said: str | None) -> Reply:
    """昨天谁没来: each activity the scope held that day, as 未签到 lists the latest (names
    only privately). A day that held none says so: the latest list instead would be
    another day's, read as that day's."""
    held = _held_on(ctx, scope, day)
    if not held:
        return Reply(f"{_day_said(ctx, day)}没有活动。发送「未签到」查看最近一次活动。")
    asked = _asked_again(ctx, day, branch_said)
    return Reply("\n".join(_missing_of(ctx, activity, asked, past=True) for activity in held))


def _overview_on(ctx: Ctx, day: date) -> Reply:
    """A leader's 昨天谁没来 or 明天谁请假了 privately or in the leaders' group: each activity
    of the day across the bureau with its count, names on request (as _missing_overview for
    those under way). One begun is counted by who is missing, one still to come by who has
    asked leave: 今天谁请假了 on the morning of a night study had said 今天没有活动. 明天谁请假了
    had been answered 现在没有进行中的活动, the day asked about unread."""
    lines = []
    for scope, name in [(None, BUREAU_WORD), *((b.id, b.name) for b in org.branches(ctx.session))]:
        for activity in _held_on(ctx, scope, day, begun=False):
            if activity.starts_at > ctx.now:
                count = _leave_count(*_leave_asked(ctx, activity))
            else:
                missing = len(store.missing_members(ctx.session, activity=activity))
                # 前天谁没来 once confirmed said 未签到 1 人, where the branch's list says 缺席.
                count = (_gone_count(activity, missing) if _gone_by(ctx, day)
                         else f"未签到 {missing} 人")
            lines.append(f"· {name} {_label(ctx, activity)}：{count}")
    when = _day_said(ctx, day)
    if not lines:
        return Reply(f"{when}没有活动。")
    word = _day_word(ctx, day)
    return Reply("\n".join([f"{when}的活动（{len(lines)} 个）：", *lines,
                             f"发送「未签到 支部名称 {word}」查看名单，例如：未签到 城关 {word}"]))


# The days near today by their word, as 未签到 reads them back.
_NEAR_DAYS = {-2: "前天", -1: "昨天", 0: "今天", 1: "明天"}


def _day_word(ctx: Ctx, day: date) -> str:
    """The day as 未签到 reads it back: 昨天, 明天 or 12月5日."""
    return _NEAR_DAYS.get((day - ctx.local_now.date()).days) or show_date(day)


def _day_said(ctx: Ctx, day: date) -> str:
    """今天（12月8日）, 昨天（12月7日）, 明天（12月9日）, or the date."""
    word = _NEAR_DAYS.get((day - ctx.local_now.date()).days)
    return f"{word}（{show_date(day)}）" if word else show_date(day)


def _missing_of(ctx: Ctx, activity: Activity, asked: str, *, past: bool = False) -> str:
    """未签到 of one activity: in a group the count, privately the names (and who is
    excused). `past`: a day gone by (昨天谁没来), where nobody can check in any more, so
    the missing are absent, confirmed or still to be."""
    absent = store.missing_members(ctx.session, activity=activity)
    if not absent:
        done = f"{_label(ctx, activity)}：应到的同志都已签到或请假。"
        # Privately, who is excused still (谁请假了 asked it, and was not told).
        excused = store.excused_members(ctx.session, activity=activity) \
            if ctx.message.is_private else []
        return done + (f"\n已请假 {len(excused)} 人：{'、'.join(m.name for m in excused)}"
                       if excused else "")
    gone = _gone_count(activity, len(absent)) if past else None
    if not ctx.message.is_private:
        count = gone or f"还有 {len(absent)} 人未签到"
        return f"{_label(ctx, activity)}：{count}。名单请私聊我发送「{asked}」查看。"
    pending = {
        m.id for m, row in absent if row is not None and row.leave_state == LeaveState.PENDING
    }
    names = [f"{m.name}（请假待批准）" if m.id in pending else m.name for m, _ in absent]
    lines = [f"{_label(ctx, activity)}{gone or f'未签到 {len(absent)} 人'}：{'、'.join(names)}"]
    # Privately, who is excused too (as the day-before list says): 请假名单 asks for it.
    excused = store.excused_members(ctx.session, activity=activity)
    if excused:
        lines.append(f"已请假 {len(excused)} 人：{'、'.join(m.name for m in excused)}")
    return "\n".join(lines)


def _gone_count(activity: Activity, missing: int) -> str:
    """How many missed an activity of a day gone by, where nobody can check in any more:
    absent once confirmed, till then 未签到 with the confirmation still to come."""
    if activity.finalized_at is not None:
        return f"缺席 {missing} 人"
    return f"未签到 {missing} 人（缺席待确认）"


def _missing_overview(ctx: Ctx, day: date | None = None) -> Reply | None:
    """A leader privately or in the leaders' group: every running activity with its count,
    names on request; None when only one is running (shown as for one branch). Asked of
    today (今天谁没来) with none running: today's, which had been answered with nothing."""
    lines = []
    running = 0
    for scope, name in [(None, BUREAU_WORD), *((b.id, b.name) for b in org.branches(ctx.session))]:
        for activity in store.current_activities(ctx.session, branch_id=scope, now=ctx.now):
            absent = store.missing_members(ctx.session, activity=activity)
            lines.append(f"· {name} {_label(ctx, activity)}：未签到 {len(absent)} 人")
            running += 1
    if running == 1 and store.current_activity(ctx.session, branch_id=None, now=ctx.now):
        return None  # only the bureau-wide one: its names, as before
    if not lines and day == ctx.local_now.date():
        return _overview_on(ctx, day)
    if not lines:
        return Reply("现在没有进行中的活动。发送「未签到 支部名称」查看该支部最近一次活动的名单，"
                     "例如：未签到 城关")
    return Reply("\n".join([f"进行中的活动（{len(lines)} 个）：", *lines,
                             "发送「未签到 支部名称」查看名单，例如：未签到 城关"]))


def finish(ctx: Ctx, args: dict[str, Any]) -> Reply:
    scope, problem = _manage_scope(ctx)
    if problem:
        return Reply.error(problem)
    under_way = store.under_way(ctx.session, branch_id=scope, now=ctx.now)
    if not under_way:
        return _ended_already(ctx, scope)
    chosen = under_way
    if args.get("which"):  # 结束 支委会, 第一党小组结束
        chosen = named_among(ctx, under_way, args["which"])
        if not chosen:
            labels = "、".join(_label(ctx, a) for a in under_way)
            end = "「结束」" if len(under_way) == 1 else "「结束 活动或党小组」"
            return Reply.error(f"现在没有进行中的{args['which']}，进行中的是{labels}，"
                               f"什么也没有结束。要结束它请发送{end}。")
    if len(chosen) > 1:
        return ask_which(ctx, chosen, f"现在有 {len(chosen)} 个活动在进行",
                         lambda said: f"结束 {said}", "什么也没有结束。")
    activity = chosen[0]
    store.close(
        ctx.session, activity=activity, now=ctx.now, by=ctx.member.id if ctx.member else None
    )
    figures = store.participation(ctx.session, activity=activity)
    # Another still under way, or ended beside it: 确认缺席 says which.
    held = store.held_with(ctx.session, activity=activity, now=ctx.now)
    confirm = "确认缺席" if len(held) < 2 else f"确认缺席 {word_for(ctx, activity, held)}"
    others = [a for a in under_way if a.id != activity.id]
    going_on = f"{'、'.join(_label(ctx, a) for a in others)}仍在进行。\n" if others else ""
    return Reply(
        f"{_label(ctx, activity)}已结束。参与 {figures.summary()}，"
        f"请假 {figures.leave} 人，未签到 {figures.missing} 人。\n{going_on}"
        f"缺席在 {ctx.settings.absence_confirm_hours} 小时后确认；之前可用「补签 姓名 原因」补签，"
        f"核对无误可发送「{confirm}」。"
    )


ENDED_LATELY = timedelta(hours=3)


def _ended_already(ctx: Ctx, scope: Scope) -> Reply:
    """结束 with nothing under way: a second secretary's (or a repeated) 结束 of one just
    ended hears who ended it, when, and its figures, not that nothing was held."""
    ended = store.ended_since(ctx.session, branch_id=scope, now=ctx.now,
                              since=ctx.now - ENDED_LATELY)
    if not ended:
        return Reply.error("现在没有进行中的活动。")
    activity = ended[0]
    closer = ctx.session.get(Member, activity.closed_by) if activity.closed_by else None
    by = f"由{closer.name}" if closer is not None else "按时"
    at = show_time(activity.closed_at, ctx.settings.tz, ctx.now) if activity.closed_at else ""
    figures = store.participation(ctx.session, activity=activity)
    return Reply(f"{_label(ctx, activity)}已{by}在 {at} 结束，参与 {figures.summary()}。"
                 "现在没有进行中的活动。")


def _to_confirm(ctx: Ctx, scope: Scope, held: list[Activity], said: str | None
                ) -> Activity | Reply:
    """Of the activities held at once, the one 确认缺席 means: the one named (among them, or
    the latest of that type: 确认缺席 支委会 after the theme day began), else the one whose
    absences are still to confirm and that is no longer taking check-ins (结束 第一党小组,
    then 确认缺席, said twice or not: never the meeting still under way). Otherwise the
    Reply asks which, or says what is still under way."""
    if said:
        named = named_among(ctx, held, said)
        kind = parse_activity_type(said)
        if not named and kind is not None:
            found = store.named_activity(ctx.session, branch_id=scope, now=ctx.now,
                                         kind=kind.value)
            # Within the 补签 window; a cancelled one is returned for confirm_absence to
            # refuse (confirmed, it would post absences for a meeting never held).
            window = timedelta(days=ctx.rules.makeup_window_days)
            named = [found] if found is not None and (
                found.status == store.CANCELLED or found.starts_at >= ctx.now - window) else []
        if not named:
            labels = "、".join(_label(ctx, a) for a in held)
            return Reply.error(f"最近没有{said}，最近的活动是{labels}，还没有确认。")
        if len(named) == 1:
            return named[0]
        held = named
    waiting = [a for a in held if a.finalized_at is None]
    under_way = [a for a in waiting if a.status == store.OPEN and a.ends_at > ctx.now]
    ready = [a for a in waiting if a not in under_way]
    if len(ready) > 1:
        return ask_which(ctx, ready, f"有 {len(ready)} 个活动的缺席待确认",
                         lambda word_: f"确认缺席 {word_}", "还没有确认。")
    if ready:
        return ready[0]
    if under_way:
        done = [a for a in held if a.finalized_at is not None]
        return Reply.error(
            ("".join(f"{_label(ctx, a)}的缺席已经确认过了；" for a in done))
            + f"{'、'.join(_label(ctx, a) for a in under_way)}还在进行，结束后再确认缺席。"
            "还没有确认。")
    return held[0]


def confirm_absence(ctx: Ctx, args: dict[str, Any]) -> Reply:
    scope, problem = _manage_scope(ctx)
    if problem:
        return Reply.error(problem)
    activity = store.record_activity(ctx.session, branch_id=scope, now=ctx.now)
    if activity is None:
        return Reply.error("最近没有活动。")
    held = store.held_with(ctx.session, activity=activity, now=ctx.now)
    if len(held) > 1 or args.get("which"):
        chosen = _to_confirm(ctx, scope, held, args.get("which"))
        if isinstance(chosen, Reply):
            return chosen
        activity = chosen
    if activity.status == store.CANCELLED:  # never closed and counted after all
        return Reply.error(f"{_label(ctx, activity, with_date=True)}已取消，不计入任何统计，"
                           "不用确认缺席。")
    if activity.finalized_at is not None:
        return Reply(f"{_label(ctx, activity)}的缺席已经确认过了。")
    if activity.status == store.OPEN and activity.ends_at > ctx.now:
        # Confirmed while it takes check-ins, whoever is still coming would be counted
        # absent with the penalty: the meeting is ended first, by its own command.
        until = show_time(activity.ends_at, ctx.settings.tz, ctx.now)
        return Reply.error(f"{_label(ctx, activity)}还在进行（到 {until}），结束后再确认缺席："
                           "已经开完请先发送「结束」。还没有确认。")
    # Leave still waiting would become an absence with its penalty: decided first, by the
    # one confirming, not by the confirmation. (Left undecided, the automatic confirmation
    # a day later does make it an absence, as the lists sent to the secretary say.)
    undecided = [m.name for m, row in store.missing_members(ctx.session, activity=activity)
                 if row is not None and row.leave_state == LeaveState.PENDING]
    if undecided:
        return Reply.error(
            f"{'、'.join(undecided)}的请假还在等待批准，确认缺席会把它记为缺席。请先发送"
            f"「批准请假 {undecided[0]}」或「驳回请假 {undecided[0]}」，再发送「确认缺席」。")
    done = store.finalize(
        ctx.session,
        activity=activity,
        now=ctx.now,
        rules=ctx.rules,
        by=ctx.member.id if ctx.member else None,
    )
    if not done.confirmed_now:  # confirmed meanwhile (another secretary, the scheduler)
        return Reply(f"{_label(ctx, activity)}的缺席已经确认过了。")
    ctx.audit(
        "absence.confirm",
        target=_label(ctx, activity),
        detail={
            "activity_id": activity.id,
            "absent_member_ids": [m.id for m in done.absent],
            "penalty_points": done.penalty_points,
        },
    )
    figures = store.participation(ctx.session, activity=activity)
    text = (
        f"已确认{_label(ctx, activity)}的出勤：参与 {figures.summary()}，"
        f"缺席 {len(done.absent)} 人。"
    )
    if done.absent and ctx.message.is_private:
        text += f"\n缺席：{'、'.join(m.name for m in done.absent)}"
    return Reply(text)


def show_activity(ctx: Ctx, args: dict[str, Any]) -> Reply:
    if args.get("branch"):
        named = org.branch_by_name(ctx.session, name=args["branch"])
        if named is None:
            return Reply.error(usage_text(SHOW, f"没有找到支部「{args['branch']}」"))
        scope: Scope = named.id
    elif ctx.binding is not None:
        scope = ctx.binding.branch_id
    else:
        scope = ctx.branch.id if ctx.branch is not None else None
    activity = store.latest_activity(ctx.session, branch_id=scope, now=ctx.now)
    if activity is None:
        # The bureau's own activities (a leader's chat): each branch's are a word away.
        hint = "\n看某个支部的活动：发送「活动 支部名称」，例如：活动 城关" if scope is None else ""
        upcoming = store.next_activity(ctx.session, branch_id=scope, now=ctx.now)
        if upcoming is not None:
            return Reply(f"还没有举行过活动。下一次：{_label(ctx, upcoming)}。{hint}")
        return Reply(f"还没有{'全局' if scope is None else ''}活动记录。{hint}")
    # Two held at once (two party groups' meetings): the figures of each.
    held = store.held_with(ctx.session, activity=activity, now=ctx.now)
    return Reply("\n".join(_figures_of(ctx, a) for a in held))


def _figures_of(ctx: Ctx, activity: Activity) -> str:
    """活动 of one activity: its state, participation and rating."""
    figures = store.participation(ctx.session, activity=activity)
    if activity.finalized_at is not None:
        state = "已确认"
    elif activity.status == store.OPEN:
        state = "进行中"
    else:
        state = "已结束（缺席待确认）"
    lines = [f"{_label(ctx, activity)} {state}"]
    if activity.lecturer:
        lines.append(f"主讲：{activity.lecturer}")
    lines.append(
        f"参与 {figures.summary()}：出席 {figures.present}、迟到 {figures.late}、"
        f"补签 {figures.makeup}、请假 {figures.leave}、未到 {figures.missing}"
    )
    count, average = store.rating_summary(ctx.session, activity_id=activity.id)  # type: ignore[arg-type]
    if count:
        # Half up, as the branch page shows it: 4.25 is 4.3 (":.1f" said 4.2, half to even).
        lines.append(f"评价 {half_up(average, 1):.1f} 分（{count} 人）")
    return "\n".join(lines)


# --- 评价 ---------------------------------------------------------------------------


def rate(ctx: Ctx, args: dict[str, Any]) -> Reply:
    assert ctx.member is not None
    activity = store.activity_to_rate(ctx.session, member=ctx.member, now=ctx.now)
    if activity is None:
        return Reply.error("最近 7 天没有你参加过的活动可以评价。")
    replaced = store.rate(
        ctx.session,
        activity=activity,
        member=ctx.member,
        score=args["score"],
        comment=args.get("comment"),
        now=ctx.now,
    )
    stars = "★" * args["score"] + "☆" * (5 - args["score"])
    if replaced:
        return Reply(f"已更新你对{_label(ctx, activity)}的评价：{stars}（原评价已替换）。")
    return Reply(f"感谢评价{_label(ctx, activity)}：{stars}")


# --- registration -------------------------------------------------------------------

_STAFF = MANAGERS | LEADERS
_WHO = "姓名、@某人或编号"

START = Command(
    name="开始",
    acts=True,
    aliases=("开始签到", "签到开始", "发起签到", "开启", "开启签到"),  # the reply asks which activity
    summary="现在开始一次活动",
    handler=start,
    args=(word("type", "活动类型", hint="如 主题党日、夜学、党员大会",
               known=lambda said: parse_activity_type(said) is not None, cut=True),
          rest("topic", "主题", optional=True, max_chars=100)),
    roles=_STAFF,
    example="开始 主题党日 学习新党章",
    capability="attendance",
    verb_last=True,  # 主题党日开始
    soon_is_now=True,  # 马上开始, 准备开始
)
CHECK_IN = Command(
    name="签到",
    # qd: the letters a phone types for 签到 in a hurry.
    aliases=("到", "打卡", "报到", "来了", "我来了", "qd"),  # 我来 is a filler (我来签到)
    summary="参加活动签到",
    handler=check_in,
    quick=QuickLane(read=_quick_read, answer=quick_check_in),
    example="签到",
    capability="attendance",
    # 签到 主题党日: the activity under way, named (check_in holds it to the name; the quick
    # lane leaves it to check_in).
    ignores=ACTIVITY_WORDS,
    # 李明签到 from 李明 checks him in; nobody checks in for another (that is 代签, which
    # 更正 exists to undo), and a secretary's way for one who forgot is 补签.
    for_another="签到只能本人发送，不能替{name}签到。{name}如参加了活动但没签到，"
                "请书记或委员发送「补签 {name} 原因」。",
)
LEAVE = Command(
    name="请假",
    summary="活动开始前（或刚开始、签到还不算迟到时）请假；写上活动（请假 主题党日 出差）"
            "可请那次活动的假，写上日期（明天、12月10日）或日期范围可请那几天的假",
    handler=ask_leave,
    args=(rest("reason", "请假原因"),),
    example="请假 值班",
    capability="attendance",
    # 夜学请假 值班, 主题党日的请假 出差: leave for that activity (ask_leave reads it).
    said_first=ACTIVITY_WORDS,
    asked_about=True,  # 请假批了吗, 请假要提前多久: questions, not leave
    status_by="我的请假",  # 请假批了吗: where the sender's own stands
    reads_days=True,  # 下周请假 出差
    # 请两天假 出差, as people say it, is 请假 两天 出差: asked from which day (it was no
    # command). 请一天假 is left alone: today's activity or tomorrow's, it cannot say.
    reworded=((re.compile(r"(?:我要|我想|我)?请\s*(?P<n>[两二三四五六七八九十]{1,2}|[2-9]|[1-9]\d)"
                          r"\s*个?\s*天的?假[\s，,、:：]*(?P<rest>.*)"), r"\g<n>天 \g<rest>"),),
)
WITHDRAW = Command(
    name="销假",
    acts=True,
    # 请假取消 is leave taken back, never leave asked with the reason 取消.
    aliases=("取消请假", "撤销请假", "撤回请假", "不请假", "请假取消", "请假撤销", "请假撤回"),
    summary="撤回自己的请假（还没开始的活动恢复为需要参加，请假时段到昨天为止）；"
            "写上活动或日期（销假 夜学、销假 12月10日）只撤回那一次",
    handler=withdraw_leave,
    args=(rest("which", "要撤回的活动或日期", optional=True),),
    example="销假",
    capability="attendance",
    reads_days=True,  # 下周销假: what 下周请假 asked for (_days_said reads both alike)
    # 假不请了, 明天的假不请了: the leave taken back, as people say it (it was no command).
    reworded=((re.compile(r"我?(?P<which>[^\s，,、]{0,12}?)的?(?<!请)假(?:就|也|先|还是)?不请了[。！!]*"),
               r"\g<which>"),),
)
OWN_LEAVE = Command(
    name="我的请假",
    # Said about one's leave, these were leave with the reason 记录, 情况 …
    aliases=("请假记录", "请假情况", "请假状态", "请假进度", "请假结果", "我请的假",
             "我的请假记录", "我的请假情况"),
    summary="查看自己还没结束的请假和审批情况（在群里发送则私聊回复）",
    handler=own_leave,
    example="我的请假",
    capability="attendance",
    asked_about=True,  # 我的请假批了吗: the question it answers
)
APPROVE = Command(
    name="批准请假",
    acts=True,
    aliases=("同意请假", "准假", "批准"),  # 批准 张三: leave is all a secretary approves
    summary="批准党员待批准的请假（一次请的几次活动或一段时间一并批准；不能批准自己的）",
    handler=approve_leave,
    args=(word("who", "姓名", hint=_WHO),),
    ignores=_THE_LEAVE,
    roles=_STAFF,
    example="批准请假 刘洋",
    capability="attendance",
)
REVOKE = Command(
    name="驳回请假",
    acts=True,
    aliases=("不同意请假", "不批准请假", "不准假", "驳回"),
    summary="驳回党员的请假，其仍需参加；可写理由（驳回请假 刘洋 时间冲突），私信告知本人"
            "（自己的请假用「销假」撤回）",
    handler=revoke_leave,
    # 驳回 刘洋 时间冲突: a reason, as a secretary gives one; told to the member.
    args=(word("who", "姓名", hint=_WHO), rest("reason", "驳回理由", optional=True)),
    ignores=_THE_LEAVE,
    roles=_STAFF,
    example="驳回请假 刘洋 时间冲突",
    capability="attendance",
)
# 把张伟改成出席, 张伟补签: a make-up for 张伟 said another way; read as 补签 张伟 (with the
# reason when one follows 把…改成出席), whose reply says how to write it for 张伟. A day or
# an activity said first (昨天补签, 夜学补签, 这次补签) is no name: taken for one, the reply
# told the 书记 to write 补签 昨天 补签原因.
_NOT_NAMED = ("我|自己|本人|大家|他|她|帮|给|替|要|想|忘|申请|需要|怎么|如何|能|可以"
              "|[今昨前明后]天|[今昨明]晚|[今昨明]早|[这上下本]周|[这上下本]次|这个|上个|刚|马上|现在|"
              "周[一二三四五六日天]|星期|礼拜|夜学|活动|党日|主题党日|党课|学习|会议|支委会|党员大会")
_NAME = rf"@?(?P<who>(?!{_NOT_NAMED})[\u4e00-\u9fff·]{{2,5}}?)"
_MADE_PRESENT = (
    (re.compile(rf"(?:请|麻烦)?(?:把|将|帮){_NAME}\s*(?:的(?:考勤|记录|状态))?(?:改成|改为|改到|更正为|标成|"
                r"标为|记为|记成|算|算作|算成)(?:出席|已到|到了|到会|已签到|签到|参加|参会|正常出席|"
                r"出勤|已参加)(?:[\s,，、;；:：]+(?P<reason>.+))?"), r"\g<who> \g<reason>"),
    # Bare only: 张三补签 手机没电 may be 张三 speaking of himself, and stays a suggestion.
    (re.compile(rf"{_NAME}(?:需要|要)?补签(?:一下)?"), r"\g<who>"),
)
MAKEUP = Command(
    name="补签",
    reworded=_MADE_PRESENT,
    acts=True,
    summary="为参加了但忘记签到的党员补签（补以前的一次：原因前写日期或活动，"
            "如 补签 陈静 昨天 手机没电、补签 陈静 上周四的夜学 手机没电）",
    handler=make_up,
    args=(word("who", "姓名", hint=_WHO), rest("reason", "补签原因")),
    roles=_STAFF,
    done_for=True,  # 给陈静补签 手机没电
    example="补签 陈静 手机没电",
    capability="attendance",
)
MISSING = Command(
    name="未签到",
    # Not 没签到: 我没签到 is a member about to check in (我 is a filler before 签到).
    # Privately it names who is on leave as well: 请假名单 and 谁请假了 ask for that (and
    # would otherwise be read as 请假 with the reason 名单).
    aliases=("谁没签到", "还有谁没签到", "未签到名单", "请假名单", "谁请假了", "请假的人",
             "请假人员", "谁没来", "还有谁没来", "谁还没来", "没来的人", "谁没到", "谁还没签到",
             "未到人员", "未到名单", "谁没签", "谁还没签", "哪些人没签到", "哪些人没来",
             "未签到人员", "未签到的人"),
    summary="查看还没签到的人（群里只说人数，私聊另列请假的人）；领导可指定支部；"
            "问某天也行：昨天谁没来（缺席的人）、明天谁请假了",
    handler=missing,
    args=(branch("branch", "支部", optional=True, also=(BUREAU_WORD,)),),
    takes_day=True,  # 今天谁请假了: said of a day without one, the reply says so
    roles=_STAFF,
    example="未签到 城关派出所党支部",
    capability="attendance",
)
FINISH = Command(
    name="结束",
    acts=True,
    aliases=("结束活动", "活动结束", "结束签到", "签到结束", "停止签到", "关闭签到", "截止签到",
             "签到截止"),
    summary="结束当前活动，报告参与率（两个活动同时进行时写明哪一个，如 结束 支委会）",
    handler=finish,
    args=(word("which", "活动", optional=True, known=names_one, strict=True,
               cut=True, hint="两个活动同时进行时写明哪一个，如 结束 第一党小组"),),
    roles=_STAFF,
    example="结束",
    capability="attendance",
    verb_last=True,  # 夜学结束
)
CONFIRM = Command(
    name="确认缺席",
    acts=True,
    summary="确认缺席并计入积分（两个活动同时举行时写明哪一个，如 确认缺席 第一党小组）",
    handler=confirm_absence,
    args=(word("which", "活动", optional=True, known=names_one, strict=True,
               cut=True, hint="两个活动同时举行时写明哪一个，如 确认缺席 第一党小组"),),
    roles=_STAFF,
    example="确认缺席",
    capability="attendance",
)
RATE = Command(
    name="评价",
    aliases=("评分", "打分"),
    summary="给刚参加的活动打分（1-5）",
    handler=rate,
    args=(integer("score", "分数", min=1, max=5, units=("颗星", "星", "分")),
          rest("comment", "意见", optional=True, max_chars=300)),
    example="评价 5 形式新颖",
    capability="attendance",
)
SHOW = Command(
    name="活动",
    # What secretaries and leaders ask for the figures of the activity under way.
    aliases=("签到情况", "签到统计", "签到人数", "出勤情况", "参会情况", "到会情况", "活动情况",
             "参与情况", "签到率", "参与率", "出勤率", "到会率"),
    summary="查看本支部（或指定支部）当前或最近的活动",
    handler=show_activity,
    args=(branch("branch", "支部", optional=True),),
    example="活动 城关派出所党支部",
    capability="attendance",
)


def register(registry: CommandRegistry) -> None:
    # 代请假 is listed with the other leave a 书记 decides; its module imports this one.
    from handlers.leave_recorded import RECORD_LEAVE, UNDO_RECORDED

    for command in (
        START,
        CHECK_IN,
        LEAVE,
        WITHDRAW,
        OWN_LEAVE,
        APPROVE,
        REVOKE,
        RECORD_LEAVE,
        UNDO_RECORDED,
        MAKEUP,
        MISSING,
        FINISH,
        CONFIRM,
        RATE,
        SHOW,
    ):
        registry.add(command)
