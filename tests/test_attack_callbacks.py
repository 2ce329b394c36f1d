"""Attacks on the callback endpoints: replayed DingTalk headers, reply URLs aimed at djbot's
own machine, and malformed bodies that used to answer 500. Each reproduces the attack as an
attacker would send it and asserts what a user would notice: refused, nothing stored."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import threading

import httpx
import pytest
from sqlmodel import Session, func, select

from bot.adapters.dingtalk.signing import sign
from bot.app import create_app
from bot.config import DingtalkSettings, Settings
from bot.logs import JsonFormatter
from bot.runtime import build_runtime
from storage.callbacks import BODIES_PER_PAIR, SAME_MOMENT
from storage.models import Attendance, Branch, Member, OutboxMessage, ProcessedMessage, Role
from tests import fake_wecom as fw
from tests.factories import bind_chat, make_branch, make_member, seed
from tests.fake_dingtalk import FakeDingtalk, robot_message
from tests.test_wecom_routes import wecom_settings

GROUP = "cidGroup1"


@pytest.fixture
def fake():
    with FakeDingtalk() as server:
        yield server


@pytest.fixture
def dingtalk_runtime(db_url, clock, engine, fake):
    settings = Settings(
        database_url=db_url, _env_file=None,
        dingtalk=DingtalkSettings(enabled=True, app_key=fake.app_key, app_secret=fake.app_secret,
                                  robot_code="ding-robot", api_base=fake.base_url))
    return build_runtime(settings, clock=clock, engine=engine, migrate=False)


@pytest.fixture
async def ding(dingtalk_runtime):
    app = create_app(dingtalk_runtime, start_background=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app),
                                 base_url="http://djbot") as client:
        yield client


def count(engine, model) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(model)).one()


def headers_for(timestamp: int, secret: str) -> dict[str, str]:
    return {"timestamp": str(timestamp), "sign": sign(timestamp, secret),
            "content-type": "application/json"}


class Loopback:
    """A listener on 127.0.0.1 that counts every connection made to it."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self.sock.close()


# --- DingTalk: a captured header pair is not a skeleton key ------------------------------


def _admin_and_member(session):
    branch = make_branch(session, "一支部")
    bind_chat(session, branch, GROUP, platform="dingtalk")
    make_member(session, branch, "王书记", role=Role.ADMIN, dingtalk="admin1")
    make_member(session, branch, "张伟", dingtalk="zhangwei")


async def test_a_captured_header_pair_cannot_carry_another_body(dingtalk_runtime, ding, fake,
                                                                engine, clock):
    seed(engine, _admin_and_member)
    now_ms = int(clock.now().timestamp() * 1000)
    genuine = robot_message(msg_id="g-1", sender="zhangwei", text="帮助", now_ms=now_ms,
                            webhook=fake.session_webhook("g-1"))
    headers = headers_for(now_ms, fake.app_secret)  # seen once on the wire
    body = json.dumps(genuine, ensure_ascii=False).encode()
    assert (await ding.post("/dingtalk/callback", content=body, headers=headers)).status_code == 200
    # DingTalk's own retry (same pair, same body) is still welcome, and counted once.
    assert (await ding.post("/dingtalk/callback", content=body, headers=headers)).status_code == 200

    forged = robot_message(msg_id="f-1", sender="admin1", text="设置角色 张伟 管理员",
                           now_ms=now_ms, webhook=fake.session_webhook("f-1"))
    clock.advance(minutes=30)  # well inside the freshness window
    refused = await ding.post("/dingtalk/callback", headers=headers,
                              content=json.dumps(forged, ensure_ascii=False).encode())
    assert refused.status_code == 409
    assert count(engine, ProcessedMessage) == 1
    with Session(engine) as session:
        zhang = session.exec(select(Member).where(Member.name == "张伟")).one()
    assert zhang.role == Role.MEMBER


