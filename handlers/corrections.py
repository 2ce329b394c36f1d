"""Corrections and confirmations: 确认, 取消活动, 删除日程, 撤销, 撤销调研.

Every correction is audited and none deletes history: points are reversed by new ledger
entries that name who corrected and why (积分明细 shows them), cancelled activities and
withdrawn records stay on file and count nowhere. Anything that would change many
people's figures at once is asked first and done on 「确认」.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlmodel import select

from bot.context import Ctx
from bot.core import Reply
from bot.domain.attendance import ACTIVITY_WORDS, RATING_WINDOW, parse_activity_type
from bot.domain.dates import (
    DateError,
    find_date,
    find_date_range,
    find_leading_day,
    find_record_day,
)
from bot.domain.text import DateError as NoSuchDate
from bot.domain.text import clean, parse_date, show_date
from bot.registry import LEADERS, MANAGERS, Command, CommandRegistry, rest, usage_text, word
from bot.scheduling.called_off import tell_cancelled, tell_restored
import handlers.attendance as attendance
import handlers.attendance_corrections as attendance_corrections
import handlers.committee as committee
import handlers.pioneers as pioneers
import handlers.reschedule as reschedule
import handlers.visits as visits
from handlers.schedule import BUREAU, SET_LONG, is_bureau_schedule, set_schedule
from storage import attendance as store
from storage import confirmations, corrections, membership, org
from storage.kinds import STUDY_WITHDRAWN, VISIT_WITHDRAWN
from storage.models import (
    Activity,
    ActivityType,
    Branch,
    BranchReminderSettings,
    Member,
    PartyGroup,
    ResearchVisit,
    Role,
    Schedule,
    StudyLog,
)
from storage.schedules import bureau_schedules

UNDO_WITHIN = timedelta(days=1)
# What 撤销 may be followed by but does not undo (撤销补签 张伟, 撤销签到, 撤销更正 张三,
# 撤销约谈): another record's name, never a reason that leaves the sender's study to go.
NOT_UNDONE = ("补签", "签到", "缺席", "确认缺席", "取消活动", "取消", "活动", "更正", "约谈", "整改",
              "结对", "讲师", "推荐", "先锋党员", "评价", "日程", "请假", "销假")
# 撤销 学习 …, 撤销 调研 …: the one of the two the sender names, not whichever came last.
STUDY_WORDS = ("学习", "自学")
VISIT_WORDS = ("调研",)
CANCEL = "activity.cancel"
WITHDRAW_STUDY = "study.withdraw"


# --- 确认 ---------------------------------------------------------------------------


# 确认取消, 确认无误: a yes to what was just asked, in more words.
SAID_YES = ("取消", "取消活动", "无误", "是", "是的", "好", "好的", "对", "没错", "执行", "同意")


def confirm(ctx: Ctx, args: dict[str, Any]) -> Reply:
    what = (args.get("what") or "").strip()
    said_yes = not what or what in SAID_YES
    if not said_yes and (what.startswith("先锋") or ctx.role in LEADERS):
        # 确认 先锋党员 张三: a leader confirms a nomination (确认 张三: told how to write it)
        return pioneers.confirm_from_text(ctx, what)
    if not said_yes:
        # Never a yes read into other words, nor a refusal about 先锋党员 to a secretary
        # whose 「确认」 of a cancellation had a word after it.
        return Reply.error(f"没看懂「确认 {what}」，什么也没有改。确认刚才的操作请只发送「确认」；"
                           "确认先锋党员推荐是领导的操作：「确认 先锋党员 姓名」。")
    assert ctx.member is not None and ctx.member.id is not None
    pending = confirmations.take(ctx.session, platform=ctx.message.platform,
                                 chat_id=ctx.message.chat_id, member_id=ctx.member.id,
                                 now=ctx.now)
    if pending is None:
        return Reply.error("没有需要确认的操作（或已超过 5 分钟），请重新发送原来的命令。")
    if membership.since(ctx.member) > pending.created_at:
        # Asked as 书记 and then made a 党员 (or moved) meanwhile: what was asked with a role
        # no longer held is not done with it.
        return Reply.error("你的角色或支部在此之后已变更，这项操作已作废，什么也没有改。")
    action = _CONFIRMED.get(pending.kind)
    if action is None:
        return Reply.error("这项操作已无法确认，请重新发送原来的命令。")
    return action(ctx, pending.payload)


def _confirmed_cancel(ctx: Ctx, payload: dict[str, Any]) -> Reply:
    activity = ctx.session.get(Activity, payload["activity_id"])
    if activity is None or activity.status == store.CANCELLED:
        return Reply.error("这项活动已经取消了。")
    label = attendance._label(ctx, activity)
    withheld = len(corrections.withhold_unsent(ctx.session, activity=activity))
    reversed_points = corrections.cancel_activity(ctx.session, activity=activity, by=ctx.member,
                                                  reason=payload["reason"], now=ctx.now)
    # Only those who were told about it, or asked leave for it, hear that it is off.
    told, asked = attendance.called_off(ctx, activity, payload["reason"])
    ctx.audit("activity.cancel", target=label,
              detail={"activity_id": activity.id, "reason": payload["reason"],
                      "reversed_points": reversed_points, "groups_told": told,
                      "members_told": asked, "reminders_withheld": withheld})
    text = f"已取消{label}。原因：{payload['reason']}"
    if reversed_points:
        text += f"\n相关积分已冲销（合计 {reversed_points:+d} 分），各人「积分明细」可见。"
    if told:
        text += f"\n已通知 {told} 个收到过活动通知的群。"
    return Reply(text + _told_privately(asked) + "\n取消错了，发送「恢复活动」可撤回。")


def _told_privately(asked: int) -> str:
    return f"\n已私信告知请过假的 {asked} 人。" if asked else ""


def _told(told: tuple[int, int]) -> str:
    """What a schedule change's reply says of those told an activity is off."""
    groups, asked = told
    return (f"\n已在收到过活动通知的 {groups} 个群里说明取消。" if groups else "") \
        + _told_privately(asked)


