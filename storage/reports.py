"""Points and participation figures, aggregated by the database (GROUP BY), never row by row.

Query functions are keyword-only and never commit. `build_report` gathers the figures of
a period and of the period before it. The statements are here (`figure_statements`);
what their rows mean, and the text leaders read (`render_markdown`, `render_json`,
`write_xlsx`), are in storage.figures, which the shell's quick report shares.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timezone, tzinfo
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    Date,
    Integer,
    Select,
    and_,
    bindparam,
    case,
    func,
    literal,
    or_,
    select,
    union,
)
from sqlalchemy.orm import aliased
from sqlmodel import Session

from bot.domain.attendance import ATTENDED, BRANCH_COMMITTEE_ROLES, BRANCH_COMMITTEE_TYPES
from bot.domain.points import (
    LedgerItem,
    Tie,
    board_may_name,
    public_board_size,
    rule_base,
    tie_line,
)
from bot.domain.rules import Rules
from storage import figures
from storage.attendance import CANCELLED, CLOSED, ROW_KINDS, row_of, with_record
from storage.figures import (  # noqa: F401 - where callers have always found them
    BRANCH_COLUMNS,
    BranchFigures,
    BranchLine,
    BranchStanding,
    LeaderRow,
    Report,
    cut_at_tie,
    leader_rows,
    own_reference,
    reference_note,
    render_json,
    render_markdown,
    report_dict,
    standings,
    unconfirmed_note,
    write_xlsx,
)
from storage.membership import in_place_at
from storage.models import (
    Activity,
    Attendance,
    AttendanceStatus,
    Branch,
    LeaveState,
    Member,
    PastMembership,
    PointEntry,
    ResearchVisit,
    RuleSet,
    StudyLog,
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
    # The points the rank counts: those earned in the branch in the ranking period (less
    # than points[rank_in] for a member who came from another branch this period).
    ranked_points: int = 0


def member_standing(session: Session, *, member_id: int, branch_id: int | None,
                    periods: dict[str, tuple[datetime, datetime]],
                    rank_in: str) -> MemberStanding:
    """A member's points in several periods and their rank in the branch over one of them.

    One statement, because 积分 is the command members send most. Ties share a rank
    (1, 1, 3); members who left the public ranking get no rank but keep their points. The
    rank counts each member's points earned in the branch (entries posted to it), so a
    member who moved here is not ranked with points the old branch counts.
    """
    names = list(periods)
    params: dict[str, Any] = {"member_id": member_id, "branch_id": branch_id,
                              "first": min(start for start, _ in periods.values()),
                              "last": max(end for _, end in periods.values())}
    for index, (start, end) in enumerate(periods.values()):
        params[f"start{index}"], params[f"end{index}"] = start, end
    statement = _standing_statement(len(names), names.index(rank_in), branch_id is not None)
    *values, here, above, ranked, listed = session.execute(statement, params).one()
    return MemberStanding(
        points={name: int(v) for name, v in zip(names, values)},
        rank=int(above) + 1 if listed else None,
        of=int(ranked),
        ranked_points=int(here),
    )


@lru_cache(maxsize=8)
def _standing_statement(period_count: int, rank_index: int, ranked: bool):
    # Built once per shape with bound parameters: constructing this statement costs
    # more Python time than SQLite needs to run it (see docs/benchmarks.md).
    def at(name: str):
        return bindparam(name, type_=UTCDateTime())

    here = func.coalesce(func.sum(case(
        (and_(_during(PointEntry.occurred_at, at(f"start{rank_index}"), at(f"end{rank_index}")),
              PointEntry.branch_id == bindparam("branch_id")), PointEntry.points),
        else_=0)), 0).label("here")
    mine = (
        select(*[
            func.coalesce(func.sum(case(
                (_during(PointEntry.occurred_at, at(f"start{i}"), at(f"end{i}")),
                 PointEntry.points), else_=0)), 0).label(f"p{i}")
            for i in range(period_count)
        ], here)
        .where(PointEntry.member_id == bindparam("member_id"),
               _during(PointEntry.occurred_at, at("first"), at("last")))
        .cte("mine")
    )
    columns = [mine.c[f"p{i}"] for i in range(period_count)]
    if not ranked:
        return select(*columns, literal(0), literal(0), literal(0), literal(0))
    points = func.coalesce(func.sum(PointEntry.points), 0)
    totals = (
        select(Member.id.label("member_id"), points.label("points"))
        .select_from(Member)
        .outerjoin(PointEntry, and_(
            PointEntry.member_id == Member.id,
            PointEntry.branch_id == bindparam("branch_id"),
            _during(PointEntry.occurred_at, at(f"start{rank_index}"), at(f"end{rank_index}"))))
        .where(Member.branch_id == bindparam("branch_id"), _ranked_members())
        .group_by(Member.id)
        .cte("totals")
    )
    return select(
        *columns, mine.c.here,
        select(func.count()).where(totals.c.points > mine.c.here).scalar_subquery(),
        select(func.count()).select_from(totals).scalar_subquery(),
        select(func.count()).where(totals.c.member_id == bindparam("member_id"))
        .scalar_subquery(),
    )


def _ranked_points(*, of_branch: bool) -> tuple[Select, Any]:
    """Each member's points in [start, end), above zero, ranked (a tie shares its rank):
    in one branch (`branch_id`: its members, by the points they earned in it, so one who
    moved here brings none of the old branch's) or bureau-wide (all of their points);
    and the points expression."""
    points = func.sum(PointEntry.points)
    query = (
        select(Member.id.label("member_id"), Member.name.label("name"),
               Branch.name.label("branch"), points.label("points"),
               func.rank().over(order_by=points.desc()).label("rank"))
        .select_from(PointEntry)
        .join(Member, Member.id == PointEntry.member_id)
        .outerjoin(Branch, Branch.id == Member.branch_id)
        .where(_during(PointEntry.occurred_at, bindparam("start", type_=UTCDateTime()),
                       bindparam("end", type_=UTCDateTime())), _ranked_members())
        .group_by(Member.id, Member.name, Branch.name)
        .having(points > 0)
    )
    if of_branch:
        query = query.where(Member.branch_id == bindparam("branch_id"),
                            PointEntry.branch_id == bindparam("branch_id"))
    return query, points


@lru_cache(maxsize=2)
def _leaderboard_statement(*, of_branch: bool) -> Select:
    """The first `limit` of _ranked_points, in order."""
    query, points = _ranked_points(of_branch=of_branch)
    return (query.order_by(points.desc(), Member.name, Member.id)
            .limit(bindparam("limit", type_=Integer())))


@lru_cache(maxsize=1)
def _top_statement() -> Select:
    """The bureau's top members ranked at most `limit`: a tie at the cut comes whole (ranks
    1, 1, 3 … 9, 9, 9 with a limit of 10), for storage.figures.cut_at_tie to count."""
    ranked = _ranked_points(of_branch=False)[0].subquery("ranked")
    return (
        select(ranked.c.member_id, ranked.c.name, ranked.c.branch, ranked.c.points,
               ranked.c.rank)
        .where(ranked.c.rank <= bindparam("limit", type_=Integer()))
        .order_by(ranked.c.points.desc(), ranked.c.name, ranked.c.member_id)
    )


def leaderboard(session: Session, *, branch_id: int | None, start: datetime, end: datetime,
                limit: int = 10) -> list[LeaderRow]:
    """The top members by points in [start, end): of one branch, or bureau-wide when None.

    Only members with points above zero are listed and never a bottom list: the board
    is there to recognise effort, not to expose anyone.
    """
    return leader_rows(session.execute(
        _leaderboard_statement(of_branch=branch_id is not None),
        {"start": start, "end": end, "limit": limit, "branch_id": branch_id}))


def bureau_top(session: Session, *, start: datetime, end: datetime,
               limit: int = 10) -> tuple[list[LeaderRow], Tie | None]:
    """The bureau's top members, at most `limit`, as the weekly report lists them: a tie the
    cut would split is counted, not named (storage.figures.cut_at_tie)."""
    return figures.cut_at_tie(leader_rows(session.execute(
        _top_statement(), {"start": start, "end": end, "limit": limit})), limit)


def weekly_leaderboard(session: Session, *, branch_id: int, start: datetime, end: datetime,
                       limit: int = 10) -> list[LeaderRow]:
    """The branch leaderboard the weekly push shows (same rules as 排行榜)."""
    return leaderboard(session, branch_id=branch_id, start=start, end=end, limit=limit)


@dataclass(frozen=True)
class PublicBoard:
    rows: list[LeaderRow]
    scored: int  # how many members scored above zero
    # A tie that the cut would split, given as a count instead of names (see tie_line).
    tie: Tie | None = None

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
        lines.append(tie_line(board.tie, unit, after_names=bool(board.rows)))
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


@dataclass(frozen=True)
class LedgerView:
    """A member's latest entries and what each was for, for 积分明细 to say in words."""

    entries: list[PointEntry]  # newest first
    activities: dict[int, Activity]  # by entry id: the activity it was earned or corrected at
    studies: dict[int, StudyLog]  # by entry id: the study it was earned for or withdrawn from
    reverses: dict[int, int]  # a reversing entry's id → the id of the entry it reverses
    # The digest of the rules version each entry names, by ruleset id: an entry counted by
    # an earlier version says so, since 积分规则 shows only the rules loaded now.
    digests: dict[int, str] = field(default_factory=dict)

    def item(self, entry: PointEntry, current: str | None = None) -> LedgerItem:
        """An entry with what it was for: its activity, or its study; and, given the digest
        of the rules loaded now (`current`), the version it was counted by when not that one.
        积分明细 in the chat and the dashboard's member page say an entry alike from it."""
        label, cancelled, cancel_why = None, None, None
        activity = self.activities.get(entry.id)
        if activity is not None:
            # 主题党日「学习新党章」出席: the activity itself, not the rule's key.
            label = f"{activity.type}「{activity.topic}」" if activity.topic \
                else f"{activity.type} "
            if activity.status == CANCELLED:
                cancelled = activity.id
                cancel_why = f"活动已取消：{activity.cancel_reason}" if activity.cancel_reason \
                    else "活动已取消"
        elif (study := self.studies.get(entry.id)) is not None:
            label = f"自学「{study.kind}」{study.minutes}分钟"
        digest = self.digests.get(entry.ruleset_id) if entry.ruleset_id is not None else None
        return LedgerItem(id=entry.id, when=entry.occurred_at, points=entry.points,
                          rule=entry.rule, note=entry.note, label=label,
                          reverses=self.reverses.get(entry.id), cancelled=cancelled,
                          cancel_why=cancel_why,
                          by_cancel=str(entry.source_id).startswith("cancel:"),
                          by_restore=str(entry.source_id).startswith("restore:"),
                          version=digest[:8] if digest and current and digest != current
                          else None)


