"""The dashboard's figures (看板): weekly trends, tier history, 三会一课, sheets, a member's record.

Aggregated in the database like storage/reports.py, whose figures they must equal: the
weekly branch figures here are reports.BranchFigures built from per-activity tallies, so
the tier of a week on the dashboard is the tier 周报 gave that week (a test checks it).
Query functions are keyword-only and never commit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlmodel import Session

from storage.models import (
    Activity,
    ActivityType,
    Attendance,
    AttendanceStatus,
    Branch,
    LeaveState,
    Member,
    PartyGroup,
    PointEntry,
    Rating,
    ResearchVisit,
)
from storage.reports import BranchFigures, _during, _live_expected

# 三会一课: the standard branch meetings, counted per branch and month.
THREE_MEETINGS = (ActivityType.GENERAL_MEETING, ActivityType.COMMITTEE_MEETING,
                  ActivityType.GROUP_MEETING, ActivityType.PARTY_LECTURE)


@dataclass(frozen=True)
class Week:
    start: datetime  # aware local Monday 00:00
    end: datetime

    @property
    def label(self) -> str:
        return f"{self.start:%m-%d}"


def weeks_ending(last: Week, count: int) -> list[Week]:
    """`count` Monday–Sunday weeks, oldest first, the last one being `last`."""
    return [Week(last.start - timedelta(days=7 * i), last.end - timedelta(days=7 * i))
            for i in reversed(range(count))]


# --- per-activity tallies --------------------------------------------------------------


@dataclass(frozen=True)
class Tally:
    """One branch activity's attendance: the unit every trend on the dashboard adds up."""

    activity_id: int
    branch_id: int
    type: str
    topic: str
    lecturer: str | None
    starts_at: datetime
    expected: int
    present: int
    late: int
    makeup: int
    leave: int

    @property
    def attended(self) -> int:
        return self.present + self.late + self.makeup


def _status(*statuses: str):
    return func.coalesce(func.sum(case((Attendance.status.in_(statuses), 1), else_=0)), 0)


def activity_tallies(session: Session, *, start: datetime, end: datetime,
                     branch_id: int | None = None) -> list[Tally]:
    """Every branch activity that started in [start, end), with its counts (one GROUP BY).

    Counted the way reports.branch_figures counts: expected is the frozen count or, before
    it is frozen, the active members in scope; leave is granted (or undecided) leave.
    """
    granted_leave = func.coalesce(func.sum(case((and_(
        Attendance.status == AttendanceStatus.LEAVE,
        or_(Attendance.leave_state.is_(None), Attendance.leave_state == LeaveState.GRANTED),
    ), 1), else_=0)), 0)
    counts = (
        select(Attendance.activity_id.label("activity_id"),
               _status(AttendanceStatus.PRESENT).label("present"),
               _status(AttendanceStatus.LATE).label("late"),
               _status(AttendanceStatus.MAKEUP).label("makeup"),
               granted_leave.label("leave"))
        .join(Activity, Activity.id == Attendance.activity_id)
        .where(Activity.branch_id.is_not(None), _during(Activity.starts_at, start, end))
        .group_by(Attendance.activity_id)
    )
    if branch_id is not None:
        counts = counts.where(Activity.branch_id == branch_id)
    counts = counts.subquery()
    query = (
        select(Activity.id, Activity.branch_id, Activity.type, Activity.topic, Activity.lecturer,
               Activity.starts_at, func.coalesce(Activity.expected_count, _live_expected()),
               counts.c.present, counts.c.late, counts.c.makeup, counts.c.leave)
        .outerjoin(counts, counts.c.activity_id == Activity.id)
        .where(Activity.branch_id.is_not(None), _during(Activity.starts_at, start, end))
        .order_by(Activity.starts_at, Activity.id)
    )
    if branch_id is not None:
        query = query.where(Activity.branch_id == branch_id)
    return [
        Tally(activity_id=aid, branch_id=bid, type=kind, topic=topic or "", lecturer=lecturer,
              starts_at=starts, expected=int(expected or 0), present=int(present or 0),
              late=int(late or 0), makeup=int(makeup or 0), leave=int(leave or 0))
        for aid, bid, kind, topic, lecturer, starts, expected, present, late, makeup, leave
        in session.execute(query)
    ]


@dataclass(frozen=True)
class Rate:
    attended: int = 0
    expected: int = 0
    leave: int = 0

    def __add__(self, other: "Rate") -> "Rate":
        return Rate(self.attended + other.attended, self.expected + other.expected,
                    self.leave + other.leave)

    @property
    def value(self) -> float | None:
        base = self.expected - self.leave
        return None if base <= 0 else min(1.0, self.attended / base)


def rate_of(tallies: list[Tally]) -> Rate:
    total = Rate()
    for t in tallies:
        total = total + Rate(t.attended, t.expected, t.leave)
    return total


