"""Attacks on "nothing acknowledged is lost": slow databases, replicas, restarts.

The in-process tests drive two replicas (two apps on one database) with genuinely encrypted
callbacks; the process tests run `djbot serve` for real, hold the database's write lock,
then SIGTERM or kill -9 it, and count what was answered 200 against what was stored.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine
from sqlmodel import Session, select

from bot.adapters.wecom.client import WecomClient
from bot.adapters.wecom.senders import WecomSender
from bot.app import create_app
from bot.core import Reply
from bot.outbox import OutboxWorker
from bot.registry import Command
from bot.runtime import build_runtime
from storage.db import normalize_url
from storage.models import (
    Attendance,
    Member,
    MessageAnswer,
    OutboxMessage,
    ProcessedMessage,
)
from tests import fake_wecom as fw
from tests.test_wecom_routes import wecom_settings


def replica(settings, clock, engine, handler):
    """One djbot replica: its own app and runtime on the shared database."""
    runtime = build_runtime(settings, clock=clock, engine=engine, migrate=False)
    runtime.registry.add(Command(name="慢", summary="slow", handler=handler,
                                 needs_member=False, needs_binding=False))
    app = create_app(runtime, start_background=False)
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://djbot")
    return app.state.wecom, http


class Gate:
    """The first call of the slow command waits until the test opens the gate."""

    def __init__(self) -> None:
        self.opened = threading.Event()
        self.calls = 0

    def handler(self, ctx, args):
        self.calls += 1
        if self.calls == 1:
            assert self.opened.wait(10)
        return Reply("慢慢来的回复")


async def until(predicate, what: str) -> None:
    for _ in range(500):  # waiting for worker threads, not for the clock
        if predicate():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"never happened: {what}")


def stored(engine, model):
    with Session(engine) as session:
        return list(session.exec(select(model)))


@pytest.fixture
def fake():
    server = fw.FakeWecom().start()
    yield server
    server.stop()


async def hang_up(http, params, body) -> None:
    """WeCom giving up on a callback: the request is abandoned before any answer."""
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(http.post("/wecom/aibot", params=params, content=body), 0.2)


@pytest.mark.parametrize("second", ["retry", "refresh"])
async def test_one_answer_per_message_across_replicas(second, db_url, clock, engine, fake):
    """Replica A commits after WeCom hung up; WeCom's retry (or a stream refresh) lands on
    replica B, which answers from the database. A must not also post to response_url."""
    gate = Gate()
    settings = wecom_settings(db_url, api_base=fake.base_url)
    a, http_a = replica(settings, clock, engine, gate.handler)
    b, http_b = replica(settings, clock, engine, gate.handler)
    grace_over = asyncio.Event()
    a.wait_late = grace_over.wait
    now = int(clock.now().timestamp())
    payload = fw.text_callback(
        msgid="m-1", user="lisi", text="慢",
        response_url=f"{fake.base_url}/cgi-bin/aibot/response?response_code=once")
    params, body = fw.aibot_request(payload, timestamp=now)
    async with http_a, http_b:
        await hang_up(http_a, params, body)
        gate.opened.set()
        await until(lambda: stored(engine, ProcessedMessage), "A commits")
        if second == "retry":
            answer = await http_b.post("/wecom/aibot", params=params, content=body)
        else:
            refresh = {"msgid": "r-1", "aibotid": "AIBOTID", "chattype": "single",
                       "from": {"userid": "lisi"}, "msgtype": "stream", "stream": {"id": "m-1"}}
            r_params, r_body = fw.aibot_request(refresh, timestamp=now, nonce="777")
            answer = await http_b.post("/wecom/aibot", params=r_params, content=r_body)
        grace_over.set()
        await until(lambda: not a.background, "A's late reply decided")
    stream = fw.open_aibot_reply(answer.json())["stream"]
    assert stream["finish"] is True and stream["content"] == "慢慢来的回复"
    assert fake.calls("aibot/response") == []  # B answered: A stays silent
    [row] = stored(engine, ProcessedMessage)
    assert row.message_id == "m-1" and gate.calls == 1
    assert [r.message_id for r in stored(engine, MessageAnswer)] == ["m-1"]


async def test_late_reply_posts_to_response_url_once_and_never_retries(db_url, clock, engine,
                                                                       fake):
    gate = Gate()
    a, http_a = replica(wecom_settings(db_url, api_base=fake.base_url), clock, engine,
                        gate.handler)
    a.late_grace = 0
    fake.fail("aibot/response", "-1", times=3)  # "system busy", every time
    payload = fw.text_callback(
        msgid="m-2", user="lisi", text="慢",
        response_url=f"{fake.base_url}/cgi-bin/aibot/response?response_code=once")
    params, body = fw.aibot_request(payload, timestamp=int(clock.now().timestamp()))
    async with http_a:
        await hang_up(http_a, params, body)
        gate.opened.set()
        await until(lambda: fake.calls("aibot/response"), "the late reply")
        await until(lambda: not a.background, "A's late reply finished")
    [call] = fake.calls("aibot/response")  # single use: one POST, -1 or not
    assert call.params == {"response_code": "once"}
    assert call.body == {"msgtype": "markdown", "markdown": {"content": "慢慢来的回复"}}


async def test_late_reply_to_a_foreign_response_url_goes_by_the_outbox(db_url, clock, engine,
                                                                      fake):
    gate = Gate()
    a, http_a = replica(wecom_settings(db_url, api_base=fake.base_url), clock, engine,
                        gate.handler)
    a.late_grace = 0
    # The body names a URL on djbot's own machine: no request may go there.
    payload = fw.text_callback(msgid="m-3", user="lisi", text="慢",
                               response_url="http://2130706433:9/cgi-bin/aibot/response")
    params, body = fw.aibot_request(payload, timestamp=int(clock.now().timestamp()))
    async with http_a:
        await hang_up(http_a, params, body)
        gate.opened.set()
        await until(lambda: stored(engine, OutboxMessage), "the reply queued")
    [queued] = stored(engine, OutboxMessage)
    assert (queued.target_kind, queued.target, queued.kind) == ("user", "lisi", "reply")
    assert fake.calls("aibot/response") == []


async def test_a_late_reply_wecom_refused_at_its_response_url_goes_by_the_outbox(
        db_url, clock, engine, fake):
    """The message committed after WeCom hung up, and its late reply was its only answer:
    WeCom refused the response_url POST (an errcode: nothing was shown) and the reply was
    only logged, so the member never heard. It goes by the outbox, as the rest of a long
    answer refused there does."""
    gate = Gate()
    a, http_a = replica(wecom_settings(db_url, api_base=fake.base_url), clock, engine,
                        gate.handler)
    a.late_grace = 0
    fake.fail("aibot/response", "45009")
    payload = fw.text_callback(
        msgid="m-4", user="lisi", text="慢",
        response_url=f"{fake.base_url}/cgi-bin/aibot/response?response_code=once")
    params, body = fw.aibot_request(payload, timestamp=int(clock.now().timestamp()))
    async with http_a:
        await hang_up(http_a, params, body)
        gate.opened.set()
        await until(lambda: fake.calls("aibot/response"), "the late reply")
        await until(lambda: not a.background, "A's late reply finished")
    assert len(fake.calls("aibot/response")) == 1  # single use: never posted again
    [queued] = stored(engine, OutboxMessage)
    assert (queued.target_kind, queued.target, queued.kind) == ("user", "lisi", "reply")
    assert queued.payload["text"] == "慢慢来的回复"


async def test_a_late_reply_wecom_answered_busy_at_its_response_url_goes_by_the_outbox(
        db_url, clock, engine, fake):
    """errcode -1 (系统繁忙, "try later") is WeCom saying it did nothing with the POST, as
    any other errcode is; the late reply, the member's only answer, was logged and lost.
    It goes by the outbox; the URL, single use, is not posted to again."""
    gate = Gate()
    a, http_a = replica(wecom_settings(db_url, api_base=fake.base_url), clock, engine,
                        gate.handler)
    a.late_grace = 0
    fake.fail("aibot/response", "-1")
    payload = fw.text_callback(
        msgid="m-5", user="lisi", text="慢",
        response_url=f"{fake.base_url}/cgi-bin/aibot/response?response_code=once")
    params, body = fw.aibot_request(payload, timestamp=int(clock.now().timestamp()))
    async with http_a:
        await hang_up(http_a, params, body)
        gate.opened.set()
        await until(lambda: fake.calls("aibot/response"), "the late reply")
        await until(lambda: not a.background, "A's late reply finished")
    assert len(fake.calls("aibot/response")) == 1
    [queued] = stored(engine, OutboxMessage)
    assert (queued.target_kind, queued.target, queued.kind) == ("user", "lisi", "reply")
    assert queued.payload["text"] == "慢慢来的回复"


async def test_a_late_reply_that_goes_to_the_group_by_its_webhook_mentions_who_asked(
        db_url, clock, engine, fake):
    """A group message's late reply that cannot use its response_url goes by the group's
    push webhook, a message of its own in the group: "你已签到…" said to nobody in a group
    of fifty. It @-mentions the member who asked."""
    from bot.adapters.wecom.senders import render_group

    gate = Gate()
    a, http_a = replica(wecom_settings(db_url, api_base=fake.base_url), clock, engine,
                        gate.handler)
    a.late_grace = 0
    payload = fw.text_callback(msgid="m-5", user="lisi", text="慢", chatid="grp-1",
                               response_url="http://2130706433:9/cgi-bin/aibot/response")
    params, body = fw.aibot_request(payload, timestamp=int(clock.now().timestamp()))
    async with http_a:
        await hang_up(http_a, params, body)
        gate.opened.set()
        await until(lambda: stored(engine, OutboxMessage), "the reply queued")
    [queued] = stored(engine, OutboxMessage)
    assert (queued.target_kind, queued.target, queued.kind) == ("group", "grp-1", "reply")
    [sent] = render_group(queued.payload)
    assert sent["text"] == {"content": "慢慢来的回复", "mentioned_list": ["lisi"]}


LONG_NAMES = [f"党员{i:04d}" for i in range(2000)]


class LongGate(Gate):
    """The slow command, with an answer longer than one stream (20480 bytes)."""

    def handler(self, ctx, args):
        super().handler(ctx, args)
        return Reply("未签到：" + "、".join(LONG_NAMES))


@pytest.mark.parametrize("first", ["retry", "late"])
async def test_the_one_shot_response_url_is_used_once_for_a_long_answer(first, db_url, clock,
                                                                         engine, fake):
    """A long answer's rest is queued for the response_url by the delivery that answers
    passively; a late reply uses the same URL. Whichever answers first, the URL is posted
    to once: a retry after the late reply queues nothing, and a late reply after the retry
    stays silent."""
    gate = LongGate()
    settings = wecom_settings(db_url, api_base=fake.base_url)
    a, http_a = replica(settings, clock, engine, gate.handler)
    b, http_b = replica(settings, clock, engine, gate.handler)
    grace_over = asyncio.Event()
    a.wait_late = grace_over.wait
    payload = fw.text_callback(
        msgid="m-long", user="lisi", text="慢",
        response_url=f"{fake.base_url}/cgi-bin/aibot/response?response_code=once")
    params, body = fw.aibot_request(payload, timestamp=int(clock.now().timestamp()))
    async with http_a, http_b:
        await hang_up(http_a, params, body)
        gate.opened.set()
        await until(lambda: stored(engine, ProcessedMessage), "A commits")
        if first == "late":
            grace_over.set()
            await until(lambda: fake.calls("aibot/response"), "A's late reply")
        answer = await http_b.post("/wecom/aibot", params=params, content=body)
        grace_over.set()
        await until(lambda: not a.background, "A's late reply decided")
        client = WecomClient(settings.wecom, clock)
        await OutboxWorker(engine, clock, {"wecom": WecomSender(client, engine)}).drain()
        await client.aclose()
    [posted] = fake.calls("aibot/response")
    content = posted.body["markdown"]["content"]
    assert len(content.encode()) <= fw.STREAM_LIMIT
    stream = fw.open_aibot_reply(answer.json())["stream"]["content"]
    assert stream.startswith("（1/2）")
    if first == "retry":
        assert content.startswith("（2/2）")
        assert [n for n in LONG_NAMES if (stream + content).count(n) != 1] == []
    else:  # the late reply is the only message WeCom will show besides the retry's stream
        assert content.endswith("发送同一条指令。）") and "未发完" in content
        assert stored(engine, OutboxMessage) == []


# --- the self-built app's late reply: by the outbox, retried -----------------------------


async def hang_up_app(http, clock, msgid: str) -> tuple[dict, bytes]:
    """A private message to the self-built app that WeCom gives up on; its request."""
    xml = fw.app_text_xml(user="lisi", text="慢", msgid=msgid,
                          create_time=int(clock.now().timestamp()))
    params, body = fw.app_request(xml, timestamp=int(clock.now().timestamp()))
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(http.post("/wecom/app", params=params, content=body), 0.2)
    return params, body


async def deliver_outbox(settings, clock, engine) -> None:
    client = WecomClient(settings.wecom, clock)
    try:
        await OutboxWorker(engine, clock, {"wecom": WecomSender(client, engine)}).drain()
    finally:
        await client.aclose()


def sent_texts(fake) -> list[str]:
    """What message/send was asked to show, failed tries included."""
    return [c.body["text"]["content"] for c in fake.calls("message/send")]


async def test_a_late_app_reply_that_fails_is_sent_again(db_url, clock, engine, fake):
    """The message committed after WeCom hung up: the member's 请假 is on record, and the
    late reply is their only answer. message/send failing (a 500 at WeCom) does not lose
    it: it waits in the outbox, queued before any try, and goes on the next."""
    gate = Gate()
    settings = wecom_settings(db_url, api_base=fake.base_url)
    a, http_a = replica(settings, clock, engine, gate.handler)
    a.late_grace = 0
    async with http_a:
        await hang_up_app(http_a, clock, "901")
        gate.opened.set()
        await until(lambda: stored(engine, OutboxMessage), "the late reply queued")
        await until(lambda: not a.background, "A's late reply decided")
    fake.fail("message/send", "500")  # a passing blip at WeCom
    await deliver_outbox(settings, clock, engine)
    [row] = stored(engine, OutboxMessage)
    assert (row.status, row.attempts, row.last_error) == ("pending", 1, "errcode -4: HTTP 500")
    clock.advance(minutes=10)
    await deliver_outbox(settings, clock, engine)
    [row] = stored(engine, OutboxMessage)
    assert (row.status, row.target_kind, row.target) == ("sent", "user", "lisi")
    assert sent_texts(fake) == ["慢慢来的回复"] * 2  # the try WeCom failed, then the reply
    assert [(r.message_id, r.via) for r in stored(engine, MessageAnswer)] == [("app:901", "late")]


class AppLongGate(Gate):
    """The slow command, with an answer of several message/send parts (2048 bytes each)."""

    names = [f"党员{i:03d}" for i in range(400)]

    def handler(self, ctx, args):
        super().handler(ctx, args)
        return Reply("未签到：" + "、".join(self.names))


async def test_a_late_app_reply_cut_short_resumes_where_it_stopped(db_url, clock, engine,
                                                                   fake):
    gate = AppLongGate()
    settings = wecom_settings(db_url, api_base=fake.base_url)
    a, http_a = replica(settings, clock, engine, gate.handler)
    a.late_grace = 0
    async with http_a:
        await hang_up_app(http_a, clock, "902")
        gate.opened.set()
        await until(lambda: stored(engine, OutboxMessage), "the late reply queued")
    fake.fail("message/send", "500", after=1)  # part 1 goes, then WeCom fails
    await deliver_outbox(settings, clock, engine)
    clock.advance(minutes=10)
    await deliver_outbox(settings, clock, engine)
    [row] = stored(engine, OutboxMessage)
    assert row.status == "sent"
    texts = sent_texts(fake)
    assert len(texts) > 3 and texts[1] == texts[2]  # part 2 failed once, then went
    received = "".join(texts[:1] + texts[2:])
    assert [n for n in AppLongGate.names if received.count(n) != 1] == []


async def test_a_retry_answering_first_takes_the_late_app_reply_back(db_url, clock, engine,
                                                                    fake):
    """WeCom's retry, on replica B, answers before the late reply's grace is over: the late
    reply is taken back from the outbox, and the rest of the long answer is queued once,
    after the retry's first part."""
    gate = AppLongGate()
    settings = wecom_settings(db_url, api_base=fake.base_url)
    a, http_a = replica(settings, clock, engine, gate.handler)
    b, http_b = replica(settings, clock, engine, gate.handler)
    async with http_a, http_b:
        params, body = await hang_up_app(http_a, clock, "903")
        gate.opened.set()
        await until(lambda: stored(engine, OutboxMessage), "the late reply queued")
        await until(lambda: not a.background, "A's late reply decided")
        answer = await http_b.post("/wecom/app", params=params, content=body)
    first = fw.open_app_reply(answer.text)["Content"]
    assert first.startswith("（1/")
    [rest] = stored(engine, OutboxMessage)
    assert rest.payload["parts_sent"] == 1 and rest.next_attempt_at <= clock.now()
    assert [r.via for r in stored(engine, MessageAnswer)] == ["passive"]
    await deliver_outbox(settings, clock, engine)
    received = first + "".join(sent_texts(fake))
    assert [n for n in AppLongGate.names if received.count(n) != 1] == []


