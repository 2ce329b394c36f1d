"""One scheduler tick: create due scheduled activities, enqueue due reminders, close ended ones.

Everything follows from djbot's own tables and the clock, so any replica may run a tick
at any time: activities are unique per (schedule, start) and reminders per dedupe key,
both written with INSERT … ON CONFLICT DO NOTHING in the transaction that decides them.
One transaction per branch keeps a slow branch from holding up the others.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta

from sqlalchemy import or_
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot import metrics
from bot.clock import Clock
from bot.config import Settings
from bot.domain.attendance import ATTENDED, plan_times
from bot.domain.rules import Rules
from bot.domain.text import show_date
from bot.scheduling import plan as p
from bot.scheduling.called_off import CalledOff, tell_cancelled, tell_reopened
from bot.scheduling.committee import committee_reminders
from bot.scheduling.holidays import HolidayCalendar, default_calendar, held_between
from bot.scheduling.moves import tell_of_move
from bot.scheduling.rules import RuleError, parse_rule
from bot.web import push as web_push
from storage import attendance as attendance_store
from storage import callbacks, corrections, housekeeping, leave, org, reports, temporary
from storage import schedules as schedules_store
from storage.committee_report import summary_markdown as committee_summary
from storage.db import session_scope
from storage.models import (
    Activity,
    ActivityType,
    Attendance,
    AttendanceStatus,
    Branch,
    BranchReminderSettings,
    ChatBinding,
    LeaveState,
    Member,
    OutboxMessage,
    Role,
    Schedule,
)
from storage.outbox import LEAVE_LAPSED, enqueue, enqueue_private

log = logging.getLogger("djbot.tick")

# Activities are created this far ahead, so members can ask for leave in advance and the
# day-before reminder can say who is on leave.
CREATE_AHEAD = timedelta(days=3)
# After a restart, look back this far for reminders missed while djbot was down (those
# older than the catch-up grace are logged as skipped, never sent).
RESTART_LOOKBACK = timedelta(days=1)
PRUNE_EVERY = timedelta(hours=1)
WEEKLY_AT = time(9, 0)  # the Monday board and the leaders' summary


class _ScheduleFailed(Exception):
    """Making a schedule's activity raised (its cause); the transaction is to be rolled back."""

    def __init__(self, schedule_id: int | None) -> None:
        super().__init__(f"schedule {schedule_id}")
        self.schedule_id = schedule_id


@dataclass
class TickResult:
    created: list[Activity] = field(default_factory=list)
    enqueued: list[p.Reminder] = field(default_factory=list)
    skipped: list[p.Reminder] = field(default_factory=list)


