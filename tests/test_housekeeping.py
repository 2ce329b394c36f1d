"""Old delivery records and sent outbox rows are pruned; owed work and effects are kept."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, func, select

from bot.scheduling.tick import Ticker
from storage.models import Attendance, OutboxMessage, ProcessedMessage
from tests.factories import bind_chat, make_branch, make_member, seed


def count(engine, model, *where) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(model).where(*where)).one()


def test_a_tick_prunes_what_no_retry_can_need_and_keeps_the_rest(runtime, chat, clock, engine):
    def build(session):
        branch = make_branch(session, "一支部")
        bind_chat(session, branch, "g1")
        make_member(session, branch, "书记", role="secretary", wecom="sec")
    seed(engine, build)
    chat.say("sec", "开始 政治夜学", chat="g1", message_id="old-1")
    chat.say("sec", "签到", chat="g1", message_id="old-2")
    with Session(engine) as session:
        for status in ("sent", "pending", "dead"):
            session.add(OutboxMessage(
                platform="wecom", target_kind="group", target="g1", payload={"text": status},
                status=status, next_attempt_at=clock.now(), created_at=clock.now(),
                sent_at=clock.now() if status == "sent" else None))
        session.commit()

    clock.advance(timedelta(days=runtime.settings.retention_days + 1))
    chat.say("sec", "活动", chat="g1", message_id="new-1")
    Ticker(engine, runtime.settings, clock, runtime.rules).tick()

    assert count(engine, ProcessedMessage) == 1  # only the recent one
    assert sorted(_statuses(engine)) == ["dead", "pending"]  # owed work stays
    assert count(engine, Attendance) == 1  # the check-in itself is never pruned
    # A retry of a pruned delivery is simply new: 签到 again says 已签到, not a second row.
    chat.say("sec", "签到", chat="g1", message_id="old-2")
    assert count(engine, Attendance) == 1


def _statuses(engine) -> list[str]:
    with Session(engine) as session:
        # Only the rows made above: the tick may enqueue its own (a 三会一课 reminder falls due
        # the very moment the clock lands on).
        return [row.status for row in session.exec(
            select(OutboxMessage).where(OutboxMessage.kind == "message"))]


def test_a_withdrawn_message_goes_after_the_retention_as_a_sent_one_does(runtime, clock, engine):
    """Before, a message taken back unsent (a 【请假待批准】 whose leave was withdrawn, naming
    the member and the reason) was kept for ever: only sent rows were pruned."""
    with Session(engine) as session:
        session.add(OutboxMessage(
            platform="wecom", target_kind="user", target="sec", kind="leave.ask",
            payload={"text": "【请假待批准】张三请假：母亲住院手术"}, status="withdrawn",
            last_error="已销假", next_attempt_at=clock.now(), created_at=clock.now()))
        session.commit()
    clock.advance(timedelta(days=runtime.settings.retention_days - 1))
    Ticker(engine, runtime.settings, clock, runtime.rules).tick()
    assert count(engine, OutboxMessage, OutboxMessage.status == "withdrawn") == 1  # still recent

    clock.advance(timedelta(days=2))
    Ticker(engine, runtime.settings, clock, runtime.rules).tick()
    assert count(engine, OutboxMessage, OutboxMessage.status == "withdrawn") == 0


def test_the_record_of_who_answered_a_message_goes_with_the_delivery_record(runtime, clock,
                                                                            engine):
    """Before, message_answers (a row per message answered late or again: every WeCom
    stream refresh, every late DingTalk reply) was never pruned and grew for good, though
    the delivery record it guards against is gone after the retention."""
    from storage.models import MessageAnswer

    with Session(engine) as session:
        session.add(MessageAnswer(platform="wecom", message_id="old", via="late",
                                  answered_at=clock.now()))
        session.commit()
    clock.advance(timedelta(days=runtime.settings.retention_days + 1))
    with Session(engine) as session:
        session.add(MessageAnswer(platform="wecom", message_id="new", via="late",
                                  answered_at=clock.now()))
        session.commit()
    Ticker(engine, runtime.settings, clock, runtime.rules).tick()
    with Session(engine) as session:
        assert list(session.exec(select(MessageAnswer.message_id))) == ["new"]


def test_a_question_asked_for_确认_goes_after_the_retention(runtime, chat, clock, engine):
    """Before, every question put for 「确认」 was kept for ever, answered or lapsed five
    minutes on: a 书记's 取消活动 with its reason, a 更正 asked again with 他人代签 (about a
    member), stayed in the database and every backup long after the retention."""
    from storage.models import PendingConfirmation

    def build(session):
        branch = make_branch(session, "一支部")
        bind_chat(session, branch, "g1")
        make_member(session, branch, "书记", role="secretary", wecom="sec")
    seed(engine, build)
    chat.say("sec", "开始 政治夜学", chat="g1")
    assert "确认" in chat.say("sec", "取消活动 张三家里出事大家去帮忙").text
    clock.advance(timedelta(days=runtime.settings.retention_days - 1))
    Ticker(engine, runtime.settings, clock, runtime.rules).tick()
    assert count(engine, PendingConfirmation) == 1  # within the retention, as a delivery is

    clock.advance(timedelta(days=2))
    chat.say("sec", "开始 政治夜学", chat="g1")
    assert "确认" in chat.say("sec", "取消活动 临时勤务任务").text  # asked just now
    Ticker(engine, runtime.settings, clock, runtime.rules).tick()
    with Session(engine) as session:
        kept = list(session.exec(select(PendingConfirmation)))
    assert [row.payload.get("reason") for row in kept] == ["临时勤务任务"]
    assert "已取消" in chat.say("sec", "确认").text  # the question of the moment still holds
