"""DingTalk HTTP callback mode, end to end: genuinely signed callbacks into djbot's app,
replies and proactive sends asserted on what a local fake DingTalk received."""

from __future__ import annotations

import json
import logging

import httpx
import pytest
from sqlmodel import Session, func, select

from bot.adapters.dingtalk.signing import sign
from bot.app import create_app
from bot.config import DingtalkSettings, Settings
from bot.outbox import OutboxWorker
from bot.runtime import build_runtime
from storage.models import (
    Attendance, AttendanceStatus, OutboxMessage, PointEntry, ProcessedMessage, Role,
)
from tests.factories import make_branch, make_member, seed
from tests.fake_dingtalk import FakeDingtalk, robot_message

GROUP = "cidGroup1"


@pytest.fixture
def fake(clock):
    with FakeDingtalk(clock=clock) as server:
        yield server


@pytest.fixture
def runtime(db_url, clock, engine, fake):
    settings = Settings(
        database_url=db_url, _env_file=None,
        dingtalk=DingtalkSettings(enabled=True, app_key=fake.app_key, app_secret=fake.app_secret,
                                  robot_code="ding-robot", api_base=fake.base_url),
    )
    return build_runtime(settings, clock=clock, engine=engine, migrate=False)


@pytest.fixture
async def app(runtime):
    return create_app(runtime, start_background=False)


@pytest.fixture
async def client(app):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://djbot") as c:
        yield c


class DingTalkUser:
    """Sends robot messages to djbot the way DingTalk does: signed, with a sessionWebhook."""

    def __init__(self, client, runtime, fake):
        self.client, self.runtime, self.fake = client, runtime, fake
        self.sent = 0

    def now_ms(self) -> int:
        return int(self.runtime.clock.now().timestamp() * 1000)

    async def say(self, sender: str, text: str, *, msg_id: str | None = None, private=False,
                  webhook_ttl_ms: int = 5_400_060) -> str:
        self.sent += 1
        msg_id = msg_id or f"msg{self.sent:03d}"
        payload = robot_message(msg_id=msg_id, sender=sender, text=text, now_ms=self.now_ms(),
                                conversation=GROUP, private=private,
                                # The fake refuses the webhook after its expiry, as DingTalk does.
                                webhook=self.fake.session_webhook(
                                    msg_id, expires_ms=self.now_ms() + webhook_ttl_ms),
                                webhook_ttl_ms=webhook_ttl_ms)
        response = await self.post(json.dumps(payload, ensure_ascii=False).encode())
        assert response.status_code == 200, response.text
        return msg_id

    async def post(self, body: bytes, *, timestamp: int | None = None, secret: str | None = None):
        # One millisecond per callback: a (timestamp, sign) pair is refused with another body.
        ts = self.now_ms() - self.sent if timestamp is None else timestamp
        headers = {"timestamp": str(ts), "sign": sign(ts, secret or self.fake.app_secret),
                   "content-type": "application/json"}
        return await self.client.post("/dingtalk/callback", content=body, headers=headers)

    def replies(self, msg_id: str) -> list[dict]:
        return [r.body for r in self.fake.delivered(f"/session/{msg_id}")]

    def reply_text(self, msg_id: str) -> str:
        (body, *_) = self.replies(msg_id)
        return body["markdown"]["text"]


@pytest.fixture
def dingtalk(client, runtime, fake):
    return DingTalkUser(client, runtime, fake)


def _count(engine, model, *where) -> int:
    with Session(engine) as s:
        return s.exec(select(func.count()).select_from(model).where(*where)).one()


def _branch_with_members(engine, n: int):
    def build(s):
        branch = make_branch(s, "第一支部")
        secretary = make_member(s, branch, "王书记", role=Role.SECRETARY, dingtalk="sec")
        members = [make_member(s, branch, f"党员{i:02d}", dingtalk=f"m{i:02d}")
                   for i in range(1, n + 1)]
        return secretary, members
    return seed(engine, build)


