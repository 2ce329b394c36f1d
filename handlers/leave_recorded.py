"""代请假: leave a member asked for off-chat (phoned in, said in person), put on record by
the branch's secretary.

Leave is each member's own to ask (请假), but one who cannot send it, or did not, tells the
书记, who had no way to record it: the member was nudged and counted absent. 代请假 张三 出差
(also 请假 张三 出差 or 请假 @张三 出差 from one who may decide leave) is leave for the
member's activity under way or their next one (of the type named: 代请假 张三 夜学 出差;
下次 for the next when one they missed ended today), granted by the sender and on record as
theirs (leave_decided_by, the audit log) whatever DJBOT_LEAVE_REQUIRES_APPROVAL says. The
member hears it once, privately, and takes it back with 销假 like any leave. Who may follows
批准请假, beside which handlers.attendance registers it: a branch's 书记, 委员 or an admin on
its activities, a leader or admin on the bureau's. An activity already over is 更正's
(更正 张三 请假 原因, handlers/attendance_corrections.py).
"""

from __future__ import annotations

import re
from datetime import datetime, time
from typing import Any

from bot.context import Ctx
from bot.core import Reply
from bot.domain.attendance import ATTENDED, STATUS_LABELS
from bot.domain.dates import DateError, find_leading_day
from bot.registry import LEADERS, MANAGERS, Command, rest, usage_text, word
from handlers.attendance import (
    _MOVED,
    _NEXT_SAID,
    _WHO,
    _label,
    _manage_scope,
    _more_names,
    _named_kind,
    _resolve_one,
    of_another_branch,
    write_privately,
)
from storage import attendance as store
from storage import org
from storage.models import Activity, ActivityType, AttendanceStatus, LeaveState, Member

UNCHANGED = "没有记请假。"


def record_leave(ctx: Ctx, args: dict[str, Any]) -> Reply:
    scope, problem = _manage_scope(ctx)
    if problem:
        return Reply.error(problem)
    assert ctx.member is not None
    who = args["who"]
    reason = args["reason"].strip()
    next_said = _NEXT_SAID.match(reason)
    kind, reason = _named_kind(reason[next_said.end():] if next_said else reason)
    moved = _MOVED.match(reason)  # 代请假 张三 改到周四: the day is the one after 改到
    try:
        day = find_leading_day(moved["to"] if moved else reason, ctx.local_now.date())
    except DateError:
        day = None
    if day is not None:
        # 代请假 张三 12月10日 出差: a day was taken for the reason, and the next activity
        # excused instead of that day's.
        return Reply.error(usage_text(RECORD_LEAVE, "代请假记的是进行中或下一次活动的请假，"
                                                    "不能写日期。几天的假请本人发送「请假 12月10日至"
                                                    f"12月12日 原因」。{UNCHANGED}"))
    if not reason:
        return Reply.error(usage_text(RECORD_LEAVE, f"缺少请假原因。{UNCHANGED}"))
    found = _resolve_one(ctx, RECORD_LEAVE, scope, who)
    if isinstance(found, Reply):
        other = _of_another_branch(ctx, scope, who)
        return (of_another_branch(ctx, other, then=f"其请假由所在支部登记。{UNCHANGED}")
                if other is not None else found)
    member = found
    others, _ = _more_names(ctx, scope, reason)
    if others:
        asks = "、".join(f"「代请假 {name} 原因」" for name in [member.name, *others])
        return Reply.error(f"代请假一次写一位同志，请分别发送：{asks}。{UNCHANGED}")
    if member.id == ctx.member.id:
        return Reply.error(f"不能为自己代请假：自己的请假请发送「请假 {reason}」。{UNCHANGED}")
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
    ctx.audit("leave.record", target=member.name, detail={
        "member_id": member.id, "activity_id": activity.id, "reason": reason})
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


def _of_another_branch(ctx: Ctx, scope: int | None, who: str) -> Member | None:
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
        if kind is not None and activity.type != kind:
            return False
        row = store.attendance_of(ctx.session, activity_id=activity.id, member_id=member.id)
        on_record = row is not None and row.status != AttendanceStatus.WITHDRAWN
        return on_record or store.expected_at(ctx.session, member=member, activity=activity)

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
            "本人可「销假」；写上活动只记那一种：代请假 刘洋 夜学 出差）；活动已结束的，"
            "用「更正 姓名 请假 原因」",
    handler=record_leave,
    args=(word("who", "姓名", hint=_WHO), rest("reason", "请假原因")),
    roles=MANAGERS | LEADERS,
    example="代请假 杨帆 出差",
    capability="attendance",
    reworded=((_GLUED_FOR, r"\g<who> \g<rest>"),),
)

