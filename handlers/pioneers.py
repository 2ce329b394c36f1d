"""月度先锋党员: a secretary nominates from the month's record, a leader confirms, the branch
group and the leaders' group are told. Recognition is public; nothing negative is.

A nomination is for the current month, or in a month's first days for the month just ended
(storage.committee.nomination_month).
"""

from __future__ import annotations

import hashlib
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select

from bot.context import Ctx
from bot.core import Reply
from bot.domain.text import asked_in_place
from bot.registry import LEADERS, MANAGERS, Command, CommandRegistry, choice, rest, usage_text, word
from storage import committee, membership, org
from storage.models import (
    LEADER_ROLES,
    ROLE_LABELS,
    Branch,
    ChatBinding,
    Member,
    PioneerNomination,
    Role,
)
from storage.outbox import enqueue, text_payload

MAX_DEEDS = 200
HONOUR = "pioneer.honour"
NOMINATED = "pioneer.nominated"  # to the leaders' group: a nomination waiting for them


def _one_member(ctx: Ctx, text: str) -> tuple[Member | None, str | None]:
    found = org.members_by_name_or_staff_no(ctx.session, text=text)
    if not found:
        return None, f"名册没有找到「{text}」"
    if len(found) > 1:
        return None, f"有 {len(found)} 位「{text}」，请用编号指明"
    return found[0], None


def _nominee(ctx: Ctx, text: str, month: date) -> tuple[Member | None, str | None]:
    """The member named who was in the secretary's branch as the month ended (now, for the
    month under way): the honour is for the work done there, wherever they have gone since."""
    assert ctx.branch is not None
    moment = min(ctx.now, committee.month_end(month, ctx.settings.tz) - timedelta(microseconds=1))
    named = org.members_by_name_or_staff_no(ctx.session, text=text, include_inactive=True)
    found = [m for m in named
             if (place := membership.place_at(ctx.session, member=m, moment=moment)) is not None
             and place.branch_id == ctx.branch.id]
    if len(found) > 1:
        return None, f"有 {len(found)} 位「{text}」，请用编号指明"
    if found:
        return found[0], None
    if any(m.active and m.branch_id == ctx.branch.id for m in named):
        return None, (f"「{text}」{month.month}月底还不在本支部，{month.month}月的先锋党员"
                      "由其当时所在的支部推荐")
    return None, f"本支部没有找到「{text}」"


def _unfit(ctx: Ctx, member: Member, month: date, verb: str) -> Reply:
    """An unexcused absence keeps the member off the month's honour. Said in full in a
    private chat; a group hears only that it cannot be done, never whose absence it is."""
    if ctx.message.is_private:
        return Reply.error(f"{member.name} {month.month} 月有未请假的缺席记录，"
                           f"按规则不能{verb}为当月先锋党员。")
    return Reply.error(f"暂不能{verb}为 {month.month} 月先锋党员：原因涉及个人情况，"
                       "不在群里说明，请私聊我发送同一条命令查看。")


def nominate(ctx: Ctx, args: dict[str, Any]) -> Reply:
    if ctx.branch is None:
        return Reply.error("请在本支部群或私聊中推荐本支部的党员。")
    month = committee.nomination_month(ctx.local_now.date())
    member, wrong = _nominee(ctx, args["name"], month)
    if member is None:
        return Reply.error(usage_text(COMMAND_NOMINATE, wrong or "没有找到这位党员"))
    deeds = (args.get("deeds") or "").strip()
    if asked_in_place(deeds):  # 推荐 先锋党员 张三 可以吗: nominated, 事迹 「可以吗」, leaders told
        return Reply.error(usage_text(COMMAND_NOMINATE, f"「{deeds}」像是在问，这次没有记录；"
                                      "推荐请写上事迹"))
    if len(deeds) > MAX_DEEDS:
        return Reply.error(usage_text(COMMAND_NOMINATE, f"事迹请写短一些（不超过 {MAX_DEEDS} 个字）"))
    existing = committee.nomination_of(ctx.session, member_id=member.id, month=month)  # type: ignore[arg-type]
    if existing is not None and existing.confirmed_at is not None:
        return Reply(f"{member.name}已是 {month.month} 月先锋党员（已确认）。")
    if committee.absent_in_month(ctx.session, member_id=member.id, month=month,  # type: ignore[arg-type]
                                 tz=ctx.settings.tz):
        return _unfit(ctx, member, month, "推荐")
    assert ctx.member is not None
    # Rewriting replaces the 事迹 on the nomination: the text replaced stays on record here.
    was = existing.deeds if existing is not None else None
    nomination = committee.nominate(ctx.session, member=member, branch_id=ctx.branch.id,  # type: ignore[arg-type]
                                    month=month, deeds=deeds, nominated_by=ctx.member.id,
                                    now=ctx.now)
    _tell_leaders(ctx, nomination, member)
    ctx.audit("pioneer.nominate", target=member.name,
              detail={"month": month.isoformat(), "deeds": deeds,
                      **({"was": was} if existing is not None else {})})
    return Reply(f"已推荐 {member.name} 为 {month.year}年{month.month}月先锋党员"
                 f"{'（已更新事迹）' if existing else ''}，待领导确认。\n事迹：{deeds}")