async def test_night_study_by_http_callbacks(runtime, dingtalk, fake):
    _branch_with_members(runtime.engine, 22)
    bound = await dingtalk.say("sec", "绑定 第一支部")
    assert "已将本群绑定到「第一支部」" in dingtalk.reply_text(bound)
    opened = await dingtalk.say("sec", "开始 政治夜学")
    assert "政治夜学" in dingtalk.reply_text(opened)

    checkins = {}
    for i in range(1, 21):
        checkins[f"m{i:02d}"] = await dingtalk.say(f"m{i:02d}", "签到")
    for i in range(1, 6):  # DingTalk delivers five of them a second time
        await dingtalk.say(f"m{i:02d}", "签到", msg_id=checkins[f"m{i:02d}"])
    leave = await dingtalk.say("m21", "请假 家里有事")

    engine = runtime.engine
    assert _count(engine, Attendance, Attendance.status == AttendanceStatus.PRESENT) == 20
    assert _count(engine, Attendance, Attendance.status == AttendanceStatus.LEAVE) == 1
    assert _count(engine, Attendance) == 21
    for sender, msg_id in checkins.items():
        replies = dingtalk.replies(msg_id)
        assert len(replies) == 1  # the retry: its answer went already, from this djbot
        assert replies[0]["msgtype"] == "markdown"
        assert replies[0]["at"]["atUserIds"] == [sender]
        assert "签到成功" in replies[0]["markdown"]["text"]
    assert "已请假" in dingtalk.reply_text(leave)

    asked = await dingtalk.say("sec", "未签到", private=True)
    answer = dingtalk.reply_text(asked)
    missing, excused = [line for line in answer.splitlines() if line.strip()]
    names = set(missing.split("：", 1)[1].split("、"))
    assert names == {"王书记", "党员22"}  # neither checked in nor on leave
    assert excused == "已请假 1 人：党员21"
    assert dingtalk.replies(asked)[0]["at"]["atUserIds"] == []  # no @ in a private chat
    assert _count(engine, OutboxMessage) == 0  # every answer went by sessionWebhook


async def test_a_check_in_sent_with_a_photo_is_counted_and_answered(runtime, dingtalk, fake):
    """签到 with a photo of the session arrives as msgtype richText, its words in
    content.richText (the official SDK's ChatbotMessage.get_text_list): djbot answered 200,
    recorded nothing and said nothing, and the member was counted absent."""
    from sqlmodel import Session, func, select

    from storage.models import Attendance, AttendanceStatus

    _branch_with_members(runtime.engine, 2)
    await dingtalk.say("sec", "绑定 第一支部")
    await dingtalk.say("sec", "开始 政治夜学")
    payload = robot_message(msg_id="rich-1", sender="m01", text="x", now_ms=dingtalk.now_ms(),
                            conversation=GROUP, webhook=fake.session_webhook("rich-1"))
    del payload["text"]
    payload["msgtype"] = "richText"
    payload["content"] = {"richText": [
        {"text": " 签到"}, {"pictureDownloadCode": "pdc", "downloadCode": "dc", "type": "picture"}]}
    dingtalk.sent += 1
    response = await dingtalk.post(json.dumps(payload, ensure_ascii=False).encode())
    assert response.status_code == 200
    with Session(runtime.engine) as s:
        present = s.exec(select(func.count()).select_from(Attendance).where(
            Attendance.status == AttendanceStatus.PRESENT)).one()
    assert present == 1
    assert dingtalk.replies("rich-1")


async def test_a_check_in_said_by_voice_in_a_private_chat_is_counted(runtime, dingtalk, fake):
    """A voice message to the robot arrives as msgtype audio with DingTalk's transcription
    in content.recognition (「签到。」): it was answered 200 and dropped, the member told
    nothing and counted absent. One DingTalk heard nothing in is still left alone."""
    from sqlmodel import Session, func, select

    from storage.models import Attendance, AttendanceStatus

    _branch_with_members(runtime.engine, 2)
    await dingtalk.say("sec", "绑定 第一支部")
    await dingtalk.say("sec", "开始 政治夜学")

    async def voice(msg_id: str, heard: str | None):
        payload = robot_message(msg_id=msg_id, sender="m01", text="x",
                                now_ms=dingtalk.now_ms(), private=True,
                                webhook=fake.session_webhook(msg_id))
        del payload["text"]
        payload["msgtype"] = "audio"
        payload["content"] = {"duration": 1800, "downloadCode": "dc"}
        if heard is not None:
            payload["content"]["recognition"] = heard
        dingtalk.sent += 1
        return await dingtalk.post(json.dumps(payload, ensure_ascii=False).encode())

    assert (await voice("voice-0", None)).status_code == 200
    assert not dingtalk.replies("voice-0")
    assert (await voice("voice-1", "签到。")).status_code == 200
    with Session(runtime.engine) as s:
        present = s.exec(select(func.count()).select_from(Attendance).where(
            Attendance.status == AttendanceStatus.PRESENT)).one()
    assert present == 1
    assert "签到成功" in dingtalk.reply_text("voice-1")