def ledger_view(session: Session, *, member_id: int, limit: int | None,
                start: datetime | None = None, end: datetime | None = None) -> LedgerView:
    """The member's latest `limit` entries (all of them in [start, end) when given) with
    their activities, studies, reversals and rules versions."""
    if start is not None and end is not None:
        entries = list(session.execute(
            select(PointEntry)
            .where(PointEntry.member_id == member_id, PointEntry.occurred_at >= start,
                   PointEntry.occurred_at < end)
            .order_by(PointEntry.occurred_at.desc(), PointEntry.id.desc())
        ).scalars())
    else:
        entries = recent_entries(session, member_id=member_id, limit=limit or 10)
    return view_of(session, entries)


def view_of(session: Session, entries: list[PointEntry]) -> LedgerView:
    """These entries with their activities, studies, reversals and rules versions."""
    ids = {e.ruleset_id for e in entries if e.ruleset_id is not None}
    digests = dict(session.execute(select(RuleSet.id, RuleSet.digest)
                                   .where(RuleSet.id.in_(ids))).all()) if ids else {}
    return LedgerView(entries, entry_activities(session, entries=entries),
                      entry_studies(session, entries=entries), reversed_entries(entries),
                      digests)


def entry_moments(session: Session, *, member_id: int) -> list[tuple[datetime, int, datetime]]:
    """Every entry of a member as (occurred_at, points, created_at): 积分明细 全部 adds them
    up by month, and the latest view finds corrections made lately on older lines."""
    return [(at, points, made) for at, points, made in session.execute(
        select(PointEntry.occurred_at, PointEntry.points, PointEntry.created_at)
        .where(PointEntry.member_id == member_id)
        .order_by(PointEntry.occurred_at.desc(), PointEntry.id.desc())).all()]