@dataclass
class Ticker:
    engine: Engine
    settings: Settings
    clock: Clock
    rules: Rules
    calendar: HolidayCalendar = field(default_factory=default_calendar)
    # The end of the previous tick in this process; None right after start-up.
    last: datetime | None = None
    last_pruned: datetime | None = None
    # (rule, holiday policy) -> when it holds activities near today (_held_near).
    _held: dict[tuple[str, str], list[datetime] | None] = field(default_factory=dict)
    _held_day: date | None = None
    # A branch (None: the bureau) whose tick failed -> the moment it is still due from.
    _retry_since: dict[int | None, datetime] = field(default_factory=dict)
    # The same for a Monday push or the committee's reminders whose transaction failed
    # ("leaderboards", "summaries", "committee reminders").
    _weekly_since: dict[str, datetime] = field(default_factory=dict)

    def tick(self) -> TickResult:
        now = self.clock.now()
        since = self.last or now - RESTART_LOOKBACK
        result = TickResult()
        # One short transaction settles what this tick has to do; most ticks find nothing
        # due and go straight to closing what has ended.
        with session_scope(self.engine) as session:
            # A temporary branch past its end date stops here: no new activities or
            # reminders; its members go back to their own branch. One that cannot be closed
            # (a move back that fails) is rolled back alone and tried again next beat: it
            # stopped every branch's activities and reminders, beat after beat. Nothing is
            # held after its end meanwhile (_create_activities).
            try:
                if self._end_temporary(session, now):
                    session.commit()  # kept if making an activity below is rolled back
            except Exception:
                log.exception("tick: closing the temporary branches past their end failed; "
                              "the rest goes on")
                session.rollback()
            failed: frozenset[int] = frozenset()
            while True:
                try:
                    result.created = self._create_activities(session, now, skip=failed)
                    break
                except _ScheduleFailed as exc:
                    log.exception("tick: schedule %s failed to make its activity; the other "
                                  "schedules go on, it is tried again next beat", exc.schedule_id)
                    session.rollback()
                    failed |= {exc.schedule_id}
            busy = self._branches_with_something_due(session, since, now)
        # A branch whose tick failed is tried again from where it was still due, whether
        # or not the new window has anything of its own.
        retried = [b for b in self._retry_since if b not in busy]
        for branch_id in [*(b for b in busy if b is not None), *retried,
                          *(b for b in busy if b is None)]:
            before, skipped_before = len(result.enqueued), len(result.skipped)
            due_since = max(self._retry_since.get(branch_id, since), now - RESTART_LOOKBACK)
            try:
                with session_scope(self.engine) as session:
                    if branch_id is None:
                        self._tick_bureau(session, due_since, now, result)
                    else:
                        self._tick_branch(session, branch_id, due_since, now, result)
            except Exception:
                # One branch whose tick fails must not hold back every other branch's
                # reminders and the leaders' summary, beat after beat. Its transaction was
                # rolled back; it is tried again next beat from the same moment (each
                # message has its key: what went already is not enqueued twice).
                log.exception("tick: branch %s failed; the other branches go on", branch_id)
                del result.enqueued[before:], result.skipped[skipped_before:]
                self._retry_since.setdefault(branch_id, since)
                continue
            self._retry_since.pop(branch_id, None)
            _count_enqueued(result.enqueued[before:])
        # The Monday pushes and the committee's reminders (三会一课, 先锋党员), each in a
        # transaction of its own: a summary that could not be built (a row the report cannot
        # read) held back every branch's board and, sharing the transaction below, the
        # closing of every ended activity and its absences, beat after beat.
        for part, build in (("leaderboards", self.leaderboards), ("summaries", self.summaries),
                            ("committee reminders", None)):
            before, skipped_before = len(result.enqueued), len(result.skipped)
            due_since = max(self._weekly_since.get(part, since), now - RESTART_LOOKBACK)
            try:
                with session_scope(self.engine) as session:
                    if build is None:
                        self._enqueue(session, committee_reminders(
                            session, since=due_since, now=now, settings=self.settings,
                            rules=self.rules), due_since, now, result)
                    else:
                        self._weekly(session, due_since, now, result, build)
            except Exception:
                log.exception("tick: the %s failed; tried again next beat", part)
                del result.enqueued[before:], result.skipped[skipped_before:]
                self._weekly_since.setdefault(part, since)
                continue
            self._weekly_since.pop(part, None)
            _count_enqueued(result.enqueued[before:])
        before = len(result.enqueued)
        with session_scope(self.engine) as session:
            # Ended activities close (check-in stops); absences become final
            # absence_confirm_hours later, by the attendance rules.
            for done in attendance_store.finalize_due(
                    session, now=now, confirm_hours=self.settings.absence_confirm_hours,
                    rules=self.rules, tz=self.settings.tz):
                self._tell_lapsed_leave(session, done, now)
        _count_enqueued(result.enqueued[before:])
        self._prune(now)
        self.last = now
        for reminder in result.skipped:
            log.warning("missed while down, not sent: %s to %s due %s", reminder.kind,
                        reminder.target_kind, reminder.due_at.isoformat())
        return result

    def _end_temporary(self, session: Session, now: datetime) -> bool:
        """Close the temporary branches past their end; whether there were any."""
        ended_any = False
        for ended in temporary.end_due(session, today=now.astimezone(self.settings.tz).date(),
                                       now=now, tz=self.settings.tz):
            self._tell_of_moves(session, ended.changes, now)
            # Cancelled for temporary.ENDED, which each one's notice gives.
            tell_cancelled(CalledOff(session, self.settings, now), ended.withdrawn.cancelled)
            ended_any = True
        return ended_any

    def _tell_of_moves(self, session: Session, changes: list, now: datetime) -> None:
        """Members a temporary branch's end sent home hear what it did to their leave, as
        after any change of place (bot.scheduling.moves.tell_of_move words it)."""
        if not changes:
            return
        quiet = p.QuietHours.of(self.settings).held_until(now.astimezone(self.settings.tz))
        for changed in changes:
            tell_of_move(session, changed, settings=self.settings, now=now, not_before=quiet)

    def _tell_lapsed_leave(self, session: Session, done: attendance_store.Finalized,
                           now: datetime) -> None:
        """A member whose leave nobody decided before absences were confirmed hears it
        privately: they asked, and the record now says absent, with its penalty."""
        if not done.undecided:
            return
        activity = done.activity
        day = activity.starts_at.astimezone(self.settings.tz).date()
        label = f"{activity.type}（{show_date(day)}）"
        quiet = p.QuietHours.of(self.settings)
        for member in done.undecided:
            enqueue_private(
                session, reached=org.reach(session, [member], prefer=None),
                text=f"【请假未获批准】你对{label}的请假到确认缺席时仍未获批准，"
                     "已记为缺席。如有疑问请联系书记。",
                title="请假未获批准", kind=LEAVE_LAPSED,
                key=f"leave.lapsed|{activity.id}|{member.id}", now=now,
                branch_id=activity.branch_id,
                not_before=quiet.held_until(now.astimezone(self.settings.tz)))

    # --- activities ----------------------------------------------------------------

    def _create_activities(self, session: Session, now: datetime,
                           skip: frozenset[int] = frozenset()) -> list[Activity]:
        """Scheduled activities starting within CREATE_AHEAD (and not yet over) exist, but
        those of the schedules to `skip`. Raises _ScheduleFailed for one that could not."""
        created = []
        tz = self.settings.tz
        schedules = session.exec(
            select(Schedule, Branch).outerjoin(Branch, Branch.id == Schedule.branch_id).where(
                Schedule.active == True,  # noqa: E712
                or_(Schedule.branch_id.is_(None), Branch.active == True))  # type: ignore[union-attr]  # noqa: E712
        ).all()
        # What each (schedule, start) already has: one its schedule stopped holding and now
        # holds again (a change undone, a pause ended) is opened again, not left cancelled.
        existing = {(schedule_id, starts_at): withdrawn for schedule_id, starts_at, withdrawn
                    in session.exec(select(Activity.schedule_id, Activity.starts_at,
                                           Activity.schedule_withdrawn).where(
            Activity.schedule_id.is_not(None),  # type: ignore[union-attr]
            Activity.ends_at > now, Activity.starts_at <= now + CREATE_AHEAD)).all()}
        for schedule, _branch in schedules:
            if schedule.id in skip:
                continue
            # A temporary branch holds nothing after its end date: it is closed that night
            # (temporary.end_due), so its secretary is not told 【明日活动】 of it. (The
            # branch is in the session from the join: no statement.)
            last_day = schedules_store.last_day(session, schedule)
            held = self._held_near(schedule, now)
            if held is None:
                log.error("schedule %s has a rule djbot cannot read; skipped", schedule.id)
                continue
            if (schedule.activity_type == ActivityType.GROUP_MEETING
                    and schedule.party_group_id is None):
                # It would expect the whole branch; 设置 now asks for the party group.
                log.error("schedule %s is a 党小组会 without a party group; skipped", schedule.id)
                continue
            duration = timedelta(minutes=schedule.duration_minutes)
            try:
                for held_at in held:
                    if not now - duration <= held_at < now + CREATE_AHEAD:
                        continue
                    starts_at = held_at.astimezone(now.tzinfo)
                    if (schedule.paused_until is not None
                            and starts_at.astimezone(tz).date() <= schedule.paused_until):
                        continue  # 暂停日程: not held, so nobody is expected or counted absent
                    if last_day is not None and starts_at.astimezone(tz).date() > last_day:
                        continue
                    if existing.get((schedule.id, starts_at)):
                        if starts_at > now:  # begun, it stays as it is: nothing to read
                            self._reopen(session, schedule, starts_at, now, created)
                        continue
                    if (schedule.id, starts_at) in existing:
                        continue
                    if starts_at <= now and starts_at < schedule.updated_at:
                        # Begun before the schedule was set, changed or resumed (设置 夜学 at
                        # 19:44 for 19:30): nobody was told of it, and it would count them all
                        # missing. The look-back is for what a restart missed, not this.
                        continue
                    times = plan_times(
                        ActivityType(schedule.activity_type), starts_at, duration=duration,
                        opens_minutes_before=self.settings.checkin_opens_minutes_before)
                    if times.ends_at <= now:
                        continue  # it ended while djbot was down; nobody could check in
                    # Another replica may insert the same (schedule, start) at the same moment.
                    activity = schedules_store.insert_scheduled(session, schedule=schedule,
                                                                times=times, now=now)
                    if activity is not None:
                        # Leave asked for a period covering this day excuses it at once.
                        leave.excuse(session, activity=activity, tz=tz)
                        created.append(activity)
                        log.info("scheduled %s for branch %s at %s", schedule.activity_type,
                                 schedule.branch_id, starts_at.isoformat())
            except Exception as exc:
                # Rolled back by the caller, and made again without this schedule: one whose
                # activity cannot be made (a leave period this code cannot read) held back
                # every branch's activities and reminders, beat after beat.
                raise _ScheduleFailed(schedule.id) from exc
        return created

    def _reopen(self, session: Session, schedule: Schedule, starts_at: datetime,
                now: datetime, created: list[Activity]) -> None:
        """The schedule's activity at `starts_at` (not begun), which a change of it
        cancelled, is held again: opened again (storage.corrections.reopen), with
        the leave asked for it, and told of to the groups and members told it was off."""
        assert schedule.id is not None
        activity = schedules_store.scheduled_at(session, schedule_id=schedule.id,
                                                starts_at=starts_at)
        if activity is None or not corrections.reopen(session, activity=activity, keep_rows=True,
                                                         now=now, tz=self.settings.tz):
            return
        leave.excuse(session, activity=activity, tz=self.settings.tz)
        tell_reopened(CalledOff(session, self.settings, now), activity)
        created.append(activity)
        log.info("held again: %s for branch %s at %s", schedule.activity_type,
                 schedule.branch_id, starts_at.isoformat())

    def _held_near(self, schedule: Schedule, now: datetime) -> list[datetime] | None:
        """When the schedule's rule holds an activity from two days before today to five
        after (None: a rule djbot cannot read). Worked out once a day per rule: every
        replica ticks every half minute, and reading every rule against the holiday
        calendar on each tick was three quarters of a quiet tick's time."""
        today = now.astimezone(self.settings.tz).date()
        if self._held_day != today:
            self._held_day, self._held = today, {}
        key = (schedule.rule, schedule.holiday_policy)
        if key not in self._held:
            try:
                rule = parse_rule(schedule.rule)
            except RuleError:
                self._held[key] = None
                return None
            tz = self.settings.tz
            start = datetime.combine(today - timedelta(days=2), time(), tzinfo=tz)
            self._held[key] = [o.starts_at for o in held_between(
                rule, schedule.holiday_policy, self.calendar, start,
                start + timedelta(days=7), tz) if o.starts_at is not None]
        return self._held[key]

    def _prune(self, now: datetime) -> None:
        if self.last_pruned is not None and now - self.last_pruned < PRUNE_EVERY:
            return
        before = now - timedelta(days=self.settings.retention_days)
        # A DingTalk header pair matters while its timestamp is fresh: at most twice the
        # allowed skew after it is first seen.
        pairs_before = now - 2 * timedelta(seconds=self.settings.dingtalk.max_clock_skew_seconds)
        with session_scope(self.engine) as session:
            records, sent = housekeeping.prune(session, before=before)
            callbacks.forget_signatures(session, before=pairs_before)
        self.last_pruned = now
        if records or sent:
            log.info("pruned %d delivery records and %d sent or withdrawn messages older "
                     "than %d days", records, sent, self.settings.retention_days)

    def _window(self, since: datetime, now: datetime) -> tuple[datetime, datetime]:
        """Reminders due in this span are sent (within grace) or logged as missed."""
        grace = timedelta(minutes=self.settings.catchup_grace_minutes)
        return min(since, now - grace), now

    def _scheduled_activities(self, session: Session, since: datetime, now: datetime,
                              branch_id: int | None = None, *,
                              bureau: bool = False) -> list[Activity]:
        """Scheduled activities near enough for a reminder: one branch's, the bureau's own
        (中心组学习, 第一议题: no branch), or, given neither, the bureau's and every active
        branch's."""
        if bureau:
            query = select(Activity).where(Activity.branch_id.is_(None))  # type: ignore[union-attr]
        else:
            query = select(Activity).outerjoin(Branch, Branch.id == Activity.branch_id)
            if branch_id is not None:
                query = query.where(Activity.branch_id == branch_id,
                                    Branch.active == True)  # noqa: E712
            else:
                query = query.where(or_(Activity.branch_id.is_(None),  # type: ignore[union-attr]
                                        Branch.active == True))  # noqa: E712
        query = query.where(
            Activity.status != attendance_store.CANCELLED,
            Activity.schedule_id.is_not(None),  # type: ignore[union-attr]
            # Wide enough for the day-before reminder and a missing list held over
            # quiet hours; the exact due times are decided by the plan.
            Activity.starts_at <= now + timedelta(days=2),
            Activity.ends_at >= self._window(since, now)[0] - timedelta(hours=12),
        ).order_by(Activity.starts_at)
        return list(session.exec(query).all())

    def _branches_with_something_due(self, session: Session, since: datetime,
                                     now: datetime) -> list[int | None]:
        """The branches with a reminder due now, and None last if the bureau has one: most
        ticks have none and stop here."""
        plans = {row.branch_id: p.ReminderPlan.from_overrides(row.plan)
                 for row in session.exec(select(BranchReminderSettings)).all()}
        busy: list[int | None] = []
        for activity in self._scheduled_activities(session, since, now):
            # The bureau has no settings row: it keeps the default plan.
            plan = plans.get(activity.branch_id, p.ReminderPlan())  # type: ignore[arg-type]
            if activity.branch_id not in busy and self._has_due(plan, activity, since, now):
                busy.append(activity.branch_id)
        return sorted(busy, key=lambda branch_id: branch_id is None)

    def _has_due(self, plan: p.ReminderPlan, activity: Activity, since: datetime,
                 now: datetime) -> bool:
        """A reminder of the activity falls due in this tick's window."""
        first, last = self._window(since, now)
        quiet = p.QuietHours.of(self.settings)
        return any(first <= due <= last for due in p.reminder_times(
            plan, activity.starts_at, activity.ends_at, self.settings.tz, quiet).values())

    # --- one branch ----------------------------------------------------------------

    def _tick_branch(self, session: Session, branch_id: int, since: datetime, now: datetime,
                     result: TickResult) -> None:
        view = branch_view(session, branch_id=branch_id)
        tz = self.settings.tz
        quiet = p.QuietHours.of(self.settings)
        reminders: list[p.Reminder] = []
        for activity in self._scheduled_activities(session, since, now, branch_id):
            reminders += p.activity_reminders(activity_view(session, view, activity), view, tz,
                                              quiet)
        reminders = [r for r in reminders if not p.is_paused(view, r.due_at, tz)]
        self._enqueue(session, reminders, since, now, result)

    def _tick_bureau(self, session: Session, since: datetime, now: datetime,
                     result: TickResult) -> None:
        """The bureau's scheduled activities get a branch's reminders: the leaders' group in
        place of the branch group, the leader who set the schedule in place of the
        secretary, and a private nudge to each committee member still missing."""
        tz = self.settings.tz
        quiet = p.QuietHours.of(self.settings)
        reminders: list[p.Reminder] = []
        for activity in self._scheduled_activities(session, since, now, bureau=True):
            if not self._has_due(p.ReminderPlan(), activity, since, now):
                continue  # most ticks: nothing due, nothing gathered
            view = bureau_view(session, activity=activity)
            reminders += p.activity_reminders(activity_view(session, view, activity), view, tz,
                                              quiet)
        self._enqueue(session, reminders, since, now, result)

    def _enqueue(self, session: Session, reminders: list[p.Reminder], since: datetime,
                 now: datetime, result: TickResult) -> None:
        grace = timedelta(minutes=self.settings.catchup_grace_minutes)
        send, missed = p.partition_due(reminders, since=since, now=now, grace=grace)
        quiet = p.QuietHours.of(self.settings)
        tz = self.settings.tz
        held = quiet.held_until(now.astimezone(tz))
        if held is not None:
            # Caught up inside quiet hours (a restart, a stalled tick) on reminders due before
            # them: a group hears nothing of it at night, nor about last night in the
            # morning; a person finds theirs when quiet hours end if it is still of use then
            # (a nudge is not, nor 【明日活动】 on the day itself). Those of an activity set
            # inside quiet hours go as planned: the secretary chose the hour.
            late = [r for r in send if not r.at_night
                    and not quiet.contains(r.due_at.astimezone(tz).time())]
            waits = [r for r in late
                     if r.target_kind == "user" and held <= p.useful_until(r, grace)]
            send = [r for r in send if r not in late or r in waits]
            missed += [r for r in late if r not in waits]
            not_before = {r.dedupe_key: held for r in waits}
        else:
            not_before = {}
        queued_before = _queued_under_legacy_keys(session, send + missed)
        send = [r for r in send if r.dedupe_key not in queued_before]
        for reminder in send:
            if enqueue(session, platform=reminder.platform, target_kind=reminder.target_kind,
                       target=reminder.target, payload=reminder.payload(), now=now,
                       kind=reminder.kind, dedupe_key=reminder.dedupe_key,
                       branch_id=reminder.branch_id,
                       not_before=not_before.get(reminder.dedupe_key)):
                result.enqueued.append(reminder)
        if missed:
            already = set(session.exec(select(OutboxMessage.dedupe_key).where(
                OutboxMessage.dedupe_key.in_([r.dedupe_key for r in missed])  # type: ignore[union-attr]
            )).all())
            result.skipped += [r for r in missed
                               if r.dedupe_key not in already and r.dedupe_key not in queued_before]

    # --- Monday 09:00 --------------------------------------------------------------

    def _weekly(self, session: Session, since: datetime, now: datetime, result: TickResult,
                build: Callable[[Session, datetime, datetime, datetime], list[p.Reminder]]
                ) -> None:
        """One of the Monday pushes (the boards, or the leaders' summary), due since."""
        reminders: list[p.Reminder] = []
        # Each Monday is offered in the tick that crosses it (a failed tick is retried
        # from the same `since`), so the report is built once, not on every tick.
        # At 09:00, or when quiet hours set to end later (DJBOT_QUIET_END=10:00) end: the
        # groups heard the board inside them.
        quiet = p.QuietHours.of(self.settings)
        at = quiet.end if quiet.contains(WEEKLY_AT) else WEEKLY_AT
        for monday, send_at in p.weekly_pushes(since, now, self.settings.tz,
                                               self.calendar.is_workday, at=at):
            end = monday.replace(hour=0, minute=0)  # the past week: Monday to Sunday
            start = end - timedelta(days=7)
            reminders += [replace(r, due_at=send_at)
                          for r in build(session, monday, start, end)]
        self._enqueue(session, reminders, since, now, result)

    def leaderboards(self, session: Session, monday: datetime, start: datetime,
                     end: datetime) -> list[p.Reminder]:
        out = []
        for branch in session.exec(select(Branch).where(Branch.active == True)).all():  # noqa: E712
            view = branch_view(session, branch_id=branch.id)  # type: ignore[arg-type]
            if not view.plan.leaderboard or not view.groups:
                continue
            board = reports.public_board(session, branch_id=branch.id,  # type: ignore[arg-type]
                                         start=start, end=end)
            if board.empty:
                # Nobody scored (or too few to list without naming the rest): no post.
                continue
            lines = [f"【上周积分榜】{branch.name}（{_day(start)} 至 {_day(end - timedelta(days=1))}）"]
            lines += reports.board_lines(board, unit="分")
            lines.append("发送「积分」查看自己的积分。")
            for group in view.groups:
                out.append(p.Reminder(p.LEADERBOARD, group.platform, "group", group.chat_id,
                                      branch.id, monday, monday, "\n".join(lines)))
        return out

    def summaries(self, session: Session, monday: datetime, start: datetime,
                  end: datetime) -> list[p.Reminder]:
        # The dashboard's picture (trend and tiers) where a font and the platform allow.
        return web_push.with_pictures(session, self._summary_texts(session, monday, start, end),
                                      week_start=start.date(), settings=self.settings,
                                      rules=self.rules, now=monday)

    def _summary_texts(self, session: Session, monday: datetime, start: datetime,
                       end: datetime) -> list[p.Reminder]:
        report = reports.build_report(
            session, start=start, end=end, previous=(start - timedelta(days=7), start),
            tz=self.settings.tz, visit_target=self.settings.visit_target_per_year,
            rules=self.rules, title=f"周报 {start.month}月{start.day}日起",
            now=self.clock.now())
        text = reports.render_markdown(report) + committee_summary(
            session, now=monday, tz=self.settings.tz, rules=self.rules, week=report)
        leaders_groups = session.exec(
            select(ChatBinding).where(ChatBinding.is_leaders == True)  # noqa: E712
        ).all()
        if leaders_groups:
            # Once to each leader: the leaders' group is where they all read it.
            return [p.Reminder(p.SUMMARY, g.platform, "leaders", g.chat_id, None, monday, monday,
                               text, title="党建周报", markdown=True) for g in leaders_groups]
        leaders = session.exec(
            select(Member).where(Member.role == Role.LEADER, Member.active == True)  # noqa: E712
        ).all()
        return [p.Reminder(p.SUMMARY, r.platform, "user", r.user_id, None, monday, monday, text,
                           title="党建周报", markdown=True)
                for _, r in _recipients(session, leaders, prefer=None)]


