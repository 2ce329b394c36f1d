"""Telling people an activity is off: the groups already told of it, and each member who
asked leave for it, once, privately.

Whatever calls an activity off tells of it through here: a chat command (取消活动, 删除日程,
暂停日程, 设置 replacing a schedule, via handlers.attendance.called_off) and the command
line (djbot schedule set). What telling needs is in CalledOff, built from the chat or from
the runtime; no chat is needed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from bot.config import Settings
from bot.domain.attendance import activity_label
from bot.scheduling.plan import QuietHours
from storage import attendance as attendance_store
from storage import corrections, org, outbox
from storage import leave as leave_store
from storage.models import Activity, Member


@dataclass(frozen=True)
class CalledOff:
    """Who calls activities off, when, and in which transaction."""

    session: Session
    settings: Settings
    now: datetime
    by: Member | None = None  # whoever called it off: they know
    # The platform they spoke on: members with accounts on several are written to there.
    # None (the command line): on the platform of the activity's groups.
    platform: str | None = None


def label(session: Session, activity: Activity, settings: Settings,
          now: datetime | None = None) -> str:
    """主题党日「…」（14:00）, its day said relative to `now`; with no `now`, its date."""
    group = org.party_group(session, group_id=activity.party_group_id)
    return activity_label(activity.type, activity.topic, activity.starts_at, settings.tz, now,
                          group=group.name if group else None)


def tell_cancelled(off: CalledOff, activities: Iterable[Activity]) -> tuple[int, int]:
    """Activities a change cancelled, each told of (tell) with the reason it was cancelled
    for; returns the groups and the members told, summed."""
    told = [tell(off, activity, activity.cancel_reason or "") for activity in activities]
    return sum(groups for groups, _ in told), sum(members for _, members in told)


def tell(off: CalledOff, activity: Activity, reason: str) -> tuple[int, int]:
    """An activity cancelled (取消活动, or a schedule change that took it away): the groups
    told of it hear it is off; and while it is still to come or under way, each member who
    asked leave for that activity hears it once, privately, since it changes what they do
    (no decision is coming; one turned down need not come). Not those away for days (a
    period), nor anyone after it ended: then it is only a record put right (积分明细).
    Returns (groups told, members told)."""
    session, settings = off.session, off.settings
    told = corrections.told_groups(session, activity=activity)
    for platform, chat_id in told:
        outbox.enqueue(session, platform=platform, target_kind="group", target=chat_id,
                       branch_id=activity.branch_id, now=off.now, kind="activity.cancel",
                       dedupe_key=f"activity.cancel|{activity.id}|{platform}:{chat_id}",
                       payload=outbox.text_payload(
                           f"【活动取消】{label(session, activity, settings, off.now)}已取消。"
                           f"原因：{reason}", title=activity.type))
    if activity.ends_at <= off.now:
        return len(told), 0
    local_now = off.now.astimezone(settings.tz)
    asked = [m for m in attendance_store.asked_leave(session, activity=activity)
             if (off.by is None or m.id != off.by.id)
             and not any(leave_store.covers(p, activity, settings.tz)
                         for p in leave_store.periods_of(session, member_id=m.id,
                                                         today=local_now.date()))]
    prefer = off.platform or org.group_platform(session, branch_id=activity.branch_id)
    reached = org.reach(session, asked, prefer=prefer)
    outbox.enqueue_private(
        session, reached=reached, title="活动取消", kind="activity.cancel",
        text=f"【活动取消】你请过假的{label(session, activity, settings)}已取消。原因：{reason}",
        key=f"activity.cancel|{activity.id}|asked", now=off.now, branch_id=activity.branch_id,
        # At night it waits for the morning: it is news, not an answer.
        not_before=QuietHours.of(settings).held_until(local_now))
    return len(told), len(reached)
