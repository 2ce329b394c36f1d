"""Points and participation figures, aggregated by the database (GROUP BY), never row by row.

Query functions are keyword-only and never commit. `build_report` gathers the figures of
a period and of the period before it; `render_markdown`, `render_json` and `write_xlsx`
turn a Report into what leaders read.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import and_, bindparam, case, func, literal, or_, select
from sqlalchemy.orm import aliased
from sqlmodel import Session

from bot.domain.points import (
    Period,
    board_may_name,
    public_board_size,
    Tier,
    assign_tiers,
    branch_score,
    participation_rate,
    trend_arrow,
)
from bot.domain.rules import Rules
from bot.domain.attendance import ATTENDED, BRANCH_COMMITTEE_ROLES, BRANCH_COMMITTEE_TYPES
from storage.attendance import CANCELLED, CLOSED
from storage.models import (
    Activity,
    Attendance,
    AttendanceStatus,
    Branch,
    LeaveState,
    Member,
    PointEntry,
    ResearchVisit,
)
from storage.types import UTCDateTime


def _during(column, start, end):
    """start <= column < end: every period is half-open."""
    return and_(column >= start, column < end)


def _ranked_members():
    """Members who appear on public leaderboards: active, not forgotten, not opted out."""
    return and_(
        Member.active == True,  # noqa: E712
        Member.forgotten == False,  # noqa: E712
        Member.leaderboard_opt_out == False,  # noqa: E712
    )


# --- one member ----------------------------------------------------------------------


@dataclass(frozen=True)
class MemberStanding:
    points: dict[str, int]  # per period name, e.g. {"本周": 3, "本月": 12, "本年": 80}
    rank: int | None  # in the branch over the ranking period; None when opted out
    of: int  # how many members are ranked in the branch


def member_standing(session: Session, *, member_id: int, branch_id: int | None,
                    periods: dict[str, tuple[datetime, datetime]],
                    rank_in: str) -> MemberStanding:
    """A member's points in several periods and their rank in the branch over one of them.

    One statement, because 积分 is the command members send most. Ties share a rank
    (1, 1, 3); members who left the public ranking get no rank but keep their points.
    """
    names = list(periods)
    params: dict[str, Any] = {"member_id": member_id, "branch_id": branch_id,
                              "first": min(start for start, _ in periods.values()),
                              "last": max(end for _, end in periods.values())}
    for index, (start, end) in enumerate(periods.values()):
        params[f"start{index}"], params[f"end{index}"] = start, end
    statement = _standing_statement(len(names), names.index(rank_in), branch_id is not None)
    *values, above, ranked, listed = session.execute(statement, params).one()
    return MemberStanding(
        points={name: int(v) for name, v in zip(names, values)},
        rank=int(above) + 1 if listed else None,
        of=int(ranked),
    )


@lru_cache(maxsize=8)
def _standing_statement(period_count: int, rank_index: int, ranked: bool):
    # Built once per shape with bound parameters: constructing this statement costs
    # more Python time than SQLite needs to run it (see docs/benchmarks.md).
    def at(name: str):
        return bindparam(name, type_=UTCDateTime())

    mine = (
        select(*[
            func.coalesce(func.sum(case(
                (_during(PointEntry.occurred_at, at(f"start{i}"), at(f"end{i}")),
                 PointEntry.points), else_=0)), 0).label(f"p{i}")
            for i in range(period_count)
        ])
        .where(PointEntry.member_id == bindparam("member_id"),
               _during(PointEntry.occurred_at, at("first"), at("last")))
        .cte("mine")
    )
    columns = [mine.c[f"p{i}"] for i in range(period_count)]
    if not ranked:
        return select(*columns, literal(0), literal(0), literal(0))
    points = func.coalesce(func.sum(PointEntry.points), 0)
    totals = (
        select(Member.id.label("member_id"), points.label("points"))
        .select_from(Member)
        .outerjoin(PointEntry, and_(
            PointEntry.member_id == Member.id,
            _during(PointEntry.occurred_at, at(f"start{rank_index}"), at(f"end{rank_index}"))))
        .where(Member.branch_id == bindparam("branch_id"), _ranked_members())
        .group_by(Member.id)
        .cte("totals")
    )
    return select(
        *columns,
        select(func.count()).where(totals.c.points > columns[rank_index]).scalar_subquery(),
        select(func.count()).select_from(totals).scalar_subquery(),
        select(func.count()).where(totals.c.member_id == bindparam("member_id"))
        .scalar_subquery(),
    )


@dataclass(frozen=True)
class LeaderRow:
    rank: int
    member_id: int
    name: str
    points: int
    branch: str | None = None


def leaderboard(session: Session, *, branch_id: int | None, start: datetime, end: datetime,
                limit: int = 10) -> list[LeaderRow]:
    """The top members by points in [start, end): of one branch, or bureau-wide when None.

    Only members with points above zero are listed and never a bottom list: the board
    is there to recognise effort, not to expose anyone.
    """
    points = func.sum(PointEntry.points)
    query = (
        select(Member.id, Member.name, Branch.name, points.label("points"),
               func.rank().over(order_by=points.desc()).label("rank"))
        .select_from(PointEntry)
        .join(Member, Member.id == PointEntry.member_id)
        .outerjoin(Branch, Branch.id == Member.branch_id)
        .where(_during(PointEntry.occurred_at, start, end), _ranked_members())
        .group_by(Member.id, Member.name, Branch.name)
        .having(points > 0)
        .order_by(points.desc(), Member.name, Member.id)
        .limit(limit)
    )
    if branch_id is not None:
        query = query.where(Member.branch_id == branch_id)
    return [
        LeaderRow(rank=int(rank), member_id=mid, name=name, points=int(total), branch=branch)
        for mid, name, branch, total, rank in session.execute(query)
    ]


def weekly_leaderboard(session: Session, *, branch_id: int, start: datetime, end: datetime,
                       limit: int = 10) -> list[LeaderRow]:
    """The branch leaderboard the weekly push shows (same rules as 排行榜)."""
    return leaderboard(session, branch_id=branch_id, start=start, end=end, limit=limit)


@dataclass(frozen=True)
class PublicBoard:
    rows: list[LeaderRow]
    scored: int  # how many members scored above zero
    # A tie that the cut would split, given as a count instead of names: (rank, how many,
    # points). Listing some of them by name order would be arbitrary.
    tie: tuple[int, int, int] | None = None

    @property
    def empty(self) -> bool:
        return not self.rows and self.tie is None


def public_board(session: Session, *, branch_id: int, start: datetime,
                 end: datetime) -> PublicBoard:
    """A branch's board fit to be shown in its group: at most the top 30% of its members
    (at least 3, at most 10), and nobody when fewer than 3 scored."""
    members = session.execute(select(func.count(Member.id)).where(
        Member.branch_id == branch_id, _ranked_members())).scalar_one()
    everyone = leaderboard(session, branch_id=branch_id, start=start, end=end, limit=10_000)
    if not board_may_name(len(everyone)):
        return PublicBoard([], len(everyone))
    size = public_board_size(members)
    rows, rest = everyone[:size], everyone[size:]
    if rest and rows and rest[0].rank == rows[-1].rank:
        rank = rows[-1].rank
        tied = [r for r in everyone if r.rank == rank]
        return PublicBoard([r for r in rows if r.rank != rank], len(everyone),
                           (rank, len(tied), tied[0].points))
    return PublicBoard(rows, len(everyone))


def board_lines(board: PublicBoard, unit: str = " 分") -> list[str]:
    lines = [f"{r.rank}. {r.name} {r.points}{unit}" for r in board.rows]
    if board.tie is not None:
        rank, count, points = board.tie
        lines.append(f"另有 {count} 人并列第 {rank} 名（{points}{unit}）")
    return lines


def recent_entries(session: Session, *, member_id: int, limit: int = 10) -> list[PointEntry]:
    """A member's latest ledger entries, newest first: every figure can be traced."""
    return list(
        session.execute(
            select(PointEntry)
            .where(PointEntry.member_id == member_id)
            .order_by(PointEntry.occurred_at.desc(), PointEntry.id.desc())
            .limit(limit)
        ).scalars()
    )