async def test_stopping_posts_a_waiting_late_ai_bot_reply(db_url, clock, engine, fake):
    """SIGTERM while an AI-bot late reply waits out its grace: its response_url lives in
    this process only, so the reply is posted before the service stops, not dropped."""
    gate = Gate()
    runtime = build_runtime(wecom_settings(db_url, api_base=fake.base_url), clock=clock,
                            engine=engine, migrate=False)
    runtime.registry.add(Command(name="慢", summary="slow", handler=gate.handler,
                                 needs_member=False, needs_binding=False))
    app = create_app(runtime, start_background=False)
    payload = fw.text_callback(
        msgid="m-stop", user="lisi", text="慢",
        response_url=f"{fake.base_url}/cgi-bin/aibot/response?response_code=once")
    params, body = fw.aibot_request(payload, timestamp=int(clock.now().timestamp()))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://djbot") as http:
        await hang_up(http, params, body)
        gate.opened.set()
        await until(lambda: stored(engine, ProcessedMessage), "committed")
        for service in reversed(app.state.services):  # the lifespan's shutdown
            await asyncio.wait_for(service.stop(), 10)
    [posted] = fake.calls("aibot/response")
    assert posted.body["markdown"]["content"] == "慢慢来的回复"



async def test_stopping_does_not_wait_forever_for_a_message_that_never_commits(
        db_url, clock, engine, fake, monkeypatch, caplog):
    """A late reply's message whose database never answers must not hold the process's
    stop up until the service manager kills it: stop() gives up after its wait."""
    from bot.adapters.wecom import routes

    monkeypatch.setattr(routes, "STOP_WAIT_SECONDS", 0.2)
    runtime = build_runtime(wecom_settings(db_url, api_base=fake.base_url), clock=clock,
                            engine=engine, migrate=False)
    app = create_app(runtime, start_background=False)
    callbacks = app.state.wecom
    never = asyncio.Event()
    callbacks._track(never.wait())  # the late reply of a message still being handled
    with caplog.at_level("WARNING", logger="djbot.wecom"):
        await asyncio.wait_for(callbacks.stop(), 5)
    assert "still waiting" in caplog.text
    await asyncio.sleep(0)
    assert not callbacks.background