def _reversed_id(source_id: str) -> int | None:
    """The entry a correction names as the one it reverses (cancel:7:123, a later round's
    cancel:7:123#1, restore:7:456 of a 恢复活动, study:5:123, repair:123); None for a row's
    correction (12, 12#2), which names the row."""
    kind, _, rest = source_id.partition(":")
    last = rest.rsplit(":", 1)[-1].split("#", 1)[0]
    return (int(last) if kind in ("cancel", "restore", "study", "repair") and last.isdigit()
            else None)


def reversed_entries(entries: list[PointEntry]) -> dict[int, int]:
    """Which of `entries` each reversal among them reverses. A row's correction names the
    row, not the entry: it reverses the row's latest entry of its rule not reversed yet."""
    pairs: dict[int, int] = {}
    open_by_rule: dict[tuple[str, str], list[PointEntry]] = {}
    for e in sorted(entries, key=lambda e: e.id):  # type: ignore[arg-type,return-value]
        if e.source_kind == "correction" and (named := _reversed_id(e.source_id)) is not None:
            pairs[e.id] = named  # type: ignore[index]
            continue
        row = row_of(str(e.source_id)) if e.source_kind in ROW_KINDS else None
        if row is None:
            continue
        if e.source_kind == "correction" and e.rule.startswith("reverse:"):
            waiting = open_by_rule.get((str(row), e.rule.removeprefix("reverse:")), [])
            match = next((o for o in reversed(waiting) if o.points == -e.points), None)
            if match is not None:
                waiting.remove(match)
                pairs[e.id] = match.id  # type: ignore[index,assignment]
            continue
        open_by_rule.setdefault((str(row), e.rule), []).append(e)
    return pairs


