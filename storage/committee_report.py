"""The committee's loop as leaders read it: month tiers, 三会一课 standing, and the lines the
weekly summary adds (overdue meetings, blue branches not yet talked to, talks' before and
after, pairs with their trend, open 整改 by age, branches under the visit target).

Nothing here names a member in a negative list: branches only, and only to leaders.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo

from sqlalchemy import select
from sqlmodel import Session

from bot.domain import meetings as m
from bot.domain.points import Period, exact, half_up, month_of, trend_arrow
from bot.domain.rules import Rules
from storage import committee
from storage.attendance import CANCELLED
from storage.figures import Report
from storage.models import Activity, Branch, PartyGroup
from storage.reports import BranchStanding, branch_figures, standings

MEETING_TYPES = tuple(m.DEFAULT_MEETINGS)


def month_standings(session: Session, *, moment: datetime, tz: tzinfo,
                    rules: Rules, to_date: bool = True) -> dict[int, BranchStanding]:
    """Each branch's score and tier for the calendar month containing `moment` (to date)."""
    period = month_of(moment, tz)
    if to_date:
        period = period.until(moment)
    found = standings(branch_figures(session, start=period.start, end=period.end), rules, period)
    return {s.figures.branch_id: s for s in found}


def previous_month_end(moment: datetime, tz: tzinfo) -> datetime:
    return month_of(moment, tz).start - timedelta(microseconds=1)


# --- 三会一课 ----------------------------------------------------------------------------


def branch_meetings(session: Session, *, branch_id: int, tz: tzinfo,
                    types: tuple[str, ...] = MEETING_TYPES,
                    now: datetime | None = None) -> list[m.Held]:
    """The branch's meetings not cancelled; given `now`, each marked whether it has begun."""
    groups = dict(session.execute(select(PartyGroup.id, PartyGroup.name)
                                  .where(PartyGroup.branch_id == branch_id)).all())
    rows = session.execute(
        select(Activity.type, Activity.starts_at, Activity.party_group_id)
        .where(Activity.branch_id == branch_id, Activity.type.in_(types),  # type: ignore[attr-defined]
               Activity.status != CANCELLED)
    ).all()
    return [m.Held(t, starts.astimezone(tz).date(), groups.get(g) if g else None,
                   begun=now is None or starts <= now)
            for t, starts, g in rows]


def meeting_standing(session: Session, *, branch: Branch, now: datetime, tz: tzinfo,
                     rules: Rules) -> list[m.MeetingStanding]:
    required = m.required_meetings(rules.source)
    groups = list(session.execute(select(PartyGroup.name).where(
        PartyGroup.branch_id == branch.id).order_by(PartyGroup.id)).scalars())
    assert branch.id is not None
    held = branch_meetings(session, branch_id=branch.id, tz=tz, types=tuple(required), now=now)
    planned = planned_meetings(session, branch_id=branch.id, now=now, tz=tz, required=required,
                               ends_on=branch.ends_on)
    return m.standing(required, held, groups, now.astimezone(tz).date(),
                      branch.created_at.astimezone(tz).date(), planned)


def planned_meetings(session: Session, *, branch_id: int, now: datetime, tz: tzinfo,
                     required: dict[str, str], ends_on: date | None = None) -> list[m.Held]:
    """Each fixed schedule's next occurrence, when it falls in its meeting's current period
    (and before the branch ends, a 临时党支部's `ends_on`: none is held after it): the
    scheduler makes its activity only half an hour before the start, so until then the
    schedule (设置 支委会 每月27日 15:00) is what says the meeting is planned."""
    from bot.scheduling.holidays import next_held  # the schedule's own holiday rules
    from storage.schedules import branch_schedules, called_off

    today = now.astimezone(tz).date()
    groups = dict(session.execute(select(PartyGroup.id, PartyGroup.name)
                                  .where(PartyGroup.branch_id == branch_id)).all())
    out = []
    for schedule in branch_schedules(session, branch_id=branch_id):
        frequency = required.get(schedule.activity_type)
        if frequency is None:
            continue
        # One called off (取消活动 下次) is not planned: the month is short of its meeting.
        for occurrence in next_held(schedule, now=now, tz=tz, count=1, until=ends_on,
                                    called_off=called_off(session, schedule=schedule,
                                                          after=now)):
            day = occurrence.starts_at.astimezone(tz).date()  # type: ignore[union-attr]
            if day <= m.period_of(today, frequency).last:
                out.append(m.Held(schedule.activity_type, day,
                                  groups.get(schedule.party_group_id)))
    return out


