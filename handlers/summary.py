"""周报: the leaders' weekly summary on demand, the same report the Monday push sends."""

from __future__ import annotations

from typing import Any

from bot.context import Ctx
from bot.core import Reply
from bot.domain.points import last_complete_week, previous_period, week_of
from bot.registry import LEADERS, Command, CommandRegistry, choice
from storage.reports import build_report, render_markdown


def summary(ctx: Ctx, args: dict[str, Any]) -> Reply:
    tz = ctx.settings.tz
    if args.get("week") == "本周":
        period = week_of(ctx.now, tz)  # to date
    else:
        period = last_complete_week(ctx.now, tz)
    before = previous_period(period)
    report = build_report(ctx.session, start=period.start, end=period.end,
                          previous=(before.start, before.end), settings=ctx.settings,
                          rules=ctx.rules, title=f"周报 {period.start:%m-%d}", now=ctx.now)
    return Reply(render_markdown(report), markdown=True, title="党建周报")


def register(registry: CommandRegistry) -> None:
    registry.add(
        Command(
            name="周报",
            summary="各支部参与率、红黄蓝档、调研和积分前列（默认上周）",
            handler=summary,
            args=(choice("week", "周", ("上周", "本周"), optional=True),),
            roles=LEADERS,
            example="周报 本周",
            capability="summary",
        )
    )