def _called_off(ctx: Ctx, cancelled: tuple[Activity, ...]) -> tuple[int, int]:
    """Activities a schedule change cancelled, told of as 取消活动 does; returns how many
    groups were told, and how many members privately."""
    return tell_cancelled(attendance.calling_off(ctx), cancelled)


# Between a name and the reason: a space or the commas and colons people type.
_NAME_APART = re.compile(r"[\s，,、：:；;]+")


def _members_study(ctx: Ctx, said: str) -> Reply | None:
    """撤销学习 <姓名> <原因> from a secretary, committee member (of the member's branch),
    leader or admin: the member's latest study within attendance.makeup_window_days, asked
    about first (it cannot be logged again for that day). None when no other member is
    named: the sender's own study, as ever."""
    assert ctx.member is not None and ctx.member.id is not None
    said = re.sub(r"^(?:学习|自学)(?:记录)?[\s，,：:]*", "", said)
    words = [w for w in _NAME_APART.split(said, maxsplit=1) if w]
    if not words:
        return None
    found = [m for m in org.members_by_name_or_staff_no(ctx.session, text=words[0])
             if m.id != ctx.member.id]
    if not found and ctx.member.branch_id is not None:
        # 撤销学习 李明时长不实: a name of the branch glued to the reason (it was read as no
        # name, and the sender's own study was withdrawn instead).
        glued = max((m for m in org.members(ctx.session, branch_id=ctx.member.branch_id)
                     if m.id != ctx.member.id and len(m.name) >= 2
                     and said.startswith(m.name)), key=lambda m: len(m.name), default=None)
        if glued is not None:
            found, words = [glued], [glued.name, said[len(glued.name):]]
    if not found:
        return None
    if len(found) > 1:
        return Reply.error(f"有 {len(found)} 位「{words[0]}」，请用编号指明。记录保持不变。")
    member = found[0]
    if ctx.role not in LEADERS | {Role.ADMIN} and member.branch_id != ctx.member.branch_id:
        return attendance.of_another_branch(ctx, member, then="你不能撤销其学习记录。记录保持不变。")
    reason = words[1].strip(" ，,、：:；;") if len(words) > 1 else ""
    if not reason:
        return Reply.error(f"请写明原因，记录保持不变。例如：撤销学习 {member.name} 时长与实际不符")
    days = ctx.rules.makeup_window_days
    log = corrections.last_study(ctx.session, member_id=member.id,
                                 since=ctx.now - timedelta(days=days))
    if log is None:
        return Reply.error(f"{member.name}最近 {days} 天没有可以撤销的学习记录，记录保持不变。")
    confirmations.ask(ctx.session, platform=ctx.message.platform, chat_id=ctx.message.chat_id,
                      member_id=ctx.member.id, kind=WITHDRAW_STUDY,
                      payload={"log_id": log.id, "reason": reason}, now=ctx.now)
    if not ctx.message.is_private:
        # The group saw the command; the reply adds no name, study or reason to it (as
        # 更正 in a group): which record, by its time and length, is all the 书记 checks.
        at = log.logged_at.astimezone(ctx.settings.tz)
        return Reply(f"将撤销这位党员 {at.month}月{at.day}日 {at:%H:%M} 的 1 条学习记录"
                     f"（{log.minutes} 分钟），冲销其积分。\n确认请在 5 分钟内发送「确认」。")
    return Reply(f"将撤销{member.name}{_study_said(ctx, log)}，冲销其积分。原因：{reason}\n"
                 "确认请在 5 分钟内发送「确认」。")


def _study_said(ctx: Ctx, log: StudyLog) -> str:
    at = log.logged_at.astimezone(ctx.settings.tz)
    return f" {at.month}月{at.day}日 {at:%H:%M} 的学习记录：{log.kind} {log.minutes} 分钟"


def _confirmed_study_withdrawal(ctx: Ctx, payload: dict[str, Any]) -> Reply:
    assert ctx.member is not None
    log = ctx.session.get(StudyLog, payload["log_id"])
    member = ctx.session.get(Member, log.member_id) if log is not None else None
    if log is None or member is None:
        return Reply.error("这条学习记录已不存在，什么也没有改。")
    said = _study_said(ctx, log)
    if log.withdrawn_at is not None:
        return Reply(f"{member.name}{said}已经撤销了，记录保持不变。")
    reason = payload["reason"]
    reversed_points = corrections.withdraw_study(ctx.session, log=log, by=ctx.member,
                                                 reason=reason, now=ctx.now)
    ctx.audit("study.withdraw", target=member.name,
              detail={"member_id": member.id, "study_id": log.id, "minutes": log.minutes,
                      "reason": reason, "reversed_points": reversed_points})
    # Their points fall by it: they hear who took it back and why, as for a 更正.
    reached = attendance.write_privately(
        ctx, [member], f"【学习记录撤销】{ctx.member.name}撤销了你{said}，积分 "
                       f"{reversed_points:+d}。原因：{reason}。如有疑问请联系{ctx.member.name}。",
        kind=STUDY_WITHDRAWN, title="学习记录撤销", key=f"study.withdraw|{log.id}",
        branch_id=member.branch_id)
    told = "已私聊告知本人。" if reached else "本人没有能收到私聊的账号，请当面告知。"
    if not ctx.message.is_private:
        return Reply(f"已撤销 1 条学习记录，相关积分已冲销，{told}"
                     "撤销学习涉及个人记录，今后可以私聊我发送。")
    return Reply(f"已撤销{member.name}{said}，积分 {reversed_points:+d}"
                 f"（「积分明细」中记为冲销）。{told}")


_CONFIRMED = {
    attendance.OPEN_BUREAU_WIDE: lambda ctx, p: attendance.start(ctx, p, confirmed=True),
    visits.LOG_AGAIN: lambda ctx, p: visits.log_visit(ctx, p, confirmed=True),
    committee.TALK_AGAIN: lambda ctx, p: committee.record_talk(ctx, p, confirmed=True),
    committee.PROBLEM_AGAIN: lambda ctx, p: committee.record_problem(ctx, p, confirmed=True),
    CANCEL: _confirmed_cancel,
    WITHDRAW_STUDY: _confirmed_study_withdrawal,
    attendance_corrections.CORRECT_AGAIN: attendance_corrections.correct_again,
    SET_LONG: lambda ctx, p: set_schedule(ctx, ActivityType(p["kind"]), p["text"], confirmed=True),
    reschedule.MOVE_TO_HOLIDAY: lambda ctx, p: reschedule.reschedule(ctx, p, confirmed=True),
}


