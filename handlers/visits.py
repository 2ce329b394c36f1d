"""调研: leaders log research visits to branches; 调研记录 lists branches below this year's target."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from bot.context import Ctx
from bot.core import Reply
from bot.registry import LEADERS, Command, CommandRegistry, branch, rest, usage_text
from storage import org
from storage.models import ResearchVisit

MAX_NOTE_CHARS = 300
_COUNT = re.compile(r"^(发现问题|发现|问题|解决问题|解决)\s*(\d+)?\s*个?\s*")


@dataclass(frozen=True)
class VisitDetails:
    problems_found: int = 0
    problems_solved: int = 0
    note: str | None = None


def parse_visit_details(text: str | None) -> tuple[VisitDetails | None, str | None]:
    """'发现问题 3 解决 2 走访了值班室' → (found 3, solved 2, note); or (None, what is wrong).

    The counts come first, in any order; whatever follows them is the note.
    """
    found = solved = 0
    remaining = (text or "").strip()
    while match := _COUNT.match(remaining):
        keyword, number = match.groups()
        if number is None:
            return None, f"「{keyword}」后面应为数字"
        if keyword.startswith("解决"):
            solved = int(number)
        else:
            found = int(number)
        remaining = remaining[match.end():].strip()
    if len(remaining) > MAX_NOTE_CHARS:
        return None, f"备注请写短一些（不超过 {MAX_NOTE_CHARS} 个字）"
    return VisitDetails(found, solved, remaining or None), None


def log_visit(ctx: Ctx, args: dict[str, Any]) -> Reply:
    branch = org.branch_by_name(ctx.session, name=args["branch"])
    if branch is None:
        names = "、".join(b.name for b in org.branches(ctx.session)) or "（还没有支部）"
        return Reply.error(usage_text(COMMAND_VISIT, f"没有找到支部「{args['branch']}」。现有支部：{names}"))
    details, problem = parse_visit_details(args.get("details"))
    if details is None:
        return Reply.error(usage_text(COMMAND_VISIT, problem or "格式不对"))
    assert ctx.member is not None and ctx.member.id is not None and branch.id is not None
    today = ctx.local_now.date()
    ctx.session.add(
        ResearchVisit(
            leader_id=ctx.member.id,
            branch_id=branch.id,
            visited_on=today,
            problems_found=details.problems_found,
            problems_solved=details.problems_solved,
            note=details.note,
            logged_at=ctx.now,
        )
    )
    ctx.session.flush()
    done = org.visits_by_branch(ctx.session, year=today.year, tz=ctx.settings.tz).get(branch.id, 0)
    target = ctx.settings.visit_target_per_year
    progress = f"还差 {target - done} 次" if done < target else "已达标"
    return Reply(
        f"已记录调研：{branch.name}，{today.month}月{today.day}日，发现问题 {details.problems_found} 个，"
        f"解决 {details.problems_solved} 个。\n"
        f"{today.year} 年到{branch.name}调研 {done} 次，目标 {target} 次，{progress}。"
    )


def visits_report(ctx: Ctx, args: dict[str, Any]) -> Reply:
    year = ctx.local_now.year
    target = ctx.settings.visit_target_per_year
    counts = org.visits_by_branch(ctx.session, year=year, tz=ctx.settings.tz)
    visits, found, solved = org.visit_totals(ctx.session, year=year)
    below = [(b, counts[b.id]) for b in org.branches(ctx.session)
             if b.id in counts and counts[b.id] < target]
    lines = [f"{year} 年共调研 {visits} 次，发现问题 {found} 个，解决 {solved} 个。"]
    if not below:
        lines.append(f"所有支部都已达到每年 {target} 次的调研目标。")
    else:
        lines.append(f"未达到每年 {target} 次调研目标的支部（{len(below)} 个）：")
        below.sort(key=lambda item: (item[1], item[0].id))  # the most neglected first
        lines += [f"· {b.name}：{n} 次" for b, n in below]
    return Reply("\n".join(lines))


COMMAND_VISIT = Command(
    name="调研",
    summary="领导记录到支部的调研：发现和解决的问题数、备注",
    handler=log_visit,
    args=(branch("branch", "支部"), rest("details", "调研情况", optional=True, max_chars=500)),
    roles=LEADERS,
    example="调研 城关派出所党支部 发现问题 3 解决 2 值班室学习角需更新",
    capability="visits",
)

COMMAND_VISITS_REPORT = Command(
    name="调研记录",
    summary="今年各支部调研情况：哪些支部还没达到调研目标",
    handler=visits_report,
    roles=LEADERS,
    example="调研记录",
    capability="visits",
)


def register(registry: CommandRegistry) -> None:
    registry.add(COMMAND_VISIT)
    registry.add(COMMAND_VISITS_REPORT)
