"""积分, 排行榜, 红黄蓝榜, 积分明细 and leaving/rejoining the public leaderboard.

The leaderboard recognises effort and never shames: the top 10 and the asker's own
line, never a bottom list; a member may leave it and still sees their own points.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select

from bot.context import Ctx
from bot.core import Reply
from bot.domain.points import (
    Period,
    Tier,
    describe_rules,
    fold_ledger,
    half_up,
    named_period,
    percent,
    points_reference,
    previous_period,
    tie_line,
)
from bot.domain.rules import TIER_MODE_LABELS, RulesError, parse_rules
from bot.registry import (
    LEADERS,
    Command,
    CommandRegistry,
    branch,
    choice,
    month_named,
    rest,
    word,
)
from handlers.attendance import tell_privately
from storage import org as org_store
from storage import outbox
from storage.committee import month_end
from storage.models import RuleSet
from storage.org import branch_by_name
from storage.reports import (
    BranchStanding,
    board_lines,
    branch_figures,
    bureau_top,
    entry_moments,
    first_record,
    leaderboard,
    ledger_view,
    member_standing,
    own_reference,
    reference_note,
    public_board,
    standings,
    unconfirmed_note,
)


def my_points(ctx: Ctx, args: dict[str, Any]) -> Reply:
    member = ctx.member
    assert member is not None and member.id is not None
    if args.get("period") in _JUST_ENDED:
        return _just_ended_points(ctx, args["period"])
    tz, now = ctx.settings.tz, ctx.now
    periods = {name: named_period(name, now, tz) for name in ("本周", "本月", "本年")}
    standing = member_standing(
        ctx.session, member_id=member.id, branch_id=member.branch_id,
        periods={name: (p.start, p.end) for name, p in periods.items()}, rank_in="本月")
    lines = [f"{member.name} 的积分"]
    lines += [f"{name}：{total} 分" for name, total in standing.points.items()]
    if member.leaderboard_opt_out:
        lines.append("你已选择不参与排行，积分照常累计（发送「参与排行」可恢复）。")
    elif _nobody_scored(ctx, standing, periods["本月"]):
        # Nobody in the branch above zero (the 1st of the month, a month of absences): 第 1
        # 名 among zeros, 第 3 名 among minuses, ranked nothing (排行榜 says the same).
        lines.append("本月支部排名：本月支部还没有人获得积分，暂不排名。")
    elif standing.rank is not None:
        lines.append(f"本月支部排名：第 {standing.rank} 名（共 {standing.of} 人）"
                     + _ranked_on(standing, "本月"))
    lines.append("发送「积分明细」查看每一笔积分的来源。")
    return _own_points(ctx, "\n".join(lines))


def _own_points(ctx: Ctx, text: str) -> Reply:
    """积分 asked in a group: a member's points and rank are theirs (a last place or an
    absence's minus read out to the branch would shame them), so they go privately."""
    assert ctx.member is not None
    return Reply(tell_privately(ctx, text, kind=outbox.POINTS_LEDGER, title="积分",
                                key="points.mine", told=f"{ctx.member.name}，你的积分已私聊发给你。",
                                unreached="积分涉及个人排名，请私聊我发送「积分」查看。"))


def _just_ended_points(ctx: Ctx, name: str) -> Reply:
    """上月积分, 上周积分: the whole period just ended and the rank in it (上月 is what the
    先锋党员 of a month are nominated on, in the next month's first days)."""
    member = ctx.member
    assert member is not None and member.id is not None
    period = _named_or_just_ended(name, ctx)
    first, last = period.start.astimezone(ctx.settings.tz), period.end.astimezone(ctx.settings.tz)
    last = (last - timedelta(days=1)).date()
    span = (f"{first.month}月" if name == "上月"
            else f"{first.month}月{first.day}日—{last.month}月{last.day}日")
    standing = member_standing(
        ctx.session, member_id=member.id, branch_id=member.branch_id,
        periods={name: (period.start, period.end)}, rank_in=name)
    lines = [f"{member.name} {name}（{span}）的积分：{standing.points[name]} 分"]
    if member.leaderboard_opt_out:
        lines.append("你已选择不参与排行，积分照常累计（发送「参与排行」可恢复）。")
    elif _nobody_scored(ctx, standing, period):
        lines.append(f"{name}支部排名：{name}支部没有人获得积分，不排名。")
    elif standing.rank is not None:
        lines.append(f"{name}支部排名：第 {standing.rank} 名（共 {standing.of} 人）"
                     + _ranked_on(standing, name))
    lines.append("发送「积分明细」查看每一笔积分的来源。")
    return _own_points(ctx, "\n".join(lines))