# --- 取消活动 --------------------------------------------------------------------------


def cancel(ctx: Ctx, args: dict[str, Any]) -> Reply:
    scope, problem = attendance._manage_scope(ctx)
    if problem:
        return Reply.error(problem)
    text = (args.get("reason") or "").strip()
    first, _, tail = text.partition(" ")
    ahead = first in ("下次", "下一次")
    glued = _NEXT_GLUED.fullmatch(first)
    if ahead:
        text = tail.strip()
    elif glued is not None and attendance.names_one(glued[1]):
        # 取消活动 下次夜学 …: the next night study (it proposed the latest activity held).
        ahead, text = True, f"{glued[1]} {tail}".strip()
    if ahead:
        upcoming = store.next_activities(ctx.session, branch_id=scope, now=ctx.now)
        # Two party groups meeting the same evening are both the next one.
        held = [a for a in upcoming if a.starts_at == upcoming[0].starts_at] if upcoming else []
    else:
        activity = store.record_activity(ctx.session, branch_id=scope, now=ctx.now)
        held = (store.held_with(ctx.session, activity=activity, now=ctx.now)
                if activity is not None else [])
        if not held:
            upcoming = store.next_activity(ctx.session, branch_id=scope, now=ctx.now)
            held = [upcoming] if upcoming is not None else []
    said_day = None if ahead else _day_said(ctx, text)
    if isinstance(said_day, Reply):
        return said_day
    if said_day is not None:
        # 取消活动 今晚的夜学 临时勤务, 12月3日的夜学: that day's, not the latest activity.
        held, text = said_day
        if not held:
            return Reply.error(f"{text}，什么也没有取消。")
    named, _, rest_ = text.partition(" ")
    if said_day is None and len(held) < 2 and named and attendance.names_one(named):
        # 取消活动 夜学 临时勤务 at noon: tonight's night study, not the theme day held this
        # morning with 夜学 for its reason (取消活动 第二党小组 …: that group's meeting).
        found = (held if held and attendance.named_among(ctx, held, named)
                 else _named_to_cancel(ctx, scope, named))
        if not found:
            return Reply.error(f"没有可以取消的{named}（进行中的、最近一周的或下一次的），"
                               "什么也没有取消。")
        held, text = found, (rest_.strip() if len(found) == 1 else text)
    if not held:
        return Reply.error("没有可以取消的活动（进行中的、最近一周的或下一次的）。")
    activity = held[0]
    if len(held) > 1:
        # Held at once: the first word names which (取消活动 支委会 临时勤务), else asked.
        named, _, rest_ = text.partition(" ")
        chosen = attendance.named_among(ctx, held, named) if named else []
        if len(chosen) != 1:
            again = "取消活动 下次" if ahead else "取消活动"
            said = (rest_.strip() if chosen else text) or "原因"
            return attendance.ask_which(
                ctx, chosen or held, f"有 {len(chosen or held)} 个活动同时举行",
                lambda word_: f"{again} {word_} {said}", "什么也没有取消。")
        activity, text = chosen[0], rest_.strip()
    days = ctx.rules.makeup_window_days
    if activity.finalized_at is not None and activity.starts_at < ctx.now - timedelta(days=days):
        # As for 补签 and 更正, a confirmed record re-opens only within the rules' window;
        # a day named (取消活动 10月12日 主题党日) must not reach a month whose tiers went out.
        return Reply.error(f"取消活动只能在活动后 {days} 天内进行："
                           f"{attendance._label(ctx, activity, with_date=True)}已超过 {days} 天，"
                           "什么也没有取消。如确有错误，请联系管理员。")
    reason = text or "未说明原因"
    assert ctx.member is not None and ctx.member.id is not None
    confirmations.ask(ctx.session, platform=ctx.message.platform, chat_id=ctx.message.chat_id,
                      member_id=ctx.member.id, kind=CANCEL,
                      payload={"activity_id": activity.id, "reason": reason}, now=ctx.now)
    figures = store.participation(ctx.session, activity=activity)
    return Reply(
        f"将取消{attendance._label(ctx, activity)}（已签到 {figures.attended} 人）：它的签到、"
        "请假和缺席都不再计入，已记的积分以冲销记录抵消。\n"
        "确认请在 5 分钟内发送「确认」。要取消的是下一次活动，请发送「取消活动 下次 原因」。")


# --- 恢复活动 --------------------------------------------------------------------------


def restore(ctx: Ctx, args: dict[str, Any]) -> Reply:
    """恢复活动: a 取消活动 confirmed by mistake (the latest activity meant the next one)
    taken back. The last one cancelled in the scope within the 补签 window counts again
    as it stood: its records, and its points posted again beside their reversal."""
    scope, problem = attendance._manage_scope(ctx)
    if problem:
        return Reply.error(problem)
    days = ctx.rules.makeup_window_days
    said = (args.get("reason") or "").strip()
    first, _, after = said.partition(" ")
    kind = parse_activity_type(first) if first else None
    if kind is not None:
        said = after.strip()  # 恢复活动 夜学 取消错了: the night study, whatever came after it
    activity = store.last_cancelled(ctx.session, branch_id=scope,
                                    since=ctx.now - timedelta(days=days),
                                    kind=kind.value if kind is not None else None)
    if activity is None:
        what = kind.value if kind is not None else "活动"
        return Reply.error(f"没有可以恢复的{what}：最近 {days} 天内没有用「取消活动」取消的{what}，"
                           "什么也没有改。")
    return _restore(ctx, activity, said)


