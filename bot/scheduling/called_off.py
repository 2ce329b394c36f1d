"""Telling people an activity is off: the groups already told of it, and each member who
asked leave for it, once, privately.

Whatever calls an activity off tells of it through here: a chat command (取消活动, 删除日程,
暂停日程, 设置 replacing a schedule, via handlers.attendance.called_off) and the command
line (djbot schedule set). What telling needs is in CalledOff, built from the chat or from
the runtime; no chat is needed. One a schedule change moved to another time of its day
(Retimed, bot.scheduling.retimed) is told of as moved, not as off.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from bot.config import Settings
from bot.domain.attendance import activity_label
from bot.domain.text import WEEKDAYS, show_date
from bot.scheduling.plan import QuietHours
from storage import attendance as attendance_store
from storage import corrections, org, outbox
from storage import leave as leave_store
from storage.models import Activity, AttendanceStatus, LeaveState, Member


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


@dataclass(frozen=True)
class Retimed:
    """An activity a schedule change took away while the schedule still holds its day, at
    another time: the activity held instead, which the leave asked for it was carried to
    (bot.scheduling.retimed)."""

    to: Activity
    carried: int = 0  # how many members' leave stands there


def tell_cancelled(off: CalledOff, activities: Iterable[Activity],
                   retimed: Mapping[int, Retimed] | None = None) -> tuple[int, int]:
    """Activities a change cancelled, each told of (tell) with the reason it was cancelled
    for, or as moved when it is in `retimed` (by id); returns the groups and the members
    told, summed."""
    told = [tell(off, activity, activity.cancel_reason or "",
                 (retimed or {}).get(activity.id))  # type: ignore[arg-type]
            for activity in activities]
    return sum(groups for groups, _ in told), sum(members for _, members in told)


def tell(off: CalledOff, activity: Activity, reason: str,
         retimed: Retimed | None = None) -> tuple[int, int]:
    """An activity cancelled (取消活动, or a schedule change that took it away): the groups
    told of it hear it is off; and while it is still to come or under way, each member who
    asked leave for that activity hears it once, privately, since it changes what they do
    (no decision is coming; one turned down need not come). Not those away for days (a
    period), nor anyone after it ended: then it is only a record put right (积分明细).
    Moved to another time of its day (`retimed`), it is said to be moved, and each member
    hears what became of their leave there (retimed_text). Returns (groups told, members
    told)."""
    session, settings = off.session, off.settings
    # A move is told once per move: 改期 back and away again moves the same activity twice,
    # and a key of the activity alone kept the second from everyone.
    move = (f"{corrections.MOVED_HERE}{retimed.to.id}@{int(off.now.timestamp())}"
            if retimed is not None else "")
    told = _tell_groups(off, activity, corrections.MOVED_KIND, (
        f"【活动时间调整】{label(session, activity, settings, off.now)}"
        f"改为 {new_time(activity, retimed.to, off)}。" if retimed is not None else
        f"【活动取消】{label(session, activity, settings, off.now)}已取消。原因：{reason}"), move)
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
    cancelled = f"【活动取消】你请过假的{label(session, activity, settings)}已取消。原因：{reason}"
    by_text: dict[str, list] = {}
    for member, identity in reached:
        text = (retimed_text(off, activity, retimed, member) if retimed is not None else None)
        by_text.setdefault(text or cancelled, []).append((member, identity))
    for text, these in by_text.items():
        outbox.enqueue_private(
            session, reached=these, title="活动取消" if text == cancelled else "活动时间调整",
            kind="activity.cancel", text=text, key=f"activity.cancel|{activity.id}{move}|asked",
            now=off.now, branch_id=activity.branch_id,
            # At night it waits for the morning: it is news, not an answer.
            not_before=QuietHours.of(settings).held_until(local_now))
    return len(told), len(reached)


def _tell_groups(off: CalledOff, activity: Activity, kind: str,
                 text: str, about: str = "") -> list[tuple[str, str]]:
    """Each group already told of the activity hears `text` once (keyed by kind, and by
    `about` where it may be told so again); returns those groups."""
    told = corrections.told_groups(off.session, activity=activity)
    for platform, chat_id in told:
        outbox.enqueue(off.session, platform=platform, target_kind="group", target=chat_id,
                       branch_id=activity.branch_id, now=off.now, kind=kind,
                       dedupe_key=f"{kind}|{activity.id}{about}|{platform}:{chat_id}",
                       payload=outbox.text_payload(text, title=activity.type))
    return told


def retimed_text(off: CalledOff, activity: Activity, retimed: Retimed,
                 member: Member) -> str | None:
    """What a member who asked leave for an activity moved to another time of its day hears:
    that it moved, and what their leave is there, read from their record on the activity
    held instead (its leave carried, or none: turned down, they are expected as anyone).
    None when that one does not expect them either (they moved meanwhile): it is off for
    them."""
    moved = (f"【活动时间调整】你请过假的{label(off.session, activity, off.settings)}"
             f"改为 {new_time(activity, retimed.to, off)}，")
    assert retimed.to.id is not None and member.id is not None
    row = attendance_store.attendance_of(off.session, activity_id=retimed.to.id,
                                         member_id=member.id)
    if row is not None and row.status == AttendanceStatus.LEAVE:
        if row.leave_state == LeaveState.PENDING:
            return moved + "请假仍在等待批准。"
        if row.leave_state != LeaveState.REVOKED:
            return moved + "请假仍然有效。"
    if not attendance_store.expected_at(off.session, member=member, activity=retimed.to):
        return None
    return moved + "请假未获批准，仍需参加。"


def hour(activity: Activity, off: CalledOff) -> str:
    """When the activity starts, as a notice of its move says it (20:00)."""
    return f"{activity.starts_at.astimezone(off.settings.tz):%H:%M}"


def new_time(taken: Activity, to: Activity, off: CalledOff) -> str:
    """When an activity moved is held now, as its notice says it: the hour when its day
    stays (20:00), else the day too (12月10日（周四）19:30: 改期 moves one to another day)."""
    tz = off.settings.tz
    day = to.starts_at.astimezone(tz).date()
    if day == taken.starts_at.astimezone(tz).date():
        return hour(to, off)
    return f"{show_date(day)}（周{WEEKDAYS[day.weekday()]}）{hour(to, off)}"


def tell_reopened(off: CalledOff, activity: Activity) -> tuple[int, int]:
    """An activity a schedule change had taken away, held again (storage.corrections.
    reopen): the groups told of it before, and each member whose leave for it stands again,
    hear it is on after all, once. Returns (groups told, members told)."""
    session, settings = off.session, off.settings
    told = _tell_groups(off, activity, "activity.resume",
                        f"【活动恢复】{label(session, activity, settings, off.now)}照常举行。")
    from bot.scheduling.moves import ask_for_a_decision  # it imports this module

    local_now = off.now.astimezone(settings.tz)
    not_before = QuietHours.of(settings).held_until(local_now)
    prefer = off.platform or org.group_platform(session, branch_id=activity.branch_id)
    asked = attendance_store.asked_leave(session, activity=activity, standing=True)
    rows = {m.id: attendance_store.attendance_of(session, activity_id=activity.id,
                                                 member_id=m.id) for m in asked}
    waiting = [m for m in asked if rows[m.id] is not None
               and rows[m.id].leave_state == LeaveState.PENDING]  # type: ignore[union-attr]
    what = label(session, activity, settings)
    who = "领导" if activity.branch_id is None else "书记"
    reached = []
    # Leave nobody approved yet is told as waiting, not as standing; its request, withdrawn
    # unsent when the activity was called off, is asked again, or it lapses unseen.
    for these, says, key in (
            ([m for m in asked if m not in waiting], "请假仍然有效。如要参加，请发送「销假」。",
             "asked"),
            (waiting, f"请假仍在等待{who}批准。", "waiting")):
        found = org.reach(session, these, prefer=prefer)
        outbox.enqueue_private(
            session, reached=found, title="活动恢复", kind="activity.resume",
            text=f"【活动恢复】你请过假的{what}照常举行，{says}",
            key=f"activity.resume|{activity.id}|{key}", now=off.now,
            branch_id=activity.branch_id, not_before=not_before)
        reached += found
    for member in waiting:
        row = rows[member.id]
        assert row is not None and member.id is not None
        if outbox.went_out(session, kind=outbox.LEAVE_ASK, queued=True,
                           key_prefix=f"{outbox.leave_asks_of(member.id)}attendance:{row.id}|"):
            continue
        ask_for_a_decision(
            session, member=member, branch_id=activity.branch_id,
            key=f"attendance:{row.id}|resumed:{int(off.now.timestamp())}",
            asked=f"{label(session, activity, settings, off.now)}，原因：{row.leave_reason}。",
            now=off.now, not_before=not_before, prefer=prefer)
    return len(told), len(reached)


def tell_restored(off: CalledOff, activity: Activity) -> tuple[int, int]:
    """An activity 取消活动 cancelled, restored (恢复活动): while it is to come or under way,
    told as one a schedule holds again (tell_reopened); after it, the groups told it was off
    hear that its records count after all, and nobody privately (it is a record put right,
    as 积分明细 shows). Returns (groups told, members told)."""
    if activity.ends_at > off.now:
        return tell_reopened(off, activity)
    told = _tell_groups(off, activity, "activity.resume",
                        f"【活动恢复】{label(off.session, activity, off.settings, off.now)}"
                        "的取消已撤回，签到、请假和积分照常计入。")
    return len(told), 0
