"""The party committee's loop in the database: committee seats, 约谈, 结对帮扶, 先锋党员,
整改 items, the lecturers' roster and 读书班 classes.

Keyword-only and never committing, like every storage module: the dispatcher or the CLI
owns the transaction. Nothing is deleted: a pair ends, a 整改 item closes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

from sqlalchemy import and_, func, or_
from sqlmodel import Session, select

from storage.attendance import CANCELLED
from storage.models import (
    Activity,
    ActivityType,
    Attendance,
    AttendanceStatus,
    BranchPairing,
    Lecturer,
    Member,
    PioneerNomination,
    ReadingClass,
    ReadingClassEnrollment,
    ReadingClassSession,
    Rectification,
    ResearchVisit,
    Talk,
)

LECTURE_TYPES = (ActivityType.PARTY_LECTURE.value, ActivityType.LECTURE_HALL.value)


# A nomination made in a month's first days is for the month just ended: the shortlist
# of a month arrives in them, once the month is whole (bot.scheduling.committee).
NOMINATION_GRACE_DAYS = 10


def month_start(day: date) -> date:
    return day.replace(day=1)


def nomination_month(today: date) -> date:
    if today.day <= NOMINATION_GRACE_DAYS:
        return (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    return today.replace(day=1)


def month_end(month: date, tz: tzinfo) -> datetime:
    """When the month is over: the next month's first moment."""
    return datetime.combine((month_start(month) + timedelta(days=32)).replace(day=1), time(0),
                            tzinfo=tz)


def absent_in_month(session: Session, *, member_id: int, month: date, tz: tzinfo) -> bool:
    """Whether the member has a confirmed absence in the month: it keeps them off the
    先锋党员 list. A cancelled activity's absences count nowhere (取消活动 says so)."""
    start = datetime.combine(month, time(0), tzinfo=tz)
    end = month_end(month, tz)
    return session.exec(
        select(Attendance.id).join(Activity, Activity.id == Attendance.activity_id)
        .where(Attendance.member_id == member_id, Attendance.status == AttendanceStatus.ABSENT,
               Activity.starts_at >= start, Activity.starts_at < end,
               Activity.status != CANCELLED).limit(1)
    ).first() is not None


# --- 约谈 ------------------------------------------------------------------------------


def add_talk(session: Session, *, branch_id: int, leader_id: int, talked_on: date,
             tier_then: str | None, problems: str, remedy: str, now: datetime) -> Talk:
    talk = Talk(branch_id=branch_id, leader_id=leader_id, talked_on=talked_on,
                tier_then=tier_then, problems=problems, remedy=remedy, logged_at=now)
    session.add(talk)
    session.flush()
    return talk


_HELD = Talk.withdrawn_at.is_(None)  # type: ignore[union-attr]  # 撤销约谈: counts nowhere


def talks(session: Session, *, first: date, last: date,
          branch_id: int | None = None) -> list[Talk]:
    query = select(Talk).where(Talk.talked_on >= first, Talk.talked_on <= last, _HELD)
    if branch_id is not None:
        query = query.where(Talk.branch_id == branch_id)
    return list(session.exec(query.order_by(Talk.talked_on, Talk.id)).all())


def last_talk_on(session: Session) -> dict[int, date]:
    """Each branch's latest talk date."""
    return {branch_id: day for branch_id, day in session.exec(
        select(Talk.branch_id, func.max(Talk.talked_on)).where(_HELD)
        .group_by(Talk.branch_id)).all()}


def withdraw_talk(session: Session, *, talk: Talk, by: int, reason: str, now: datetime) -> None:
    """A talk recorded in error stays on record and counts nowhere, as a withdrawn 调研."""
    talk.withdrawn_at, talk.withdrawn_by, talk.withdraw_reason = now, by, reason
    session.add(talk)
    session.flush()


# --- 结对帮扶 ---------------------------------------------------------------------------


def active_pairings(session: Session, *, on: date | None = None) -> list[BranchPairing]:
    query = select(BranchPairing)
    if on is None:
        query = query.where(BranchPairing.ended_on.is_(None))  # type: ignore[union-attr]
    else:
        query = query.where(BranchPairing.paired_on <= on,
                            or_(BranchPairing.ended_on.is_(None),  # type: ignore[union-attr]
                                BranchPairing.ended_on >= on))
    return list(session.exec(query.order_by(BranchPairing.id)).all())


def open_pair_of(session: Session, *, branch_ids: set[int]) -> BranchPairing | None:
    """The open pair either of these branches is in, if any: one pair per branch at a time."""
    for pair in active_pairings(session):
        if {pair.strong_branch_id, pair.weak_branch_id} & branch_ids:
            return pair
    return None


