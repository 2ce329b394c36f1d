"""Telling a member what a change of place did to their leave, and asking whoever decides
leave: no chat is needed, so a chat command (设置角色, 请假), the command line (import-roster,
committee) and the scheduler (a temporary branch ending) all say it the same way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from functools import cache

from sqlmodel import Session

from bot.config import Settings
from bot.domain.text import show_period
from bot.scheduling.called_off import label
from storage import leave as leave_store
from storage import org, outbox
from storage.leave import Changed
from storage.models import (
    ROLE_LABELS,
    Activity,
    Attendance,
    Branch,
    LeavePeriod,
    LeaveState,
    Member,
    OutboxMessage,
    Role,
)


def ask_for_a_decision(session: Session, *, member: Member, branch_id: int | None, key: str,
                       asked: str, now: datetime, not_before: datetime | None,
                       prefer: str | None) -> list[Member]:
    """Leave that needs approval, asked privately of whoever decides it in the scope:
    queued to them, to be sent at once or when quiet hours end (`not_before`). Returns
    those reached."""
    assert member.id is not None
    name = member.name
    deciders = org.leave_deciders(session, branch_id=branch_id, asking=member.id)
    text = (f"【请假待批准】{name}请假：{asked}\n"
            f"同意请回复「批准请假 {name}」，不同意请回复「驳回请假 {name}」。"
            "确认缺席时仍未批准的，记为缺席。")
    reached = org.reach(session, deciders, prefer=prefer)
    outbox.enqueue_private(session, reached=reached, text=text, title="请假待批准",
                           kind=outbox.LEAVE_ASK, key=f"{outbox.leave_asks_of(member.id)}{key}",
                           now=now, branch_id=branch_id, not_before=not_before)
    return [decider for decider, _ in reached]


MOVED = outbox.LEAVE_MOVED  # 请假已撤回 or 已恢复: leave a change of place changed


def tell_of_move(session: Session, changed: Changed, *, settings: Settings, now: datetime,
                 not_before: datetime | None, prefer: str | None = None) -> bool:
    """A change of place took back leave the member asked for an activity that no longer
    expects them (storage.leave.refit): they hear it once, privately, as those whose
    activity is called off do, since no decision is coming and they need not come. Leave
    a change back restores they hear of too, unless the notice of its withdrawal is still
    waiting (at night): that is withdrawn instead, and they hear only what stays so. A
    leave waiting for a decision that stands again, or a period still waiting for one, is
    asked of whoever decides it now, and the member told who that is. Not those off the
    roster. Returns whether the member was written to. Said by every caller of a change
    (a chat, the CLI, the scheduler)."""
    member, was = changed.member, changed.was
    if not member.active or not (
            changed.withdrawn or changed.turned_down or changed.restored or changed.to_decide):
        return False
    if was is None:
        _ask_again_on_return(session, changed, settings=settings, now=now,
                             not_before=not_before, prefer=prefer)
        return False
    assert member.id is not None
    withdrawn, restored = list(changed.withdrawn), changed.restored
    if restored:
        # Not heard yet: the member hears what stands now, once, rather than a withdrawal
        # and then its undoing.
        unsent = outbox.withdraw_unsent(session, kind=MOVED, key_prefix=f"{MOVED}|{member.id}|",
                                        reason="请假已随调回恢复")
        if unsent:
            since = min(row.created_at for row in unsent)
            restored = [r for r in restored if r.withdrawn_at < since]
            withdrawn += [a for a in leave_store.withdrawn_since(
                session, member_id=member.id, since=since, now=now) if a not in withdrawn]
    for back in changed.restored:
        if back.leave_state == LeaveState.PENDING:  # asked again: the earlier was withdrawn
            ask_for_a_decision(
                session, member=member, branch_id=back.activity.branch_id,
                key=f"attendance:{back.attendance_id}|restored:spell:{was.id}",
                asked=f"{label(session, back.activity, settings)}（请假随调动撤回，现已调回）。",
                now=now, not_before=not_before, prefer=prefer)
    lines = []
    if withdrawn:
        labels = "、".join(label(session, a, settings) for a in withdrawn)
        it = "它" if len(withdrawn) == 1 else "这些活动"
        lines.append(f"{_moved(session, changed)}，{labels}不再需要你参加，你对{it}的请假已撤回。")
    if changed.turned_down:
        labels = "、".join(label(session, a, settings) for a in changed.turned_down)
        lines.append(f"{_moved(session, changed)}，{labels}不再需要你参加。")
    for state, says in ((LeaveState.GRANTED, "你对{}的请假仍然有效。"),
                        (LeaveState.PENDING, "你对{}的请假仍在等待批准。"),
                        (LeaveState.REVOKED, "{}仍需你参加（请假已被驳回）。")):
        these = [r.activity for r in restored if r.leave_state == state]
        if these:
            labels = "、".join(label(session, a, settings) for a in these)
            lines.append(f"{_moved_back(session, changed)}，" + says.format(labels))
    for period in changed.to_decide:
        days = (period.last_day - period.first_day).days + 1
        when = (show_period(period.first_day, period.last_day, period.activity_type)
                + (f"（{days} 天）" if days > 1 else ""))
        reached = ask_for_a_decision(
            session, member=member, branch_id=member.branch_id,
            key=f"period:{period.id}|spell:{was.id}",  # one per move: A→B→A→B asks B twice
            asked=f"{when}，原因：{period.reason}（在{_branch_name(session, was.branch_id)}"
                  "时提交，现已调入）。",
            now=now, not_before=not_before, prefer=prefer)
        if reached:
            who = _branch_name(session, member.branch_id) + ROLE_LABELS.get(reached[0].role, "书记")
            lines.append(f"你{when}的请假改由{who}审批。")
        else:
            lines.append(f"你{when}的请假还在等待批准，{_branch_name(session, member.branch_id)}"
                         "没有能收到通知的书记或委员，请直接告诉能批准的同志。")
    if not lines:
        return False
    title = ("请假已撤回" if withdrawn else "请假已恢复" if restored
             else "活动安排变更" if changed.turned_down else "请假改由新支部审批")
    outbox.enqueue_private(session, reached=org.reach(session, [member], prefer=prefer),
                           text=f"【{title}】" + "\n".join(lines), title=title, kind=MOVED,
                           key=f"{MOVED}|{member.id}|spell:{was.id}", now=now,
                           branch_id=member.branch_id, not_before=not_before)
    return True


def _ask_again_on_return(session: Session, changed: Changed, *, settings: Settings,
                         now: datetime, not_before: datetime | None, prefer: str | None) -> None:
    """Back on the roster (storage.moves.rejoin), leave still waiting for a decision is
    asked again of whoever decides it: the request was withdrawn when they left, and
    undecided it lapses into an absence. The member never heard they had left, so is told
    nothing."""
    member = changed.member
    assert member.id is not None
    back = f"rejoined:{int(now.timestamp())}"  # the withdrawn request's key stays taken
    for restored in changed.restored:
        if restored.leave_state != LeaveState.PENDING:
            continue
        row = session.get(Attendance, restored.attendance_id)
        reason = f"，原因：{row.leave_reason}" if row is not None and row.leave_reason else ""
        ask_for_a_decision(
            session, member=member, branch_id=restored.activity.branch_id,
            key=f"attendance:{restored.attendance_id}|{back}",
            asked=f"{label(session, restored.activity, settings)}{reason}（停用后已恢复）。",
            now=now, not_before=not_before, prefer=prefer)
    for period in changed.to_decide:
        days = (period.last_day - period.first_day).days + 1
        when = (show_period(period.first_day, period.last_day, period.activity_type)
                + (f"（{days} 天）" if days > 1 else ""))
        ask_for_a_decision(
            session, member=member, branch_id=member.branch_id, key=f"period:{period.id}|{back}",
            asked=f"{when}，原因：{period.reason}（停用后已恢复）。",
            now=now, not_before=not_before, prefer=prefer)


def _moved(session: Session, changed: Changed) -> str:
    """What changed of the member's place, said to them (你已从城关支部调至二支部)."""
    was, member = changed.was, changed.member
    assert was is not None
    if changed.branch_changed:
        return (f"你已从{_branch_name(session, was.branch_id)}"
                f"调至{_branch_name(session, member.branch_id)}")
    if was.party_group_id != member.party_group_id:
        group = org.party_group(session, group_id=member.party_group_id)
        return f"你已调至{group.name}" if group else "你已不在原党小组"
    if was.role != member.role:
        return f"你的角色已改为{ROLE_LABELS[Role(member.role)]}"
    return "你已不是党委委员" if was.bureau_committee else "你已任党委委员"