def render_standing(branch: Branch, rows: list[m.MeetingStanding]) -> str:
    lines = [f"{branch.name} 三会一课"]
    for row in rows:
        span = f"{row.period.first:%m-%d}–{row.period.last:%m-%d}"
        last = f"，上次 {row.last_held:%m-%d}" if row.last_held else ""
        last += f"，下次 {row.planned:%m-%d}" if row.planned else ""
        lines.append(f"· {row.label}（{m.FREQUENCY_LABELS[row.frequency]}）："
                     f"{m.STATE_LABELS[row.state]}（本期 {span}{last}）")
    return "\n".join(lines)


# --- the weekly summary's lines --------------------------------------------------------------


def summary_lines(session: Session, *, now: datetime, tz: tzinfo, rules: Rules,
                  week: Report | None = None) -> list[str]:
    """What the committee's loop adds to the leaders' weekly summary (Markdown lines);
    `week` is the summary's report above them, whose table flags blue branches (约谈)."""
    today = now.astimezone(tz).date()
    everyone = list(session.execute(select(Branch).order_by(Branch.id)).scalars())
    branches = [b for b in everyone if b.active]
    # An ended branch (临时党支部) may still have a pair or an open 整改 item: named too.
    names = {b.id: b.name for b in everyone}
    lines: list[str] = []

    overdue = []
    for branch in branches:
        late = [r.label for r in meeting_standing(session, branch=branch, now=now,
                                                  tz=tz, rules=rules)
                if r.state == "overdue"]
        if late:
            overdue.append(f"· {branch.name}（{'、'.join(late)}）")
    # One branch a line: a bureau where many are late still splits cleanly into parts.
    lines.extend(["**三会一课逾期**", *overdue] if overdue else ["**三会一课逾期**：无"])

    # Blue this month, or last month (the month's decided tier: in a month's first days this
    # month's, from a day or two of activities, said nothing, and a branch blue all last
    # month dropped off the list), and no talk since the month it turned blue.
    current = month_standings(session, moment=now, tz=tz, rules=rules)
    last_month = previous_month_end(now, tz)
    decided = month_standings(session, moment=last_month, tz=tz, rules=rules, to_date=False)
    last_talk = committee.last_talk_on(session)
    waiting = []
    monthly: set[int] = set()  # blue for a month: asked about by the month's run of blue
    active = {b.id for b in branches}
    for branch_id in sorted(current.keys() | decided.keys()):
        # An ended branch (临时党支部) keeps its month's tier, but no talk can be held with
        # it any more (约谈 finds only standing branches): asking weekly would never stop.
        if branch_id not in active:
            continue
        if _is_blue(current.get(branch_id)):
            blue_since = _blue_since(session, branch_id=branch_id, now=now, tz=tz,
                                     rules=rules)
        elif _is_blue(decided.get(branch_id)):
            blue_since = _blue_since(session, branch_id=branch_id, now=last_month, tz=tz,
                                     rules=rules)
        else:
            continue
        monthly.add(branch_id)
        talked = last_talk.get(branch_id)
        if talked is None or talked < blue_since:
            waiting.append(f"· {names.get(branch_id, branch_id)}（{blue_since.month}月起蓝档）")
    if week is not None:
        # The table above flags the week's blue branches （约谈）: one blue that week only
        # (the month yellow so far) was flagged there and missing here, and the leader
        # reading both could not tell whether a talk was owed. One blue for the month is
        # asked about above, once for its run of blue months (a talk this month answers it).
        ids = {name: bid for bid, name in names.items()}
        for line in week.branches:
            branch_id = ids.get(line.name)
            if not line.talk or branch_id is None or branch_id in monthly:
                continue
            talked = last_talk.get(branch_id)
            if talked is None or talked < week.first_day:
                waiting.append(f"· {line.name}（本期蓝档）")
    if waiting:
        lines.extend(["**蓝档待约谈**", *waiting])

    recent = committee.talks(session, first=today - timedelta(days=90), last=today)
    if recent:
        lines.append("**约谈前后**（近90天）")
        for talk in recent:
            before, after = talk_effect(session, branch_id=talk.branch_id, on=talk.talked_on,
                                        now=now, tz=tz, rules=rules)
            lines.append(f"· {names.get(talk.branch_id, '?')} {talk.talked_on:%m-%d} 约谈："
                         f"前 {describe_standing(before)} → 后 {describe_standing(after)}")

    pairs = committee.active_pairings(session)
    if pairs:
        previous = month_standings(session, moment=previous_month_end(now, tz),
                                   tz=tz, rules=rules, to_date=False)
        # The table above scores the week: these are the month's, as 结对 shows them.
        lines.append("**结对帮扶**（本月档次、得分、较上月）")
        for pair in pairs:
            lines.append("· " + " ↔ ".join(
                trend_line(names.get(b, "?"), current.get(b), previous.get(b))
                for b in (pair.strong_branch_id, pair.weak_branch_id)))

    items = committee.open_rectifications(session)
    if items:
        by_branch: dict[int, list[int]] = {}
        late: dict[int, int] = {}
        for item in items:
            by_branch.setdefault(item.branch_id, []).append((today - item.found_on).days)
            if item.due_on is not None and item.due_on < today:  # past the day it was set
                late[item.branch_id] = late.get(item.branch_id, 0) + 1
        lines.append("**整改未完成**")
        lines.extend(f"· {names.get(b, '?')} {len(ages)} 项（最久 {max(ages)} 天"
                     f"{f'，逾期 {late[b]} 项' if b in late else ''}）"
                     for b, ages in sorted(by_branch.items(), key=lambda kv: -max(kv[1])))
    return lines