async def test_a_replayed_callback_does_not_post_into_the_group_again(dingtalk_runtime, ding,
                                                                      fake, engine, clock):
    """The same pair and body, replayed every ten minutes within the hour: each is
    admitted as a retry and changes nothing, and the group sees the answer once."""
    seed(engine, _admin_and_member)
    now_ms = int(clock.now().timestamp() * 1000)
    genuine = robot_message(msg_id="g-1", sender="zhangwei", text="帮助", now_ms=now_ms,
                            webhook=fake.session_webhook("g-1"))
    headers = headers_for(now_ms, fake.app_secret)
    body = json.dumps(genuine, ensure_ascii=False).encode()
    assert (await ding.post("/dingtalk/callback", content=body, headers=headers)
            ).status_code == 200
    assert fake.wait_for(lambda: fake.delivered("/session/g-1"))
    for _ in range(5):
        clock.advance(minutes=10)  # well after any retry of DingTalk's, inside the hour
        assert (await ding.post("/dingtalk/callback", content=body, headers=headers)
                ).status_code == 200
    assert len(fake.delivered("/session/g-1")) == 1  # a reply goes before post() returns
    assert count(engine, ProcessedMessage) == 1 and count(engine, OutboxMessage) == 0


async def test_a_retry_soon_after_is_answered_once_more(dingtalk_runtime, ding, fake, engine,
                                                        clock):
    """DingTalk delivering a message again moments later may not have our answer. The
    replica that sent it knows it went, and sends nothing; another replica does not know,
    so it gets the reply once more, and only once, however often it comes."""
    seed(engine, _admin_and_member)
    now_ms = int(clock.now().timestamp() * 1000)
    genuine = robot_message(msg_id="g-2", sender="zhangwei", text="帮助", now_ms=now_ms,
                            webhook=fake.session_webhook("g-2"))
    headers = headers_for(now_ms, fake.app_secret)
    body = json.dumps(genuine, ensure_ascii=False).encode()
    other = create_app(dingtalk_runtime, start_background=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(other),
                                 base_url="http://djbot") as replica:
        for client in (ding, ding, replica, replica, replica):
            assert (await client.post("/dingtalk/callback", content=body, headers=headers)
                    ).status_code == 200
            clock.advance(seconds=20)
            if client is ding:
                assert len(fake.delivered("/session/g-2")) == 1
    bodies = [r.body for r in fake.delivered("/session/g-2")]
    assert len(bodies) == 2 and bodies[0] == bodies[1]


async def _theme_day_opened(engine, ding, fake, clock) -> int:
    """The branch with its admin and 张伟, a 主题党日 open; now in milliseconds."""
    seed(engine, _admin_and_member)
    now_ms = int(clock.now().timestamp() * 1000)
    opener = robot_message(msg_id="o-1", sender="admin1", text="开始 主题党日", now_ms=now_ms - 1,
                           webhook=fake.session_webhook("o-1"))
    await ding.post("/dingtalk/callback", headers=headers_for(now_ms - 1, fake.app_secret),
                    content=json.dumps(opener, ensure_ascii=False).encode())
    return now_ms


@pytest.mark.parametrize("first_text", ["签到", "不存在的指令"])
async def test_the_pair_is_kept_with_a_check_in_or_a_refusal_too(first_text, dingtalk_runtime,
                                                                 ding, fake, engine, clock):
    """The pair is recorded in the message's own transaction: by 签到's quick lane, and by
    a message whose answer is an error (whose other changes are rolled back)."""
    now_ms = await _theme_day_opened(engine, ding, fake, clock)
    first = robot_message(msg_id="g-1", sender="zhangwei", text=first_text, now_ms=now_ms,
                          webhook=fake.session_webhook("g-1"))
    headers = headers_for(now_ms, fake.app_secret)
    assert (await ding.post("/dingtalk/callback", headers=headers,
                            content=json.dumps(first, ensure_ascii=False).encode())
            ).status_code == 200

    forged = robot_message(msg_id="f-1", sender="admin1", text="设置角色 张伟 管理员",
                           now_ms=now_ms, webhook=fake.session_webhook("f-1"))
    clock.advance(seconds=SAME_MOMENT.total_seconds() + 1)
    refused = await ding.post("/dingtalk/callback", headers=headers,
                              content=json.dumps(forged, ensure_ascii=False).encode())
    assert refused.status_code == 409
    assert count(engine, ProcessedMessage) == 2  # 开始 and the first message only