def _tell_leaders(ctx: Ctx, nomination: PioneerNomination, member: Member) -> None:
    """The leaders' group hears of a nomination waiting for them, once for each 事迹 (a
    rewrite is news): nothing else tells a leader whom to confirm, and a nomination nobody
    confirms is a month's honour never given."""
    assert ctx.branch is not None and ctx.member is not None
    m = nomination.month
    text = (f"【先锋党员待确认】{m.year}年{m.month}月 {ctx.branch.name} {member.name}"
            f"（{ctx.member.name}推荐）\n事迹：{nomination.deeds}\n"
            f"确认请发送「确认 先锋党员 {member.name}」。")
    said = hashlib.sha256(nomination.deeds.encode()).hexdigest()[:12]
    _post(ctx, ChatBinding.is_leaders == True, text, title="先锋党员待确认",  # noqa: E712
          kind=NOMINATED, key=f"{nomination.id}|{said}")


def _post(ctx: Ctx, chats, text: str, *, title: str, kind: str, key: str) -> None:
    """To each group chat bound as `chats` says, once each (the chat and `key`), after
    quiet hours: a nomination or an honour read out at night waits for the morning."""
    payload = text_payload(text, title=title)
    not_before = ctx.after_quiet_hours()
    for binding in ctx.session.execute(
            select(ChatBinding).where(chats).order_by(ChatBinding.id)).scalars():
        target_kind = "leaders" if binding.is_leaders else "group"
        enqueue(ctx.session, platform=binding.platform, target_kind=target_kind,
                target=binding.chat_id, payload=payload, now=ctx.now, kind=kind,
                dedupe_key=f"{kind}|{binding.platform}:{target_kind}:{binding.chat_id}|{key}",
                branch_id=binding.branch_id, not_before=not_before)


def _pending(ctx: Ctx, text: str) -> tuple[PioneerNomination | None, str | None]:
    """The nomination waiting for the member named, looked for among everyone who was ever
    on the roster: an honour for a month's work stands when the member has left since."""
    named = org.members_by_name_or_staff_no(ctx.session, text=text, include_inactive=True)
    ids = [m.id for m in named if m.id is not None]
    pending = committee.pending_nominations(ctx.session, member_ids=ids)
    nominees = {n.member_id for n in pending}
    if len(nominees) > 1:
        return None, f"有 {len(nominees)} 位「{text}」待确认，请用编号指明"
    return (pending[0], None) if pending else (None, None)


def confirm(ctx: Ctx, args: dict[str, Any]) -> Reply:
    nomination, wrong = _pending(ctx, args["name"])
    if wrong is not None:
        return Reply.error(usage_text(COMMAND_CONFIRM, wrong))
    if nomination is None:
        return _nothing_pending(ctx, args["name"])
    member = ctx.session.get(Member, nomination.member_id)
    assert member is not None
    # The nomination rule holds at confirmation: an absence may have come since.
    if committee.absent_in_month(ctx.session, member_id=member.id, month=nomination.month,  # type: ignore[arg-type]
                                 tz=ctx.settings.tz):
        return _unfit(ctx, member, nomination.month, "确认")
    assert ctx.member is not None and ctx.member.id is not None
    committee.confirm(ctx.session, nomination=nomination, leader_id=ctx.member.id, now=ctx.now)
    ctx.audit("pioneer.confirm", target=member.name, detail={"month": nomination.month.isoformat()})
    _announce(ctx, nomination, member)
    return Reply(f"已确认 {member.name} 为 {nomination.month.year}年{nomination.month.month}月先锋党员，"
                 "将在支部群和领导群表扬。")


def _nothing_pending(ctx: Ctx, text: str) -> Reply:
    """确认 of someone with no nomination waiting: already confirmed, or not nominated."""
    member, wrong = _one_member(ctx, text)
    if member is None:
        return Reply.error(usage_text(COMMAND_CONFIRM, wrong or "没有找到这位党员"))
    done = committee.latest_confirmed(ctx.session, member_id=member.id)  # type: ignore[arg-type]
    if done is not None:
        return Reply.error(_already_confirmed(ctx, done, member))
    return Reply.error(f"{member.name}没有待确认的先锋党员推荐。支部书记先发送"
                       f"「推荐 先锋党员 {member.name} 事迹」。")


def _already_confirmed(ctx: Ctx, done: PioneerNomination, member: Member) -> str:
    """A second 确认 (a leader unsure it went through, or two leaders) is told it is done,
    by whom and when; a month long past also says how a new one starts."""
    assert done.confirmed_at is not None
    leader = ctx.session.get(Member, done.confirmed_by) if done.confirmed_by else None
    at = done.confirmed_at.astimezone(ctx.settings.tz)
    text = (f"{member.name} 已是 {done.month.year}年{done.month.month}月先锋党员："
            f"{leader.name if leader else '领导'} {at.month}月{at.day}日 {at:%H:%M} 已确认，"
            "不用再确认。")
    if done.month < committee.nomination_month(ctx.local_now.date()):
        text += f"推荐新的月份，请支部书记先发送「推荐 先锋党员 {member.name} 事迹」。"
    return text


