"""调研: leaders log research visits to branches; 调研记录 lists branches below this year's target."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlmodel import select

from bot.context import Ctx
from bot.core import Reply
from bot.domain.dates import DateError, find_date, find_record_day
from bot.domain.text import asked_in_place, cn_number, ends_in_question, still_to_come
from bot.domain.visits import target_of
from bot.registry import LEADERS, Command, CommandRegistry, branch, rest, usage_text
from storage import confirmations, org
from storage.models import Branch, ResearchVisit

MAX_NOTE_CHARS = 300
LOG_AGAIN = "visit.log"
# 发现3个问题 too: the count said before the noun, as a sentence says it (it was refused as
# 「发现」 with no number after it).
_COUNT = re.compile(r"^(发现问题|发现|问题|解决问题|解决)\s*(\d+|[零一二两三四五六七八九十]+)?\s*个?"
                    r"(?:问题)?\s*")
# 已解决2个, 其中解决 2 个, 共发现问题 3 个: how a count is said in a sentence.
_COUNT_LATER = re.compile(r"(?:^|(?<=[\s，,、;；]))(?:其中|共|已经|已|均已|当场)?"
                          r"(?P<keyword>发现问题|发现|解决问题|解决)\s*"
                          r"(?P<number>\d+)\s*个?(?=[\s，,、;；。]|$)")
_APART = " ，,、;；。"


@dataclass(frozen=True)
class VisitDetails:
    problems_found: int = 0
    problems_solved: int = 0
    note: str | None = None


def parse_visit_details(text: str | None) -> tuple[VisitDetails | None, str | None]:
    """'发现问题 3 解决 2 走访了值班室' → (found 3, solved 2, note); or (None, what is wrong).

    The counts come first, in any order, apart or not (发现问题2，解决1); counts written after
    the note (走访值班室 发现问题 2) are read too. What is left is the note.
    """
    found = solved = 0
    remaining = (text or "").strip(_APART)
    while match := _COUNT.match(remaining):
        keyword, number = match.groups()
        if number is None:
            return None, f"「{keyword}」后面应为数字"
        count = int(number) if number.isdigit() else cn_number(number)
        if count is None:
            return None, f"「{keyword}」后面应为数字"
        if keyword.startswith("解决"):
            solved = count
        else:
            found = count
        remaining = remaining[match.end():].strip(_APART)  # 发现问题2，解决1
    # Counts written after a note (走访值班室 发现问题 2 解决 1) were left in it, and the
    # visit recorded with none: the figures of the year's report.
    for match in reversed(list(_COUNT_LATER.finditer(remaining))):
        if match["keyword"].startswith("解决"):
            solved = int(match["number"])
        else:
            found = int(match["number"])
        remaining = (remaining[:match.start()] + " " + remaining[match.end():]).strip(_APART)
    remaining = re.sub(r"\s+", " ", remaining)
    if len(remaining) > MAX_NOTE_CHARS:
        return None, f"备注请写短一些（不超过 {MAX_NOTE_CHARS} 个字）"
    return VisitDetails(found, solved, remaining or None), None


def log_visit(ctx: Ctx, args: dict[str, Any], *, confirmed: bool = False) -> Reply:
    """A date typed is honoured (or refused when in the future); the same visit twice on
    one day is asked about before it counts twice."""
    branch = org.branch_by_name(ctx.session, name=args["branch"])
    if branch is None:
        names = "、".join(b.name for b in org.branches(ctx.session)) or "（还没有支部）"
        return Reply.error(usage_text(COMMAND_VISIT, f"没有找到支部「{args['branch']}」。现有支部：{names}"))
    if not ctx.bureau_wide and ctx.branch is not None and ctx.branch.id != branch.id:
        # The reply names the branch's problems and shortfall: not for another branch's group.
        return Reply.error(f"到{branch.name}的调研请在领导群、私聊我或{branch.name}的群里记录："
                           "支部的问题不在别的支部群里说。")
    today = ctx.local_now.date()
    text = args.get("details") or ""
    try:
        # 调研 城关 昨天 …, 上周四, 11月20日 first; a month-day may also stand further on.
        dated = find_record_day(text, today) or find_date(text, today)
    except DateError as exc:
        return Reply.error(usage_text(COMMAND_VISIT, str(exc)))
    visited_on = dated.first if dated else today
    if visited_on > today:
        return Reply.error(usage_text(
            COMMAND_VISIT, f"调研日期 {visited_on:%Y年%m月%d日} 还没到，只能记录已经去过的调研"))
    said = (dated.rest if dated else text).strip()
    if asked_in_place(said) or not said and ends_in_question(ctx.message.text):
        # 调研 城关 几次了, 调研 城关？: recorded as a visit today, counted toward the target.
        return Reply.error("像是在问，这次没有记录。今年各支部的调研请发送「调研记录」。")
    if (later := still_to_come(said)) is not None:  # 调研 城关 下周: planned, not made
        return Reply.error(usage_text(
            COMMAND_VISIT, f"「{later}」是还没去的调研，这次没有记录；去过后再记"))
    details, problem = parse_visit_details(dated.rest if dated else text)
    if details is None:
        return Reply.error(usage_text(COMMAND_VISIT, problem or "格式不对"))
    if details.problems_solved > details.problems_found:
        return Reply.error(usage_text(
            COMMAND_VISIT, f"解决的问题（{details.problems_solved} 个）不能多于发现的问题"
                           f"（{details.problems_found} 个）"))
    assert ctx.member is not None and ctx.member.id is not None and branch.id is not None
    same_day = ctx.session.exec(select(ResearchVisit).where(
        ResearchVisit.leader_id == ctx.member.id, ResearchVisit.branch_id == branch.id,
        ResearchVisit.visited_on == visited_on,
        ResearchVisit.withdrawn_at.is_(None))).first()  # type: ignore[union-attr]
    if same_day is not None and not confirmed:
        confirmations.ask(ctx.session, platform=ctx.message.platform, chat_id=ctx.message.chat_id,
                          member_id=ctx.member.id, kind=LOG_AGAIN, payload=dict(args), now=ctx.now)
        return Reply(
            f"你已记录过 {visited_on.month}月{visited_on.day}日 到{branch.name}的调研（编号 "
            f"{same_day.id}）。如果这是另一次调研，请在 5 分钟内发送「确认」；重复发送的不用理会。")
    visit = ResearchVisit(
        leader_id=ctx.member.id,
        branch_id=branch.id,
        visited_on=visited_on,
        problems_found=details.problems_found,
        problems_solved=details.problems_solved,
        note=details.note,
        logged_at=ctx.now,
    )
    ctx.session.add(visit)
    ctx.session.flush()
    today = visited_on
    done = org.visits_by_branch(ctx.session, year=today.year, tz=ctx.settings.tz).get(branch.id, 0)
    target = target_of(branch, ctx.settings.visit_target_per_year, year=today.year,
                       tz=ctx.settings.tz, first_roster=org.first_roster(ctx.session,
                                                                        tz=ctx.settings.tz))
    progress = f"还差 {target - done} 次" if done < target else "已达标"
    return Reply(
        f"已记录调研（编号 {visit.id}）：{branch.name}，{today.month}月{today.day}日，"
        f"发现问题 {details.problems_found} 个，解决 {details.problems_solved} 个。\n"
        f"{today.year} 年到{branch.name}调研 {done} 次，目标 {target} 次，{progress}。"
    )


def visits_report(ctx: Ctx, args: dict[str, Any]) -> Reply:
    if not ctx.bureau_wide:
        # Other branches' shortfall is the leaders' list (周报 shows a branch only its own).
        return Reply.error("「调研记录」请在领导群或私聊我发送。")
    year = ctx.local_now.year
    target = ctx.settings.visit_target_per_year
    counts = org.visits_by_branch(ctx.session, year=year, tz=ctx.settings.tz)
    visits, found, solved = org.visit_totals(ctx.session, year=year)
    branches = org.branches(ctx.session)
    # A branch set up this year owes a share of the year's visits (bot.domain.visits).
    first = org.first_roster(ctx.session, tz=ctx.settings.tz)
    owed = {b.id: target_of(b, target, year=year, tz=ctx.settings.tz, first_roster=first)
            for b in branches}
    below = [(b, counts[b.id]) for b in branches
             if b.id in counts and counts[b.id] < owed[b.id]]
    lines = [f"{year} 年共调研 {visits} 次，发现问题 {found} 个，解决 {solved} 个。"]
    if not below:
        lines.append(f"所有支部都已达到每年 {target} 次的调研目标。")
    else:
        lines.append(f"未达到每年 {target} 次调研目标的支部（{len(below)} 个）：")
        below.sort(key=lambda item: (item[1], item[0].id))  # the most neglected first
        lines += [f"· {b.name}：{n} 次"
                  + (f"（{_part_of_year(b, year, ctx)}，目标 {owed[b.id]} 次）"
                     if owed[b.id] != target else "") for b, n in below]
    return Reply("\n".join(lines))


COMMAND_VISIT = Command(
    name="调研",
    summary="领导记录到支部的调研：发现和解决的问题数、备注",
    handler=log_visit,
    args=(branch("branch", "支部"),
          rest("details", "调研情况", hint="日期可省（昨天、上周四、11月20日）；发现问题 N 解决 N 备注",
               optional=True, max_chars=500)),
    roles=LEADERS,
    example="调研 城关派出所党支部 11月20日 发现问题 3 解决 2 值班室学习角需更新",
    capability="visits",
)

COMMAND_VISITS_REPORT = Command(
    name="调研记录",
    summary="今年各支部调研情况：哪些支部还没达到调研目标",
    handler=visits_report,
    aliases=("调研情况", "调研统计", "调研完成情况", "调研进度"),
    # 哪些支部还没调研: asked of the year's visits (was 没有这个指令).
    reworded=((re.compile(r"(?:哪些|哪个|哪几个)支部(?:还|今年)?(?:没|没有|未)(?:去)?调研(?:过)?(?:的)?"
                          r"|(?:还|今年)?(?:没|没有|未)(?:去)?调研(?:过)?的支部(?:有哪些)?"), ""),),
    roles=LEADERS,
    example="调研记录",
    capability="visits",
)


def _part_of_year(branch: Branch, year: int, ctx: Ctx) -> str:
    """Why a branch owes less than the year's visits: set up or ending in the year."""
    began = branch.created_at.astimezone(ctx.settings.tz).year == year
    ends = branch.ends_on is not None and branch.ends_on.year == year
    return ("今年成立、年内结束" if ends else "今年成立") if began else "年内结束"


def register(registry: CommandRegistry) -> None:
    registry.add(COMMAND_VISIT)
    registry.add(COMMAND_VISITS_REPORT)