def _nobody_scored(ctx: Ctx, standing, period: Period) -> bool:
    """Whether nobody in the member's branch is above zero in the period: their rank then
    counts minuses (第 3 名 among -1, -2, -3), where 排行榜 ranks nobody. Asked only of one
    not above zero themselves, so 积分 pays for it only then."""
    if standing.rank is None or standing.ranked_points > 0:
        return False
    member = ctx.member
    assert member is not None
    return not leaderboard(ctx.session, branch_id=member.branch_id, start=period.start,
                           end=period.end, limit=1)


def _ranked_on(standing, period: str) -> str:
    """For a member who came from another branch in the period: the points the branch's
    rank counts are those earned here, said so that the figures still add up."""
    if standing.ranked_points == standing.points[period]:
        return ""
    return f"，按在本支部所得 {standing.ranked_points} 分排名"


# A leader's private bureau-wide list: names the top members of the whole bureau only.
BOARD_LIMIT = 10

# 上月, 上周: the whole period just ended, and the period of which it is the one before.
_JUST_ENDED = {"上月": "本月", "上周": "本周"}


def board(ctx: Ctx, args: dict[str, Any]) -> Reply:
    name = args.get("period") or "本月"
    # Privately or in the leaders' group a leader reads the bureau's board, as 周报 and
    # 红黄蓝榜 are the bureau's there: a leader on a branch's roster (局机关) got that
    # branch's, and had no way to the bureau's.
    branch = None if ctx.bureau_wide else ctx.branch
    if args.get("branch"):
        branch = branch_by_name(ctx.session, name=args["branch"])
        own = ctx.member is not None and branch is not None and ctx.member.branch_id == branch.id
        if branch is None:
            return Reply.error(f"没有找到支部「{args['branch']}」。")
        if not own and ctx.role not in LEADERS:
            return Reply.error(f"你只能查看本支部的排行榜，「{branch.name}」不是你的支部。")
    period = _named_or_just_ended(name, ctx)
    if branch is None or branch.id is None:
        if not ctx.bureau_wide:
            return Reply.error("排行榜按支部显示，请在支部群里发送「排行榜」。")
        # A leader: the bureau's top members, and how to see one branch.
        rows, tie = bureau_top(ctx.session, start=period.start, end=period.end,
                               limit=BOARD_LIMIT)
        lines = [f"全局 {name}积分排行（前 {BOARD_LIMIT} 名）"]
        lines += [f"{r.rank}. {r.name}（{r.branch or '局机关'}）{r.points} 分" for r in rows]
        if tie is not None:  # the cut never splits a tie, as in the weekly report
            lines.append(tie_line(tie, after_names=bool(rows)))
        elif not rows:
            lines.append(f"{name}还没有人获得积分。")
        lines.append("看某个支部：发送「排行榜 支部名称」，例如：排行榜 城关")
        return Reply("\n".join(lines))
    shown = public_board(ctx.session, branch_id=branch.id, start=period.start, end=period.end)
    rows, scored = shown.rows, shown.scored
    lines = [f"{branch.name} {name}积分排行（前 {len(rows)} 名）" if rows
             else f"{branch.name} {name}积分排行"]
    if not shown.empty:
        lines += board_lines(shown)
    elif scored:
        lines.append(f"{name}获得积分的人还不多，暂不公布名单。签到和学习都能得分。")
    else:
        lines.append(f"{name}还没有人获得积分，签到和学习都能得分。")
    member = ctx.member
    if member is not None and member.id is not None and member.branch_id == branch.id:
        standing = member_standing(ctx.session, member_id=member.id, branch_id=branch.id,
                                   periods={name: (period.start, period.end)}, rank_in=name)
        mine = standing.points[name]
        named = any(r.member_id == member.id for r in rows)
        told = "你的名次已私聊发给你。"
        if standing.rank is None:
            own = private = f"你未参与排行，{name} {mine} 分。"
            told = "你的积分已私聊发给你。"
        elif standing.ranked_points == 0 and not scored:
            # Nobody has points yet, the asker neither: 第 1 名 among zeros ranks nothing.
            own = private = (f"你{name}也还没有积分。" if mine == 0 else
                             f"你{name} {mine} 分，都是在原支部所得，不计入本支部排行。")
            named = True  # says nothing of anyone's place: fit for the group
        elif not scored and mine <= 0:
            # Nobody above zero (a week of absences): the board says nobody has points, so
            # 第 3 名，-3 分 contradicted it; the member's own figure, privately, is all.
            own = private = f"你{name} {mine} 分；支部{name}还没有人获得积分，暂不排名。"
        else:
            own = f"你：第 {standing.rank} 名，{mine} 分{_ranked_on(standing, name)}。"
            private = f"你第 {standing.rank} 名，{mine} 分{_ranked_on(standing, name)}。"
        if ctx.message.is_private or named:
            lines.append(own)
        else:
            # The board never names the bottom; the asker's own line, read out in the group,
            # would (你：第 30 名，-1 分): it goes to them alone.
            lines.append(tell_privately(
                ctx, f"{branch.name} {name}积分排行：{private}", kind=outbox.POINTS_LEDGER,
                title="排行榜",
                key="points.rank", told=told,
                unreached="你的名次请私聊我发送「排行榜」查看。"))
    return Reply("\n".join(lines))


