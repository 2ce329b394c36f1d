"""The AI bot's long connection as the official SDK runs it: it yields to a takeover, waits
for every reply's ack, answers through the outbox when a reply cannot land, tolerates one
lost heartbeat and gives up on repeated subscribe refusals. Against the strict fake."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import timedelta

import pytest
import websockets

from bot.adapters.common import WELCOME
from bot.adapters.wecom.client import WecomClient
from bot.adapters.wecom.longconn import LongConnection
from bot.adapters.wecom.senders import WecomSender
from bot.config import Settings, WecomSettings
from bot.outbox import OutboxWorker
from bot.runtime import build_runtime
from tests import fake_wecom as fw


@pytest.fixture
def fake():
    server = fw.FakeWecom().start()
    yield server
    server.stop()


@pytest.fixture
def runtime(db_url, clock, engine, fake):
    settings = Settings(database_url=db_url, _env_file=None, wecom=WecomSettings(
        enabled=True, mode="ws", bot_id=fw.BOT_ID, bot_secret=fw.BOT_SECRET, ws_url=fake.ws_url))
    return build_runtime(settings, clock=clock, engine=engine, migrate=False)


async def until(condition, what: str, seconds: float = 5.0) -> None:
    """Wait for something the server or the socket does (real I/O, not the clock)."""
    for _ in range(int(seconds / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


def frames(fake, cmd: str) -> list[dict]:
    return [f for f in fake.ws_frames if f.get("cmd") == cmd]


def callback(req_id: str, msgid: str, text: str = "帮助", *, chatid: str | None = "grp-1",
             user: str = "zhangsan", msgtype: str = "text") -> dict:
    body = fw.text_callback(msgid=msgid, user=user, text=text, chatid=chatid)
    if msgtype == "voice":  # WeCom's transcript of a spoken message
        body["msgtype"] = "voice"
        body["voice"] = {"content": body.pop("text")["content"]}
    return {"cmd": "aibot_msg_callback", "headers": {"req_id": req_id}, "body": body}


def connection(runtime, holder: str, **kw) -> LongConnection:
    kw.setdefault("ping_seconds", 0.05)
    kw.setdefault("first_backoff", 0.05)
    kw.setdefault("ack_timeout", 0.5)
    return LongConnection(runtime, runtime.settings.wecom, holder=holder, **kw)


async def test_after_a_takeover_one_client_keeps_the_bot_and_no_message_is_lost_or_doubled(
        runtime, fake, clock, monkeypatch):
    # Replica A holds the bot and does not renew its lease (its heartbeat is far off).
    a = connection(runtime, "replica-a", ping_seconds=3600, lease_seconds=90,
                   yield_seconds=0.3)
    b = connection(runtime, "replica-b", lease_seconds=0.3)
    await a.start()
    try:
        await until(lambda: a.connected, "replica A")
        fake.push(callback("r1", "m1"))
        await until(lambda: "r1" in fake.answered_callbacks, "A's answer to m1")

        # m2 is still being handled by A when the bot is taken over.
        gate = asyncio.Event()
        handle = runtime.dispatcher.handle

        async def slow(message):
            if message.message_id == "m2":
                await gate.wait()
            return await handle(message)
        monkeypatch.setattr(runtime.dispatcher, "handle", slow)
        fake.push(callback("r2", "m2", chatid="grp-2"))
        await asyncio.sleep(0.05)

        clock.advance(timedelta(minutes=5))  # A's lease lapses; B takes it and connects
        await b.start()
        await until(lambda: b.connected and fake.kicked == 1, "B's takeover")
        gate.set()  # A finishes m2 on a socket that is gone
        await until(lambda: a.takeovers == 1, "A noticing the takeover")

        # m2's answer goes out once, through the outbox, from the replica now connected.
        sender = WecomSender(WecomClient(runtime.settings.wecom, clock), runtime.engine,
                             longconn=b)
        worker = OutboxWorker(runtime.engine, clock, {"wecom": sender})
        for _ in range(50):
            if await worker.drain():
                break
            await asyncio.sleep(0.02)
        sends = [f for f in frames(fake, "aibot_send_msg") if f["body"]["chatid"] == "grp-2"]
        assert len(sends) == 1 and "党建助手可用指令" in sends[0]["body"]["markdown"]["content"]

        fake.push(callback("r3", "m3"))  # a new message reaches B only
        await until(lambda: "r3" in fake.answered_callbacks, "B's answer to m3")

        await asyncio.sleep(0.6)  # past A's hold-off: the lease (B's) keeps A off
        assert len(frames(fake, "aibot_subscribe")) == 2  # A once, B once: no trading
        assert fake.kicked == 1 and fake.connections == 1
        assert b.connected and not a.connected
        assert fake.answered_callbacks == ["r1", "r3"]  # each once; m2 by aibot_send_msg
    finally:
        await a.stop()
        await b.stop()


async def test_kicked_by_another_program_it_stays_off_and_says_so(runtime, fake, caplog):
    caplog.set_level(logging.ERROR, logger="djbot.wecom.longconn")
    logging.getLogger("djbot").propagate = True
    a = connection(runtime, "replica-a", yield_seconds=30)
    await a.start()
    try:
        await until(lambda: a.connected, "the connection")
        # Someone runs the same bot elsewhere (another SDK with the same bot_id/secret).
        async with websockets.connect(fake.ws_url) as other:
            await other.send(json.dumps({"cmd": "aibot_subscribe", "headers": {"req_id": "x"},
                                         "body": {"bot_id": fw.BOT_ID,
                                                  "secret": fw.BOT_SECRET}}))
            await other.recv()
            await until(lambda: a.takeovers == 1, "the takeover")
            await asyncio.sleep(0.5)  # main reconnected within first_backoff here
            assert len(frames(fake, "aibot_subscribe")) == 2 and not a.connected
        assert "taken over" in caplog.text
    finally:
        await a.stop()


async def test_a_refused_reply_is_sent_through_the_outbox(runtime, fake, clock):
    a = connection(runtime, "replica-a")
    await a.start()
    try:
        await until(lambda: a.connected, "the connection")
        # A callback the fake no longer counts as open: WeCom answers the reply with an
        # errcode, and djbot must not take that as delivered.
        fake.push(callback("r9", "m9", chatid="grp-9"))
        fake._open_callbacks.discard("r9")
        await until(lambda: frames(fake, "aibot_respond_msg"), "the reply attempt")
        sender = WecomSender(WecomClient(runtime.settings.wecom, clock), runtime.engine,
                             longconn=a)
        worker = OutboxWorker(runtime.engine, clock, {"wecom": sender})
        for _ in range(50):
            if await worker.drain():
                break
            await asyncio.sleep(0.02)
        [sent] = [f for f in frames(fake, "aibot_send_msg") if f["body"]["chatid"] == "grp-9"]
        assert "党建助手可用指令" in sent["body"]["markdown"]["content"]
    finally:
        await a.stop()


async def test_a_dispatcher_error_still_answers_the_member(runtime, fake, monkeypatch):
    async def broken(message):
        raise RuntimeError("database went away")
    monkeypatch.setattr(runtime.dispatcher, "handle", broken)
    a = connection(runtime, "replica-a")
    await a.start()
    try:
        await until(lambda: a.connected, "the connection")
        fake.push(callback("r4", "m4"))
        await until(lambda: "r4" in fake.answered_callbacks, "an answer")
        [respond] = [f for f in frames(fake, "aibot_respond_msg")
                     if f["headers"]["req_id"] == "r4"]
        assert "出错" in respond["body"]["stream"]["content"]
    finally:
        await a.stop()


async def test_one_lost_heartbeat_is_tolerated_two_end_the_connection(runtime, fake):
    a = connection(runtime, "replica-a", ack_timeout=0.1)
    await a.start()
    try:
        await until(lambda: a.connected, "the connection")
        fake.drop_pings = 1
        await until(lambda: fake.drop_pings == 0 and len(frames(fake, "ping")) >= 4,
                    "pings after the lost one")
        assert len(frames(fake, "aibot_subscribe")) == 1 and a.connected
        fake.drop_pings = 2
        await until(lambda: len(frames(fake, "aibot_subscribe")) == 2 and a.connected,
                    "a fresh connection after two lost heartbeats")
    finally:
        await a.stop()


async def test_repeated_subscribe_refusals_give_up_with_a_clear_error(runtime, fake, caplog):
    caplog.set_level(logging.ERROR, logger="djbot.wecom.longconn")
    logging.getLogger("djbot").propagate = True
    fake.refuse_subscribes = 99
    a = connection(runtime, "replica-a", first_backoff=0.01, max_backoff=0.02)
    await a.start()
    try:
        await until(lambda: a.gave_up is not None, "giving up")
        await asyncio.sleep(0.1)
        assert len(frames(fake, "aibot_subscribe")) == 5  # and no more
        assert "DJBOT_WECOM__BOT_SECRET" in caplog.text
    finally:
        await a.stop()


async def test_voice_is_a_message_and_enter_chat_gets_the_welcome(runtime, fake):
    a = connection(runtime, "replica-a")
    await a.start()
    try:
        await until(lambda: a.connected, "the connection")
        fake.push(callback("r5", "m5", "帮助", chatid=None, msgtype="voice"))
        await until(lambda: "r5" in fake.answered_callbacks, "the answer to a spoken 帮助")
        [respond] = [f for f in frames(fake, "aibot_respond_msg")
                     if f["headers"]["req_id"] == "r5"]
        assert "党建助手可用指令" in respond["body"]["stream"]["content"]

        fake.push({"cmd": "aibot_event_callback", "headers": {"req_id": "e1"},
                   "body": {"msgid": "e1", "aibotid": "AIBOTID", "create_time": 1,
                            "chattype": "single", "from": {"userid": "zhangsan"},
                            "msgtype": "event", "event": {"eventtype": "enter_chat"}}})
        await until(lambda: "e1" in fake.answered_callbacks, "the welcome")
        [welcome] = frames(fake, "aibot_respond_welcome_msg")
        assert welcome["body"] == {"msgtype": "text", "text": {"content": WELCOME}}
    finally:
        await a.stop()


async def test_a_database_that_fails_while_the_lease_is_renewed_only_delays_the_connection(
        runtime, fake, monkeypatch):
    # The lease lives in the database: a moment's outage (PostgreSQL failing over) while it
    # was renewed ended the connection's task for good, and the bot answered nobody until
    # djbot was restarted. It is tried again, as a dropped socket is.
    from sqlalchemy.exc import OperationalError

    a = connection(runtime, "replica-a", lease_seconds=0.3)
    real_lease, failures = a._lease, []

    def flaky_lease(*, release: bool = False) -> bool:
        if not release and len(failures) < 2:
            failures.append(1)
            raise OperationalError("SELECT", {}, Exception("server closed the connection"))
        return real_lease(release=release)

    monkeypatch.setattr(a, "_lease", flaky_lease)
    await a.start()
    try:
        await until(lambda: a.connected, "the connection once the database is back")
        fake.push(callback("req-1", "after-outage"))
        await until(lambda: frames(fake, "aibot_respond_msg"), "the reply")
    finally:
        await a.stop()


@pytest.mark.parametrize("spelt", ["zhangsan", "ZhangSan"])
async def test_a_group_reply_sent_again_as_a_message_of_its_own_mentions_who_asked(
        spelt, runtime, fake, clock):
    """A reply WeCom refused goes again by aibot_send_msg: a message of its own in the
    group, not attached to what was asked. It names who asked, as @张三, however WeCom
    spells his userid (it ignores case, path/90195: ZhangSan is the roster's zhangsan;
    the name was left off)."""
    from tests.factories import make_branch, make_member, seed

    seed(runtime.engine, lambda session: make_member(session, make_branch(session, "一支部"),
                                                     "张三", wecom="zhangsan"))
    a = connection(runtime, "replica-a")
    await a.start()
    try:
        await until(lambda: a.connected, "the connection")
        fake.push(callback("r10", "m10", chatid="grp-9", user=spelt))
        fake._open_callbacks.discard("r10")  # WeCom refuses the reply with an errcode
        await until(lambda: frames(fake, "aibot_respond_msg"), "the reply attempt")
        sender = WecomSender(WecomClient(runtime.settings.wecom, clock), runtime.engine,
                             longconn=a)
        worker = OutboxWorker(runtime.engine, clock, {"wecom": sender})
        for _ in range(50):
            if await worker.drain():
                break
            await asyncio.sleep(0.02)
        [sent] = [f for f in frames(fake, "aibot_send_msg") if f["body"]["chatid"] == "grp-9"]
        assert sent["body"]["markdown"]["content"].endswith("\n@张三")
    finally:
        await a.stop()