# --- real processes: a slow database, then SIGTERM or kill -9 ---------------------------

ROOT = Path(__file__).resolve().parent.parent
DJBOT = [sys.executable, "-m", "bot.cli"]
CHECKERS = [f"m{i:02d}" for i in range(1, 31)]
LOCK_SECONDS = 3.0  # the database is held this long


class Service:
    """`djbot serve` as a process, restartable on the same database."""

    def __init__(self, tmp_path: Path, db_url: str, api_base: str) -> None:
        self.tmp_path = tmp_path
        self.env = {
            **os.environ, "DJBOT_DATABASE_URL": db_url, "PYTHONPATH": str(ROOT),
            "DJBOT_WECOM__ENABLED": "true", "DJBOT_WECOM__CORP_ID": fw.CORP_ID,
            "DJBOT_WECOM__AIBOT_TOKEN": fw.AIBOT_TOKEN,
            "DJBOT_WECOM__AIBOT_AES_KEY": fw.AIBOT_AES_KEY,
            "DJBOT_WECOM__API_BASE": api_base,
        }
        self.process: subprocess.Popen | None = None
        self.runs = 0

    def cli(self, *args: str) -> None:
        done = subprocess.run([*DJBOT, *args], env=self.env, cwd=self.tmp_path,
                              capture_output=True, timeout=60)
        assert done.returncode == 0, done.stderr.decode()[-2000:]

    def start(self) -> str:
        self.runs += 1
        log_path = self.tmp_path / f"serve-{self.runs}.log"
        self.log = open(log_path, "wb")
        self.process = subprocess.Popen([*DJBOT, "serve", "--host", "127.0.0.1", "--port", "0"],
                                        env=self.env, cwd=self.tmp_path, stdout=self.log,
                                        stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # a real process starting, not the clock
            found = re.search(r"在 (http://\S+) 上监听", log_path.read_text())
            if found:
                url = found.group(1)
                try:
                    if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                        return url
                except httpx.HTTPError:
                    pass
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError(log_path.read_text())

    def stop(self, sig=signal.SIGTERM) -> int | None:
        if self.process is None:
            return None
        self.process.send_signal(sig)
        try:
            code = self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait()
        self.log.close()
        self.process = None
        return code


@contextmanager
def write_lock_held(db_url: str, seconds: float):
    """Another connection holds the database's write lock for `seconds` (in a thread)."""
    ready = threading.Event()

    def hold() -> None:
        if db_url.startswith("sqlite"):
            conn = sqlite3.connect(db_url.removeprefix("sqlite:///"), isolation_level=None)
            conn.execute("BEGIN IMMEDIATE")  # SQLite's one writer
        else:
            import psycopg
            from sqlalchemy.engine import make_url

            url = make_url(db_url)
            conn = psycopg.connect(url.set(drivername="postgresql", query={})
                                   .render_as_string(hide_password=False),
                                   options=url.query["options"],
                                   application_name=url.query["application_name"])
            conn.execute("LOCK TABLE processedmessage, attendance IN EXCLUSIVE MODE")
        ready.set()
        time.sleep(seconds)
        conn.rollback() if not db_url.startswith("sqlite") else conn.execute("ROLLBACK")
        conn.close()

    thread = threading.Thread(target=hold)
    thread.start()
    assert ready.wait(10)
    try:
        yield
    finally:
        thread.join()


async def deliver(url: str, user: str, text: str, msgid: str, chat: str = "grp-1"):
    """One AI-bot callback as WeCom sends it: (status or None when unanswered, stream)."""
    payload = fw.text_callback(msgid=msgid, user=user, text=text, chatid=chat)
    params, body = fw.aibot_request(payload, timestamp=int(time.time()), nonce=msgid[-8:])
    try:
        # Longer than WeCom's 5 s, so a loaded CI machine does not turn slowness into retries.
        async with httpx.AsyncClient(base_url=url, timeout=15.0) as http:
            response = await http.post("/wecom/aibot", params=params, content=body)
    except httpx.HTTPError:
        return None, None
    if response.status_code != 200:
        return response.status_code, None
    return 200, fw.open_aibot_reply(response.json())["stream"]


@pytest.fixture(params=["sqlite", "postgres"])
def service_db(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'djbot.db'}"
        return
    from tests.conftest import POSTGRES_URL, postgres_schema

    if not POSTGRES_URL:
        pytest.skip("PostgreSQL not configured: set DJBOT_TEST_POSTGRES_URL")
    with postgres_schema(POSTGRES_URL) as url:
        yield url


async def connected(url: str, count: int) -> None:
    """Wait until `count` connections to the service are established (from /proc), and a
    moment more for the service to read their requests."""
    port = f"{int(url.rsplit(':', 1)[1]):04X}"
    for _ in range(200):  # waiting for real sockets, not for the clock
        try:
            lines = Path("/proc/net/tcp").read_text().splitlines()[1:]
        except OSError:
            break
        established = [line for line in lines
                       if line.split()[1].endswith(f":{port}") and line.split()[3] == "01"]
        if len(established) >= count:
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.5)