def _named_or_just_ended(name: str, ctx: Ctx):
    """本周, 本月, 本年; or 上周, 上月: the whole week or month just ended (the Monday
    board's 上周积分榜 asked for again, last month's record in the days 先锋党员 are nominated)."""
    if name in _JUST_ENDED:
        return previous_period(named_period(_JUST_ENDED[name], ctx.now, ctx.settings.tz))
    return named_period(name, ctx.now, ctx.settings.tz)


def leave_board(ctx: Ctx, args: dict[str, Any]) -> Reply:
    return _set_opt_out(ctx, True)


def join_board(ctx: Ctx, args: dict[str, Any]) -> Reply:
    return _set_opt_out(ctx, False)


def _set_opt_out(ctx: Ctx, opt_out: bool) -> Reply:
    member = ctx.member
    assert member is not None
    if member.leaderboard_opt_out == opt_out:
        return Reply("你已经不在公开排行中。" if opt_out else "你已经在公开排行中。")
    member.leaderboard_opt_out = opt_out
    member.updated_at = ctx.now
    ctx.session.add(member)
    ctx.audit("leaderboard.opt_out" if opt_out else "leaderboard.opt_in", target=member.name)
    if opt_out:
        return Reply("已退出公开排行。你的积分照常累计，发送「积分」随时查看；发送「参与排行」可恢复。")
    return Reply("已恢复参与公开排行。")


TIER_HEADINGS = {Tier.RED: "🔴 红榜", Tier.YELLOW: "🟡 黄榜", Tier.BLUE: "🔵 蓝榜"}


