"""The AI bot's long connection against the fake WeCom's WebSocket, its lease, and the
outbox rows that wait for it: which wait (the chat is known), and which end (never)."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from bot import cli
from bot.adapters.wecom.client import WecomClient
from bot.adapters.wecom.longconn import LongConnection
from bot.adapters.wecom.senders import WecomSender
from bot.config import Settings, WecomSettings
from bot.core import Reply
from bot.outbox import MAX_ATTEMPTS, OutboxWorker
from bot.runtime import build_runtime
from bot.sender import Outbound
from storage import outbox
from storage.db import session_scope
from storage.models import OutboxMessage, PushChannel
from tests import fake_wecom as fw
from tests.factories import bind_chat, make_branch, seed


@pytest.fixture
def fake():
    server = fw.FakeWecom().start()
    yield server
    server.stop()


async def until(condition, what: str, seconds: float = 5.0) -> None:
    """Wait for something the server or the socket does (real I/O, not the clock)."""
    for _ in range(int(seconds / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


def frames(fake, cmd: str) -> list[dict]:
    return [f for f in fake.ws_frames if f.get("cmd") == cmd]


@pytest.fixture
def ws_runtime(db_url, clock, engine, fake):
    settings = Settings(database_url=db_url, _env_file=None, wecom=WecomSettings(
        enabled=True, mode="ws", bot_id=fw.BOT_ID, bot_secret=fw.BOT_SECRET, ws_url=fake.ws_url))
    return build_runtime(settings, clock=clock, engine=engine, migrate=False)


async def test_subscribes_answers_callbacks_pings_and_sends(ws_runtime, fake):
    conn = LongConnection(ws_runtime, ws_runtime.settings.wecom, ping_seconds=0.05,
                          first_backoff=0.05)
    await conn.start()
    try:
        await until(lambda: conn.connected, "subscription")
        [subscribe] = frames(fake, "aibot_subscribe")
        assert subscribe["body"] == {"bot_id": fw.BOT_ID, "secret": fw.BOT_SECRET}

        fake.push({"cmd": "aibot_msg_callback", "headers": {"req_id": "req-7"},
                   "body": fw.text_callback(msgid="ws-1", user="zhangsan", text="帮助")})
        await until(lambda: frames(fake, "aibot_respond_msg"), "the reply")
        [respond] = frames(fake, "aibot_respond_msg")
        assert respond["headers"]["req_id"] == "req-7"  # the same req_id answers it
        assert respond["body"]["stream"]["finish"] is True
        assert "党建助手可用指令" in respond["body"]["stream"]["content"]

        await until(lambda: len(frames(fake, "ping")) >= 2, "heartbeats")

        await conn.send_markdown("grp-1", "**今晚夜学**")
        [sent] = frames(fake, "aibot_send_msg")
        assert sent["body"] == {"chatid": "grp-1", "msgtype": "markdown",
                                "markdown": {"content": "**今晚夜学**"}}

        # The outbox's group sends go through the socket when this replica holds it.
        branch_id = seed(ws_runtime.engine,
                         lambda session: bind_chat(session, make_branch(session, "一支部"),
                                                   "grp-7").branch_id)
        sender = WecomSender(WecomClient(ws_runtime.settings.wecom, ws_runtime.clock),
                             ws_runtime.engine, longconn=conn)
        result = await sender.send(Outbound(id=1, platform="wecom", target_kind="group",
                                            target=str(branch_id), branch_id=branch_id,
                                            kind="reminder.group", payload={"text": "夜学"}))
        assert result.ok
        assert frames(fake, "aibot_send_msg")[-1]["body"]["chatid"] == "grp-7"

        fake.drop_connections()  # the platform kicks us out: reconnect with backoff
        await until(lambda: len(frames(fake, "aibot_subscribe")) == 2 and conn.connected,
                    "the reconnection")
    finally:
        await conn.stop()
    assert not conn.connected


async def test_only_the_lease_holder_connects(ws_runtime, fake, clock):
    first = LongConnection(ws_runtime, ws_runtime.settings.wecom, holder="replica-a")
    second = LongConnection(ws_runtime, ws_runtime.settings.wecom, holder="replica-b",
                            lease_seconds=90)
    await first.start()
    try:
        await until(lambda: first.connected, "the first replica")
        assert await asyncio.to_thread(second._lease) is False
        assert fake.connections == 1
    finally:
        await first.stop()
    # A stopped holder releases the lease at once for the next replica.
    assert await asyncio.to_thread(second._lease) is True



async def test_mentions_render_as_names_where_wecom_documents_no_userid_mention(
        ws_runtime, fake):
    from bot.adapters.wecom.senders import render_group, render_markdown
    from tests.factories import make_member

    payload = {"text": "请按时参加夜学", "markdown": True, "mentions": ["zhangsan"]}
    # The group webhook documents <@userid> (path/99110)…
    assert render_group(payload)[0]["markdown"]["content"].endswith("<@zhangsan>")
    # …the AI bot's stream and aibot_send_msg do not: no literal <@zhangsan> there.
    assert "<@" not in render_markdown(payload) and "zhangsan" not in render_markdown(payload)

    conn = LongConnection(ws_runtime, ws_runtime.settings.wecom, ping_seconds=0.05,
                          first_backoff=0.05)
    branch_id = seed(ws_runtime.engine, lambda session: bind_chat(
        session, make_branch(session, "一支部"), "grp-8").branch_id)
    seed(ws_runtime.engine, lambda session: make_member(session, None, "张三", wecom="zhangsan"))
    await conn.start()
    try:
        await until(lambda: conn.connected, "subscription")
        sender = WecomSender(WecomClient(ws_runtime.settings.wecom, ws_runtime.clock),
                             ws_runtime.engine, longconn=conn)
        result = await sender.send(Outbound(id=2, platform="wecom", target_kind="group",
                                            target=str(branch_id), branch_id=branch_id,
                                            kind="reminder.group", payload=payload))
        assert result.ok
        content = frames(fake, "aibot_send_msg")[-1]["body"]["markdown"]["content"]
        assert content.endswith("@张三") and "<@" not in content
    finally:
        await conn.stop()


# --- the outbox in long-connection mode: "not now" waits, "never" ends ----------------------


def queue_reminder(runtime, branch_id: int, text: str = "今晚 19:30 政治夜学，请准时参加") -> None:
    with session_scope(runtime.engine) as session:
        outbox.enqueue(session, platform="wecom", target_kind="group", target=str(branch_id),
                       branch_id=branch_id, payload=Reply(text).to_dict(),
                       now=runtime.clock.now(), kind="reminder.group")


def the_row(runtime) -> OutboxMessage:
    with Session(runtime.engine) as session:
        [row] = session.exec(select(OutboxMessage)).all()
        return row


def outbox_listing(runtime, monkeypatch, *args: str) -> str:
    """What the operator reads from `djbot outbox`."""
    monkeypatch.setattr(cli, "get_runtime", lambda *a, **k: runtime)
    return CliRunner().invoke(cli.app, ["outbox", *args]).output


def outbox_worker(runtime, conn: LongConnection) -> OutboxWorker:
    sender = WecomSender(WecomClient(runtime.settings.wecom, runtime.clock), runtime.engine,
                         longconn=conn)
    return OutboxWorker(runtime.engine, runtime.clock, {"wecom": sender})


def sends_to(fake, chat_id: str) -> list[dict]:
    return [f for f in frames(fake, "aibot_send_msg") if f["body"]["chatid"] == chat_id]


async def drain_connected(conn: LongConnection, worker: OutboxWorker) -> None:
    """One outbox pass while this replica holds the long connection, then let it go."""
    await conn.start()
    try:
        await until(lambda: conn.connected, "subscription")
        await worker.drain()
    finally:
        await conn.stop()


async def beats(worker: OutboxWorker, clock, *, minutes: float, until=None) -> None:
    """The service's beat for `minutes` of the injected clock: drain, then 30 s on."""
    end = clock.now() + timedelta(minutes=minutes)
    while clock.now() < end and not (until and until()):
        await worker.drain()
        clock.advance(timedelta(seconds=30))