def entry_activities(session: Session, *, entries: list[PointEntry]) -> dict[int, Activity]:
    """The activity each attendance or absence entry was earned at, by entry id."""
    ids = {int(e.source_id) for e in entries
           if e.source_kind in ("attendance", "absence") and str(e.source_id).isdigit()}
    if not ids:
        return {}
    found = {attendance_id: activity for attendance_id, activity in session.execute(
        select(Attendance.id, Activity).join(Activity, Activity.id == Attendance.activity_id)
        .where(Attendance.id.in_(ids)))}
    return {e.id: found[int(e.source_id)] for e in entries  # type: ignore[misc]
            if str(e.source_id).isdigit() and int(e.source_id) in found
            and e.source_kind in ("attendance", "absence")}


# --- branches --------------------------------------------------------------------------


@dataclass
class BranchFigures:
    branch_id: int
    name: str
    members: int = 0  # active members now
    activities: int = 0
    expected: int = 0
    present: int = 0
    late: int = 0
    makeup: int = 0
    leave: int = 0
    points: int = 0
    visits: int = 0  # research visits this year up to the period's end
    # Missing from finished activities whose absences are not confirmed yet: neither
    # counted absent nor in the base until they are (补签 may still come).
    unconfirmed: int = 0

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


def _live_expected():
    """Who a branch activity expects before its count is frozen: its type's audience among
    the active members (the rule of storage.attendance.is_expected, in SQL)."""
    counted = aliased(Member)
    return (
        select(func.count(counted.id))
        .where(
            counted.active == True,  # noqa: E712
            counted.created_at <= Activity.ends_at,
            counted.branch_id == Activity.branch_id,
            or_(Activity.party_group_id.is_(None),
                counted.party_group_id == Activity.party_group_id),
            or_(Activity.party_group_id.is_not(None),
                Activity.type.not_in([t.value for t in BRANCH_COMMITTEE_TYPES]),
                counted.role.in_([r.value for r in BRANCH_COMMITTEE_ROLES])),
        )
        .correlate(Activity)
        .scalar_subquery()
    )