def add_pairing(session: Session, *, strong_branch_id: int, weak_branch_id: int, on: date,
                created_by: int | None, now: datetime) -> BranchPairing:
    """Pair two branches (the caller checks neither is in an open pair: open_pair_of)."""
    pair = BranchPairing(strong_branch_id=strong_branch_id, weak_branch_id=weak_branch_id,
                         paired_on=on, created_by=created_by, created_at=now)
    session.add(pair)
    session.flush()
    return pair


def end_pairing(session: Session, *, pair: BranchPairing, on: date) -> None:
    """Close a pair; `on` is its last day, as a temporary branch's end date is."""
    pair.ended_on = on
    session.add(pair)
    session.flush()


def pairings_during(session: Session, *, first: date, last: date) -> list[BranchPairing]:
    """Pairs that were open at any time in [first, last]."""
    return list(session.exec(
        select(BranchPairing).where(
            BranchPairing.paired_on <= last,
            or_(BranchPairing.ended_on.is_(None),  # type: ignore[union-attr]
                BranchPairing.ended_on >= first))
        .order_by(BranchPairing.id)).all())


# --- 先锋党员 ---------------------------------------------------------------------------


def nomination_of(session: Session, *, member_id: int, month: date) -> PioneerNomination | None:
    return session.exec(select(PioneerNomination).where(
        PioneerNomination.member_id == member_id,
        PioneerNomination.month == month_start(month))).first()


def nominate(session: Session, *, member: Member, branch_id: int, month: date, deeds: str,
             nominated_by: int | None, now: datetime) -> PioneerNomination:
    """Nominate the member for the month's honour in `branch_id`, the branch they were in
    that month (not necessarily theirs now: it is that branch's work that is honoured)."""
    month = month_start(month)
    existing = session.exec(select(PioneerNomination).where(
        PioneerNomination.member_id == member.id, PioneerNomination.month == month)).first()
    if existing is not None:
        # A secretary may rewrite the 事迹 until a leader confirms it.
        existing.deeds, existing.nominated_by, existing.nominated_at = deeds, nominated_by, now
        existing.branch_id = branch_id
        session.add(existing)
        session.flush()
        return existing
    nomination = PioneerNomination(member_id=member.id, branch_id=branch_id, month=month,
                                   deeds=deeds, nominated_by=nominated_by, nominated_at=now)
    session.add(nomination)
    session.flush()
    return nomination


def pending_nominations(session: Session, *, member_ids: list[int]) -> list[PioneerNomination]:
    if not member_ids:
        return []
    return list(session.exec(
        select(PioneerNomination).where(PioneerNomination.member_id.in_(member_ids),  # type: ignore[attr-defined]
                                        PioneerNomination.confirmed_at.is_(None))  # type: ignore[union-attr]
        .order_by(PioneerNomination.month.desc(), PioneerNomination.id)).all())  # type: ignore[attr-defined]


def latest_confirmed(session: Session, *, member_id: int) -> PioneerNomination | None:
    """The member's most recent confirmed 先锋党员 month, if any."""
    return session.exec(
        select(PioneerNomination).where(PioneerNomination.member_id == member_id,
                                        PioneerNomination.confirmed_at.is_not(None))  # type: ignore[union-attr]
        .order_by(PioneerNomination.month.desc())).first()  # type: ignore[attr-defined]


def confirm(session: Session, *, nomination: PioneerNomination, leader_id: int,
            now: datetime) -> None:
    nomination.confirmed_by, nomination.confirmed_at = leader_id, now
    session.add(nomination)
    session.flush()


def pioneers(session: Session, *, first: date, last: date) -> list[tuple[PioneerNomination, Member]]:
    """Confirmed 先锋党员 whose month falls in [first, last], by month then branch."""
    return list(session.exec(
        select(PioneerNomination, Member).join(Member, Member.id == PioneerNomination.member_id)
        .where(PioneerNomination.confirmed_at.is_not(None),  # type: ignore[union-attr]
               PioneerNomination.month >= month_start(first), PioneerNomination.month <= last)
        .order_by(PioneerNomination.month, PioneerNomination.branch_id, PioneerNomination.id)
    ).all())


# --- 整改 ------------------------------------------------------------------------------


def add_rectification(session: Session, *, branch_id: int, problem: str, owner: Member | None,
                      owner_name: str, found_on: date, visit_id: int | None,
                      recorded_by: int | None, now: datetime,
                      due_on: date | None = None) -> Rectification:
    item = Rectification(branch_id=branch_id, visit_id=visit_id, problem=problem,
                         owner_id=owner.id if owner else None, owner_name=owner_name,
                         found_on=found_on, recorded_by=recorded_by, recorded_at=now,
                         due_on=due_on)
    session.add(item)
    session.flush()
    return item


