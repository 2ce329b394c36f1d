"""DingTalk HTTP callbacks with 消息体加密 on: the official vector, a robot message round
trip, and every refusal (4xx, nothing stored)."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import httpx
import pytest
from sqlmodel import Session, select

from bot.app import create_app
from bot.config import DingtalkSettings, Settings
from bot.runtime import build_runtime
from storage.models import ProcessedMessage
from tests.fake_dingtalk import (
    FakeDingtalk,
    encrypted_callback,
    open_encrypted_answer,
    robot_message,
)

# The official sample (open-dingtalk/DingTalk-Callback-Crypto, DingCallbackCrypto3.py).
V_TOKEN, V_AES_KEY, V_OWNER = "mryue", "Yue0EfdN5900c1ce5cf6A152c63DDe1808a60c5ecd7", \
    "ding6ccabc44d2c8d38b"
V_ENCRYPT = ("0vJiX6vliEpwG3U45CtXqi+m8PXbQRARJ8p8BbDuD1EMTDf0jKpQ79QS93qEk7XHpP6u+oTTrd15NRPv"
             "NvmBKyDCYxxOK+HZeKju4yhELOFchzNukR+t8SB/qk4ROMu3")
TOKEN, AES_KEY = "cb-token", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"


@pytest.fixture
def fake(clock):
    with FakeDingtalk(clock=clock) as server:
        yield server


def client_for(db_url, clock, engine, fake, **over) -> httpx.AsyncClient:
    cfg = dict(enabled=True, app_key=fake.app_key, app_secret=fake.app_secret,
               robot_code="ding-robot", api_base=fake.base_url, callback_token=TOKEN,
               callback_aes_key=AES_KEY)
    cfg.update(over)
    settings = Settings(database_url=db_url, _env_file=None, dingtalk=DingtalkSettings(**cfg))
    runtime = build_runtime(settings, clock=clock, engine=engine, migrate=False)
    app = create_app(runtime, start_background=False)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://djbot")


def processed(engine):
    with Session(engine) as session:
        return list(session.exec(select(ProcessedMessage)))


async def test_official_vector_check_url_is_answered_with_encrypted_success(
        db_url, clock, engine, fake):
    clock.set(datetime.fromtimestamp(1608001896.814, timezone.utc))
    async with client_for(db_url, clock, engine, fake, app_key=V_OWNER, callback_token=V_TOKEN,
                          callback_aes_key=V_AES_KEY) as http:
        response = await http.post("/dingtalk/callback", content=json.dumps(
            {"encrypt": V_ENCRYPT}), params={
            "signature": "03044561471240d4a14bb09372dfcfd4fd0e40cb",
            "timestamp": "1608001896814", "nonce": "WL4PK6yA"})
    assert response.status_code == 200
    assert open_encrypted_answer(response.json(), token=V_TOKEN, aes_key=V_AES_KEY,
                                 app_key=V_OWNER) == "success"
    assert processed(engine) == []


async def test_an_encrypted_robot_message_is_handled_and_answered(db_url, clock, engine, fake):
    now_ms = int(clock.now().timestamp() * 1000)
    payload = robot_message(msg_id="enc-1", sender="zhangsan", text="帮助", now_ms=now_ms,
                            webhook=fake.session_webhook("enc-1"))
    params, body = encrypted_callback(payload, token=TOKEN, aes_key=AES_KEY,
                                      app_key=fake.app_key, now_ms=now_ms)
    async with client_for(db_url, clock, engine, fake) as http:
        response = await http.post("/dingtalk/callback", content=body, params=params)
    assert response.status_code == 200
    assert open_encrypted_answer(response.json(), token=TOKEN, aes_key=AES_KEY,
                                 app_key=fake.app_key) == "success"
    [row] = processed(engine)
    assert row.message_id == "enc-1"
    assert fake.wait_for(lambda: fake.delivered("/session/enc-1"))
    assert "党建助手可用指令" in fake.delivered("/session/enc-1")[0].body["markdown"]["text"]


@pytest.mark.parametrize("tamper,status", [
    ("signature", 401), ("stale", 403), ("other_app", 403), ("no_keys", 400)])
async def test_bad_encrypted_callbacks_are_refused_and_store_nothing(
        db_url, clock, engine, fake, tamper, status):
    now_ms = int(clock.now().timestamp() * 1000)
    payload = robot_message(msg_id="enc-2", sender="zhangsan", text="签到", now_ms=now_ms)
    params, body = encrypted_callback(
        payload, token=TOKEN, aes_key=AES_KEY,
        app_key="someone-else" if tamper == "other_app" else fake.app_key,
        now_ms=now_ms - (2 * 3600 * 1000 if tamper == "stale" else 0))
    if tamper == "signature":
        params["msg_signature"] = "0" * 40
    over = {"callback_token": "", "callback_aes_key": ""} if tamper == "no_keys" else {}
    async with client_for(db_url, clock, engine, fake, **over) as http:
        response = await http.post("/dingtalk/callback", content=body, params=params)
    assert response.status_code == status
    assert processed(engine) == []


def test_a_malformed_aes_key_refuses_to_start(db_url, clock, engine, fake):
    with pytest.raises(ValueError, match="43-character"):
        client_for(db_url, clock, engine, fake, callback_aes_key="too-short")


@pytest.mark.parametrize("timestamp", ["²", "1" * 5000, "１７０００００００００００"])
async def test_a_signed_encrypted_callback_with_a_timestamp_that_is_no_number_is_refused(
        db_url, clock, engine, fake, timestamp):
    """A msg_signature made over a timestamp of "²" (str.isdigit says yes, int() says no),
    5,000 digits, or full-width digits: 403 like any unreadable timestamp, never a 500."""
    import hashlib

    now_ms = int(clock.now().timestamp() * 1000)
    payload = robot_message(msg_id="enc-ts", sender="zhangsan", text="签到", now_ms=now_ms)
    params, body = encrypted_callback(payload, token=TOKEN, aes_key=AES_KEY,
                                      app_key=fake.app_key, now_ms=now_ms)
    encrypt = json.loads(body)["encrypt"]
    params["timestamp"] = timestamp
    params["msg_signature"] = hashlib.sha1("".join(sorted(
        [TOKEN, timestamp, params["nonce"], encrypt])).encode()).hexdigest()
    async with client_for(db_url, clock, engine, fake) as http:
        response = await http.post("/dingtalk/callback", content=body, params=params)
    assert response.status_code == 403
    assert processed(engine) == []