def _moved_back(session: Session, changed: Changed) -> str:
    """The change, said where it makes the member due again (你已调回城关支部)."""
    was, member = changed.was, changed.member
    assert was is not None
    if changed.branch_changed:
        return f"你已调回{_branch_name(session, member.branch_id)}"
    if was.party_group_id != member.party_group_id:
        group = org.party_group(session, group_id=member.party_group_id)
        return f"你已调回{group.name}" if group else "你已调回原党小组"
    if was.role != member.role:
        return f"你的角色已改为{ROLE_LABELS[Role(member.role)]}"
    return "你已任党委委员" if member.bureau_committee else "你已不是党委委员"


def _branch_name(session: Session, branch_id: int | None) -> str:
    branch = session.get(Branch, branch_id) if branch_id is not None else None
    return branch.name if branch else "局机关"


@dataclass(frozen=True)
class HeldAsk:
    """A 【请假待批准】 queued or sent to one who decides leave: the request's key (less the
    account), what it says, whose leave it is, and what it asks about (attendance or
    period, and its id)."""

    key: str
    payload: dict
    branch_id: int | None
    asking: int
    record: str
    record_id: int


_ASKING = re.compile(rf"^{re.escape(outbox.LEAVE_ASK)}\|member:(\d+)\|(attendance|period):(\d+)\|")