def entry_activities(session: Session, *, entries: list[PointEntry]) -> dict[int, Activity]:
    """The activity each attendance or absence entry was earned at, and each correction of
    one was made on, by entry id. An entry that names a row now another member's (a row
    deleted by an earlier version's 销假, its id given again on SQLite) is left out: the
    activity would be someone else's."""
    by_row: dict[int, int] = {}  # entry id → attendance id
    by_activity: dict[int, int] = {}  # entry id → activity id
    for e in entries:
        source = str(e.source_id)
        row = row_of(source)  # the attendance row's id (12, or 12#2 posted again later)
        if e.source_kind in ("attendance", "absence") and row is not None:
            by_row[e.id] = row  # type: ignore[index]
        elif e.source_kind == "correction" and rule_base(e.rule).startswith("attendance."):
            if row is not None:  # 补签 or 更正 reversing what the row counted
                by_row[e.id] = row  # type: ignore[index]
            elif source.startswith(("cancel:", "restore:")) and source.split(":")[1].isdigit():
                by_activity[e.id] = int(source.split(":")[1])  # type: ignore[index]
    if not by_row and not by_activity:
        return {}
    rows = {attendance_id: (member_id, activity) for attendance_id, member_id, activity
            in session.execute(
                select(Attendance.id, Attendance.member_id, Activity)
                .join(Activity, Activity.id == Attendance.activity_id)
                .where(Attendance.id.in_(set(by_row.values()))))} if by_row else {}
    held = {activity.id: activity for activity in session.execute(
        select(Activity).where(Activity.id.in_(set(by_activity.values())))).scalars()} \
        if by_activity else {}
    members = {e.id: e.member_id for e in entries}
    found = {entry: rows[row][1] for entry, row in by_row.items()
             if row in rows and rows[row][0] == members[entry]}
    found |= {entry: held[activity] for entry, activity in by_activity.items() if activity in held}
    return found


