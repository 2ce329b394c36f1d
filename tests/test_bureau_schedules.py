"""中心组学习 and 第一议题 scheduled by a leader for the bureau's party committee.

The user's situation (issue 13): a leader in the leaders' group sets the 中心组学习 for
the second Thursday of each month; the committee members get the reminders a branch gets
(the leaders' group before and at the start, a private nudge to a member who has not
checked in, the list of the missing to the leader who set it), nobody else is expected,
quiet hours hold, and two replicas ticking at once send each message once.
"""

from __future__ import annotations

from collections import Counter

import pytest
from sqlmodel import Session, select

from bot.scheduling import plan as p
from bot.scheduling.tick import Ticker
from bot.web.push import PICTURE
from storage import attendance as store
from storage.models import Activity, OutboxMessage, Role, Schedule
from tests.conftest import local
from tests.factories import bind_chat, make_branch, make_member, seed

WEEKLY_SUMMARY = (p.SUMMARY, PICTURE)  # the Monday summary and, where it can be drawn, its picture


@pytest.fixture
def bureau(engine):
    def build(session):
        branch = make_branch(session, "城关支部")
        make_member(session, None, "张局长", role=Role.LEADER, wecom="lead", bureau_committee=True)
        make_member(session, branch, "李委员", role=Role.SECRETARY, wecom="li",
                    bureau_committee=True)
        make_member(session, branch, "王委员", wecom="wang", bureau_committee=True)
        make_member(session, branch, "赵党员", wecom="zhao")  # not on the committee
        bind_chat(session, branch, "g1")
        bind_chat(session, None, "lg", leaders=True)
    seed(engine, build)


def outbox(engine) -> list[OutboxMessage]:
    with Session(engine) as session:
        return list(session.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all())


def test_a_leader_schedules_the_central_study_and_the_committee_gets_a_branchs_reminders(
        runtime, chat, engine, bureau):
    reply = chat.say("lead", "设置 中心组学习 每月第二个周四 9:00 2小时", chat="lg")
    assert not reply.is_error, reply.text
    assert "局党委 理论学习中心组" in reply.text and "12月10日 周四 09:00" in reply.text
    assert "应到：党委委员" in reply.text
    [schedule] = Session(engine).exec(select(Schedule)).all()
    assert schedule.branch_id is None

    replicas = [Ticker(runtime.engine, runtime.settings, runtime.clock, runtime.rules)
                for _ in range(2)]

    def tick_at(*when: int) -> None:
        runtime.clock.set(local(*when))
        for ticker in replicas:  # two replicas on one database, at the same moment
            ticker.tick()

    tick_at(2026, 12, 7, 10, 0)  # within three days: the activity exists
    with Session(engine) as session:
        [activity] = session.exec(select(Activity)).all()
        assert (activity.branch_id, activity.type) == (None, "理论学习中心组")
        expected = {m.name for m in store.expected_members(session, activity=activity)}
    assert expected == {"张局长", "李委员", "王委员"}  # the committee, not 赵党员

    tick_at(2026, 12, 9, 9, 0)  # the day before: the leader who set it, privately
    tick_at(2026, 12, 10, 8, 0)  # an hour before: the leaders' group
    tick_at(2026, 12, 10, 9, 0)  # the start: the leaders' group
    assert not chat.say("li", "签到", chat="lg").is_error
    tick_at(2026, 12, 10, 9, 15)  # nudges to the committee members still missing
    tick_at(2026, 12, 10, 11, 0)  # the end: the missing, privately to the organizer

    # (Started at 10:00 on a Monday, the replicas also send that morning's weekly summary.)
    # (Its picture too, where a CJK font is installed to draw it.)
    sent = [(m.kind, m.target_kind, m.target) for m in outbox(engine)
            if m.kind not in WEEKLY_SUMMARY]
    assert Counter(sent) == Counter({  # each once, though two replicas ticked
        (p.DAY_BEFORE, "user", "lead"): 1,
        (p.GROUP_BEFORE, "leaders", "lg"): 1,
        (p.START, "leaders", "lg"): 1,
        (p.NUDGE, "user", "lead"): 1,
        (p.NUDGE, "user", "wang"): 1,
        (p.MISSING, "user", "lead"): 1,
    })
    texts = {m.kind: m.payload["text"] for m in outbox(engine) if m.target == "lead"}
    assert "理论学习中心组" in texts[p.DAY_BEFORE]
    assert "应到 3 人，签到 1 人" in texts[p.MISSING] and "王委员" in texts[p.MISSING]
    assert not any(m.target in ("g1", "zhao") for m in outbox(engine))  # no branch is told


def test_a_first_topic_before_quiet_hours_end_waits_for_them(runtime, chat, engine, bureau):
    assert not chat.say("lead", "设置 第一议题 每周一 8:00 1小时").is_error  # privately
    ticker = Ticker(runtime.engine, runtime.settings, runtime.clock, runtime.rules)
    for when in [(2026, 11, 27, 9, 0), (2026, 11, 30, 7, 0), (2026, 11, 30, 7, 30)]:
        runtime.clock.set(local(*when))
        ticker.tick()
    [before] = [m for m in outbox(engine) if m.kind == p.GROUP_BEFORE]
    assert before.target == "lg"
    assert before.created_at.astimezone(local(2026, 1, 1).tzinfo) == local(2026, 11, 30, 7, 30)


