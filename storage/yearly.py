"""The year's figures for the 述职报告: counts by activity type and organisation, per-branch
and per-member year scores, written as Markdown, JSON, an Excel workbook or a Word document.

Every figure is counted from the tables and its rule is written next to it (RULES), so a
number in the report can be traced back to what people did. Only activities that have
started by the time the report is made count as held.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlmodel import Session

from bot.domain.attendance import ATTENDED
from bot.domain.points import Period, exact, half_up, participation_rate
from bot.domain.rules import Rules
from bot.domain.visits import target_of as visits_owed
from storage import committee, membership
from storage.attendance import CANCELLED
from storage.models import (
    Activity,
    ActivityType,
    Attendance,
    AttendanceStatus,
    Branch,
    BranchPairing,
    JointActivity,
    LeaveState,
    Member,
    PartyGroup,
    PointEntry,
    ResearchVisit,
    StudyLog,
)
from storage.figures import fit_columns, own_reference, reference_note, strings_stay_strings
from storage.files import open_private
from storage.reports import branch_figures, branch_members, standings

# The activity types counted bureau-wide in the paragraph, in its order.
COUNTED_TYPES = [t.value for t in ActivityType]
# 三会一课 and 主题党日: counted per branch.
BRANCH_TYPES = [ActivityType.THEME_DAY.value, ActivityType.GENERAL_MEETING.value,
                ActivityType.COMMITTEE_MEETING.value, ActivityType.GROUP_MEETING.value,
                ActivityType.PARTY_LECTURE.value, ActivityType.NIGHT_STUDY.value]
# An activity withdrawn before it was held does not count (the corrections work names it so).
NOT_HELD = (CANCELLED,)

RULES: dict[str, str] = {
    "理论学习中心组": "区间内已开始的“理论学习中心组”活动，每场计 1 次",
    "第一议题": "区间内已开始的“第一议题”活动，每场计 1 次",
    "读书班": "区间内有课次的读书班期数（未编入任何一期的读书班活动每场按 1 期计）",
    "读书班参训率": "各期报名党员的出席（含迟到、补签）÷（每人报名后、在册期间的课次之和 − 准假），报名前来了的也计入",
    "政治夜学": "区间内已开始的“政治夜学”活动，每场计 1 次",
    "主题党日": "各支部区间内已开始的“主题党日”活动",
    "调研": "区间内记录的调研次数",
    "解决问题": "调研时当场解决的问题数 + 区间内“整改完成”的整改事项",
    "发现问题": "每次调研记录的问题数与登记到这次调研的整改事项数取较大者（整改事项是调研所发现问题的分项），"
                "加上区间内登记、不属于区间内调研的整改事项",
    "党支部": "区间结束时在册的常设党支部",
    "临时党支部": "区间内成立的临时党支部",
    "党小组": "区间结束时在册党支部的党小组",
    "先锋党员": "区间内各月经领导确认的先锋党员人数",
    "约谈": "区间内记录的约谈次数",
    "结对": "区间内任一时间在结对中的支部对数；联合活动计入双方支部",
    "讲课": "区间内已开始、记有讲师的党课和党建大讲堂场次",
    "年度积分": "量化积分台账中区间内的积分之和，按规则分列（出勤、学习、缺席扣分、更正）",
    "期后更正": "区间结束后记入、日期在区间内的冲销笔数（更正、取消活动等）；表中数字已按更正计算",
    "得分与档次": "支部得分 = 100 ×（参与率权重 × 参与率 + 积分权重 × min(1, 人均积分 ÷ 参考值)），按积分规则分档；"
                  "区间内成立或撤销的支部，参考值按其在册天数计（不少于 7 天）",
}


@dataclass
class ClassLine:
    name: str
    sessions: int
    enrolled: int
    expected: int
    attended: int
    leave: int
    participation_rate: float | None


@dataclass
class BranchYearLine:
    name: str
    temporary: bool
    members: int
    counts: dict[str, int]
    joint: int
    visits: int
    talks: int
    pioneers: int
    participation_rate: float | None
    points: int
    score: float | None
    tier: str | None
    # Reversals dated in the period and entered after it: the figures follow them, and a
    # year's table already sent said otherwise (as 周报's 期后更正).
    corrected_after: int = 0
    # The visits it owed in the year the period starts in (visit_target), as 周报 gives them.
    visit_target: int = 0
    # Closed or ended within the period: its row stays, marked, as the bureau page marks it.
    ended_on: date | None = None
    # Set up or ended in the period: its days there and the reference its points were
    # measured against (storage.figures.own_reference), said under the table.
    days_on_books: float | None = None
    points_reference: float | None = None


@dataclass
class MemberYearLine:
    name: str
    staff_no: str | None
    branch: str | None
    points: int
    points_by_kind: dict[str, int]
    attended: int
    leave: int
    absent: int
    study_minutes: int
    pioneer_months: list[str]


@dataclass
class PioneerLine:
    month: str
    branch: str | None
    name: str
    deeds: str


@dataclass
class YearFigures:
    label: str  # 2026年, 2026年第一季度, 2026年1月1日至3月31日
    first_day: date
    last_day: date
    counts: dict[str, int] = field(default_factory=dict)
    reading_rate: float | None = None
    classes: list[ClassLine] = field(default_factory=list)
    branches: list[BranchYearLine] = field(default_factory=list)
    members: list[MemberYearLine] = field(default_factory=list)
    lecturers: dict[str, int] = field(default_factory=dict)
    pioneers: list[PioneerLine] = field(default_factory=list)
    # The day it was counted on, when the period was not over yet: what it holds is to date.
    as_of: date | None = None


def period_label(first: date, last: date) -> str:
    if (first.month, first.day, last.month, last.day) == (1, 1, 12, 31) and first.year == last.year:
        return f"{first.year}年"
    quarters = {1: "一", 4: "二", 7: "三", 10: "四"}
    if (first.year == last.year and first.day == 1 and first.month in quarters
            and (last + timedelta(days=1)) == _add_months(first, 3)):
        return f"{first.year}年第{quarters[first.month]}季度"
    return f"{first.year}年{first.month}月{first.day}日至{last.year}年{last.month}月{last.day}日"


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def build_year(session: Session, *, period: Period, now: datetime, tz: tzinfo,
               rules: Rules, visit_target: int = 2) -> YearFigures:
    """Everything the 述职报告 counts in [period.start, period.end), as of `now`."""
    start, end = period.start, period.end
    held_until = min(end, now)
    first, last = start.date(), period.last_day
    figures = YearFigures(label=period_label(first, last), first_day=first, last_day=last)
    today = now.astimezone(tz).date()
    if today < last:  # on its last day, the period's days are all there to be counted
        figures.as_of = today
        figures.label += f"（截至{today.month}月{today.day}日）"
    held = and_(Activity.starts_at >= start, Activity.starts_at < held_until,
                Activity.status.not_in(NOT_HELD))  # type: ignore[attr-defined]

    by_type: dict[str, int] = {
        t: int(n) for t, n in session.execute(
            select(Activity.type, func.count()).where(held).group_by(Activity.type))
    }
    counts = figures.counts
    for name in COUNTED_TYPES:
        counts[name] = by_type.get(name, 0)

    # 读书班: classes with a session in the period, plus loose sessions counted as one each.
    classes = committee.classes_held(session, start=start, end=held_until)
    in_class = {a.id for c in classes for a in committee.class_sessions(session, class_id=c.id)}
    loose = session.execute(
        select(func.count()).select_from(Activity)
        .where(held, Activity.type == ActivityType.READING_CLASS.value,
               Activity.id.not_in(in_class or {-1}))  # type: ignore[union-attr]
    ).scalar_one()
    figures.classes = [class_line(session, c.id, c.name, held_until) for c in classes]
    counts[ActivityType.READING_CLASS.value] = len(classes) + int(loose)
    attended = sum(c.attended for c in figures.classes)
    expected = sum(c.expected for c in figures.classes)
    leave = sum(c.leave for c in figures.classes)
    figures.reading_rate = participation_rate(attended, expected, leave)

    counts["调研"] = int(session.execute(
        select(func.count(ResearchVisit.id))
        .where(ResearchVisit.visited_on >= first, ResearchVisit.visited_on <= last,
               ResearchVisit.withdrawn_at.is_(None))  # 撤销调研
    ).scalar_one())
    problems = committee.problems_in(session, first=first, last=last)
    counts["发现问题"] = problems.found
    counts["解决问题"] = problems.solved

    branches = list(session.execute(select(Branch).order_by(Branch.id)).scalars())
    standing = [b for b in branches if _existed(b, first, end)]
    # 现有党支部: those still on the books when the period ended. One closed in June keeps
    # its row in the tables (what it held is the year's) but is not one the bureau has.
    on_books = [b for b in standing if _open_at_end(b, last)]
    counts["党支部"] = sum(1 for b in on_books if not b.temporary)
    counts["临时党支部"] = sum(1 for b in branches if b.temporary
                              and start <= b.created_at < end)
    standing_ids = [b.id for b in on_books]
    counts["党小组"] = int(session.execute(
        select(func.count()).select_from(PartyGroup)
        .where(PartyGroup.branch_id.in_(standing_ids or [-1]))  # type: ignore[attr-defined]
    ).scalar_one())

    pioneer_rows = committee.pioneers(session, first=first, last=last)
    counts["先锋党员"] = len(pioneer_rows)
    branch_names = {b.id: b.name for b in branches}
    figures.pioneers = [PioneerLine(f"{n.month:%Y-%m}", branch_names.get(n.branch_id), m.name,
                                    n.deeds) for n, m in pioneer_rows]
    talk_rows = committee.talks(session, first=first, last=last)
    counts["约谈"] = len(talk_rows)
    pairs = committee.pairings_during(session, first=first, last=last)
    counts["结对"] = len(pairs)
    figures.lecturers = committee.lectures_by_lecturer(session, start=start, end=held_until)
    counts["讲课"] = sum(figures.lecturers.values())

    figures.branches = _branch_lines(session, branches=standing, held=held, period=period,
                                     tz=tz, rules=rules, talks=talk_rows,
                                     pioneers=pioneer_rows, pairs=pairs, now=now,
                                     per_year=visit_target,
                                     first_roster=min((b.created_at for b in branches
                                                       if not b.temporary), default=None))
    figures.members = _member_lines(session, start=start, end=end, held=held,
                                    held_until=held_until, branch_names=branch_names,
                                    pioneers=pioneer_rows)
    return figures


def _existed(branch: Branch, first: date, end: datetime) -> bool:
    """A branch on the books at the period's end (or, if temporary, closed inside it)."""
    if branch.created_at >= end:
        return False
    if branch.active:
        return True
    # Closed since (the 述职报告 is made in January): a 临时党支部 that ended after the
    # period was on the books at its end as much as one closed inside it.
    return branch.ends_on is not None and first <= branch.ends_on