def tiers(ctx: Ctx, args: dict[str, Any]) -> Reply:
    default = "本周" if ctx.rules.tiers.period == "week" else "本月"
    name = args.get("period") or default
    if (month := _MONTH_ARG.fullmatch(name)) is not None:
        # 红黄蓝榜 9月: the whole month, recounted from the ledger and the spells of that
        # month (who was in which branch then), as 上月 is.
        whole = _whole_month(ctx, date(int(month[1]), int(month[2]), 1))
        if isinstance(whole, Reply):
            return whole
        period = whole
    elif name in _JUST_ENDED:  # 上月, 上周: the whole period, as it was when it ended
        whole = previous_period(named_period(_JUST_ENDED[name], ctx.now, ctx.settings.tz))
        period = whole
        if (unrecorded := _unrecorded(ctx, period, f"{name}（{_span_said(ctx, period)}）")):
            return unrecorded
    else:
        # Month (or week) to date: activities not yet held must not count against anyone.
        whole = named_period(name, ctx.now, ctx.settings.tz)
        period = whole.until(ctx.now)
    figures = branch_figures(ctx.session, start=period.start, end=period.end, now=ctx.now)
    table = standings(figures, ctx.rules, period)
    note = None
    if not args.get("period") and all(s.figures.activities == 0 for s in table):
        # On the 1st nothing has been held yet: the month just ended, rather than nothing.
        before = previous_period(whole)
        earlier = standings(branch_figures(ctx.session, start=before.start, end=before.end,
                                           now=ctx.now), ctx.rules, before)
        if any(s.score is not None for s in earlier):
            period, table = before, earlier
            name = "上月" if name == "本月" else "上周"
            note = f"本期还没有开展活动，先看{name}的。"
    mode = TIER_MODE_LABELS[ctx.rules.tiers.mode]
    # A 临时党支部 that has ended keeps its tier for the days it held, but no talk can be
    # held with it any more (约谈 finds only standing branches), so none is asked for.
    standing = {b.id for b in org_store.branches(ctx.session)}
    lines = [f"红黄蓝榜（{name}，{mode}分档）"]
    if note:
        lines.append(note)
    for tier in Tier:
        members = [s for s in table if s.tier is tier]
        if ctx.bureau_wide:
            lines.append(f"{TIER_HEADINGS[tier]}（{len(members)} 个）")
            lines += [_leader_line(s, standing=s.figures.branch_id in standing,
                                   own=_own_reference(s, period, ctx.rules.tiers))
                      for s in members]
        else:
            names = "、".join(s.figures.name for s in members) or "暂无"
            lines.append(f"{TIER_HEADINGS[tier]}：{names}")
    # A correction after the span (取消活动 of its only activity) is said here too: the
    # branch was on the board when the span ended, as 周报's 期后更正 says.
    idle = [s.figures.name + _later(s.figures) for s in table if s.figures.activities == 0]
    if idle:
        lines.append(f"本期未开展活动：{'、'.join(idle)}")
    # Held something, but nobody is in the rate's base yet: everyone missing awaits the
    # confirmation of absences, or all who were due had leave. Not 未开展活动: they did.
    unscored = [f"{s.figures.name}（{_why_unscored(s.figures)}）{_later(s.figures)}"
                for s in table if s.score is None and s.figures.activities]
    if unscored:
        lines.append(f"已开展活动、暂无参与率：{'、'.join(unscored)}")
    if not ctx.bureau_wide and ctx.branch is not None:
        own = next((s for s in table if s.figures.branch_id == ctx.branch.id), None)
        if own is not None and own.score is not None:
            # Set up in the span: measured on its days, which the line below does not give.
            days = _own_reference(own, period, ctx.rules.tiers).strip("（）")
            lines.append(
                f"本支部得分 {own.score:g}（参与率 {_percent(own.figures.participation)}，"
                f"人均 {_number(own.figures.average_points)} 分{'；' + days if days else ''}）。"
                "多参加活动、多学习都能提高得分。"
            )
    t = ctx.rules.tiers
    reference = points_reference(t, period.days)
    # The reference to two decimals, as docs/points.md gives it (2.33 a week): to one, a
    # leader redoing a score from this line was a few tenths off.
    lines.append(f"得分 = 100×({t.participation_weight:g}×参与率 + {t.points_weight:g}×"
                 f"min(1, 人均积分÷{half_up(reference, 2):g}))")
    return Reply("\n".join(lines))


# A month the registry reads from 9月 or 2026年9月 (bot.registry's months choice).
_MONTH_ARG = re.compile(r"(\d{4})年(\d{1,2})月")


def _whole_month(ctx: Ctx, first: date) -> Period | Reply:
    """The month's Period, or the reply to one that is still to come or that djbot holds
    no record of."""
    tz = ctx.settings.tz
    said = f"{first.year}年{first.month}月"
    start = datetime.combine(first, time(0), tzinfo=tz)
    if start > ctx.now:
        return Reply.error(f"{said}还没到，没有红黄蓝榜。可以看本月（到今天为止）或已经过去的月份，"
                           "如「红黄蓝榜 上月」「红黄蓝榜 9月」。")
    period = Period(start, month_end(first, tz), said)
    return _unrecorded(ctx, period, said) or period