def branch_figures(session: Session, *, start: datetime, end: datetime,
                   year_start: datetime | None = None,
                   now: datetime | None = None) -> list[BranchFigures]:
    """Per branch: finished activities held in [start, end), attendance, points, visits.

    Only finished activities count (closed, or past their end by `now`): a running theme
    day must not drag a branch down. Cancelled ones never count. Absences count once
    confirmed; before that they are `unconfirmed`. A branch that has ended (临时党支部)
    is listed while the span holds its activities, so its history stays in reports.
    Activities of the whole bureau (no branch) are not counted in any branch's figures;
    their points still count in each member's branch points.
    """
    cutoff = min(end, now) if now is not None else end
    finished = and_(Activity.status != CANCELLED,
                    or_(Activity.status == CLOSED, Activity.ends_at <= cutoff))
    in_period = and_(Activity.branch_id.is_not(None), _during(Activity.starts_at, start, end),
                     finished)
    held_here = select(Activity.branch_id).where(in_period)
    rows = {
        branch_id: BranchFigures(branch_id=branch_id, name=name)
        for branch_id, name in session.execute(
            select(Branch.id, Branch.name)
            .where(or_(Branch.active == True, Branch.id.in_(held_here)))  # noqa: E712
            .order_by(Branch.id)
        )
    }
    if not rows:
        return []

    for branch_id, members in session.execute(
        select(Member.branch_id, func.count())
        .where(Member.active == True, Member.branch_id.is_not(None))  # noqa: E712
        .group_by(Member.branch_id)
    ):
        if branch_id in rows:
            rows[branch_id].members = members

    open_record = Activity.finalized_at.is_(None)
    live = _live_expected()
    pending_expected: dict[int, int] = {}
    for branch_id, held, expected, pending in session.execute(
        select(Activity.branch_id, func.count(),
               func.sum(func.coalesce(Activity.expected_count, live)),
               func.sum(case((open_record, live), else_=0)))
        .where(in_period)
        .group_by(Activity.branch_id)
    ):
        if branch_id in rows:
            rows[branch_id].activities = held
            rows[branch_id].expected = int(expected or 0)
            pending_expected[branch_id] = int(pending or 0)

    def status_count(*statuses: str):
        return func.sum(case((Attendance.status.in_(statuses), 1), else_=0))

    granted_leave = func.sum(case((and_(
        Attendance.status == AttendanceStatus.LEAVE,
        or_(Attendance.leave_state.is_(None), Attendance.leave_state == LeaveState.GRANTED),
    ), 1), else_=0))
    accounted_open = func.sum(case((and_(open_record, or_(
        Attendance.status.in_(ATTENDED),
        and_(Attendance.status == AttendanceStatus.LEAVE,
             or_(Attendance.leave_state.is_(None),
                 Attendance.leave_state == LeaveState.GRANTED)))), 1), else_=0))
    for branch_id, present, late, makeup, leave, accounted in session.execute(
        select(Activity.branch_id, status_count(AttendanceStatus.PRESENT),
               status_count(AttendanceStatus.LATE), status_count(AttendanceStatus.MAKEUP),
               granted_leave, accounted_open)
        .select_from(Attendance)
        .join(Activity, Activity.id == Attendance.activity_id)
        .where(in_period)
        .group_by(Activity.branch_id)
    ):
        if branch_id in rows:
            row = rows[branch_id]
            row.present, row.late, row.makeup, row.leave = (
                int(present or 0), int(late or 0), int(makeup or 0), int(leave or 0))
            pending_expected[branch_id] = pending_expected.get(branch_id, 0) - int(accounted or 0)
    for branch_id, pending in pending_expected.items():
        rows[branch_id].unconfirmed = max(0, pending)

    for branch_id, points in session.execute(
        select(PointEntry.branch_id, func.sum(PointEntry.points))
        .where(PointEntry.branch_id.is_not(None), _during(PointEntry.occurred_at, start, end))
        .group_by(PointEntry.branch_id)
    ):
        if branch_id in rows:
            rows[branch_id].points = int(points or 0)

    if year_start is not None:
        last_day = (end - timedelta(microseconds=1)).date()
        for branch_id, visits in session.execute(
            select(ResearchVisit.branch_id, func.count())
            .where(ResearchVisit.withdrawn_at.is_(None),
                   ResearchVisit.visited_on >= year_start.date(),
                   ResearchVisit.visited_on <= last_day)
            .group_by(ResearchVisit.branch_id)
        ):
            if branch_id in rows:
                rows[branch_id].visits = visits
    return list(rows.values())