def _open_at_end(branch: Branch, last: date) -> bool:
    """Still on the books on the period's last day: open, or closed (ended) after it."""
    return branch.active or branch.ends_on is None or branch.ends_on > last


def _granted_leave():
    """Leave that excuses, as the weekly report counts it (rows before leave states: granted)."""
    return and_(Attendance.status == AttendanceStatus.LEAVE,
                or_(Attendance.leave_state.is_(None),  # type: ignore[union-attr]
                    Attendance.leave_state == LeaveState.GRANTED))


def class_line(session: Session, class_id: int, name: str, held_until: datetime) -> ClassLine:
    sessions = [a for a in committee.class_sessions(session, class_id=class_id)
                if a.starts_at < held_until and a.status not in NOT_HELD]
    members = committee.enrolled(session, class_id=class_id)
    # A member is expected at the sessions that began after they were enrolled while they
    # were on the roster (when the session began, as every figure reads it: one taken off
    # it meanwhile was absent there), and at any other only if they came or were excused:
    # one enrolled in the third week was not absent from the first two, nor one who has
    # left the roster from what was held since.
    roster = list(session.execute(
        select(Member).where(Member.id.in_(list(members)))).scalars())  # type: ignore[union-attr]
    due: set[tuple[int, int]] = set()
    for a in sessions:
        there = membership.places_at(session, members=roster, moment=a.starts_at)
        due |= {(member_id, a.id) for member_id, since in members.items()
                if (since is None or a.starts_at >= since) and member_id in there}
    attended = leave = 0
    if sessions and members:
        for member_id, activity_id, came, excused in session.execute(
            select(Attendance.member_id, Attendance.activity_id,
                   Attendance.status.in_(ATTENDED), _granted_leave())  # type: ignore[attr-defined]
            .where(Attendance.activity_id.in_([a.id for a in sessions]),  # type: ignore[attr-defined]
                   Attendance.member_id.in_(list(members)))  # type: ignore[attr-defined]
        ).all():
            if came or excused:
                attended, leave = attended + bool(came), leave + bool(excused)
                due.add((member_id, activity_id))
    return ClassLine(name=name, sessions=len(sessions), enrolled=len(members), expected=len(due),
                     attended=attended, leave=leave,
                     participation_rate=participation_rate(attended, len(due), leave))