def test_the_leaders_group_lists_and_deletes_the_bureau_schedules(chat, engine, bureau):
    chat.say("lead", "设置 中心组学习 每月第二个周四 9:00 2小时", chat="lg")
    chat.say("lead", "设置 第一议题 每周一 8:30 1小时", chat="lg")
    agenda = chat.say("li", "日程", chat="lg").text
    assert "局党委的日程" in agenda
    assert "理论学习中心组：每月第二个周四 09:00" in agenda and "第一议题：每周一 08:30" in agenda
    assert "城关支部：还没有固定日程" in agenda

    # A secretary in the leaders' group may not set the bureau's schedules.
    assert chat.say("li", "设置 第一议题 每周二 8:30", chat="lg").is_error
    assert chat.say("li", "删除日程 中心组学习", chat="lg").is_error

    reply = chat.say("lead", "删除日程 中心组学习", chat="lg")
    assert not reply.is_error and "已删除局党委的理论学习中心组日程" in reply.text
    with Session(engine) as session:
        active = [s.activity_type for s in session.exec(select(Schedule)) if s.active]
    assert active == ["第一议题"]
    assert "理论学习中心组" not in chat.say("lead", "日程", chat="lg").text
    assert chat.say("lead", "删除日程 中心组学习", chat="lg").is_error  # nothing left to delete


def test_two_activities_at_the_same_minute_each_get_their_reminders(
        runtime, chat, engine, bureau):
    # 第一议题 is often the first item of the 中心组学习 itself: the same Thursday, 9:00.
    assert not chat.say("lead", "设置 中心组学习 每月第二个周四 9:00 2小时", chat="lg").is_error
    assert not chat.say("lead", "设置 第一议题 每周四 9:00 1小时", chat="lg").is_error
    ticker = Ticker(runtime.engine, runtime.settings, runtime.clock, runtime.rules)
    for when in [(2026, 12, 7, 10, 0), (2026, 12, 9, 9, 0), (2026, 12, 10, 8, 0),
                 (2026, 12, 10, 9, 0), (2026, 12, 10, 9, 20)]:
        runtime.clock.set(local(*when))
        ticker.tick()
        ticker.tick()  # a tick repeated at the same moment sends nothing twice
    reminders = [m for m in outbox(engine) if m.kind in (p.DAY_BEFORE, p.GROUP_BEFORE, p.START)]
    titles = Counter((m.kind, "中心组" in m.payload["text"]) for m in reminders)
    assert titles == Counter({(p.DAY_BEFORE, True): 1, (p.DAY_BEFORE, False): 1,
                              (p.GROUP_BEFORE, True): 1, (p.GROUP_BEFORE, False): 1,
                              (p.START, True): 1, (p.START, False): 1})
    assert sum("第一议题" in m.payload["text"] for m in reminders) == 3


def test_a_reminder_queued_before_keys_named_the_activity_is_not_queued_again(
        runtime, chat, engine, bureau):
    assert not chat.say("lead", "设置 第一议题 每周四 9:00 1小时", chat="lg").is_error
    ticker = Ticker(runtime.engine, runtime.settings, runtime.clock, runtime.rules)
    for when in [(2026, 12, 7, 10, 0), (2026, 12, 10, 8, 0)]:
        runtime.clock.set(local(*when))
        ticker.tick()
    # As the djbot before this upgrade queued it: its key without the activity.
    with Session(engine) as session:
        [row] = [m for m in outbox(engine) if m.kind == p.GROUP_BEFORE]
        row.dedupe_key = row.dedupe_key.rsplit("|activity:", 1)[0]
        session.add(row)
        session.commit()
    runtime.clock.set(local(2026, 12, 10, 8, 10))  # after a restart, within the catch-up grace
    Ticker(runtime.engine, runtime.settings, runtime.clock, runtime.rules).tick()
    assert [m.kind for m in outbox(engine)].count(p.GROUP_BEFORE) == 1


def test_a_leader_pauses_and_resumes_the_central_study(runtime, chat, engine, bureau):
    """暂停日程 中心组学习 in the leaders' group: the December session is not held (nobody
    is reminded or expected); January's is; 恢复日程 brings December's back."""
    chat.say("lead", "设置 中心组学习 每月第二个周四 9:00 2小时", chat="lg")
    ticker = Ticker(runtime.engine, runtime.settings, runtime.clock, runtime.rules)
    runtime.clock.set(local(2026, 12, 7, 10, 0))
    ticker.tick()  # December's is created three days ahead

    # A secretary on the committee may not pause the bureau's schedule.
    assert chat.say("li", "暂停日程 中心组学习 至 12月31日", chat="lg").is_error
    reply = chat.say("lead", "暂停日程 中心组学习 至 12月31日", chat="lg")
    assert not reply.is_error, reply.text
    assert reply.text.startswith("已暂停局党委的理论学习中心组，至 2026-12-31（含）")
    assert "已撤下已安排的 1 次" in reply.text
    ticker.tick()
    runtime.clock.set(local(2026, 12, 10, 9, 0))
    ticker.tick()
    with Session(engine) as session:
        assert session.exec(select(Activity)).all() == []
    # Nobody reminded of a session not held (started at 10:00 on a Monday, the ticker also
    # sends that morning's weekly summary to the leaders).
    assert [m.kind for m in outbox(engine) if m.kind != PICTURE] == [p.SUMMARY]

    resumed = chat.say("lead", "恢复日程 中心组学习", chat="lg")
    assert resumed.text == "已恢复局党委的理论学习中心组日程。"
    assert chat.say("lead", "恢复日程 中心组学习", chat="lg").text == "局党委的理论学习中心组没有暂停。"
    runtime.clock.set(local(2027, 1, 11, 10, 0))
    ticker.tick()
    with Session(engine) as session:
        [held] = session.exec(select(Activity)).all()
    assert held.branch_id is None and local(2027, 1, 14, 9, 0) == held.starts_at