async def stop_under_load(service: Service, url: str, db_url: str, sig, round_: str) -> dict:
    """Check-ins arrive while the write lock is held; the service is stopped meanwhile.
    Returns each member's first answer: (status or None, stream)."""
    with write_lock_held(db_url, LOCK_SECONDS):
        sends = [asyncio.create_task(deliver(url, m, "签到", f"{round_}-{m}"))
                 for m in CHECKERS]
        await connected(url, len(CHECKERS))  # the check-ins are in, waiting on the lock
        stopping = asyncio.create_task(asyncio.to_thread(service.stop, sig))
        answers = await asyncio.gather(*sends)
    await stopping
    for status, stream in answers:
        if status == 200:  # a 200 is a finished, committed answer, never "正在处理…"
            assert stream["finish"] is True and "签到" in stream["content"], stream
    return dict(zip(CHECKERS, answers))


@pytest.mark.own_databases
async def test_every_acknowledged_check_in_survives_a_slow_database_and_a_stop(
        service_db, tmp_path, fake):
    """Two theme days: the first stopped by SIGTERM, the second by kill -9, each while the
    database's write lock is held. After a restart and WeCom's retries, every check-in that
    was answered 200 is stored, and each member is stored exactly once per day."""
    roster = tmp_path / "roster.csv"
    lines = ["支部,姓名,角色,企业微信ID,钉钉ID", "一支部,王书记,书记,sec,"]
    lines += [f"一支部,党员{m},党员,{m}," for m in CHECKERS]
    roster.write_text("\n".join(lines) + "\n", encoding="utf-8")
    service = Service(tmp_path, service_db, fake.base_url)
    service.cli("db", "upgrade")
    service.cli("import-roster", str(roster))
    acknowledged: dict[str, set[str]] = {}
    try:
        url = service.start()
        assert (await deliver(url, "sec", "绑定 一支部", "bind-1"))[0] == 200
        for round_, sig in (("term", signal.SIGTERM), ("kill", signal.SIGKILL)):
            # Each day's its own topic: 开始 again with none would carry the first day on.
            topic = {"term": "学党章", "kill": "讲党史"}[round_]
            assert (await deliver(url, "sec", f"开始 主题党日 {topic}", f"open-{round_}"))[0] == 200
            first = await stop_under_load(service, url, service_db, sig, round_)
            acknowledged[round_] = {m for m, (status, _) in first.items() if status == 200}
            if sig == signal.SIGTERM:  # requests in flight were finished before the exit
                assert acknowledged[round_] == set(CHECKERS)
            # WeCom retries what got no 200; the restarted service answers all of them.
            url = service.start()
            again = await asyncio.gather(*(deliver(url, m, "签到", f"{round_}-{m}")
                                           for m in CHECKERS))
            assert all(status == 200 and stream["finish"] for status, stream in again), again
            assert (await deliver(url, "sec", "结束", f"close-{round_}"))[0] == 200
    finally:
        service.stop()

    engine = create_engine(normalize_url(service_db))
    with Session(engine) as session:
        attended = session.exec(select(Attendance.activity_id, Member.name).join(
            Member, Attendance.member_id == Member.id)).all()
        answered = session.exec(select(ProcessedMessage.message_id).where(
            ProcessedMessage.message_id.like("term-%")
            | ProcessedMessage.message_id.like("kill-%"))).all()
    engine.dispose()
    assert len(attended) == len(set(attended)) == 2 * len(CHECKERS)  # exactly once each day
    assert sorted(answered) == sorted(f"{r}-{m}" for r in ("term", "kill") for m in CHECKERS)