def _branch_lines(session: Session, *, branches: list[Branch], held, period: Period,
                  tz: tzinfo, rules: Rules, talks, pioneers, pairs,
                  now: datetime, per_year: int,
                  first_roster: datetime | None) -> list[BranchYearLine]:
    per_branch: dict[int, dict[str, int]] = {}
    for branch_id, type_, n in session.execute(
        select(Activity.branch_id, Activity.type, func.count())
        .where(held, Activity.branch_id.is_not(None))  # type: ignore[union-attr]
        .group_by(Activity.branch_id, Activity.type)
    ):
        per_branch.setdefault(branch_id, {})[type_] = int(n)
    # A pair's joint activity counts for the partner branch too.
    pair_by_id = {p.id: p for p in pairs}
    joint: dict[int, int] = {}
    for activity_id, pairing_id, owner, type_ in session.execute(
        select(JointActivity.activity_id, JointActivity.pairing_id, Activity.branch_id,
               Activity.type)
        .join(Activity, Activity.id == JointActivity.activity_id).where(held)
    ):
        pair = pair_by_id.get(pairing_id) or session.get(BranchPairing, pairing_id)
        if pair is None:
            continue
        partner = pair.weak_branch_id if owner == pair.strong_branch_id else pair.strong_branch_id
        per_branch.setdefault(partner, {})[type_] = per_branch.get(partner, {}).get(type_, 0) + 1
        joint[partner] = joint.get(partner, 0) + 1
    visits = dict(session.execute(
        select(ResearchVisit.branch_id, func.count())
        .where(ResearchVisit.visited_on >= period.start.date(),
               ResearchVisit.visited_on <= period.last_day,
               ResearchVisit.withdrawn_at.is_(None))
        .group_by(ResearchVisit.branch_id)).all())
    talk_counts: dict[int, int] = {}
    for talk in talks:
        talk_counts[talk.branch_id] = talk_counts.get(talk.branch_id, 0) + 1
    pioneer_counts: dict[int, int] = {}
    for nomination, _ in pioneers:
        if nomination.branch_id is not None:
            pioneer_counts[nomination.branch_id] = pioneer_counts.get(nomination.branch_id, 0) + 1
    # A year not over yet is scored to date, as a range report is (storage.figures): over
    # its full length every branch's points would be averaged over months not yet lived.
    to_date = period.until(now)
    scored = {s.figures.branch_id: s for s in standings(
        branch_figures(session, start=to_date.start, end=to_date.end, now=now), rules,
        to_date)}
    # A 临时党支部 that has ended since and held nothing is not among the scored: its
    # members in the span are counted as for any branch (it said 0).
    members = branch_members(session, start=to_date.start, end=to_date.end)
    lines = []
    for branch in branches:
        s = scored.get(branch.id)  # type: ignore[arg-type]
        own = own_reference(s.figures, to_date, rules.tiers) if s and s.score is not None \
            else None
        counts = per_branch.get(branch.id, {})  # type: ignore[arg-type]
        lines.append(BranchYearLine(
            name=branch.name, temporary=branch.temporary,
            members=s.figures.members if s else members.get(branch.id, 0),  # type: ignore[arg-type]
            counts={t: counts.get(t, 0) for t in BRANCH_TYPES},
            joint=joint.get(branch.id, 0),  # type: ignore[arg-type]
            visits=int(visits.get(branch.id, 0)), talks=talk_counts.get(branch.id, 0),  # type: ignore[arg-type]
            pioneers=pioneer_counts.get(branch.id, 0),  # type: ignore[arg-type]
            participation_rate=s.figures.participation if s else None,
            points=s.figures.points if s else 0,
            score=s.score if s else None, tier=s.tier.value if s and s.tier else None,
            corrected_after=s.figures.corrected_after if s else 0,
            ended_on=None if _open_at_end(branch, period.last_day) else branch.ends_on,
            days_on_books=own[0] if own else None, points_reference=own[1] if own else None,
            visit_target=visits_owed(branch, per_year, year=period.start.year, tz=tz,
                                     first_roster=first_roster.astimezone(tz).date()
                                     if first_roster else None),
        ))
    return lines