@pytest.mark.parametrize("connected", [True, False], ids=["connected", "not-connected"])
async def test_a_group_with_no_known_chat_is_dead_at_once_with_what_to_do(
        ws_runtime, fake, monkeypatch, connected):
    branch_id = seed(ws_runtime.engine, lambda s: make_branch(s, "一支部").id)  # never bound
    conn = LongConnection(ws_runtime, ws_runtime.settings.wecom, ping_seconds=0.05)
    if connected:
        await conn.start()
        await until(lambda: conn.connected, "subscription")
    try:
        queue_reminder(ws_runtime, branch_id)
        await outbox_worker(ws_runtime, conn).drain()
    finally:
        await conn.stop()

    row = the_row(ws_runtime)
    assert (row.status, row.attempts) == ("dead", 1)
    assert frames(fake, "aibot_send_msg") == []
    listing = outbox_listing(ws_runtime, monkeypatch, "--status", "dead")
    assert f"#{row.id} dead reminder.group" in listing and "绑定" in listing, listing


async def test_a_row_waits_for_the_long_connection_without_using_up_tries(
        ws_runtime, fake, clock):
    branch_id = seed(ws_runtime.engine, lambda s: bind_chat(s, make_branch(s, "一支部"),
                                                            "grp-7").branch_id)
    conn = LongConnection(ws_runtime, ws_runtime.settings.wecom, ping_seconds=0.05)
    worker = outbox_worker(ws_runtime, conn)
    queue_reminder(ws_runtime, branch_id)
    # No replica holds the connection for 50 minutes (a restart, a takeover, WeCom down).
    await beats(worker, clock, minutes=50)
    row = the_row(ws_runtime)
    assert row.status == "pending" and row.attempts == 0

    await drain_connected(conn, worker)
    assert the_row(ws_runtime).status == "sent"
    [sent] = sends_to(fake, "grp-7")
    assert "政治夜学" in sent["body"]["markdown"]["content"]