def close_rectification(session: Session, *, item: Rectification, on: date, by: int | None,
                        note: str | None) -> None:
    item.closed_on, item.closed_by, item.closing_note = on, by, note
    session.add(item)
    session.flush()


def withdraw_rectification(session: Session, *, item: Rectification, by: int, reason: str,
                           now: datetime) -> None:
    """An item recorded in error stays on record and counts nowhere: not open, not found,
    not solved."""
    item.withdrawn_at, item.withdrawn_by, item.withdraw_reason = now, by, reason
    session.add(item)
    session.flush()


_STANDING = Rectification.withdrawn_at.is_(None)  # type: ignore[union-attr]  # 撤销整改


def open_rectifications(session: Session, *, branch_id: int | None = None,
                        due_on: date | None = None) -> list[Rectification]:
    """The items not done (整改完成) nor withdrawn, of one branch or all, and of those due
    on a day if one is given; in the order they were found."""
    query = select(Rectification).where(Rectification.closed_on.is_(None),  # type: ignore[union-attr]
                                        _STANDING)
    if branch_id is not None:
        query = query.where(Rectification.branch_id == branch_id)
    if due_on is not None:
        query = query.where(Rectification.due_on == due_on)
    return list(session.exec(query.order_by(Rectification.found_on, Rectification.id)).all())


@dataclass
class Problems:
    """Problems found and solved at one branch (or the bureau) over a range of days."""

    found: int = 0
    solved: int = 0


def problems_by_branch(session: Session, *, first: date, last: date) -> dict[int, Problems]:
    """Problems found and solved in [first, last], per branch: the figures 调研记录, the
    dashboard and the year's report all show. A 整改 item is one of the problems found on
    the visit it is attached to (整改 attaches it to the branch's latest visit), so a visit
    found the larger of its own count and its items (调研 发现问题 3, then 整改 for two of
    them: 3 found, not 5); an item attached to no visit of the range counts on the day it
    was recorded. Solved: on the visit, plus items closed (整改完成) in the range. A
    withdrawn visit (撤销调研) counts nowhere; its items count on their own. A withdrawn
    item (撤销整改) counts nowhere."""
    visits = {vid: (bid, found, solved) for vid, bid, found, solved in session.execute(
        select(ResearchVisit.id, ResearchVisit.branch_id, ResearchVisit.problems_found,
               ResearchVisit.problems_solved)
        .where(ResearchVisit.visited_on >= first, ResearchVisit.visited_on <= last,
               ResearchVisit.withdrawn_at.is_(None)))}  # type: ignore[union-attr]
    items = session.execute(
        select(Rectification.branch_id, Rectification.visit_id, Rectification.found_on,
               Rectification.closed_on)
        .where(_STANDING,
               or_(Rectification.visit_id.in_(visits or {-1}),  # type: ignore[union-attr]
                   and_(Rectification.found_on >= first, Rectification.found_on <= last),
                   and_(Rectification.closed_on >= first,  # type: ignore[operator]
                        Rectification.closed_on <= last)))).all()  # type: ignore[operator]
    by_branch: dict[int, Problems] = {}
    itemized: dict[int, int] = {}
    for branch_id, visit_id, found_on, closed_on in items:
        problems = by_branch.setdefault(branch_id, Problems())
        if visit_id in visits:
            itemized[visit_id] = itemized.get(visit_id, 0) + 1
        elif first <= found_on <= last:
            problems.found += 1
        if closed_on is not None and first <= closed_on <= last:
            problems.solved += 1
    for visit_id, (branch_id, found, solved) in visits.items():
        problems = by_branch.setdefault(branch_id, Problems())
        problems.found += max(found, itemized.get(visit_id, 0))
        problems.solved += solved
    return by_branch


def problems_in(session: Session, *, first: date, last: date) -> Problems:
    """problems_by_branch, over the whole bureau."""
    each = problems_by_branch(session, first=first, last=last).values()
    return Problems(sum(p.found for p in each), sum(p.solved for p in each))


# --- 讲师 and lectures -------------------------------------------------------------------


def add_lecturer(session: Session, *, name: str, member_id: int | None, title: str | None,
                 now: datetime) -> Lecturer:
    existing = session.exec(select(Lecturer).where(Lecturer.name == name)).first()
    if existing is not None:
        existing.active, existing.title = True, title or existing.title
        session.add(existing)
        session.flush()
        return existing
    lecturer = Lecturer(name=name, member_id=member_id, title=title, added_at=now)
    session.add(lecturer)
    session.flush()
    return lecturer


def lecturers(session: Session) -> list[Lecturer]:
    return list(session.exec(select(Lecturer).where(Lecturer.active == True)  # noqa: E712
                             .order_by(Lecturer.id)).all())