def _unrecorded(ctx: Ctx, period: Period, said: str) -> Reply | None:
    """The reply to a span that ended before djbot's first record: its board would be three
    empty tiers, with nothing to say there was nothing to count."""
    began = first_record(ctx.session)
    if began is not None and began < period.end:
        return None
    local = began.astimezone(ctx.settings.tz) if began is not None else None
    since = f"最早的记录在 {local.year}年{local.month}月，" if local is not None else ""
    return Reply.error(f"{said}党建助手还没有启用，没有这段时间的记录，{since}无法排红黄蓝榜。")


def _span_said(ctx: Ctx, period: Period) -> str:
    """2026年11月, or 11月23日—11月29日 for a week."""
    first = period.start.astimezone(ctx.settings.tz)
    if period.days >= 28:
        return f"{first.year}年{first.month}月"
    last = (period.end.astimezone(ctx.settings.tz) - timedelta(days=1)).date()
    return f"{first.month}月{first.day}日—{last.month}月{last.day}日"


def _why_unscored(f) -> str:
    """Why a branch that held activities has no rate yet."""
    why = f"{f.unconfirmed} 人缺席待确认" if f.unconfirmed else "应到的同志都已请假"
    return f"活动 {f.activities} 次，{why}"


def _own_reference(s: BranchStanding, period, tiers) -> str:
    """A branch set up or ended inside the span is measured against its own days (as the
    visits owed are): said, so its score can be redone from the line below."""
    own = own_reference(s.figures, period, tiers) if s.score is not None else None
    return reference_note(*own) if own else ""


def _leader_line(s: BranchStanding, *, standing: bool, own: str = "") -> str:
    f = s.figures
    talk = ("（约谈）" if standing else "（已撤销）") if s.tier is Tier.BLUE else ""
    # The rate's own base: absences not confirmed yet are out of it, and said.
    return (f"· {f.name} {s.score:g} 分{talk}：活动 {f.activities} 次，参与率 "
            f"{_percent(f.participation)}（{f.attended}/{f.counted}"
            f"{unconfirmed_note(f.unconfirmed)}），"
            f"人均 {_number(f.average_points)} 分{own}{_later(f)}")


def _later(f) -> str:
    """Corrections made after the span ended are in these figures: said, as 周报 says them."""
    return f"（期后冲销 {f.corrected_after} 笔）" if f.corrected_after else ""


def _percent(rate: float | None) -> str:
    return percent(rate)


def _number(value: float | None) -> str:
    return "—" if value is None else f"{half_up(value, 1):g}"


# 积分明细 shows this many lines; it reads up to LEDGER_READ entries to fill them, since an
# entry and its reversal are one line, and a cancelled activity's entries one between them.
LEDGER_LINES = 10
LEDGER_READ = 200
# An entry posted this long after its date (a 更正, a 补签 of an old activity) is pointed to
# from the latest lines for this many days: the total changed, and the lines that say why
# are dated where the activity was.
POSTED_LATE = timedelta(days=1)
LATE_POINTED_TO = timedelta(days=30)
_ALL = ("全部", "所有", "全部明细", "各月")
_MONTH_ISO = re.compile(r"(\d{4})-(\d{1,2})")
_MONTH_WORDS = {"本月": 0, "这个月": 0, "这月": 0, "上月": 1, "上个月": 1}
LEDGER_USAGE = "月份请写「积分明细 11月」「积分明细 上月」，各月合计写「积分明细 全部」。"