def entry_studies(session: Session, *, entries: list[PointEntry]) -> dict[int, StudyLog]:
    """The 学习 each study entry was earned for, and each 撤销 of one withdrew, by entry id."""
    by_log: dict[int, int] = {}
    for e in entries:
        source = str(e.source_id)
        if e.source_kind == "study" and source.isdigit():
            by_log[e.id] = int(source)  # type: ignore[index]
        elif e.source_kind == "correction" and source.startswith("study:") and \
                source.split(":")[1].isdigit():
            by_log[e.id] = int(source.split(":")[1])  # type: ignore[index]
    if not by_log:
        return {}
    logs = {log.id: log for log in session.execute(
        select(StudyLog).where(StudyLog.id.in_(set(by_log.values())))).scalars()}
    return {entry: logs[log] for entry, log in by_log.items() if log in logs}


# --- branches --------------------------------------------------------------------------


def _live_expected():
    """Who a branch activity expects before its count is frozen: its type's audience among
    the members as they were when it began (the rule of storage.attendance's
    _counted_condition, in SQL: on the roster and in the branch then, now or in a spell
    that has ended since), and whoever has a row on it (but a withdrawn one). A member who
    checked in and has since moved or left still counts once, as
    storage.attendance.participation freezes the count: without it a rate could pass 100%
    until absences are confirmed, and change when they are. A member who came while it
    was under way counts only by a record; one who moved away after it began counts in
    this branch and not in their new one."""
    counted = aliased(Member)
    has_row = with_record(Activity.id).correlate(Activity)

    def in_audience(holder):
        return and_(
            holder.branch_id == Activity.branch_id,
            or_(Activity.party_group_id.is_(None),
                holder.party_group_id == Activity.party_group_id),
            or_(Activity.party_group_id.is_not(None),
                Activity.type.not_in(sorted(t.value for t in BRANCH_COMMITTEE_TYPES)),
                holder.role.in_(sorted(r.value for r in BRANCH_COMMITTEE_ROLES))),
        )

    now, then = in_place_at(Activity.starts_at, lambda holder: [in_audience(holder)],
                            member=counted)
    return (
        select(func.count(counted.id))
        .where(or_(now, then, counted.id.in_(has_row)))
        .correlate(Activity)
        .scalar_subquery()
    )


def _members_in_span(start, end):
    """(branch, member) for everyone who belonged to a branch at some time in [start, end):
    on its roster now and there before the end, there in a spell that has ended since
    (moved or left: storage.membership), or shown there by the ledger in the span (points
    posted to the branch; this also covers moves made before spells were kept). The
    average points' base: the points of a week are those of the people who were there
    that week, not of whoever is on the roster when the report is read. Without the
    spells a temporary branch that has ended had no members, its points part was 0 and
    its score fell; a member who joined on Monday lowered last week's average."""
    return union(
        select(Member.branch_id.label("branch_id"), Member.id.label("member_id"))
        .where(Member.active == True, Member.branch_id.is_not(None),  # noqa: E712
               func.coalesce(Member.branch_since, Member.created_at) < end),
        select(PastMembership.branch_id, PastMembership.member_id)
        .where(PastMembership.branch_id.is_not(None), PastMembership.since < end,
               PastMembership.until > start),
        select(PointEntry.branch_id, PointEntry.member_id)
        .where(PointEntry.branch_id.is_not(None), _during(PointEntry.occurred_at, start, end)),
    ).subquery("in_span")