def _restore(ctx: Ctx, activity: Activity, said: str) -> Reply:
    """恢复活动 of the cancelled activity found (restore, or 恢复夜学 meaning it), with the
    reason said."""
    label = attendance._label(ctx, activity, with_date=True)
    instead = store.held_instead(ctx.session, activity=activity)
    if instead is not None:
        return Reply.error(f"没有恢复{label}：同一时间已有{attendance._label(ctx, instead)}，"
                           "恢复会把一次活动记成两次。要改记录请用「更正」或「补签」。")
    assert ctx.member is not None
    why_cancelled = activity.cancel_reason or "未说明原因"
    reason = said or "未说明原因"
    restored = corrections.restore_activity(ctx.session, activity=activity, by=ctx.member,
                                            reason=reason, now=ctx.now, tz=ctx.settings.tz)
    if restored is None:
        return Reply.error(f"{label}已经恢复了。")
    told, asked = tell_restored(attendance.calling_off(ctx), activity)
    ctx.audit("activity.restore", target=label,
              detail={"activity_id": activity.id, "reason": reason,
                      "cancel_reason": why_cancelled, "restored_points": restored,
                      "groups_told": told, "members_told": asked})
    text = f"已恢复{label}：它的签到、请假和缺席照常计入（原取消原因：{why_cancelled}）。"
    if restored:
        text += f"\n冲销的积分已恢复（合计 {restored:+d} 分），各人「积分明细」可见。"
    if told:
        text += f"\n已告知 {told} 个收到过取消通知的群。"
    return Reply(text + _told_privately(asked))


_NEXT_GLUED = re.compile(r"(?:下次|下一次)的?(.+)")
_PARTS_OF_DAY = frozenset({"上午", "下午", "晚上", "早上", "中午", "晚"})


def _day_said(ctx: Ctx, text: str) -> tuple[list[Activity], str] | Reply | None:
    """The day a 取消活动 names first, with its activity if named (今晚的夜学, 12月3日 夜学,
    今晚夜学): that day's activities of the scope and the reason left; when there are
    none, ([], what to say); None when no day is named."""
    today = ctx.local_now.date()
    try:
        # A weekday or a day of the month may be the one to come (周四的夜学 said on Tuesday)
        # or the one gone by (周二的夜学 said on Thursday): the coming one first.
        said = [found for found in (find_leading_day(text, today),
                                    find_record_day(text, today),
                                    attendance._day_glued_to_kind(text, today))
                if found is not None]
    except DateError as exc:
        return Reply.error(f"{exc}，什么也没有取消。")
    if not said:
        return None
    scope, _ = attendance._manage_scope(ctx)
    for day in said:
        first, _, after = day.rest.partition(" ")
        if first in _PARTS_OF_DAY:  # 周四晚上 夜学: the kind after the part of the day
            first, _, after = after.partition(" ")
        kind = parse_activity_type(first.removesuffix("的")) if first else None
        start = datetime.combine(day.first, time(), tzinfo=ctx.settings.tz)
        held = store.held_on(ctx.session, branch_id=scope,
                             day=(start, start + timedelta(days=1)),
                             kind=kind.value if kind else None)
        if held:
            return held, (after.strip() if kind is not None and len(held) == 1 else day.rest)
    what = kind.value if kind else "活动"
    return [], f"{show_date(said[0].first, today=today)}没有可以取消的{what}"


def _named_to_cancel(ctx: Ctx, scope: int | None, named: str) -> list[Activity]:
    """The activities a 取消活动 that names a type or a party group means: the next of
    them (two party groups' meetings at that hour: both, to be asked which), else the latest
    of that type begun within the last week (what 取消活动 reaches without a name)."""
    upcoming = attendance.named_among(
        ctx, store.next_activities(ctx.session, branch_id=scope, now=ctx.now), named)
    if upcoming:
        return [a for a in upcoming if a.starts_at == upcoming[0].starts_at]
    kind = parse_activity_type(named)
    begun = (store.named_activity(ctx.session, branch_id=scope, now=ctx.now, kind=kind.value)
             if kind is not None else None)
    return [begun] if begun is not None and begun.starts_at >= ctx.now - RATING_WINDOW else []


# --- 删除日程 --------------------------------------------------------------------------


def delete_schedule(ctx: Ctx, args: dict[str, Any]) -> Reply:
    kind = parse_activity_type(args["type"])
    if kind is not None and is_bureau_schedule(ctx, kind):
        return _delete_bureau_schedule(ctx, kind)
    if ctx.branch is None:
        return Reply.error("请在支部群里删除本支部的日程。")
    if kind is None:
        return Reply.error(usage_text(DELETE_SCHEDULE, f"没有「{args['type']}」这种活动"))
    query = select(Schedule).where(Schedule.branch_id == ctx.branch.id,
                                   Schedule.activity_type == kind.value,
                                   Schedule.active == True)  # noqa: E712
    group_name = args.get("group")
    if group_name:
        group = org.party_group_by_name(ctx.session, branch_id=ctx.branch.id, name=group_name)
        if group is None:
            return Reply.error(usage_text(DELETE_SCHEDULE, f"本支部没有「{group_name}」"))
        query = query.where(Schedule.party_group_id == group.id)
    found = ctx.session.exec(query).all()
    if not found:
        return Reply.error(f"{ctx.branch.name}没有{kind.value}的固定日程。发送「日程」查看现有日程。")
    if len(found) > 1:
        return Reply.error(f"{kind.value}有 {len(found)} 个党小组的日程，请写明党小组，"
                           f"例如：删除日程 {kind.value} 第一党小组")
    schedule = found[0]
    reason = f"删除日程 {kind.value}"
    taken = corrections.delete_schedule(ctx.session, schedule=schedule, by=ctx.member,
                                        reason=reason, now=ctx.now)
    removed, cancelled = taken.removed, taken.cancelled
    told = _called_off(ctx, cancelled)
    ctx.audit("schedule.delete", target=ctx.branch.name,
              detail={"schedule_id": schedule.id, "kind": kind.value, "rule": schedule.rule,
                      "removed": removed, "cancelled": len(cancelled), "groups_told": told[0],
                      "members_told": told[1]})
    text = f"已删除{ctx.branch.name}的{kind.value}日程（{schedule.rule}），不再自动创建活动和提醒。"
    if removed or cancelled:
        text += f"\n已撤下尚未开始的 {removed + len(cancelled)} 次活动。"
    return Reply(text + "\n已经举行的活动和积分不受影响。" + _told(told))


