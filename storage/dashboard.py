"""The dashboard's figures (看板): weekly trends, tier history, 三会一课, sheets, a member's record.

Aggregated in the database like storage/reports.py, whose figures they must equal: the
weekly branch figures here are reports.BranchFigures built from per-activity tallies, so
the tier of a week on the dashboard is the tier 周报 gave that week (a test checks it).
Query functions are keyword-only and never commit.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any, Generic, TypeVar

from sqlalchemy import and_, case, func, or_, select
from sqlmodel import Session

from bot.domain.points import week_of
from storage import committee, reports
from storage.attendance import CANCELLED, CLOSED
from storage.models import (
    Activity,
    ActivityType,
    Attendance,
    AttendanceStatus,
    AuditEntry,
    Branch,
    LeaveState,
    Member,
    PartyGroup,
    PastMembership,
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


T = TypeVar("T")


@dataclass(frozen=True)
class Listed(Generic[T]):
    """The first rows of a list and how many it has in all.

    A page that lists only some of a list must say how many it left out, and a heading's
    count must be the list's, not the page's: a cut list read as whole is a wrong figure.
    """

    rows: list[T]
    total: int

    @property
    def hidden(self) -> int:
        return self.total - len(self.rows)


def _count(session: Session, query) -> int:
    return int(session.execute(
        select(func.count()).select_from(query.order_by(None).subquery())).scalar_one())


def _listed(session: Session, query, limit: int | None, *, scalars: bool = False) -> Listed:
    """`query`'s rows (the first `limit` of them, when given) and how many it has in all."""
    result = session.execute(query if limit is None else query.limit(limit))
    found = list(result.scalars() if scalars else result.all())
    # Fewer rows than the limit are the whole list: no need to count it again.
    total = len(found) if limit is None or len(found) < limit else _count(session, query)
    return Listed(found, total)


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
    frozen: int | None = None  # Activity.expected_count when counted (None: not frozen yet)
    status: str = CLOSED
    ends_at: datetime | None = None
    finalized: bool = True  # absences confirmed (Activity.finalized_at)

    @property
    def attended(self) -> int:
        return self.present + self.late + self.makeup

    @property
    def pending(self) -> int:
        """Missing but not confirmed absent yet (补签 may still come): out of the rate's base,
        as reports.BranchFigures.unconfirmed."""
        return 0 if self.finalized else max(0, self.expected - self.attended - self.leave)

    @property
    def cancelled(self) -> bool:
        return self.status == CANCELLED

    def held_by(self, cutoff: datetime) -> bool:
        """Counted in figures as reports.branch_figures counts: not cancelled, and ended
        (closed, or past its end by `cutoff`), so a running one drags no rate down."""
        if self.cancelled:
            return False
        return self.status == CLOSED or (self.ends_at is not None and self.ends_at <= cutoff)


def held(tallies: list[Tally], cutoff: datetime) -> list[Tally]:
    return [t for t in tallies if t.held_by(cutoff)]


def _status(*statuses: str):
    return func.coalesce(func.sum(case((Attendance.status.in_(statuses), 1), else_=0)), 0)


def activity_tallies(session: Session, *, start: datetime, end: datetime,
                     branch_id: int | None = None,
                     only: list[int] | None = None) -> list[Tally]:
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
    if only is not None:
        counts = counts.where(Activity.id.in_(only))
    counts = counts.subquery()
    query = (
        select(Activity.id, Activity.branch_id, Activity.type, Activity.topic, Activity.lecturer,
               Activity.starts_at, func.coalesce(Activity.expected_count, _live_expected()),
               Activity.expected_count, counts.c.present, counts.c.late, counts.c.makeup,
               counts.c.leave, Activity.status, Activity.ends_at, Activity.finalized_at)
        .outerjoin(counts, counts.c.activity_id == Activity.id)
        .where(Activity.branch_id.is_not(None), _during(Activity.starts_at, start, end))
        .order_by(Activity.starts_at, Activity.id)
    )
    if branch_id is not None:
        query = query.where(Activity.branch_id == branch_id)
    if only is not None:
        query = query.where(Activity.id.in_(only))
    return [
        Tally(activity_id=aid, branch_id=bid, type=kind, topic=topic or "", lecturer=lecturer,
              starts_at=starts, expected=int(expected or 0), present=int(present or 0),
              late=int(late or 0), makeup=int(makeup or 0), leave=int(leave or 0), frozen=frozen,
              status=status, ends_at=ends, finalized=finalized is not None)
        for (aid, bid, kind, topic, lecturer, starts, expected, frozen, present, late, makeup,
             leave, status, ends, finalized) in session.execute(query)
    ]


