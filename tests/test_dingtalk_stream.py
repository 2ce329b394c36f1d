"""DingTalk Stream mode, end to end: djbot replicas run in their own processes (the SDK
reads its endpoint at import), connect to a local fake gateway with the real
dingtalk-stream package, and answer robot messages pushed as Stream frames."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from sqlmodel import Session, SQLModel, func, select

from storage import db
from storage.models import (
    Attendance,
    AttendanceStatus,
    Lease,
    OutboxMessage,
    ProcessedMessage,
    Role,
)
from tests.factories import make_branch, make_member, seed
from tests.fake_dingtalk import FakeDingtalk, robot_message

ROOT = Path(__file__).resolve().parent.parent
GROUP = "cidStreamGroup"


@pytest.fixture
def fake(clock):
    with FakeDingtalk(clock=clock) as server:
        yield server


@pytest.fixture
def database(tmp_path):
    url = f"sqlite:///{tmp_path / 'stream.db'}"
    engine = db.make_engine(url)
    SQLModel.metadata.create_all(engine)

    def build(s):
        branch = make_branch(s, "第一支部")
        make_member(s, branch, "王书记", role=Role.SECRETARY, dingtalk="sec")
        for i in range(1, 23):
            make_member(s, branch, f"党员{i:02d}", dingtalk=f"m{i:02d}")
    seed(engine, build)
    yield url, engine
    engine.dispose()


class Replicas:
    """Starts djbot replicas as subprocesses and stops them at the end of the test."""

    def __init__(self, fake: FakeDingtalk, url: str, tmp_path: Path) -> None:
        self.fake, self.url, self.tmp_path = fake, url, tmp_path
        self.processes: list[subprocess.Popen] = []

    def start(self, *, lease_seconds: float | None = None) -> subprocess.Popen:
        env = {k: v for k, v in os.environ.items() if not k.startswith("DJBOT_")}
        env.update({
            "DINGTALK_OPENAPI_ENDPOINT": self.fake.base_url,
            "DJBOT_DATABASE_URL": self.url,
            "DJBOT_TICK_SECONDS": "1",
            "DJBOT_DINGTALK__ENABLED": "true",
            "DJBOT_DINGTALK__MODE": "stream",
            "DJBOT_DINGTALK__APP_KEY": self.fake.app_key,
            "DJBOT_DINGTALK__APP_SECRET": self.fake.app_secret,
            "DJBOT_DINGTALK__ROBOT_CODE": "ding-robot",
            "DJBOT_DINGTALK__API_BASE": self.fake.base_url,
            "PYTHONPATH": str(ROOT),
        })
        if lease_seconds is not None:
            env["DJBOT_TEST_LEASE_SECONDS"] = str(lease_seconds)
        log = open(self.tmp_path / f"replica{len(self.processes)}.log", "wb")
        process = subprocess.Popen([sys.executable, str(ROOT / "tests/dingtalk_stream_replica.py")],
                                   env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        self.processes.append(process)
        return process

    def stop(self, process: subprocess.Popen) -> None:
        process.terminate()  # uvicorn shuts down gracefully: the lease is given up
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def logs(self) -> str:
        logs = sorted(self.tmp_path.glob("replica*.log"))
        return "\n".join(p.read_text(errors="replace") for p in logs)


@pytest.fixture
def replicas(fake, database, tmp_path):
    group = Replicas(fake, database[0], tmp_path)
    yield group
    for process in group.processes:
        if process.poll() is None:
            group.stop(process)


class StreamChat:
    """Pushes robot messages through the fake gateway and waits for their acks."""

    def __init__(self, fake: FakeDingtalk, replicas: Replicas) -> None:
        self.fake, self.replicas = fake, replicas
        self.sent = 0

    def push(self, sender: str, text: str, *, msg_id: str | None = None, private: bool = False,
             webhook_ttl_ms: int = 5_400_060) -> tuple[str, str]:
        self.sent += 1
        msg_id = msg_id or f"smsg{self.sent:03d}"
        payload = robot_message(msg_id=msg_id, sender=sender, text=text,
                                now_ms=int(time.time() * 1000), conversation=GROUP,
                                private=private, webhook=self.fake.session_webhook(msg_id),
                                webhook_ttl_ms=webhook_ttl_ms)
        return msg_id, self.fake.push(payload)

    def wait_acked(self, *frames: str) -> None:
        assert self.fake.wait_for(lambda: all(self.fake.acked(f) for f in frames), 30), \
            self.replicas.logs()
        for frame in frames:
            assert self.fake.acked(frame)["code"] == 200

    def say(self, sender: str, text: str, **kw) -> str:
        msg_id, frame = self.push(sender, text, **kw)
        self.wait_acked(frame)
        return self.reply(msg_id)

    def reply(self, msg_id: str) -> str:
        assert self.fake.wait_for(lambda: self.fake.delivered(f"/session/{msg_id}"), 10), \
            self.replicas.logs()
        return self.fake.delivered(f"/session/{msg_id}")[0].body["markdown"]["text"]


def _outbox(engine) -> list[tuple]:
    with Session(engine) as s:
        return [(r.kind, r.status, r.attempts, r.last_error) for r in s.exec(select(OutboxMessage))]


def _count(engine, model, *where) -> int:
    with Session(engine) as s:
        return s.exec(select(func.count()).select_from(model).where(*where)).one()


@pytest.mark.timeout(180)
def test_night_study_over_stream_mode(fake, database, replicas):
    _, engine = database
    replicas.start()
    assert fake.wait_for(lambda: fake.connections == 1, 60), replicas.logs()
    chat = StreamChat(fake, replicas)

    assert "已将本群绑定到「第一支部」" in chat.say("sec", "绑定 第一支部")
    assert "政治夜学" in chat.say("sec", "开始 政治夜学")

    # 20 check-ins and 5 redeliveries arrive at once; the SDK handles frames concurrently.
    checkins = {f"m{i:02d}": chat.push(f"m{i:02d}", "签到") for i in range(1, 21)}
    again = [chat.push(f"m{i:02d}", "签到", msg_id=checkins[f"m{i:02d}"][0])[1] for i in range(1, 6)]
    leave_id, leave_frame = chat.push("m21", "请假 家里有事")
    chat.wait_acked(*(frame for _, frame in checkins.values()), *again, leave_frame)

    assert _count(engine, Attendance, Attendance.status == AttendanceStatus.PRESENT) == 20
    assert _count(engine, Attendance, Attendance.status == AttendanceStatus.LEAVE) == 1
    for sender, (msg_id, _) in checkins.items():
        # A redelivery is counted once and, its answer gone from this replica, not answered.
        assert fake.wait_for(lambda: len(fake.delivered(f"/session/{msg_id}")) == 1, 10), \
            (sender, len(fake.delivered(f"/session/{msg_id}")), replicas.logs())
        bodies = [r.body for r in fake.delivered(f"/session/{msg_id}")]
        assert bodies[0]["at"]["atUserIds"] == [sender]
        # Sent by djbot's async client, not the SDK's blocking reply_text (requests).
        (first, *_) = fake.delivered(f"/session/{msg_id}")
        assert first.headers["user-agent"].startswith("python-httpx")
        assert "签到成功" in bodies[0]["markdown"]["text"]
    time.sleep(1)  # time for a second answer to a redelivery, should one come
    assert [len(fake.delivered(f"/session/{m}")) for m, _ in checkins.values()] == [1] * 20
    assert "已请假" in chat.reply(leave_id)

    answer = chat.say("sec", "未签到", private=True)
    missing = answer.splitlines()[0]
    assert set(missing.split("：", 1)[1].split("、")) == {"王书记", "党员22"}

    # The gateway drops the connection; the replica reconnects by itself.
    fake.drop_connection()
    assert fake.wait_for(lambda: fake.connections == 2, 30), replicas.logs()
    assert "你已签到" in chat.say("m01", "签到")

    # The gateway's SYSTEM frames: a ping is acked with its data; a disconnect closes the
    # socket and the replica connects again.
    ping = fake.system("ping")
    assert fake.wait_for(lambda: fake.acked(ping), 10), replicas.logs()
    assert fake.acked(ping)["code"] == 200
    fake.system("disconnect")
    assert fake.wait_for(lambda: fake.connections == 3, 30), replicas.logs()
    assert "党建助手可用指令" in chat.say("m02", "帮助")

    # An expired sessionWebhook: the reply goes through the outbox and the proactive API, once.
    late_id, late_frame = chat.push("m22", "签到", webhook_ttl_ms=-600_000)
    _, late_again = chat.push("m22", "签到", msg_id=late_id, webhook_ttl_ms=-600_000)
    chat.wait_acked(late_frame, late_again)
    assert fake.wait_for(lambda: fake.delivered("/v1.0/robot/groupMessages/send"), 30), \
        f"outbox {_outbox(engine)}; replica log:\n{replicas.logs()}"
    (proactive,) = fake.delivered("/v1.0/robot/groupMessages/send")
    assert proactive.body["openConversationId"] == GROUP and "签到成功" in proactive.body["msgParam"]
    assert fake.posts(f"/session/{late_id}") == []
    # One outbox row for both deliveries, and it is marked sent: no second copy can follow.
    # The worker records `sent` only after the platform has answered, so poll the database
    # (wait_for re-checks every 0.2 s) until then, within a deadline.
    assert _count(engine, OutboxMessage) == 1
    assert fake.wait_for(
        lambda: _count(engine, OutboxMessage, OutboxMessage.status == "sent") == 1, 10), \
        f"outbox {_outbox(engine)}"
    assert "Traceback" not in replicas.logs()


@pytest.mark.timeout(180)
def test_only_the_lease_holder_connects_and_another_takes_over(fake, database, replicas):
    _, engine = database
    first = replicas.start(lease_seconds=3)
    assert fake.wait_for(lambda: fake.connections == 1, 60), replicas.logs()
    second = replicas.start(lease_seconds=3)
    # Give the standby several lease periods: it must not open a second connection.
    assert not fake.wait_for(lambda: fake.connections > 1, 6)
    assert len(fake.posts("/v1.0/gateway/connections/open")) == 1
    with Session(engine) as s:
        # (Each running service also keeps a "service:…" lease; only the stream's is held once.)
        (held,) = s.exec(select(Lease).where(Lease.name == "dingtalk-stream")).all()
        assert held.name == "dingtalk-stream" and str(first.pid) in held.holder

    replicas.stop(first)
    assert fake.wait_for(lambda: fake.connections == 2, 30), replicas.logs()
    with Session(engine) as s:
        assert str(second.pid) in s.exec(
            select(Lease).where(Lease.name == "dingtalk-stream")).one().holder
    chat = StreamChat(fake, replicas)
    assert "党建助手可用指令" in chat.say("m01", "帮助")


# --- the frame handler on its own (no connection, so the SDK's endpoint does not matter) ---


async def test_stream_handler_acks_after_commit_and_refuses_what_it_cannot_use(runtime, fake):
    import dingtalk_stream

    from bot import metrics
    from bot.adapters.dingtalk.client import DingtalkClient
    from bot.adapters.dingtalk.senders import Replier
    from bot.adapters.dingtalk.stream import make_handler
    from storage.models import ProcessedMessage

    # The fake's sessionWebhook is on its own host, which djbot trusts only as the API base.
    settings = runtime.settings.dingtalk.model_copy(update={"api_base": fake.base_url})
    client = DingtalkClient(settings, runtime.clock)
    handler = make_handler(dingtalk_stream, runtime, Replier(client, runtime.engine, runtime.clock))
    now_ms = int(runtime.clock.now().timestamp() * 1000)

    def frame(data):
        fake.push(data)
        return dingtalk_stream.CallbackMessage.from_dict(fake.frames.get_nowait())

    text = robot_message(msg_id="f1", sender="nobody", text="帮助", now_ms=now_ms,
                         webhook=fake.session_webhook("f1"))
    ack = await handler.raw_process(frame(text))
    assert ack.code == 200
    assert _count(runtime.engine, ProcessedMessage) == 1  # committed before the ack
    await handler.drain()
    assert "党建助手可用指令" in fake.delivered("/session/f1")[0].body["markdown"]["text"]

    picture = dict(text, msgId="f2", msgtype="picture", content={"downloadCode": "x"})
    assert (await handler.raw_process(frame(picture))).code == 200  # acked, nothing to do
    # Words sent with a picture come as richText: read (they were acked and dropped).
    rich = dict(text, msgId="f4", msgtype="richText", sessionWebhook=fake.session_webhook("f4"),
                content={"richText": [{"text": " 帮助"}, {"downloadCode": "x",
                                                          "type": "picture"}]})
    del rich["text"]
    assert (await handler.raw_process(frame(rich))).code == 200
    assert _count(runtime.engine, ProcessedMessage) == 2
    await handler.drain()
    assert "党建助手可用指令" in fake.delivered("/session/f4")[0].body["markdown"]["text"]
    pictures_only = dict(rich, msgId="f5", content={"richText": [{"downloadCode": "y"}]})
    assert (await handler.raw_process(frame(pictures_only))).code == 200  # nothing to read
    malformed = ("djbot_rejected_total", {"platform": "dingtalk", "reason": "malformed"})
    refused_before = metrics.REGISTRY.get_sample_value(*malformed) or 0
    stranger = {k: v for k, v in text.items() if k != "senderStaffId"} | {"msgId": "f3"}
    assert (await handler.raw_process(frame(stranger))).code == 400
    assert metrics.REGISTRY.get_sample_value(*malformed) == refused_before + 1
    assert _count(runtime.engine, ProcessedMessage) == 2
    await client.aclose()


def _stream_handler(runtime, fake, **replier):
    import dingtalk_stream

    from bot.adapters.dingtalk.client import DingtalkClient
    from bot.adapters.dingtalk.senders import Replier
    from bot.adapters.dingtalk.stream import make_handler

    settings = runtime.settings.dingtalk.model_copy(update={"api_base": fake.base_url})
    client = DingtalkClient(settings, runtime.clock)
    handler = make_handler(dingtalk_stream, runtime,
                           Replier(client, runtime.engine, runtime.clock, **replier))

    async def deliver(data) -> int:
        fake.push(data)
        frame = dingtalk_stream.CallbackMessage.from_dict(fake.frames.get_nowait())
        code = (await handler.raw_process(frame)).code
        await handler.drain()
        return code

    return deliver, client


async def test_a_stream_reply_for_the_outbox_is_queued_before_the_ack(runtime, fake):
    """A private message whose sessionWebhook has expired: its reply can only go by the
    outbox, and is committed with the message, before the ack. A database that fails just
    after the ack (here: every write the replier makes of its own) loses nothing."""
    async def database_gone(*_args):
        raise ConnectionError("the database went away after the ack")

    deliver, client = _stream_handler(runtime, fake, write=database_gone)
    now_ms = int(runtime.clock.now().timestamp() * 1000)
    text = robot_message(msg_id="q1", sender="nobody", text="帮助", now_ms=now_ms,
                         private=True, webhook=fake.session_webhook("q1"),
                         webhook_ttl_ms=-600_000)
    assert await deliver(text) == 200
    assert await deliver(text) == 200  # redelivered: the same row, not a second
    with Session(runtime.engine) as s:
        [row] = s.exec(select(OutboxMessage)).all()
    assert (row.kind, row.target_kind, row.target) == ("reply", "user", "nobody")
    assert "党建助手可用指令" in row.payload["text"]
    assert fake.posts("/session/q1") == []
    await client.aclose()


async def test_a_stream_redelivery_is_answered_once_more_and_only_soon(runtime, fake):
    """The gateway redelivers what it holds no ack for. The replica that answered it knows
    its reply went and sends nothing; one that does not know (restarted since) sends it
    once more, since the reply may not have gone; later redeliveries post nothing."""
    deliver, client = _stream_handler(runtime, fake)
    now_ms = int(runtime.clock.now().timestamp() * 1000)
    text = robot_message(msg_id="r1", sender="nobody", text="帮助", now_ms=now_ms,
                         webhook=fake.session_webhook("r1"))
    for _ in range(2):
        assert await deliver(text) == 200
    assert len(fake.delivered("/session/r1")) == 1
    restarted, other = _stream_handler(runtime, fake)
    for _ in range(2):
        assert await restarted(text) == 200
    runtime.clock.advance(minutes=10)
    replayed, third = _stream_handler(runtime, fake)  # one more that never answered it
    assert await replayed(text) == 200
    bodies = [r.body for r in fake.delivered("/session/r1")]
    assert len(bodies) == 2 and bodies[0] == bodies[1]
    assert _count(runtime.engine, ProcessedMessage) == 1
    for each in (client, other, third):
        await each.aclose()


async def test_the_gateways_ping_is_answered_with_its_data_and_is_no_warning(runtime):
    """The gateway pings the connection (SYSTEM topic "ping") to see that it is alive: the
    answer is a 200 ack carrying the ping's own data. A ping is routine, so it is not a
    warning in the operator's log (each one was, with the whole frame); a disconnect is
    still said."""
    import json
    import logging

    from bot.adapters.dingtalk.stream import StreamService, log

    service = StreamService(runtime, replier=None)
    sent: list[dict] = []

    class Socket:
        async def send(self, raw: str) -> None:
            sent.append(json.loads(raw))

        async def close(self) -> None:
            pass

    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    keep = Keep(level=logging.DEBUG)
    log.addHandler(keep)
    level = log.level
    log.setLevel(logging.INFO)
    try:
        service.client.websocket = Socket()
        for topic in ("ping", "disconnect"):
            await service.client.background_task({
                "specVersion": "1.0", "type": "SYSTEM",
                "headers": {"appId": "ding-key", "connectionId": "conn-1",
                            "contentType": "application/json", "messageId": f"m-{topic}",
                            "time": "1765000000000", "topic": topic},
                "data": json.dumps({"opaque": f"o-{topic}"})})
    finally:
        log.removeHandler(keep)
        log.setLevel(level)
    ping = next(a for a in sent if a["headers"]["messageId"] == "m-ping")
    assert ping["code"] == 200 and json.loads(ping["data"]) == {"opaque": "o-ping"}
    assert [r.getMessage() for r in records if r.levelno >= logging.WARNING] == []
    assert any("disconnect" in r.getMessage() for r in records)


@asynccontextmanager
async def _slow_stream(runtime, fake, msg_id: str):
    """A Stream service connected to the fake gateway whose dispatcher takes half a second a
    message; yields (the service, the frame of one message pushed, now being handled), and
    stops the service after."""
    import dingtalk_stream

    from bot.adapters.dingtalk.client import DingtalkClient
    from bot.adapters.dingtalk.senders import Replier
    from bot.adapters.dingtalk.stream import StreamService

    settings = runtime.settings.dingtalk.model_copy(update={"api_base": fake.base_url})
    client = DingtalkClient(settings, runtime.clock)
    service = StreamService(runtime, Replier(client, runtime.engine, runtime.clock))
    # The SDK reads its host at import (the default here): this service opens on the fake.
    service.client.OPEN_CONNECTION_API = f"{fake.base_url}/v1.0/gateway/connections/open"
    service.client.credential = dingtalk_stream.Credential(fake.app_key, fake.app_secret)
    handle, started = runtime.dispatcher.handle_delivery, asyncio.Event()

    async def slow(message):
        started.set()
        await asyncio.sleep(0.5)
        return await handle(message)

    runtime.dispatcher.handle_delivery = slow
    await service.start()
    try:
        for _ in range(100):
            if fake.connections:
                break
            await asyncio.sleep(0.05)
        now_ms = int(runtime.clock.now().timestamp() * 1000)
        frame = fake.push(robot_message(msg_id=msg_id, sender="nobody", text="帮助",
                                        now_ms=now_ms, webhook=fake.session_webhook(msg_id)))
        await asyncio.wait_for(started.wait(), 10)
        yield service, frame
    finally:
        await service.stop()
        await client.aclose()


async def test_a_replica_that_stops_acks_the_messages_it_is_handling(runtime, fake):
    """A rolling restart in the middle of a theme day's check-ins: the messages being
    handled when the replica stops are committed and acked on the still-open connection,
    so the gateway does not deliver them again (and members do not get each answer
    twice); nothing new is taken once it is stopping."""
    async with _slow_stream(runtime, fake, "stop1") as (service, frame):
        pass  # stopped with the message in hand
    assert _count(runtime.engine, ProcessedMessage) == 1
    assert fake.wait_for(lambda: fake.acked(frame), 2) and fake.acked(frame)["code"] == 200


async def test_a_gateway_disconnect_lets_the_messages_in_hand_be_acked(runtime, fake):
    """The gateway says "disconnect" before it closes the socket (rebalancing): the
    messages being handled then are committed and acked before djbot closes it, so they
    are not delivered, and answered, a second time on the next connection."""
    async with _slow_stream(runtime, fake, "dis1") as (service, frame):
        bye = fake.system("disconnect", close_after=3)
        for _ in range(100):
            if fake.connections == 2:
                break
            await asyncio.sleep(0.05)
        assert fake.connections == 2  # and it connected again
    assert fake.acked(frame) and fake.acked(frame)["code"] == 200
    assert fake.acked(bye)["code"] == 200


async def test_one_failed_lease_renewal_does_not_drop_the_messages_in_hand(runtime, fake,
                                                                       monkeypatch):
    """A theme day's burst keeps the database busy and one lease renewal fails: the lease
    still has most of its minute to run, so the connection stays and the check-in being
    handled is acked. Closing the socket at once lost its ack: the gateway delivered it
    again and the member got the answer twice."""
    from bot.adapters.dingtalk import stream

    monkeypatch.setattr(stream, "LEASE_RENEW_SECONDS", 0.1)
    async with _slow_stream(runtime, fake, "busy1") as (service, frame):
        take, failed = service._take, []

        def busy():
            if not failed:
                failed.append(True)
                raise ConnectionError("database is locked")
            return take()

        service._take = busy
        for _ in range(100):
            if fake.acked(frame):
                break
            await asyncio.sleep(0.05)
        assert failed
        assert fake.acked(frame) and fake.acked(frame)["code"] == 200
        assert fake.connections == 1


async def test_a_lost_lease_lets_the_messages_in_hand_be_acked(runtime, fake, monkeypatch):
    """Another replica holds the lease now: djbot lets go of the connection, but the
    message being handled is committed and acked first, so the gateway does not deliver
    it, and it is not answered, a second time."""
    from bot.adapters.dingtalk import stream

    monkeypatch.setattr(stream, "LEASE_RENEW_SECONDS", 0.1)
    async with _slow_stream(runtime, fake, "lost1") as (service, frame):
        service._take = lambda: False
        for _ in range(100):
            if service.client.websocket.state.name == "CLOSED":
                break
            await asyncio.sleep(0.05)
        assert service.client.websocket.state.name == "CLOSED"  # it did let go
    assert _count(runtime.engine, ProcessedMessage) == 1
    assert fake.acked(frame) and fake.acked(frame)["code"] == 200


async def test_a_message_behind_the_gateways_disconnect_is_answered_once(runtime, fake):
    """The gateway says "disconnect" as a check-in is already on its way behind it on the
    same connection. Handled there, its ack went out on a closed socket: the gateway gave it
    again on the next connection and the member was answered twice. It is left to the next
    connection, and answered once."""
    async with _slow_stream(runtime, fake, "dis2") as (service, frame):
        now_ms = int(runtime.clock.now().timestamp() * 1000)
        behind = robot_message(msg_id="dis3", sender="nobody", text="帮助", now_ms=now_ms,
                               webhook=fake.session_webhook("dis3"))
        fake.system("disconnect", close_after=3, then=(behind,))
        for _ in range(200):
            if fake.connections == 2 and fake.delivered("/session/dis3"):
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(1)  # time for a second answer, should one come
        assert fake.connections == 2
    assert fake.acked(frame)["code"] == 200
    assert _count(runtime.engine, ProcessedMessage) == 2
    assert len(fake.delivered("/session/dis3")) == 1


async def test_a_message_in_hand_when_the_connection_drops_is_answered_once(runtime, fake):
    """The connection drops while a check-in is being handled: it is committed and answered,
    but its ack cannot go, so the gateway gives it again on the next connection. The member
    had the answer already and is not sent it a second time (a burst's worth of check-ins
    in hand at a drop all came twice into the group)."""
    async with _slow_stream(runtime, fake, "drop1") as (service, frame):
        fake.drop_connection()
        for _ in range(200):
            if fake.connections == 2 and fake.acked(frame):
                break
            await asyncio.sleep(0.05)
        assert fake.acked(frame)["code"] == 200  # acked on the next connection
        await asyncio.sleep(1)  # time for a second answer, should one come
    assert _count(runtime.engine, ProcessedMessage) == 1
    assert len(fake.delivered("/session/drop1")) == 1


@pytest.mark.timeout(60)
async def test_a_gateway_that_never_answers_does_not_hold_up_the_reminders(runtime, fake,
                                                                          monkeypatch):
    """DingTalk's connections/open accepts the connection and never answers (a proxy or a
    firewall in the way). The SDK posts it without a timeout, in a worker thread: each
    try left a thread waiting for good, until the threads that send the outbox, renew
    leases and read the database were all taken and no reminder went out, on either
    platform. Now each try gives up after its timeout and holds no thread."""
    import concurrent.futures
    import socket
    import threading

    import dingtalk_stream

    from bot.adapters.dingtalk import stream
    from bot.adapters.dingtalk.client import DingtalkClient
    from bot.adapters.dingtalk.senders import DingtalkSender, Replier
    from bot.core import Reply
    from bot.outbox import OutboxWorker
    from storage import outbox
    from storage.db import session_scope
    from tests.factories import bind_chat

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(64)  # accepts, reads nothing, answers nothing
    tries: list[socket.socket] = []

    def accept():
        while True:
            try:
                tries.append(silent.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    url = f"http://127.0.0.1:{silent.getsockname()[1]}/v1.0/gateway/connections/open"
    monkeypatch.setattr(dingtalk_stream.DingTalkStreamClient, "OPEN_CONNECTION_API", url)
    monkeypatch.setattr(stream, "OPEN_TIMEOUT_SECONDS", 0.3)
    # A small machine's thread pool (2 cores: 6 threads), made smaller to keep this short.
    loop = asyncio.get_running_loop()
    loop.set_default_executor(concurrent.futures.ThreadPoolExecutor(max_workers=3))

    settings = runtime.settings.dingtalk.model_copy(update={
        "api_base": fake.base_url, "app_key": fake.app_key, "app_secret": fake.app_secret,
        "robot_code": "ding-robot"})
    client = DingtalkClient(settings, runtime.clock)
    service = stream.StreamService(runtime, Replier(client, runtime.engine, runtime.clock))
    await service.start()
    try:
        for _ in range(300):
            if len(tries) >= 4:
                break
            await asyncio.sleep(0.05)
        assert len(tries) >= 4
        seed(runtime.engine, lambda s: bind_chat(s, make_branch(s), "cidG", platform="dingtalk"))
        with session_scope(runtime.engine) as s:
            outbox.enqueue(s, platform="dingtalk", target_kind="group", target="cidG",
                           payload=Reply("明晚 19:30 政治夜学，请准时参加").to_dict(),
                           now=runtime.clock.now(), kind="reminder.group")
        worker = OutboxWorker(runtime.engine, runtime.clock, {
            "dingtalk": DingtalkSender(settings, client, runtime.engine, runtime.clock)})
        await asyncio.wait_for(worker.drain(), 10)
        assert [s.body["openConversationId"]
                for s in fake.delivered("/v1.0/robot/groupMessages/send")] == ["cidG"]
    finally:
        await asyncio.wait_for(service.stop(), 20)
        await client.aclose()
        silent.close()
        for each in tries:
            each.close()