async def test_expired_session_webhook_reply_goes_by_the_proactive_api_once(
        runtime, app, dingtalk, fake, clock):
    _branch_with_members(runtime.engine, 2)
    await dingtalk.say("sec", "绑定 第一支部")
    await dingtalk.say("sec", "开始 政治夜学")
    # The webhook expired 10 minutes before DingTalk (re)delivered the message.
    late = await dingtalk.say("m01", "签到", webhook_ttl_ms=-600_000)
    await dingtalk.say("m01", "签到", msg_id=late, webhook_ttl_ms=-600_000)
    private = await dingtalk.say("m02", "帮助", private=True, webhook_ttl_ms=-600_000)

    assert fake.posts(f"/session/{late}") == []
    assert _count(runtime.engine, OutboxMessage) == 2  # one per message, not per delivery
    worker = OutboxWorker(runtime.engine, clock, app.state.senders)
    await worker.drain()
    await worker.drain()

    (group_send,) = fake.delivered("/v1.0/robot/groupMessages/send")
    assert group_send.body["openConversationId"] == GROUP
    assert group_send.body["robotCode"] == "ding-robot"
    content = json.loads(group_send.body["msgParam"])["content"]
    assert content.startswith("@m01 ") and "签到成功" in content
    (batch,) = fake.delivered("/v1.0/robot/oToMessages/batchSend")
    assert batch.body["userIds"] == ["m02"]
    assert "党建助手可用指令" in json.loads(batch.body["msgParam"])["content"]
    assert fake.posts(f"/session/{private}") == []
    assert _count(runtime.engine, OutboxMessage, OutboxMessage.status == "sent") == 2


async def test_a_failed_session_webhook_post_falls_back_to_the_outbox(runtime, dingtalk, fake):
    _branch_with_members(runtime.engine, 1)
    fake.fail("/session/msg001", status=500)
    await dingtalk.say("m01", "帮助")
    assert dingtalk.replies("msg001") == []
    (row,) = Session(runtime.engine).exec(select(OutboxMessage)).all()
    assert (row.kind, row.target_kind, row.target) == ("reply", "group", GROUP)


@pytest.mark.parametrize("case, status, reason", [
    ("bad signature", 401, "bad signature"),
    ("stale timestamp", 403, "stale timestamp"),
    ("missing headers", 401, "missing timestamp or sign"),
    ("not JSON", 400, "not JSON"),
    ("not an object", 400, "not a JSON object"),
    ("oversized", 413, "larger than 1 MB"),
    ("no staff id", 400, "senderStaffId missing"),
])
async def test_bad_callbacks_are_refused_logged_and_store_nothing(
        runtime, dingtalk, client, fake, caplog, case, status, reason):
    _branch_with_members(runtime.engine, 1)
    payload = robot_message(msg_id="evil", sender="m01", text="帮助", now_ms=dingtalk.now_ms(),
                            webhook=fake.session_webhook("evil"))
    body = json.dumps(payload).encode()
    caplog.set_level(logging.WARNING, logger="djbot.dingtalk")
    if case == "bad signature":
        response = await dingtalk.post(body, secret="not-the-app-secret")
    elif case == "stale timestamp":
        response = await dingtalk.post(body, timestamp=dingtalk.now_ms() - 3_700_000)
    elif case == "missing headers":
        response = await client.post("/dingtalk/callback", content=body)
    elif case == "not JSON":
        response = await dingtalk.post(b"<xml>hello</xml>")
    elif case == "not an object":
        response = await dingtalk.post(b"[1, 2]")
    elif case == "oversized":
        response = await dingtalk.post(body[:-1] + b', "pad": "' + b"x" * (1024 * 1024) + b'"}')
    else:
        del payload["senderStaffId"]
        response = await dingtalk.post(json.dumps(payload).encode())

    assert response.status_code == status
    assert reason in caplog.text
    assert fake.session_webhook("evil") not in caplog.text  # nothing of the body is logged
    assert _count(runtime.engine, ProcessedMessage) == 0
    assert _count(runtime.engine, OutboxMessage) == 0
    assert fake.posts("/session/") == []


