"""The committee's loop in chat: 约谈 recorded, 结对帮扶 paired and ended, 调研 problems followed
to 整改.

Leaders speak for the whole bureau (the leaders' group or a private chat). 整改完成 may also
be sent by the item's owner or a manager of its branch, who are the people doing the work.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select

from bot.context import Ctx
from bot.core import Reply
from bot.domain.dates import DateError, deadline, find_leading_day, find_record_day
from bot.domain.text import _HALF_YEAR as HALF_YEAR  # parse_date's reach for a year left out
from bot.domain.text import asked_in_place, cn_number, match_name, still_to_come
from bot.registry import (
    LEADERS,
    Command,
    CommandRegistry,
    branch,
    integer,
    rest,
    usage_text,
    word,
)
from handlers.attendance import write_privately
from storage import committee, confirmations, org
from storage import committee_report as cr
from storage.kinds import RECTIFICATION_OWNER
from storage.models import (
    LEADER_ROLES,
    MANAGER_ROLES,
    Branch,
    BranchPairing,
    Member,
    Rectification,
    ResearchVisit,
    Talk,
)

MAX_TEXT = 300
TALK_AGAIN = "talk.record"
PROBLEM_AGAIN = "rectification.add"


def _branch(ctx: Ctx, name: str, command: Command) -> tuple[Branch | None, Reply | None]:
    """The branch a full name, short name (刑侦) or unique prefix means, as the registry's
    branch arguments read them."""
    branches = org.branches(ctx.session)
    found = match_name(name, [b.name for b in branches])
    if found.name is None:
        names = "、".join(b.name for b in branches) or "（还没有支部）"
        return None, Reply.error(usage_text(command, f"没有找到支部「{name}」。现有支部：{names}"))
    return next(b for b in branches if b.name == found.name), None


def _leaders_chat(ctx: Ctx, command: Command) -> Reply | None:
    """约谈 and 结对 say which branches are weak and why: only where leaders read them
    (the leaders' group, a private chat), never in a branch group, by a leader either."""
    if ctx.bureau_wide:
        return None
    return Reply.error(f"「{command.name}」请在领导群或私聊我发送："
                       "支部的问题和档次不在支部群里说。")


# --- 约谈 ---------------------------------------------------------------------------------

_TALK = re.compile(r"^(?:问题[:：]?\s*)?(?P<problems>.*?)\s*(?:整改[:：]?\s*(?P<remedy>.*))?$",
                   re.DOTALL)


def parse_talk(text: str, today: date) -> tuple[tuple[date, str, str] | None, str | None]:
    """'[日期] 问题… 整改…' → (day, problems, remedy); or (None, what is wrong)."""
    text = text.strip()
    try:
        said = find_record_day(text, today)  # 昨天, 上周四, 3月5日: a talk is recorded after
    except DateError:
        return None, f"日期「{text.split()[0]}」不存在"
    day, text = (said.first, said.rest) if said else (today, text)
    if day > today:
        return None, "约谈日期不能晚于今天"
    match = _TALK.match(text)
    problems = (match["problems"] or "").strip() if match else ""
    remedy = (match["remedy"] or "").strip() if match else ""
    if not problems:
        return None, "请写明约谈指出的问题"
    if len(problems) + len(remedy) > MAX_TEXT:
        return None, f"问题和整改要求请写短一些（合计不超过 {MAX_TEXT} 个字）"
    return (day, problems, remedy), None


def record_talk(ctx: Ctx, args: dict[str, Any], *, confirmed: bool = False) -> Reply:
    """A talk to a branch already on record that day is asked about before it counts twice
    (a message typed again is not a second talk in 约谈记录 and the 述职报告)."""
    if (elsewhere := _leaders_chat(ctx, COMMAND_TALK)) is not None:
        return elsewhere
    branch, problem = _branch(ctx, args["branch"], COMMAND_TALK)
    if branch is None:
        return problem  # type: ignore[return-value]
    said = (args["details"] or "").strip()
    if asked_in_place(said):  # 约谈 二支部 要约谈吗: recorded as a talk, the question its problem
        return Reply.error("像是在问，这次没有记录。已记的约谈请发送「约谈记录」，"
                           "各支部的档次请发送「红黄蓝榜」。")
    if (later := still_to_come(said)) is not None:  # 约谈 二支部 下周: still to be held
        return Reply.error(usage_text(
            COMMAND_TALK, f"「{later}」是还没进行的约谈，这次没有记录；约谈后再记"))
    parsed, wrong = parse_talk(said, ctx.local_now.date())
    if parsed is None:
        return Reply.error(usage_text(COMMAND_TALK, wrong or "格式不对"))
    day, problems, remedy = parsed
    assert ctx.member is not None and ctx.member.id is not None and branch.id is not None
    same_day = committee.talks(ctx.session, first=day, last=day, branch_id=branch.id)
    if same_day and not confirmed:
        confirmations.ask(ctx.session, platform=ctx.message.platform, chat_id=ctx.message.chat_id,
                          member_id=ctx.member.id, kind=TALK_AGAIN, payload=dict(args), now=ctx.now)
        return Reply(f"{day.month}月{day.day}日对{branch.name}的约谈已有记录（#{same_day[0].id}）。"
                     "如果这是另一次约谈，请在 5 分钟内发送「确认」；重复发送的不用理会。")
    # The tier of the talk's month: this month's so far, or a past month's whole.
    today = ctx.local_now.date()
    this_month = (day.year, day.month) == (today.year, today.month)
    moment = ctx.now if this_month else datetime.combine(day, time(12), tzinfo=ctx.settings.tz)
    standing = cr.month_standings(ctx.session, moment=moment, tz=ctx.settings.tz,
                                  rules=ctx.rules, to_date=this_month).get(branch.id)
    tier = standing.tier.value if standing and standing.tier else None
    month = "本月" if this_month else f"{day.month}月"
    talk = committee.add_talk(ctx.session, branch_id=branch.id, leader_id=ctx.member.id,
                              talked_on=day, tier_then=tier, problems=problems, remedy=remedy,
                              now=ctx.now)
    ctx.audit("talk.record", target=branch.name, detail={"talk_id": talk.id, "on": day.isoformat()})
    # All of that year's talks to date, as 约谈记录 lists them (a back-dated one too).
    year_talks = len(committee.talks(ctx.session, first=date(day.year, 1, 1),
                                     last=min(today, date(day.year, 12, 31)),
                                     branch_id=branch.id))
    lines = [f"已记录约谈 #{talk.id}：{branch.name}，{day.month}月{day.day}日"
             f"（{month}{tier + '档' if tier else '暂无档次'}）。",
             f"问题：{problems}"]
    if remedy:
        lines.append(f"整改：{remedy}")
    lines.append(f"{day.year} 年约谈{branch.name} {year_talks} 次；周报将对照约谈前后的参与率和档次。")
    return Reply("\n".join(lines))


def talks_report(ctx: Ctx, args: dict[str, Any]) -> Reply:
    if (elsewhere := _leaders_chat(ctx, COMMAND_TALKS)) is not None:
        return elsewhere
    today = ctx.local_now.date()
    rows = committee.talks(ctx.session, first=date(today.year, 1, 1), last=today)
    if not rows:
        return Reply(f"{today.year} 年还没有约谈记录。记录：{COMMAND_TALK.example}")
    names = {b.id: b.name for b in org.branches(ctx.session, include_inactive=True)}
    lines = [f"{today.year} 年约谈 {len(rows)} 次："]
    for talk in rows:
        before, after = cr.talk_effect(ctx.session, branch_id=talk.branch_id, on=talk.talked_on,
                                       now=ctx.now, tz=ctx.settings.tz, rules=ctx.rules)
        lines.append(f"· #{talk.id} {talk.talked_on:%m-%d} {names.get(talk.branch_id, '?')}："
                     f"前 {cr.describe_standing(before)} → 后 {cr.describe_standing(after)}")
    return Reply("\n".join(lines))


def withdraw_talk(ctx: Ctx, args: dict[str, Any]) -> Reply:
    """A talk recorded in error (the wrong branch, a second one confirmed by a slip) is taken
    back: kept on record, counted nowhere, so the branch really owed a talk is asked about
    again. A talk of a year whose figures have gone out stays, as a 调研 of then does."""
    if (elsewhere := _leaders_chat(ctx, COMMAND_WITHDRAW_TALK)) is not None:
        return elsewhere
    talk = ctx.session.get(Talk, args["talk"])
    if talk is None or talk.withdrawn_at is not None:
        return Reply.error(usage_text(COMMAND_WITHDRAW_TALK, f"没有编号为 {args['talk']} 的约谈，"
                                      "发送「约谈记录」查看编号"))
    window = timedelta(days=ctx.rules.makeup_window_days)
    if talk.talked_on.year < ctx.local_now.year and talk.logged_at < ctx.now - window:
        return Reply.error(f"约谈 #{talk.id} 是 {talk.talked_on.year} 年的，已计入当年的约谈统计和"
                           "年度报告，不能撤销，记录保持不变。如确有错误，请联系管理员。")
    assert ctx.member is not None and ctx.member.id is not None
    reason = (args.get("reason") or "").strip() or "未说明原因"
    committee.withdraw_talk(ctx.session, talk=talk, by=ctx.member.id, reason=reason, now=ctx.now)
    branch = ctx.session.get(Branch, talk.branch_id)
    name = branch.name if branch else "支部"
    ctx.audit("talk.withdraw", target=name,
              detail={"talk_id": talk.id, "talked_on": talk.talked_on.isoformat(),
                      "leader_id": talk.leader_id, "member_id": talk.leader_id,
                      "reason": reason})
    return Reply(f"已撤销约谈 #{talk.id}：{name}，{talk.talked_on.month}月{talk.talked_on.day}日"
                 f"（原因：{reason}）。不再计入约谈记录和年度统计。")


# --- 结对帮扶 ---------------------------------------------------------------------------------


def pair(ctx: Ctx, args: dict[str, Any]) -> Reply:
    if (elsewhere := _leaders_chat(ctx, COMMAND_PAIR)) is not None:
        return elsewhere
    if args.get("strong") is None:
        return pairs_overview(ctx)
    if args.get("weak") is None:
        return Reply.error(usage_text(COMMAND_PAIR, "请写出两个支部：先强后弱"))
    strong, problem = _branch(ctx, args["strong"], COMMAND_PAIR)
    if strong is None:
        return problem  # type: ignore[return-value]
    weak, problem = _branch(ctx, args["weak"], COMMAND_PAIR)
    if weak is None:
        return problem  # type: ignore[return-value]
    assert strong.id is not None and weak.id is not None and ctx.member is not None
    if strong.id == weak.id:
        return Reply.error(usage_text(COMMAND_PAIR, "同一个支部不能和自己结对"))
    taken = committee.open_pair_of(ctx.session, branch_ids={strong.id, weak.id})
    if taken is not None:
        names = {b.id: b.name for b in org.branches(ctx.session)}
        return Reply.error(f"{names.get(taken.strong_branch_id)} 与 {names.get(taken.weak_branch_id)}"
                           f" 已在结对中（#{taken.id}）：一个支部同时只结一对。帮扶见效后先发送"
                           f"「结束结对 {taken.id} 原因」结束这一对。")
    record = committee.add_pairing(ctx.session, strong_branch_id=strong.id, weak_branch_id=weak.id,
                                   on=ctx.local_now.date(), created_by=ctx.member.id, now=ctx.now)
    ctx.audit("pair.add", target=f"{strong.name}↔{weak.name}", detail={"pairing_id": record.id})
    tiers = cr.month_standings(ctx.session, moment=ctx.now, tz=ctx.settings.tz, rules=ctx.rules)
    return Reply(f"已结对帮扶 #{record.id}：{strong.name}（{_tier(tiers.get(strong.id))}）"
                 f" 带 {weak.name}（{_tier(tiers.get(weak.id))}）。两支部联合开展的活动计入双方。")


def end_pair(ctx: Ctx, args: dict[str, Any]) -> Reply:
    """The pair is closed, not deleted: the year's 结对 count keeps a pair open at any time
    in it, and its joint activities still count for both branches."""
    if (elsewhere := _leaders_chat(ctx, COMMAND_END_PAIR)) is not None:
        return elsewhere
    record = ctx.session.get(BranchPairing, args["pair"])
    if record is None:
        return Reply.error(usage_text(COMMAND_END_PAIR, f"没有编号为 {args['pair']} 的结对，"
                                      "发送「结对」查看结对中的编号"))
    names = {b.id: b.name for b in org.branches(ctx.session, include_inactive=True)}
    strong, weak = names.get(record.strong_branch_id, "?"), names.get(record.weak_branch_id, "?")
    if record.ended_on is not None:
        return Reply(f"结对 #{record.id}（{strong} 带 {weak}）已于 "
                     f"{record.ended_on.month}月{record.ended_on.day}日结束。")
    reason = (args.get("reason") or "").strip() or None
    committee.end_pairing(ctx.session, pair=record, on=ctx.local_now.date())
    ctx.audit("pair.end", target=f"{strong}↔{weak}",
              detail={"pairing_id": record.id, "reason": reason})
    tiers = cr.month_standings(ctx.session, moment=ctx.now, tz=ctx.settings.tz, rules=ctx.rules)
    since = record.paired_on
    lines = [f"已结束结对帮扶 #{record.id}：{strong}（{_tier(tiers.get(record.strong_branch_id))}）"
             f" 带 {weak}（{_tier(tiers.get(record.weak_branch_id))}），"
             f"{since.month}月{since.day}日结对至今天。"]
    if reason:
        lines.append(f"原因：{reason}")
    lines.append("两个支部都可以再结对；这一对仍计入今年的结对帮扶。")
    return Reply("\n".join(lines))


def _tier(standing) -> str:
    return f"{standing.tier.value}档" if standing and standing.tier else "暂无档次"


def suggest_pairs(ranked: list[tuple[int, float]], taken: set[int]) -> list[tuple[int, int]]:
    """抓两头带中间: the strongest free branch with the weakest, then the next two, …"""
    free = [b for b, _ in sorted(ranked, key=lambda r: -r[1]) if b not in taken]
    pairs = []
    while len(free) >= 2:
        pairs.append((free.pop(0), free.pop()))
    return pairs


def pairs_overview(ctx: Ctx) -> Reply:
    everyone = org.branches(ctx.session, include_inactive=True)
    names = {b.id: b.name for b in everyone}
    # A branch that has ended (临时党支部) is in its month's tiers but cannot be paired.
    pairable = {b.id for b in everyone if b.active}
    current = cr.month_standings(ctx.session, moment=ctx.now, tz=ctx.settings.tz, rules=ctx.rules)
    previous = cr.month_standings(ctx.session, moment=cr.previous_month_end(ctx.now, ctx.settings.tz),
                                  tz=ctx.settings.tz, rules=ctx.rules, to_date=False)
    lines = []
    pairs = committee.active_pairings(ctx.session)
    taken: set[int] = set()
    if pairs:
        lines.append("结对中（本月档次、得分、较上月）：")
        for p in pairs:
            taken |= {p.strong_branch_id, p.weak_branch_id}
            # The number is what 结束结对 takes.
            lines.append(f"· #{p.id} " + " ↔ ".join(
                cr.trend_line(names.get(b, "?"), current.get(b), previous.get(b))
                for b in (p.strong_branch_id, p.weak_branch_id)))
    red = {b for b, s in current.items() if s.tier and s.tier.value == "红"}
    blue = {b for b, s in current.items() if s.tier and s.tier.value == "蓝"}
    ranked = [(b, s.score) for b, s in current.items()
              if s.score is not None and (b in red or b in blue) and b in pairable]
    suggested = [(a, b) for a, b in suggest_pairs(ranked, taken) if a in red and b in blue]
    if pairs:
        lines.append("帮扶见效后，发送「结束结对 编号 原因」结束一对。")
    if suggested:
        lines.append("建议结对（红档带蓝档，强弱相配）：")
        lines += [f"· 结对 {names[a]} {names[b]}" for a, b in suggested]
    elif not pairs:
        lines.append("本月没有可建议的红、蓝档支部组合。")
    return Reply("\n".join(lines))


# --- 整改 ---------------------------------------------------------------------------------

# 台账不全 12月底前, …，限12月20号之前完成: the day said last, before 前; what is left is the problem.
_BY_WHEN = re.compile(r"(?:之前|以前|前)(?:完成整改|整改完成|完成|整改到位)?[。.！!]?\s*$")
_MONTH_END = re.compile(r"^(?:(?:(?P<y>\d{4})\s*年\s*)?(?P<m>\d{1,2}|[一二三四五六七八九十]{1,3})\s*月"
                        r"|(?P<this>本|这个?)?月|(?P<next>下个?)月)底$")
_YEAR_END = re.compile(r"^(?:今|本)?年底$")
# 限期12月底, 限12月20日完成: a deadline said without 前.
_LIMIT = re.compile(r"(?:限期|限)\s*(?P<day>[^\s，,、；;]+?)(?:完成整改|整改完成|完成|整改到位)?[。.！!]?\s*$")
_LEAD_IN = re.compile(r"[\s，,、；;]*(?:限期|限|须于|需于|须在|需在|要在|务必于|于|在)?[\s，,、；;]*$")


def _month_end(year: int, month: int) -> date:
    return date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)


