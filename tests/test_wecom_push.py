"""设置 推送 in chat and `djbot push set`: private only, own branch, the key never echoed;
and what the webhook then sends: one copy of each message, however many groups share it."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from bot.adapters.wecom.client import WecomClient
from bot.adapters.wecom.senders import WecomSender
from bot.config import WecomSettings
from bot.outbox import MAX_ATTEMPTS, OutboxWorker, retry
from bot.scheduling.holidays import HolidayCalendar
from bot.scheduling.tick import Ticker
from storage import outbox
from storage.db import session_scope
from storage.models import AuditEntry, OutboxMessage, PushChannel, Role, Schedule
from tests import fake_wecom as fw
from tests.conftest import local
from tests.factories import bind_chat, make_branch, make_member, seed

KEY = "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"
URL = f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={KEY}"


def _org(engine):
    def setup(session: Session):
        one, two = make_branch(session, "一支部"), make_branch(session, "二支部")
        make_member(session, one, "书记甲", role=Role.SECRETARY, wecom="sec1")
        make_member(session, one, "党员乙", wecom="m1")
        make_member(session, two, "书记丙", role=Role.SECRETARY, wecom="sec2")
        bind_chat(session, one, "chat-one")
    seed(engine, setup)


def channels(engine) -> list[PushChannel]:
    with Session(engine) as session:
        return list(session.exec(select(PushChannel)))


def test_secretary_sets_push_privately_and_key_is_not_echoed(chat, engine, caplog):
    _org(engine)
    caplog.set_level(logging.DEBUG, logger="djbot")
    logging.getLogger("djbot").propagate = True
    reply = chat.say("sec1", f"设置 推送 一支部 {URL}")
    assert not reply.is_error, reply.text
    assert "一支部" in reply.text and KEY not in reply.text
    [channel] = channels(engine)
    assert (channel.platform, channel.url, channel.is_leaders) == ("wecom", KEY, False)
    assert KEY not in caplog.text
    with Session(engine) as session:
        [audit] = session.exec(select(AuditEntry).where(AuditEntry.action == "push.set")).all()
        assert KEY not in str(audit.detail) and audit.target == "一支部"

    again = chat.say("sec1", "设置 推送 一支部 0b5c2a11-2222-4bc4-97a0-0ec2aaaabbbb")
    assert "已更新" in again.text
    assert [c.url for c in channels(engine)] == ["0b5c2a11-2222-4bc4-97a0-0ec2aaaabbbb"]


def test_push_refused_in_group_for_members_and_other_branches(chat, engine):
    _org(engine)
    in_group = chat.say("sec1", f"设置 推送 一支部 {KEY}", chat="chat-one")
    assert in_group.is_error and "私聊" in in_group.text and KEY not in in_group.text
    member = chat.say("m1", f"设置 推送 一支部 {KEY}")
    assert member.is_error
    foreign = chat.say("sec2", f"设置 推送 一支部 {KEY}")
    assert foreign.is_error and "本支部" in foreign.text
    bad = chat.say("sec1", "设置 推送 一支部 not a key!")
    assert bad.is_error and "例如" in bad.text
    assert channels(engine) == []


@pytest.mark.parametrize("text", [f"设置 推送 一支部{URL}", f"设置 推送 一支部：{URL}",
                                  f"设置 推送 {URL} 一支部"])
def test_the_address_glued_to_the_branch_or_before_it_is_still_the_address(chat, engine, text):
    """一支部：https://… was answered 缺少群机器人的 webhook 地址, the address right there."""
    _org(engine)
    reply = chat.say("sec1", text)
    assert not reply.is_error and "已设置「一支部」" in reply.text, reply.text
    assert [c.url for c in channels(engine)] == [KEY]


def test_an_address_without_a_branch_is_told_the_branch_is_missing(chat, engine):
    _org(engine)
    for text in (f"设置 推送 {URL}", f"设置 推送 {KEY}"):
        reply = chat.say("sec1", text)
        assert reply.is_error and "缺少支部" in reply.text and KEY not in reply.text, reply.text
    assert channels(engine) == []


def test_cli_push_set(engine, runtime, monkeypatch):
    _org(engine)
    from bot import cli
    from bot.cli import app

    monkeypatch.setattr(cli, "get_runtime", lambda *a, **k: runtime)

    result = CliRunner().invoke(app, ["push", "set", "--platform", "wecom", "--branch", "一支部",
                                      "--key", URL])
    assert result.exit_code == 0, result.output
    assert KEY not in result.output and "一支部" in result.output
    assert [c.url for c in channels(engine)] == [KEY]
    missing = CliRunner().invoke(app, ["push", "set", "--branch", "九支部", "--key", KEY])
    assert missing.exit_code == 1 and "九支部" in missing.output


# --- one webhook, one copy ------------------------------------------------------------------


@pytest.fixture
def fake():
    server = fw.FakeWecom().start()
    yield server
    server.stop()


@pytest.fixture
async def api_sender(fake, clock, engine):
    """The sender of a djbot whose AI bot answers by callback: groups only by webhook."""
    client = WecomClient(WecomSettings(enabled=True, corp_id=fw.CORP_ID, app_secret=fw.APP_SECRET,
                                       agent_id=str(fw.AGENT_ID), api_base=fake.base_url),
                         clock, backoff_seconds=0)
    yield WecomSender(client, engine)
    await client.aclose()