def _delete_bureau_schedule(ctx: Ctx, kind: ActivityType) -> Reply:
    """删除日程 中心组学习 by a leader: the bureau's own schedule (see handlers/schedule.py)."""
    schedule = next((s for s in bureau_schedules(ctx.session) if s.activity_type == kind.value),
                    None)
    if schedule is None:
        return Reply.error(f"{BUREAU}没有{kind.value}的固定日程。发送「日程」查看现有日程。")
    reason = f"删除日程 {kind.value}"
    taken = corrections.delete_schedule(
        ctx.session, schedule=schedule, by=ctx.member, reason=reason, now=ctx.now)
    removed, cancelled = taken.removed, taken.cancelled
    told = _called_off(ctx, cancelled)
    ctx.audit("schedule.delete", target=BUREAU,
              detail={"schedule_id": schedule.id, "kind": kind.value, "rule": schedule.rule,
                      "removed": removed, "cancelled": len(cancelled), "groups_told": told[0],
                      "members_told": told[1]})
    text = f"已删除{BUREAU}的{kind.value}日程（{schedule.rule}），不再自动创建活动和提醒。"
    if removed or cancelled:
        text += f"\n已撤下尚未开始的 {removed + len(cancelled)} 次活动。"
    return Reply(text + "\n已经举行的活动和积分不受影响。" + _told(told))


def pause_schedule(ctx: Ctx, args: dict[str, Any]) -> Reply:
    """暂停日程: unlike 暂停提醒 (messages only), no activity is held, so nobody is expected
    and no absence can confirm itself meanwhile. A leader pauses the bureau's own 中心组学习
    or 第一议题 the same way (is_bureau_schedule)."""
    args = _type_then_until(args)
    kind = parse_activity_type(args["type"])
    bureau = kind is not None and is_bureau_schedule(ctx, kind)
    if ctx.branch is None and not bureau:
        return Reply.error("请在支部群里暂停本支部的日程。")
    today = ctx.local_now.date()
    if kind is None and _names_a_day(args["type"], today):
        # 暂停下周三的夜学: one day's, which 取消活动 is for; a pause runs from today.
        return Reply.error("没有暂停：暂停日程是从今天起到某天都不举行，如「暂停日程 夜学 至 12月31日」。"
                           "只停某一次，请发送「取消活动 那天 活动 原因」，如「取消活动 12月3日 夜学 临时勤务」。")
    if kind is None:
        return Reply.error(usage_text(PAUSE_SCHEDULE, f"没有「{args['type']}」这种活动"))
    group, said = _party_group_said(ctx, args["until"] or "", bureau=bureau)
    if isinstance(said, Reply):
        return said
    if said in ("", "至", "到", "直到"):  # 暂停日程 夜学 至: the date itself left out
        return Reply.error(usage_text(PAUSE_SCHEDULE, PAUSE_SCHEDULE.args[1].missing))
    try:
        span = find_date_range(said, today)
    except DateError:
        span = None
    if span is not None:
        # A pause starts today: 12月10日至12月31日 would have been cut at its first day.
        again = " ".join(w for w in ("暂停日程", args["type"], group.name if group else "") if w)
        return Reply.error(f"暂停从今天起：请写「{again} 至 {span.last.month}月{span.last.day}日」，"
                           "什么也没有改。")
    try:
        until = _pause_end(said, today)
    except DateError as exc:
        return Reply.error(usage_text(PAUSE_SCHEDULE, str(exc)))
    if until is None:
        return Reply.error(usage_text(PAUSE_SCHEDULE, f"看不懂日期「{said}」"))
    if until < today:
        return Reply.error(usage_text(PAUSE_SCHEDULE, "这个日期已经过去了"))
    if until > (latest := today + corrections.LONGEST_PAUSE):
        return Reply.error(f"暂停日程最长半年（至 {show_date(latest, today=today)}）。不再举行请发送"
                           f"「删除日程 {kind.value}」；什么也没有改。")
    scope, schedules = _schedules_of(ctx, kind, bureau=bureau, group=group)
    if not schedules:
        return Reply.error(f"{scope}没有{kind.value}的固定日程。发送「日程」查看现有日程。")
    removed = groups = asked = 0
    reason = f"暂停日程 {kind.value}"
    for schedule in schedules:
        taken = corrections.pause_schedule(
            ctx.session, schedule=schedule, until=until, by=ctx.member,
            reason=reason, now=ctx.now, tz=ctx.settings.tz)
        removed += taken.removed + len(taken.cancelled)
        told = _called_off(ctx, taken.cancelled)
        groups, asked = groups + told[0], asked + told[1]
    ctx.audit("schedule.pause", target=scope,
              detail={"kind": kind.value, "until": until.isoformat(), "withdrawn": removed,
                      "groups_told": groups, "members_told": asked})
    again = f"恢复日程 {kind.value}" + (f" {group.name}" if group else "")
    text = (f"已暂停{scope}的{kind.value}，至 {until:%Y-%m-%d}（含）：这期间不举行、"
            f"不提醒，也不计缺席。发送「{again}」可提前恢复。")
    if removed:
        text += f"\n已撤下已安排的 {removed} 次。"
    return Reply(text + _told((groups, asked)))


def _names_a_day(word_: str, today: date) -> bool:
    try:
        return find_leading_day(word_.removesuffix("的"), today) is not None
    except DateError:
        return True


def _type_then_until(args: dict[str, Any]) -> dict[str, Any]:
    """暂停日程 至12月31日 夜学 as 暂停日程 夜学 至12月31日: the activity said after the date
    (it was told 没有「至12月31日」这种活动)."""
    said, words = args["type"], re.split(r"[\s,，、;；]+", (args["until"] or "").strip())
    if parse_activity_type(said) is not None:
        return args
    at = next((at for at, w in enumerate(words) if parse_activity_type(w) is not None), None)
    if at is None:
        return args
    if said.startswith(("至", "到", "直到")):
        # The party group named after the activity first, then the date (_party_group_said).
        until = [*words[at + 1:], said, *words[:at]]
    elif not words[:at] and said.endswith("小组"):
        # 暂停日程 第一党小组 党小组会 至 1月31日: that group's (every group's were paused).
        until = [said, *words[at + 1:]]
    else:
        # 暂停下周三的夜学, 周三的夜学暂停: a day, not until when (it paused every one from
        # today to that day): left for pause_schedule to refuse.
        return args
    return {**args, "type": words[at], "until": " ".join(until)}