async def test_a_captured_pair_cannot_check_someone_else_in(dingtalk_runtime, ding, fake,
                                                             engine, clock):
    """签到's quick lane claims the pair with the check-in's own writes (one statement on
    PostgreSQL): a pair used before fails them, and the general path tells DingTalk's retry
    (the same body: counted once) from a replay (another body: 409)."""
    now_ms = await _theme_day_opened(engine, ding, fake, clock)
    headers = headers_for(now_ms, fake.app_secret)
    genuine = json.dumps(robot_message(msg_id="g-1", sender="zhangwei", text="签到",
                                       now_ms=now_ms, webhook=fake.session_webhook("g-1")),
                         ensure_ascii=False).encode()
    assert (await ding.post("/dingtalk/callback", headers=headers, content=genuine)
            ).status_code == 200

    forged = json.dumps(robot_message(msg_id="f-1", sender="admin1", text="签到", now_ms=now_ms,
                                      webhook=fake.session_webhook("f-1")),
                        ensure_ascii=False).encode()
    clock.advance(seconds=SAME_MOMENT.total_seconds() + 1)
    refused = await ding.post("/dingtalk/callback", headers=headers, content=forged)
    assert refused.status_code == 409
    assert (await ding.post("/dingtalk/callback", headers=headers, content=genuine)
            ).status_code == 200
    with Session(engine) as session:
        present = session.exec(select(Member.name).join(
            Attendance, Attendance.member_id == Member.id)).all()
    assert present == ["张伟"]
    assert count(engine, ProcessedMessage) == 2  # 开始 and 张伟's 签到, once


async def test_members_checking_in_in_the_same_millisecond_are_all_counted(
        dingtalk_runtime, ding, fake, engine, clock):
    """DingTalk signs the timestamp alone: callbacks it sends in the same millisecond (a
    theme day's opening minute across the bureau) carry the same pair. Each is taken, and
    each retried delivery is counted once; a fifth body on the pair is refused."""
    now_ms = await _theme_day_opened(engine, ding, fake, clock)
    names = ["张伟", "李娜", "赵强", "钱芳", "孙磊"]
    with Session(engine) as session:
        branch = session.exec(select(Member)).first().branch_id
    seed(engine, lambda session: [
        make_member(session, session.get(Branch, branch), name, dingtalk=f"twin{i}")
        for i, name in enumerate(names[1:], start=1)])
    headers = headers_for(now_ms, fake.app_secret)
    bodies = [json.dumps(robot_message(msg_id=f"t-{i}", sender="zhangwei" if i == 0 else f"twin{i}",
                                       text="签到", now_ms=now_ms,
                                       webhook=fake.session_webhook(f"t-{i}")),
                         ensure_ascii=False).encode() for i in range(len(names))]
    answers = await asyncio.gather(*(ding.post("/dingtalk/callback", headers=headers, content=body)
                                     for body in bodies[:BODIES_PER_PAIR]))
    assert [answer.status_code for answer in answers] == [200] * BODIES_PER_PAIR
    retried = await ding.post("/dingtalk/callback", headers=headers, content=bodies[1])
    assert retried.status_code == 200
    assert (await ding.post("/dingtalk/callback", headers=headers, content=bodies[-1])
            ).status_code == 409
    with Session(engine) as session:
        present = session.exec(select(Member.name).join(
            Attendance, Attendance.member_id == Member.id)).all()
    assert sorted(present) == sorted(names[:BODIES_PER_PAIR])
    assert count(engine, ProcessedMessage) == 1 + BODIES_PER_PAIR  # 开始, then each once


async def test_a_pair_shared_in_its_millisecond_is_no_key_later(dingtalk_runtime, ding, fake,
                                                                engine, clock):
    """Two members' callbacks shared a pair; once the moment has passed, neither a third
    body nor the pair's first body with another sender gets in. Their own retries do."""
    now_ms = await _theme_day_opened(engine, ding, fake, clock)
    headers = headers_for(now_ms, fake.app_secret)
    twins = [json.dumps(robot_message(msg_id=f"t-{who}", sender=who, text="帮助", now_ms=now_ms,
                                      webhook=fake.session_webhook(f"t-{who}")),
                        ensure_ascii=False).encode() for who in ("zhangwei", "admin1")]
    for body in twins:
        assert (await ding.post("/dingtalk/callback", headers=headers, content=body)
                ).status_code == 200
    clock.advance(seconds=SAME_MOMENT.total_seconds() + 1)
    forged = robot_message(msg_id="f-1", sender="admin1", text="设置角色 张伟 管理员",
                           now_ms=now_ms, webhook=fake.session_webhook("f-1"))
    assert (await ding.post("/dingtalk/callback", headers=headers,
                            content=json.dumps(forged, ensure_ascii=False).encode())
            ).status_code == 409
    for body in twins:
        assert (await ding.post("/dingtalk/callback", headers=headers, content=body)
                ).status_code == 200
    assert count(engine, ProcessedMessage) == 3  # 开始 and the twins, once each
    with Session(engine) as session:
        zhang = session.exec(select(Member).where(Member.name == "张伟")).one()
    assert zhang.role == Role.MEMBER