def _deadline_day(said: str, today: date) -> date | None:
    """One day a deadline names: 12月底, 月底, 下月底, 年底, or a day as 请假 reads it
    (12月20日, 20号, 下周五). DateError for one that does not exist."""
    if _YEAR_END.match(said):
        return date(today.year, 12, 31)
    month_end = _MONTH_END.match(said)
    if month_end is not None:
        if month_end["next"]:
            return _month_end(today.year + today.month // 12, today.month % 12 + 1)
        if month_end["m"] is None:
            return _month_end(today.year, today.month)
        month = cn_number(month_end["m"]) or 0
        if not 1 <= month <= 12:
            raise DateError(f"没有 {month_end['m']}月")
        if month_end["y"]:
            return _month_end(int(month_end["y"]), month)
        # As a month and day is read (12月5日, bot.domain.text.parse_date): this year's
        # unless that was over half a year ago, so 11月底 in December is gone by and refused
        # as 11月30日 is, not taken for next November.
        end = _month_end(today.year, month)
        return _month_end(today.year + 1, month) if end < today - HALF_YEAR else end
    found = find_leading_day(said, today)
    return found.first if found is not None and not found.rest else None


def take_deadline(text: str, today: date) -> tuple[date | None, str]:
    """'问题 … 12月底前' (or 限期12月底) → (the day, the problem without it); (None, text)
    when the text ends with no day said before 前 (前台无人值守, 12月底的会议记录缺失 are
    problems). DateError for a day said that does not exist (12月32日前); the problem
    left may be empty (only a deadline was written)."""
    tail = _BY_WHEN.search(text)
    limit = _LIMIT.search(text) if tail is None else None
    if tail is None and limit is None:
        return None, text
    head = text[:tail.start()] if tail is not None else limit["day"]  # type: ignore[index]
    before = "" if tail is not None else text[:limit.start("day")]  # type: ignore[union-attr]
    for start in range(len(head)):
        # A day starts a word or follows what is no part of one (12月32日 is not 2日).
        if start and (head[start - 1].isdigit() or head[start - 1] in "年月"):
            continue
        day = _deadline_day(head[start:].strip(), today)
        if day is not None:
            return day, _LEAD_IN.sub("", before + head[:start]).strip()
    return None, text


def record_problem(ctx: Ctx, args: dict[str, Any], *, confirmed: bool = False) -> Reply:
    """The same problem for the same branch, still open, is asked about before it is a
    second item (a message typed again is not a second problem in 整改 and the year's
    发现问题)."""
    if args.get("branch") is None:
        return open_problems(ctx)
    if args["branch"] in _DONE:  # 整改 已完成 2, 整改 完成: meant 整改完成
        return Reply.error(usage_text(COMMAND_DONE, "整改事项完成请写它的编号"))
    if ctx.role not in LEADER_ROLES:
        return Reply.error("登记整改事项仅限领导、管理员。发送「整改」查看未完成的整改事项。")
    # The item names a branch's problem and its owner: not for a branch group, as the list.
    if (elsewhere := _leaders_chat(ctx, COMMAND_PROBLEM)) is not None:
        return elsewhere
    if not args.get("owner") or not args.get("problem"):
        return Reply.error(usage_text(COMMAND_PROBLEM, "请写出责任人和问题"))
    branch, problem = _branch(ctx, args["branch"], COMMAND_PROBLEM)
    if branch is None:
        return problem  # type: ignore[return-value]
    try:
        due, text = take_deadline(args["problem"].strip(), ctx.local_now.date())
    except DateError as wrong:
        return Reply.error(usage_text(COMMAND_PROBLEM, f"整改期限：{wrong}"))
    if not text:
        return Reply.error(usage_text(COMMAND_PROBLEM, "请依次写出责任人和问题，期限写在最后（如 12月底前）"))
    if asked_in_place(text):  # 整改 二支部 赵六 要整改吗: registered, and 赵六 told privately
        return Reply.error("像是在问，这次没有记录。未完成的整改事项请发送「整改」。")
    if due is not None and due < ctx.local_now.date():
        return Reply.error(usage_text(COMMAND_PROBLEM, f"整改期限 {due.month}月{due.day}日已过，"
                                      "请写今天以后的日期，如 12月底前"))
    if len(text) > MAX_TEXT:
        return Reply.error(usage_text(COMMAND_PROBLEM, f"问题请写短一些（不超过 {MAX_TEXT} 个字）"))
    # The owner closes the item themselves (整改完成), so it must be someone on the roster:
    # a member of the branch, or a leader with no branch. A name not found was a slip that
    # left an item nobody could close as its owner.
    named = org.members_by_name_or_staff_no(ctx.session, text=args["owner"])
    owners = ([m for m in named if m.branch_id == branch.id]
              or [m for m in named if m.branch_id is None])
    if not owners:
        return Reply.error(usage_text(COMMAND_PROBLEM,
                                      f"{branch.name}名册中没有「{args['owner']}」，"
                                      "责任人请写本支部党员（或领导）的姓名或编号"))
    if len(owners) > 1:
        return Reply.error(f"{branch.name}有 {len(owners)} 位「{args['owner']}」，请用编号指明责任人。")
    owner = owners[0]
    assert ctx.member is not None and ctx.member.id is not None and branch.id is not None
    same = [i for i in committee.open_rectifications(ctx.session, branch_id=branch.id)
            if i.problem == text]
    if same and not confirmed:
        confirmations.ask(ctx.session, platform=ctx.message.platform, chat_id=ctx.message.chat_id,
                          member_id=ctx.member.id, kind=PROBLEM_AGAIN, payload=dict(args),
                          now=ctx.now)
        return Reply(f"{branch.name}已有这项未完成的整改（#{same[0].id}，责任人 "
                     f"{same[0].owner_name}）。如果这是另一项，请在 5 分钟内发送「确认」；"
                     "重复发送的不用理会。")
    today = ctx.local_now.date()
    # The item belongs to the latest visit to the branch this year, when there is one; a
    # withdrawn visit (撤销调研) was not made and finds nothing.
    made = ResearchVisit.withdrawn_at.is_(None)  # type: ignore[union-attr]
    visit_id = ctx.session.execute(
        select(ResearchVisit.id).where(ResearchVisit.branch_id == branch.id,
                                       ResearchVisit.visited_on >= date(today.year, 1, 1),
                                       ResearchVisit.visited_on <= today, made)
        .order_by(ResearchVisit.visited_on.desc(), ResearchVisit.id.desc()).limit(1)  # type: ignore[attr-defined]
    ).scalar()
    item = committee.add_rectification(ctx.session, branch_id=branch.id, problem=text, owner=owner,
                                       owner_name=owner.name,
                                       found_on=today, visit_id=visit_id,
                                       recorded_by=ctx.member.id, now=ctx.now, due_on=due)
    ctx.audit("rectification.add", target=branch.name, detail={"item": item.id})
    still_open = len(committee.open_rectifications(ctx.session, branch_id=branch.id))
    by_when = f"{deadline(due, today)}完成" if due is not None else ""
    told = ""
    if owner.id != ctx.member.id:
        # The owner closes it (整改完成 <编号>) and a member cannot list the items: without
        # this they never learnt the item was theirs, nor its number.
        reached = write_privately(
            ctx, [owner], f"【整改事项】{ctx.member.name}登记了{branch.name}的整改事项 #{item.id}，"
                          f"责任人是你。\n问题：{text}\n"
                          + (f"{by_when}。" if by_when else "")
                          + f"完成后请发送「整改完成 {item.id} 说明」。",
            kind=RECTIFICATION_OWNER, title="整改事项", key=f"rectification.owner|{item.id}",
            branch_id=branch.id)
        told = "已私聊告知责任人。" if reached else "责任人没有能收到私聊的账号，请当面告知。"
    return Reply(f"已登记整改事项 #{item.id}：{branch.name}，责任人 {item.owner_name}"
                 f"{'，' + by_when if by_when else ''}。{told}\n"
                 f"问题：{text}\n完成后发送「整改完成 {item.id}」。{branch.name}未完成整改 {still_open} 项。")


def withdraw_problem(ctx: Ctx, args: dict[str, Any]) -> Reply:
    """An item recorded in error (the wrong branch or owner) is taken back: kept on record,
    counted nowhere. Closing it was the only way out, and counted it as found and solved."""
    if (elsewhere := _leaders_chat(ctx, COMMAND_WITHDRAW_PROBLEM)) is not None:
        return elsewhere
    item = ctx.session.get(Rectification, args["item"])
    if item is None or item.withdrawn_at is not None:
        return Reply.error(usage_text(COMMAND_WITHDRAW_PROBLEM, f"没有编号为 {args['item']} 的整改事项，"
                                      "发送「整改」查看编号"))
    window = timedelta(days=ctx.rules.makeup_window_days)
    if item.found_on.year < ctx.local_now.year and item.recorded_at < ctx.now - window:
        return Reply.error(f"整改事项 #{item.id} 是 {item.found_on.year} 年登记的，已计入当年的"
                           "调研问题统计和年度报告，不能撤销，记录保持不变。如确有错误，请联系管理员。")
    assert ctx.member is not None and ctx.member.id is not None
    reason = (args.get("reason") or "").strip() or "未说明原因"
    committee.withdraw_rectification(ctx.session, item=item, by=ctx.member.id, reason=reason,
                                     now=ctx.now)
    branch = ctx.session.get(Branch, item.branch_id)
    name = branch.name if branch else "支部"
    ctx.audit("rectification.withdraw", target=name,
              detail={"item": item.id, "owner_id": item.owner_id, "member_id": item.owner_id,
                      "reason": reason})
    told = ""
    owner = ctx.session.get(Member, item.owner_id) if item.owner_id else None
    if owner is not None and owner.id != ctx.member.id and item.closed_on is None:
        # They were told the item was theirs: now that it is not.
        reached = write_privately(
            ctx, [owner], f"【整改事项撤销】{ctx.member.name}撤销了整改事项 #{item.id}（{name}：{item.problem}），"
                          f"不用再办理。原因：{reason}",
            kind=RECTIFICATION_OWNER, title="整改事项撤销", key=f"rectification.withdraw|{item.id}",
            branch_id=item.branch_id)
        told = "已私聊告知责任人。" if reached else ""
    return Reply(f"已撤销整改事项 #{item.id}：{name}，{item.problem}（原因：{reason}）。"
                 f"不再计入整改和调研发现、解决的问题。{told}")


def open_problems(ctx: Ctx) -> Reply:
    leaders_group = ctx.binding is not None and ctx.binding.is_leaders
    if not ctx.message.is_private and not leaders_group:
        # The list names each item's owner: not for a branch group.
        return Reply.error("整改事项请私聊我查看，或在领导群查看。")
    if ctx.role in LEADER_ROLES and ctx.bureau_wide:
        branch_id = None
    elif ctx.branch is not None:
        branch_id = ctx.branch.id
    else:
        return Reply.error("请在支部群或私聊中查看本支部的整改事项。")
    items = committee.open_rectifications(ctx.session, branch_id=branch_id)
    if not items:
        return Reply("没有未完成的整改事项。")
    names = {b.id: b.name for b in org.branches(ctx.session, include_inactive=True)}
    today = ctx.local_now.date()
    lines = [f"未完成的整改事项 {len(items)} 项（按登记先后）："]
    lines += [f"· #{i.id} {names.get(i.branch_id, '?')}：{i.problem}（责任人 {i.owner_name}，"
              f"已 {(today - i.found_on).days} 天{_due(i, today)}）" for i in items]
    return Reply("\n".join(lines))


def _due(item: Rectification, today: date) -> str:
    return f"，{deadline(item.due_on, today)}" if item.due_on is not None else ""


def close_problem(ctx: Ctx, args: dict[str, Any]) -> Reply:
    item = ctx.session.get(Rectification, args["item"])
    if item is None or item.withdrawn_at is not None:  # 撤销整改: as if never recorded
        return Reply.error(usage_text(COMMAND_DONE, f"没有编号为 {args['item']} 的整改事项"))
    assert ctx.member is not None
    entitled = (ctx.role in LEADER_ROLES or item.owner_id == ctx.member.id
                or (ctx.role in MANAGER_ROLES and ctx.member.branch_id == item.branch_id))
    if not entitled:
        return Reply.error("整改完成只能由领导、责任人或本支部书记、委员登记。")
    if not ctx.bureau_wide and ctx.branch is not None and ctx.branch.id != item.branch_id:
        # The reply names the problem: not for another branch's group.
        return Reply.error(f"整改事项 #{item.id} 不是本支部的，请在领导群或私聊我发送「整改完成 {item.id}」。")
    if item.closed_on is not None:
        return Reply(f"整改事项 #{item.id} 已于 {item.closed_on:%m月%d日} 登记完成。")
    today = ctx.local_now.date()
    committee.close_rectification(ctx.session, item=item, on=today, by=ctx.member.id,
                                  note=(args.get("note") or None))
    ctx.audit("rectification.close", target=str(item.id))
    days = (today - item.found_on).days
    return Reply(f"整改事项 #{item.id} 已完成（用时 {days} 天）：{item.problem}")


COMMAND_TALK = Command(
    name="约谈",
    summary="领导记录对支部的约谈：日期、指出的问题、整改要求",
    handler=record_talk,
    args=(branch("branch", "支部"),
          rest("details", "问题和整改要求", hint="日期可省，写在最前，如 昨天、上周四、3月5日")),
    roles=LEADERS,
    example="约谈 刑侦 3月5日 问题 夜学到课率低 整改 下月起按时开展并报送记录",
    capability="committee",
)

COMMAND_TALKS = Command(
    name="约谈记录",
    summary="今年的约谈，及各支部约谈前后的参与率和档次",
    handler=talks_report,
    roles=LEADERS,
    example="约谈记录",
    capability="committee",
)

COMMAND_WITHDRAW_TALK = Command(
    name="撤销约谈",
    summary="撤销一条记错的约谈（编号见「约谈记录」），记录保留、不再计数",
    handler=withdraw_talk,
    args=(integer("talk", "编号", min=1), rest("reason", "原因", optional=True)),
    roles=LEADERS,
    example="撤销约谈 1 支部记错",
    capability="committee",
    acts=True,
)

COMMAND_PAIR = Command(
    name="结对",
    summary="结对帮扶：红档支部带蓝档支部；不带参数查看结对情况和建议",
    handler=pair,
    args=(branch("strong", "强支部", optional=True), branch("weak", "弱支部", optional=True)),
    aliases=("结对帮扶",),  # the measure's name (抓两头带中间, 结对帮扶), as leaders say it
    roles=LEADERS,
    example="结对 城关 刑侦",
    capability="committee",
)

COMMAND_END_PAIR = Command(
    name="结束结对",
    summary="结束一对结对帮扶（编号见「结对」），两个支部可再结对",
    handler=end_pair,
    args=(integer("pair", "编号", min=1), rest("reason", "原因", optional=True)),
    aliases=("结对结束", "解除结对"),
    roles=LEADERS,
    example="结束结对 1 刑侦已连续两月黄档",
    capability="committee",
    acts=True,
)

_DONE = frozenset({"完成", "已完成", "完毕"})

COMMAND_PROBLEM = Command(
    name="整改",
    summary="登记调研发现的问题（每项一个责任人）；不带参数查看未完成的整改",
    handler=record_problem,
    # 完成 names no branch: 整改 完成 1 is 整改完成 1 (CommandRegistry.meant).
    args=(word("branch", "支部", optional=True, known=lambda said: said not in _DONE),
          word("owner", "责任人", optional=True),
          rest("problem", "问题", optional=True, hint="期限可写在最后，如 12月底前")),
    roles=frozenset({*LEADER_ROLES, *MANAGER_ROLES}),
    example="整改 刑侦 郑国庆 学习室资料陈旧需更新",
    capability="committee",
)

COMMAND_DONE = Command(
    name="整改完成",
    summary="整改事项完成：领导、责任人或本支部书记、委员登记",
    handler=close_problem,
    args=(integer("item", "编号", min=1), rest("note", "说明", optional=True)),
    example="整改完成 1 已更新学习资料",
    capability="committee",
)


COMMAND_WITHDRAW_PROBLEM = Command(
    name="撤销整改",
    summary="撤销一项记错的整改事项（编号见「整改」），记录保留、不再计数",
    handler=withdraw_problem,
    args=(integer("item", "编号", min=1), rest("reason", "原因", optional=True)),
    roles=LEADERS,
    example="撤销整改 1 支部记错",
    capability="committee",
    acts=True,
)


def register(registry: CommandRegistry) -> None:
    for command in (COMMAND_TALK, COMMAND_TALKS, COMMAND_WITHDRAW_TALK, COMMAND_PAIR,
                    COMMAND_END_PAIR, COMMAND_PROBLEM, COMMAND_DONE, COMMAND_WITHDRAW_PROBLEM):
        registry.add(command)