def _pause_end(said: str, today: date) -> date | None:
    """The last day of a pause, read as 暂停提醒 reads it (至 12月31日, 至 31号, 至 下周二);
    else a date with its month among other words (到明年1月5日), next year's when this
    year's is past and the next is within half a year (至 1月15日, said in December)."""
    try:
        return parse_date(said, today)
    except NoSuchDate:
        pass  # not a day alone: maybe one among other words
    found = find_date(said, today)
    if found is None:
        return None
    until = found.first
    following = date(until.year + 1, until.month, min(until.day, 28 if until.month == 2 else 31))
    if until < today and not re.search(r"\d{4}", said) and \
            following - today <= timedelta(days=183):
        until = following
    return until


def _party_group_said(ctx: Ctx, text: str, *, bureau: bool) -> tuple[PartyGroup | None, Any]:
    """暂停日程 党小组会 第一党小组 至 1月31日: the party group named first, and the words
    after it; a Reply when a group is named that the branch does not have."""
    first, _, after = text.strip().partition(" ")
    if bureau or ctx.branch is None or not first:
        return None, text.strip()
    group = org.party_group_by_name(ctx.session, branch_id=ctx.branch.id, name=first)
    if group is not None:
        return group, after.strip()
    if first.endswith("小组"):
        return None, Reply.error(f"本支部没有「{first}」，什么也没有改。")
    return None, text.strip()


def resume_schedule(ctx: Ctx, args: dict[str, Any]) -> Reply:
    kind = parse_activity_type(args["type"])
    bureau = kind is not None and is_bureau_schedule(ctx, kind)
    if ctx.branch is None and not bureau:
        return Reply.error("请在支部群里恢复本支部的日程。")
    if kind is None:
        return Reply.error(usage_text(RESUME_SCHEDULE, f"没有「{args['type']}」这种活动"))
    group = None
    said = args.get("group")
    if said and ctx.branch is not None and not bureau:
        group = org.party_group_by_name(ctx.session, branch_id=ctx.branch.id, name=said)
    if said and group is None and ctx.branch is not None and not bureau \
            and said.endswith("组"):
        # A party group not in the branch (a typo): before anything cancelled is read as
        # meant, or another group's meeting is restored with the name as its reason.
        return Reply.error(usage_text(RESUME_SCHEDULE, f"本支部没有「{said}」"))
    scope, schedules = _schedules_of(ctx, kind, bureau=bureau, group=group)
    schedules = [s for s in schedules if s.paused_until is not None]
    # 恢复夜学 取消错了 is most often one study cancelled by 取消活动, not a schedule paused:
    # which is meant is read from what is paused and what was cancelled. Said 恢复日程, it is.
    cancelled = _restorable(ctx, kind)
    if cancelled is not None and "恢复日程" not in clean(ctx.message.text):
        if group is None and (said or not schedules):  # words after it: a reason, as 恢复活动's
            return _restore(ctx, cancelled, (said or "").strip())
        if not said:
            return Reply.error(
                f"恢复哪一个？\n· 暂停的{kind.value}日程：发送「恢复日程 {args['type']}」\n"
                f"· 用「取消活动」取消的{attendance._label(ctx, cancelled, with_date=True)}："
                f"发送「恢复活动 {args['type']}」\n什么也没有改。")
    # Other words after it (恢复夜学 暂停错了) are a reason, which a schedule resumed needs not.
    if not schedules:
        hint = (f"要恢复用「取消活动」取消的{attendance._label(ctx, cancelled, with_date=True)}，"
                f"请发送「恢复活动 {args['type']}」。" if cancelled is not None else
                f"最近 {ctx.rules.makeup_window_days} 天内也没有用「取消活动」取消的{kind.value}。"
                if said and group is None else "")
        today = ctx.local_now.date()
        reminders = (ctx.session.get(BranchReminderSettings, ctx.branch.id)
                     if ctx.branch is not None and not bureau else None)
        if reminders is not None and reminders.paused_until is not None \
                and reminders.paused_until >= today:
            # 恢复夜学 after 暂停提醒: the reminders are what is off.
            hint += (f"暂停的是本支部的活动提醒（至 {show_date(reminders.paused_until, today=today)}），"
                     "要恢复请发送「恢复提醒」。")
        return Reply.error(f"{scope}的{kind.value}没有暂停。{hint}")
    for schedule in schedules:
        schedule.paused_until = None
        schedule.updated_at = ctx.now
        ctx.session.add(schedule)
    ctx.audit("schedule.resume", target=scope, detail={"kind": kind.value})
    return Reply(f"已恢复{scope}的{kind.value}日程。")


def _restorable(ctx: Ctx, kind: ActivityType) -> Activity | None:
    """The activity of this kind 恢复活动 would restore here, if any."""
    scope, problem = attendance._manage_scope(ctx)
    if problem:
        return None
    return store.last_cancelled(ctx.session, branch_id=scope, kind=kind.value,
                                since=ctx.now - timedelta(days=ctx.rules.makeup_window_days))


def _schedules_of(ctx: Ctx, kind: ActivityType, *, bureau: bool,
                  group: PartyGroup | None = None) -> tuple[str, list[Schedule]]:
    """Whose schedules of this kind 暂停日程 and 恢复日程 act on, by name, and those active:
    the bureau's own, or the branch's (every party group's, or the one group named)."""
    if bureau:
        return BUREAU, [s for s in bureau_schedules(ctx.session) if s.activity_type == kind.value]
    assert ctx.branch is not None
    query = select(Schedule).where(
        Schedule.branch_id == ctx.branch.id, Schedule.activity_type == kind.value,
        Schedule.active == True)  # noqa: E712
    if group is not None:
        query = query.where(Schedule.party_group_id == group.id)
    return (f"{ctx.branch.name}{group.name}" if group else ctx.branch.name,
            list(ctx.session.exec(query).all()))