# --- gathering the pure views ------------------------------------------------------------


def _count_enqueued(reminders: list[p.Reminder]) -> None:
    """Count reminders for the metrics once their transaction has committed: only rows this
    replica wrote are in the list, so a reminder another replica enqueued counts once."""
    for reminder in reminders:
        metrics.reminder_enqueued(reminder.kind)


def _recipients(session: Session, members, *, prefer: str | None) -> list[tuple[Member, p.Recipient]]:
    """Where to reach each member privately: on the branch group's platform when possible."""
    return [(m, p.Recipient(m.id, m.name, i.platform, i.user_id))
            for m, i in org.reach(session, list(members), prefer=prefer)]


def branch_view(session: Session, *, branch_id: int) -> p.BranchView:
    branch = session.get(Branch, branch_id)
    assert branch is not None
    groups = tuple(
        p.GroupChat(b.platform, b.chat_id) for b in session.exec(
            select(ChatBinding).where(ChatBinding.branch_id == branch_id,
                                      ChatBinding.is_leaders == False)  # noqa: E712
            .order_by(ChatBinding.id)
        ).all()
    )
    prefer = groups[0].platform if groups else None
    # The 书记, or the 委员 while the post is vacant (the 副书记 acting), as for deciding
    # leave: a branch without one had its day-before and missing lists sent to nobody.
    secretaries = org.leave_deciders(session, branch_id=branch_id)
    settings_row = session.get(BranchReminderSettings, branch_id)
    return p.BranchView(
        id=branch_id,
        name=branch.name,
        groups=groups,
        secretaries=tuple(r for _, r in _recipients(session, secretaries, prefer=prefer)),
        paused_until=settings_row.paused_until if settings_row else None,
        plan=p.ReminderPlan.from_overrides(settings_row.plan if settings_row else None),
    )