def ledger(ctx: Ctx, args: dict[str, Any]) -> Reply:
    member = ctx.member
    assert member is not None and member.id is not None
    said = (args.get("month") or "").strip()
    if said in _ALL:
        return _own_ledger(ctx, _month_totals(ctx))
    if said:
        month = _month_said(said, ctx.local_now.date())
        if month is None:
            return Reply.error(f"「{said}」不是月份。{LEDGER_USAGE}")
        return _own_ledger(ctx, _month_ledger(ctx, month))
    view = ledger_view(ctx.session, member_id=member.id, limit=LEDGER_READ)
    if not view.entries:
        return Reply("你还没有积分记录。签到、学习都会记入积分。")
    every = fold_ledger([view.item(e, ctx.rules.digest) for e in view.entries])
    lines = every[:LEDGER_LINES]
    folded = sum(line.entries for line in lines) > len(lines)
    text = [f"{member.name} 最近 {len(lines)} {'项' if folded else '笔'}积分：",
            *_ledger_lines(ctx, lines)]
    if folded:
        # Each line's figure is the sum of the entries it stands for: the totals still add up.
        entries = sum(line.entries for line in lines)
        text.append(f"以上 {entries} 笔记录合计 {sum(line.points for line in lines):+d} 分；"
                    "原记录与抵消它的冲销合为一行。")
    if len(every) > LEDGER_LINES or len(view.entries) == LEDGER_READ:
        # A correction is dated like the entry it corrects: one made today on an activity
        # of weeks ago changed the total, and its line is not among the latest.
        shown_from = lines[-1].when
        tz = ctx.settings.tz
        late = sorted({(at.astimezone(tz).year, at.astimezone(tz).month)
                       for at, _, made in entry_moments(ctx.session, member_id=member.id)
                       if at < shown_from and made - at > POSTED_LATE
                       and made >= ctx.now - LATE_POINTED_TO}, reverse=True)
        if late:
            months = "、".join(f"{m}月" for _, m in late)
            text.append(f"{months}的记录近期有更正或补签：发送「积分明细 {late[0][1]}月」查看。")
        text.append("更早的记录按月查看，如「积分明细 "
                    f"{shown_from.astimezone(tz).month}月」；各月合计：「积分明细 全部」。")
    return _own_ledger(ctx, "\n".join(text + _versions_named(lines)))


def _versions_named(lines) -> list[str]:
    """How to read the earlier rules version a line names (按规则版本 …)."""
    versions = [line.text.rsplit("按规则版本 ", 1)[1][:8] for line in lines
                if "按规则版本 " in line.text]
    return [f"旧版本的规则：发送「积分规则 {versions[0]}」查看。"] if versions else []


def _ledger_lines(ctx: Ctx, lines) -> list[str]:
    out = []
    for line in lines:
        local = line.when.astimezone(ctx.settings.tz)
        points = "±0" if line.points == 0 and line.entries > 1 else f"{line.points:+d}"
        out.append(f"{local.month}月{local.day}日 {local:%H:%M} {points} {line.text}")
    return out


def _month_said(said: str, today: date) -> date | None:
    """The first day of the month 11月, 2026年11月, 2026-11, 上月 or 本月 names: a month
    later in the year than this one is last year's (积分明细 12月 asked in January)."""
    said = said.removesuffix("的")
    if said in _MONTH_WORDS:
        first = today.replace(day=1)
        return (first - timedelta(days=1)).replace(day=1) if _MONTH_WORDS[said] else first
    first = month_named(said, today)  # 11月, 十一月, 2026年11月, as 红黄蓝榜 reads them
    if first is None and (iso := _MONTH_ISO.fullmatch(said)) is not None \
            and 1 <= int(iso[2]) <= 12:
        first = date(int(iso[1]), int(iso[2]), 1)
    return first if first is not None and first <= today else None


def _month_ledger(ctx: Ctx, month: date) -> str:
    """Every line of one month: an entry and its reversal are dated alike, so a correction
    is always in the month of what it corrects, and the month's total is 积分's."""
    member = ctx.member
    assert member is not None and member.id is not None
    tz = ctx.settings.tz
    start = datetime.combine(month, time(0), tzinfo=tz)
    end = month_end(month, tz)
    view = ledger_view(ctx.session, member_id=member.id, limit=None, start=start, end=end)
    name = f"{month.year}年{month.month}月"
    if not view.entries:
        return f"你{name}还没有积分记录。"
    lines = fold_ledger([view.item(e, ctx.rules.digest) for e in view.entries])
    entries = sum(line.entries for line in lines)
    folded = entries > len(lines)
    total = sum(line.points for line in lines)
    return "\n".join([f"{member.name} {name}的积分明细（{len(lines)} {'项' if folded else '笔'}）：",
                      *_ledger_lines(ctx, lines),
                      f"{month.month}月合计 {total:+d} 分（{entries} 笔记录"
                      + ("；原记录与抵消它的冲销合为一行）" if folded else "）"),
                      *_versions_named(lines)])


