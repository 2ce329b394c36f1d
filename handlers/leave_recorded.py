"""代请假: leave a member asked for off-chat (phoned in, said in person), put on record by
the branch's secretary.

Leave is each member's own to ask (请假), but one who cannot send it, or did not, tells the
书记, who had no way to record it: the member was nudged and counted absent. 代请假 张三 出差
(also 请假 张三 出差 or 请假 @张三 出差 from one who may decide leave) is leave for the
member's activity under way or their next one (of the type named: 代请假 张三 夜学 出差;
下次 for the next when one they missed ended today), or for the days written as the
member's own 请假 writes them (代请假 张三 12月10日至12月12日 出差: a leave period, what is
planned in it later excused too; 明天晚上: that evening's), granted by the sender and on record as
theirs (leave_decided_by, the audit log) whatever DJBOT_LEAVE_REQUIRES_APPROVAL says. The
member hears it once, privately, and takes it back with 销假 like any leave. Who may follows
批准请假, beside which handlers.attendance registers it: a branch's 书记, 委员 or an admin on
its activities, a leader or admin on the bureau's. An activity already over is 更正's
(更正 张三 请假 原因, handlers/attendance_corrections.py).
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Any

from bot.context import Ctx
from bot.core import Reply
from bot.domain.attendance import ATTENDED, STATUS_LABELS
from bot.domain.dates import (
    DateError,
    DateRange,
    day_left,
    find_leading_day,
)
from bot.domain.text import show_date, show_days, show_period
from bot.registry import LEADERS, MANAGERS, Command, rest, shorten, usage_text, word
from handlers.attendance import (
    _HOW_LONG,
    _MOVED,
    _NEXT_SAID,
    _PART_HOURS,
    _PART_OF_DAY,
    _PART_SAID,
    _VAGUE_DAYS,
    _WHO,
    _ahead_read_from,
    _label,
    _manage_scope,
    _more_names,
    _named_kind,
    _resolve_one,
    LooseUntil,
    leave_days,
    of_another_branch,
    write_privately,
)
from storage import attendance as store
from storage import leave as leave_store
from storage import org
from storage.models import (
    Activity,
    ActivityType,
    AttendanceStatus,
    LeavePeriod,
    LeaveState,
    Member,
)

UNCHANGED = "没有记请假。"
# A day gone by said first (昨晚 值班), which no day reader of leave reads: never the next's.
_PAST_SAID = re.compile(r"^\s*(昨晚|昨早|昨天晚上|昨天上午|昨天下午|昨天|昨日|前晚|前天)")


def record_leave(ctx: Ctx, args: dict[str, Any]) -> Reply:
    scope, problem = _manage_scope(ctx)
    if problem:
        return Reply.error(problem)
    assert ctx.member is not None
    who = args["who"]
    said = args["reason"].strip()
    today, note = _ahead_read_from(ctx, said)  # 明天 said at 00:10 is the day begun
    next_said = _NEXT_SAID.match(said)
    kind, reason = _named_kind(said[next_said.end():] if next_said else said)
    if not next_said and (past := _PAST_SAID.match(reason)) is not None:
        # 代请假 张三 昨晚 值班: recorded for the next one, the reason 「昨晚 值班」.
        return Reply.error(f"「{past[1]}」已经过去了，{UNCHANGED}已经结束的活动，"
                           f"请发送「更正 {who.lstrip('@')} 请假 原因」。")
    days = None if next_said else _days_named(reason, today)
    if isinstance(days, Reply):
        return days
    hours: tuple[int, int] | None = None
    if days is not None:
        # 代请假 张三 12月10日 出差, 12月10日至12日, 明天晚上: leave for those days, as the
        # member's own 请假 with them would be (the next activity was excused instead).
        span, hours, part = days
        if kind is None:
            kind, rest_ = _named_kind(span.rest)  # 代请假 张三 周四 夜学 出差
            span = DateRange(span.first, span.last, rest_)
        reason = span.rest
    if not reason:
        return Reply.error(usage_text(RECORD_LEAVE, f"缺少请假原因。{UNCHANGED}"))
    found = _resolve_one(ctx, RECORD_LEAVE, scope, who)
    if isinstance(found, Reply):
        other = _named_elsewhere(ctx, scope, who)
        return (of_another_branch(ctx, other, then=f"其请假由所在支部登记。{UNCHANGED}")
                if other is not None else found)
    member = found
    others, _ = _more_names(ctx, scope, reason)
    if others:
        asks = "、".join(f"「代请假 {name} 原因」" for name in [member.name, *others])
        return Reply.error(f"代请假一次写一位同志，请分别发送：{asks}。{UNCHANGED}")
    if member.id == ctx.member.id:
        return Reply.error(f"不能为自己代请假：自己的请假请发送「请假 {said}」。{UNCHANGED}")
    if days is not None:
        reply = _record_days(ctx, scope, member, span, kind, hours, part)
        return Reply(reply.text + note, title=reply.title) if note and not reply.is_error \
            else reply
    activity = _activity_for(ctx, scope, member, kind, next_said=next_said is not None)
    if isinstance(activity, Reply):
        return activity
    row = store.attendance_of(ctx.session, activity_id=activity.id, member_id=member.id)
    withdrawn = row if row is not None and row.status == AttendanceStatus.WITHDRAWN else None
    if row is not None and withdrawn is None:
        return _on_record_already(ctx, row.status, row.leave_state, activity, member)
    row = store.ask_leave(ctx.session, activity=activity, member=member, reason=reason,
                          now=ctx.now, requires_approval=False, platform=ctx.message.platform,
                          message_id=ctx.message.message_id, withdrawn=withdrawn,
                          granted_by=ctx.member)
    held = _label(ctx, activity, with_date=True)
    ctx.audit(leave_store.RECORDED, target=member.name, detail={
        "member_id": member.id, "activity_id": activity.id, "reason": reason,
        "message_id": ctx.message.message_id})
    reached = write_privately(
        ctx, [member], f"【请假已登记】{ctx.member.name}为你登记了请假：{held}，原因：{reason}。"
                       "不用再发送「请假」；能参加的话，活动开始前发送「销假」，已开始的到场后直接「签到」。",
        kind="leave.recorded", title="请假已登记",
        key=f"leave.recorded|{ctx.message.platform}:{ctx.message.message_id}",
        branch_id=member.branch_id)
    told = "已私聊告知本人。" if reached else "本人没有能收到私聊的账号，请当面告知。"
    if not ctx.message.is_private:
        # The reason may be the member's own affair (病假): the group hears only that it is done.
        return Reply(f"已为 {member.name} 登记请假：{_label(ctx, activity)}。{told}")
    return Reply(f"已为 {member.name} 登记请假：{held}。原因：{reason}\n{told}")


def _days_named(reason: str, today: date
                ) -> tuple[DateRange, tuple[int, int] | None, str] | Reply | None:
    """The days a 代请假 names first, read as the member's own 请假 reads them (a day, a
    range, a week, 出差到12月12日), with the hours of a part of a single day said after it
    (明天晚上) and its word; None when it names none; a Reply saying what is not clear or is
    no day, and how to write it."""
    if (lasting := _HOW_LONG.match(reason)) is not None:
        # 三天 出差: how long, not from when.
        return Reply.error(usage_text(RECORD_LEAVE, f"「{lasting[1]}」是从哪天起没写清楚，{UNCHANGED}"
                                                    "请写明日期，如「代请假 张三 12月10日至"
                                                    "12月12日 出差」"))
    if (vague := _VAGUE_DAYS.match(reason)) is not None:
        return Reply.error(usage_text(RECORD_LEAVE, f"「{vague[1]}」是哪几天没写清楚，{UNCHANGED}"
                                                    "请写明日期，如「代请假 张三 12月10日 出差」"))
    moved = _MOVED.match(reason)
    try:
        if moved is not None and find_leading_day(moved["to"], today) is not None:
            # 代请假 张三 改到周四: recorded for tonight's with the reason 改到周四.
            return Reply.error(f"请假不能直接改日期，{UNCHANGED}请先发送「撤销代请假 姓名」"
                               "撤回原来的请假，再发送「代请假 姓名 日期 原因」。")
        span, tonight = leave_days(reason, today)
    except LooseUntil as loose:
        return Reply.error(usage_text(RECORD_LEAVE, f"「{loose.days}」是哪几天没写清楚，"
                                                    f"{UNCHANGED}请写明日期，如「代请假 张三 "
                                                    "出差到12月31日」"))
    except DateError as exc:
        return Reply.error(usage_text(RECORD_LEAVE, f"{exc}。{UNCHANGED}"))
    if span is None:
        return None
    if (left := day_left(span.rest)) is not None:  # 周二、周四 出差: not one day nor days in a row
        return Reply.error(usage_text(RECORD_LEAVE, f"没读懂「{shorten(left)}」是哪天，{UNCHANGED}"
                                                    "一次写一天或连着的几天，不连着的请分别发送"))
    said = reason.lstrip()
    part = _PART_OF_DAY.match(span.rest)
    part_said = (part[1] if part else said[1] if said.startswith(("明晚", "明早"))
                 else tonight[1] or tonight[2] if tonight is not None else None)
    if span.first != span.last or part_said is None:
        return span, None, ""
    part_said = _PART_SAID[part_said]
    rest_ = span.rest[part.end():].strip() if part else span.rest
    return DateRange(span.first, span.last, rest_), _PART_HOURS[part_said], part_said


def _record_days(ctx: Ctx, scope: int | None, member: Member, span: DateRange,
                 kind: ActivityType | None, hours: tuple[int, int] | None, part: str
                 ) -> Reply:
    """Leave over days the 书记 records for the member: every activity in them the member
    is expected at (of `kind` where named) excused, those planned later too, granted by the
    sender as the member's own 请假 over the days would be once granted; with `hours` (明天
    晚上), the activities planned that day in those hours only. The member told privately."""
    assert ctx.member is not None
    today = ctx.local_now.date()
    tz = ctx.settings.tz
    who = member.name
    if span.last < today:
        return Reply.error(f"{show_days(span.first, span.last)}已经过去了，{UNCHANGED}"
                           f"已经结束的活动，请发送「更正 {who} 请假 原因」。")
    first = max(span.first, today)
    grace = timedelta(minutes=ctx.settings.late_grace_minutes)
    on_day = (lambda a: first <= a.starts_at.astimezone(tz).date() <= span.last
              and (hours is None or hours[0] <= a.starts_at.astimezone(tz).hour < hours[1]))
    # What is under way (the secretary may record it while it runs, unlike the member) and
    # what is planned in the days, the member's own.
    held = [a for a in (*store.current_activities(ctx.session, branch_id=scope, now=ctx.now),
                        *store.next_activities(ctx.session, branch_id=scope, now=ctx.now))
            if a.ends_at > ctx.now and on_day(a) and _theirs(ctx, member, a, kind)]
    held = sorted({a.id: a for a in held}.values(), key=lambda a: a.starts_at)
    when = show_days(first, span.last)
    if hours is not None:
        when += part
        if not held and first == today:
            # 今晚 at 21:40, tonight's study over: not 「没有需要参加的活动」 and another
            # 代请假 of the day, which excuses nothing; it is 更正's.
            midnight = datetime.combine(today, time(), tzinfo=tz)
            over = [a for a in (*store.current_activities(ctx.session, branch_id=scope,
                                                          now=ctx.now),
                                *store.ended_since(ctx.session, branch_id=scope, now=ctx.now,
                                                   since=midnight))
                    if a.ends_at <= ctx.now and on_day(a) and _theirs(ctx, member, a, kind)]
            if over:
                ended = max(over, key=lambda a: a.starts_at)
                return Reply.error(f"{_label(ctx, ended)}已经结束，{UNCHANGED}"
                                   f"要记这一次的请假，请发送「更正 {who} 请假 原因」。")
        if not held:
            day = show_date(first, today=today)
            return Reply.error(f"{when}没有需要{who}参加的{kind.value if kind else '活动'}，"
                               f"{UNCHANGED}要登记那天的请假，请发送「代请假 {who} {day} 原因」。")
    if hours is None and (same := _recorded_already(ctx, member, first, span.last, kind, held)):
        # Sent twice (a retry typed again, or a second 书记): a second period and a second
        # notice to the member for the same days.
        days_kept = show_period(same.first_day, same.last_day, same.activity_type)
        return Reply(f"已登记过 {who} 的请假：{days_kept}，不用再登记。")
    excused: list[Activity] = []
    for activity in held:
        row = store.attendance_of(ctx.session, activity_id=activity.id, member_id=member.id)
        withdrawn = row if row is not None and row.status == AttendanceStatus.WITHDRAWN else None
        if row is not None and withdrawn is None:
            continue  # answered already (checked in, on leave, turned down): as it stands
        store.ask_leave(ctx.session, activity=activity, member=member, reason=span.rest,
                        now=ctx.now, requires_approval=False, platform=ctx.message.platform,
                        message_id=ctx.message.message_id, withdrawn=withdrawn,
                        granted_by=ctx.member)
        excused.append(activity)
    period = None
    if hours is None:
        # Those planned later are excused by the period as they are planned (leave.excuse).
        period, later = leave_store.record_period(
            ctx.session, member=member, first=first, last=span.last, reason=span.rest,
            state=LeaveState.GRANTED, now=ctx.now, tz=tz, platform=ctx.message.platform,
            message_id=ctx.message.message_id, activity_type=kind.value if kind else None,
            grace=grace)
        for activity in later:  # beyond those looked at above: granted by the sender too
            row = store.attendance_of(ctx.session, activity_id=activity.id, member_id=member.id)
            if row is not None:
                row.leave_decided_by = ctx.member.id
                ctx.session.add(row)
        excused = sorted([*excused, *later], key=lambda a: a.starts_at)
    elif not excused:
        first_held = held[0]
        row = store.attendance_of(ctx.session, activity_id=first_held.id, member_id=member.id)
        assert row is not None
        return _on_record_already(ctx, row.status, row.leave_state, first_held, member)
    standing = [a for a in held if a not in excused]
    ctx.audit(leave_store.RECORDED, target=who, detail={
        "member_id": member.id, "activity_ids": [a.id for a in excused],
        "message_id": ctx.message.message_id,
        # In the period but not this record's (the member's own leave, a check-in): a
        # 撤销代请假 of the period leaves them as they are (storage.leave.recorded_standing).
        "standing_ids": [a.id for a in standing],
        "period_id": period.id if period is not None else None, "first": first.isoformat(),
        "last": span.last.isoformat(), "activity_type": kind.value if kind else None,
        "reason": span.rest})
    days = (span.last - first).days + 1
    when += (f"（{days} 天）" if days > 1 else "") + (f"（{kind.value}）" if kind else "")
    if hours is not None:
        covered = ""
    elif excused:
        covered = "这期间需要其参加的活动都记为请假，不会提醒其签到。"
    elif standing:  # planned, each on record already (listed below): not 「没有安排」
        covered = "这期间之后安排的活动也记为请假。"
    else:
        covered = "这期间目前没有安排需要其参加的活动；之后安排的也记为请假。"
    lines = [covered] if covered else []
    if excused:
        lines.append(f"已登记的 {len(excused)} 次：" + "、".join(_label(ctx, a) for a in excused))
    if standing:
        lines.append("已有记录的不变：" + "、".join(_label(ctx, a, with_date=True) for a in standing)
                     + f"（要改请发送「更正 {who} 请假 原因」或「批准请假 {who}」）")
    reached = write_privately(
        ctx, [member], f"【请假已登记】{ctx.member.name}为你登记了请假：{when}，原因：{span.rest}。"
                       + ("这期间需要你参加的活动都记为请假，" if hours is None else "")
                       + "不用再发送「请假」；能参加的话，活动开始前发送「销假」，已开始的到场后直接「签到」。",
        kind="leave.recorded", title="请假已登记",
        key=f"leave.recorded|{ctx.message.platform}:{ctx.message.message_id}",
        branch_id=member.branch_id)
    told = "已私聊告知本人。" if reached else "本人没有能收到私聊的账号，请当面告知。"
    if not ctx.message.is_private:
        # The reason may be the member's own affair (病假): the group hears only that it is done.
        return Reply("\n".join([f"已为 {who} 登记请假：{when}。", *lines, told]))
    return Reply("\n".join([f"已为 {who} 登记请假：{when}，原因：{span.rest}。", *lines, told]))


def _recorded_already(ctx: Ctx, member: Member, first: date, last: date,
                      kind: ActivityType | None, held: list[Activity]) -> LeavePeriod | None:
    """The member's leave period granted already that covers the days (every activity in
    them, or those of `kind`), if any, and leaves none of the `held` ones without a record
    (销假 夜学 took one back, and this records it again)."""
    assert member.id is not None
    return next((p for p in leave_store.periods_of(ctx.session, member_id=member.id,
                                                   today=ctx.local_now.date())
                 if p.first_day <= first and last <= p.last_day
                 and p.leave_state == LeaveState.GRANTED
                 and p.activity_type in (None, kind.value if kind else None)
                 and all(_on_record(ctx, member, a) for a in held)), None)


def _on_record(ctx: Ctx, member: Member, activity: Activity) -> bool:
    row = store.attendance_of(ctx.session, activity_id=activity.id, member_id=member.id)
    return row is not None and row.status != AttendanceStatus.WITHDRAWN


def _theirs(ctx: Ctx, member: Member, activity: Activity, kind: ActivityType | None) -> bool:
    """Whether the activity is the member's (of `kind` where named): on record there, or
    expected at it."""
    if kind is not None and activity.type != kind:
        return False
    row = store.attendance_of(ctx.session, activity_id=activity.id, member_id=member.id)
    on_record = row is not None and row.status != AttendanceStatus.WITHDRAWN
    return on_record or store.expected_at(ctx.session, member=member, activity=activity)


def _named_elsewhere(ctx: Ctx, scope: int | None, who: str) -> Member | None:
    """The one member of another branch than the scope who goes by the name said."""
    if scope is None:
        return None
    found = [m for m in org.members_by_name_or_staff_no(ctx.session, text=who.lstrip("@"))
             if m.branch_id != scope]
    return found[0] if len(found) == 1 else None


def _activity_for(ctx: Ctx, scope: int | None, member: Member, kind: ActivityType | None,
                  *, next_said: bool) -> Activity | Reply:
    """The member's activity of the scope under way, else their next one (of `kind` where
    named); a Reply when there is none, or when one they missed ended today and `next_said`
    (代请假 张三 下次 …) does not say the next is meant, pointing to 更正 for the one ended."""
    def theirs(activity: Activity) -> bool:
        return _theirs(ctx, member, activity, kind)

    current = store.current_activities(ctx.session, branch_id=scope, now=ctx.now)
    mine = next((a for a in current if a.ends_at > ctx.now and theirs(a)), None)
    if mine is not None:
        return mine
    if not next_said:
        # Phoned in after tonight's study ended, the leave is most likely for it: put down
        # for the next one instead, it excused Thursday's and left tonight's an absence.
        midnight = datetime.combine(ctx.local_now.date(), time(), tzinfo=ctx.settings.tz)
        ended = [*(a for a in current if a.ends_at <= ctx.now),  # not closed by a tick yet
                 *store.ended_since(ctx.session, branch_id=scope, now=ctx.now, since=midnight)]
        missed = [a for a in ended if a.finalized_at is None and theirs(a)
                  and store.attendance_of(ctx.session, activity_id=a.id,
                                          member_id=member.id) is None]
        if missed:
            return Reply.error(
                f"{member.name} 没有在{_label(ctx, missed[0])}签到，这次活动已经结束，{UNCHANGED}"
                f"要记这一次的请假，请发送「更正 {member.name} 请假 原因」；要请下一次的假，"
                f"请发送「代请假 {member.name} 下次 原因」。")
    for activity in store.next_activities(ctx.session, branch_id=scope, now=ctx.now):
        if theirs(activity):
            return activity
    what = kind.value if kind is not None else "活动"
    latest = store.record_activity(ctx.session, branch_id=scope, now=ctx.now)
    after = (f"已经结束的{_label(ctx, latest, with_date=True)}，请发送「更正 {member.name} 请假 原因」。"
             if latest is not None and theirs(latest) else "")
    return Reply.error(f"{member.name} 现在没有进行中或还没开始的{what}需要参加，{UNCHANGED}{after}")


def _on_record_already(ctx: Ctx, status: str, state: str | None, activity: Activity,
                       member: Member) -> Reply:
    """The member has a record on the activity already: what it is, and what changes it."""
    held = _label(ctx, activity, with_date=True)
    if status in ATTENDED:
        return Reply.error(f"{member.name} 已在{held}{STATUS_LABELS[status]}，{UNCHANGED}"
                           f"签到有误、其实请过假的，请发送「更正 {member.name} 请假 原因」。")
    if status == AttendanceStatus.LEAVE and state == LeaveState.GRANTED:
        return Reply(f"{member.name} 已请假：{held}，不用再登记。")
    if status == AttendanceStatus.LEAVE:
        waits = "正在等待批准" if state == LeaveState.PENDING else "已被驳回"
        return Reply.error(f"{member.name} 对{held}的请假{waits}，{UNCHANGED}"
                           f"要准假请发送「批准请假 {member.name}」。")
    return Reply.error(f"{member.name} 在{held}已有记录，{UNCHANGED}"
                       f"要改为请假请发送「更正 {member.name} 请假 原因」。")


def undo_recorded(ctx: Ctx, args: dict[str, Any]) -> Reply:
    """撤销代请假 张三 [原因]: the latest 代请假 for the member that still stands, taken back
    (a name or a day written wrong): the member is expected again and told privately. It
    could be undone only by 驳回请假, which left a refusal on the member's record, and
    撤销代请假 张三 was read as the sender's own 销假."""
    scope, problem = _manage_scope(ctx)
    if problem:
        return Reply.error(problem)
    assert ctx.member is not None
    who = args["who"]
    why = (args.get("reason") or "").strip(" ，,、:：;；")
    found = _resolve_one(ctx, UNDO_RECORDED, scope, who)
    if isinstance(found, Reply):
        other = _named_elsewhere(ctx, scope, who)
        return (of_another_branch(ctx, other, then="其请假由所在支部登记。记录保持不变。")
                if other is not None else found)
    member = found
    recorded = leave_store.recorded_standing(ctx.session, member=member,
                                             today=ctx.local_now.date(), tz=ctx.settings.tz)
    if recorded is None:
        return Reply.error(f"{member.name} 没有可以撤销的代请假，记录保持不变。本人请的假由本人"
                           f"「销假」；已确认缺席的活动，请发送「更正 {member.name} 请假 原因」"
                           "或「更正 … 缺席 原因」。")
    detail = recorded.entry.detail or {}
    period = recorded.period
    what = "、".join(_label(ctx, activity, with_date=True) for _, activity in recorded.rows)
    if period is not None:
        # From today, or the earliest activity taken back (ended, not confirmed): the days
        # before it keep their leave, confirmed, and the member is not expected there again.
        tz = ctx.settings.tz
        first = max(period.first_day, min([ctx.local_now.date()] + [
            activity.starts_at.astimezone(tz).date() for _, activity in recorded.rows]))
        days = show_period(first, period.last_day, period.activity_type)
        what = f"{days}（其间 {what}）" if what else days
    leave_store.undo_recorded(ctx.session, recorded)
    # His own leave in those days stays (请假 for Tuesday, then days recorded around it):
    # never told he must attend what he is excused from.
    own = [] if period is None else [
        activity for row, activity in store.own_leave(ctx.session, member_id=member.id,
                                                      now=ctx.now)
        if row.leave_state != LeaveState.REVOKED and activity.ends_at > ctx.now
        and first <= activity.starts_at.astimezone(tz).date() <= period.last_day]
    own_days = [] if period is None else [
        p for p in leave_store.periods_of(ctx.session, member_id=member.id,
                                          today=ctx.local_now.date())
        if p.id != period.id and p.first_day <= period.last_day and first <= p.last_day]
    own = [a for a in own if not any(leave_store.covers(p, a, tz) for p in own_days)]
    kept = "、".join([*(show_period(p.first_day, p.last_day, p.activity_type) for p in own_days),
                      *(_label(ctx, a, with_date=True) for a in own)])
    ctx.audit(leave_store.RECORDED_UNDONE, target=member.name, detail={
        "member_id": member.id, "undoes": recorded.entry.id,
        "activity_ids": [activity.id for _, activity in recorded.rows],
        "period_id": period.id if period is not None else None,
        "recorded_reason": detail.get("reason"), "reason": why or None})
    because = f"原因：{why}。" if why else ""
    reached = write_privately(
        ctx, [member], f"【请假已撤销】{ctx.member.name}撤销了为你登记的请假：{what}。{because}"
                       + (f"你自己请的假不变：{kept}；其余" if kept else "")
                       + "仍需参加，请按时签到；确实要请假的，请发送「请假 原因」。",
        kind="leave.recorded", title="请假已撤销",
        key=f"leave.recorded.undo|{ctx.message.platform}:{ctx.message.message_id}",
        branch_id=member.branch_id)
    told = "已私聊告知本人。" if reached else "本人没有能收到私聊的账号，请当面告知。"
    still = f"其本人请的假不变：{kept}；其余仍需参加。" if kept else "仍需参加。"
    return Reply(f"已撤销为 {member.name} 登记的请假：{what}，{still}{told}")


