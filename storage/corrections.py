"""Corrections: cancelling an activity, withdrawing a 学习 or a 调研, deleting a schedule.

Nothing is deleted from the ledger: every point that a corrected event earned or cost is
reversed by a new entry (rule "reverse:<rule>", source_kind "correction") whose note says
who corrected it and why, so 积分明细 shows the reversal beside the original.
Keyword-only queries that never commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

from sqlalchemy import or_, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, delete, select

from storage import ledger, outbox
from storage.attendance import ATTENDED, CANCELLED, CLOSED, MOVED_TO, OPEN, ROW_KINDS
from storage.models import (
    Activity,
    Attendance,
    AttendanceStatus,
    Member,
    OutboxMessage,
    PointEntry,
    ResearchVisit,
    Schedule,
    StudyLog,
)


def reverse_entries(session: Session, *, entries: list[PointEntry], correction_of: str,
                    note: str, now: datetime) -> int:
    """Post the opposite of each entry (once: a second reversal writes nothing); returns the
    points reversed."""
    total = 0
    for entry in entries:
        if entry.rule.startswith("reverse:"):
            continue
        if ledger.post(session, member_id=entry.member_id, branch_id=entry.branch_id,
                       points=-entry.points, rule=f"reverse:{entry.rule}",
                       source_kind="correction", source_id=f"{correction_of}:{entry.id}",
                       occurred_at=entry.occurred_at, now=now, ruleset_id=entry.ruleset_id,
                       note=note):
            total -= entry.points
    return total


def _net_entries(session: Session, *, source_kinds: tuple[str, ...],
                 source_ids: list[str]) -> list[PointEntry]:
    if not source_ids:
        return []
    return list(session.exec(select(PointEntry).where(
        PointEntry.source_kind.in_(source_kinds),  # type: ignore[attr-defined]
        PointEntry.source_id.in_(source_ids))).all())  # type: ignore[attr-defined]


def cancel_activity(session: Session, *, activity: Activity, by: Member | None, reason: str,
                    now: datetime) -> int:
    """Mark the activity cancelled and reverse every point it posted (check-ins, absences,
    make-ups and the corrections already made on them). Returns the points reversed."""
    # FOR UPDATE, which a check-in's FOR KEY SHARE waits for (storage.attendance
    # _STILL_HELD), and which waits for a check-in already writing: its row is then read below.
    session.execute(select(Activity.id).where(Activity.id == activity.id).with_for_update())
    activity.status = CANCELLED
    activity.cancelled_at = now
    activity.cancelled_by = by.id if by else None
    activity.cancel_reason = reason
    session.add(activity)
    # Written before its rows are read: a check-in after this finds the activity cancelled.
    session.flush()
    rows = session.exec(select(Attendance.id, Attendance.member_id).where(
        Attendance.activity_id == activity.id)).all()
    ids = [str(i) for i, _ in rows]
    entries = _net_entries(session, source_kinds=("attendance", "absence"), source_ids=ids)
    # A make-up that already reversed a penalty: reverse that correction too, so the sum
    # over the activity comes to zero.
    entries += list(session.exec(select(PointEntry).where(
        PointEntry.source_kind == "correction",
        PointEntry.source_id.in_(ids))).all()) if ids else []  # type: ignore[attr-defined]
    # And what was posted again after a 更正 (a row's id with a number, 12#2).
    entries += [e for e in session.exec(select(PointEntry).where(
        PointEntry.member_id.in_({m for _, m in rows}),  # type: ignore[attr-defined]
        PointEntry.source_kind.in_(ROW_KINDS),  # type: ignore[attr-defined]
        PointEntry.source_id.like("%#%"))).all()  # type: ignore[attr-defined]
        if "#" in e.source_id and e.source_id.split("#", 1)[0] in ids] if rows else []
    # Only the lines of each row's own member: a line an earlier version's 销假 left naming
    # a deleted row whose id SQLite gave this one is another member's (storage.ledger_repair).
    owners = {(str(i), m) for i, m in rows}
    entries = [e for e in entries if (e.source_id.split("#", 1)[0], e.member_id) in owners]
    who = by.name if by else "系统"
    # Cancelled again after a 恢复活动: each entry's reversal is keyed by its round (123#1),
    # or the first round's key would swallow it and the points would stand.
    rounds: dict[str, int] = {}
    for reversal in _reversals_of(session, activity):
        entry_id = str(reversal.source_id).rsplit(":", 1)[-1].split("#", 1)[0]
        rounds[entry_id] = rounds.get(entry_id, 0) + 1
    total = 0
    for entry in entries:
        round_ = rounds.get(str(entry.id), 0)
        if ledger.post(session, member_id=entry.member_id, branch_id=entry.branch_id,
                       points=-entry.points, rule=f"reverse:{entry.rule}",
                       source_kind="correction",
                       source_id=f"cancel:{activity.id}:{entry.id}"
                                 + (f"#{round_}" if round_ else ""),
                       occurred_at=entry.occurred_at, now=now, ruleset_id=entry.ruleset_id,
                       note=f"{who}取消活动：{reason}"):
            total -= entry.points
    session.flush()
    return total


def _reversals_of(session: Session, activity: Activity) -> list[PointEntry]:
    """The entries 取消活动 posted on the activity, every round, oldest first."""
    return list(session.exec(select(PointEntry).where(
        PointEntry.source_kind == "correction",
        PointEntry.source_id.startswith(f"cancel:{activity.id}:", autoescape=True))  # type: ignore[attr-defined]
        .order_by(PointEntry.id)).all())


def restore_activity(session: Session, *, activity: Activity, by: Member, reason: str,
                     now: datetime, tz: tzinfo) -> int | None:
    """Undo a 取消活动 (not a schedule change's: reopen is for those): the activity counts
    again as it stood, its records as they were, and each entry the cancellation reversed
    is posted again by a reversal of that reversal (restore:<activity>:<entry>), noted with
    who restored it and why, so 积分明细 shows all three. What was withheld about it is
    queued again while it has not begun. Returns the points restored; None, and nothing
    changes, when it is not cancelled by 取消活动 (another secretary restored it first)."""
    restored = {"status": CLOSED if activity.closed_at is not None else OPEN,
                "cancelled_at": None, "cancelled_by": None, "cancel_reason": None}
    # Claimed in one statement, as 取消活动 holds the row: two secretaries restore it once.
    claimed = session.execute(
        update(Activity).where(Activity.id == activity.id, Activity.status == CANCELLED,
                               Activity.schedule_withdrawn == False)  # noqa: E712
        .values(**restored).execution_options(synchronize_session=False)).rowcount
    if claimed != 1:
        return None
    for key, value in restored.items():
        set_committed_value(activity, key, value)
    done = {source_id.rsplit(":", 1)[-1] for source_id in session.exec(
        select(PointEntry.source_id).where(
            PointEntry.source_kind == "correction",
            PointEntry.source_id.startswith(f"restore:{activity.id}:", autoescape=True))).all()}  # type: ignore[attr-defined]
    total = 0
    for entry in _reversals_of(session, activity):
        if str(entry.id) in done:
            continue
        if ledger.post(session, member_id=entry.member_id, branch_id=entry.branch_id,
                       points=-entry.points, rule=f"reverse:{entry.rule}",
                       source_kind="correction", source_id=f"restore:{activity.id}:{entry.id}",
                       occurred_at=entry.occurred_at, now=now, ruleset_id=entry.ruleset_id,
                       note=f"{by.name}恢复活动：{reason}"):
            total -= entry.points
    if activity.starts_at > now:
        _queue_again(session, activity, now=now, tz=tz)
    session.flush()
    return total


def withdraw_study(session: Session, *, log: StudyLog, by: Member, reason: str,
                   now: datetime) -> int:
    log.withdrawn_at = now
    session.add(log)
    entries = _net_entries(session, source_kinds=("study",), source_ids=[str(log.id)])
    return reverse_entries(session, entries=entries, correction_of=f"study:{log.id}",
                           note=f"{by.name}撤销学习：{reason}", now=now)


def last_study(session: Session, *, member_id: int, since: datetime) -> StudyLog | None:
    return session.exec(select(StudyLog).where(
        StudyLog.member_id == member_id, StudyLog.withdrawn_at.is_(None),  # type: ignore[union-attr]
        StudyLog.logged_at >= since).order_by(StudyLog.logged_at.desc(),  # type: ignore[attr-defined]
                                              StudyLog.id.desc())).first()  # type: ignore[union-attr]


def last_visit(session: Session, *, leader_id: int, since: datetime) -> ResearchVisit | None:
    return session.exec(select(ResearchVisit).where(
        ResearchVisit.leader_id == leader_id, ResearchVisit.withdrawn_at.is_(None),  # type: ignore[union-attr]
        ResearchVisit.logged_at >= since).order_by(
            ResearchVisit.logged_at.desc(), ResearchVisit.id.desc())).first()  # type: ignore[attr-defined,union-attr]


def withdraw_visit(session: Session, *, visit: ResearchVisit, by: Member, reason: str,
                   now: datetime) -> None:
    """A withdrawn visit stays on record and counts nowhere (visits earn no points)."""
    visit.withdrawn_at = now
    visit.withdrawn_by = by.id
    visit.withdraw_reason = reason
    session.add(visit)


@dataclass(frozen=True)
class Withdrawn:
    """What taking scheduled activities away did."""

    removed: int = 0  # nobody had answered them: deleted
    cancelled: tuple[Activity, ...] = ()  # answered: cancelled; who answered is to be told
    withheld: tuple[OutboxMessage, ...] = ()  # queued about them, not sent yet: withdrawn


def delete_schedule(session: Session, *, schedule: Schedule, by: Member | None, reason: str,
                    now: datetime) -> Withdrawn:
    """Stop a schedule: activities created ahead that nobody answered go; answered ones are
    cancelled (their leave rows stay on record)."""
    schedule.active = False
    schedule.updated_at = now
    session.add(schedule)
    return withdraw_ahead(session, schedule=schedule, by=by, reason=reason, now=now)


# A pause is for a season (春节, a task of some months): one of years would take a branch's
# activities, and so its figures, out of what decides 约谈 unseen. Stopping for good is
# 删除日程, on record as such.
LONGEST_PAUSE = timedelta(days=183)


def pause_schedule(session: Session, *, schedule: Schedule, until: date, by: Member | None,
                   reason: str, now: datetime, tz: tzinfo) -> Withdrawn:
    """Hold no activity of the schedule up to and including `until`."""
    schedule.paused_until = until
    schedule.updated_at = now
    session.add(schedule)
    end = datetime.combine(until + timedelta(days=1), time(0), tzinfo=tz)
    return withdraw_ahead(session, schedule=schedule, by=by, reason=reason, now=now, before=end)


def withdraw_ahead(session: Session, *, schedule: Schedule, by: Member | None, reason: str,
                   now: datetime, before: datetime | None = None) -> Withdrawn:
    """The schedule's activities not started yet (before `before`): removed when nobody
    answered them, cancelled otherwise."""
    query = select(Activity).where(Activity.schedule_id == schedule.id, Activity.starts_at > now,
                                   Activity.status != CANCELLED)
    if before is not None:
        query = query.where(Activity.starts_at < before)
    return withdraw(session, activities=list(session.exec(query).all()), by=by, reason=reason,
                    now=now)


def withdraw(session: Session, *, activities: list[Activity], by: Member | None, reason: str,
             now: datetime) -> Withdrawn:
    """Scheduled activities not started yet: removed when nobody answered them and no group
    was told of them yet, cancelled otherwise (so that whoever asked leave, and the groups
    told an hour before, hear it is off), and what is queued about them and not sent yet
    withheld (withhold_unsent)."""
    ahead = activities
    answered = set(session.exec(select(Attendance.activity_id).where(
        Attendance.activity_id.in_([a.id for a in ahead]))).all()) if ahead else set()  # type: ignore[attr-defined]
    withheld: list[OutboxMessage] = []
    for activity in ahead:  # while its leave rows can still name the requests about it
        about = _queued_about(session, activity)  # read once for both
        # Withheld first: a worker on another replica may claim a reminder after the read,
        # and only what could not be withheld tells whether a group has heard of it.
        withheld += withhold_unsent(session, activity=activity, about=about)
        if _groups_told(about):
            answered.add(activity.id)
    removed = [a.id for a in ahead if a.id not in answered]
    if removed:
        session.exec(delete(Activity).where(Activity.id.in_(removed)))  # type: ignore[call-overload,attr-defined]
    cancelled = [a for a in ahead if a.id in answered]
    for activity in cancelled:
        cancel_activity(session, activity=activity, by=by, reason=reason, now=now)
        activity.schedule_withdrawn = True  # a later change may hold it again (reopen)
    session.flush()
    return Withdrawn(len(removed), tuple(cancelled), tuple(withheld))


# Messages that told a group about an activity: its announcement and the group reminders.
_TOLD_KINDS = ("activity.announce", outbox.GROUP_BEFORE, outbox.START)
# And those that speak of it to one person: the secretary's lists, a nudge.
_ABOUT_KINDS = _TOLD_KINDS + (outbox.NUDGE, outbox.DAY_BEFORE, outbox.MISSING)


def _queued_about(session: Session, activity: Activity) -> list[OutboxMessage]:
    """The outbox rows about the activity, by their message's keys (which name it, or for a
    reminder queued before its key did, its branch and start): a follow-up (people the
    platform held back, to go later) by the key of the row it left."""
    key_end = activity.starts_at.isoformat()
    announced = f"activity.announce|{activity.id}|"
    # Narrowed in the database first: every nudge and reminder of the last weeks is a row
    # of these kinds, and this runs for each activity a schedule change takes away.
    rows = session.exec(select(OutboxMessage).where(
        OutboxMessage.kind.in_(_ABOUT_KINDS),  # type: ignore[attr-defined]
        or_(OutboxMessage.dedupe_key.startswith(announced, autoescape=True),  # type: ignore[union-attr]
            OutboxMessage.dedupe_key.contains(key_end, autoescape=True)))).all()  # type: ignore[union-attr]
    return [row for row in rows
            if (key := outbox.message_key(row.dedupe_key) or "").startswith(announced)
            or key.endswith(f"|{key_end}|activity:{activity.id}")
            or (row.branch_id == activity.branch_id and key.endswith(f"|{key_end}"))]


def told_groups(session: Session, *, activity: Activity) -> list[tuple[str, str]]:
    """The groups already told about the activity ((platform, chat id), from messages sent
    or being sent), and those told another was moved to it (改期's 【活动时间调整】, sent or
    to be: its time is what they know, so they hear when it is moved again or back)."""
    told = _groups_told(_queued_about(session, activity))
    moved_here = session.exec(select(OutboxMessage).where(
        OutboxMessage.kind == MOVED_KIND, OutboxMessage.target_kind == "group",
        OutboxMessage.status.in_((*_GONE_OUT, "pending")),  # type: ignore[attr-defined]
        OutboxMessage.dedupe_key.contains(  # type: ignore[union-attr]
            f"{MOVED_HERE}{activity.id}@", autoescape=True)).order_by(OutboxMessage.id)).all()
    for row in moved_here:
        if (row.platform, row.target) not in told:
            told.append((row.platform, row.target))
    return told


# A move's notice to a group (bot.scheduling.called_off.tell): its key names the activity
# moved, then MOVED_HERE and the one it was moved to.
MOVED_KIND = "activity.cancel"
MOVED_HERE = ">"


# A row a delivery worker holds (sending) is as good as read: the platform may have taken
# it already, and its record() will say sent (storage.outbox.went_out counts it the same).
_GONE_OUT = ("sent", "sending")


def _groups_told(about: list[OutboxMessage]) -> list[tuple[str, str]]:
    told: list[tuple[str, str]] = []
    for row in about:
        if row.status in _GONE_OUT and row.kind in _TOLD_KINDS and row.target_kind == "group":
            if (row.platform, row.target) not in told:
                told.append((row.platform, row.target))
    return told


# The reason a schedule change gives the activities it cancels (日程已改为 每周四 19:30).
RULE_CHANGED = "日程已改为"
WITHHELD = "活动已取消"  # withhold_unsent's note on what it withheld
TOO_LATE = "活动恢复时已是当天，不再发送"  # reopen's, on a withheld 【明日活动】 it leaves


def reopen(session: Session, *, activity: Activity, keep_rows: bool, now: datetime,
           tz: tzinfo) -> bool:
    """An activity a schedule change cancelled (schedule_withdrawn) that its schedule holds
    again before it began (19:30 moved to 20:00, then back to 19:30; 暂停日程 then 恢复日程):
    open again. Cancelled, its (schedule, start) kept the scheduler from making it anew,
    and that day had no activity at all while the schedule listed one. Its rows stay
    (`keep_rows`: the leave asked for it, which 销假 takes back meanwhile too), or go for
    those the caller carries to it from the activity a change takes away now, as the
    members left them since (nothing was posted for them: it had not begun). What was
    withheld about it is queued again, but for 【明日活动】 once its day has begun (`now`, in
    `tz`): it says 明日. False, and nothing changes, for any other: one cancelled by 取消活动
    stays cancelled."""
    if activity.status != CANCELLED or not activity.schedule_withdrawn:
        return False
    rows = session.exec(select(Attendance).where(Attendance.activity_id == activity.id)).all()
    if any(row.status in ATTENDED or row.checked_in_at or row.made_up_at for row in rows):
        return False
    # Claimed in one statement: a replica ticking at the same moment reopens it once.
    reopened = {"status": OPEN, "schedule_withdrawn": False, "cancelled_at": None,
                "cancelled_by": None, "cancel_reason": None}
    claimed = session.execute(
        update(Activity).where(Activity.id == activity.id, Activity.status == CANCELLED,
                               Activity.schedule_withdrawn == True)  # noqa: E712
        .values(**reopened).execution_options(synchronize_session=False)).rowcount
    if claimed != 1:
        return False
    for key, value in reopened.items():
        set_committed_value(activity, key, value)
    for row in rows if not keep_rows else ():
        session.delete(row)
    _queue_again(session, activity, now=now, tz=tz)
    session.flush()
    return True


def reopen_moved(session: Session, *, activity: Activity, now: datetime, tz: tzinfo) -> bool:
    """An activity 改期 moved away, held at its own time again (改期 back): open, its rows
    gone (the leave is carried back to it from the one held meanwhile, as it stands now),
    and what was withheld about it queued again. False, and nothing changes, for any other
    (one cancelled by 取消活动 stays so)."""
    if activity.status != CANCELLED or not (activity.cancel_reason or "").startswith(MOVED_TO):
        return False
    reopened = {"status": OPEN, "cancelled_at": None, "cancelled_by": None,
                "cancel_reason": None}
    claimed = session.execute(
        update(Activity).where(Activity.id == activity.id, Activity.status == CANCELLED)
        .values(**reopened).execution_options(synchronize_session=False)).rowcount
    if claimed != 1:
        return False
    for key, value in reopened.items():
        set_committed_value(activity, key, value)
    for row in session.exec(select(Attendance).where(Attendance.activity_id == activity.id)):
        session.delete(row)
    _queue_again(session, activity, now=now, tz=tz)
    session.flush()
    return True


def _queue_again(session: Session, activity: Activity, *, now: datetime, tz: tzinfo) -> None:
    """What withhold_unsent withheld about an activity held again after all, queued again
    (but for 【明日活动】 once its day has begun: it says 明日)."""
    its_day = activity.starts_at.astimezone(tz).date()
    for message in _queued_about(session, activity):
        if message.status == "withdrawn" and message.last_error == WITHHELD:
            if message.kind == outbox.DAY_BEFORE and now.astimezone(tz).date() >= its_day:
                message.last_error = TOO_LATE
            else:
                # Withheld while a worker held it (withdraw_reason): tried as any other now.
                message.status, message.last_error = "pending", None
                message.withdraw_reason = None
            session.add(message)
        elif message.status == "sending" and message.withdraw_reason == WITHHELD:
            message.withdraw_reason = None  # its send, if it fails, is tried again
            session.add(message)


def withhold_unsent(session: Session, *, activity: Activity, reason: str = WITHHELD,
                    about: list[OutboxMessage] | None = None) -> list[OutboxMessage]:
    """An activity cancelled or removed: what is queued about it and not sent yet (a
    reminder the platform made wait or a retry holds, a request to decide leave for it
    held for the morning) would speak of an activity that is not held. Returns those rows.
    `about`: its outbox rows (_queued_about), when the caller has read them already; the
    status of those it could not withhold is read again, so that they show what became
    of them (a worker claimed or sent them since)."""
    rows = _queued_about(session, activity) if about is None else about
    withheld = outbox.withdraw_rows(session, rows=rows, reason=reason)
    asked = session.exec(select(Attendance.id, Attendance.member_id).where(
        Attendance.activity_id == activity.id, Attendance.status == AttendanceStatus.LEAVE)).all()
    for row_id, member_id in asked:
        withheld += outbox.withdraw_unsent(
            session, kind=outbox.LEAVE_ASK,
            key_prefix=f"{outbox.leave_asks_of(member_id)}attendance:{row_id}|", reason=reason)
    return withheld
