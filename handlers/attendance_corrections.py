"""更正: a secretary puts right a check-in that should not stand, an absence that was
leave, or a 迟到 of a meeting that began late (出席; every 迟到 of it at once with 更正 迟到 出席).

A member checked in but was not there, someone checked in for them (代签), or a 补签 was
for the wrong person: the record becomes an absence (缺席) or leave (请假). A member who did
not check in and had asked leave off-chat (phoned in, said in person) is put down as on
leave (更正 张三 请假 电话请过假): granted by the secretary, the absence's penalty reversed
if it was confirmed already. Who may, and on
which activity, follow 补签: a branch's secretary, 委员 or an admin on the branch's latest
activity, a leader or admin on the bureau's, within the rules' makeup window once the
absences are confirmed. The points the check-in earned are reversed by new ledger entries
(积分明细 shows them as 冲销, with who and why), the audit log keeps from what to what, and
the member hears it privately. In a group the reply names nobody: an absence is said to
the one concerned, not broadcast.

A check-in or 补签 of someone the activity did not expect (a newcomer made up for a day
before they came, as versions before 02ef51d allowed) is no absence or leave either: 更正
withdraws it (storage.attendance.withdraw), and the reply says why, as 补签's refusal
of such a member does.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Any

from bot.context import Ctx
from bot.core import Reply
from bot.domain.attendance import ATTENDED, STATUS_LABELS, checkin_status, show_time
from bot.domain.dates import DateError
from bot.domain.text import cn_number, parse_minutes
from bot.registry import LEADERS, MANAGERS, Command, CommandRegistry, rest, usage_text, word
from bot.scheduling.rules import fold
from handlers.attendance import (
    _WHO,
    _and_cancelled,
    _cancelled,
    _label,
    _manage_scope,
    _not_due_then,
    ask_which,
    is_member_name,
    named_record,
    record_and_member,
    record_for,
    record_named_first,
    write_privately,
)
from storage import attendance as store
from storage import confirmations
from storage.models import Activity, Attendance, AttendanceStatus, LeaveState, Member

CORRECT_AGAIN = "attendance.correct_again"  # 「确认」 of a record corrected already

# What a secretary writes for the record as it should be.
ABSENT_WORDS = ("缺席", "缺勤", "未到", "没到", "没来", "未参加", "没参加", "没有参加", "没有来",
                "不在", "不在场", "旷会")
LEAVE_WORDS = ("请假", "事假", "病假", "准假")
# Only a 迟到 becomes 出席: the meeting began after the time it was counted from. The words
# for having been there are 补签's (把张三改成到会): 更正 张三 到会 was refused as no status.
PRESENT_WORDS = ("出席", "准时", "按时", "准时出席", "按时出席", "正常出席", "不算迟到", "到会",
                 "到场", "参加", "参会", "出勤", "已到", "已参加", "已出席", "在场", "准时到会",
                 "到")  # 到了: 了 goes (_status)
# A check-in said as the record it should be: which one (出席 or 补签) is not said.
ATTENDED_WORDS = ("签到", "补签", "迟到", "已签到")
# 更正 迟到 出席 会议推迟到19:45开始: every 迟到 of the activity at once, not one by one.
# Everyone said (更正 全体 出席 …) is the same: only a 迟到 becomes 出席, an absence is 补签's.
ALL_LATE_WORDS = ("迟到", "全部迟到", "所有迟到", "迟到的", "迟到的同志", "全体迟到", "全体", "全部",
                  "所有人", "大家", "全体同志", "所有同志")
# How late the meeting began, said in the reason: 推迟15分钟, from the start told.
DELAY_RE = re.compile(r"(?:推迟|推后|延后|延迟|顺延|晚)了?(?:大约|约)?"
                      r"(\d{1,3}分钟?|[\d一两二三]?个?半?个?(?:小时|钟头)|[1-3一两二三]刻钟?)")
# Minutes said after the hour as people write them (9点零5分, 九点零五, 九点一刻): as digits
# before REAL_START_RE reads them (9点零5 was read as 9:00, 九点一刻 as 9:01).
SAID_ZERO_RE = re.compile(r"(?<=[点时])[零〇]([一二三四五六七八九\d])")
QUARTERS_RE = re.compile(r"(?<=[点时])([一三])刻")
# The start the meeting really kept, said in the reason: 19:45, 19：45, 19点45(分), 19点半.
REAL_START_RE = re.compile(r"(?<!\d)([01]?\d|2[0-3])(?:[:：]([0-5]\d)|[点时](?:([0-5]?\d)分?|(半))?)")
# Said just before a time: the start kept (推迟到19:45, 改为19:45, 实际19:45开始), or the one
# told (原定19:30), when the reason says both.
MOVED_TO_RE = re.compile(r"(?:(?:推迟|推后|延后|延迟|顺延|改|挪|推)(?:到|至|为|成|在)|实际(?:上|是|于|在)*"
                         r"|实为|才)\s*$")
TOLD_AS_RE = re.compile(r"(?:原定|原计划|计划|原来|原本|本来|本应|应于|通知)(?:是|于|在)?\s*$")
# 更正 张三 为缺席, 改为请假: the link word goes.
LINK_RE = re.compile(r"^(?:更正为|更正成|改为|改成|记为|算作|为|成)")


def _status(said: str) -> AttendanceStatus | None:
    word_ = LINK_RE.sub("", said).removesuffix("了")
    if word_ in ABSENT_WORDS:
        return AttendanceStatus.ABSENT
    if word_ in LEAVE_WORDS:
        return AttendanceStatus.LEAVE
    if word_ in PRESENT_WORDS:
        return AttendanceStatus.PRESENT
    return None


# The status words a name may have typed onto it (张三缺席): two characters or more, so
# that a name ending in 到 stays whole; a link word before it goes with it (张三改为缺席).
_GLUED_STATUS = sorted((w for w in ABSENT_WORDS + LEAVE_WORDS + PRESENT_WORDS if len(w) > 1),
                       key=len, reverse=True)
_GLUED_LINK = re.compile(r"(?:更正为|更正成|改为|改成|记为|算作)$")


def _name_glued(said: str) -> tuple[str, str] | None:
    """更正 张三缺席 代签, 更正 张三：缺席，代签: the name and the status typed as one word
    (the reason was said missing); None when the word is no such pair."""
    head, colon, tail = said.replace(":", "：").partition("：")
    if colon:
        return (head, tail) if head and tail else None
    status = next((w for w in _GLUED_STATUS if said.endswith(w)), None)
    if status is None:
        return None
    head = _GLUED_LINK.sub("", said[:-len(status)])
    return (head, status) if len(head) >= 2 else None


def _record_said_first(ctx: Ctx, args: dict[str, Any]) -> dict[str, Any]:
    """更正 张三 昨天的夜学 缺席 代签 read as 更正 张三 缺席 昨天的夜学 代签: a day or activity
    said before the status goes to the head of the reason, where the activity is read.
    Only when all that comes before the status names a record: 更正 张三 出席 缺席 stays
    as written, to be refused."""
    if _status(args["status"]) is not None:
        return args
    words = args["reason"].split()
    for at, said in enumerate(words[:2]):  # a day, an activity, or both (12月9日 夜学)
        if _status(said) is None:
            continue
        head = " ".join([args["status"], *words[:at]])
        try:
            left = named_record(head, ctx.local_now.date())[2]
        except DateError:  # 2月30日 缺席: a day still, which record_for says does not exist
            left = ""
        if left:
            return args
        return {**args, "status": said, "reason": " ".join([head, *words[at + 1:]])}
    return args


def _status_said_first(args: dict[str, Any]) -> dict[str, Any]:
    """更正 缺席 张三 代签 read as 更正 张三 缺席 代签: the status said before the name. It was
    taken for a member called 缺席 beside a second member, and the reply asked for
    「更正 缺席 缺席 原因」. No member is called 缺席, so the swap guesses nothing."""
    if _status(args["who"]) is None or _status(args["status"]) is not None:
        return args
    return {**args, "who": args["status"], "status": args["who"]}


def correct(ctx: Ctx, args: dict[str, Any]) -> Reply:
    if args["who"] in ALL_LATE_WORDS and _status(args["status"]) == AttendanceStatus.PRESENT:
        return _all_late_present(ctx, args)
    args = _record_said_first(ctx, record_named_first(ctx, _status_said_first(args)))
    status = _status(args["status"])
    if status is None:
        return _unknown_status(ctx, args)
    if status == AttendanceStatus.PRESENT:
        return _late_present(ctx, args)
    # The activity as 补签 finds it: named first in the reason (昨天, 夜学), or the latest.
    found = record_and_member(ctx, CORRECT, args, verb="更正")
    if isinstance(found, Reply):
        return found
    _, activity, reason, member = found
    row = store.attendance_of(ctx.session, activity_id=activity.id, member_id=member.id)
    if row is not None and _corrected_before(row, status):
        return _ask_again(ctx, row, activity, member, status, reason)
    if status == AttendanceStatus.LEAVE and _unexcused(row):
        # Leave asked off-chat (phoned in, said in person) and never recorded: the absence,
        # or the record still to be confirmed as one, is the secretary's to put right.
        return _excuse(ctx, row, activity, member, reason)
    if row is None or row.status not in ATTENDED:
        # In a group, not why: that would say the member's absence or leave to everyone.
        label = _label(ctx, activity)
        had = (f"{_no_check_in(row, label)}，" if ctx.message.is_private else f"在{label}")
        return Reply.error(f"{member.name} {had}没有可以更正的签到记录，记录保持不变。"
                           + _what_puts_it_right(row, member))
    return _restate_record(ctx, row, activity, member, status, reason)


def _late_present(ctx: Ctx, args: dict[str, Any]) -> Reply:
    """更正 张三 出席 会议推迟到19:45开始: a 迟到 counted from the start the members were told
    (handlers.attendance._check_in_terms) when the meeting began later. Only a 迟到 is
    restated so; a time in the reason is the start really kept, and a check-in past it and
    the grace stays late."""
    found = record_and_member(ctx, CORRECT, args, verb="更正")
    if isinstance(found, Reply):
        return found
    _, activity, reason, member = found
    row = store.attendance_of(ctx.session, activity_id=activity.id, member_id=member.id)
    if row is None or row.status != AttendanceStatus.LATE:
        return Reply.error(_not_late(ctx, row, activity, member))
    start = _real_start(ctx, activity, reason)
    if isinstance(start, Reply):
        return start
    if start is not None and not _on_time(ctx, row, start):
        assert row.checked_in_at is not None
        tz = ctx.settings.tz
        return Reply.error(
            f"{member.name} {show_time(row.checked_in_at, tz, ctx.now)} 签到，按实际开始时间 "
            f"{show_time(start, tz, ctx.now)} 计也已超过 {ctx.settings.late_grace_minutes} 分钟，"
            "仍记为迟到，记录保持不变。")
    assert ctx.member is not None
    done = store.correct(ctx.session, attendance=row, activity=activity, member=member,
                         status=AttendanceStatus.PRESENT, by=ctx.member, reason=reason,
                         now=ctx.now, rules=ctx.rules)
    said = _said_corrected(ctx, activity, member, AttendanceStatus.PRESENT, reason, done)
    kept = _keep_start(ctx, activity, start, reason)
    return Reply(f"{said.text}\n{kept}") if kept else said


def _keep_start(ctx: Ctx, activity: Activity, start: datetime | None, reason: str) -> str:
    """A real start said while the activity still takes check-ins holds for those still to
    come (storage.attendance.real_start): they were counted late from the start told after
    the 更正 had put the others right. What the reply says of it."""
    if start is None or activity.status != store.OPEN or ctx.now > activity.checkin_closes_at:
        return ""
    ctx.audit(store.REAL_START, target=store.real_start_target(activity.id), detail={
        "activity_id": activity.id, "starts_at": start.astimezone(timezone.utc).isoformat(),
        "reason": reason})
    tz = ctx.settings.tz
    line = start + timedelta(minutes=ctx.settings.late_grace_minutes)
    return (f"之后签到的也按实际 {show_time(start, tz, ctx.now)} 开始计，"
            f"{show_time(line, tz, ctx.now)} 后签到记为迟到。")


def _not_late(ctx: Ctx, row: Attendance | None, activity: Activity, member: Member) -> str:
    """Why a 更正 …出席 changes nothing: the record is no 迟到. In a group an absence or
    leave is not said (as 更正's other refusals)."""
    label = _label(ctx, activity)
    if row is not None and row.status == AttendanceStatus.PRESENT:
        return f"{member.name} 在{label}已记为出席，没有迟到，不用更正，记录保持不变。"
    if row is not None and row.status == AttendanceStatus.MAKEUP:
        return f"{member.name} 在{label}是补签，不是迟到，不用更正为出席，记录保持不变。"
    had = _no_check_in(row, label) if ctx.message.is_private else f"在{label}没有迟到记录"
    return (f"{member.name} {had}，不是迟到，不能更正为出席，记录保持不变。"
            f"参加了但没签到的，请发送「补签 {member.name} 原因」。")


def _real_start(ctx: Ctx, activity: Activity, reason: str) -> datetime | Reply | None:
    """The start the meeting really kept, when the reason says one (推迟到19:45开始,
    7点45开始 of an evening meeting, 推迟15分钟 from the start told): on the activity's day,
    after the start the members were told and before its end. With two times (原定19:30，
    推迟到19:45) the one said as the start kept, or the one that is not the start told.
    None when the reason gives no time; a Reply when the time it gives is no later start,
    or when which of its times is meant cannot be told."""
    tz = ctx.settings.tz
    told = activity.starts_at.astimezone(tz)
    reason = _in_digits(reason)
    said = [(_said_at(activity, tz, found), found) for found in REAL_START_RE.finditer(reason)]
    if not said:
        delay = DELAY_RE.search(reason)
        minutes = _minutes(delay[1]) if delay is not None else None
        if minutes is None:
            return None
        said = [(told + timedelta(minutes=minutes), None)]
    kept = {at for at, found in said if found is not None
            and MOVED_TO_RE.search(reason[max(0, found.start() - 6):found.start()])}
    if not kept:
        kept = {at for at, found in said if at != activity.starts_at and not (
            found is not None and TOLD_AS_RE.search(reason[max(0, found.start() - 6):found.start()]))}
    if len(kept) > 1:
        times = "、".join(f"{at.astimezone(tz):%H:%M}" for at in sorted(kept))
        return Reply.error(f"原因中有 {times} 几个时间，看不出哪个是实际开始时间，记录保持不变。"
                           "请只写实际开始时间，或写明「推迟到19:45开始」。")
    start = next(iter(kept)) if kept else said[0][0]
    if not activity.starts_at < start < activity.ends_at:
        return Reply.error(
            f"原因中的 {start.astimezone(tz):%H:%M} 不在原定开始 "
            f"{show_time(activity.starts_at, tz, ctx.now)} 与结束 "
            f"{show_time(activity.ends_at, tz, ctx.now)} 之间，不是推迟后的开始时间，记录保持不变。"
            "请写实际开始时间，如「会议推迟到19:45开始」，或不写时间。")
    return start


def _in_digits(reason: str) -> str:
    """The reason with its times and lengths said in words as digits (九点零五 → 9点05,
    推迟五分钟 → 推迟5分钟, 九点一刻 → 9点15)."""
    said = QUARTERS_RE.sub(lambda m: "15" if m[1] == "一" else "45", reason)
    said = SAID_ZERO_RE.sub(lambda m: f"0{cn_number(m[1])}", said)
    return fold(said)


def _minutes(said: str) -> int | None:
    """How long DELAY_RE's delay is: 15分钟, 半小时, 1个小时, 1刻钟."""
    if "刻" in said:
        return (cn_number(said[0]) or 0) * 15
    return parse_minutes(said)


def _said_at(activity: Activity, tz: tzinfo, found: re.Match[str]) -> datetime:
    """A time REAL_START_RE found, on the activity's day (7点45 of a meeting told for
    19:30 in the evening)."""
    hour, minute = int(found[1]), 30 if found[4] else int(found[2] or found[3] or 0)
    said = activity.starts_at.astimezone(tz).replace(hour=hour, minute=minute, second=0,
                                                     microsecond=0)
    evening = said + timedelta(hours=12)
    if hour < 12 and said <= activity.starts_at < evening < activity.ends_at:
        return evening
    return said


def _on_time(ctx: Ctx, row: Attendance, start: datetime) -> bool:
    """Whether the check-in was on time for the start really kept, with the usual grace."""
    assert row.checked_in_at is not None
    return checkin_status(row.checked_in_at, start,
                          grace_minutes=ctx.settings.late_grace_minutes) \
        == AttendanceStatus.PRESENT


def _all_late_present(ctx: Ctx, args: dict[str, Any]) -> Reply:
    """更正 迟到 出席 会议推迟到19:45开始: every 迟到 of the activity becomes 出席 at once, a
    secretary need not send it for each. With a time in the reason, those who checked in
    past it and the grace stay late; the reply counts both, and in a group names nobody.
    The sender's own 迟到 stays: a record is not put right by the one it counts."""
    scope, problem = _manage_scope(ctx)
    if problem:
        return Reply.error(problem)
    found = record_for(ctx, scope, args["reason"], verb="更正")
    if isinstance(found, Reply):
        return _and_cancelled(ctx, scope, found, verb="更正")
    activity, reason, named = found
    if not reason:
        return Reply.error(usage_text(CORRECT, "缺少更正原因"))
    held = store.held_with(ctx.session, activity=activity, now=ctx.now)
    if named:
        held = [a for a in held if a.type == activity.type]
    held = [a for a in held if store.late_rows(ctx.session, activity_id=a.id)] or [activity]
    if len(held) > 1:
        return ask_which(ctx, held, "这几个同时举行的活动都有迟到记录",
                         lambda word_: f"更正 {args['who']} {args['status']} {word_} {reason}",
                         "记录保持不变。", by_type=True)
    activity = held[0]
    cancelled = _cancelled(ctx, scope, activity, named=named, verb="更正", who=args["who"],
                           reason=reason)
    if cancelled is not None:
        return cancelled
    start = _real_start(ctx, activity, reason)
    if isinstance(start, Reply):
        return start
    assert ctx.member is not None
    late = store.late_rows(ctx.session, activity_id=activity.id)
    own = [row for row in late if row.member_id == ctx.member.id]
    late = [row for row in late if row.member_id != ctx.member.id]
    on_time = [row for row in late if start is None or _on_time(ctx, row, start)]
    tz = ctx.settings.tz
    line = (f"{show_time(start + timedelta(minutes=ctx.settings.late_grace_minutes), tz, ctx.now)}"
            if start is not None else "")
    stay = len(late) - len(on_time)
    stays = f"{stay} 条在 {line} 后签到，仍为迟到。" if stay else ""
    mine = "你本人的迟到记录请本支部另一位书记、委员或领导更正。" if own else ""
    label = _label(ctx, activity)
    kept = _keep_start(ctx, activity, start, reason)
    if not on_time:
        none = f"{label}没有可以更正为出席的迟到记录" if not late else \
            f"{label}的 {stay} 条迟到记录都在 {line} 后签到，仍为迟到"
        if kept:  # nothing to put right yet, but the start holds for those to come
            return Reply(f"{none}。{kept}{mine}")
        return Reply.error(f"{none}，记录保持不变。{mine}")
    names, unreached = [], 0
    for row in on_time:
        member = ctx.session.get(Member, row.member_id)
        assert member is not None
        done = store.correct(ctx.session, attendance=row, activity=activity, member=member,
                             status=AttendanceStatus.PRESENT, by=ctx.member, reason=reason,
                             now=ctx.now, rules=ctx.rules)
        _, reached = _on_record(ctx, activity, member, AttendanceStatus.PRESENT, reason, done)
        names.append(member.name)
        unreached += reached is False
    by = f"（按实际 {show_time(start, tz, ctx.now)} 开始计）" if start is not None else ""
    told = (f"已私聊告知本人，其中 {unreached} 位没有能收到私聊的账号，请当面告知。" if unreached
            else "已私聊告知本人。")
    done_ = f"已将{label}的 {len(on_time)} 条迟到记录更正为出席{by}，积分已相应调整。"
    if not ctx.message.is_private:
        # The count only: who was late is not for the whole group to read.
        return Reply(f"{done_}{stays}{kept}{told}{mine}")
    return Reply("\n".join(filter(None, [
        done_ + f"原因：{reason}", "更正的同志：" + "、".join(names), stays + kept + mine, told])))


def _unexcused(row: Attendance | None) -> bool:
    """Whether the record is one of a member who neither came nor asked leave on record:
    none yet, or the absence 确认缺席 gave them. Not an absence a 更正 made of a check-in
    (_corrected_before asks about those), nor leave that lapsed waiting for a decision
    (批准请假 decides it, with the rest of that request)."""
    if row is None:
        return True
    return (row.status == AttendanceStatus.ABSENT and row.checked_in_at is None
            and row.made_up_at is None and row.leave_state != LeaveState.PENDING)


def _what_puts_it_right(row: Attendance | None, member: Member) -> str:
    """Where a record 更正 does not change is put right instead."""
    if row is not None and row.status == AttendanceStatus.LEAVE \
            and row.leave_state in (LeaveState.PENDING, LeaveState.REVOKED):
        return f"要准假请发送「批准请假 {member.name}」。"
    if row is not None and row.status == AttendanceStatus.ABSENT \
            and row.leave_state == LeaveState.PENDING:
        return f"其请假到确认缺席时仍未批准，要准假请发送「批准请假 {member.name}」。"
    if row is not None and row.status == AttendanceStatus.LEAVE:
        return "更正只用于签到或补签有误的同志。"
    return ("更正只用于签到或补签有误的同志，"
            f"没签到但请过假的可以改为请假：「更正 {member.name} 请假 原因」。")


def _excuse(ctx: Ctx, row: Attendance | None, activity: Activity, member: Member,
            reason: str) -> Reply:
    """更正 张三 请假 电话请过假: a member who did not check in had asked leave off-chat.
    With no record yet it becomes granted leave, the secretary's (an absence confirmed
    already is restated as a check-in's record is); not for one the activity did not expect."""
    if row is None and not store.expected_at(ctx.session, member=member, activity=activity):
        then = _not_due_then(ctx, member, activity)
        held = _label(ctx, activity, with_date=True)
        said = (f"{held}举行时{member.name}{then[0]}（{then[1]}），不在应到名单中"
                if then is not None else f"{member.name} 不在{held}的应到名单中")
        return Reply.error(f"{said}，不用记请假，记录保持不变。")
    if row is not None:
        return _restate_record(ctx, row, activity, member, AttendanceStatus.LEAVE, reason)
    assert ctx.member is not None
    done = store.excuse_unrecorded(ctx.session, activity=activity, member=member, by=ctx.member,
                                   reason=reason, now=ctx.now, rules=ctx.rules)
    return _said_corrected(ctx, activity, member, AttendanceStatus.LEAVE, reason, done)


def _restate_record(ctx: Ctx, row: Attendance, activity: Activity, member: Member,
                    status: AttendanceStatus, reason: str) -> Reply:
    """The correction itself, once the record is known to be one 更正 may change."""
    if not store.expected_at(ctx.session, member=member, activity=activity):
        return _withdraw(ctx, row, activity, member, status, reason)
    assert ctx.member is not None
    done = store.correct(ctx.session, attendance=row, activity=activity, member=member,
                         status=status, by=ctx.member, reason=reason, now=ctx.now,
                         rules=ctx.rules)
    return _said_corrected(ctx, activity, member, status, reason, done)


def _said_corrected(ctx: Ctx, activity: Activity, member: Member, status: AttendanceStatus,
                    reason: str, done: store.Corrected) -> Reply:
    """A 更正 done: audited, the member told privately, the secretary answered (in a group
    naming nobody)."""
    points, reached = _on_record(ctx, activity, member, status, reason, done)
    told = _told(reached)
    was, now_is = STATUS_LABELS.get(done.was, "未签到"), STATUS_LABELS[status]
    if not ctx.message.is_private and status == AttendanceStatus.PRESENT:
        return Reply(f"已将{_label(ctx, activity)}的 1 条迟到记录更正为出席，积分已相应调整，{told}"
                     "更正涉及个人出勤，今后可以私聊我发送。")
    if not ctx.message.is_private:
        # The group saw the command; the reply adds no name, status or reason to it.
        what = ("签到记录，相关积分已冲销" if done.was in ATTENDED
                else "考勤记录" + ("，相关积分已冲销" if done.reversed_points else ""))
        return Reply(f"已更正{_label(ctx, activity)}的 1 条{what}，{told}"
                     "更正涉及个人出勤，今后可以私聊我发送。")
    return Reply("\n".join(filter(None, [
        f"已将 {member.name} 在{_label(ctx, activity)}的记录由{was}更正为{now_is}。"
        f"原因：{reason}", points, told])))


def _on_record(ctx: Ctx, activity: Activity, member: Member, status: AttendanceStatus,
               reason: str, done: store.Corrected) -> tuple[str, bool | None]:
    """A 更正 done put on record: audited, the member told privately. Returns the points
    as said to the member, and whether they could be reached (None: it was the sender)."""
    was, now_is = STATUS_LABELS.get(done.was, "未签到"), STATUS_LABELS[status]
    ctx.audit("attendance.correct", target=member.name, detail={
        "member_id": member.id, "activity_id": activity.id, "from": done.was or None,
        "to": status.value, "reason": reason,
        "reversed_points": done.reversed_points, "posted_points": done.posted_points})
    change = done.reversed_points + done.posted_points
    posted = {AttendanceStatus.ABSENT: "缺席扣分", AttendanceStatus.PRESENT: "出席积分"}.get(
        status, "请假积分")
    points = f"积分 {change:+d}（冲销{was} {done.reversed_points:+d}" + (
        f"，{posted} {done.posted_points:+d}）" if done.posted_points else "）")
    if not done.was:  # no record before: nothing reversed, and leave earns what the rules say
        points = f"积分 {change:+d}（{posted}）" if change else ""
    if status == AttendanceStatus.ABSENT and activity.finalized_at is None:
        points += "；缺席扣分在确认缺席时与其他未到的同志一并计入"
    points = f"{points}。" if points else ""
    reached = _tell_member(ctx, member, f"{_label(ctx, activity, with_date=True)}的记录由{was}"
                                        f"更正为{now_is}。原因：{reason}。{points}"
                                        "发送「积分明细」可查看。")
    return points, reached


def _corrected_before(row: Attendance, status: AttendanceStatus) -> bool:
    """Whether the record is what a 更正 made of a check-in or 补签 (which stays on file),
    and the other of 缺席 and 请假 is asked: a 更正 sent by mistake (请假 for an absence) is
    put right by another, not by a 补签 that would say the member was there. Leave or an
    absence no 更正 made is not 更正's: 驳回请假 and 补签 put those right."""
    corrected = row.checked_in_at is not None or row.made_up_at is not None
    return corrected and row.status != status and \
        row.status in (AttendanceStatus.ABSENT, AttendanceStatus.LEAVE)


def _ask_again(ctx: Ctx, row: Attendance, activity: Activity, member: Member,
               status: AttendanceStatus, reason: str) -> Reply:
    """A record corrected already is corrected again on 「确认」, once the reply has said what
    it is now: two people correcting one record at once never write over each other unseen
    (the second is told what the first made of it), nor does a 更正 sent twice."""
    label = _label(ctx, activity)
    if not ctx.message.is_private:
        # As 更正's own replies in a group: no status, which would say an absence to all.
        return Reply.error(f"{member.name} 在{label}的签到记录已经更正过，记录保持不变。"
                           "再次更正请私聊我发送同一条命令。")
    assert ctx.member is not None and ctx.member.id is not None
    confirmations.ask(ctx.session, platform=ctx.message.platform, chat_id=ctx.message.chat_id,
                      member_id=ctx.member.id, kind=CORRECT_AGAIN,
                      payload={"attendance_id": row.id, "was": str(row.status),
                               "status": status.value, "reason": reason}, now=ctx.now)
    why = f"（原因：{row.leave_reason}）" if row.status == AttendanceStatus.LEAVE \
        and row.leave_reason else ""
    return Reply(f"{member.name} 在{label}的签到记录已更正为{STATUS_LABELS[row.status]}{why}，"
                 f"记录暂保持不变。要再改为{STATUS_LABELS[status]}（原因：{reason}），"
                 "请在 5 分钟内发送「确认」。")


def correct_again(ctx: Ctx, payload: dict[str, Any]) -> Reply:
    """「确认」 of _ask_again: the record as it was when asked, corrected as asked."""
    row = ctx.session.get(Attendance, payload["attendance_id"])
    if row is None or str(row.status) != payload["was"]:
        return Reply.error("这条记录在你确认前又有了变动，记录保持不变。请重新发送「更正」。")
    activity = ctx.session.get(Activity, row.activity_id)
    member = ctx.session.get(Member, row.member_id)
    assert activity is not None and member is not None
    if activity.status == store.CANCELLED:
        return Reply.error(f"{_label(ctx, activity, with_date=True)}已取消，不计入任何统计，"
                           "不能更正，记录保持不变。")
    return _restate_record(ctx, row, activity, member, AttendanceStatus(payload["status"]),
                           payload["reason"])


def _withdraw(ctx: Ctx, row: Attendance, activity: Activity, member: Member,
              status: AttendanceStatus, reason: str) -> Reply:
    """更正 of a check-in or 补签 the activity should never have had: the member was not
    expected there, so neither an absence nor leave is theirs to count. The record is
    withdrawn and its points reversed; the reply says why, in the words of 补签's refusal."""
    assert ctx.member is not None
    done = store.withdraw(ctx.session, attendance=row, activity=activity, by=ctx.member,
                          reason=reason, now=ctx.now)
    ctx.audit("attendance.correct", target=member.name, detail={
        "member_id": member.id, "activity_id": activity.id, "from": done.was,
        "to": AttendanceStatus.WITHDRAWN.value, "asked": status.value, "reason": reason,
        "reversed_points": done.reversed_points, "posted_points": 0})
    record = "补签记录" if done.was == AttendanceStatus.MAKEUP else "签到记录"
    points = f"积分 {done.reversed_points:+d}（冲销{STATUS_LABELS[done.was]}）"
    held = _label(ctx, activity, with_date=True)
    then = _not_due_then(ctx, member, activity)
    why = f"举行时你{then[0]}（{then[1]}），" if then is not None else "你"
    told = _told(_tell_member(ctx, member, f"{held}的{record}撤销：{why}不在应到名单中，不记缺席或请假。"
                                     f"原因：{reason}。{points}。发送「积分明细」可查看。"))
    if not ctx.message.is_private:
        # As 更正's own: no name, no reason; only that this record was not one to restate.
        return Reply(f"已撤销{_label(ctx, activity)}的 1 条{record}：举行时不在应到名单中，"
                     f"不记缺席或请假，相关积分已冲销，{told}更正涉及个人出勤，今后可以私聊我发送。")
    said = (f"{held}举行时{member.name}{then[0]}（{then[1]}），不在应到名单中" if then is not None
            else f"{member.name} 不在{held}的应到名单中")
    return Reply("\n".join(filter(None, [
        f"{said}，这条{record}已撤销，不记{STATUS_LABELS[status]}，{points}。原因：{reason}",
        told])))


def _no_check_in(row: Attendance | None, label: str) -> str:
    """What the member's record on the activity is, when it is not a check-in."""
    if row is None:
        return f"没有在{label}签到"
    if row.status == AttendanceStatus.WITHDRAWN:
        return f"在{label}的签到记录已撤销（不在应到名单中）"
    if row.status == AttendanceStatus.LEAVE:
        state = {LeaveState.PENDING: "的请假正在等待批准",
                 LeaveState.REVOKED: "的请假已被驳回"}.get(row.leave_state, "已请假")
        return f"在{label}{state}"
    return f"在{label}已记为缺席"


def _unknown_status(ctx: Ctx, args: dict[str, Any]) -> Reply:
    said = args["status"]
    if LINK_RE.sub("", said) in ATTENDED_WORDS:
        return Reply.error("更正只能改为缺席、请假，或把迟到改为出席。参加了但没签到的，"
                           f"请发送「补签 {args['who']} 原因」。")
    scope, _ = _manage_scope(ctx)
    if is_member_name(ctx, scope, said):
        return Reply.error(f"更正一次写一位同志，请分别发送：「更正 {args['who']} 缺席 原因」、"
                           f"「更正 {said} 缺席 原因」。")
    return Reply.error(usage_text(CORRECT, f"「{said}」不是可以更正成的记录，"
                                           "请写缺席（没有参加）、请假，或把迟到改为出席，再写原因"))


def _told(reached: bool | None) -> str:
    """What the secretary is told of the member's private notice (_tell_member)."""
    if reached is None:
        return ""
    return "已私聊告知本人。" if reached else "本人没有能收到私聊的账号，请当面告知。"


def _tell_member(ctx: Ctx, member: Member, what: str) -> bool | None:
    """The member hears privately, at once or when quiet hours end, that their record
    changed (a figure that falls without a word is one nobody can question); returns
    whether they could be reached (None: the sender's own record)."""
    assert ctx.member is not None
    if member.id == ctx.member.id:
        return None
    reached = write_privately(
        ctx, [member], f"【签到记录更正】{ctx.member.name}将你在{what}如有疑问请联系书记。",
        kind="attendance.correct", title="签到记录更正",
        key=f"attendance.correct|{ctx.message.platform}:{ctx.message.message_id}",
        branch_id=member.branch_id)
    return bool(reached)


CORRECT = Command(
    name="更正",
    acts=True,
    aliases=("更正签到", "更正考勤", "更正出勤", "修改签到"),
    summary="把有误的签到或补签（没参加、他人代签、补签错人）更正为缺席或请假，冲销相关积分；"
            "没签到但电话或当面请过假的更正为请假（更正 周强 请假 电话请过假）；"
            "会议推迟开始的，迟到更正为出席（更正 周强 出席 会议推迟到19:45开始；"
            "全部迟到一次更正：更正 迟到 出席 会议推迟到19:45开始，写了时间的按它计迟到）"
            "（更正以前的一次：原因前写日期或活动，如 更正 周强 缺席 昨天 他人代签）",
    handler=correct,
    args=(word("who", "姓名", hint=_WHO, glued=_name_glued),
          # 更正 张三 请假电话请过假: the status cut off the reason typed onto it.
          word("status", "更正结果", hint="缺席、请假或出席", cut=True,
               known=lambda said: _status(said) is not None),
          rest("reason", "更正原因")),
    roles=MANAGERS | LEADERS,
    example="更正 周强 缺席 没有参加，系他人代签",
    capability="attendance",
)


def register(registry: CommandRegistry) -> None:
    registry.add(CORRECT)
