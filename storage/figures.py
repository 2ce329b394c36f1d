"""A report's figures, from the rows of its statements to the text leaders read. No SQL here.

The statements are in storage/reports.py. They reach these functions two ways: through a
Session (the service, every chat command, the full command line), and, compiled ahead into
storage/report_sql.py, on sqlite3 (`djbot report weekly` from the shell, bot/cli/quick.py,
which loads no SQLAlchemy). Either way a figure is counted by this one piece of code, so
the two cannot disagree. This module imports nothing of SQLAlchemy, SQLModel or pydantic:
tests/test_report_quick.py checks it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from fractions import Fraction
from pathlib import Path
from typing import Any

from bot.domain.points import (
    Period,
    Tie,
    Tier,
    assign_tiers,
    branch_score,
    half_up,
    participation_rate,
    percent,
    points_reference,
    tie_line,
    trend_arrow,
)
from bot.domain.rules import TIER_MODE_LABELS, Rules
from bot.domain.visits import set_up_of
from bot.domain.visits import visit_target as branch_visit_target

# Runs one of storage.reports' figure statements by name with these values and gives its
# rows: "branches", "members", "activities", "attendance", "points", "corrections",
# "visits" and "top".
Run = Callable[[str, Mapping[str, Any]], Iterable[Sequence[Any]]]


@dataclass(frozen=True)
class LeaderRow:
    rank: int
    member_id: int
    name: str
    points: int
    branch: str | None = None


@dataclass
class BranchFigures:
    branch_id: int
    name: str
    # False for a branch that has ended (临时党支部), listed for the weeks it held activities:
    # its tier stays on record, but there is nobody left to hold a talk (约谈) or a visit with.
    standing: bool = True
    # When the branch's record was made, and djbot's first roster (its earliest standing
    # branch's record): a 临时党支部, or a standing branch made in a later month, was set
    # up then and owes a share of the year's visits (bot.domain.visits.set_up_of); one of
    # the first roster was there before djbot (its record's date is the import's).
    temporary: bool = False
    created_at: datetime | str | None = None
    first_roster: datetime | str | None = None
    # And the day it ends (a 临时党支部's end, a standing branch's closing), if set: one
    # that ran from March to August owes half a year's.
    ends_on: date | str | None = None
    # Who belonged to the branch at some time in the span (the average points' base):
    # on its roster then, including anyone who has moved or left since.
    members: int = 0
    activities: int = 0
    expected: int = 0
    present: int = 0
    late: int = 0
    makeup: int = 0
    leave: int = 0
    points: int = 0
    # Research visits in the year of year_start, up to the period's end or the year's end.
    visits: int = 0
    # Missing from finished activities whose absences are not confirmed yet: neither
    # counted absent nor in the base until they are (补签 may still come).
    unconfirmed: int = 0
    # Reversing entries (冲销: 更正, 取消活动, a 补签 of a confirmed absence…) dated in the
    # span but made after it ended: the figures follow the ledger as it stands, and this
    # says why they differ from the report sent when the span ended.
    corrected_after: int = 0

    @property
    def last_day(self) -> date | None:
        """ends_on as a date (a statement run straight on SQLite's driver gives its text)."""
        return date.fromisoformat(self.ends_on) if isinstance(self.ends_on, str) else self.ends_on

    @property
    def attended(self) -> int:
        return self.present + self.late + self.makeup

    @property
    def absent(self) -> int:
        """Confirmed absences: expected, neither there nor excused, record finalized."""
        return max(0, self.expected - self.attended - self.leave - self.unconfirmed)

    @property
    def counted(self) -> int:
        """The participation rate's base: expected, less leave and absences not confirmed."""
        return max(0, self.expected - self.leave - self.unconfirmed)

    @property
    def participation(self) -> float | None:
        return participation_rate(self.attended, self.expected, self.leave + self.unconfirmed)

    @property
    def average_points(self) -> float | None:
        return self.points / self.members if self.members else None

    @property
    def exact_participation(self) -> Fraction | None:
        """The rate as the fraction it is (attended of the base), for scoring."""
        return Fraction(self.attended, self.counted) if self.counted > 0 else None

    @property
    def exact_average_points(self) -> Fraction | None:
        return Fraction(self.points, self.members) if self.members else None


def branch_figures(run: Run, *, start: datetime, end: datetime,
                   year_start: datetime | None = None,
                   now: datetime | None = None) -> list[BranchFigures]:
    """Per branch: finished activities held in [start, end), attendance, points, visits.

    Only finished activities count (closed, or past their end by `now`): a running theme
    day must not drag a branch down. Finished is said of the activity, by now, not by the
    span's end: a night study from 23:30 on Sunday to 01:00 on Monday is last week's (it
    started then) and has ended by Monday morning, closed or not yet. Cancelled ones never
    count. Absences count once confirmed; before that they are `unconfirmed`. A branch that has ended (临时党支部)
    is listed while the span holds its activities, so its history stays in reports.
    Activities of the whole bureau (no branch) are not counted in any branch's figures;
    their points still count in each member's branch points.
    """
    values = {"start": start, "end": end, "cutoff": now if now is not None else end}
    rows = {branch_id: BranchFigures(branch_id=branch_id, name=name, standing=bool(active),
                                     temporary=bool(temporary), created_at=created_at,
                                     first_roster=first,
                                     ends_on=ends_on)
            for branch_id, name, active, temporary, created_at, ends_on, first
            in run("branches", values)}
    if not rows:
        return []

    for branch_id, members in run("members", values):
        if branch_id in rows:
            rows[branch_id].members = members

    # Expected at activities whose record is still open, less those already accounted for
    # (there, or on granted leave): what is left waits for its absence to be confirmed.
    pending_expected: dict[int, int] = {}
    for branch_id, held, expected, pending in run("activities", values):
        if branch_id in rows:
            rows[branch_id].activities = held
            rows[branch_id].expected = int(expected or 0)
            pending_expected[branch_id] = int(pending or 0)
    for branch_id, present, late, makeup, leave, accounted in run("attendance", values):
        if branch_id in rows:
            row = rows[branch_id]
            row.present, row.late, row.makeup, row.leave = (
                int(present or 0), int(late or 0), int(makeup or 0), int(leave or 0))
            pending_expected[branch_id] = pending_expected.get(branch_id, 0) - int(accounted or 0)
    for branch_id, pending in pending_expected.items():
        rows[branch_id].unconfirmed = max(0, pending)

    for branch_id, points in run("points", values):
        if branch_id in rows:
            rows[branch_id].points = int(points or 0)
    for branch_id, corrections in _corrected_after(run("corrections", values)).items():
        if branch_id in rows:
            rows[branch_id].corrected_after = corrections

    if year_start is not None:
        last_day = min((end.astimezone(year_start.tzinfo) - timedelta(microseconds=1)).date(),
                       date(year_start.year, 12, 31))
        for branch_id, visits in run("visits", {"first_day": year_start.date(),
                                                "last_day": last_day}):
            if branch_id in rows:
                rows[branch_id].visits = visits
    return list(rows.values())


def _corrected_after(entries: Iterable[Sequence[Any]]) -> dict[int, int]:
    """How many reversing entries each branch had after the span, from (branch, entry id,
    source id) rows: less a 取消活动 taken back since by 恢复活动 (restore:<activity>:<the
    cancellation's entry>) with the entries that took it back. Both after the span, they
    net to nothing: the figures are those sent, and 「期后冲销 6 笔」 said they had changed."""
    rows = [(branch_id, str(entry_id), str(source_id)) for branch_id, entry_id, source_id
            in entries]
    after = {entry_id for _, entry_id, _ in rows}
    taken_back = {source_id.rsplit(":", 1)[-1] for _, _, source_id in rows
                  if source_id.startswith("restore:")} & after
    counts: dict[int, int] = {}
    for branch_id, entry_id, source_id in rows:
        if entry_id in taken_back or (source_id.startswith("restore:")
                                      and source_id.rsplit(":", 1)[-1] in taken_back):
            continue
        counts[branch_id] = counts.get(branch_id, 0) + 1
    return counts


def _local_day(value: datetime | str | None, tz: tzinfo) -> date | None:
    return _moment(value).astimezone(tz).date() if value is not None else None


def _moment(value: datetime | str) -> datetime:
    """A UTC timestamp as a statement gives it: the column's datetime, or, run straight on
    SQLite's driver (bot.shell's quick report), the text SQLite keeps, which is UTC."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)


def leader_rows(rows: Iterable[Sequence[Any]]) -> list[LeaderRow]:
    """The rows of a leaderboard statement: member id, name, branch, points, rank."""
    return [LeaderRow(rank=int(rank), member_id=mid, name=name, points=int(total), branch=branch)
            for mid, name, branch, total, rank in rows]


def cut_at_tie(rows: list[LeaderRow], limit: int) -> tuple[list[LeaderRow], Tie | None]:
    """At most `limit` rows, never cut inside a tie: given every member ranked `limit` or
    better, a tie that runs past the cut is left off the names and counted instead (as
    storage.reports.public_board does), since naming some of them by name order would be
    arbitrary."""
    if len(rows) <= limit:
        return rows, None
    rank = rows[-1].rank
    tied = [r for r in rows if r.rank == rank]
    return [r for r in rows if r.rank != rank], (rank, len(tied), tied[0].points)


@dataclass
class BranchStanding:
    """A branch's figures with its score and tier for the period."""

    figures: BranchFigures
    score: float | None
    tier: Tier | None


def _stood_through(f: BranchFigures, period: Period) -> bool:
    """Whether the branch was there for the whole period, set up by its start and still
    there at its end. The end by its end date, not by whether it is active now, so a week's
    quota tiers stay as 周报 gave them after a 临时党支部 ends later. The start because a
    派出所党支部 set up on Saturday, its one 主题党日 perfect, took the week's one red place
    from a branch perfect all week: a couple of days' work is tiered by the same cut-offs,
    but takes no place of those there throughout."""
    if on_books(f, period).start > period.start:
        return False
    if f.last_day is None:
        return f.standing
    return f.last_day > period.last_day


def on_books(f: BranchFigures, period: Period) -> Period:
    """The part of `period` the branch was there for, which its points are measured against:
    a 派出所党支部 set up in November (after djbot's first roster), or a 临时党支部 that ran
    from March to August, earned two or six months' points, and against the whole year's
    reference the first was scored 13 points under a branch doing the same every month."""
    tz = period.start.tzinfo
    start, end = period.start, period.end
    set_up = set_up_of(temporary=f.temporary, created=_local_day(f.created_at, tz),
                       first_roster=_local_day(f.first_roster, tz))
    if set_up is not None:
        start = max(start, datetime.combine(set_up, time(0), tzinfo=tz))
    if f.last_day is not None:
        end = min(end, datetime.combine(f.last_day + timedelta(days=1), time(0), tzinfo=tz))
    return Period(start, end, period.label) if start < end else period


# The shortest span a branch's points are measured against: the week 周报 measures every
# branch on. Against its one day's 0.33, a branch set up on a month's last day had its
# points part filled by one late check-in, and 100 and 红 above branches there all month.
SHORTEST_DAYS = Fraction(7)


def scored_days(f: BranchFigures, period: Period) -> Fraction:
    """The days the branch's points reference is worked on: its days on the books, but no
    fewer than a week's (nor more than the period's)."""
    return _scored(on_books(f, period), period)


def _scored(books: Period, period: Period) -> Fraction:
    """scored_days, of the branch's days on the books (`books`, on_books) in `period`."""
    return min(period.exact_days, max(books.exact_days, SHORTEST_DAYS))


def own_reference(f: BranchFigures, period: Period,
                  tiers) -> tuple[float, float] | None:
    """(its days on the books, to one decimal; the reference its points were measured
    against, to two) for a branch there for part of the span; None for one there for all
    of it. Said also when the week's reference is the span's own (周报): 派出所党支部 set
    up on Saturday, its first evening half empty, was 蓝 and 约谈 with nothing saying it
    had been there two days. Not for a span under a week (month to date on the 5th),
    which every branch is scored on alike, so that 「按 7 天计」 stays true."""
    books = on_books(f, period)
    days = _scored(books, period)
    whole = period.exact_days
    if books.exact_days == whole or (days == whole and whole < SHORTEST_DAYS):
        return None
    return half_up(books.days, 1), half_up(points_reference(tiers, float(days)), 2)


def reference_note(days_on_books: float | None, reference: float | None) -> str:
    """Said beside its average wherever its score is shown, so the score can be redone:
    「（在册 15 天，人均积分÷5）」; under a week, 「（在册 1 天，按 7 天计，人均积分÷2.33）」."""
    if days_on_books is None or reference is None:
        return ""
    floor = f"按 {SHORTEST_DAYS} 天计，" if days_on_books < SHORTEST_DAYS else ""
    return f"（在册 {days_on_books:g} 天，{floor}人均积分÷{reference:g}）"


def standings(figures: list[BranchFigures], rules: Rules, period: Period) -> list[BranchStanding]:
    """Score every branch that held an activity and tier them; best first."""
    # Exact fractions of the counts, so the score is the one worked out by hand.
    scores = {
        f.branch_id: branch_score(f.exact_participation, f.exact_average_points, rules.tiers,
                                  scored_days(f, period))
        for f in figures
    }
    tiers = assign_tiers({k: s for k, s in scores.items() if s is not None}, rules.tiers,
                         ranked=[f.branch_id for f in figures if _stood_through(f, period)])
    result = [BranchStanding(f, scores[f.branch_id], tiers.get(f.branch_id)) for f in figures]
    result.sort(key=lambda s: (s.score is None, -(s.score or 0), s.figures.name))
    return result


# --- the report ---------------------------------------------------------------------


@dataclass
class BranchLine:
    name: str
    activities: int
    expected: int
    present: int
    late: int
    makeup: int
    leave: int
    absent: int
    unconfirmed: int
    attended: int
    participation_rate: float | None  # exact: rounded once, where it is shown
    points: int
    members: int
    average_points: float | None
    score: float | None
    tier: str | None
    talk: bool  # blue and still a branch: flagged for a talk (约谈) with the leadership
    visits: int
    visit_target: int
    corrected_after: int
    previous_participation_rate: float | None
    previous_score: float | None
    trend: str
    # A branch that has ended (临时党支部): its tier is shown as 已撤销, not for a talk.
    ended: bool = False
    # Set up or ended in the span: its days there and the reference they give (own_reference).
    days_on_books: float | None = None
    points_reference: float | None = None

    @property
    def reference_note(self) -> str:
        return reference_note(self.days_on_books, self.points_reference)

    @property
    def participation(self) -> str:
        return f"{self.attended}/{self.expected - self.leave - self.unconfirmed}"

    @property
    def pending(self) -> str:
        return unconfirmed_note(self.unconfirmed)


def unconfirmed_note(unconfirmed: int) -> str:
    """Who a rate leaves out until their absence is confirmed (补签 may still come), said
    beside it so that 100% with people missing explains itself."""
    return f"，{unconfirmed} 人缺席待确认" if unconfirmed else ""


@dataclass
class Report:
    title: str
    first_day: date
    last_day: date
    tier_mode: str
    branches: list[BranchLine] = field(default_factory=list)
    top_members: list[LeaderRow] = field(default_factory=list)
    # A tie at the top list's cut: counted, not named (cut_at_tie).
    top_tie: Tie | None = None
    idle_branches: list[str] = field(default_factory=list)
    under_visited: list[str] = field(default_factory=list)


def build_report(run: Run, *, start: datetime, end: datetime,
                 previous: tuple[datetime, datetime], tz: tzinfo, visit_target: int,
                 rules: Rules, title: str | None = None, top: int = 10,
                 now: datetime | None = None) -> Report:
    """Per-branch figures for [start, end), their change against `previous`, and the top members.

    A period that runs past `now` (周报 本周, a range ending later) is counted and scored to
    date, as 红黄蓝榜 本周 is: scored against the whole week's points reference, a Tuesday's
    week-to-date averaged a fraction of it and the same branch was blue here and yellow
    there."""
    start, end = start.astimezone(tz), end.astimezone(tz)
    period = Period(start, end, title or "")
    if now is not None:
        period = period.until(now.astimezone(tz))
        end = period.end
    last_day = period.last_day
    # Visits count against the year the period starts in: the week from 28 December to
    # 3 January shows the whole of the year just ended (its last visits are in no other
    # weekly report), rather than 0 of 2 for every branch three days into the new year.
    year_start = datetime(start.year, 1, 1, tzinfo=tz)
    current = standings(branch_figures(run, start=start, end=end, year_start=year_start,
                                       now=now), rules, period)
    before = {
        s.figures.branch_id: s
        for s in standings(branch_figures(run, start=previous[0], end=previous[1], now=now), rules,
                           Period(previous[0], previous[1], "上期"))
    }
    report = Report(
        title=title or f"{start.date().isoformat()} 至 {last_day.isoformat()}",
        first_day=start.date(),
        last_day=last_day,
        tier_mode=rules.tiers.mode,
    )
    for s in current:
        f, prior = s.figures, before.get(s.figures.branch_id)
        set_up = set_up_of(temporary=f.temporary, created=_local_day(f.created_at, tz),
                           first_roster=_local_day(f.first_roster, tz))
        target = branch_visit_target(visit_target, set_up=set_up, year=year_start.year,
                                     ends_on=f.last_day)
        average = f.average_points
        own = own_reference(f, period, rules.tiers) if s.score is not None else None
        report.branches.append(BranchLine(
            name=f.name, activities=f.activities, expected=f.expected, present=f.present,
            late=f.late, makeup=f.makeup, leave=f.leave, absent=f.absent,
            unconfirmed=f.unconfirmed, attended=f.attended,
            participation_rate=f.participation, points=f.points, members=f.members,
            # One decimal, half up, as the chat, the dashboard and docs/points.md show it:
            # 周报 said 2.33 where 红黄蓝榜 said 2.3 for the same branch and week.
            average_points=_round(average, 1), score=s.score,
            tier=s.tier.value if s.tier else None, talk=s.tier is Tier.BLUE and f.standing,
            visits=f.visits, visit_target=target, corrected_after=f.corrected_after,
            previous_participation_rate=prior.figures.participation if prior else None,
            previous_score=prior.score if prior else None,
            trend=trend_arrow(s.score, prior.score if prior else None),
            ended=not f.standing,
            days_on_books=own[0] if own else None, points_reference=own[1] if own else None,
        ))
        if f.activities == 0:
            report.idle_branches.append(f.name)
        if f.visits < target and f.standing:
            report.under_visited.append(f.name)
    report.top_members, report.top_tie = cut_at_tie(
        leader_rows(run("top", {"start": start, "end": end, "limit": top})), top)
    return report


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else half_up(value, digits)


def _percent(rate: float | None) -> str:
    return percent(rate)


def _number(value: float | None) -> str:
    return "—" if value is None else f"{value:g}"


TIER_LABELS = {"红": "🔴红", "黄": "🟡黄", "蓝": "🔵蓝"}


def render_markdown(report: Report, *, table: bool = False) -> str:
    """The report as Markdown: short lines per branch by default, which WeCom and DingTalk
    chats render on a phone; `table=True` gives one wide table for a file or the terminal."""
    lines = [f"## 党建工作报告 {report.title}",
             f"统计区间：{_day(report.first_day)} 至 {_day(report.last_day)}", ""]
    if table:
        lines += ["| 支部 | 活动 | 应到 | 出席 | 迟到 | 补签 | 请假 | 未到 | 待确认 | 参与率 | 积分"
                  " | 人均 | 得分 | 档 | 较上期 | 调研 |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for b in report.branches:
            lines.append(
                f"| {b.name} | {b.activities} | {b.expected} | {b.present} | {b.late}"
                f" | {b.makeup} | {b.leave} | {b.absent} | {b.unconfirmed}"
                f" | {_percent(b.participation_rate)}"
                f" | {b.points} | {_number(b.average_points)}{b.reference_note}"
                f" | {_number(b.score)}"
                f" | {_tier(b)} | {b.trend or '—'} | {b.visits}/{b.visit_target} |"
            )
    else:
        for b in report.branches:
            score = f" {_number(b.score)} 分{b.trend}" if b.score is not None else ""
            lines.append(f"**{b.name}** {_tier(b)}{score}")
            lines.append(
                f"活动 {b.activities} 次 · 参与 {b.participation}（{_percent(b.participation_rate)}"
                f"{b.pending}）"
                f" · 人均 {_number(b.average_points)} 分{b.reference_note} · 调研 {b.visits}/{b.visit_target}"
            )
    lines.append("")
    if report.top_members or report.top_tie:
        lines.append("**积分前列**")
        lines += [f"{m.rank}. {m.name}（{m.branch or '—'}）{m.points} 分"
                  for m in report.top_members]
        if report.top_tie is not None:
            lines.append(_top_tie(report))
        lines.append("")
    corrected = [f"{b.name} 冲销 {b.corrected_after} 笔" for b in report.branches
                 if b.corrected_after]
    if corrected:
        # The figures above already follow the corrections; this says they came later.
        lines.append(f"**期后更正**（本期结束后记入，以上数字已按更正计算，明细见积分明细）："
                     f"{'、'.join(corrected)}")
    if report.idle_branches:
        lines.append(f"**本期未开展活动**：{'、'.join(report.idle_branches)}")
    if report.under_visited:
        lines.append(f"**年度调研未达标**：{'、'.join(report.under_visited)}")
    return "\n".join(lines).rstrip() + "\n"


def _top_tie(report: Report) -> str:
    """The tie at the top list's cut, and why it is a count."""
    assert report.top_tie is not None
    return (tie_line(report.top_tie, after_names=bool(report.top_members))
            + "，同分的不拆开列名，只计人数")


def _day(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def _tier(line: BranchLine) -> str:
    # As the leaders' 红黄蓝榜 says it: an ended branch keeps its tier, and no talk is asked.
    blue = line.tier == Tier.BLUE.value
    return TIER_LABELS.get(line.tier or "", "—") + (
        "（约谈）" if line.talk else "（已撤销）" if blue and line.ended else "")


def report_dict(report: Report) -> dict[str, Any]:
    data = asdict(report)
    data["first_day"] = report.first_day.isoformat()
    data["last_day"] = report.last_day.isoformat()
    for line, row in zip(report.branches, data["branches"]):
        row["participation"] = line.participation
        # Four digits for a file; rounded here only, as the chat's percent rounds it once.
        for key in ("participation_rate", "previous_participation_rate"):
            row[key] = _round(row[key], 4)
    if report.top_tie is not None:
        rank, count, points = report.top_tie
        data["top_tie"] = {"rank": rank, "count": count, "points": points}
    return data


def render_json(report: Report) -> str:
    return json.dumps(report_dict(report), ensure_ascii=False, indent=2)


BRANCH_COLUMNS = [
    ("支部", "name"), ("活动数", "activities"), ("应到", "expected"), ("出席", "present"),
    ("迟到", "late"), ("补签", "makeup"), ("请假", "leave"), ("未到", "absent"),
    ("缺席待确认", "unconfirmed"), ("参与率", "participation_rate"), ("积分", "points"),
    ("党员数", "members"),
    ("人均积分", "average_points"), ("得分", "score"), ("档次", "tier"), ("约谈", "talk"),
    ("上期参与率", "previous_participation_rate"), ("上期得分", "previous_score"),
    ("年度调研", "visits"), ("调研目标", "visit_target"), ("期后更正", "corrected_after"),
    # Set up or ended in the span: the days and reference its score was worked on.
    ("在册天数", "days_on_books"), ("积分参考值", "points_reference"),
]


def write_xlsx(report: Report, path: str | Path) -> Path:
    """A real workbook: sheet 支部 (one row per branch) and 党员 (the top members)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    from storage.files import open_private

    book = Workbook()
    branches = book.active
    branches.title = "支部"
    branches.append([header for header, _ in BRANCH_COLUMNS])
    for line in report.branches:
        values = [getattr(line, key) for _, key in BRANCH_COLUMNS]
        row = ["是" if v is True else "" if v is False else v for v in values]
        if line.ended and line.tier == Tier.BLUE.value:
            # As 周报 says it (🔵蓝（已撤销）): an empty cell beside 蓝 read as let off.
            row[[k for _, k in BRANCH_COLUMNS].index("talk")] = "已撤销"
        branches.append(row)
    for cell in branches[1]:
        cell.font = Font(bold=True)
    # The rates are kept exact and shown as percents to one decimal, as the chat shows them.
    for key in ("participation_rate", "previous_participation_rate"):
        rate_column = [k for _, k in BRANCH_COLUMNS].index(key) + 1
        for row in branches.iter_rows(min_row=2, min_col=rate_column, max_col=rate_column):
            for cell in row:
                cell.number_format = "0.0%"

    members = book.create_sheet("党员")
    members.append(["名次", "姓名", "支部", "积分"])
    for m in report.top_members:
        members.append([m.rank, m.name, m.branch, m.points])
    if report.top_tie is not None:
        rank, _, points = report.top_tie
        members.append([rank, _top_tie(report), None, points])
    for cell in members[1]:
        cell.font = Font(bold=True)

    info = book.create_sheet("说明")
    info.append(["报告", report.title])
    info.append(["开始", report.first_day])
    info.append(["结束", report.last_day])
    info.append(["分档方式", TIER_MODE_LABELS.get(report.tier_mode, report.tier_mode)])
    info.append(["本期未开展活动", "、".join(report.idle_branches)])
    for sheet in (branches, members):
        sheet.freeze_panes = "A2"  # scrolled down a bureau's rows, the headings stay
    for sheet in book.worksheets:
        strings_stay_strings(sheet)
        fit_columns(sheet)
    path = Path(path)
    with open_private(path, "wb") as fh:  # names and figures of people: the owner's only
        book.save(fh)
    return path


def strings_stay_strings(sheet) -> None:
    """A name such as =HYPERLINK(…) is text: openpyxl would store it as a live formula."""
    for row in sheet.iter_rows():
        for cell in row:
            if isinstance(cell.value, str):
                cell.data_type = "s"


# Wide enough for 刑事侦查大队党支部, narrow enough that a 事迹 does not push the rest away.
NARROWEST, WIDEST = 8, 60


def fit_columns(sheet) -> None:
    """Each column as wide as what it holds: openpyxl leaves every one at 13 characters, and
    a branch's name (a Chinese character is two wide) was cut off by the number beside it."""
    from openpyxl.utils import get_column_letter

    for index, column in enumerate(sheet.iter_cols(), start=1):
        width = max((_shown_width(cell.value) for cell in column), default=0)
        sheet.column_dimensions[get_column_letter(index)].width = \
            min(WIDEST, max(NARROWEST, width + 2))


def _shown_width(value: Any) -> int:
    """How many narrow characters a value takes in a cell: a Chinese one is two."""
    from unicodedata import east_asian_width

    if value is None:
        return 0
    if isinstance(value, float):
        return 8  # a rate shown as 88.9%, a score such as 94.3
    text = value.isoformat() if isinstance(value, date) else str(value)
    return max(sum(2 if east_asian_width(ch) in "WF" else 1 for ch in line)
               for line in text.splitlines() or [""])