# --- a database djbot cannot write is a one-line error -----------------------------------


@contextmanager
def read_only_urls(tmp_path):
    """Migrated databases reached read-only: a SQLite file opened mode=ro, and (when a
    server is configured) a PostgreSQL connection whose transactions are read-only."""
    from sqlalchemy.engine import make_url

    from storage import db
    from tests.conftest import POSTGRES_URL, postgres_schema

    path = tmp_path / "ro.db"
    engine = db.make_engine(f"sqlite:///{path}")
    db.upgrade(engine)
    engine.dispose()
    urls = [f"sqlite:///file:{path}?mode=ro&uri=true"]
    if not POSTGRES_URL:
        yield urls
        return
    with postgres_schema(POSTGRES_URL) as url:
        engine = db.make_engine(url)
        db.upgrade(engine)
        engine.dispose()
        parsed = make_url(url)
        options = parsed.query["options"] + " -cdefault_transaction_read_only=on"
        yield urls + [parsed.update_query_dict({"options": options})
                      .render_as_string(hide_password=False)]


@pytest.mark.own_databases
def test_a_database_djbot_cannot_write_is_one_line(tmp_path):
    import logging

    djbot_log = logging.getLogger("djbot")
    handlers, level = djbot_log.handlers[:], djbot_log.level  # the CLI sets up logging
    with read_only_urls(tmp_path) as urls:
        try:
            for url in urls:
                check_refused(url)
        finally:
            djbot_log.handlers[:], djbot_log.level = handlers, level


def check_refused(url: str) -> None:
    from typer.testing import CliRunner

    from bot.cli import app

    env = {"DJBOT_DATABASE_URL": url}
    for args in (["serve", "--port", "0"], ["chat", "--user", "u1", "帮助"]):
        result = CliRunner().invoke(app, args, env=env)
        assert result.exit_code == 2, (args, result.output)
        assert "Traceback" not in result.output
        [line] = result.output.strip().splitlines()
        assert line.startswith("数据库") and "写" in line, line
    doctor = CliRunner().invoke(app, ["doctor", "database"], env=env)
    assert doctor.exit_code == 1 and "[!!]" in doctor.output and "写入" in doctor.output