def said(fake, key: str) -> list[str]:
    return [call.body["text"]["content"] for call in fake.calls("webhook/send")
            if call.params["key"] == key]


def two_groups_one_webhook(session: Session) -> None:
    """一支部 has two bound groups (the branch's and a party group's) and one push webhook;
    二支部 has its own group and its own webhook."""
    one, two = make_branch(session, "一支部"), make_branch(session, "二支部")
    make_member(session, one, "书记甲", role=Role.SECRETARY, wecom="sec1")
    make_member(session, two, "书记丙", role=Role.SECRETARY, wecom="sec2")
    bind_chat(session, one, "chat-one")
    bind_chat(session, one, "chat-one-group")
    bind_chat(session, two, "chat-two")
    for branch, key in ((one, "key-one"), (two, "key-two")):
        session.add(PushChannel(platform="wecom", branch_id=branch.id, url=key,
                                set_at=local(2026, 11, 1, 0, 0)))
        # Wednesday 2026-11-25 19:30–21:00.
        session.add(Schedule(branch_id=branch.id, activity_type="政治夜学", rule="每周三 19:30",
                             duration_minutes=90, holiday_policy="skip",
                             created_at=local(2026, 11, 1, 0, 0),
                             updated_at=local(2026, 11, 1, 0, 0)))


async def test_a_branch_with_two_groups_and_one_webhook_hears_each_reminder_once(
        runtime, clock, engine, fake, api_sender):
    """Reminders are queued once per bound group; both of 一支部's would go through its one
    webhook. Two replicas tick and deliver: each webhook gets each reminder once."""
    seed(engine, two_groups_one_webhook)
    clock.set(local(2026, 11, 25, 18, 0))
    replicas = [(Ticker(runtime.engine, runtime.settings, clock, runtime.rules,
                        calendar=HolidayCalendar()),
                 OutboxWorker(engine, clock, {"wecom": api_sender})) for _ in range(2)]
    while clock.now() < local(2026, 11, 25, 19, 45):
        clock.advance(timedelta(minutes=5))
        for ticker, worker in replicas:
            ticker.tick()
            await worker.drain()

    for key in ("key-one", "key-two"):
        heard = said(fake, key)
        assert len(heard) == 2, heard
        assert heard[0].startswith("【活动提醒】政治夜学")
        assert heard[1].startswith("【政治夜学】现在开始")
    with Session(engine) as session:
        groups = session.exec(select(OutboxMessage).where(
            OutboxMessage.target_kind == "group")).all()
    # Still queued once for each group (and kept so), every row settled as sent.
    assert sorted((r.kind, r.target) for r in groups) == sorted(
        (kind, chat) for kind in ("reminder.group_before", "reminder.start")
        for chat in ("chat-one", "chat-one-group", "chat-two"))
    assert {r.status for r in groups} == {"sent"}


async def test_the_copy_waits_for_the_row_that_carries_it_and_fails_with_it(
        clock, engine, fake, api_sender):
    """A webhook that fails: nothing goes twice, and the second group's row neither gives
    up before nor outlives the row whose send it waits on."""
    seed(engine, two_groups_one_webhook)
    with session_scope(engine) as session:
        for chat in ("chat-one", "chat-one-group"):
            outbox.enqueue(session, platform="wecom", target_kind="group", target=chat,
                           payload=outbox.text_payload("【活动通知】党课"), now=clock.now(),
                           kind="activity.announce", dedupe_key=f"activity.announce|7|wecom:{chat}")
    fake.fail("webhook/send", "500", times=99)
    worker = OutboxWorker(engine, clock, {"wecom": api_sender})
    for _ in range(40):
        await worker.drain()
        clock.advance(timedelta(minutes=1))
    with Session(engine) as session:
        first, second = session.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    assert (first.status, first.attempts) == ("dead", MAX_ATTEMPTS)
    assert second.status == "dead" and f"#{first.id}" in second.last_error
    assert len(fake.calls("webhook/send")) == MAX_ATTEMPTS  # only the first row's tries

    fake.failures.clear()
    with session_scope(engine) as session:
        retry(session, ids=[first.id, second.id], now=clock.now())
    await worker.drain()
    # The six refused tries of the first row, then the one copy that went.
    assert said(fake, "key-one") == ["【活动通知】党课"] * (MAX_ATTEMPTS + 1)
    with Session(engine) as session:
        assert {r.status for r in session.exec(select(OutboxMessage))} == {"sent"}


async def test_a_bureau_wide_cancellation_reaches_each_branch_by_its_own_webhook(
        clock, engine, fake, api_sender):
    """A bureau-wide lecture's cancellation names no branch; each group it goes to is
    reached by the webhook of the branch it is bound to."""
    seed(engine, two_groups_one_webhook)
    with session_scope(engine) as session:
        for chat in ("chat-one", "chat-one-group", "chat-two"):
            outbox.enqueue(session, platform="wecom", target_kind="group", target=chat,
                           branch_id=None, now=clock.now(), kind="activity.cancel",
                           dedupe_key=f"activity.cancel|9|wecom:{chat}",
                           payload=outbox.text_payload("【活动取消】党课已取消。"))
    await OutboxWorker(engine, clock, {"wecom": api_sender}).drain()
    assert said(fake, "key-one") == said(fake, "key-two") == ["【活动取消】党课已取消。"]