@dataclass(frozen=True)
class Rate:
    attended: int = 0
    expected: int = 0
    leave: int = 0
    pending: int = 0  # not confirmed absent yet: out of the base, as in the reports

    def __add__(self, other: "Rate") -> "Rate":
        return Rate(self.attended + other.attended, self.expected + other.expected,
                    self.leave + other.leave, self.pending + other.pending)

    @property
    def base(self) -> int:
        return self.expected - self.leave - self.pending

    @property
    def value(self) -> float | None:
        return None if self.base <= 0 else min(1.0, self.attended / self.base)


def rate_of(tallies: list[Tally]) -> Rate:
    """The participation of these activities, by the reports' rule (pass `held` ones)."""
    total = Rate()
    for t in tallies:
        total = total + Rate(t.attended, t.expected, t.leave, t.pending)
    return total


def period_rate(tallies: list[Tally], start: datetime, end: datetime,
                now: datetime | None = None) -> float | None:
    """Participation in [start, end) as the reports count it: activities that started in
    it and have ended by `now` (by the end, without one: not running, not cancelled),
    absences not confirmed yet out of the base."""
    cutoff = end if now is None else now
    return rate_of(held(in_period(tallies, start, end), cutoff)).value


def in_period(tallies: list[Tally], start: datetime, end: datetime) -> list[Tally]:
    # Compared in UTC, as stored: comparing across zones costs a utcoffset() per row.
    start, end = start.astimezone(timezone.utc), end.astimezone(timezone.utc)
    return [t for t in tallies if start <= t.starts_at < end]


# --- the branches, week by week -----------------------------------------------------------


def branches(session: Session, *, include_inactive: bool = False) -> dict[int, str]:
    query = select(Branch.id, Branch.name).order_by(Branch.id)
    if not include_inactive:
        query = query.where(Branch.active == True)  # noqa: E712
    return dict(session.execute(query).all())


def weekly_branch_points(session: Session, *, weeks: list[Week],
                         upto: int | None = None) -> dict[int, list[int]]:
    """Ledger points per branch for each week: one pass over the weeks' entries
    (those with id <= upto when given)."""
    sums = [func.coalesce(func.sum(case((_during(PointEntry.occurred_at, w.start, w.end),
                                         PointEntry.points), else_=0)), 0) for w in weeks]
    rows = session.execute(
        select(PointEntry.branch_id, *sums)
        .where(PointEntry.branch_id.is_not(None),
               _during(PointEntry.occurred_at, min(w.start for w in weeks),
                       max(w.end for w in weeks)),
               *([PointEntry.id <= upto] if upto is not None else []))
        .group_by(PointEntry.branch_id))
    return {bid: [int(v) for v in values] for bid, *values in rows}


def weekly_branch_figures(session: Session, *, weeks: list[Week], tallies: list[Tally],
                          cache: "FigureCache | None" = None, tz=None,
                          now: datetime | None = None) -> list[list[BranchFigures]]:
    """reports.BranchFigures for each week of every active branch that existed by its end,
    and of an ended one (临时党支部) in the weeks it held activities, as 周报 lists them
    (visits left at 0), as of `now` (each week's end without one)."""
    names = branches(session, include_inactive=True)
    opened = dict(session.execute(
        select(Branch.id, Branch.created_at).where(Branch.active == True)).all())  # noqa: E712
    # What storage.figures reads to tier a week as 周报 does: a 临时党支部 that stood through
    # it and ended later takes its quota place (without its end date it was taken for one
    # ended, left out, and the lowest standing branch turned blue here alone), and one set up
    # in it takes none.
    kept = {bid: (bool(temporary), created, ends_on) for bid, temporary, created, ends_on
            in session.execute(select(Branch.id, Branch.temporary, Branch.created_at,
                                      Branch.ends_on)).all()}
    first = session.execute(select(func.min(Branch.created_at)).where(
        Branch.temporary == False)).scalar_one()  # noqa: E712
    points = (cache.weekly_points(session, weeks=weeks, tz=tz) if cache is not None
              else weekly_branch_points(session, weeks=weeks))
    week_members = (cache.weekly_members(session, weeks=weeks, tz=tz) if cache is not None
                    else [reports.branch_members(session, start=w.start, end=w.end)
                          for w in weeks])
    result = []
    for index, week in enumerate(weeks):
        # As build_report counts a week: ended by now, cancelled ones nowhere.
        week_held = held(in_period(tallies, week.start, week.end), now or week.end)
        listed = ({bid for bid, created in opened.items() if created < week.end}
                  | {t.branch_id for t in week_held})
        # The members of each week, as 周报 counts them: who was in the branch that week.
        members = week_members[index]
        rows = {bid: BranchFigures(branch_id=bid, name=name, members=members.get(bid, 0),
                                   standing=bid in opened, temporary=kept[bid][0],
                                   created_at=kept[bid][1], first_roster=first,
                                   ends_on=kept[bid][2])
                for bid, name in names.items() if bid in listed}
        for t in week_held:
            row = rows.get(t.branch_id)
            if row is None:
                continue
            row.activities += 1
            row.expected += t.expected
            row.present += t.present
            row.late += t.late
            row.makeup += t.makeup
            row.leave += t.leave
            row.unconfirmed += t.pending
        for bid, row in rows.items():
            row.points = points.get(bid, [0] * len(weeks))[index]
        result.append(list(rows.values()))
    return result