def summary_markdown(session: Session, *, now: datetime, tz: tzinfo, rules: Rules,
                     week: Report | None = None) -> str:
    """The committee's lines as a block appended to the weekly summary's Markdown."""
    lines = summary_lines(session, now=now, tz=tz, rules=rules, week=week)
    return "\n" + "\n".join(lines) + "\n" if lines else ""


def _is_blue(standing: BranchStanding | None) -> bool:
    return standing is not None and standing.tier is not None and standing.tier.value == "蓝"


def _blue_since(session: Session, *, branch_id: int, now: datetime, tz: tzinfo,
                rules: Rules, months: int = 6) -> date:
    """The first day of the earliest month of the branch's current run of blue months."""
    since = month_of(now, tz).start.date()
    moment = now
    for _ in range(months):
        moment = previous_month_end(moment, tz)
        s = month_standings(session, moment=moment, tz=tz, rules=rules,
                            to_date=False).get(branch_id)
        if not _is_blue(s):
            break
        since = month_of(moment, tz).start.date()
    return since


def talk_effect(session: Session, *, branch_id: int, on: date, now: datetime,
                tz: tzinfo, rules: Rules) -> tuple[BranchStanding | None,
                                                           BranchStanding | None]:
    """The branch's standing in the 30 days before a talk and from the talk until now."""
    talk_at = datetime.combine(on, datetime.min.time(), tzinfo=tz)
    before = Period(talk_at - timedelta(days=30), talk_at, "约谈前")
    after = Period(talk_at, max(now, talk_at + timedelta(minutes=1)), "约谈后")

    def one(period: Period) -> BranchStanding | None:
        found = standings(branch_figures(session, start=period.start, end=period.end), rules,
                          period)
        return next((s for s in found if s.figures.branch_id == branch_id), None)

    return one(before), one(after) if now > talk_at else None


def describe_standing(s: BranchStanding | None) -> str:
    if s is None or not s.figures.activities:
        return "暂无活动"
    if s.figures.participation is None:
        # Held, but nobody in the rate's base yet (as 红黄蓝榜 says it): not nothing done.
        f = s.figures
        why = f"{f.unconfirmed} 人缺席待确认" if f.unconfirmed else "应到的同志都已请假"
        return f"暂无参与率（活动 {f.activities} 次，{why}）"
    tier = s.tier.value if s.tier else "—"
    return f"{tier}档 参与率{half_up(exact(s.figures.participation) * 100, 0):.0f}%"