POINT_KINDS = {"attendance": "出勤", "study": "学习", "absence": "缺席扣分", "correction": "更正"}


def _member_lines(session: Session, *, start: datetime, end: datetime, held,
                  held_until: datetime, branch_names: dict[int, str],
                  pioneers) -> list[MemberYearLine]:
    """Every member on the roster at the period's end, or with a record in it, none left
    out; each under the branch they were in then. Read in January, 2026's sheet listed one
    who joined on 4 January with 0 for the year, and one who moved on 3 January under the
    branch they went to, not the one their year's points were earned in."""
    at_end = held_until - timedelta(microseconds=1)
    points: dict[int, dict[str, int]] = {}
    for member_id, kind, total in session.execute(
        select(PointEntry.member_id, PointEntry.source_kind, func.sum(PointEntry.points))
        .where(PointEntry.occurred_at >= start, PointEntry.occurred_at < end)
        .group_by(PointEntry.member_id, PointEntry.source_kind)
    ):
        label = POINT_KINDS.get(kind, kind)
        row = points.setdefault(member_id, {})
        row[label] = row.get(label, 0) + int(total or 0)
    attendance: dict[int, tuple[int, int, int]] = {
        member_id: (int(a), int(lv), int(ab)) for member_id, a, lv, ab in session.execute(
            select(Attendance.member_id,
                   func.sum(case((Attendance.status.in_(ATTENDED), 1), else_=0)),  # type: ignore[attr-defined]
                   func.sum(case((_granted_leave(), 1), else_=0)),
                   func.sum(case((Attendance.status == AttendanceStatus.ABSENT, 1), else_=0)))
            .join(Activity, Activity.id == Attendance.activity_id).where(held)
            .group_by(Attendance.member_id))
    }
    study = dict(session.execute(
        select(StudyLog.member_id, func.sum(StudyLog.minutes))
        .where(StudyLog.logged_at >= start, StudyLog.logged_at < end,
               StudyLog.withdrawn_at.is_(None))  # type: ignore[union-attr]  (撤销: counts nowhere)
        .group_by(StudyLog.member_id)).all())
    months: dict[int, list[str]] = {}
    for nomination, member in pioneers:
        months.setdefault(member.id, []).append(f"{nomination.month:%Y-%m}")
    lines: list[MemberYearLine] = []
    order: list[tuple[bool, int, int]] = []
    members = list(session.execute(
        select(Member).where(Member.forgotten == False)  # noqa: E712
        .order_by(Member.id)).scalars())
    places = membership.places_at(session, members=members, moment=at_end)
    for member in members:
        has_record = member.id in points or member.id in attendance
        place = places.get(member.id)  # type: ignore[arg-type]
        if place is None and not has_record:
            continue
        branch_id = place.branch_id if place is not None else member.branch_id
        order.append((branch_id is not None, branch_id or 0, member.id))
        by_kind = points.get(member.id, {})  # type: ignore[arg-type]
        a, lv, ab = attendance.get(member.id, (0, 0, 0))  # type: ignore[arg-type]
        lines.append(MemberYearLine(
            name=member.name, staff_no=member.staff_no,
            branch=branch_names.get(branch_id) if branch_id else None,
            points=sum(by_kind.values()), points_by_kind=by_kind, attended=a, leave=lv,
            absent=ab, study_minutes=int(study.get(member.id, 0) or 0),
            pioneer_months=months.get(member.id, []),  # type: ignore[arg-type]
        ))
    # By branch then member, those of no branch (leaders) first, on either database (a
    # NULL sorts first on SQLite and last on PostgreSQL).
    return [line for _, line in sorted(zip(order, lines), key=lambda pair: pair[0])]