def _announce(ctx: Ctx, nomination: PioneerNomination, member: Member) -> None:
    """The honour roll entry, to the nominating branch's groups and the leaders' group, once
    each. The honour is for a month's work in that branch (as 先锋党员 lists it), so a member
    who has moved since is praised where the work was done."""
    branch_id = nomination.branch_id
    branch = ctx.session.get(Branch, branch_id) if branch_id else None
    branch_name = branch.name if branch else ""
    text = (f"【先锋党员】{nomination.month.year}年{nomination.month.month}月 {branch_name} {member.name}"
            f"\n事迹：{nomination.deeds}\n向先锋看齐！")
    _post(ctx, (ChatBinding.branch_id == branch_id) | (ChatBinding.is_leaders == True),  # noqa: E712
          text, title="先锋党员", kind=HONOUR, key=str(nomination.id))


def honour_roll(ctx: Ctx, args: dict[str, Any]) -> Reply:
    today = ctx.local_now.date()
    # In January the roll begins with last December: its honours are nominated and confirmed
    # in January's first days, after the year they belong to is over.
    first = date(today.year - 1, 12, 1) if today.month == 1 else date(today.year, 1, 1)
    rows = committee.pioneers(ctx.session, first=first, last=today)
    names = {b.id: b.name for b in org.branches(ctx.session, include_inactive=True)}
    title = (f"{today.year} 年先锋党员" if first.year == today.year
             else f"先锋党员（{first.year}年{first.month}月起）")
    lines = [f"{title} {len(rows)} 人：" if rows else f"{today.year} 年还没有确认的先锋党员。"]
    lines += [f"· {'' if n.month.year == today.year else f'{n.month.year}年'}{n.month.month}月 "
              f"{names.get(n.branch_id, '')} {m.name}：{n.deeds}" for n, m in rows]
    if ctx.role in LEADER_ROLES or ctx.role in MANAGERS:
        # Every nomination waiting, counted where it was made: the nominee may have moved
        # or left the roster since.
        everyone = {m.id: m for m in org.members(ctx.session, include_inactive=True)
                    if m.id is not None}
        pending = [n for n in committee.pending_nominations(ctx.session,
                                                            member_ids=list(everyone))
                   if ctx.bureau_wide or (ctx.branch and n.branch_id == ctx.branch.id)]
        if pending:
            lines.append(f"待确认推荐 {len(pending)} 人。")
        if pending and ctx.role in LEADER_ROLES and ctx.bureau_wide:
            # Whom to confirm: nowhere else names them to the leader who confirms.
            lines += [f"· {n.month.month}月 {names.get(n.branch_id, '')} "
                      f"{everyone[n.member_id].name}：{n.deeds}" for n in pending]
            lines.append("确认请发送「确认 先锋党员 姓名」。")
    return Reply("\n".join(lines))


COMMAND_NOMINATE = Command(
    name="推荐",
    summary="支部书记、委员推荐本月先锋党员，写一句事迹",
    handler=nominate,
    args=(choice("what", "类别", ("先锋党员",)), word("name", "姓名"), rest("deeds", "事迹")),
    roles=MANAGERS,
    example="推荐 先锋党员 李秀英 连续加班破获电诈案件，挽回群众损失20万元",
    capability="pioneers",
)

COMMAND_CONFIRM = Command(
    name="确认",
    summary="领导确认先锋党员推荐，在支部群和领导群表扬",
    handler=confirm,
    args=(choice("what", "类别", ("先锋党员",)), word("name", "姓名")),
    roles=LEADERS,
    example="确认 先锋党员 李秀英",
    capability="pioneers",
)

COMMAND_ROLL = Command(
    name="先锋党员",
    summary="今年各月的先锋党员光荣榜",
    handler=honour_roll,
    example="先锋党员",
    capability="pioneers",
)


def confirm_from_text(ctx: Ctx, text: str) -> Reply:
    """`确认 先锋党员 张三`. The word 确认 belongs to handlers/corrections (confirming what
    djbot just asked about); with words after it, it is a leader confirming a nomination,
    parsed and checked here as COMMAND_CONFIRM declares."""
    assert COMMAND_CONFIRM.roles is not None
    if ctx.role not in COMMAND_CONFIRM.roles:
        allowed = "、".join(ROLE_LABELS[r] for r in Role if r in COMMAND_CONFIRM.roles)
        return Reply.error(f"「确认 先锋党员」仅限{allowed}使用。")
    args, problem = COMMAND_CONFIRM.parse(text)
    if problem is not None:
        return Reply.error(usage_text(COMMAND_CONFIRM, problem))
    return confirm(ctx, args)


def register(registry: CommandRegistry) -> None:
    # COMMAND_CONFIRM is reached through 确认 (handlers/corrections), not registered itself.
    for command in (COMMAND_NOMINATE, COMMAND_ROLL):
        registry.add(command)