@pytest.mark.parametrize("ignored,status", [("picture", 200), ("outsider", 400)])
async def test_a_pair_captured_from_a_message_djbot_ignores_cannot_carry_a_command(
        ignored, status, dingtalk_runtime, ding, fake, engine, clock):
    """A member @-mentions the robot with a picture (200, nothing to do), or someone from
    outside the organisation, who has no staffId, writes to it (400): nothing is handled,
    but the pair was on the wire all the same. Carrying an admin's command in it afterwards
    is a replay like any other: 409, nothing changed. DingTalk's retry (same pair, same
    body) is still answered as the first delivery was."""
    seed(engine, _admin_and_member)
    now_ms = int(clock.now().timestamp() * 1000)
    headers = headers_for(now_ms, fake.app_secret)
    genuine = robot_message(msg_id="p-1", sender="zhangwei", text="签到", now_ms=now_ms,
                            webhook=fake.session_webhook("p-1"))
    if ignored == "picture":
        del genuine["text"]
        genuine.update(msgtype="picture", content={"downloadCode": "dc-1"})
    else:
        del genuine["senderStaffId"]
    for _ in range(2):
        assert (await ding.post("/dingtalk/callback", headers=headers,
                                content=json.dumps(genuine, ensure_ascii=False).encode())
                ).status_code == status

    forged = robot_message(msg_id="f-1", sender="admin1", text="设置角色 张伟 管理员",
                           now_ms=now_ms, webhook=fake.session_webhook("f-1"))
    clock.advance(minutes=10)
    refused = await ding.post("/dingtalk/callback", headers=headers,
                              content=json.dumps(forged, ensure_ascii=False).encode())
    assert refused.status_code == 409
    assert count(engine, ProcessedMessage) == 0
    with Session(engine) as session:
        zhang = session.exec(select(Member).where(Member.name == "张伟")).one()
    assert zhang.role == Role.MEMBER


# --- djbot posts only where the platform lives --------------------------------------------


@pytest.mark.parametrize("host", ["127.0.0.1", "2130706433", "[::ffff:127.0.0.1]", "own"])
async def test_a_session_webhook_off_dingtalk_gets_no_request(host, dingtalk_runtime, ding,
                                                             fake, engine, clock):
    listener = Loopback()
    try:
        target = f"http://{host}:{listener.port}/robot/send"
        if host == "own":  # djbot's own port, as the HTTPS a proxy would forward to it
            target = f"https://127.0.0.1:{listener.port}/dingtalk/callback"
        now_ms = int(clock.now().timestamp() * 1000)
        payload = robot_message(msg_id="s-1", sender="nobody", text="帮助", now_ms=now_ms,
                                webhook=target)
        response = await ding.post("/dingtalk/callback", headers=headers_for(now_ms, fake.app_secret),
                                   content=json.dumps(payload).encode())
        assert response.status_code == 200
        assert listener.connections == 0
        # The answer still goes out, by the proactive API (the outbox).
        with Session(engine) as session:
            [queued] = session.exec(select(OutboxMessage)).all()
        assert queued.kind == "reply" and queued.target == GROUP
    finally:
        listener.close()


# --- malformed input is a 4xx, never a 500 ------------------------------------------------

DEEP = b'{"encrypt": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"