def _held(row: OutboxMessage) -> HeldAsk | None:
    """The request a queued 【请假待批准】 puts, read from its key; None for one whose key
    names no member and record."""
    key = (row.dedupe_key or "").rsplit("|", 1)[0]  # less |platform:user
    found = _ASKING.match(key)
    if found is None:
        return None
    return HeldAsk(key, row.payload, row.branch_id, int(found[1]), found[2], int(found[3]))


def asks_held_by(session: Session, member: Member) -> list[HeldAsk]:
    """The requests for a leave decision put to the member, one per request, read before
    they are forgotten: their account goes, and with it what was queued to it."""
    held: dict[str, HeldAsk] = {}
    accounts = [(i.platform, i.user_id)
                for i in org.identities_of(session, member_id=member.id)]  # type: ignore[arg-type]
    for row in outbox.leave_asks_to(session, accounts=accounts):
        ask = _held(row)
        if ask is not None:
            held.setdefault(ask.key, ask)
    return list(held.values())


def hand_over(session: Session, held: list[HeldAsk], *, settings: Settings, now: datetime,
              not_before: datetime | None, prefer: str | None = None) -> tuple[int, int]:
    """Requests put to one who no longer decides (forgotten) and still undecided: put to
    whoever decides them now, those already asked not twice; with nobody to ask, the member
    is told, or the leave lapses into an absence with nobody the wiser. Returns how many
    requests were put to someone, and how many members were told instead."""
    handed = told = 0
    for ask in held:
        member = session.get(Member, ask.asking)
        what = _still_waiting(session, ask.record, ask.record_id, settings)
        if member is None or not member.active or what is None:
            continue
        reached = org.reach(session, org.leave_deciders(
            session, branch_id=ask.branch_id, asking=member.id), prefer=prefer)
        outbox.enqueue_payload_privately(
            session, reached=reached, payload=ask.payload, kind=outbox.LEAVE_ASK, key=ask.key,
            now=now, branch_id=ask.branch_id, not_before=not_before)
        if reached:
            handed += 1
            continue
        where = _branch_name(session, ask.branch_id) if ask.branch_id is not None else "局党委"
        who = "领导" if ask.branch_id is None else "书记或委员"
        outbox.enqueue_private(
            session, reached=org.reach(session, [member], prefer=prefer),
            text=f"【请假待批准】你{what}的请假还在等待批准，{where}没有能收到通知的{who}，"
                 "请直接告诉能批准的同志。", title="请假待批准", kind=MOVED,
            key=f"{MOVED}|{member.id}|unasked:{ask.key}", now=now, branch_id=ask.branch_id,
            not_before=not_before)
        told += 1
    return handed, told


def _still_waiting(session: Session, record: str, record_id: int,
                   settings: Settings) -> str | None:
    """What the request is about, said to the member, while it waits for a decision."""
    if record == "period":
        period = session.get(LeavePeriod, record_id)
        if period is None or period.leave_state != LeaveState.PENDING:
            return None
        return show_period(period.first_day, period.last_day, period.activity_type)
    row = session.get(Attendance, record_id)
    if row is None or row.leave_state != LeaveState.PENDING:
        return None
    activity = session.get(Activity, row.activity_id)
    if activity is None or activity.status == "cancelled" or activity.finalized_at is not None:
        return None
    return f"对{label(session, activity, settings)}"


def hand_over_from_former(session: Session, *, settings: Settings, now: datetime,
                          not_before: datetime | None, prefer: str | None = None
                          ) -> tuple[int, int]:
    """After a change of roles or of the roster: requests still undecided that were put to
    one who no longer decides them (off the roster, made a 党员, moved away) are put to
    whoever decides now, and those not sent yet to the former are withdrawn (a request
    they can no longer answer). hand_over's counts."""
    stale: dict[str, HeldAsk] = {}

    # A request goes to each who decides it, and each of them holds many: who holds an
    # account, and who decides a member's leave, are read once each, not once a row.
    @cache
    def holder(platform: str, user_id: str) -> int | None:
        to = org.member_by_identity(session, platform=platform, user_id=user_id)
        return to.id if to is not None else None

    @cache
    def deciders(branch_id: int | None, asking: int) -> frozenset[int | None]:
        return frozenset(d.id for d in org.leave_deciders(session, branch_id=branch_id,
                                                          asking=asking))

    for row in outbox.leave_asks_to(session, accounts=None):
        ask = _held(row)
        if ask is None:
            continue
        to = holder(row.platform, row.target)
        if to is not None and to in deciders(row.branch_id, ask.asking):
            continue
        outbox.withdraw_rows(session, rows=[row], reason="已不再审批请假")
        stale.setdefault(ask.key, ask)
    return hand_over(session, list(stale.values()), settings=settings, now=now,
                     not_before=not_before, prefer=prefer)