# Rates are kept exact and rounded where they are shown, half up as everywhere else
# (bot.domain.points.percent): round() took 13/16 to 81.2% here where 周报 says 81.3%.
def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else half_up(value, digits)


def rate_text(rate: float | None) -> str:
    """A rate as the year's report writes it, rounded half up: 100%, 12.5% (1 of 8)."""
    if rate is None:
        return "—"
    shown = half_up(exact(rate) * 100, 1)
    return f"{shown:.0f}%" if shown == int(shown) else f"{shown:.1f}%"


# --- writing it ---------------------------------------------------------------------------


def paragraph(figures: YearFigures) -> str:
    """The paragraph a secretary pastes into the 述职报告, with this period's figures."""
    c = figures.counts
    reading = f"组织{c['读书班']}期读书班"
    if figures.reading_rate is not None:
        reading += f"，参训率{rate_text(figures.reading_rate)}"
    return (
        f"{figures.label}，先后组织党委理论学习中心组集中学习{c['理论学习中心组']}次，"
        f"组织“第一议题”学习{c['第一议题']}次，{reading}，"
        f"组织开展政治夜学活动{c['政治夜学']}次，赴基层支部开展调研{c['调研']}次，"
        f"解决实际问题{c['解决问题']}个。"
        f"现有党支部{c['党支部']}个，成立临时党支部{c['临时党支部']}个，党小组{c['党小组']}个；"
        f"评选出“先锋党员”{c['先锋党员']}人，开展事迹报告会{c['事迹报告会']}场；"
        f"约谈支部{c['约谈']}次，结对帮扶{c['结对']}对，开展党课和党建大讲堂{c['讲课']}场。"
    )