def lectures_by_lecturer(session: Session, *, start: datetime, end: datetime,
                         now: datetime | None = None) -> dict[str, int]:
    """党课 and 大讲堂 held in [start, end) per lecturer named on the activity."""
    query = (select(Activity.lecturer, func.count())
             .where(Activity.type.in_(LECTURE_TYPES),  # type: ignore[attr-defined]
                    Activity.lecturer.is_not(None),  # type: ignore[union-attr]
                    Activity.starts_at >= start, Activity.starts_at < end,
                    Activity.status != CANCELLED)  # a cancelled lecture was not given
             .group_by(Activity.lecturer))
    if now is not None:
        query = query.where(Activity.starts_at <= now)
    return {name: int(n) for name, n in session.exec(query).all()}


# --- 读书班 -----------------------------------------------------------------------------


def reading_class(session: Session, *, name: str, now: datetime) -> ReadingClass:
    found = session.exec(select(ReadingClass).where(ReadingClass.name == name)).first()
    if found is None:
        found = ReadingClass(name=name, created_at=now)
        session.add(found)
        session.flush()
    return found


def class_known(session: Session, *, name: str) -> bool:
    """Whether a class goes by the name: set up (someone enrolled), or with a session
    opened under it (「开始 读书班 第一期」 before anyone enrolled)."""
    if session.exec(select(ReadingClass.id).where(ReadingClass.name == name)).first():
        return True
    return session.exec(select(Activity.id).where(
        Activity.type == ActivityType.READING_CLASS.value, _named_for(name),
        Activity.status != CANCELLED).limit(1)).first() is not None


def class_names(session: Session) -> list[str]:
    """Every name class_known accepts: the classes set up, then the names sessions were
    opened under that no class has yet."""
    names = list(session.exec(select(ReadingClass.name).order_by(ReadingClass.id)).all())
    opened = session.exec(select(Activity.topic).where(
        Activity.type == ActivityType.READING_CLASS.value, Activity.status != CANCELLED)
        .order_by(Activity.starts_at)).all()
    return list(dict.fromkeys([*names, *(name for name in opened if name)]))


def enroll(session: Session, *, class_id: int, member_ids: list[int], now: datetime) -> int:
    have = set(session.exec(select(ReadingClassEnrollment.member_id).where(
        ReadingClassEnrollment.class_id == class_id)).all())
    added = [m for m in dict.fromkeys(member_ids) if m not in have]
    for member_id in added:
        session.add(ReadingClassEnrollment(class_id=class_id, member_id=member_id,
                                           enrolled_at=now))
    session.flush()
    return len(added)


def add_class_session(session: Session, *, class_id: int, activity_id: int) -> None:
    if session.get(ReadingClassSession, activity_id) is None:
        session.add(ReadingClassSession(activity_id=activity_id, class_id=class_id))
        session.flush()


def enrolled(session: Session, *, class_id: int) -> dict[int, datetime | None]:
    """The class's members, each with when they were enrolled (None: before that was kept)."""
    return dict(session.exec(select(ReadingClassEnrollment.member_id,
                                    ReadingClassEnrollment.enrolled_at).where(
        ReadingClassEnrollment.class_id == class_id)).all())


def _in_class(class_id: int, name):
    """A class's sessions: linked explicitly, or a 读书班 opened with the class's name as topic
    (「开始 读书班 第一期」), so a secretary need not link each session by hand."""
    return or_(
        Activity.id.in_(select(ReadingClassSession.activity_id)  # type: ignore[union-attr]
                        .where(ReadingClassSession.class_id == class_id)),
        and_(Activity.type == ActivityType.READING_CLASS.value, _named_for(name)),
    )


def _named_for(name):
    """A session's topic that is the class's name, or starts with it (开始 读书班 主题教育第一期
    第二讲 学习党章: that class's second session, which was counted for none)."""
    return or_(Activity.topic == name,
               Activity.topic.startswith(f"{name} ", autoescape=True))  # type: ignore[union-attr]


def class_sessions(session: Session, *, class_id: int) -> list[Activity]:
    klass = session.get(ReadingClass, class_id)
    if klass is None:
        return []
    return list(session.exec(
        select(Activity).where(_in_class(class_id, klass.name)).order_by(Activity.starts_at)).all())


def classes_held(session: Session, *, start: datetime, end: datetime) -> list[ReadingClass]:
    """Classes with a session starting in [start, end)."""
    found = []
    for klass in session.exec(select(ReadingClass).order_by(ReadingClass.id)).all():
        held = session.exec(select(func.count()).select_from(Activity).where(
            _in_class(klass.id, klass.name),  # type: ignore[arg-type]
            Activity.starts_at >= start, Activity.starts_at < end,
            Activity.status != CANCELLED)).one()
        if held:
            found.append(klass)
    return found