def trend_line(name: str, now: BranchStanding | None, before: BranchStanding | None) -> str:
    score = now.score if now else None
    arrow = trend_arrow(score, before.score if before else None)
    tier = now.tier.value if now and now.tier else "—"
    shown = "—" if score is None else f"{score:g}"
    return f"{name} {tier} {shown}{arrow}"


# --- 先锋党员 shortlist -----------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    member_id: int
    name: str
    points: int
    attended: int
    study_minutes: int


def _in_branch_as_it_ended(session: Session, *, branch_id: int, end: datetime) -> list:
    """The members who were in the branch as the span ended (as they are now, for a span
    under way): the branch that may nominate them for it (handlers.pioneers._nominee). One
    who moved or left the roster since is its; one who came since is not."""
    from sqlalchemy import or_

    from storage.membership import in_place_at
    from storage.models import Member

    here = in_place_at(end - timedelta(microseconds=1),
                       lambda holder: [holder.branch_id == branch_id])
    return list(session.execute(select(Member).where(
        Member.forgotten == False, or_(*here))).scalars())  # noqa: E712


def pioneer_shortlist(session: Session, *, branch_id: int, start: datetime, end: datetime,
                      limit: int | None = 5) -> list[Candidate]:
    """The month's record, best first (the first `limit`, or everyone): points, then
    attendance, then study; nobody with an unexcused absence in the month, nobody without
    any record, nobody already honoured."""
    from sqlalchemy import and_, case, func

    from bot.domain.attendance import ATTENDED
    from storage.models import (
        Attendance,
        AttendanceStatus,
        PioneerNomination,
        PointEntry,
        StudyLog,
    )

    # A cancelled activity's check-ins and absences count nowhere (取消活动 says so).
    in_month = and_(Activity.starts_at >= start, Activity.starts_at < end,
                    Activity.status != CANCELLED)
    attended: dict[int, int] = {}
    absent: set[int] = set()
    for member_id, a, ab in session.execute(
        select(Attendance.member_id,
               func.sum(case((Attendance.status.in_(ATTENDED), 1), else_=0)),  # type: ignore[attr-defined]
               func.sum(case((Attendance.status == AttendanceStatus.ABSENT, 1), else_=0)))
        .join(Activity, Activity.id == Attendance.activity_id).where(in_month)
        .group_by(Attendance.member_id)
    ):
        attended[member_id] = int(a or 0)
        if ab:
            absent.add(member_id)
    # The points earned in this branch (posted to it), as its 排行榜 ranks them: a member
    # who came this month is not put forward here for what the old branch counts.
    points = dict(session.execute(
        select(PointEntry.member_id, func.sum(PointEntry.points))
        .where(PointEntry.occurred_at >= start, PointEntry.occurred_at < end,
               PointEntry.branch_id == branch_id)
        .group_by(PointEntry.member_id)).all())
    study = dict(session.execute(
        select(StudyLog.member_id, func.sum(StudyLog.minutes))
        .where(StudyLog.logged_at >= start, StudyLog.logged_at < end,
               StudyLog.withdrawn_at.is_(None))  # type: ignore[union-attr]  (撤销: counts nowhere)
        .group_by(StudyLog.member_id)).all())
    honoured = set(session.execute(select(PioneerNomination.member_id).where(
        PioneerNomination.month == start.date().replace(day=1))).scalars())
    candidates = []
    for member in _in_branch_as_it_ended(session, branch_id=branch_id, end=end):
        mid = member.id
        if mid in absent or mid in honoured:
            continue
        record = (int(points.get(mid, 0) or 0), attended.get(mid, 0), int(study.get(mid, 0) or 0))
        if record[0] <= 0 and record[1] == 0 and record[2] == 0:
            continue
        candidates.append(Candidate(mid, member.name, *record))  # type: ignore[arg-type]
    candidates.sort(key=lambda c: (-c.points, -c.attended, -c.study_minutes, c.member_id))
    return candidates if limit is None else candidates[:limit]