@dataclass
class BranchStanding:
    """A branch's figures with its score and tier for the period."""

    figures: BranchFigures
    score: float | None
    tier: Tier | None


def standings(figures: list[BranchFigures], rules: Rules, period: Period) -> list[BranchStanding]:
    """Score every branch that held an activity and tier them; best first."""
    scores = {
        f.branch_id: branch_score(f.participation, f.average_points, rules.tiers, period.days)
        for f in figures
    }
    tiers = assign_tiers({k: s for k, s in scores.items() if s is not None}, rules.tiers)
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
    participation_rate: float | None
    points: int
    members: int
    average_points: float | None
    score: float | None
    tier: str | None
    talk: bool  # blue: flagged for a talk (约谈) with the leadership
    visits: int
    visit_target: int
    previous_participation_rate: float | None
    previous_score: float | None
    trend: str

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
    idle_branches: list[str] = field(default_factory=list)
    under_visited: list[str] = field(default_factory=list)


def build_report(session: Session, *, start: datetime, end: datetime,
                 previous: tuple[datetime, datetime], tz: tzinfo, visit_target: int,
                 rules: Rules, title: str | None = None, top: int = 10,
                 now: datetime | None = None) -> Report:
    """Per-branch figures for [start, end), their change against `previous`, and the top members."""
    start, end = start.astimezone(tz), end.astimezone(tz)
    period = Period(start, end, title or "")
    last_day = period.last_day
    year_start = datetime(last_day.year, 1, 1, tzinfo=tz)
    current = standings(branch_figures(session, start=start, end=end, year_start=year_start,
                                       now=now), rules, period)
    before = {
        s.figures.branch_id: s
        for s in standings(branch_figures(session, start=previous[0], end=previous[1], now=now), rules,
                           Period(previous[0], previous[1], "上期"))
    }
    report = Report(
        title=title or f"{start.date().isoformat()} 至 {last_day.isoformat()}",
        first_day=start.date(),
        last_day=last_day,
        tier_mode=rules.tiers.mode,
    )
    target = visit_target
    for s in current:
        f, prior = s.figures, before.get(s.figures.branch_id)
        average = f.average_points
        report.branches.append(BranchLine(
            name=f.name, activities=f.activities, expected=f.expected, present=f.present,
            late=f.late, makeup=f.makeup, leave=f.leave, absent=f.absent,
            unconfirmed=f.unconfirmed, attended=f.attended,
            participation_rate=_round(f.participation, 4), points=f.points, members=f.members,
            average_points=_round(average, 2), score=s.score,
            tier=s.tier.value if s.tier else None, talk=s.tier is Tier.BLUE,
            visits=f.visits, visit_target=target,
            previous_participation_rate=_round(prior.figures.participation, 4) if prior else None,
            previous_score=prior.score if prior else None,
            trend=trend_arrow(s.score, prior.score if prior else None),
        ))
        if f.activities == 0:
            report.idle_branches.append(f.name)
        if f.visits < target:
            report.under_visited.append(f.name)
    report.top_members = leaderboard(session, branch_id=None, start=start, end=end, limit=top)
    return report


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def _percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f}%"


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
                f" | {b.points} | {_number(b.average_points)} | {_number(b.score)}"
                f" | {_tier(b)} | {b.trend or '—'} | {b.visits}/{b.visit_target} |"
            )
    else:
        for b in report.branches:
            score = f" {_number(b.score)} 分{b.trend}" if b.score is not None else ""
            lines.append(f"**{b.name}** {_tier(b)}{score}")
            lines.append(
                f"活动 {b.activities} 次 · 参与 {b.participation}（{_percent(b.participation_rate)}"
                f"{b.pending}）"
                f" · 人均 {_number(b.average_points)} 分 · 调研 {b.visits}/{b.visit_target}"
            )
    lines.append("")
    if report.top_members:
        lines.append("**积分前列**")
        lines += [f"{m.rank}. {m.name}（{m.branch or '—'}）{m.points} 分" for m in report.top_members]
        lines.append("")
    if report.idle_branches:
        lines.append(f"**本期未开展活动**：{'、'.join(report.idle_branches)}")
    if report.under_visited:
        lines.append(f"**年度调研未达标**：{'、'.join(report.under_visited)}")
    return "\n".join(lines).rstrip() + "\n"


