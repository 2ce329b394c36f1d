"""WeCom callbacks through the real FastAPI app: published vectors, an AI-bot round trip,
the slow path (answered only once committed), and every kind of bad input (4xx, nothing stored, reason logged)."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timezone

import httpx
import pytest
from sqlmodel import Session, select

from bot.app import create_app
from bot.config import Settings, WecomSettings
from bot.core import Reply
from bot.registry import Command
from bot.runtime import build_runtime
from storage.models import ProcessedMessage, Role
from tests import fake_wecom as fw

# Vector B: the WeCom team's sample (sbzhu/weworkapi_python, callback/Sample.py).
B_TOKEN = "hJqcu3uJ9Tn2gXPmxx2w9kkCkCE2EPYo"
B_KEY = "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt"
B_CORP = "ww1436e0e65a779aee"
B_ENCRYPT = ("Kl7kjoSf6DMD1zh7rtrHjFaDapSCkaOnwu3bqLc5tAybhhMl9pFeK8NslNPVdMwmBQTNoW4mY7AIjeLvEl3Nye"
             "TkAgGzBhzTtRLNshw2AEew+kkYcD+Fq72Kt00fT0WnN87hGrW8SqGc+NcT3mu87Ha3dz1pSDi6GaUA6A0sqfd"
             "e0VJPQbZ9U+3JWcoD4Z5jaU0y9GSh010wsHF8KZD24YhmZH4ch4Ka7ilEbjbfvhKkNL65HHL0J6EYJIZUC2p"
             "FrdkJ7MhmEbU2qARR4iQHE7wy24qy0cRX3Mfp6iELcDNfSsPGjUQVDGxQDCWjayJOpcwocugux082f49HKYg8"
             "4EpHSGXAyh+/oxwaWbvL6aSDPOYuPDGOCI8jmnKiypE+")
# Vector C: wechatpy 1.8.18 tests/test_crypto.py.
C_TOKEN = "123456"
C_KEY = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"
C_CORP = "wx49f0ab532d5d035a"
C_ENCRYPT = ("RgqEoJj5A4EMYlLvWO1F86ioRjZfaex/gePD0gOXTxpsq5Yj4GNglrBb8I2BAJVODGajiFnXBu7mCPatfjsu6I"
             "HCrsTyeDXzF6Bv283dGymzxh6ydJRvZsryDyZbLTE7rhnus50qGPMfp2wASFlzEgMW9z1ef/RD8XzaFYgm7iTd"
             "aXpXaG4+BiYyolBug/gYNx410cvkKR2/nPwBiT+P4hIiOAQqGp/TywZBtDh1yCF2KOd0gpiMZ5jSw3e29mTvm"
             "UHzkVQiMS6td7vXUaWOMZnYZlF3So2SjHnwh4jYFxdgpkHHqIrH/54SNdshoQgWYEvccTKe7FS709/5t6NMx"
             "uGhcUGAPOQipvWTT4dShyqio7mlsl5noTrb++x6En749zCpQVhDpbV6GDnTbcX2e8K9QaNWHp91eBdCRxthuL0=")


def at(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, timezone.utc)


def wecom_settings(db_url: str, **over) -> Settings:
    wecom = dict(enabled=True, corp_id=fw.CORP_ID, aibot_token=fw.AIBOT_TOKEN,
                 aibot_aes_key=fw.AIBOT_AES_KEY, app_token=fw.APP_TOKEN,
                 app_aes_key=fw.APP_AES_KEY, agent_id="1000002", app_secret=fw.APP_SECRET,
                 api_base="http://127.0.0.1:9")
    wecom.update(over)
    return Settings(database_url=db_url, wecom=WecomSettings(**wecom), _env_file=None)


def client_for(settings, clock, engine) -> httpx.AsyncClient:
    runtime = build_runtime(settings, clock=clock, engine=engine, migrate=False)
    app = create_app(runtime, start_background=False)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://djbot")


def processed(engine) -> list[ProcessedMessage]:
    with Session(engine) as session:
        return list(session.exec(select(ProcessedMessage)))


async def test_vector_b_verifies_and_decrypts_through_app(db_url, clock, engine):
    settings = wecom_settings(db_url, app_token=B_TOKEN, app_aes_key=B_KEY, corp_id=B_CORP)
    async with client_for(settings, clock, engine) as http:
        clock.set(at(1476416373))
        verify = await http.get("/wecom/app", params={
            "msg_signature": "012bc692d0a58dd4b10f8dfe5c4ac00ae211ebeb",
            "timestamp": "1476416373", "nonce": "47744683",
            "echostr": "fsi1xnbH4yQh0+PJxcOdhhK6TDXkjMyhEPA7xB2TGz6b+g7xyAbEkRxN/3cNXW9qdqjnoVz"
                       "EtpbhnFyq6SVHyA=="})
        assert verify.status_code == 200
        assert verify.text == "1288432023552776189"  # no quotes, no newline

        clock.set(at(1476422779))
        body = (f"<xml><ToUserName><![CDATA[{B_CORP}]]></ToUserName><Encrypt><![CDATA["
                f"{B_ENCRYPT}]]></Encrypt><AgentID><![CDATA[1000002]]></AgentID></xml>")
        response = await http.post("/wecom/app", content=body, params={
            "msg_signature": "0c3914025cb4b4d68103f6bfc8db550f79dcf48e",
            "timestamp": "1476422779", "nonce": "1597212914"})
    assert response.status_code == 200
    reply = fw.open_app_reply(response.text, token=B_TOKEN, aes_key=B_KEY, corp_id=B_CORP)
    # ChenJiaShun said 你好, which is not a command: the answer goes back to him.
    assert reply["ToUserName"] == "ChenJiaShun"
    assert reply["Content"] == "在的。发送「帮助」查看我能做什么。"
    [row] = processed(engine)
    assert (row.message_id, row.sender_id) == ("app:1456453720", "ChenJiaShun")


async def test_vector_c_verifies_and_decrypts_through_app(db_url, clock, engine):
    settings = wecom_settings(db_url, app_token=C_TOKEN, app_aes_key=C_KEY, corp_id=C_CORP)
    async with client_for(settings, clock, engine) as http:
        clock.set(at(1411443780))
        verify = await http.get("/wecom/app", params={
            "msg_signature": "dd6b9c95b495b3f7e2901bfbc76c664930ffdb96",
            "timestamp": "1411443780", "nonce": "437374425",
            "echostr": "4ByGGj+sVCYcvGeQYhaKIk1o0pQRNbRjxybjTGblXrBaXlTXeOo1+bXFXDQQb1o6co6Yh9B"
                       "v41n7hOchLF6p+Q=="})
        assert verify.text == "5927782489442352469"

        clock.set(at(1411525903))
        body = (f"<xml><ToUserName><![CDATA[{C_CORP}]]></ToUserName>\n<Encrypt><![CDATA["
                f"{C_ENCRYPT}]]></Encrypt>\n<AgentID><![CDATA[1]]></AgentID>\n</xml>")
        response = await http.post("/wecom/app", content=body, params={
            "msg_signature": "74d92dfeb87ba7c714f89d98870ae5eb62dff26d",
            "timestamp": "1411525903", "nonce": "461056294"})
    assert response.status_code == 200
    reply = fw.open_app_reply(response.text, token=C_TOKEN, aes_key=C_KEY, corp_id=C_CORP)
    assert reply["ToUserName"] == "messense"
    assert "test" in reply["Content"]  # "没有「test」这个指令…"
    [row] = processed(engine)
    assert row.sender_id == "messense"


async def test_aibot_json_round_trip(db_url, clock, engine):
    now = int(clock.now().timestamp())
    async with client_for(wecom_settings(db_url), clock, engine) as http:
        params, _ = fw.seal(fw.AIBOT_TOKEN, fw.AIBOT_AES_KEY, "", "", timestamp=now)
        verify_params, echo = fw.seal(fw.AIBOT_TOKEN, fw.AIBOT_AES_KEY, "", "echo-42",
                                      timestamp=now)
        verify = await http.get("/wecom/aibot", params={**verify_params, "echostr": echo})
        assert verify.text == "echo-42"

        payload = fw.text_callback(msgid="m-1", user="zhangsan", text="帮助", chatid="chat-1")
        params, body = fw.aibot_request(payload, timestamp=now)
        response = await http.post("/wecom/aibot", params=params, content=body)
        again = await http.post("/wecom/aibot", params=params, content=body)
    assert response.status_code == 200
    answer = fw.open_aibot_reply(response.json())
    assert answer["msgtype"] == "stream"
    assert answer["stream"]["finish"] is True and answer["stream"]["id"] == "m-1"
    assert "党建助手可用指令" in answer["stream"]["content"]
    # The retried delivery gets the same words back and is stored once.
    assert fw.open_aibot_reply(again.json())["stream"]["content"] == answer["stream"]["content"]
    [row] = processed(engine)
    assert (row.chat_id, row.sender_id, row.message_id) == ("chat-1", "zhangsan", "m-1")


async def test_slow_work_is_answered_finished_once_committed(db_url, clock, engine):
    """No unfinished stream: the answer waits for the commit (WeCom retries past 5 s)."""
    release = asyncio.Event()
    loop = asyncio.get_running_loop()

    def slow(ctx, args):
        asyncio.run_coroutine_threadsafe(release.wait(), loop).result(10)
        return Reply("慢慢来的回复")

    now = int(clock.now().timestamp())
    runtime = build_runtime(wecom_settings(db_url), clock=clock, engine=engine, migrate=False)
    runtime.registry.add(Command(name="慢", summary="slow", handler=slow, needs_member=False,
                                 needs_binding=False))
    app = create_app(runtime, start_background=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://djbot") as http:
        payload = fw.text_callback(msgid="slow-1", user="lisi", text="慢")
        params, body = fw.aibot_request(payload, timestamp=now)
        first = asyncio.create_task(http.post("/wecom/aibot", params=params, content=body))
        await asyncio.sleep(0.05)  # the handler thread is parked on `release`
        assert not first.done()  # nothing said before the commit
        retry = asyncio.create_task(http.post("/wecom/aibot", params=params, content=body))
        release.set()
        answers = [fw.open_aibot_reply((await t).json()) for t in (first, retry)]
    for answer in answers:
        assert answer["stream"] == {"id": "slow-1", "finish": True, "content": "慢慢来的回复"}
    assert [r.message_id for r in processed(engine)] == ["slow-1"]


async def test_refresh_is_answered_from_the_database(db_url, clock, engine):
    """A refresh (a stream left unfinished before an upgrade, or by another replica)."""
    now = int(clock.now().timestamp())
    async with client_for(wecom_settings(db_url), clock, engine) as http:
        payload = fw.text_callback(msgid="m-9", user="lisi", text="帮助")
        params, body = fw.aibot_request(payload, timestamp=now)
        await http.post("/wecom/aibot", params=params, content=body)
        refresh = {"msgid": "r-1", "aibotid": "AIBOTID", "chattype": "single",
                   "from": {"userid": "lisi"}, "msgtype": "stream", "stream": {"id": "m-9"}}
        params, body = fw.aibot_request(refresh, timestamp=now)
        stored = fw.open_aibot_reply((await http.post("/wecom/aibot", params=params,
                                                      content=body)).json())
        unknown = dict(refresh, stream={"id": "never-seen"})
        params, body = fw.aibot_request(unknown, timestamp=now)
        lost = fw.open_aibot_reply((await http.post("/wecom/aibot", params=params,
                                                    content=body)).json())
    assert stored["stream"]["finish"] is True and "党建助手可用指令" in stored["stream"]["content"]
    # Never "正在处理…" forever: a stream nobody holds is finished with a word to resend.
    assert lost["stream"]["finish"] is True and "重新发送" in lost["stream"]["content"]


# --- bad input: 4xx, nothing stored, the reason logged without body or secret -----------


def _good(clock, **over):
    payload = fw.text_callback(msgid="bad-1", user="zhangsan", text="帮助", chatid="chat-1")
    return fw.aibot_request(payload, timestamp=int(clock.now().timestamp()), **over)


@pytest.mark.parametrize(
    "case, status, reason",
    [
        ("forged signature", 401, "signature mismatch"),
        ("stale timestamp", 403, "stale timestamp"),
        ("missing timestamp", 403, "missing or non-numeric timestamp"),
        ("not json", 400, "body is not JSON"),
        ("oversized", 413, "over the limit"),
        ("other receiver", 403, "encrypted for another receiver"),
        ("wrong token", 401, "signature mismatch"),
    ],
)
async def test_bad_aibot_callbacks_are_refused(case, status, reason, db_url, clock, engine,
                                               caplog):
    params, body = _good(clock)
    if case == "forged signature":
        params["msg_signature"] = "0" * 40
    elif case == "stale timestamp":
        params, body = fw.aibot_request(
            fw.text_callback(msgid="bad-1", user="zhangsan", text="帮助", chatid="chat-1"),
            timestamp=int(clock.now().timestamp()) - 3601)
    elif case == "missing timestamp":
        del params["timestamp"]
    elif case == "not json":
        body = b"<xml>hello</xml>"
    elif case == "oversized":
        body = b'{"encrypt": "' + b"A" * (1024 * 1024) + b'"}'
    elif case == "other receiver":
        params, body = _good(clock, receive_id="ww-someone-else")
    elif case == "wrong token":
        params, body = _good(clock, token="not-our-token")
    caplog.set_level(logging.WARNING, logger="djbot")
    logging.getLogger("djbot").propagate = True
    async with client_for(wecom_settings(db_url), clock, engine) as http:
        response = await http.post("/wecom/aibot", params=params, content=body)
    assert response.status_code == status
    assert processed(engine) == []
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert reason in logged
    assert fw.AIBOT_AES_KEY not in logged and fw.AIBOT_TOKEN not in logged
    assert body[:40].decode() not in logged and "帮助" not in logged


async def test_bad_app_callbacks_are_refused(db_url, clock, engine):
    now = int(clock.now().timestamp())
    xml = fw.app_text_xml(user="zhangsan", text="帮助", msgid="1", create_time=now)
    async with client_for(wecom_settings(db_url), clock, engine) as http:
        params, body = fw.app_request(xml, timestamp=now)
        forged = dict(params, msg_signature="f" * 40)
        assert (await http.post("/wecom/app", params=forged, content=body)).status_code == 401
        assert (await http.post("/wecom/app", params=params,
                                content=b'{"encrypt": "x"}')).status_code == 400
        other, other_body = fw.app_request(xml, timestamp=now, corp_id="ww-another-corp")
        assert (await http.post("/wecom/app", params=other,
                                content=other_body)).status_code == 403
        stale, stale_body = fw.app_request(xml, timestamp=now - 7200)
        assert (await http.post("/wecom/app", params=stale,
                                content=stale_body)).status_code == 403
        big = b"<xml>" + b" " * (1024 * 1024 + 1) + b"</xml>"
        assert (await http.post("/wecom/app", params=params, content=big)).status_code == 413
        bad_verify = await http.get("/wecom/app", params={**forged, "echostr": "abc"})
        assert bad_verify.status_code == 401
    assert processed(engine) == []


async def test_routes_absent_when_wecom_disabled(db_url, clock, engine):
    settings = wecom_settings(db_url, enabled=False)
    async with client_for_disabled(settings, clock, engine) as http:
        assert (await http.post("/wecom/aibot", content=b"{}")).status_code == 404


def client_for_disabled(settings, clock, engine) -> httpx.AsyncClient:
    runtime = build_runtime(settings, clock=clock, engine=engine, migrate=False)
    app = create_app(runtime, start_background=False)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://djbot")


async def test_aibot_voice_is_answered_and_enter_chat_gets_the_welcome(db_url, clock, engine):
    from bot.adapters.common import WELCOME

    ts = int(clock.now().timestamp())
    voice = {"msgid": "v1", "aibotid": "AIBOTID", "chattype": "single",
             "from": {"userid": "zhangsan"}, "msgtype": "voice", "voice": {"content": "帮助"}}
    enter = {"msgid": "e1", "aibotid": "AIBOTID", "chattype": "single", "create_time": ts,
             "from": {"userid": "zhangsan"}, "msgtype": "event",
             "event": {"eventtype": "enter_chat"}}
    async with client_for(wecom_settings(db_url), clock, engine) as http:
        params, body = fw.aibot_request(voice, timestamp=ts)
        spoken = await http.post("/wecom/aibot", params=params, content=body)
        params, body = fw.aibot_request(enter, timestamp=ts, nonce="99")
        entered = await http.post("/wecom/aibot", params=params, content=body)
    stream = fw.open_aibot_reply(spoken.json())["stream"]
    assert stream["finish"] and "党建助手可用指令" in stream["content"]  # spoken 帮助 = typed
    assert fw.open_aibot_reply(entered.json()) == {"msgtype": "text",
                                                   "text": {"content": WELCOME}}


@pytest.mark.parametrize("create_time", ["9999999999999", "99999999999"])
async def test_an_app_message_whose_create_time_is_past_any_date_is_handled(
        db_url, clock, engine, create_time):
    """A genuine callback (right signature, fresh timestamp) whose decrypted CreateTime is
    digits but no date a computer can hold: the message is handled with the time it arrived
    (as with a missing CreateTime), never a 500 that WeCom would deliver again and again."""
    now = int(clock.now().timestamp())
    xml = fw.app_text_xml(user="zhangsan", text="帮助", msgid="ct-1", create_time=now)
    xml = xml.replace(f"<CreateTime>{now}</CreateTime>", f"<CreateTime>{create_time}</CreateTime>")
    assert create_time in xml
    async with client_for(wecom_settings(db_url), clock, engine) as http:
        params, body = fw.app_request(xml, timestamp=now)
        response = await http.post("/wecom/app", params=params, content=body)
    assert response.status_code == 200
    [row] = processed(engine)
    assert row.message_id == "app:ct-1"


def seed_big_branch(engine, names: list[str]) -> None:
    """一支部 with its secretary 王书记 (WeCom id sec), the members named, and group grp-1."""
    from tests.factories import bind_chat, make_branch, make_member, seed

    def build(session):
        branch = make_branch(session, "一支部")
        make_member(session, branch, "王书记", role=Role.SECRETARY, wecom="sec")
        for name in names:
            make_member(session, branch, name)
        bind_chat(session, branch, "grp-1")
    seed(engine, build)


async def open_theme_day(http, now: int) -> None:
    """The secretary opens a 主题党日 in grp-1 through the AI bot, so that 未签到 names all."""
    opened = fw.text_callback(msgid="open-1", user="sec", text="开始 主题党日", chatid="grp-1")
    params, body = fw.aibot_request(opened, timestamp=now)
    assert (await http.post("/wecom/aibot", params=params, content=body)).status_code == 200


async def test_a_long_app_reply_comes_whole_in_parts(db_url, clock, engine):
    """A secretary of a branch of 400 asks 未签到 privately through the self-built app. A
    passive answer holds 2048 bytes: the first part answers, the others follow by
    message/send from the outbox, numbered; every name arrives once, and WeCom's retry of
    the message queues nothing more."""
    from bot.outbox import OutboxWorker
    from storage.models import OutboxMessage

    names = [f"党员{i:03d}" for i in range(400)]
    seed_big_branch(engine, names)
    fake = fw.FakeWecom().start()
    try:
        settings = wecom_settings(db_url, api_base=fake.base_url)
        runtime = build_runtime(settings, clock=clock, engine=engine, migrate=False)
        app = create_app(runtime, start_background=False)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://djbot") as http:
            now = int(clock.now().timestamp())
            await open_theme_day(http, now)
            xml = fw.app_text_xml(user="sec", text="未签到", msgid="900001", create_time=now)
            params, body = fw.app_request(xml, timestamp=now)
            answers = [await http.post("/wecom/app", params=params, content=body)
                       for _ in range(2)]  # WeCom delivers it again
            passive = [fw.open_app_reply(a.text)["Content"] for a in answers]
            assert passive[0] == passive[1] and passive[0].startswith("（1/")
            assert len(passive[0].encode()) <= fw.APP_TEXT_LIMIT
            worker = OutboxWorker(runtime.engine, clock, app.state.senders)
            await worker.drain()
    finally:
        fake.stop()
    with Session(engine) as session:
        [row] = session.exec(select(OutboxMessage)).all()
    assert row.status == "sent"
    sent = [call.body["text"]["content"] for call in fake.calls("message/send")]
    total = int(passive[0][3:passive[0].index("）")])
    assert [part[:len(f"（{i}/{total}）")] for i, part in enumerate(sent, start=2)] == [
        f"（{i}/{total}）" for i in range(2, total + 1)]
    received = "".join([passive[0], *sent])
    assert [name for name in names if received.count(name) != 1] == []


async def test_a_long_app_reply_asked_again_comes_whole_again(db_url, clock, engine):
    """The secretary asks 未签到 privately, then again ten minutes on, nobody new having come:
    the second answer's parts 2.. were the very message/sends of the first, and WeCom's
    duplicate check (path/90236: the same request JSON within 30 minutes is not received
    again) held them back, so the second answer stopped at its first part."""
    from bot.outbox import OutboxWorker

    names = [f"党员{i:03d}" for i in range(400)]
    seed_big_branch(engine, names)
    fake = fw.FakeWecom().start()
    try:
        settings = wecom_settings(db_url, api_base=fake.base_url)
        runtime = build_runtime(settings, clock=clock, engine=engine, migrate=False)
        app = create_app(runtime, start_background=False)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://djbot") as http:
            worker = OutboxWorker(runtime.engine, clock, app.state.senders)
            now = int(clock.now().timestamp())
            await open_theme_day(http, now)
            for msgid in ("900011", "900012"):
                xml = fw.app_text_xml(user="sec", text="未签到", msgid=msgid,
                                      create_time=int(clock.now().timestamp()))
                params, body = fw.app_request(xml, timestamp=int(clock.now().timestamp()))
                assert (await http.post("/wecom/app", params=params, content=body)
                        ).status_code == 200
                await worker.drain()
                clock.advance(minutes=10)
    finally:
        fake.stop()
    calls = fake.calls("message/send")
    shown = [c.body["text"]["content"] for c in calls if not c.dropped]
    assert len(calls) >= 4 and len(shown) == len(calls)
    assert shown[:len(shown) // 2] == shown[len(shown) // 2:]  # the rest, twice, whole


async def test_a_long_ai_bot_answer_comes_whole_in_two_messages(db_url, clock, engine):
    """A secretary of a branch of 2000 asks the AI bot 未签到 privately (callback mode). A
    stream holds 20480 bytes: the stream answers with the first part, the message's
    one-shot response_url brings the rest, once; every name arrives once, and WeCom's retry
    of the message queues nothing more."""
    from bot.outbox import OutboxWorker
    from storage.models import OutboxMessage

    names = [f"党员{i:04d}" for i in range(2000)]
    seed_big_branch(engine, names)
    fake = fw.FakeWecom().start()
    try:
        runtime = build_runtime(wecom_settings(db_url, api_base=fake.base_url), clock=clock,
                                engine=engine, migrate=False)
        app = create_app(runtime, start_background=False)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://djbot") as http:
            now = int(clock.now().timestamp())
            await open_theme_day(http, now)
            asked = fw.text_callback(
                msgid="ask-1", user="sec", text="未签到",
                response_url=f"{fake.base_url}/cgi-bin/aibot/response?response_code=once")
            params, body = fw.aibot_request(asked, timestamp=now)
            answers = [await http.post("/wecom/aibot", params=params, content=body)
                       for _ in range(2)]  # WeCom delivers it again
            streams = [fw.open_aibot_reply(a.json())["stream"] for a in answers]
            worker = OutboxWorker(runtime.engine, clock, app.state.senders)
            await worker.drain()
            await worker.drain()
    finally:
        fake.stop()
    assert streams[0] == streams[1] and streams[0]["finish"] is True
    first = streams[0]["content"]
    assert first.startswith("（1/2）") and len(first.encode()) <= fw.STREAM_LIMIT
    [posted] = fake.calls("aibot/response")
    assert posted.params == {"response_code": "once"} and posted.body["msgtype"] == "markdown"
    rest = posted.body["markdown"]["content"]
    assert rest.startswith("（2/2）") and len(rest.encode()) <= fw.STREAM_LIMIT
    received = first + rest
    assert [name for name in names if received.count(name) != 1] == []
    with Session(engine) as session:
        [row] = session.exec(select(OutboxMessage)).all()
    # Sent, and the one-shot URL no longer on the row.
    assert row.status == "sent" and "response_url" not in row.payload


async def test_the_rest_of_an_answer_wecom_refused_at_its_response_url_comes_by_the_app(
        db_url, clock, engine):
    """The rest of a long AI-bot answer went dead when its one-shot response_url was refused
    (or could not be reached), to be sent by an operator's `djbot outbox retry`: nothing was
    shown, so it goes at once as any reply does (here, privately, by the app)."""
    from bot.outbox import OutboxWorker
    from storage.models import OutboxMessage

    names = [f"党员{i:04d}" for i in range(2000)]
    seed_big_branch(engine, names)
    fake = fw.FakeWecom().start()
    try:
        runtime = build_runtime(wecom_settings(db_url, api_base=fake.base_url), clock=clock,
                                engine=engine, migrate=False)
        app = create_app(runtime, start_background=False)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://djbot") as http:
            now = int(clock.now().timestamp())
            await open_theme_day(http, now)
            asked = fw.text_callback(
                msgid="ask-3", user="sec", text="未签到",
                response_url=f"{fake.base_url}/cgi-bin/aibot/response?response_code=r3")
            params, body = fw.aibot_request(asked, timestamp=now)
            await http.post("/wecom/aibot", params=params, content=body)
            fake.fail("aibot/response", "40058")
            await OutboxWorker(runtime.engine, clock, app.state.senders).drain()
    finally:
        fake.stop()
    sent = [str(c.body) for c in fake.calls("message/send") if c.body.get("touser") == "sec"]
    assert sent and any("党员1999" in body for body in sent), sent
    with Session(engine) as session:
        [row] = session.exec(select(OutboxMessage)).all()
    assert row.status == "sent" and "response_url" not in row.payload


async def test_the_rest_of_an_answer_wecom_was_too_busy_for_comes_by_the_app(
        db_url, clock, engine):
    """WeCom answered the rest's response_url POST with -1 (系统繁忙: it did nothing): the
    row went dead, the names past the stream's part were never seen unless an operator
    retried it. It goes at once as any reply does (here, privately, by the app)."""
    from bot.outbox import OutboxWorker
    from storage.models import OutboxMessage

    names = [f"党员{i:04d}" for i in range(2000)]
    seed_big_branch(engine, names)
    fake = fw.FakeWecom().start()
    try:
        runtime = build_runtime(wecom_settings(db_url, api_base=fake.base_url), clock=clock,
                                engine=engine, migrate=False)
        app = create_app(runtime, start_background=False)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://djbot") as http:
            now = int(clock.now().timestamp())
            await open_theme_day(http, now)
            asked = fw.text_callback(
                msgid="ask-4", user="sec", text="未签到",
                response_url=f"{fake.base_url}/cgi-bin/aibot/response?response_code=r4")
            params, body = fw.aibot_request(asked, timestamp=now)
            await http.post("/wecom/aibot", params=params, content=body)
            fake.fail("aibot/response", "-1")
            await OutboxWorker(runtime.engine, clock, app.state.senders).drain()
    finally:
        fake.stop()
    assert len(fake.calls("aibot/response")) == 1  # single use: never posted again
    sent = [str(c.body) for c in fake.calls("message/send") if c.body.get("touser") == "sec"]
    assert sent and any("党员1999" in body for body in sent), sent
    with Session(engine) as session:
        [row] = session.exec(select(OutboxMessage)).all()
    assert row.status == "sent" and "response_url" not in row.payload


async def test_the_rest_of_a_group_answer_refused_at_its_response_url_mentions_who_asked(
        db_url, clock, engine):
    """The rest of a long answer to a group message, refused at its response_url, goes by
    the group's push webhook: a message of its own there, which @-mentions who asked."""
    from bot.outbox import OutboxWorker
    from storage.models import PushChannel
    from tests.factories import bind_chat, make_branch, seed

    def build(session):
        branch = make_branch(session, "一支部")
        bind_chat(session, branch, "grp-1")
        session.add(PushChannel(platform="wecom", branch_id=branch.id, url="key-1",
                                is_leaders=False, set_at=clock.now()))
    seed(engine, build)
    names = [f"党员{i:04d}" for i in range(3000)]
    fake = fw.FakeWecom().start()
    try:
        runtime = build_runtime(wecom_settings(db_url, api_base=fake.base_url), clock=clock,
                                engine=engine, migrate=False)
        runtime.registry.add(Command(name="名单", summary="long", needs_member=False,
                                     needs_binding=False,
                                     handler=lambda ctx, args: Reply("、".join(names))))
        app = create_app(runtime, start_background=False)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://djbot") as http:
            asked = fw.text_callback(
                msgid="ask-9", user="lisi", text="名单", chatid="grp-1",
                response_url=f"{fake.base_url}/cgi-bin/aibot/response?response_code=r9")
            params, body = fw.aibot_request(asked, timestamp=int(clock.now().timestamp()))
            assert (await http.post("/wecom/aibot", params=params, content=body)
                    ).status_code == 200
            fake.fail("aibot/response", "40058")
            await OutboxWorker(runtime.engine, clock, app.state.senders).drain()
    finally:
        fake.stop()
    sent = [c.body for c in fake.calls("webhook/send")]
    assert sent and "党员2999" in sent[-1]["text"]["content"]
    assert sent[-1]["text"].get("mentioned_list") == ["lisi"]