@lru_cache(maxsize=1)
def figure_statements() -> dict[str, Select]:
    """The statements of storage.figures' branch figures and top members, by name.

    Their values are named (start, end, cutoff; first_day, last_day; limit) so each is
    built and compiled once, and so storage/report_sql.py can hold them compiled for
    SQLite (`report_sql_module`). What each row means is storage.figures' business.
    """
    start = bindparam("start", type_=UTCDateTime())
    end = bindparam("end", type_=UTCDateTime())
    # Now (the period's end when no now is given): what has ended by then has finished.
    cutoff = bindparam("cutoff", type_=UTCDateTime())
    first_roster = aliased(Branch)
    finished = and_(Activity.status != CANCELLED,
                    or_(Activity.status == CLOSED, Activity.ends_at <= cutoff))
    in_period = and_(Activity.branch_id.is_not(None), _during(Activity.starts_at, start, end),
                     finished)
    held_here = select(Activity.branch_id).where(in_period)
    open_record = Activity.finalized_at.is_(None)
    live = _live_expected()

    def status_count(*statuses: str):
        return func.sum(case((Attendance.status.in_(statuses), 1), else_=0))

    granted = and_(Attendance.status == AttendanceStatus.LEAVE,
                   or_(Attendance.leave_state.is_(None),
                       Attendance.leave_state == LeaveState.GRANTED))
    accounted_open = func.sum(case((and_(open_record, or_(
        Attendance.status.in_(ATTENDED), granted)), 1), else_=0))
    in_span = _members_in_span(start, end)
    return {
        # The branches there were: active ones that existed before the span's end (one
        # set up today is not in last week's report), and any that held an activity in it
        # (an ended temporary branch keeps its weeks, said to have ended by `active`).
        # With the first roster's day (its earliest standing branch): a standing branch made
        # in a later month was set up then and owes its months' share of 调研.
        "branches": select(Branch.id, Branch.name, Branch.active, Branch.temporary,
                           Branch.created_at, Branch.ends_on,
                           select(func.min(first_roster.created_at))
                           .where(first_roster.temporary == False)  # noqa: E712
                           .scalar_subquery())
        .where(or_(and_(Branch.active == True, Branch.created_at < end),  # noqa: E712
                   Branch.id.in_(held_here)))
        .order_by(Branch.id),
        "members": select(in_span.c.branch_id, func.count())
        .group_by(in_span.c.branch_id),
        "activities": select(Activity.branch_id, func.count(),
                             func.sum(func.coalesce(Activity.expected_count, live)),
                             func.sum(case((open_record, live), else_=0)))
        .where(in_period)
        .group_by(Activity.branch_id),
        "attendance": select(Activity.branch_id, status_count(AttendanceStatus.PRESENT),
                             status_count(AttendanceStatus.LATE),
                             status_count(AttendanceStatus.MAKEUP),
                             func.sum(case((granted, 1), else_=0)), accounted_open)
        .select_from(Attendance)
        .join(Activity, Activity.id == Attendance.activity_id)
        .where(in_period)
        .group_by(Activity.branch_id),
        "points": select(PointEntry.branch_id, func.sum(PointEntry.points))
        .where(PointEntry.branch_id.is_not(None), _during(PointEntry.occurred_at, start, end))
        .group_by(PointEntry.branch_id),
        # Reversals dated in the span and made after it ended (更正, 取消活动…), one row
        # each: storage.figures leaves out a 取消活动 taken back (恢复活动) since.
        "corrections": select(PointEntry.branch_id, PointEntry.id, PointEntry.source_id)
        .where(PointEntry.branch_id.is_not(None), PointEntry.source_kind == "correction",
               _during(PointEntry.occurred_at, start, end), PointEntry.created_at >= end)
        .order_by(PointEntry.id),
        "visits": select(ResearchVisit.branch_id, func.count())
        .where(ResearchVisit.withdrawn_at.is_(None),
               ResearchVisit.visited_on >= bindparam("first_day", type_=Date()),
               ResearchVisit.visited_on <= bindparam("last_day", type_=Date()))
        .group_by(ResearchVisit.branch_id),
        "top": _top_statement(),
    }


