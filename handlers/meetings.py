"""三会一课: a secretary privately asks where the branch stands (done, due this month,
overdue); leaders ask about one branch. Only managers and leaders see it: a branch's
shortfall is the committee's business, not a public list."""

from __future__ import annotations

from typing import Any

from bot.context import Ctx
from bot.core import Reply
from bot.registry import MANAGERS, Command, CommandRegistry, branch, usage_text
from storage import org
from storage import committee_report as cr
from storage.models import LEADER_ROLES


def meetings(ctx: Ctx, args: dict[str, Any]) -> Reply:
    if not ctx.message.is_private and ctx.role not in LEADER_ROLES:
        return Reply.error("三会一课情况请私聊我查看。")
    if not ctx.message.is_private and not ctx.bureau_wide:
        # A branch group hears no shortfall, not even when a leader asks (as 约谈, 结对).
        return Reply.error("「三会一课」请在领导群或私聊我发送：支部的三会一课情况不在支部群里说。")
    if args.get("branch"):
        # A secretary may name the own branch: it is the one 三会一课 alone shows them.
        own = ctx.branch is not None and args["branch"] == ctx.branch.name
        if ctx.role not in LEADER_ROLES and not own:
            return Reply.error("查看其他支部的三会一课仅限领导、管理员；发送「三会一课」查看本支部。")
        branch = org.branch_by_name(ctx.session, name=args["branch"])
        if branch is None:
            names = "、".join(b.name for b in org.branches(ctx.session)) or "（还没有支部）"
            return Reply.error(usage_text(COMMAND_MEETINGS, f"没有找到支部「{args['branch']}」。现有支部：{names}"))
    elif ctx.role in LEADER_ROLES and (ctx.bureau_wide or ctx.branch is None):
        return _bureau(ctx)
    else:
        branch = ctx.branch
        if branch is None:
            return Reply.error(usage_text(COMMAND_MEETINGS, "你还没有所属支部"))
    rows = cr.meeting_standing(ctx.session, branch=branch, now=ctx.now, tz=ctx.settings.tz,
                               rules=ctx.rules)
    text = cr.render_standing(branch, rows)
    if any(r.state in ("due", "overdue") for r in rows):
        text += "\n可用「设置」定好日程，或开会时发送「开始 支委会」。"
    return Reply(text)


def _bureau(ctx: Ctx) -> Reply:
    """For leaders: each branch's overdue and due meetings, one line each."""
    lines = ["各支部三会一课（逾期 / 本月到期）："]
    for one in org.branches(ctx.session):
        rows = cr.meeting_standing(ctx.session, branch=one, now=ctx.now,
                                   tz=ctx.settings.tz, rules=ctx.rules)
        overdue = "、".join(r.label for r in rows if r.state == "overdue") or "无"
        due = "、".join(r.label for r in rows if r.state == "due") or "无"
        lines.append(f"· {one.name}：逾期 {overdue}；到期 {due}")
    lines.append("查看一个支部：发送「三会一课 支部名」")
    return Reply("\n".join(lines))


COMMAND_MEETINGS = Command(
    name="三会一课",
    summary="三会一课情况：已开、已安排、本月到期、逾期（书记私聊查看本支部，领导私聊或在领导群查看各支部；"
            "不在支部群里说）",
    handler=meetings,
    args=(branch("branch", "支部", optional=True),),
    roles=frozenset({*MANAGERS, *LEADER_ROLES}),
    example="三会一课",
    capability="meetings",
)


def register(registry: CommandRegistry) -> None:
    registry.add(COMMAND_MEETINGS)
