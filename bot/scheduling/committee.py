"""The committee loop's private reminders, offered on every tick and enqueued once each:

- 三会一课: a secretary is told once, privately, at 09:00 seven days before a required
  meeting's period ends, when none is held or scheduled by then (one message per secretary
  per period end, listing every meeting due then);
- 先锋党员: once a month is whole and its last day's absences are confirmed (the 2nd at
  10:00 with absences confirmed after 24 hours), each secretary privately gets the branch's
  shortlist drawn from the month just ended, in the days a nomination for it is taken;
- 整改: the morning after an open item's deadline (整改 … 12月底前) its owner is told once,
  privately; the leaders read it in 周报's 整改未完成.

All three respect quiet hours, the first two a branch's paused reminders too (an 整改 is
the committee's, not the branch's); none names anyone in a group.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlmodel import Session, select

from bot.config import Settings
from bot.domain import meetings as m
from bot.domain.points import month_of, previous_period
from bot.domain.rules import Rules
from bot.scheduling import plan as p
from storage import committee_report as cr
from storage import committee, org
from storage.committee import NOMINATION_GRACE_DAYS
from storage.kinds import RECTIFICATION_OWNER
from storage.models import Branch, Member, Rectification

SHORTLIST_AT = time(10, 0)
OVERDUE_AT = time(9, 0)
SHORTLISTED = 5  # names in the month-end shortlist; how many more are eligible is said


def _not_quiet(moment: datetime, settings: Settings) -> datetime:
    return p.QuietHours.of(settings).held_until(moment.astimezone(settings.tz)) or moment


def _in_window(due_at: datetime, since: datetime, now: datetime, settings: Settings) -> bool:
    grace = timedelta(minutes=settings.catchup_grace_minutes)
    return min(since, now - grace) <= due_at <= now


def meeting_reminders(session: Session, *, since: datetime, now: datetime, settings: Settings,
                      rules: Rules) -> list[p.Reminder]:
    from bot.scheduling.tick import branch_view  # the views tick.py builds for every reminder

    tz = settings.tz
    today = now.astimezone(tz).date()
    # Every period ends on a month's last day, so one moment a month is all there is to
    # check: the standing is only worked out in the ticks around it.
    if not _in_window(_not_quiet(m.remind_at(m.period_of(today, "month"), tz), settings),
                      since, now, settings):
        return []
    out: list[p.Reminder] = []
    for branch in session.exec(select(Branch).where(Branch.active == True)).all():  # noqa: E712
        rows = cr.meeting_standing(session, branch=branch, now=now, tz=settings.tz, rules=rules)
        due = m.due_reminders(rows, today)
        if not due:
            continue
        view = branch_view(session, branch_id=branch.id)  # type: ignore[arg-type]
        span = due[0].period
        occurrence = datetime.combine(span.last, time(0), tzinfo=tz)
        # Due at one moment, like every reminder: a tick that finds it older than the
        # catch-up grace logs it as missed rather than sending it late.
        due_at = _not_quiet(m.remind_at(span, tz), settings)
        if p.is_paused(view, due_at, tz):
            continue
        names = "、".join(r.label for r in due)
        text = (f"【三会一课提醒】{branch.name}：{names} 须在 {span.last.month}月{span.last.day}日前召开，"
                "目前还没有安排。可用「设置」定好日程，或开会时发送「开始 会议名称」。")
        for sec in view.secretaries:
            out.append(p.Reminder(p.MEETINGS_DUE, sec.platform, "user", sec.user_id, branch.id,
                                  occurrence, due_at, text, title="三会一课"))
    return out


def shortlist_at(month_start: date, settings: Settings) -> datetime:
    """When the shortlist of the month before `month_start` goes: at SHORTLIST_AT once what
    was held on its last day has had its absences confirmed (absence_confirm_hours), so the
    list is of the whole month and names nobody an absence keeps off it; within the days a
    nomination for that month is taken."""
    whole = datetime.combine(month_start, time(0), tzinfo=settings.tz) \
        + timedelta(hours=settings.absence_confirm_hours)
    day = whole.date() if whole.time() <= SHORTLIST_AT else whole.date() + timedelta(days=1)
    day = min(day, month_start + timedelta(days=NOMINATION_GRACE_DAYS - 1))
    return _not_quiet(datetime.combine(day, SHORTLIST_AT, tzinfo=settings.tz), settings)


def shortlist_reminders(session: Session, *, since: datetime, now: datetime,
                        settings: Settings) -> list[p.Reminder]:
    from bot.scheduling.tick import branch_view

    tz = settings.tz
    this_month = month_of(now, tz)
    due_at = shortlist_at(this_month.start.date(), settings)
    if not _in_window(due_at, since, now, settings):
        return []  # built only in the tick that crosses that moment
    month = previous_period(this_month)
    last_day = month.last_day
    out: list[p.Reminder] = []
    for branch in session.exec(select(Branch).where(Branch.active == True)).all():  # noqa: E712
        view = branch_view(session, branch_id=branch.id)  # type: ignore[arg-type]
        if not view.secretaries or p.is_paused(view, due_at, tz):
            continue
        eligible = cr.pioneer_shortlist(session, branch_id=branch.id, start=month.start,  # type: ignore[arg-type]
                                        end=month.end, limit=None)
        if not eligible:
            continue
        m = last_day.month
        lines = [f"【先锋党员推荐】{branch.name} {m}月候选（按{m}月积分、出勤、学习；"
                 "有未请假缺席的不列入）："]
        lines += [f"{i}. {c.name} {c.points}分 出勤{c.attended}次 学习{c.study_minutes}分钟"
                  for i, c in enumerate(eligible[:SHORTLISTED], 1)]
        if len(eligible) > SHORTLISTED:
            # The secretary may nominate anyone eligible: five names must not read as all.
            lines.append(f"……另有 {len(eligible) - SHORTLISTED} 人符合条件，未列出。")
        grace = this_month.start.date()
        lines.append(f"推荐请发送「推荐 先锋党员 姓名 事迹」（{grace.month}月"
                     f"{NOMINATION_GRACE_DAYS}日前有效）。")
        for sec in view.secretaries:
            out.append(p.Reminder(p.PIONEER_SHORTLIST, sec.platform, "user", sec.user_id,
                                  branch.id, month.start, due_at, "\n".join(lines),
                                  title="先锋党员推荐"))
    return out


def overdue_reminders(session: Session, *, since: datetime, now: datetime,
                      settings: Settings) -> list[p.Reminder]:
    """Each owner of open items whose deadline was yesterday, once, at 09:00: one message
    for all of them (two items due the same day are one reminder, not two)."""
    tz = settings.tz
    today = now.astimezone(tz).date()
    due_at = _not_quiet(datetime.combine(today, OVERDUE_AT, tzinfo=tz), settings)
    if not _in_window(due_at, since, now, settings):
        return []
    yesterday = today - timedelta(days=1)
    by_owner: dict[int, list[Rectification]] = {}
    # Each owner's reminder lists them in the order they were recorded.
    for item in sorted(committee.open_rectifications(session, due_on=yesterday),
                       key=lambda item: item.id or 0):
        if item.owner_id is not None:
            by_owner.setdefault(item.owner_id, []).append(item)
    owners = session.exec(select(Member).where(Member.id.in_(by_owner),  # type: ignore[union-attr]
                                               Member.active == True)).all()  # noqa: E712
    out: list[p.Reminder] = []
    for owner, identity in org.reach(session, list(owners), prefer=None):
        mine = by_owner[owner.id]  # type: ignore[index]
        lines = [f"【整改到期】你负责的整改事项已过期限（{yesterday.month}月{yesterday.day}日）："]
        lines += [f"· #{i.id} {i.problem}" for i in mine]
        lines.append("完成后请发送「整改完成 编号 说明」。")
        out.append(p.Reminder(RECTIFICATION_OWNER, identity.platform, "user", identity.user_id,
                              mine[0].branch_id, datetime.combine(yesterday, time(0), tzinfo=tz),
                              due_at, "\n".join(lines), title="整改到期"))
    return out


def committee_reminders(session: Session, *, since: datetime, now: datetime, settings: Settings,
                        rules: Rules) -> list[p.Reminder]:
    return (meeting_reminders(session, since=since, now=now, settings=settings, rules=rules)
            + shortlist_reminders(session, since=since, now=now, settings=settings)
            + overdue_reminders(session, since=since, now=now, settings=settings))