def render_markdown(figures: YearFigures) -> str:
    lines = [f"## {figures.label}党建工作数据",
             f"统计区间：{figures.first_day} 至 {figures.last_day}{_to_date(figures)}", "",
             paragraph(figures), "",
             "| 项目 | 数量 | 口径 |", "|---|---|---|"]
    for name, value in figures.counts.items():
        lines.append(f"| {name} | {value} | {RULES.get(name, '区间内已开始的该类活动场次')} |")
    lines.append(f"| 读书班参训率 | {rate_text(figures.reading_rate)} | {RULES['读书班参训率']} |")
    if figures.classes:
        lines += ["", "**读书班**", "", "| 期 | 课次 | 报名 | 出席 | 准假 | 参训率 |",
                  "|---|---|---|---|---|---|"]
        lines += [f"| {c.name} | {c.sessions} | {c.enrolled} | {c.attended} | {c.leave}"
                  f" | {rate_text(c.participation_rate)} |" for c in figures.classes]
    lines += ["", "**各支部**", "",
              "| 支部 | " + " | ".join(BRANCH_TYPES) + " | 联合活动 | 调研 | 约谈 | 先锋党员 | 参与率 | 得分 | 档 |",
              "|" + "---|" * (len(BRANCH_TYPES) + 8)]
    for b in figures.branches:
        name = b.name + ("（临时）" if b.temporary else "") + ("（已撤销）" if b.ended_on else "")
        cells = " | ".join(str(b.counts[t]) for t in BRANCH_TYPES)
        score = "—" if b.score is None else f"{b.score:g}"
        lines.append(f"| {name} | {cells} | {b.joint} | {b.visits}/{b.visit_target} | {b.talks}"
                     f" | {b.pioneers}"
                     f" | {rate_text(b.participation_rate)} | {score} | {b.tier or '—'} |")
    own = [b.name + reference_note(b.days_on_books, b.points_reference)
           for b in figures.branches if b.days_on_books is not None]
    if own:
        lines += ["", f"**按在册天数计分**：{'、'.join(own)}"]
    short = [f"{b.name}（{b.visits}/{b.visit_target}）" for b in figures.branches
             if b.visits < b.visit_target and not b.ended_on]
    if short:
        lines += ["", f"**年度调研未达标**：{'、'.join(short)}"]
    corrected = [f"{b.name} 冲销 {b.corrected_after} 笔" for b in figures.branches
                 if b.corrected_after]
    if corrected:
        lines += ["", f"**期后更正**（本期结束后记入，以上数字已按更正计算，明细见积分明细）："
                      f"{'、'.join(corrected)}"]
    if figures.lecturers:
        lines += ["", "**讲师授课**", ""]
        lines += [f"- {name}：{n} 场" for name, n in sorted(figures.lecturers.items(),
                                                         key=lambda kv: (-kv[1], kv[0]))]
    if figures.pioneers:
        lines += ["", "**先锋党员**", ""]
        lines += [f"- {p.month} {p.branch or ''} {p.name}：{p.deeds}" for p in figures.pioneers]
    return "\n".join(lines).rstrip() + "\n"