def _day(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def _tier(line: BranchLine) -> str:
    return TIER_LABELS.get(line.tier or "", "—") + ("（约谈）" if line.talk else "")


def report_dict(report: Report) -> dict[str, Any]:
    data = asdict(report)
    data["first_day"] = report.first_day.isoformat()
    data["last_day"] = report.last_day.isoformat()
    for line, row in zip(report.branches, data["branches"]):
        row["participation"] = line.participation
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
    ("年度调研", "visits"), ("调研目标", "visit_target"),
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
        branches.append(["是" if v is True else "" if v is False else v for v in values])
    for cell in branches[1]:
        cell.font = Font(bold=True)
    rate_column = [key for _, key in BRANCH_COLUMNS].index("participation_rate") + 1
    for row in branches.iter_rows(min_row=2, min_col=rate_column, max_col=rate_column):
        for cell in row:
            cell.number_format = "0.0%"

    members = book.create_sheet("党员")
    members.append(["名次", "姓名", "支部", "积分"])
    for m in report.top_members:
        members.append([m.rank, m.name, m.branch, m.points])
    for cell in members[1]:
        cell.font = Font(bold=True)

    info = book.create_sheet("说明")
    info.append(["报告", report.title])
    info.append(["开始", report.first_day])
    info.append(["结束", report.last_day])
    info.append(["分档方式", report.tier_mode])
    info.append(["本期未开展活动", "、".join(report.idle_branches)])
    for sheet in book.worksheets:
        _strings_stay_strings(sheet)
    path = Path(path)
    with open_private(path, "wb") as fh:  # names and figures of people: the owner's only
        book.save(fh)
    return path


def _strings_stay_strings(sheet) -> None:
    """A name such as =HYPERLINK(…) is text: openpyxl would store it as a live formula."""
    for row in sheet.iter_rows():
        for cell in row:
            if isinstance(cell.value, str):
                cell.data_type = "s"