@pytest.mark.parametrize("kind", ["reminder", "reply"])
async def test_a_row_the_long_connection_never_comes_back_for_is_given_up_after_an_hour(
        ws_runtime, fake, clock, monkeypatch, caplog, kind):
    caplog.set_level(logging.WARNING, logger="djbot")
    logging.getLogger("djbot").propagate = True
    branch_id = seed(ws_runtime.engine, lambda s: bind_chat(s, make_branch(s, "一支部"),
                                                            "grp-7").branch_id)
    conn = LongConnection(ws_runtime, ws_runtime.settings.wecom)  # not connected for now
    worker = outbox_worker(ws_runtime, conn)
    queued = clock.now()
    if kind == "reminder":
        queue_reminder(ws_runtime, branch_id)
    else:  # an answer whose ack never came, to go by aibot_send_msg to its chat
        with session_scope(ws_runtime.engine) as session:
            outbox.enqueue(session, platform="wecom", target_kind="group", target="grp-7",
                           payload=Reply("今天已签到 12 人").to_dict(), now=clock.now(),
                           kind="reply")

    await beats(worker, clock, minutes=59)
    assert the_row(ws_runtime).status == "pending"
    await beats(worker, clock, minutes=120, until=lambda: the_row(ws_runtime).status != "pending")

    row = the_row(ws_runtime)
    assert row.status == "dead"
    assert timedelta(hours=1) <= clock.now() - queued <= timedelta(hours=1, minutes=1)
    listing = outbox_listing(ws_runtime, monkeypatch, "--status", "dead")
    assert f"#{row.id} dead" in listing and "long connection unavailable" in listing, listing
    assert f"outbox {row.id} is dead" in caplog.text and "unavailable" in caplog.text

    # `djbot outbox retry` gives it a fresh hour: it waits again rather than dying at once,
    # and goes when the connection is back.
    monkeypatch.setattr(cli, "get_runtime", lambda *a, **k: ws_runtime)
    assert CliRunner().invoke(cli.app, ["outbox", "retry", str(row.id)]).exit_code == 0
    await worker.drain()
    assert the_row(ws_runtime).status == "pending"
    clock.advance(timedelta(seconds=30))
    await drain_connected(conn, worker)
    assert the_row(ws_runtime).status == "sent" and len(sends_to(fake, "grp-7")) == 1


@pytest.mark.parametrize("wecom", ["refuses", "stays-silent"])
async def test_a_chat_the_long_connection_cannot_reach_is_dead_after_the_usual_tries(
        ws_runtime, fake, clock, monkeypatch, wecom):
    branch_id = seed(ws_runtime.engine, lambda s: bind_chat(s, make_branch(s, "一支部"),
                                                            "grp-gone").branch_id)
    if wecom == "refuses":  # the bot was removed from the group
        fake.unreachable_chats.add("grp-gone")
    else:
        fake.drop_send_acks = 99
    conn = LongConnection(ws_runtime, ws_runtime.settings.wecom, ping_seconds=0.05,
                          ack_timeout=0.1)
    await conn.start()
    try:
        await until(lambda: conn.connected, "subscription")
        queue_reminder(ws_runtime, branch_id)
        await beats(outbox_worker(ws_runtime, conn), clock, minutes=60,
                    until=lambda: the_row(ws_runtime).status != "pending")
    finally:
        await conn.stop()

    row = the_row(ws_runtime)
    assert (row.status, row.attempts) == ("dead", MAX_ATTEMPTS)
    assert len(sends_to(fake, "grp-gone")) == MAX_ATTEMPTS  # one send a try, then no more
    listing = outbox_listing(ws_runtime, monkeypatch, "--status", "dead")
    reason = "86003" if wecom == "refuses" else "no ack"
    assert f"#{row.id} dead" in listing and reason in listing, listing