def in_period(tallies: list[Tally], start: datetime, end: datetime) -> list[Tally]:
    return [t for t in tallies if start <= t.starts_at < end]


# --- the branches, week by week -----------------------------------------------------------


def branches(session: Session) -> dict[int, str]:
    return dict(session.execute(
        select(Branch.id, Branch.name).where(Branch.active == True).order_by(Branch.id)  # noqa: E712
    ).all())


def active_members(session: Session) -> dict[int, int]:
    return {bid: int(n) for bid, n in session.execute(
        select(Member.branch_id, func.count())
        .where(Member.active == True, Member.branch_id.is_not(None))  # noqa: E712
        .group_by(Member.branch_id))}


def weekly_branch_points(session: Session, *, weeks: list[Week]) -> dict[int, list[int]]:
    """Ledger points per branch for each week: one pass over the weeks' entries."""
    sums = [func.coalesce(func.sum(case((_during(PointEntry.occurred_at, w.start, w.end),
                                         PointEntry.points), else_=0)), 0) for w in weeks]
    rows = session.execute(
        select(PointEntry.branch_id, *sums)
        .where(PointEntry.branch_id.is_not(None),
               _during(PointEntry.occurred_at, weeks[0].start, weeks[-1].end))
        .group_by(PointEntry.branch_id))
    return {bid: [int(v) for v in values] for bid, *values in rows}


def weekly_branch_figures(session: Session, *, weeks: list[Week],
                          tallies: list[Tally]) -> list[list[BranchFigures]]:
    """reports.BranchFigures of every active branch for each week (visits left at 0)."""
    names = branches(session)
    members = active_members(session)
    points = weekly_branch_points(session, weeks=weeks)
    result = []
    for index, week in enumerate(weeks):
        rows = {bid: BranchFigures(branch_id=bid, name=name, members=members.get(bid, 0))
                for bid, name in names.items()}
        for t in in_period(tallies, week.start, week.end):
            row = rows.get(t.branch_id)
            if row is None:
                continue
            row.activities += 1
            row.expected += t.expected
            row.present += t.present
            row.late += t.late
            row.makeup += t.makeup
            row.leave += t.leave
        for bid, row in rows.items():
            row.points = points.get(bid, [0] * len(weeks))[index]
        result.append(list(rows.values()))
    return result


# --- 三会一课, visits, problems ------------------------------------------------------------


def three_meetings_by_month(tallies: list[Tally], *, tz) -> dict[int, dict[int, dict[str, int]]]:
    """branch id -> month (1–12) -> meeting type -> how many were held."""
    table: dict[int, dict[int, dict[str, int]]] = {}
    for t in tallies:
        if t.type not in THREE_MEETINGS:
            continue
        month = t.starts_at.astimezone(tz).month
        cell = table.setdefault(t.branch_id, {}).setdefault(month, {})
        cell[t.type] = cell.get(t.type, 0) + 1
    return table


@dataclass(frozen=True)
class VisitLine:
    branch_id: int
    visits: int
    found: int
    solved: int

    @property
    def open_problems(self) -> int:
        return max(0, self.found - self.solved)


def visits_of_year(session: Session, *, year: int) -> dict[int, VisitLine]:
    """Research visits (调研) and the problems they found and solved, per branch."""
    rows = session.execute(
        select(ResearchVisit.branch_id, func.count(),
               func.coalesce(func.sum(ResearchVisit.problems_found), 0),
               func.coalesce(func.sum(ResearchVisit.problems_solved), 0))
        .where(ResearchVisit.visited_on >= date(year, 1, 1),
               ResearchVisit.visited_on < date(year + 1, 1, 1))
        .group_by(ResearchVisit.branch_id))
    return {bid: VisitLine(bid, int(n), int(found), int(solved)) for bid, n, found, solved in rows}


# --- a branch's members ------------------------------------------------------------------


@dataclass(frozen=True)
class MemberLine:
    member_id: int
    name: str
    role: str
    group: str | None
    year_points: int
    recent: int  # the last four weeks
    before: int  # the four weeks before those


def branch_members(session: Session, *, branch_id: int, year_start: datetime,
                   now: datetime) -> list[MemberLine]:
    """Active members of a branch with their points this year and the last 4 weeks against
    the 4 before (the trend), one statement."""
    recent_start = now - timedelta(days=28)
    before_start = now - timedelta(days=56)

    def sum_between(start, end):
        return func.coalesce(func.sum(case((_during(PointEntry.occurred_at, start, end),
                                            PointEntry.points), else_=0)), 0)

    first = min(year_start, before_start)
    query = (
        select(Member.id, Member.name, Member.role, PartyGroup.name,
               sum_between(year_start, now), sum_between(recent_start, now),
               sum_between(before_start, recent_start))
        .select_from(Member)
        .outerjoin(PartyGroup, PartyGroup.id == Member.party_group_id)
        .outerjoin(PointEntry, and_(PointEntry.member_id == Member.id,
                                    _during(PointEntry.occurred_at, first, now)))
        .where(Member.branch_id == branch_id, Member.active == True)  # noqa: E712
        .group_by(Member.id, Member.name, Member.role, PartyGroup.name)
        .order_by(Member.name, Member.id)
    )
    return [MemberLine(mid, name, role, group, int(year), int(recent), int(before))
            for mid, name, role, group, year, recent, before in session.execute(query)]