async def test_one_member_on_both_platforms_adds_up(runtime, dingtalk, chat, fake):
    def build(s):
        branch = make_branch(s, "第一支部")
        make_member(s, branch, "王书记", role=Role.SECRETARY, wecom="wx-sec", dingtalk="sec")
        return make_member(s, branch, "张三", wecom="wx-zhang", dingtalk="dt-zhang").id
    zhang = seed(runtime.engine, build)
    chat.say("wx-sec", "绑定 第一支部", chat="wx-group", platform="wecom")
    await dingtalk.say("sec", "绑定 第一支部")

    # Night study 1: 张三 checks in on WeCom; the DingTalk 签到 finds him already there.
    chat.say("wx-sec", "开始 政治夜学", chat="wx-group", platform="wecom")
    assert "签到成功" in chat.say("wx-zhang", "签到", chat="wx-group", platform="wecom").text
    again = await dingtalk.say("dt-zhang", "签到")
    assert "你已签到" in dingtalk.reply_text(again)
    chat.say("wx-sec", "结束", chat="wx-group", platform="wecom")

    # Night study 2 (its own topic: 开始 again with none would carry the first on, as after
    # an 结束 sent by mistake), opened and attended on DingTalk.
    await dingtalk.say("sec", "开始 政治夜学 第二讲")
    assert "签到成功" in dingtalk.reply_text(await dingtalk.say("dt-zhang", "签到"))

    with Session(runtime.engine) as s:
        rows = s.exec(select(Attendance).where(Attendance.member_id == zhang)).all()
        assert sorted(r.platform for r in rows) == ["dingtalk", "wecom"]
        total = s.exec(select(func.sum(PointEntry.points))
                       .where(PointEntry.member_id == zhang)).one()
    per_study, _ = runtime.rules.attendance_points("政治夜学", "present")
    assert total == 2 * per_study
    # Either platform shows the same total.
    on_wecom = chat.say("wx-zhang", "积分", platform="wecom").text
    asked = await dingtalk.say("dt-zhang", "积分", private=True)
    assert str(total) in on_wecom and str(total) in dingtalk.reply_text(asked)


async def test_the_first_message_in_a_new_group_gets_the_welcome_once(runtime, dingtalk):
    from bot.adapters.common import WELCOME

    first = await dingtalk.say("m01", "帮助")
    assert dingtalk.reply_text(first).rstrip().endswith(WELCOME)
    again = await dingtalk.say("m01", "帮助")
    assert WELCOME not in dingtalk.reply_text(again)
    private = await dingtalk.say("m02", "帮助", private=True)
    assert WELCOME not in dingtalk.reply_text(private)