def _to_date(figures: YearFigures) -> str:
    return f"（区间未结束，数据截至 {figures.as_of}）" if figures.as_of else ""


def figures_dict(figures: YearFigures) -> dict[str, Any]:
    data = asdict(figures)
    data["as_of"] = figures.as_of.isoformat() if figures.as_of else None
    data["first_day"] = figures.first_day.isoformat()
    data["last_day"] = figures.last_day.isoformat()
    data["reading_rate"] = data["counts"]["读书班参训率"] = _round(figures.reading_rate)
    for line in (*data["branches"], *data["classes"]):
        line["participation_rate"] = _round(line["participation_rate"])
    for line in data["branches"]:
        line["ended_on"] = line["ended_on"].isoformat() if line["ended_on"] else None
    data["paragraph"] = paragraph(figures)
    data["rules"] = RULES
    return data


def render_json(figures: YearFigures) -> str:
    return json.dumps(figures_dict(figures), ensure_ascii=False, indent=2)


MEMBER_COLUMNS = ["姓名", "编号", "支部", "年度积分", "积分（出勤）", "积分（学习）", "积分（缺席扣分）",
                  "积分（更正）", "出席", "准假", "缺席", "学习分钟", "先锋党员月份"]


def write_xlsx(figures: YearFigures, path: str | Path) -> Path:
    """One workbook 考核 and 评先树优 can use: 汇总, 支部, 党员 (every member), 先锋党员, 口径."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    summary = book.active
    summary.title = "汇总"
    summary.append(["项目", "数量", "口径"])
    for name, value in figures.counts.items():
        summary.append([name, value, RULES.get(name, "区间内已开始的该类活动场次")])
    summary.append(["读书班参训率", figures.reading_rate, RULES["读书班参训率"]])
    summary.cell(row=summary.max_row, column=2).number_format = "0.0%"
    # The sheet opened first says which period, and that one not over yet is to date: it
    # was said only on the last line of 口径, and a count made on 7 December read as the year's.
    summary.append(["统计区间", figures.label, f"{figures.first_day} 至 {figures.last_day}"
                                              f"{_to_date(figures)}"])

    branches = book.create_sheet("支部")
    branches.append(["支部", "临时", "党员数", *BRANCH_TYPES, "联合活动", "调研", "调研目标", "约谈",
                     "先锋党员", "参与率", "年度积分", "得分", "档次", "期后更正", "撤销日期",
                     # Set up or ended in the year: what its score was worked on.
                     "在册天数", "积分参考值"])
    for b in figures.branches:
        branches.append([b.name, "是" if b.temporary else "", b.members,
                         *(b.counts[t] for t in BRANCH_TYPES), b.joint, b.visits,
                         b.visit_target, b.talks,
                         b.pioneers, b.participation_rate, b.points, b.score, b.tier,
                         b.corrected_after, b.ended_on, b.days_on_books,
                         b.points_reference])
        # Exact, shown as a percent to one decimal as everywhere (it was a bare fraction).
        branches.cell(row=branches.max_row, column=len(BRANCH_TYPES) + 9).number_format = "0.0%"

    members = book.create_sheet("党员")
    members.append(MEMBER_COLUMNS)
    for m in figures.members:
        k = m.points_by_kind
        members.append([m.name, m.staff_no, m.branch, m.points, k.get("出勤", 0), k.get("学习", 0),
                        k.get("缺席扣分", 0), k.get("更正", 0), m.attended, m.leave, m.absent,
                        m.study_minutes, "、".join(m.pioneer_months)])

    honour = book.create_sheet("先锋党员")
    honour.append(["月份", "支部", "姓名", "事迹"])
    for p in figures.pioneers:
        honour.append([p.month, p.branch, p.name, p.deeds])

    rules = book.create_sheet("口径")
    rules.append(["项目", "规则"])
    for name, text in RULES.items():
        rules.append([name, text])
    rules.append(["统计区间", f"{figures.first_day} 至 {figures.last_day}{_to_date(figures)}"])
    for sheet in book.worksheets:
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        sheet.freeze_panes = "A2"  # scrolled down hundreds of members, the headings stay
        strings_stay_strings(sheet)  # a name such as =HYPERLINK(…) stays a name
        fit_columns(sheet)
    path = Path(path)
    with open_private(path, "wb") as fh:  # every member's points: the owner's only
        book.save(fh)
    return path


def write_docx(figures: YearFigures, path: str | Path) -> Path:
    """A Word document whose first paragraph is the one pasted into the 述职报告."""
    from docx import Document

    document = Document()
    document.add_paragraph(paragraph(figures))
    document.add_heading(f"{figures.label}党建工作数据", level=1)
    table = document.add_table(rows=1, cols=3)
    table.style = "Table Grid"
    for cell, text in zip(table.rows[0].cells, ("项目", "数量", "口径")):
        cell.text = text
    rows = list(figures.counts.items()) + [("读书班参训率", rate_text(figures.reading_rate))]
    for name, value in rows:
        cells = table.add_row().cells
        cells[0].text, cells[1].text = name, str(value)
        cells[2].text = RULES.get(name, "区间内已开始的该类活动场次")
    if figures.pioneers:
        document.add_heading("先锋党员", level=2)
        for p in figures.pioneers:
            document.add_paragraph(f"{p.month} {p.branch or ''} {p.name}：{p.deeds}",
                                   style="List Bullet")
    path = Path(path)
    with open_private(path, "wb") as fh:  # the pioneers' names and deeds: the owner's only
        document.save(fh)
    return path