# --- 三会一课, visits, problems ------------------------------------------------------------


def three_meetings_by_month(tallies: list[Tally], *, tz) -> dict[int, dict[int, dict[str, int]]]:
    """branch id -> month (1–12) -> meeting type -> how many were held."""
    table: dict[int, dict[int, dict[str, int]]] = {}
    for t in tallies:
        if t.type not in THREE_MEETINGS or t.cancelled:
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
    """Research visits (调研) and the problems found and solved, per branch (counted as
    committee.problems_by_branch counts them, 整改 items included); a withdrawn visit
    (撤销调研) counts nowhere, as in 调研记录 and 周报."""
    first, last = date(year, 1, 1), date(year, 12, 31)
    visits = dict(session.execute(
        select(ResearchVisit.branch_id, func.count())
        .where(ResearchVisit.visited_on >= first, ResearchVisit.visited_on <= last,
               ResearchVisit.withdrawn_at.is_(None))  # type: ignore[union-attr]
        .group_by(ResearchVisit.branch_id)).all())
    problems = committee.problems_by_branch(session, first=first, last=last)
    return {bid: VisitLine(bid, int(visits.get(bid, 0)), p.found, p.solved)
            for bid, p in problems.items()} | {
        bid: VisitLine(bid, int(n), 0, 0) for bid, n in visits.items() if bid not in problems}


def bureau_activities(session: Session, *, start: datetime, end: datetime) -> list[Activity]:
    """Activities of the whole bureau (no branch: 中心组学习, 第一议题…), newest first, all
    of them: a year holds a few dozen (the report counts 13 + 26), as many as one branch's
    activities, which its page lists whole too."""
    return list(session.execute(
        select(Activity)
        .where(Activity.branch_id.is_(None), _during(Activity.starts_at, start, end))
        .order_by(Activity.starts_at.desc(), Activity.id.desc())).scalars())


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
    off_boards: bool = False  # 不参与排行: listed for the branch's own staff, not on boards


def branch_members(session: Session, *, branch_id: int, year_start: datetime,
                   year_end: datetime, now: datetime) -> list[MemberLine]:
    """Active members of a branch with their points this year and the last 4 weeks against
    the 4 before (the trend), one statement."""
    recent_start = now - timedelta(days=28)
    before_start = now - timedelta(days=56)

    def sum_between(start, end):
        return func.coalesce(func.sum(case((_during(PointEntry.occurred_at, start, end),
                                            PointEntry.points), else_=0)), 0)

    # Up to the year's end, as 积分 sums it, not up to now: a check-in in the half hour before
    # an activity starts is given at once but dated at the start, still ahead of now.
    first = min(year_start, before_start)
    query = (
        select(Member.id, Member.name, Member.role, PartyGroup.name,
               sum_between(year_start, year_end), sum_between(recent_start, year_end),
               sum_between(before_start, recent_start), Member.leaderboard_opt_out)
        .select_from(Member)
        .outerjoin(PartyGroup, PartyGroup.id == Member.party_group_id)
        .outerjoin(PointEntry, and_(PointEntry.member_id == Member.id,
                                    _during(PointEntry.occurred_at, first, year_end)))
        .where(Member.branch_id == branch_id, Member.active == True)  # noqa: E712
        .group_by(Member.id, Member.name, Member.role, PartyGroup.name,
                  Member.leaderboard_opt_out)
        .order_by(Member.name, Member.id)
    )
    return [MemberLine(mid, name, role, group, int(year), int(recent), int(before), bool(off))
            for mid, name, role, group, year, recent, before, off in session.execute(query)]