async def test_a_reply_that_must_wait_in_the_outbox_is_committed_with_its_check_in(
        runtime, dingtalk, monkeypatch):
    """No usable sessionWebhook: the reply is queued in the check-in's own transaction. When
    it cannot be queued, the check-in is not kept either and DingTalk is told to retry, so
    nobody is counted present without ever hearing back."""
    from storage import outbox

    _branch_with_members(runtime.engine, 2)
    await dingtalk.say("sec", "绑定 第一支部")  # djbot now knows the group: no welcome due
    await dingtalk.say("sec", "开始 政治夜学")
    queue = outbox.enqueue_once_on

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(outbox, "enqueue_once_on", broken)
    payload = robot_message(msg_id="late-1", sender="m01", text="签到", now_ms=dingtalk.now_ms(),
                            conversation=GROUP, webhook=dingtalk.fake.session_webhook("late-1"),
                            webhook_ttl_ms=-600_000)
    body = json.dumps(payload, ensure_ascii=False).encode()
    dingtalk.sent += 1  # a callback's own (timestamp, sign) pair
    refused = await dingtalk.post(body)
    assert refused.status_code == 503
    assert _count(runtime.engine, Attendance) == 0
    assert _count(runtime.engine, OutboxMessage) == 0

    monkeypatch.setattr(outbox, "enqueue_once_on", queue)
    dingtalk.sent += 1  # DingTalk's retry comes with a new timestamp
    assert (await dingtalk.post(body)).status_code == 200
    assert _count(runtime.engine, Attendance) == 1
    (row,) = Session(runtime.engine).exec(select(OutboxMessage)).all()
    assert row.payload["text"].startswith("@m01 ") and "签到成功" in row.payload["text"]


async def test_the_weekly_summary_asked_in_a_group_keeps_its_heading_beside_the_at(
        runtime, app, dingtalk, fake, clock):
    """周报 is markdown headed "## 党建工作报告…". Asked in a group, the @ of the asker was
    put in front of it on the same line, by sessionWebhook and by the proactive API alike,
    so the group saw "@王书记 ## 党建工作报告 周报…" as a plain line, hashes and all. The @
    stands on a line of its own now and the heading renders."""
    _branch_with_members(runtime.engine, 1)
    await dingtalk.say("sec", "绑定 第一支部")
    asked = await dingtalk.say("sec", "周报")
    text = dingtalk.reply_text(asked)
    assert dingtalk.replies(asked)[0]["at"]["atUserIds"] == ["sec"]
    first, *rest = text.split("\n")
    assert first.strip() == "@sec"
    assert any(line.startswith("## 党建工作报告") for line in rest), text

    late = await dingtalk.say("sec", "周报", webhook_ttl_ms=-600_000)  # answered by the API
    assert dingtalk.replies(late) == []
    await OutboxWorker(runtime.engine, clock, app.state.senders).drain()
    (send,) = fake.delivered("/v1.0/robot/groupMessages/send")
    assert send.body["msgKey"] == "sampleMarkdown"
    queued = json.loads(send.body["msgParam"])["text"]
    first, *rest = queued.split("\n")
    assert first.strip() == "@sec"
    assert any(line.startswith("## 党建工作报告") for line in rest), queued


def _run_together(markdown: str) -> list[tuple[str, str]]:
    """Lines DingTalk's markdown would show as one: it breaks a line only at a blank line
    (blinkbean/dingtalk#2), so two lines in a row run on, but for a table's rows."""
    lines = markdown.split("\n")
    return [(a, b) for a, b in zip(lines, lines[1:])
            if a.strip() and b.strip() and not (a.startswith("|") and b.startswith("|"))]


async def test_the_weekly_summary_in_dingtalk_keeps_one_line_per_figure(
        runtime, app, dingtalk, fake, clock):
    """周报 is markdown written one figure to a line ("**第一支部** …" then "活动 … 次 · 参与
    …"), as WeCom shows it. DingTalk's markdown breaks a line only at a blank line, so the
    group saw each branch's lines, the period and the list run into one paragraph. Each
    line is now its own paragraph, by sessionWebhook and by the robot API alike."""
    _branch_with_members(runtime.engine, 1)
    await dingtalk.say("sec", "绑定 第一支部")
    asked = await dingtalk.say("sec", "周报")
    text = dingtalk.reply_text(asked)
    assert "**第一支部**" in text and "统计区间" in text
    assert _run_together(text) == []

    await dingtalk.say("sec", "周报", webhook_ttl_ms=-600_000)  # answered by the API
    await OutboxWorker(runtime.engine, clock, app.state.senders).drain()
    (send,) = fake.delivered("/v1.0/robot/groupMessages/send")
    queued = json.loads(send.body["msgParam"])["text"]
    assert "**第一支部**" in queued
    assert _run_together(queued) == []