async def test_an_ai_bot_answer_too_long_for_two_messages_says_what_was_left_out(
        db_url, clock, engine):
    """Two messages are all a callback can be answered with: what does not fit them is
    named, with how to see it all, never silently cut (and no name is cut)."""
    from bot.outbox import OutboxWorker

    names = [f"党员{i:04d}" for i in range(5000)]
    fake = fw.FakeWecom().start()
    try:
        runtime = build_runtime(wecom_settings(db_url, api_base=fake.base_url), clock=clock,
                                engine=engine, migrate=False)
        runtime.registry.add(Command(name="名单", summary="long", needs_member=False,
                                     needs_binding=False,
                                     handler=lambda ctx, args: Reply("、".join(names))))
        app = create_app(runtime, start_background=False)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://djbot") as http:
            asked = fw.text_callback(
                msgid="ask-2", user="lisi", text="名单",
                response_url=f"{fake.base_url}/cgi-bin/aibot/response?response_code=two")
            params, body = fw.aibot_request(asked, timestamp=int(clock.now().timestamp()))
            answer = await http.post("/wecom/aibot", params=params, content=body)
            await OutboxWorker(runtime.engine, clock, app.state.senders).drain()
    finally:
        fake.stop()
    first = fw.open_aibot_reply(answer.json())["stream"]["content"]
    [posted] = fake.calls("aibot/response")
    rest = posted.body["markdown"]["content"]
    assert len(first.encode()) <= fw.STREAM_LIMIT and len(rest.encode()) <= fw.STREAM_LIMIT
    shown, _, note = rest.rpartition("\n")
    left = "、".join(names)[len(first) - len("（1/2）\n") + len(shown) - len("（2/2）\n"):]
    assert note == (f"……（未发完：后面还有约 {len(left)} 字，超出企业微信智能机器人一次回答的长度。"
                    "要看全文，请在企业微信工作台打开党建应用，发送同一条指令。）")
    received = first + shown
    assert [n for n in names if received.count(n) > 1] == []
    assert [n for n in names if n not in received] == [n for n in names if n in left]


