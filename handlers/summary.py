"""周报: the leaders' weekly summary on demand, the same report the Monday push sends."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from bot.context import Ctx
from bot.core import Reply
from bot.domain.points import last_complete_week, previous_period, week_of
from bot.registry import LEADERS, MANAGERS, Command, CommandRegistry, choice
from storage.committee_report import summary_markdown as committee_summary
from storage.models import Branch
from storage.reports import board_lines, build_report, public_board, render_markdown


def summary(ctx: Ctx, args: dict[str, Any]) -> Reply:
    tz = ctx.settings.tz
    if args.get("week") == "本周":
        period = week_of(ctx.now, tz)  # to date
    else:
        period = last_complete_week(ctx.now, tz)
    before = previous_period(period)
    own = None
    if ctx.role not in LEADERS or not ctx.bureau_wide:
        # A secretary or committee member, or anyone in a branch group (a leader too: the
        # group reads it, and 约谈 and the bureau's list are not said there, as 红黄蓝榜
        # does): the same report, for the chat's or the own branch only.
        own = ctx.branch or (ctx.session.get(Branch, ctx.member.branch_id)
                             if ctx.member and ctx.member.branch_id else None)
        if own is None:
            return Reply.error("你还没有所属支部，周报请在支部群里发送。")
    report = build_report(ctx.session, start=period.start, end=period.end,
                          previous=(before.start, before.end), tz=ctx.settings.tz,
                          visit_target=ctx.settings.visit_target_per_year,
                          rules=ctx.rules, title=f"周报 {period.start.month}月{period.start.day}日起",
                          now=ctx.now)
    if own is not None:
        # 约谈 is said where leaders read the list, never to a branch (as 红黄蓝榜 does).
        report.branches = [replace(b, talk=False) for b in report.branches if b.name == own.name]
        report.idle_branches = [n for n in report.idle_branches if n == own.name]
        report.under_visited = [n for n in report.under_visited if n == own.name]
        # The branch's own board, ranked in the branch, by the rules of 排行榜 and the
        # Monday board (it may be read in the group): not the bureau's top ten filtered,
        # whose ranks skip other branches' members and whose cut splits ties.
        report.top_members, report.top_tie = [], None
        text = render_markdown(report)
        board = public_board(ctx.session, branch_id=own.id, start=period.start, end=period.end)
        if not board.empty:
            text = text.rstrip("\n") + "\n\n**积分前列**\n" + "\n".join(board_lines(board)) + "\n"
        return Reply(text, markdown=True, title="党建周报")
    # Leaders also get the committee's loop: overdue 三会一课, talks, pairs, open 整改.
    text = render_markdown(report) + committee_summary(ctx.session, now=ctx.now,
                                                       tz=ctx.settings.tz, rules=ctx.rules,
                                                       week=report)
    return Reply(text, markdown=True, title="党建周报")


def register(registry: CommandRegistry) -> None:
    registry.add(
        Command(
            name="周报",
            summary="各支部参与率、红黄蓝档、调研和积分前列（默认上周；书记和支部群里看本支部）",
            handler=summary,
            args=(choice("week", "周", ("上周", "本周"), optional=True),),
            roles=LEADERS | MANAGERS,
            example="周报 本周",
            capability="summary",
        )
    )