@pytest.fixture
def silent_server():
    """A port that takes connections and never says a word: PostgreSQL hung, or its host
    gone behind a balancer that still accepts. Yields the port."""
    import socket
    import threading

    listener = socket.create_server(("127.0.0.1", 0))
    taken: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                taken.append(listener.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    yield listener.getsockname()[1]
    listener.close()
    for conn in taken:
        conn.close()


@pytest.mark.own_databases  # a PostgreSQL server of its own: once, whichever pass
@pytest.mark.parametrize("text", ["签到", "积分"])
async def test_a_callback_while_the_database_does_not_answer_is_refused_for_a_retry(
        pg_url, clock, fake, silent_server, text):
    """PostgreSQL-only (SQLite has no server to wait for). The database accepts connections
    and never answers: a check-in (the event loop's own connections, then the writer
    threads) and any other command are answered 503 within seconds, for DingTalk to
    deliver them again. They waited psycopg's 130 s for each connection, unanswered, with
    a writer thread held all along."""
    import asyncio

    from sqlalchemy.engine import make_url

    from bot.domain.rules import load_rules
    from bot.runtime import Runtime
    from storage import db

    hung = db.make_engine(make_url(pg_url).set(port=silent_server)
                          .render_as_string(hide_password=False))
    settings = Settings(
        database_url=pg_url, _env_file=None,
        dingtalk=DingtalkSettings(enabled=True, app_key=fake.app_key, app_secret=fake.app_secret,
                                  robot_code="ding-robot", api_base=fake.base_url))
    runtime = Runtime(settings, clock, hung, load_rules(settings.rules_file))
    app = create_app(runtime, start_background=False)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app),
                                     base_url="http://djbot") as client:
            member = DingTalkUser(client, runtime, fake)
            payload = robot_message(msg_id="hung-1", sender="m01", text=text,
                                    now_ms=member.now_ms(), conversation=GROUP,
                                    webhook=fake.session_webhook("hung-1"))
            answer = await asyncio.wait_for(
                member.post(json.dumps(payload, ensure_ascii=False).encode()), 20)
    finally:
        runtime.dispatcher.close()
        hung.dispose()
    assert answer.status_code == 503
    assert member.replies("hung-1") == []


def _kernel_gives_up_after_ms(fd: int) -> int:
    import os
    import socket

    sock = socket.socket(fileno=os.dup(fd))
    try:
        return sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT)
    finally:
        sock.close()


@pytest.mark.own_databases  # opens its own connections: once, whichever pass
async def test_a_connection_to_a_vanished_database_host_is_given_up_in_seconds(pg_url):
    """PostgreSQL-only. A server host gone while connections to it stay open (a failover, a
    pulled cable) sends no reset: a statement, or the pool's own ping, waited for TCP to give
    up, about 15 minutes, with the callback unanswered. Both kinds of connection, the
    writer threads' pool and the event loop's own for check-ins, tell the kernel to give up
    on data unacknowledged for 10 s, and probe an idle connection. Untestable by dropping
    packets here (no firewall), so the kernel's own setting on each socket is read back."""
    import psycopg
    from sqlalchemy.engine import make_url

    from storage import db

    engine = db.make_engine(pg_url)
    try:
        with engine.connect() as conn:
            raw = conn.connection.dbapi_connection
            assert _kernel_gives_up_after_ms(raw.pgconn.socket) == 10_000
            assert raw.info.get_parameters()["keepalives_idle"] == "30"
        connect_args = engine.dialect.create_connect_args(engine.url)[1]  # as bot/pglane.py
        lane = await psycopg.AsyncConnection.connect(**connect_args, autocommit=True)
        try:
            assert _kernel_gives_up_after_ms(lane.pgconn.socket) == 10_000
        finally:
            await lane.close()
    finally:
        engine.dispose()
    # An operator's own setting in the URL stands.
    own = db.make_engine(make_url(pg_url).update_query_dict({"tcp_user_timeout": "30000"})
                         .render_as_string(hide_password=False))
    try:
        with own.connect() as conn:
            assert _kernel_gives_up_after_ms(conn.connection.dbapi_connection.pgconn.socket) \
                == 30_000
    finally:
        own.dispose()