def _month_totals(ctx: Ctx) -> str:
    """Each month's total, newest first: they add up to the member's whole ledger, and each
    month is opened with 积分明细 N月."""
    member = ctx.member
    assert member is not None and member.id is not None
    tz = ctx.settings.tz
    totals: dict[tuple[int, int], list[int]] = {}
    for at, points, _ in entry_moments(ctx.session, member_id=member.id):
        local = at.astimezone(tz)
        totals.setdefault((local.year, local.month), []).append(points)
    if not totals:
        return "你还没有积分记录。签到、学习都会记入积分。"
    lines = [f"{member.name} 各月积分合计："]
    lines += [f"{y}年{m}月 {sum(p):+d} 分（{len(p)} 笔）"
              for (y, m), p in sorted(totals.items(), reverse=True)]
    lines.append("某月的每一笔：发送「积分明细 11月」。")
    return "\n".join(lines)


def _own_ledger(ctx: Ctx, text: str) -> Reply:
    """积分明细 asked in a group: the entries would list the member's absences and a
    secretary's reasons (更正为缺席：他人代签) to everyone, so they go privately."""
    assert ctx.member is not None
    return Reply(tell_privately(ctx, text, kind=outbox.POINTS_LEDGER, title="积分明细",
                                key="points.ledger",
                                told=f"{ctx.member.name}，积分明细涉及个人出勤，已私聊发给你。",
                                unreached="积分明细涉及个人出勤，请私聊我发送「积分明细」查看。"))


def rules(ctx: Ctx, args: dict[str, Any]) -> Reply:
    """The rules loaded now, so that every entry of 积分明细 can be checked against them;
    the version is the one each ledger entry names. With a version (积分明细 names it
    beside a line counted by earlier rules): that version, as it was kept."""
    said = (args.get("version") or "").strip().lower()
    if said and not ctx.rules.digest.startswith(said):
        return _rules_version(ctx, said)
    lines = [f"积分规则（版本 {ctx.rules.digest[:8]}）：", *describe_rules(ctx.rules),
             "每一笔积分的来历：发送「积分明细」。"]
    return Reply("\n".join(lines))


_VERSION = re.compile(r"[0-9a-fA-F]{4,16}")


def _rules_version(ctx: Ctx, said: str) -> Reply:
    kept = ctx.session.execute(select(RuleSet).where(RuleSet.digest.startswith(said))  # type: ignore[attr-defined]
                               .order_by(RuleSet.loaded_at)).scalars().all()
    if len(said) < 4 or len(kept) != 1:
        return Reply.error(f"没有版本「{said}」的积分规则。版本号见「积分明细」每行后的"
                           f"（按规则版本 …），现行版本 {ctx.rules.digest[:8]}。")
    version = kept[0]
    try:
        described = describe_rules(parse_rules(version.content))
    except RulesError:  # kept as loaded then; a later djbot reads it no more: as written
        described = version.content.strip().splitlines()
    since = version.loaded_at.astimezone(ctx.settings.tz)
    return Reply("\n".join([f"积分规则（版本 {version.digest[:8]}，{since.month}月{since.day}日启用；"
                            f"现行版本 {ctx.rules.digest[:8]}）：", *described]))


# Why one's own points were taken (积分怎么扣了, 为什么扣我分, 我被扣了一分): the entries
# answer, each with what it was for. 积分怎么扣 and 怎么扣分, with nothing of one's own or
# of its having happened, ask how points are taken: 积分规则.
_AMOUNT = r"[\d一二三四五六七八九十两]+分"
_DEDUCTED_ASKED = re.compile(
    rf"(?:(?:我的?)?积分(?:怎么|为什么|为啥|咋)(?:又|会)?(?:被扣了?|扣了|少了|减了|变少了)(?:{_AMOUNT})?"
    r"|(?=.*(?:为什么|为啥|凭什么|被|了|我|又))我?(?:怎么|为什么|为啥|咋|凭什么)?又?我?又?被?扣了?"
    rf"(?:我的?)?(?:积分|分|{_AMOUNT})了?)(?:吗|呢|啊|呀)?")