# 给张三请假 出差, 帮张三请个假: the member said first, glued to 请假, as the 书记 says it (not
# understood, where 请假 张三 出差 was). Never oneself (帮我请假 is one's own 请假) nor whom
# leave is asked of (给书记请假 出差: a member's own).
_GLUED_FOR = re.compile(r"(?:我)?(?:给|帮|替|为)(?!我|自己|本人|大家|我们)(?P<who>\S{2,8}?)"
                        r"(?<!书记|领导|委员|支书|组织|支部)请个?假(?:一下)?[\s，,、:：]*(?P<rest>.*)")

RECORD_LEAVE = Command(
    name="代请假",
    acts=True,
    aliases=("代为请假", "登记请假"),
    summary="为电话或当面请过假的党员登记进行中或下一次活动的请假（记为已准假，私信告知本人，"
            "本人可「销假」；写上活动只记那一种：代请假 刘洋 夜学 出差；写上日期记那几天的："
            "代请假 刘洋 12月10日至12月12日 出差）；活动已结束的，用「更正 姓名 请假 原因」；"
            "登记错了用「撤销代请假 姓名」",
    handler=record_leave,
    args=(word("who", "姓名", hint=_WHO), rest("reason", "请假原因")),
    roles=MANAGERS | LEADERS,
    example="代请假 杨帆 出差",
    capability="attendance",
    reworded=((_GLUED_FOR, r"\g<who> \g<rest>"),),
)

UNDO_RECORDED = Command(
    name="撤销代请假",
    acts=True,
    aliases=("撤回代请假", "取消代请假"),
    summary="撤销为党员登记错的最近一次「代请假」（活动还未确认缺席的）：本人仍需参加，私信告知本人",
    handler=undo_recorded,
    args=(word("who", "姓名", hint=_WHO), rest("reason", "原因", optional=True)),
    roles=MANAGERS | LEADERS,
    example="撤销代请假 杨帆 记错了人",
    capability="attendance",
)