async def test_a_member_whose_wecom_account_the_roster_spells_in_other_case_checks_in(
        db_url, clock, engine):
    """WeCom ignores case in a userid (path/90195: "系统进行唯一性检查时会忽略大小写"): the
    roster's zhangsan is the account WeCom sends as ZhangSan. djbot compared them as they
    were spelt, and told 张三, checking in at the theme day, that he was not on the roster.
    He is checked in, and 未签到 no longer names him."""
    from storage.models import Attendance, Member
    from tests.factories import bind_chat, make_branch, make_member, seed

    def build(session):
        branch = make_branch(session, "一支部")
        make_member(session, branch, "王书记", role=Role.SECRETARY, wecom="sec")
        make_member(session, branch, "张三", wecom="zhangsan")
        make_member(session, branch, "李四", wecom="lisi")
        bind_chat(session, branch, "grp-1")
    seed(engine, build)
    now = int(clock.now().timestamp())
    async with client_for(wecom_settings(db_url), clock, engine) as http:
        await open_theme_day(http, now)
        said = fw.text_callback(msgid="ci-1", user="ZhangSan", text="签到", chatid="grp-1")
        params, body = fw.aibot_request(said, timestamp=now)
        answer = fw.open_aibot_reply((await http.post("/wecom/aibot", params=params,
                                                      content=body)).json())
        asked = fw.text_callback(msgid="ask-1", user="SEC", text="未签到", chatid="grp-1")
        params, body = fw.aibot_request(asked, timestamp=now)
        missing = fw.open_aibot_reply((await http.post("/wecom/aibot", params=params,
                                                       content=body)).json())
    content = answer["stream"]["content"]
    assert "名册" not in content and "张三" in content and "签到" in content, content
    with Session(engine) as session:
        [row] = session.exec(select(Attendance)).all()
        assert session.get(Member, row.member_id).name == "张三"
    # The secretary, spelt SEC by WeCom, is the secretary too: of three, two are missing
    # (the secretary and 李四), not 张三.
    assert "还有 2 人未签到" in missing["stream"]["content"], missing
