"""What each dashboard page shows, gathered from storage: plain data in, dicts out.

No HTTP here (routes.py does that), so the bench and the tests can time and check a page's
figures without a browser.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, select

from bot.config import Settings
from bot.domain.attendance import ATTENDED
from bot.domain.points import (
    Period,
    Tier,
    exact,
    half_up,
    item_text,
    last_complete_week,
    year_of,
)
from bot.domain.rules import Rules
from bot.domain.visits import target_of
from bot.web import committee as committee_sections
from storage import dashboard as store
from storage import org
from storage.attendance import CANCELLED, OPEN, real_start
from storage.models import (
    LEADER_ROLES,
    MANAGER_ROLES,
    ROLE_LABELS,
    Activity,
    Branch,
    Member,
    Role,
)
from storage.reports import standings, view_of

WEEKS = 12
STATUS_LABELS = {"present": "出席", "late": "迟到", "makeup": "补签", "leave": "请假",
                 "absent": "缺席", "withdrawn": "已撤销"}
LEAVE_STATES = {"granted": "已准", "pending": "待批", "revoked": "已撤销"}


@dataclass(frozen=True)
class Viewer:
    """Who is looking, read from the database on every request (a role change counts at once)."""

    member_id: int
    name: str
    role: Role
    branch_id: int | None
    csrf: str = ""  # the session's form token, for 退出 (routes.py sets it)

    @property
    def bureau(self) -> bool:
        return self.role in LEADER_ROLES

    def may_see_branch(self, branch_id: int | None) -> bool:
        if self.bureau:
            return True
        return branch_id is not None and self.role in MANAGER_ROLES and branch_id == self.branch_id

    def may_see_member(self, member: Member) -> bool:
        return member.id == self.member_id or self.may_see_branch(member.branch_id)

    @property
    def home(self) -> str:
        if self.bureau:
            return "/web/"
        if self.role in MANAGER_ROLES and self.branch_id is not None:
            return f"/web/branch/{self.branch_id}"
        return f"/web/member/{self.member_id}"


def viewer_of(session: Session, member_id: int) -> Viewer | None:
    member = session.get(Member, member_id)
    if member is None or not member.active or member.forgotten:
        return None
    assert member.id is not None
    return Viewer(member.id, member.name, Role(member.role), member.branch_id)


def _pct(rate: float | None) -> float | None:
    # Rounded half up (四舍五入) as 周报 says it: 81.25 is 81.3 on both.
    return None if rate is None else half_up(exact(rate) * 100, 1)


# Sections other capabilities add to the bureau page (the committee's 约谈, 结对, 先锋党员,
# 调研 problems): each takes (session, now, settings) and returns a section dict
# {"title": str, "columns": [...], "rows": [[...]], "note": str} or None when it has no data.
# The bureau page shows only the sections that returned something.
BUREAU_SECTIONS: list[Callable[[Session, datetime, Settings], dict[str, Any] | None]] = [
    *committee_sections.SECTIONS,
]


def _tallies(session: Session, cache: store.FigureCache | None, **span: Any) -> list[store.Tally]:
    if cache is None:
        return store.activity_tallies(session, **span)
    kept = cache.tallies(session, **span)
    # The cache keeps counts; the words are read as they are now: a lecturer forgotten
    # (djbot forget, another process) since the count was kept is named no more.
    named = {aid: (topic, lecturer) for aid, topic, lecturer in session.execute(
        select(Activity.id, Activity.topic, Activity.lecturer)
        .where(Activity.id.in_(  # type: ignore[union-attr]
            [t.activity_id for t in kept])))} if kept else {}
    return [replace(t, topic=named[t.activity_id][0] or "", lecturer=named[t.activity_id][1])
            if t.activity_id in named else t for t in kept]


def _activity_row(t: store.Tally, now: datetime) -> dict[str, Any]:
    """One activity as the chat's 结束 and 活动 give it: who came of those due, and how many
    of the missing are not confirmed absent yet (only sums over several activities leave
    those out of the base, as the reports do)."""
    held = t.held_by(now)
    state = ("已取消" if t.cancelled else "未开始" if t.starts_at > now
             else "进行中" if not held else "缺席待确认" if t.pending else "")
    live = store.Rate(t.attended, t.expected, t.leave)  # of all due: the pending not set aside
    return {"id": t.activity_id, "type": t.type, "topic": t.topic, "lecturer": t.lecturer,
            "expected": t.expected, "attended": t.attended, "leave": t.leave,
            "base": live.base, "pending": t.pending if held else 0, "state": state,
            "rate": _pct(live.value) if held else None}


def _state(activity: Activity, now: datetime) -> str:
    """An activity's state as the branch page's list says it ("" once begun and ended)."""
    if activity.status == CANCELLED:
        return "已取消"
    if activity.starts_at > now:
        return "未开始"
    return "进行中" if activity.status == OPEN and activity.ends_at > now else ""


def _months_there(branch: Branch, *, year: int, tz: Any) -> tuple[int, int]:
    """The first and last month of `year` the branch was there: none before the month it
    was set up (its record's date; the chat's 三会一课 holds no meeting due before it
    either) or after the one it ended."""
    set_up = branch.created_at.astimezone(tz)
    return (set_up.month if set_up.year == year else 1,
            branch.ends_on.month if branch.ends_on is not None and branch.ends_on.year == year
            else 12)


def bureau_page(session: Session, *, now: datetime, settings: Settings, rules: Rules,
                cache: store.FigureCache | None = None) -> dict[str, Any]:
    tz = settings.tz
    last = last_complete_week(now, tz)
    weeks = store.weeks_ending(store.Week(last.start, last.end), WEEKS)
    year = year_of(now, tz)
    first = min(weeks[0].start, year.start)
    tallies = _tallies(session, cache, start=first, end=now)

    trend = [_pct(store.period_rate(tallies, w.start, w.end, now)) for w in weeks]
    local = now.astimezone(tz)
    months = list(range(1, local.month + 1))
    month_starts = [year.start.replace(month=m) for m in months]
    month_ends = month_starts[1:] + [min(now, year.end)]
    by_month = [_pct(store.period_rate(tallies, s, e, now)) for s, e in zip(month_starts, month_ends)]
    year_rate = _pct(store.period_rate(tallies, year.start, now, now))

    figures = store.weekly_branch_figures(session, weeks=weeks, tallies=tallies, cache=cache,
                                          tz=tz, now=now)
    history: dict[int, list[str | None]] = {}
    latest: list[Any] = []
    for index, week in enumerate(weeks):
        ranked = standings(figures[index], rules, Period(week.start, week.end, week.label))
        for s in ranked:  # a week a branch is not listed in (an ended one) stays blank
            history.setdefault(s.figures.branch_id, [None] * len(weeks))[index] = (
                s.tier.value if s.tier else None)
        latest = ranked
    # The year's tables list every branch there was this year, as the year's report does:
    # one ended since (a 临时党支部, a closed branch) keeps its meetings, visits and
    # problems, said to have ended, and is owed no more visits.
    of_year = [b for b in org.branches(session, include_inactive=True)
               if b.active or (b.ends_on is not None and b.ends_on.year >= local.year)]
    names = {b.id: b.name + ("" if b.active else "（已撤销）") for b in of_year}
    there = {b.id: _months_there(b, year=local.year, tz=tz) for b in of_year}
    ended = {b.id for b in of_year if not b.active}
    visits = store.visits_of_year(session, year=local.year)
    # A branch set up this year owes a share of the year's visits (bot.domain.visits).
    first = org.first_roster(session, tz=tz)
    targets = {b.id: target_of(b, settings.visit_target_per_year, year=local.year, tz=tz,
                               first_roster=first)
               for b in of_year}
    meetings = store.three_meetings_by_month(
        store.in_period(tallies, year.start, now), tz=tz)

    own = [{"id": a.id, "type": a.type, "topic": a.topic, "lecturer": a.lecturer,
            "at": a.starts_at.astimezone(tz), "state": _state(a, now)}
           for a in store.bureau_activities(session, start=year.start,
                                            end=now + timedelta(days=1))]
    tiers = []
    for s in latest:
        f = s.figures
        tiers.append({
            "branch_id": f.branch_id, "name": f.name, "activities": f.activities,
            "participation": _pct(f.participation), "average_points":
            None if f.average_points is None else half_up(f.average_points, 1),
            "score": s.score, "tier": s.tier.value if s.tier else None,
            # An ended 临时党支部 keeps its tier, as 周报 shows it: 已撤销, no talk to hold.
            "talk": s.tier is Tier.BLUE and f.standing, "ended": not f.standing,
            "history": history.get(f.branch_id, []),
        })
    return {
        "title": "全局看板",
        "week": f"{last.start:%Y-%m-%d} 至 {last.last_day:%Y-%m-%d}",
        "week_labels": [w.label for w in weeks],
        "trend": trend,
        "month_labels": [f"{m}月" for m in months],
        "by_month": by_month,
        "year_rate": year_rate,
        "year": local.year,
        "tiers": tiers,
        "tier_counts": {t.value: sum(1 for r in tiers if r["tier"] == t.value) for t in Tier},
        "months": months,
        "meetings": [
            {"branch_id": bid, "name": name,
             "cells": [meetings.get(bid, {}).get(m, {}) if there[bid][0] <= m <= there[bid][1]
                       else None for m in months]}
            for bid, name in names.items()
        ],
        "visits": [
            {"branch_id": bid, "name": name, "visits": visits[bid].visits if bid in visits else 0,
             "target": targets.get(bid, settings.visit_target_per_year),
             "found": visits[bid].found if bid in visits else 0,
             "open": visits[bid].open_problems if bid in visits else 0,
             "ended": bid in ended}
            for bid, name in names.items()
        ],
        "bureau_activities": own,
        # As the year's report counts them: begun and not cancelled (取消活动).
        "bureau_held": sum(1 for a in own if a["state"] in ("", "进行中")),
        "sections": [s for s in (hook(session, now, settings) for hook in BUREAU_SECTIONS) if s],
    }


def branch_page(session: Session, *, branch: Branch, now: datetime, settings: Settings,
                cache: store.FigureCache | None = None, show_all: bool = False) -> dict[str, Any]:
    tz = settings.tz
    last = last_complete_week(now, tz)
    weeks = store.weeks_ending(store.Week(last.start, last.end), WEEKS)
    year = year_of(now, tz)
    first = min(weeks[0].start, year.start)
    tallies = _tallies(session, cache, start=first, end=now + timedelta(days=1),
                       branch_id=branch.id)
    activities = [
        {**_activity_row(t, now), "at": t.starts_at.astimezone(tz)}
        for t in reversed(store.in_period(tallies, year.start, now + timedelta(days=1)))
    ]
    members = store.branch_members(session, branch_id=branch.id, year_start=year.start,
                                   year_end=year.end, now=now)
    ratings = store.branch_ratings(session, branch_id=branch.id, start=year.start,
                                   end=now + timedelta(days=1),
                                   limit=None if show_all else store.RATINGS_LISTED)
    return {
        "title": branch.name,
        "branch": branch,
        "week_labels": [w.label for w in weeks],
        "trend": [_pct(store.period_rate(tallies, w.start, w.end, now)) for w in weeks],
        "activities": activities,
        "members": [
            {"id": m.member_id, "name": m.name, "role": ROLE_LABELS.get(Role(m.role), m.role),
             "group": m.group, "points": m.year_points, "recent": m.recent,
             "trend": "↑" if m.recent > m.before else "↓" if m.recent < m.before else "→",
             "off_boards": m.off_boards}
            for m in members
        ],
        # The store gives times in UTC, as they are stored, and averages as counted; the page
        # says the times in the bureau's time, as the activity list above does, and the
        # averages to one decimal, half up, as the chat's 活动 does (4.25 is 4.3).
        "ratings": [replace(r, starts_at=r.starts_at.astimezone(tz),
                            average=half_up(r.average, 1)) for r in ratings.rows],
        "ratings_total": ratings.total,
        "ratings_hidden": ratings.hidden,
    }


def activity_page(session: Session, *, activity: Activity, settings: Settings,
                  now: datetime) -> dict[str, Any]:
    tz = settings.tz
    sheet = store.attendance_sheet(session, activity=activity)
    branch = session.get(Branch, activity.branch_id) if activity.branch_id else None
    # Before it ends nobody is absent yet: who has not come reads 未签到, as the chat's
    # 未签到 says it, with the 未开始 or 进行中 the lists of activities give it.
    state = _state(activity, now)
    under_way = state if state in ("未开始", "进行中") else None
    grace = timedelta(minutes=settings.late_grace_minutes)
    kept = real_start(session, activity=activity)
    rows = []
    for line in sheet:
        status = _record_status(line)
        if line.status is None and under_way:
            status = "未签到"
        if line.status in ("absent", "leave") and (line.checked_in_at or line.made_up_at):
            # 更正: the check-in or 补签 stays on file, its time shown, and is not counted;
            # leave beside a check-in time would read as a forged record, not a correction.
            status = f"{STATUS_LABELS[line.status]}（签到已更正）"
        if line.status == "present" and line.checked_in_at is not None and line.checked_in_at \
                > activity.starts_at + grace:
            # 更正 …出席 of a meeting begun late: 出席 beside a time past the line would read as
            # a forged record too, not as the 迟到 put right that it is, or as counted from
            # the start kept that a 更正 said while it ran.
            status = (f"出席（按实际 {kept.astimezone(tz):%H:%M} 开始计）"
                      if kept is not None and line.checked_in_at <= kept + grace
                      else "出席（迟到已更正）")
        counts_as = line.status or "missing"
        if _leave_not_granted(line) or line.status == "withdrawn":
            # Still due, as 结束 and 未签到 count it: leave until granted, and a withdrawn
            # record (shown only for one who is expected after all).
            counts_as = "missing"
        rows.append({
            "member_id": line.member_id, "name": line.name, "group": line.group or "",
            "status": status, "status_key": line.status or "missing", "counts_as": counts_as,
            "checked_in": line.checked_in_at.astimezone(tz) if line.checked_in_at else None,
            # Leave asked and then a check-in (the row keeps the reason it was asked with):
            # a reason beside 出席 reads on paper as leave.
            "leave_reason": "" if line.status in ATTENDED else line.leave_reason or "",
            "makeup": (f"{line.made_up_by or '—'}：{line.makeup_reason or ''}"
                       if line.status == "makeup" else ""),
        })
    counted = {k: sum(1 for r in rows if r["counts_as"] == k)
               for k in ("present", "late", "makeup", "leave", "absent", "missing")}
    return {
        "title": f"{activity.type} 签到表",
        "activity": activity,
        "branch": branch,
        "starts": activity.starts_at.astimezone(tz),
        "ends": activity.ends_at.astimezone(tz),
        "rows": rows,
        "counted": counted,
        "final": activity.finalized_at is not None,
        "under_way": under_way,
        "cancelled": activity.status == CANCELLED,
    }


def _leave_not_granted(row: Any) -> bool:
    """Leave asked and waiting for a decision, or turned down."""
    return row.status == "leave" and bool(row.leave_state) and row.leave_state != "granted"


def _record_status(row: Any) -> str:
    """A status as the sheets give it: no row is 未到; a leave not granted (待批, 已撤销)
    says so."""
    if row.status is None:
        return "未到"
    if _leave_not_granted(row):
        return f"请假（{LEAVE_STATES.get(row.leave_state, row.leave_state)}）"
    return STATUS_LABELS.get(row.status, row.status)


def member_page(session: Session, *, member: Member, now: datetime,
                settings: Settings, show_all: bool = False) -> dict[str, Any]:
    tz = settings.tz
    last = last_complete_week(now, tz)
    weeks = store.weeks_ending(store.Week(last.start, last.end), WEEKS)
    year = year_of(now, tz)
    assert member.id is not None
    entries = store.member_entries(session, member_id=member.id, start=year.start,
                                   end=now + timedelta(days=1),
                                   limit=None if show_all else store.ENTRIES_LISTED)
    records = store.member_attendance(session, member_id=member.id,
                                      start=year.start, end=now + timedelta(days=1))
    described = view_of(session, entries.rows)
    branch = session.get(Branch, member.branch_id) if member.branch_id else None
    return {
        "title": member.name,
        "member": member,
        "branch": branch,
        "year_points": store.member_points(session, member_id=member.id, start=year.start,
                                           end=now + timedelta(days=1)),
        "entries_total": entries.total,
        "entries_hidden": entries.hidden,
        "week_labels": [w.label for w in weeks],
        "weekly": store.member_weekly_points(session, member_id=member.id, weeks=weeks),
        # Said as 积分明细 in the chat says them (政治夜学「党章」出席, 冲销 …): a rule's key
        # alone (活动 出席) does not say which activity an entry was earned at.
        "entries": [{"at": e.occurred_at.astimezone(tz),
                     "what": item_text(described.item(e)),
                     "points": e.points, "note": e.note or ""} for e in entries.rows],
        "records": [{"activity_id": a.id, "type": a.type, "topic": a.topic,
                     "at": a.starts_at.astimezone(tz),
                     "status": _record_status(r)
                     + ("（活动已取消，不计）" if a.status == CANCELLED else "")}
                    for a, r in records],
    }