async def test_deeply_nested_json_is_refused_before_the_signature(db_url, clock, engine, ding):
    app = create_app(build_runtime(wecom_settings(db_url), clock=clock, engine=engine,
                                   migrate=False), start_background=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://d") as w:
        assert (await w.post("/wecom/aibot", content=DEEP, params={})).status_code == 400
    assert (await ding.post("/dingtalk/callback", content=DEEP)).status_code == 401


@pytest.mark.parametrize("timestamp", ["²", "1" * 5000, "-5", "１２３"])
async def test_odd_timestamps_are_refused(timestamp, db_url, clock, engine, ding, fake):
    app = create_app(build_runtime(wecom_settings(db_url), clock=clock, engine=engine,
                                   migrate=False), start_background=False)
    payload = fw.text_callback(msgid="t-1", user="lisi", text="帮助")
    params, body = fw.aibot_request(payload, timestamp=int(clock.now().timestamp()))
    params["timestamp"] = timestamp
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://d") as w:
        assert (await w.post("/wecom/aibot", params=params, content=body)).status_code == 403
    # Headers travel as bytes: a non-ASCII timestamp arrives as its UTF-8 bytes.
    headers = {"timestamp": timestamp.encode(), "sign": sign(timestamp, fake.app_secret)}
    dt = await ding.post("/dingtalk/callback", headers=headers, content=b"{}")
    assert dt.status_code == 401
    assert count(engine, ProcessedMessage) == 0


@pytest.mark.parametrize("change", [
    {"from": "cg03"}, {"from": ["x"]}, {"text": "签到"}, {"msgtype": "mixed", "mixed": "x"},
    {"msgtype": "stream", "stream": "abc"}, {"msgtype": "stream", "stream": ["abc"]},
    {"response_url": {"x": 1}},
])
async def test_wrongly_shaped_aibot_fields_are_4xx_or_ignored(change, db_url, clock, engine):
    app = create_app(build_runtime(wecom_settings(db_url), clock=clock, engine=engine,
                                   migrate=False), start_background=False)
    payload = {**fw.text_callback(msgid="w-1", user="lisi", text="帮助"), **change}
    params, body = fw.aibot_request(payload, timestamp=int(clock.now().timestamp()))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://d") as w:
        response = await w.post("/wecom/aibot", params=params, content=body)
    assert response.status_code < 500
    if response.status_code != 200:
        assert count(engine, ProcessedMessage) == 0


@pytest.mark.parametrize("poison", ["\ud800", "\x00"], ids=["lone-surrogate", "nul"])
async def test_lone_surrogates_and_nul_are_refused_alike_on_every_database(
        poison, db_url, clock, engine, ding, fake):
    now = int(clock.now().timestamp())
    app = create_app(build_runtime(wecom_settings(db_url), clock=clock, engine=engine,
                                   migrate=False), start_background=False)
    payload = fw.text_callback(msgid="p-1", user="lisi", text=f"请假 家里{poison}有事")
    # json.dumps escapes both as \\uXXXX, as a platform (or an attacker) would send them.
    params, encrypt = fw.seal(fw.AIBOT_TOKEN, fw.AIBOT_AES_KEY, "", json.dumps(payload),
                              timestamp=now)
    body = json.dumps({"encrypt": encrypt}).encode()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://d") as w:
        assert (await w.post("/wecom/aibot", params=params, content=body)).status_code == 400
    message = robot_message(msg_id="p-2", sender="lisi", text=f"签到{poison}", now_ms=now * 1000)
    response = await ding.post("/dingtalk/callback", headers=headers_for(now * 1000, fake.app_secret),
                               content=json.dumps(message).encode())
    assert response.status_code == 400
    assert count(engine, ProcessedMessage) == 0


async def test_an_uncaught_error_is_logged_as_json_and_counted(db_url, clock, engine,
                                                               monkeypatch, caplog):
    from bot import metrics
    from bot.adapters.wecom import routes

    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(routes, "parse_aibot", broken)
    app = create_app(build_runtime(wecom_settings(db_url), clock=clock, engine=engine,
                                   migrate=False), start_background=False)
    before = metrics.CALLBACKS.labels("wecom", "error")._value.get()
    payload = fw.text_callback(msgid="e-1", user="lisi", text="帮助")
    params, body = fw.aibot_request(payload, timestamp=int(clock.now().timestamp()))
    caplog.set_level(logging.ERROR, logger="djbot")
    logging.getLogger("djbot").propagate = True
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://d") as w:
        response = await w.post("/wecom/aibot", params=params, content=body)
    assert response.status_code == 500 and "a bug" not in response.text
    assert metrics.CALLBACKS.labels("wecom", "error")._value.get() == before + 1
    record = [r for r in caplog.records if r.name == "djbot.http"][-1]
    line = json.loads(JsonFormatter().format(record))
    assert line["level"] == "error" and "RuntimeError: a bug" in line["exc"]