@dataclass(frozen=True)
class RatingLine:
    activity_id: int
    type: str
    topic: str
    starts_at: datetime
    count: int
    average: float  # as counted: the page rounds it, once, as the chat's 活动 does
    comments: list[str] = field(default_factory=list)


RATINGS_LISTED = 20  # rated activities; each carries all its comments, so a year is long


def branch_ratings(session: Session, *, branch_id: int, start: datetime, end: datetime,
                   limit: int | None = RATINGS_LISTED) -> Listed[RatingLine]:
    """评价 of the branch's activities, newest first (the first `limit` of them, with how
    many activities were rated in all); comments without who wrote them."""
    listed = _listed(session, (
        select(Activity.id, Activity.type, Activity.topic, Activity.starts_at,
               func.count(Rating.id), func.avg(Rating.score))
        .join(Rating, Rating.activity_id == Activity.id)
        .where(Activity.branch_id == branch_id, _during(Activity.starts_at, start, end))
        .group_by(Activity.id, Activity.type, Activity.topic, Activity.starts_at)
        .order_by(Activity.starts_at.desc(), Activity.id.desc())), limit)
    rows = listed.rows
    comments: dict[int, list[str]] = {}
    if rows:
        for aid, text in session.execute(
                select(Rating.activity_id, Rating.comment)
                .where(Rating.activity_id.in_([r[0] for r in rows]),
                       Rating.comment.is_not(None), Rating.comment != "")
                .order_by(Rating.rated_at)):
            comments.setdefault(aid, []).append(text)
    return Listed([RatingLine(aid, kind, topic or "", starts, int(n), float(avg),
                              comments.get(aid, []))
                   for aid, kind, topic, starts, n, avg in rows], listed.total)


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
    from storage.attendance import _counted_condition, with_record

    maker = Member.__table__.alias("maker")
    has_row = with_record(activity.id)
    query = (
        select(Member.id, Member.name, PartyGroup.name, Attendance.status,
               Attendance.checked_in_at, Attendance.leave_reason, Attendance.leave_state,
               maker.c.name, Attendance.made_up_at, Attendance.makeup_reason)
        .select_from(Member)
        .outerjoin(PartyGroup, PartyGroup.id == Member.party_group_id)
        .outerjoin(Attendance, and_(Attendance.member_id == Member.id,
                                    Attendance.activity_id == activity.id))
        .outerjoin(maker, maker.c.id == Attendance.made_up_by)
        .where(or_(_counted_condition(activity), Member.id.in_(has_row)))
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


def member_points(session: Session, *, member_id: int, start: datetime, end: datetime) -> int:
    """The member's ledger total in [start, end): every line, not only those listed."""
    return int(session.execute(
        select(func.coalesce(func.sum(PointEntry.points), 0))
        .where(PointEntry.member_id == member_id,
               _during(PointEntry.occurred_at, start, end))).scalar_one())


# A year of ledger lines has no natural bound (every study log is one), so the page lists
# the latest and says how many more there are.
ENTRIES_LISTED = 200


def member_entries(session: Session, *, member_id: int, start: datetime, end: datetime,
                   limit: int | None = ENTRIES_LISTED) -> Listed[PointEntry]:
    """The member's ledger lines in [start, end), newest first: the first `limit`, and how
    many there are in all."""
    return _listed(session, (
        select(PointEntry).where(PointEntry.member_id == member_id,
                                 _during(PointEntry.occurred_at, start, end))
        .order_by(PointEntry.occurred_at.desc(), PointEntry.id.desc())), limit, scalars=True)


def member_attendance(session: Session, *, member_id: int, start: datetime,
                      end: datetime) -> list[tuple[Activity, Any]]:
    """The member's attendance records in [start, end), newest first, all of them: one per
    activity at most, the bound the branch page's list of the year's activities has too."""
    return list(session.execute(
        select(Activity, Attendance)
        .join(Attendance, Attendance.activity_id == Activity.id)
        .where(Attendance.member_id == member_id, _during(Activity.starts_at, start, end))
        .order_by(Activity.starts_at.desc(), Activity.id.desc())).all())


# --- sessions ended by 退出 ------------------------------------------------------------------

# A session cookie is a signed token, valid for its hours wherever it is presented; 退出 puts
# its id on record so that a copy of it (another browser, a shared phone) opens nothing more.
SIGN_OUT = "web.logout"


def _session_target(session_id: str) -> str:
    return f"session {session_id}"


def end_session(session: Session, *, session_id: str, member_id: int, name: str,
                now: datetime) -> None:
    """Record 退出 of one session, in the audit trail as its sign-in is."""
    session.add(AuditEntry(at=now, actor_id=member_id, actor=name, action=SIGN_OUT,
                           target=_session_target(session_id)))


def session_ended(session: Session, *, session_id: str, since: datetime) -> bool:
    """Whether the session was signed out of; `since` is when it began (the index on the
    audit's time keeps this to the sign-outs of the last hours)."""
    return session.execute(
        select(AuditEntry.id).where(AuditEntry.at >= since, AuditEntry.action == SIGN_OUT,
                                    AuditEntry.target == _session_target(session_id))
        .limit(1)).first() is not None


# --- kept between page views -----------------------------------------------------------------


# How far back the cache looks again for changes, so a write stamped by a replica whose
# clock runs a little behind, or committed late, is still seen.
RECHECK = timedelta(hours=1)
RECHECK_ENTRIES = 1000


class FigureCache:
    """Per-activity tallies, per-branch weekly points and members, kept in the serving
    process.

    A year of a big bureau is a million attendance rows; adding them up on every page view
    costs seconds (docs/benchmarks.md). Both things kept here are cheap to keep exact:
    - a tally is recounted when its activity's attendance changed (Attendance.updated_at,
      indexed, looked at again for the last hour) or while its expected count is not
      frozen yet (the live count follows the roster; finalizing freezes it once);
    - the ledger only grows (a correction is a new entry), so weekly points take each new
      entry once, found by id (the last few thousand ids are looked at again, for
      entries committed out of id order);
    - a week's members are counted again when the roster changed or a ledger entry dated
      in that week came (weekly_members).
    What it returns equals the uncached queries above (tests/test_dashboard.py checks).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tallies: dict[int, Tally] = {}
        self._checked: datetime | None = None
        self._week_points: dict[datetime, dict[int, int]] = {}  # week start -> branch -> points
        self._entries_seen: int = 0
        self._recent_ids: set[int] = set()
        # week start -> branch -> members (reports.branch_members), the last ledger entry
        # looked at for them, and the roster they were counted on.
        self._week_members: dict[datetime, dict[int, int]] = {}
        self._members_seen: int = 0
        self._roster: tuple | None = None

    def tallies(self, session: Session, *, start: datetime, end: datetime,
                branch_id: int | None = None) -> list[Tally]:
        with self._lock:
            self._refresh_tallies(session)
            wanted = self._activity_ids(session, start, end, branch_id)
            missing = [a for a in wanted if a not in self._tallies]
            if len(missing) > 200:  # first look at this span: count it in one pass, keep it
                fresh = activity_tallies(session, start=start, end=end, branch_id=branch_id)
            else:
                fresh = _tallies_of(session, missing)
            for t in fresh:
                self._tallies[t.activity_id] = t
            found = [self._tallies[a] for a in wanted if a in self._tallies]
        return sorted(found, key=lambda t: (t.starts_at, t.activity_id))

    @staticmethod
    def _activity_ids(session: Session, start: datetime, end: datetime,
                      branch_id: int | None) -> list[int]:
        query = select(Activity.id).where(Activity.branch_id.is_not(None),
                                          _during(Activity.starts_at, start, end))
        if branch_id is not None:
            query = query.where(Activity.branch_id == branch_id)
        return list(session.execute(query).scalars())

    def _refresh_tallies(self, session: Session) -> None:
        latest = session.execute(select(func.max(Attendance.updated_at))).scalar()
        if not self._tallies or self._checked is None:
            self._checked = latest
            return
        # Not DISTINCT: SQLite would then walk the activity_id index instead of this range.
        stale = set(session.execute(
            select(Attendance.activity_id)
            .where(Attendance.updated_at >= self._checked - RECHECK)).scalars())
        # Unfrozen counts follow the roster (and get frozen when the record is closed).
        stale |= {aid for aid, t in self._tallies.items() if t.frozen is None}
        # 取消活动 changes no attendance row, and may come after the count was frozen.
        stale |= set(session.execute(
            select(Activity.id)
            .where(Activity.cancelled_at >= self._checked - RECHECK)).scalars())
        ids = sorted(stale & set(self._tallies))
        for chunk in range(0, len(ids), 900):
            for t in _tallies_of(session, ids[chunk:chunk + 900]):
                self._tallies[t.activity_id] = t
        if latest is not None:
            self._checked = latest

    def weekly_points(self, session: Session, *, weeks: list[Week], tz) -> dict[int, list[int]]:
        with self._lock:
            last = session.execute(select(func.max(PointEntry.id))).scalar() or 0
            if last < self._entries_seen:  # the database was replaced (a restore): start over
                self._week_points.clear()
                self._entries_seen, self._recent_ids = 0, set()
            if self._week_points:
                for entry_id, branch, at, points in session.execute(
                        select(PointEntry.id, PointEntry.branch_id, PointEntry.occurred_at,
                               PointEntry.points)
                        .where(PointEntry.id > self._entries_seen - RECHECK_ENTRIES,
                               PointEntry.id <= last, PointEntry.branch_id.is_not(None))):
                    if entry_id in self._recent_ids or entry_id <= 0:
                        continue
                    self._recent_ids.add(entry_id)
                    week = self._week_points.get(week_of(at, tz).start)
                    if week is not None:
                        week[branch] = week.get(branch, 0) + points
            missing = [w for w in weeks if w.start not in self._week_points]
            if missing:
                counted = weekly_branch_points(session, weeks=missing, upto=last)
                for index, w in enumerate(missing):
                    self._week_points[w.start] = {b: v[index] for b, v in counted.items()}
                if not self._recent_ids:
                    self._recent_ids = set(session.execute(
                        select(PointEntry.id).where(PointEntry.id > last - RECHECK_ENTRIES,
                                                    PointEntry.id <= last)).scalars())
            self._entries_seen = last
            self._recent_ids = {i for i in self._recent_ids if i > last - RECHECK_ENTRIES}
            branches_ = {b for w in weeks for b in self._week_points[w.start]}
            return {b: [self._week_points[w.start].get(b, 0) for w in weeks] for b in branches_}

    def weekly_members(self, session: Session, *, weeks: list[Week],
                       tz) -> list[dict[int, int]]:
        """reports.branch_members of each week (the average points' base), kept. A week is
        counted again when a ledger entry dated in it has come since (found by id, the last
        few thousand looked at again, as weekly_points does) or the roster changed:
        someone added, moved, back, or off it (each moves branch_since or the count of
        active members, or ends a spell). Twelve weeks counted afresh on every view of the
        bureau page cost more than the rest of the page (docs/benchmarks.md)."""
        with self._lock:
            roster = (*session.execute(select(
                func.count(Member.id), func.sum(case((Member.active == True, 1), else_=0)),  # noqa: E712
                func.max(Member.created_at), func.max(Member.branch_since))).one(),
                session.execute(select(func.max(PastMembership.id))).scalar())
            last = session.execute(select(func.max(PointEntry.id))).scalar() or 0
            if roster != self._roster or last < self._members_seen:  # or a restore
                self._week_members.clear()
                self._roster = roster
            elif self._week_members:
                for (at,) in session.execute(
                        select(PointEntry.occurred_at)
                        .where(PointEntry.id > self._members_seen - RECHECK_ENTRIES,
                               PointEntry.id <= last)):
                    self._week_members.pop(week_of(at, tz).start, None)
            self._members_seen = last
            for week in weeks:
                if week.start not in self._week_members:
                    self._week_members[week.start] = reports.branch_members(
                        session, start=week.start, end=week.end)
            return [self._week_members[week.start] for week in weeks]


def _tallies_of(session: Session, activity_ids: list[int]) -> list[Tally]:
    """activity_tallies for named activities (those the cache found changed)."""
    if not activity_ids:
        return []
    first, last = session.execute(
        select(func.min(Activity.starts_at), func.max(Activity.starts_at))
        .where(Activity.id.in_(activity_ids))).one()
    wanted = set(activity_ids)
    return [t for t in activity_tallies(session, start=first, end=last + timedelta(seconds=1),
                                        only=activity_ids)
            if t.activity_id in wanted]