# 我们支部排第几, 城关支部是红榜还是蓝榜: the branch's place, which the tiers show (积分
# answered with the member's own place in the branch).
_BRANCH_PLACE_ASKED = re.compile(
    r"(?:我们|咱们?|本|我的)?[\u4e00-\u9fff]{0,8}?支部(?:现在|这个月|本月)?"
    r"(?:排第几|排名第几|排几|排多少|第几名|排名多少|是红榜还是蓝榜|是什么榜|在哪个榜|是哪个榜|"
    r"哪一档|第几档|是红榜吗|是蓝榜吗|是黄榜吗|上红榜了吗|是什么档)(?:啊|呀|呢)?")


def register(registry: CommandRegistry) -> None:
    registry.add(Command(
        name="积分", summary="查看我本周、本月、本年的积分和本月排名（上月、上周可另查；在群里发送则私聊回复）",
        handler=my_points,
        # 上月积分: the month just ended, asked in the days 先锋党员 are nominated.
        args=(choice("period", "时间", ("本周", "本月", "本年", "上周", "上月"), optional=True),),
        # 我几分了: asked 你是想发送「我来了」吗 before, a check-in offered for a question.
        aliases=("我的积分", "多少分", "几分", "排第几", "第几名", "我的名次", "排第几名"),
        example="积分",
        capability="points",
    ))
    registry.add(Command(
        name="积分明细",
        summary="查看我最近 10 笔积分及其来源；写月份看那个月的每一笔，写「全部」看各月合计"
                "（在群里发送则私聊回复）",
        handler=ledger,
        # rest, so that 上月积分明细 keeps its 上月 (a period said first reaches a rest).
        args=(rest("month", "月份", optional=True, hint="如 11月、上月、全部", max_chars=20,
                   months=True),),
        # A member asking why points were taken, or for their own record, gets the entries.
        aliases=("我的积分明细", "积分记录", "扣分原因", "为什么扣分", "扣分明细", "加分明细",
                 "我的考勤", "我的出勤"),
        example="积分明细", capability="points",
        reworded=((_DEDUCTED_ASKED, ""),),
    ))
    registry.add(Command(
        name="积分规则", summary="查看积分怎么算：每种签到、学习记几分，支部怎么分档"
                                  "（写版本号看积分明细里标注的旧版本）",
        handler=rules, example="积分规则", capability="points",
        # strict: only a version (hex) is read; anything else is refused as extra words,
        # as before (怎么才能加分 is no version 才能).
        args=(word("version", "版本号", optional=True,
                   hint="要看旧版本的规则才写版本号，如 积分规则 1106f742",
                   known=_VERSION.fullmatch, strict=True),),
        aliases=("计分规则", "积分标准", "积分怎么算", "积分怎么算的", "怎么算积分", "怎么加分",
                 "如何加分", "积分制度", "红黄蓝榜怎么算", "红黄蓝榜怎么算的", "档次怎么算",
                 "分档规则", "怎么扣分", "扣分规则", "扣分标准"),
    ))
    registry.add(Command(
        name="排行榜", summary="本支部积分前列（约三成，至少 3 人、至多 10 人）和我的名次", handler=board,
        args=(choice("period", "时间", ("本周", "本月", "本年", "上周", "上月"), optional=True),
              branch("branch", "支部", optional=True)),
        # 本支部排名: the members of mine; 支部排名 (红黄蓝榜) ranks the branches.
        aliases=("排名", "排行", "积分排名", "本支部排名", "本支部排行", "支部内排名",
                 "积分榜", "积分排行", "积分排行榜"),
        example="排行榜 本周", capability="points",
    ))
    registry.add(Command(
        name="不参与排行", summary="退出公开排行榜（积分照常累计）", handler=leave_board,
        aliases=("退出排行",), example="不参与排行", capability="points",
    ))
    registry.add(Command(
        name="参与排行", summary="恢复参与公开排行榜", handler=join_board,
        example="参与排行", capability="points",
    ))
    registry.add(Command(
        name="红黄蓝榜",
        summary="支部红黄蓝分档（得分看参与率和人均积分）",
        handler=tiers,
        args=(choice("period", "时间", ("本月", "本周", "上月", "上周"), optional=True,
                     months=True),),
        aliases=("红黄蓝", "红黄蓝榜单", "支部排名", "支部排行", "支部排行榜", "各支部排名",
                 "红黄蓝排名", "红黄蓝排行"),
        example="红黄蓝榜 本月", capability="points",
        reworded=((_BRANCH_PLACE_ASKED, ""),),
    ))