async def test_a_send_cut_off_by_a_dropped_socket_waits_for_the_next_connection(
        ws_runtime, fake, clock):
    branch_id = seed(ws_runtime.engine, lambda s: bind_chat(s, make_branch(s, "一支部"),
                                                            "grp-7").branch_id)
    fake.drop_send_acks = 1  # the socket goes before WeCom answers the first send
    conn = LongConnection(ws_runtime, ws_runtime.settings.wecom, ping_seconds=0.05,
                          first_backoff=0.05, ack_timeout=5)
    await conn.start()
    try:
        await until(lambda: conn.connected, "subscription")
        queue_reminder(ws_runtime, branch_id)
        worker = outbox_worker(ws_runtime, conn)
        delivery = asyncio.create_task(worker.drain())
        await until(lambda: sends_to(fake, "grp-7"), "the first send")
        fake.drop_connections()
        await delivery  # the worker carries on; the row is not left claimed

        row = the_row(ws_runtime)
        assert (row.status, row.attempts) == ("pending", 0)
        await until(lambda: conn.connected, "the reconnection")
        clock.advance(timedelta(seconds=30))
        await worker.drain()
    finally:
        await conn.stop()
    assert the_row(ws_runtime).status == "sent"
    # Sent again on the new socket: WeCom may have shown the first (at least once).
    assert len(sends_to(fake, "grp-7")) == 2


async def test_an_activity_announced_to_each_group_of_a_branch_reaches_each(
        ws_runtime, fake, clock):
    """A branch with two bound groups (the branch's, and its first party group's): a bureau
    lecture is announced to each, once; a reminder naming the branch goes to the first
    bound; a message with no branch never goes to the leaders' group."""
    def build(session):
        branch = make_branch(session, "一支部")
        bind_chat(session, None, "leaders-1", leaders=True)
        bind_chat(session, branch, "grp-a")
        bind_chat(session, branch, "grp-b")
        return branch.id
    branch_id = seed(ws_runtime.engine, build)
    with session_scope(ws_runtime.engine) as session:
        for chat in ("grp-a", "grp-b"):
            outbox.enqueue(session, platform="wecom", target_kind="group", target=chat,
                           branch_id=branch_id, payload=Reply(f"党课通知 {chat}").to_dict(),
                           now=clock.now(), kind="activity.announce")
        outbox.enqueue(session, platform="wecom", target_kind="group", target="grp-gone",
                       branch_id=None, payload=Reply("无主消息").to_dict(), now=clock.now(),
                       kind="activity.announce")
    queue_reminder(ws_runtime, branch_id)
    conn = LongConnection(ws_runtime, ws_runtime.settings.wecom, ping_seconds=0.05)
    await drain_connected(conn, outbox_worker(ws_runtime, conn))

    def said(chat: str) -> list[str]:
        return [f["body"]["markdown"]["content"] for f in sends_to(fake, chat)]
    assert said("grp-a") == ["党课通知 grp-a", "今晚 19:30 政治夜学，请准时参加"]
    assert said("grp-b") == ["党课通知 grp-b"]
    assert said("leaders-1") == []


async def test_two_groups_with_their_own_connection_never_share_the_branch_webhook(
        ws_runtime, fake, clock):
    """A branch with two bound groups and one push webhook, by the long connection: the
    webhook posts into one of the two, so while the connection is away each group's row
    waits for it instead, and then each group hears the announcement once."""
    def build(session):
        branch = make_branch(session, "一支部")
        bind_chat(session, branch, "grp-a")
        bind_chat(session, branch, "grp-b")
        session.add(PushChannel(platform="wecom", branch_id=branch.id, url="key-one",
                                set_at=clock.now()))
        return branch.id
    branch_id = seed(ws_runtime.engine, build)
    with session_scope(ws_runtime.engine) as session:
        for chat in ("grp-a", "grp-b"):
            outbox.enqueue(session, platform="wecom", target_kind="group", target=chat,
                           branch_id=branch_id, payload=Reply("党课通知").to_dict(),
                           now=clock.now(), kind="activity.announce",
                           dedupe_key=f"activity.announce|7|wecom:{chat}")
    settings = ws_runtime.settings.wecom.model_copy(update={"api_base": fake.base_url})
    conn = LongConnection(ws_runtime, settings, ping_seconds=0.05)
    sender = WecomSender(WecomClient(settings, clock), ws_runtime.engine, longconn=conn)
    worker = OutboxWorker(ws_runtime.engine, clock, {"wecom": sender})

    await beats(worker, clock, minutes=2)  # this replica does not hold the connection
    assert fake.calls("webhook/send") == []
    await drain_connected(conn, worker)
    assert [len(sends_to(fake, chat)) for chat in ("grp-a", "grp-b")] == [1, 1]
    assert fake.calls("webhook/send") == []
    with Session(ws_runtime.engine) as session:
        assert {r.status for r in session.exec(select(OutboxMessage))} == {"sent"}
