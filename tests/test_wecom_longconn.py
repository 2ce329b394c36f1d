"""The AI bot's long connection against the fake WeCom's WebSocket, and its lease."""

from __future__ import annotations

import asyncio

import pytest

from bot.adapters.wecom.client import WecomClient
from bot.adapters.wecom.longconn import LongConnection
from bot.adapters.wecom.senders import WecomSender
from bot.config import Settings, WecomSettings
from bot.runtime import build_runtime
from bot.sender import Outbound
from tests.factories import bind_chat, make_branch, seed
from tests import fake_wecom as fw


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
