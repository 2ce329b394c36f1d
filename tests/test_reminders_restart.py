"""Downtime over a reminder: sent late once inside the catch-up grace, skipped (and logged) outside."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from bot.outbox import OutboxWorker
from bot.scheduling.holidays import HolidayCalendar
from bot.scheduling.tick import Ticker
from bot.sender import Outbound, SendResult
from storage import ledger
from storage.models import (
    Activity,
    Branch,
    BranchReminderSettings,
    Member,
    OutboxMessage,
    Role,
    Schedule,
)
from tests.conftest import local
from tests.factories import bind_chat, make_branch, make_member, seed


class Recorder:
    platform = "wecom"

    def __init__(self) -> None:
        self.sent: list[Outbound] = []

    async def send(self, message: Outbound) -> SendResult:
        self.sent.append(message)
        return SendResult.sent()


def study_branch(rule: str, minutes: int):
    """A branch with a secretary, a member, a group and a weekly night study."""
    def build(session):
        branch = make_branch(session, "巡特警支部")
        make_member(session, branch, "书记", role=Role.SECRETARY, wecom="sec")
        make_member(session, branch, "小王", wecom="wang")
        bind_chat(session, branch, "g1")
        session.add(Schedule(branch_id=branch.id, activity_type="政治夜学", rule=rule,
                             duration_minutes=minutes, holiday_policy="skip",
                             created_at=local(2026, 11, 1, 0, 0),
                             updated_at=local(2026, 11, 1, 0, 0)))
    return build


# Wednesday 2026-11-25 19:30–21:00.
night_study_branch = study_branch("每周三 19:30", 90)


def service(runtime, clock):
    """A freshly started process: its ticker has no memory of earlier ticks."""
    return Ticker(runtime.engine, runtime.settings, clock, runtime.rules, calendar=HolidayCalendar())


def run(ticker, clock, until, step=timedelta(minutes=5)):
    while clock.now() < until:
        clock.advance(step)
        ticker.tick()


def kinds(engine) -> list[str]:
    with Session(engine) as session:
        return [m.kind for m in session.exec(select(OutboxMessage).order_by(OutboxMessage.id))]


def test_down_over_the_start_and_back_within_the_grace(runtime, clock, engine, caplog):
    seed(engine, night_study_branch)
    clock.set(local(2026, 11, 25, 17, 0))
    first = service(runtime, clock)
    run(first, clock, local(2026, 11, 25, 18, 0))
    assert kinds(engine) == []  # the day-before reminder was yesterday, before we started

    # Down from 18:00 to 19:50: the 18:30 group reminder is 80 min late, the 19:30 start 20.
    clock.set(local(2026, 11, 25, 19, 50))
    with caplog.at_level("WARNING", logger="djbot.tick"):
        result = service(runtime, clock).tick()
    assert sorted((r.kind, r.target) for r in result.enqueued) == [
        ("nudge", "sec"), ("nudge", "wang"), ("reminder.start", "g1")]
    assert [r.kind for r in result.skipped] == ["reminder.group_before"]
    assert "missed while down" in caplog.text and "reminder.group_before" in caplog.text

    # A second restart inside the grace sends nothing again.
    clock.advance(minutes=1)
    service(runtime, clock).tick()
    assert sorted(kinds(engine)) == ["nudge", "nudge", "reminder.start"]

    recorder = Recorder()
    asyncio.run(OutboxWorker(engine, clock, {"wecom": recorder}).drain())
    assert sorted(m.target for m in recorder.sent) == ["g1", "sec", "wang"]


def test_down_past_the_grace_sends_only_what_is_still_fresh(runtime, clock, engine, caplog):
    seed(engine, night_study_branch)
    clock.set(local(2026, 11, 25, 17, 0))
    run(service(runtime, clock), clock, local(2026, 11, 25, 18, 0))

    # Back at 20:10: the start notice (19:30) is 40 min old and is not sent; the
    # nudge (19:45) is 25 min old, inside the 30-minute grace, and goes out.
    clock.set(local(2026, 11, 25, 20, 10))
    with caplog.at_level("WARNING", logger="djbot.tick"):
        result = service(runtime, clock).tick()
    assert sorted(r.kind for r in result.skipped) == ["reminder.group_before", "reminder.start"]
    assert sorted((r.kind, r.target) for r in result.enqueued) == [("nudge", "sec"),
                                                                  ("nudge", "wang")]
    assert kinds(engine) == ["nudge", "nudge"]


def test_the_grace_is_a_setting(runtime, clock, engine):
    seed(engine, night_study_branch)
    runtime.settings.catchup_grace_minutes = 60
    clock.set(local(2026, 11, 25, 18, 0))
    service(runtime, clock).tick()
    clock.set(local(2026, 11, 25, 20, 10))
    result = service(runtime, clock).tick()
    assert sorted(r.kind for r in result.enqueued) == ["nudge", "nudge", "reminder.start"]


# Wednesday 2026-11-25 20:00–21:50: its missing list is due ten minutes before quiet hours
# (22:00–07:30).
late_study_branch = study_branch("每周三 20:00", 110)


def test_caught_up_in_quiet_hours_a_person_waits_till_morning(runtime, clock, engine):
    """Down from 21:40 over the study's end (21:50: the missing list to the secretary) and
    back at 22:10, inside the catch-up grace but in quiet hours: the list waits for 07:30."""
    seed(engine, late_study_branch)
    clock.set(local(2026, 11, 25, 19, 0))
    run(service(runtime, clock), clock, local(2026, 11, 25, 21, 40))
    recorder = Recorder()
    asyncio.run(OutboxWorker(engine, clock, {"wecom": recorder}).drain())
    sent_before = len(recorder.sent)

    clock.set(local(2026, 11, 25, 22, 10))
    result = service(runtime, clock).tick()

    assert [(r.kind, r.target) for r in result.enqueued] == [("reminder.missing", "sec")]
    asyncio.run(OutboxWorker(engine, clock, {"wecom": recorder}).drain())
    assert len(recorder.sent) == sent_before  # nothing at night
    clock.set(local(2026, 11, 26, 7, 31))
    asyncio.run(OutboxWorker(engine, clock, {"wecom": recorder}).drain())
    assert [m.target for m in recorder.sent[sent_before:]] == ["sec"]


def test_caught_up_in_quiet_hours_a_group_hears_nothing(runtime, clock, engine, caplog):
    """A study set for 21:55: down from 21:50 and back at 22:05, the group's 「现在开始」
    (21:55) is not sent into the night, nor the next morning about last night."""
    seed(engine, study_branch("每周三 21:55", 110))
    clock.set(local(2026, 11, 25, 19, 0))
    run(service(runtime, clock), clock, local(2026, 11, 25, 21, 50))
    before = kinds(engine)

    clock.set(local(2026, 11, 25, 22, 5))
    with caplog.at_level("WARNING", logger="djbot.tick"):
        result = service(runtime, clock).tick()

    assert "reminder.start" in [r.kind for r in result.skipped]
    assert "reminder.start" not in kinds(engine)[len(before):]
    assert "missed while down" in caplog.text


def test_down_over_the_day_before_message_the_secretary_still_gets_it_that_day(
        runtime, clock, engine):
    """The secretary's 09:00 message about tomorrow's night study (who is on leave) is of
    use all that day; down from 08:45 to 11:00 it was dropped as older than the grace."""
    seed(engine, night_study_branch)
    clock.set(local(2026, 11, 24, 8, 45))
    service(runtime, clock).tick()
    clock.set(local(2026, 11, 24, 11, 0))
    result = service(runtime, clock).tick()
    assert [(r.kind, r.target) for r in result.enqueued] == [("reminder.day_before", "sec")]
    assert result.skipped == []
    [row] = Session(engine).exec(select(OutboxMessage)).all()
    assert row.payload["text"].startswith("【明日活动】政治夜学")


def test_down_over_the_end_the_secretary_still_gets_the_missing_list(runtime, clock, engine):
    """Down from 20:50 to 22:30 over the 21:00 end: the list of who has not checked in is
    what the secretary confirms or makes up from the next day, privately. It waits for the
    end of quiet hours and goes then; it used to be dropped as older than the grace."""
    seed(engine, night_study_branch)
    clock.set(local(2026, 11, 25, 20, 50))
    service(runtime, clock).tick()
    clock.set(local(2026, 11, 25, 22, 30))
    result = service(runtime, clock).tick()
    assert [(r.kind, r.target) for r in result.enqueued] == [("reminder.missing", "sec")]
    recorder = Recorder()
    asyncio.run(OutboxWorker(engine, clock, {"wecom": recorder}).drain())
    assert recorder.sent == []  # not at night
    clock.set(local(2026, 11, 26, 7, 30))
    asyncio.run(OutboxWorker(engine, clock, {"wecom": recorder}).drain())
    assert [(m.kind, m.target_kind, m.target) for m in recorder.sent] == [
        ("reminder.missing", "user", "sec")]
    assert "未签到 2 人：书记、小王" in recorder.sent[0].payload["text"]


def test_a_nudge_caught_up_at_night_is_dropped_not_sent_next_morning(runtime, clock, engine):
    """The study 21:40–23:10 nudges at 21:55. Down from 21:35 and back at 22:05, inside the
    grace but in quiet hours: the nudge was held for 07:30, and 小王 heard at dawn that he
    had not checked in to last night's study. A nudge that would fall in quiet hours is
    dropped; so is one caught up there."""
    seed(engine, study_branch("每周三 21:40", 90))
    clock.set(local(2026, 11, 25, 21, 35))
    service(runtime, clock).tick()
    clock.set(local(2026, 11, 25, 22, 5))
    result = service(runtime, clock).tick()
    assert [r.target for r in result.skipped if r.kind == "nudge"] == ["sec", "wang"]
    recorder = Recorder()
    worker = night_worker(runtime, engine, clock, recorder)
    asyncio.run(worker.drain())
    clock.set(local(2026, 11, 26, 7, 31))
    asyncio.run(worker.drain())
    assert [m.kind for m in recorder.sent if m.kind == "nudge"] == []


def test_a_day_before_message_caught_up_at_night_is_not_sent_on_the_day(
        runtime, clock, engine):
    """A branch whose 【明日活动】 goes at 20:00 the day before: down over it and back at
    22:30, the message was held for 07:30, on the study's own day, saying 明日. It is
    missed (and logged) instead."""
    seed(engine, night_study_branch)  # Wednesday 2026-11-25 19:30
    seed(engine, lambda s: s.add(BranchReminderSettings(branch_id=1,
                                                        plan={"day_before_at": "20:00"})))
    clock.set(local(2026, 11, 24, 19, 50))
    service(runtime, clock).tick()
    clock.set(local(2026, 11, 24, 22, 30))
    result = service(runtime, clock).tick()
    assert [(r.kind, r.target) for r in result.skipped] == [("reminder.day_before", "sec")]
    recorder = Recorder()
    worker = night_worker(runtime, engine, clock, recorder)
    clock.set(local(2026, 11, 25, 7, 31))
    asyncio.run(worker.drain())
    assert [m.kind for m in recorder.sent] == []


def test_an_activity_set_at_night_keeps_its_group_reminder_caught_up(runtime, clock, engine):
    """A study set for 22:10, its group told 15 minutes before (21:55). Down from 21:50 and
    back at 22:05, inside the grace: the reminder was dropped as a daytime notice caught up
    at night, though an activity set inside quiet hours keeps all its reminders."""
    seed(engine, study_branch("每周三 22:10", 60))
    seed(engine, lambda s: s.add(BranchReminderSettings(branch_id=1,
                                                        plan={"group_before_minutes": 15})))
    clock.set(local(2026, 11, 25, 21, 50))
    service(runtime, clock).tick()
    clock.set(local(2026, 11, 25, 22, 5))
    result = service(runtime, clock).tick()
    assert [(r.kind, r.target) for r in result.enqueued] == [("reminder.group_before", "g1")]
    recorder = Recorder()
    asyncio.run(night_worker(runtime, engine, clock, recorder).drain())
    assert [(m.kind, m.target) for m in recorder.sent] == [("reminder.group_before", "g1")]


class BlockedUntil(Recorder):
    """A platform that says "wait ten minutes" until a given moment (DingTalk's robot block
    after a burst, WeCom's 45009)."""

    def __init__(self, clock, until) -> None:
        super().__init__()
        self.clock, self.until = clock, until

    async def send(self, message: Outbound) -> SendResult:
        if self.clock.now() < self.until:
            return SendResult.failed("send too fast", retry_after=600)
        self.sent.append(message)
        return SendResult.sent()


def night_worker(runtime, engine, clock, sender):
    from bot.scheduling.plan import QuietHours

    return OutboxWorker(engine, clock, {"wecom": sender}, quiet=QuietHours.of(runtime.settings),
                        tz=runtime.settings.tz)


def test_a_retry_that_reaches_quiet_hours_waits_or_is_dropped(runtime, clock, engine):
    """The night study 20:00–21:50: the platform tells djbot to wait ten minutes for
    whatever it sends before 21:56. The list of the missing (21:50) was sent at 22:00 and
    the 党课's 21:55 start notice posted in the group at 22:05; now the list waits for 07:30
    and the notice is dropped (the next morning it would only be noise)."""
    seed(engine, late_study_branch)

    def lecture(session):  # 21:55–22:55 in the same branch: its start notice at 21:55
        session.add(Schedule(branch_id=1, activity_type="党课", rule="每周三 21:55",
                             duration_minutes=60, holiday_policy="skip",
                             created_at=local(2026, 11, 1, 0, 0),
                             updated_at=local(2026, 11, 1, 0, 0)))
    seed(engine, lecture)
    sender = BlockedUntil(clock, local(2026, 11, 25, 21, 56))
    clock.set(local(2026, 11, 25, 21, 40))
    ticker = service(runtime, clock)
    worker = night_worker(runtime, engine, clock, sender)
    while clock.now() < local(2026, 11, 25, 23, 0):
        clock.advance(timedelta(minutes=1))
        ticker.tick()
        asyncio.run(worker.drain())
    assert [(m.kind, m.target) for m in sender.sent] == []  # nothing at night

    clock.set(local(2026, 11, 26, 7, 30))
    ticker.tick()
    asyncio.run(worker.drain())
    # The study's list, held; the lecture's, planned for 07:30 as it ended at night.
    assert sorted((m.kind, m.target, m.payload["text"].split("（")[0]) for m in sender.sent) == [
        ("reminder.missing", "sec", "【活动结束】党课"),
        ("reminder.missing", "sec", "【活动结束】政治夜学")]
    with Session(engine) as session:
        dropped = session.exec(select(OutboxMessage).where(
            OutboxMessage.status == "withdrawn")).all()
    assert sorted(m.kind for m in dropped) == ["reminder.start"]


def test_a_day_before_message_still_waiting_at_night_is_not_sent_on_the_day(
        runtime, clock, engine):
    """【明日活动】 at 20:00 the day before, and the platform says "wait" until 22:30: the
    retry reaching quiet hours was held for 07:30, the study's own day, still saying 明日.
    Like a nudge, it is not sent then."""
    seed(engine, night_study_branch)  # Wednesday 2026-11-25 19:30
    seed(engine, lambda s: s.add(BranchReminderSettings(branch_id=1,
                                                        plan={"day_before_at": "20:00"})))
    sender = BlockedUntil(clock, local(2026, 11, 24, 22, 30))
    clock.set(local(2026, 11, 24, 19, 55))
    ticker = service(runtime, clock)
    worker = night_worker(runtime, engine, clock, sender)
    while clock.now() < local(2026, 11, 24, 23, 0):
        clock.advance(timedelta(minutes=1))
        ticker.tick()
        asyncio.run(worker.drain())
    clock.set(local(2026, 11, 25, 7, 31))
    asyncio.run(worker.drain())
    assert [m.kind for m in sender.sent] == []
    with Session(engine) as session:
        [row] = session.exec(select(OutboxMessage).where(
            OutboxMessage.kind == "reminder.day_before")).all()
    assert (row.status, row.last_error) == ("withdrawn", "免打扰时段开始前未能送达，不再发送")


def test_a_day_before_message_queued_before_every_replica_stopped_is_not_sent_on_the_day(
        runtime, clock, engine):
    """【明日活动】 queued at 20:00 the day before, and every replica stopped before it went
    (killed after the tick's commit, a power cut) until 07:40 on the study's own day, after
    quiet hours: nothing ran at night to drop it, and it went out saying 明日 of today."""
    seed(engine, night_study_branch)  # Wednesday 2026-11-25 19:30
    seed(engine, lambda s: s.add(BranchReminderSettings(branch_id=1,
                                                        plan={"day_before_at": "20:00"})))
    clock.set(local(2026, 11, 24, 19, 55))
    ticker = service(runtime, clock)
    ticker.tick()
    clock.set(local(2026, 11, 24, 20, 0))
    ticker.tick()
    assert kinds(engine) == ["reminder.day_before"]  # queued, never sent

    clock.set(local(2026, 11, 25, 7, 40))
    recorder = Recorder()
    worker = night_worker(runtime, engine, clock, recorder)
    service(runtime, clock).tick()
    asyncio.run(worker.drain())
    assert [m.kind for m in recorder.sent] == []
    with Session(engine) as session:
        [row] = session.exec(select(OutboxMessage)).all()
    assert (row.status, row.last_error) == ("withdrawn", "活动当天才能送达，「明日」已不对，不再发送")


def _one_branch_failing(runtime, clock, engine, monkeypatch) -> tuple[Ticker, int]:
    """巡特警支部 and 交警支部, each with a Wednesday night study; from 17:00 on 25 November
    巡特警支部's tick raises (a bad row, a bug). The ticker, and the failing branch's id."""
    seed(engine, night_study_branch)
    seed(engine, _second_branch)
    with Session(engine) as session:
        failing = session.exec(select(Branch.id).where(Branch.name == "巡特警支部")).one()
    clock.set(local(2026, 11, 25, 17, 0))
    ticker = service(runtime, clock)
    ticker.tick()
    original = Ticker._tick_branch

    def broken(self, session, branch_id, since, now, result):
        if branch_id == failing:
            raise RuntimeError("a row this code cannot read")
        return original(self, session, branch_id, since, now, result)

    monkeypatch.setattr(Ticker, "_tick_branch", broken)
    return ticker, failing


def test_a_branch_whose_tick_fails_holds_back_no_other_and_is_tried_again(
        runtime, clock, engine, caplog, monkeypatch):
    """One branch's tick raising aborted the whole beat, every beat: no branch got its
    reminders and no summary went out. The others now go on, and the one that failed gets
    what was due once it can."""
    original = Ticker._tick_branch
    ticker, failing = _one_branch_failing(runtime, clock, engine, monkeypatch)

    def group_reminders() -> list[str]:
        with Session(engine) as session:
            return sorted(m.target for m in session.exec(select(OutboxMessage))
                          if m.kind == "reminder.group_before")

    with caplog.at_level("ERROR", logger="djbot.tick"):
        run(ticker, clock, local(2026, 11, 25, 18, 35))
    assert f"branch {failing} failed" in caplog.text
    assert group_reminders() == ["g2"]  # 交警支部's 18:30 reminder went all the same

    monkeypatch.setattr(Ticker, "_tick_branch", original)
    run(ticker, clock, local(2026, 11, 25, 18, 40))
    assert group_reminders() == ["g1", "g2"]  # once each


def _second_branch(session) -> None:
    """交警支部 (group g2) with the same weekly night study."""
    branch = make_branch(session, "交警支部")
    bind_chat(session, branch, "g2")
    session.add(Schedule(branch_id=branch.id, activity_type="政治夜学", rule="每周三 19:30",
                         duration_minutes=90, holiday_policy="skip",
                         created_at=local(2026, 11, 1, 0, 0), updated_at=local(2026, 11, 1, 0, 0)))


def test_a_failing_branch_does_not_have_the_weekly_summary_built_every_beat(
        runtime, clock, engine, monkeypatch):
    """The ticker's window stopped moving while a branch failed, so every beat after Monday
    09:00 built the leaders' summary (report, pictures) again: it is built once."""
    ticker, _ = _one_branch_failing(runtime, clock, engine, monkeypatch)
    summary = Ticker._summary_texts
    built = []

    def counting(self, *args, **kwargs):
        built.append(clock.now())
        return summary(self, *args, **kwargs)

    monkeypatch.setattr(Ticker, "_summary_texts", counting)
    run(ticker, clock, local(2026, 11, 30, 11, 0), step=timedelta(minutes=30))
    assert len(built) == 1, built


def test_a_weekly_summary_that_fails_holds_back_neither_the_board_nor_closing_activities(
        runtime, clock, engine, caplog, monkeypatch):
    """The Monday push, the committee's reminders and closing ended activities shared one
    transaction: a summary that could not be built (a row the report cannot read) failed
    every beat after Monday 09:00, so no branch got its board, and Wednesday's night study
    was never closed nor its absences confirmed. The rest now goes on."""
    seed(engine, night_study_branch)
    with Session(engine) as session:
        member = session.exec(select(Member).where(Member.name == "小王")).one()
        ledger.post(session, member_id=member.id, branch_id=member.branch_id, points=10,
                    rule="study.per_30min", source_kind="study", source_id=1,
                    occurred_at=local(2026, 11, 18, 10, 0), now=local(2026, 11, 18, 10, 0))
        for name, user in (("小李", "li"), ("小张", "zhang")):
            other = make_member(session, session.get(Branch, member.branch_id), name,
                                wecom=user)
            ledger.post(session, member_id=other.id, branch_id=member.branch_id, points=5,
                        rule="study.per_30min", source_kind="study", source_id=other.id,
                        occurred_at=local(2026, 11, 18, 10, 0),
                        now=local(2026, 11, 18, 10, 0))
        session.commit()
    clock.set(local(2026, 11, 23, 8, 0))
    ticker = service(runtime, clock)
    ticker.tick()

    def broken(self, *args, **kwargs):
        raise RuntimeError("a row the report cannot read")

    monkeypatch.setattr(Ticker, "_summary_texts", broken)
    with caplog.at_level("ERROR", logger="djbot.tick"):
        while clock.now() < local(2026, 11, 27, 0, 0):
            clock.advance(timedelta(minutes=30))
            try:  # as the service's beat does: logged, and the next beat goes on
                ticker.tick()
            except RuntimeError:
                pass
    assert "the summaries failed" in caplog.text
    assert "leaderboard" in kinds(engine)
    with Session(engine) as session:
        study = session.exec(select(Activity).where(
            Activity.starts_at == local(2026, 11, 25, 19, 30))).one()
        assert study.status == "closed" and study.finalized_at is not None


def test_a_branch_without_a_secretary_has_its_lists_sent_to_its_committee(
        runtime, clock, engine):
    """The 书记's post vacant (retired; the 副书记, a 委员, acts): the day-before message and
    the list of the missing went to nobody, so absences were confirmed with nobody asked to
    confirm them or 补签. They go to the 委员, as the leave to decide already does."""
    def build(session):
        branch = make_branch(session, "巡特警支部")
        make_member(session, branch, "副书记", role=Role.COMMITTEE, wecom="deputy")
        make_member(session, branch, "小王", wecom="wang")
        bind_chat(session, branch, "g1")
        session.add(Schedule(branch_id=branch.id, activity_type="政治夜学", rule="每周三 19:30",
                             duration_minutes=90, holiday_policy="skip",
                             created_at=local(2026, 11, 1, 0, 0),
                             updated_at=local(2026, 11, 1, 0, 0)))
    seed(engine, build)
    clock.set(local(2026, 11, 24, 8, 0))
    ticker = service(runtime, clock)
    ticker.last = clock.now()
    run(ticker, clock, local(2026, 11, 25, 21, 30))
    with Session(engine) as session:
        private = sorted((m.kind, m.target) for m in session.exec(select(OutboxMessage))
                         if m.kind in ("reminder.day_before", "reminder.missing"))
    assert private == [("reminder.day_before", "deputy"), ("reminder.missing", "deputy")]


def test_no_nudge_to_check_in_after_the_secretary_ended_the_activity(runtime, clock, engine,
                                                                     chat):
    """结束 at 19:40 closes check-in; at 19:45 each member still missing was told 「你还没有
    签到。到场请发送「签到」」, and 签到 was then refused."""
    seed(engine, night_study_branch)
    clock.set(local(2026, 11, 25, 17, 0))
    ticker = service(runtime, clock)
    ticker.last = clock.now()
    run(ticker, clock, local(2026, 11, 25, 19, 40))
    assert "已结束" in chat.say("sec", "结束", chat="g1").text
    run(ticker, clock, local(2026, 11, 25, 20, 30))
    assert "nudge" not in kinds(engine)
    assert "reminder.missing" not in kinds(engine)  # at 21:00, as planned
    run(ticker, clock, local(2026, 11, 25, 21, 5))
    assert "reminder.missing" in kinds(engine)


def test_a_temporary_branch_that_cannot_be_closed_holds_back_no_reminder(
        runtime, clock, engine, caplog, monkeypatch):
    """Closing the temporary branches past their end opened every tick's first transaction:
    one that failed (a member's move back that raised) failed the whole tick, every beat, so
    no branch had its activities made nor its reminders sent."""
    from storage import temporary

    seed(engine, night_study_branch)
    clock.set(local(2026, 11, 22, 17, 0))
    ticker = service(runtime, clock)
    ticker.last = clock.now()

    def broken(*args, **kwargs):
        raise RuntimeError("a move this code cannot make")

    monkeypatch.setattr(temporary, "end_due", broken)
    with caplog.at_level("ERROR", logger="djbot.tick"):
        while clock.now() < local(2026, 11, 25, 19, 35):
            clock.advance(timedelta(minutes=30))
            try:  # as the service's beat does
                ticker.tick()
            except RuntimeError:
                pass
    assert "a move this code cannot make" in caplog.text
    assert {"reminder.day_before", "reminder.group_before", "reminder.start"} <= set(
        kinds(engine))


def test_a_committee_reminder_that_fails_holds_back_no_closing_of_activities(
        runtime, clock, engine, monkeypatch):
    """The 三会一课 and 先锋党员 reminders shared a transaction with closing ended activities:
    one that raised (a row the standing cannot read) left every activity open and every
    absence unconfirmed, beat after beat."""
    from bot.scheduling import tick as tick_module

    seed(engine, night_study_branch)
    clock.set(local(2026, 11, 25, 17, 0))
    ticker = service(runtime, clock)
    ticker.last = clock.now()

    def broken(*args, **kwargs):
        raise RuntimeError("a row the standing cannot read")

    monkeypatch.setattr(tick_module, "committee_reminders", broken)
    while clock.now() < local(2026, 11, 27, 0, 0):
        clock.advance(timedelta(minutes=30))
        try:  # as the service's beat does
            ticker.tick()
        except RuntimeError:
            pass
    with Session(engine) as session:
        study = session.exec(select(Activity).where(
            Activity.starts_at == local(2026, 11, 25, 19, 30))).one()
        assert study.status == "closed" and study.finalized_at is not None


def test_one_schedule_whose_activity_cannot_be_made_holds_back_no_other_branch(
        runtime, clock, engine, caplog, monkeypatch):
    """Making the scheduled activities ran in one transaction for every schedule: one whose
    activity raised (a leave period this code cannot read) failed every tick, so no branch
    had its activities made nor any reminder sent. The others now go on; it is tried again
    each beat."""
    from bot.scheduling import tick as tick_module

    seed(engine, night_study_branch)
    seed(engine, _second_branch)
    with Session(engine) as session:
        failing = session.exec(select(Branch.id).where(Branch.name == "巡特警支部")).one()
    original = tick_module.leave.excuse

    def broken(session, *, activity, tz):
        if activity.branch_id == failing:
            raise RuntimeError("a leave period this code cannot read")
        return original(session, activity=activity, tz=tz)

    monkeypatch.setattr(tick_module.leave, "excuse", broken)
    clock.set(local(2026, 11, 22, 17, 0))
    ticker = service(runtime, clock)
    ticker.last = clock.now()
    with caplog.at_level("ERROR", logger="djbot.tick"):
        while clock.now() < local(2026, 11, 25, 18, 35):
            clock.advance(timedelta(minutes=30))
            try:  # as the service's beat does
                ticker.tick()
            except RuntimeError:
                pass
    assert "a leave period this code cannot read" in caplog.text
    with Session(engine) as session:
        reminded = sorted(m.target for m in session.exec(select(OutboxMessage))
                          if m.kind == "reminder.group_before")
        made = session.exec(select(Activity.branch_id)).all()
    assert reminded == ["g2"] and failing not in made


def test_a_reminder_plan_typed_by_hand_stops_no_branch_s_reminders(runtime, clock, engine):
    """BranchReminderSettings.plan is JSON an operator writes: {"day_before_at": "9:00"}
    raised in every tick (not ISO), before any branch was reminded, so no branch's activity
    was made nor any reminder sent. 9:00 is read as the time it says; a value that cannot
    be read keeps the default."""
    seed(engine, night_study_branch)
    seed(engine, _second_branch)
    with Session(engine) as session:
        first, second = session.exec(select(Branch.id).order_by(Branch.id)).all()
        session.add(BranchReminderSettings(branch_id=first, plan={"day_before_at": "9:00"}))
        session.add(BranchReminderSettings(branch_id=second,
                                           plan={"group_before_minutes": "一小时"}))
        session.commit()
    clock.set(local(2026, 11, 23, 17, 0))
    ticker = service(runtime, clock)
    ticker.last = clock.now()
    run(ticker, clock, local(2026, 11, 25, 19, 35), step=timedelta(minutes=30))
    with Session(engine) as session:
        sent = sorted((m.kind, m.target) for m in session.exec(select(OutboxMessage))
                      if m.kind in ("reminder.day_before", "reminder.group_before"))
    assert sent == [("reminder.day_before", "sec"), ("reminder.group_before", "g1"),
                    ("reminder.group_before", "g2")]


@pytest.mark.parametrize("who, meanwhile", [("wang", "签到"), ("sec", "补签 小王 手机没电"),
                                           ("sec", "结束")])
def test_a_nudge_held_back_is_not_sent_once_it_is_no_longer_so(runtime, clock, engine, chat,
                                                              who, meanwhile):
    """19:45: 小王's nudge 「你还没有签到」 is held back by the platform (a wait, a retry, or
    DingTalk's flow control: a row due minutes later). Meanwhile 小王 checks in, the
    secretary 补签s him, or sends 结束: the nudge then still told him he had not checked
    in, and to send 签到, to a check-in that may be closed."""
    seed(engine, night_study_branch)
    sender = BlockedUntil(clock, local(2026, 11, 25, 19, 50))
    clock.set(local(2026, 11, 25, 19, 40))
    ticker = service(runtime, clock)
    worker = night_worker(runtime, engine, clock, sender)

    def beats(until):
        while clock.now() < until:
            clock.advance(timedelta(minutes=1))
            ticker.tick()
            asyncio.run(worker.drain())

    beats(local(2026, 11, 25, 19, 46))
    assert "nudge" in kinds(engine) and not sender.sent  # queued, waiting on the platform
    assert not chat.say(who, meanwhile, chat="g1").is_error
    beats(local(2026, 11, 25, 20, 30))
    assert [m.kind for m in sender.sent if m.target == "wang"] == []
    with Session(engine) as session:
        [nudge] = session.exec(select(OutboxMessage).where(OutboxMessage.kind == "nudge",
                                                           OutboxMessage.target == "wang")).all()
    assert nudge.status == "withdrawn" and nudge.last_error


def test_no_list_to_confirm_after_the_secretary_confirmed_the_absences(runtime, clock, engine,
                                                                        chat):
    """结束 and 确认缺席 at 20:30: at 21:00 the secretary was still sent 「未签到 1 人：小王。
    请确认或补签」 of absences confirmed half an hour before."""
    seed(engine, night_study_branch)
    clock.set(local(2026, 11, 25, 17, 0))
    ticker = service(runtime, clock)
    ticker.last = clock.now()
    run(ticker, clock, local(2026, 11, 25, 20, 30))
    chat.say("sec", "签到", chat="g1")
    assert "已结束" in chat.say("sec", "结束", chat="g1").text
    assert not chat.say("sec", "确认缺席", chat="g1").is_error
    run(ticker, clock, local(2026, 11, 25, 21, 30))
    assert "reminder.missing" not in kinds(engine)