def first_record(session: Session) -> datetime | None:
    """When djbot's records begin: the first branch set up, activity held or point posted
    (history entered later is dated when it happened). None while there are none."""
    firsts = [session.execute(select(column).where(column.is_not(None))
                              .order_by(column).limit(1)).scalar()
              for column in (Branch.created_at, Activity.starts_at, PointEntry.occurred_at)]
    return min((at for at in firsts if at is not None), default=None)


def branch_members(session: Session, *, start: datetime, end: datetime) -> dict[int, int]:
    """How many belonged to each branch in [start, end): the average points' base."""
    return {branch_id: int(n) for branch_id, n in session.execute(
        figure_statements()["members"], {"start": start, "end": end})}


def _runner(session: Session) -> figures.Run:
    statements = figure_statements()
    return lambda name, values: session.execute(statements[name], values)


def branch_figures(session: Session, *, start: datetime, end: datetime,
                   year_start: datetime | None = None,
                   now: datetime | None = None) -> list[BranchFigures]:
    """storage.figures.branch_figures, counted in this session."""
    return figures.branch_figures(_runner(session), start=start, end=end,
                                  year_start=year_start, now=now)


def build_report(session: Session, *, start: datetime, end: datetime,
                 previous: tuple[datetime, datetime], tz: tzinfo, visit_target: int,
                 rules: Rules, title: str | None = None, top: int = 10,
                 now: datetime | None = None) -> Report:
    """storage.figures.build_report, counted in this session."""
    return figures.build_report(_runner(session), start=start, end=end, previous=previous,
                                tz=tz, visit_target=visit_target, rules=rules, title=title,
                                top=top, now=now)


# The values a caller gives each statement; every other bind is written into it.
NAMED_VALUES = frozenset({"start", "end", "cutoff", "first_day", "last_day", "limit"})


def report_sql_module() -> str:
    """storage/report_sql.py's text: figure_statements compiled for SQLite, each as its SQL,
    the names of its ? values in order, and the values written into it."""
    from sqlalchemy.dialects import sqlite

    dialect = sqlite.dialect()
    # Stand-ins for the named values: writing IN lists out (one ? each, so the text is
    # final) wants a value for every bind, though none of these reaches the text.
    moment, day = datetime(2000, 1, 1, tzinfo=timezone.utc), date(2000, 1, 1)
    stand_ins = {"start": moment, "end": moment, "cutoff": moment, "first_day": day,
                 "last_day": day, "limit": 1}
    compiled: dict[str, tuple[str, tuple[str, ...], dict[str, Any]]] = {}
    for name, statement in figure_statements().items():
        c = statement.compile(dialect=dialect)
        state = c.construct_expanded_state(
            {key: value for key, value in stand_ins.items() if key in c.binds})
        order = tuple(state.positiontup or ())
        fixed = {}
        for key, value in state.parameters.items():
            if key not in NAMED_VALUES:
                processor = c._bind_processors.get(key)
                value = processor(value) if processor else value
                fixed[key] = str(value) if isinstance(value, str) else value  # enums as text
        # SQLAlchemy ends each line but the last with a space: kept out of the file.
        compiled[name] = (state.statement.replace(" \n", "\n"), order, fixed)
    lines = [
        '"""Generated from storage.reports.figure_statements by `make report-sql`: do not edit.',
        "",
        "Each figure statement compiled for SQLite: its SQL, the names of its ? values in order,",
        "and the values written into it (the rest come from the caller). bot/cli/quick.py runs",
        "them on sqlite3; tests/test_report_quick.py fails when this file is not what the",
        "statements compile to.",
        '"""',
        "",
        "SQLITE = {",
    ]
    for name, (sql, order, fixed) in compiled.items():
        if '"""' in sql or "\\" in sql:
            raise ValueError(f"{name}: its SQL cannot be written between triple quotes")
        lines += [f"    {name!r}: (", f'        """{sql}""",', f"        {order!r},",
                  f"        {fixed!r},", "    ),"]
    lines.append("}")
    return "\n".join(lines) + "\n"