def bureau_view(session: Session, *, activity: Activity) -> p.BranchView:
    """A bureau schedule's stand-in for a branch: the leaders' group(s), and as organizer
    the leader who set the schedule (every active leader if they are gone)."""
    groups = tuple(
        p.GroupChat(b.platform, b.chat_id, "leaders") for b in session.exec(
            select(ChatBinding).where(ChatBinding.is_leaders == True)  # noqa: E712
            .order_by(ChatBinding.id)).all())
    schedule = session.get(Schedule, activity.schedule_id) if activity.schedule_id else None
    setter = session.get(Member, schedule.created_by) if schedule and schedule.created_by else None
    organizers = [setter] if setter is not None and setter.active else session.exec(
        select(Member).where(Member.role == Role.LEADER, Member.active == True)  # noqa: E712
        .order_by(Member.id)).all()
    prefer = groups[0].platform if groups else None
    return p.BranchView(id=None, name="局党委", groups=groups,
                        secretaries=tuple(r for _, r in _recipients(session, organizers,
                                                                    prefer=prefer)))


def activity_view(session: Session, branch: p.BranchView, activity: Activity) -> p.ActivityView:
    prefer = branch.groups[0].platform if branch.groups else None
    rows = {a.member_id: a for a in session.exec(
        select(Attendance).where(Attendance.activity_id == activity.id)).all()}
    expected = []
    # Those the figures count (not every member who might still check in): the nudges and
    # the 【活动结束】 list say what 未签到 and 确认缺席 say.
    members = attendance_store.counted_members(session, activity=activity)
    for member, recipient in _recipients(session, members, prefer=prefer):
        row = rows.get(member.id)  # type: ignore[arg-type]
        if row is not None and row.status in ATTENDED:
            state = "present"
        elif (row is not None and row.status == AttendanceStatus.LEAVE
              and row.leave_state == LeaveState.PENDING):
            # Never nudged while it is decided; the secretary is told it waits.
            state = "pending"
        elif (row is not None and row.status == AttendanceStatus.LEAVE
              and row.leave_state != LeaveState.REVOKED):
            state = "leave"
        else:
            state = "missing"
        # One taken off the roster while it runs is still counted (absent, in the list of
        # the missing), but is no member to ask to 签到.
        expected.append(p.Expected(recipient, state,
                                   nudges_off=member.nudges_off or not member.active))
    group = org.party_group(session, group_id=activity.party_group_id)
    return p.ActivityView(
        id=activity.id, branch_id=branch.id, type=activity.type, topic=activity.topic,  # type: ignore[arg-type]
        starts_at=activity.starts_at, ends_at=activity.ends_at, expected=tuple(expected),
        closed_at=activity.closed_at, party_group=group.name if group else None,
        finalized_at=activity.finalized_at,
    )


def _day(moment: datetime) -> str:
    return f"{moment.month}月{moment.day}日"


def _queued_under_legacy_keys(session: Session, reminders: list[p.Reminder]) -> set[str]:
    """The keys of activity reminders already queued under the key that did not name the
    activity (by djbot before 2026-12-06): after an upgrade the catch-up window plans them
    again, and they must not go out twice. Such a row is this reminder when its text is."""
    by_legacy: dict[str, list[p.Reminder]] = {}
    for reminder in reminders:
        if reminder.activity_id is not None:
            by_legacy.setdefault(reminder.legacy_key, []).append(reminder)
    if not by_legacy:
        return set()
    rows = session.exec(select(OutboxMessage.dedupe_key, OutboxMessage.payload).where(
        OutboxMessage.dedupe_key.in_(list(by_legacy)))).all()  # type: ignore[union-attr]
    return {r.dedupe_key for key, payload in rows for r in by_legacy[key]
            if (payload or {}).get("text") == r.text}