@dataclass(frozen=True)
class RatingLine:
    activity_id: int
    type: str
    topic: str
    starts_at: datetime
    count: int
    average: float
    comments: list[str] = field(default_factory=list)


def branch_ratings(session: Session, *, branch_id: int, start: datetime, end: datetime,
                   limit: int = 20) -> list[RatingLine]:
    """评价 of the branch's activities, newest first; comments without who wrote them."""
    rows = session.execute(
        select(Activity.id, Activity.type, Activity.topic, Activity.starts_at,
               func.count(Rating.id), func.avg(Rating.score))
        .join(Rating, Rating.activity_id == Activity.id)
        .where(Activity.branch_id == branch_id, _during(Activity.starts_at, start, end))
        .group_by(Activity.id, Activity.type, Activity.topic, Activity.starts_at)
        .order_by(Activity.starts_at.desc()).limit(limit)).all()
    comments: dict[int, list[str]] = {}
    if rows:
        for aid, text in session.execute(
                select(Rating.activity_id, Rating.comment)
                .where(Rating.activity_id.in_([r[0] for r in rows]),
                       Rating.comment.is_not(None), Rating.comment != "")
                .order_by(Rating.rated_at)):
            comments.setdefault(aid, []).append(text)
    return [RatingLine(aid, kind, topic or "", starts, int(n), round(float(avg), 2),
                       comments.get(aid, []))
            for aid, kind, topic, starts, n, avg in rows]


# --- an activity's attendance sheet ----------------------------------------------------------


@dataclass(frozen=True)
class SheetLine:
    member_id: int
    name: str
    group: str | None
    status: str | None  # AttendanceStatus value; None: no record (not there, not excused)
    checked_in_at: datetime | None
    leave_reason: str | None
    leave_state: str | None
    made_up_by: str | None
    made_up_at: datetime | None
    makeup_reason: str | None


def attendance_sheet(session: Session, *, activity: Activity) -> list[SheetLine]:
    """名单 of one activity: everyone expected plus anyone with a record, in name order."""
    from storage.attendance import _expected_condition

    maker = Member.__table__.alias("maker")
    has_row = select(Attendance.member_id).where(Attendance.activity_id == activity.id)
    query = (
        select(Member.id, Member.name, PartyGroup.name, Attendance.status,
               Attendance.checked_in_at, Attendance.leave_reason, Attendance.leave_state,
               maker.c.name, Attendance.made_up_at, Attendance.makeup_reason)
        .select_from(Member)
        .outerjoin(PartyGroup, PartyGroup.id == Member.party_group_id)
        .outerjoin(Attendance, and_(Attendance.member_id == Member.id,
                                    Attendance.activity_id == activity.id))
        .outerjoin(maker, maker.c.id == Attendance.made_up_by)
        .where(or_(_expected_condition(activity), Member.id.in_(has_row)))
        .order_by(Member.name, Member.id)
    )
    return [SheetLine(*row) for row in session.execute(query)]


# --- one member ------------------------------------------------------------------------


def member_weekly_points(session: Session, *, member_id: int, weeks: list[Week]) -> list[int]:
    sums = [func.coalesce(func.sum(case((_during(PointEntry.occurred_at, w.start, w.end),
                                         PointEntry.points), else_=0)), 0) for w in weeks]
    row = session.execute(
        select(*sums).where(PointEntry.member_id == member_id,
                            _during(PointEntry.occurred_at, weeks[0].start, weeks[-1].end))
    ).one()
    return [int(v) for v in row]


def member_entries(session: Session, *, member_id: int, start: datetime, end: datetime,
                   limit: int = 200) -> list[PointEntry]:
    """The member's ledger lines in [start, end), newest first."""
    return list(session.execute(
        select(PointEntry).where(PointEntry.member_id == member_id,
                                 _during(PointEntry.occurred_at, start, end))
        .order_by(PointEntry.occurred_at.desc(), PointEntry.id.desc()).limit(limit)).scalars())


def member_attendance(session: Session, *, member_id: int, start: datetime, end: datetime,
                      limit: int = 100) -> list[tuple[Activity, Any]]:
    """The member's attendance records in [start, end), newest first."""
    return list(session.execute(
        select(Activity, Attendance)
        .join(Attendance, Attendance.activity_id == Activity.id)
        .where(Attendance.member_id == member_id, _during(Activity.starts_at, start, end))
        .order_by(Activity.starts_at.desc()).limit(limit)).all())
