"""Attacks through chat commands: enormous free text, control characters that repaint a
terminal or reverse what a group reads, NUL, and numbers that are not numbers. Each is
refused with a short answer naming the limit, or cleaned before it is stored or echoed."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from bot.dispatcher import MAX_MESSAGE_CHARS
from storage.models import Activity, Attendance, ProcessedMessage, Rating, Role
from tests.factories import bind_chat, make_branch, make_member, seed

MEMBERS = [f"m{i}" for i in range(1, 4)]


@pytest.fixture
def branch(runtime):
    def org(session):
        one = make_branch(session, "一支部")
        make_member(session, one, "李书记", role=Role.SECRETARY, wecom="sec1")
        for i, user in enumerate(MEMBERS, start=1):
            make_member(session, one, f"队员{i}", wecom=user)
        bind_chat(session, one, "g1")
    seed(runtime.engine, org)


def rows(engine, model):
    with Session(engine) as session:
        return list(session.exec(select(model)))


def test_a_200000_character_leave_reason_is_refused_with_the_limit(runtime, chat, branch):
    chat.say("sec1", "开始 主题党日", chat="g1")
    reply = chat.say("m1", "请假 " + "家" * 200_000, chat="g1")
    assert reply.is_error and f"最多 {MAX_MESSAGE_CHARS} 字" in reply.text
    assert len(reply.text) < 200
    reply = chat.say("m1", "请假 " + "家" * 201, chat="g1")
    assert reply.is_error and "原因最多 200 字，这次有 201 字" in reply.text
    assert "例如" in reply.text  # how to write it
    assert [a for a in rows(runtime.engine, Attendance) if a.leave_reason] == []
    # Every stored reply is short too: nothing 720 KB in, 1.44 MB out.
    assert max(len(str(p.reply)) for p in rows(runtime.engine, ProcessedMessage)) < 1000


@pytest.mark.parametrize("command, limit", [
    ("开始 主题党日 {}", "主题最多 100 字"),
    ("评价 5 {}", "意见最多 300 字"),
])
def test_topics_and_comments_have_their_own_bounds(command, limit, runtime, chat, branch):
    if command.startswith("评价"):
        chat.say("sec1", "开始 主题党日", chat="g1")
        chat.say("m1", "签到", chat="g1")
        sender = "m1"
    else:
        sender = "sec1"
    reply = chat.say(sender, command.format("长" * 301), chat="g1")
    assert reply.is_error and limit in reply.text
    assert rows(runtime.engine, Rating) == []


def test_control_characters_do_not_reach_storage_or_the_group(runtime, chat, branch):
    dirty = "\x1b[2J\x1b[31m学习\u202e章党新\u2066\x00\x07 新党章"
    opened = chat.say("sec1", f"开始 主题党日 {dirty}", chat="g1")
    assert not opened.is_error, opened.text
    leave = chat.say("m2", "请假 外出\x00办案\u202e\x1b]0;pwned\x07", chat="g1")
    assert not leave.is_error, leave.text
    [activity] = rows(runtime.engine, Activity)
    [absent] = [a for a in rows(runtime.engine, Attendance) if a.leave_reason]
    for text in (activity.topic, absent.leave_reason, opened.text, leave.text):
        assert not any(c in text for c in "\x1b\x00\x07\u202e\u2066"), repr(text)
    assert activity.topic == "学习章党新 新党章"
    assert absent.leave_reason == "外出办案"


# ("²" is folded to 2 like every full-width digit, so it is a valid score.)
@pytest.mark.parametrize("score", ["1" * 500, "٣", "5e0", "-0x5"])
def test_numbers_that_are_not_numbers_are_refused_with_an_example(score, runtime, chat, branch):
    chat.say("sec1", "开始 主题党日", chat="g1")
    chat.say("m1", "签到", chat="g1")
    reply = chat.say("m1", f"评价 {score}", chat="g1")
    assert reply.is_error and "例如" in reply.text
    assert len(reply.text) < 300
    assert rows(runtime.engine, Rating) == []


def test_an_unknown_command_is_quoted_back_short(runtime, chat, branch):
    reply = chat.say("m1", "x" * 900, chat="g1")
    assert reply.is_error and len(reply.text) < 100


def test_the_console_does_not_swallow_a_services_messages(runtime, branch, monkeypatch):
    import bot.cli
    from typer.testing import CliRunner

    from bot.console import SERVED
    from bot.scheduling.service import SchedulerService
    from storage import outbox
    from storage.db import session_scope
    from storage.models import OutboxMessage

    SchedulerService(runtime, {})._mark_served()  # `djbot serve` ran on this database
    with session_scope(runtime.engine) as session:
        outbox.enqueue(session, platform="wecom", target_kind="group", target="g1",
                       payload={"text": "今晚 19:30 政治夜学，请准时参加。"},
                       now=runtime.clock.now(), kind="reminder.group")
    monkeypatch.setattr(bot.cli, "get_runtime", lambda *a, **k: runtime)
    result = CliRunner().invoke(bot.cli.app, ["chat", "--user", "m1", "--chat", "g1", "帮助"])
    assert result.exit_code == 0, result.output
    assert "政治夜学" not in result.output and SERVED in result.output
    [row] = rows(runtime.engine, OutboxMessage)
    assert row.status == "pending"  # still the service's to deliver