# --- 撤销, 撤销调研 ------------------------------------------------------------------------


def undo(ctx: Ctx, args: dict[str, Any]) -> Reply:
    """The sender's own last 学习 or 调研 within a day, whichever came last."""
    member = ctx.member
    assert member is not None and member.id is not None
    since = ctx.now - UNDO_WITHIN
    reason = args.get("reason") or "本人撤销"
    named = next((w for w in NOT_UNDONE if reason.startswith(w)), None)
    if named is not None:
        # 撤销补签 张伟: not the sender's own study, taken back with the reason 「补签 张伟」.
        return Reply.error(f"「撤销」只撤销你自己一天内的「学习」或「调研」记录，"
                           f"{named}不能这样撤销，什么也没有改。{_put_right_by(ctx, named, reason)}")
    if reason.startswith(STUDY_WORDS) and ctx.role in MANAGERS | LEADERS:
        # 撤销学习 李明 时长不实: a member's study past their own day to take it back is the
        # secretary's to withdraw, as a check-in is theirs to correct; before, nobody could.
        theirs = _members_study(ctx, reason)
        if theirs is not None:
            return theirs
    study = (corrections.last_study(ctx.session, member_id=member.id, since=since)
             if not reason.startswith(VISIT_WORDS) else None)
    visit = (corrections.last_visit(ctx.session, leader_id=member.id, since=since)
             if not reason.startswith(STUDY_WORDS) else None)
    if study is None and visit is None:
        what = ("「调研」" if reason.startswith(VISIT_WORDS) else
                "「学习」" if reason.startswith(STUDY_WORDS) else "「学习」或「调研」")
        older = ("" if reason.startswith(VISIT_WORDS) else
                 "撤销党员的学习记录请发送「撤销学习 姓名 原因」。" if ctx.role in MANAGERS | LEADERS
                 else "更早的学习记录有误，请联系书记撤销。")
        return Reply.error(f"最近一天没有你可以撤销的{what}记录。{older}{_attendance_hint(ctx)}")
    # The word that named which record (撤销学习, 撤销 调研记录 地点写错) is no reason: the
    # ledger's line read 「已冲销（李明撤销学习：学习）」.
    reason = re.sub(r"^(?:学习|自学|调研)(?:记录)?[\s，,：:]*", "", reason) or "本人撤销"
    if visit is not None and (study is None or visit.logged_at >= study.logged_at):
        return _withdraw_visit(ctx, visit, reason)
    assert study is not None
    reversed_points = corrections.withdraw_study(ctx.session, log=study, by=member,
                                                 reason=reason, now=ctx.now)
    ctx.audit("study.withdraw", target=member.name,
              detail={"study_id": study.id, "minutes": study.minutes, "reason": reason,
                      "reversed_points": reversed_points})
    return Reply(f"已撤销学习记录：{study.kind} {study.minutes} 分钟，积分 {reversed_points:+d}"
                 "（「积分明细」中记为冲销）。")


def _put_right_by(ctx: Ctx, named: str, reason: str) -> str:
    """Where the record 撤销 was followed by is put right instead."""
    if named == "更正" and ctx.role in MANAGERS | LEADERS:
        who = reason.removeprefix(named).split() or ["姓名"]
        return (f"更正有误的，可以再次更正（「更正 {who[0]} 缺席 原因」或「更正 {who[0]} 请假 原因」）；"
                f"本人确实参加了的，请发送「补签 {who[0]} 原因」。")
    if named in ("补签", "签到", "缺席", "确认缺席", "更正"):
        return _attendance_hint(ctx)
    if named == "取消活动":
        return "取消活动取消错了，请发送「恢复活动 原因」。"
    if named == "取消":
        return ("取消活动取消错了，请发送「恢复活动 原因」；取消的提醒要恢复，请发送「恢复提醒」；"
                "请假要撤回，请发送「销假」。")
    if named in ("请假", "销假"):
        return "撤回自己的请假请发送「销假」（只撤回一次：「销假 夜学」「销假 12月10日」）。"
    if named == "约谈":
        return "约谈记错的，领导发送「撤销约谈 编号 原因」（编号见「约谈记录」）。"
    if named == "整改":
        return "整改事项记错的，领导发送「撤销整改 编号 原因」（编号见「整改」）。"
    if named == "结对":
        return "结束一对结对帮扶，领导发送「结束结对 编号 原因」（编号见「结对」）。"
    if named == "讲师":
        return "把讲师移出讲师队伍，领导发送「讲师 移出 姓名」。"
    if named in ("推荐", "先锋党员"):
        return "先锋党员推荐在领导确认前可以重新发送「推荐 先锋党员 姓名 事迹」改写。"
    return ""


def _attendance_hint(ctx: Ctx) -> str:
    """Where a wrong check-in is put right: the secretary's 更正 (handlers/attendance_corrections),
    which also withdraws a check-in or 补签 of someone the activity did not expect."""
    if ctx.role in MANAGERS | LEADERS:
        return ("签到或补签有误，请发送「更正 姓名 缺席 原因」（或「更正 姓名 请假 原因」）；"
                "举行时不在应到名单中的同志，更正会撤销这条记录，不记缺席。")
    return "签到记录有误请联系书记更正。"


def withdraw_visit(ctx: Ctx, args: dict[str, Any]) -> Reply:
    number = args["number"]
    # ASCII digits only: ٣ is a digit to str.isdigit, and no id to the database.
    visit = ctx.session.get(ResearchVisit, int(number)) \
        if number.isascii() and number.isdigit() and len(number) < 19 else None
    if visit is None or visit.withdrawn_at is not None:
        return Reply.error(usage_text(WITHDRAW_VISIT, f"没有编号为「{number}」的有效调研记录"))
    assert ctx.member is not None
    own_branch = ctx.role == Role.SECRETARY and ctx.member.branch_id == visit.branch_id
    if visit.leader_id != ctx.member.id and ctx.role not in LEADERS and not own_branch:
        return Reply.error("只有记录人、领导或被调研支部的书记可以撤销这条调研。")
    today = ctx.local_now.date()
    window = timedelta(days=ctx.rules.makeup_window_days)
    if visit.visited_on.year < today.year and visit.logged_at < ctx.now - window:
        # The year's count has gone into 周报's last week of it and the 述职报告's figures.
        return Reply.error(f"调研记录（编号 {visit.id}）是 {visit.visited_on.year} 年的，已计入"
                           "当年的调研统计和年度报告，不能撤销，记录保持不变。如确有错误，请联系管理员。")
    return _withdraw_visit(ctx, visit, args.get("reason") or "未说明原因")


def _withdraw_visit(ctx: Ctx, visit: ResearchVisit, reason: str) -> Reply:
    assert ctx.member is not None
    corrections.withdraw_visit(ctx.session, visit=visit, by=ctx.member, reason=reason, now=ctx.now)
    branch = ctx.session.get(Branch, visit.branch_id)
    name = branch.name if branch else "支部"
    ctx.audit("visit.withdraw", target=name,
              detail={"visit_id": visit.id, "visited_on": visit.visited_on.isoformat(),
                      "leader_id": visit.leader_id, "reason": reason})
    said = f"调研记录（编号 {visit.id}）：{name}，{visit.visited_on.month}月{visit.visited_on.day}日"
    told = ""
    recorder = ctx.session.get(Member, visit.leader_id)
    if recorder is not None and recorder.id != ctx.member.id:
        # The leader's count falls by it: they hear who took it back and why.
        reached = attendance.write_privately(
            ctx, [recorder], f"【调研记录撤销】{ctx.member.name}撤销了你记录的{said}。"
                             f"原因：{reason}。如有疑问请联系{ctx.member.name}。",
            kind=VISIT_WITHDRAWN, title="调研记录撤销", key=f"visit.withdraw|{visit.id}",
            branch_id=visit.branch_id)
        told = "已私聊告知记录人。" if reached else ""
    return Reply(f"已撤销{said}。不再计入调研次数。{told}")


# --- registration -------------------------------------------------------------------

CONFIRM = Command(name="确认", acts=True,
                  summary="确认刚才要求确认的操作（5 分钟内）；"
                          "领导发送「确认 先锋党员 姓名」确认推荐",
                  handler=confirm, args=(rest("what", "先锋党员 姓名", optional=True),),
                  example="确认", capability="corrections")
CANCEL_ACTIVITY = Command(
    name="取消活动", acts=True, summary="取消进行中或最近的活动，冲销相关积分（需确认）",
    handler=cancel,
    args=(rest("reason", "[下次] 原因", optional=True),), roles=MANAGERS | LEADERS,
    short="取消",  # 取消夜学, 夜学取消, 活动取消
    said_first=ACTIVITY_WORDS | {"活动"},
    example="取消活动 临时勤务任务", capability="corrections")
RESTORE_ACTIVITY = Command(
    name="恢复活动", acts=True,
    summary="撤回最近一次「取消活动」（补签期限内，可写明活动）：签到、请假、缺席和积分照常计入",
    # Not 撤销取消 alone: glued to more (撤销取消提醒) it would restore an activity at once.
    handler=restore, aliases=("撤销取消活动", "撤回取消活动"),
    args=(rest("reason", "[活动] 原因", optional=True),), roles=MANAGERS | LEADERS,
    example="恢复活动 取消错了", capability="corrections")
DELETE_SCHEDULE = Command(
    name="删除日程", summary="删除本支部的一项固定日程", handler=delete_schedule,
    aliases=("取消日程",),
    args=(word("type", "活动类型"), word("group", "党小组", optional=True)),
    roles=MANAGERS | LEADERS, example="删除日程 夜学", capability="corrections")
UNDO = Command(
    name="撤销", acts=True,
    summary="撤销自己一天内最后一条学习或调研记录（撤销 学习 / 撤销 调研：只撤那一种）；"
            "书记、委员、领导撤销党员补签期限内最近一条学习：撤销学习 姓名 原因", handler=undo,
    args=(rest("reason", "原因", optional=True),), example="撤销 分钟数写错了",
    # 学习撤销: the kind said first, as 撤销学习 says it after (it was 学习 of a kind 撤销).
    short="撤销", said_first=frozenset({"学习", "调研"}),
    capability="corrections")
WITHDRAW_VISIT = Command(
    name="撤销调研", summary="撤销一条调研记录（记录人、领导或该支部书记；往年的记录过了补签期限不能撤销）",
    handler=withdraw_visit, args=(word("number", "编号"), rest("reason", "原因", optional=True)),
    roles=LEADERS | frozenset({Role.SECRETARY}), example="撤销调研 2 重复记录",
    capability="corrections")


def _a_kind(said: str) -> bool:
    return parse_activity_type(said) is not None


PAUSE_SCHEDULE = Command(
    name="暂停日程",
    summary="从今天起到某天（最长半年）不举行某项固定活动（不提醒、不计缺席）；党小组会可写明党小组",
    handler=pause_schedule, args=(word("type", "活动类型", known=_a_kind, cut=True),
                                  rest("until", "暂停到的日期")),
    # 暂停夜学 至12月31日, 恢复 夜学: 暂停提醒 was suggested, which still counts the absences.
    short="暂停", said_first=ACTIVITY_WORDS, acts=True,  # 夜学暂停吗 asks, it pauses nothing
    roles=MANAGERS | LEADERS, example="暂停日程 夜学 至 12月31日", capability="corrections")
RESUME_SCHEDULE = Command(
    name="恢复日程", summary="恢复暂停的固定活动", handler=resume_schedule,
    args=(word("type", "活动类型", known=_a_kind, cut=True),
          word("group", "党小组", optional=True)),
    short="恢复", said_first=ACTIVITY_WORDS, acts=True,
    roles=MANAGERS | LEADERS, example="恢复日程 夜学",
    capability="corrections")


def register(registry: CommandRegistry) -> None:
    # Gentler first: pausing a schedule is listed (and tried) before deleting it.
    for command in (CONFIRM, CANCEL_ACTIVITY, RESTORE_ACTIVITY, PAUSE_SCHEDULE, RESUME_SCHEDULE,
                    DELETE_SCHEDULE, UNDO, WITHDRAW_VISIT):
        registry.add(command)
