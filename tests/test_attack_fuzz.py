"""Property-based fuzzing (hypothesis) of the three callback endpoints and the command parser.

Every body is validly signed (and, for WeCom, genuinely encrypted), so the fuzz reaches
past the signature into parsing, the dispatcher and the database. For any shape of JSON or
XML and any text: never a 5xx, nothing stored unless the input was a usable message, and
the service still answers afterwards. Examples are bounded so CI stays quick.
"""

from __future__ import annotations

import itertools
import json
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import xmltodict
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import Session, SQLModel, func, select

from bot.adapters.dingtalk.signing import sign
from bot.app import create_app
from bot.clock import ManualClock
from bot.config import DingtalkSettings, Settings, WecomSettings
from bot.core import IncomingMessage
from bot.runtime import build_runtime
from storage import db
from storage.models import ProcessedMessage, Role
from tests import fake_wecom as fw
from tests.conftest import POSTGRES_URL, TEST_DB, postgres_schema
from tests.factories import bind_chat, make_branch, make_member, seed

EXAMPLES = settings(max_examples=120, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
DING_SECRET = "fuzz-ding-secret"
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))

# Any text, lone surrogates and control characters included.
ANY_TEXT = st.text(st.characters(codec=None, exclude_categories=()), max_size=40)
SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | ANY_TEXT
JSON = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(ANY_TEXT, inner, max_size=4), max_leaves=12)
COMMANDS = st.sampled_from(["签到", "请假 ", "评价 ", "开始 主题党日 ", "补签 ", "帮助", "学习 ",
                            "设置角色 ", "绑定 ", "积分", ""])
COMMAND_TEXT = st.builds(lambda c, t: c + t, COMMANDS, ANY_TEXT)


def maybe(value_strategy):
    """Mostly the right kind of value (so examples get deep), sometimes any JSON at all."""
    return st.one_of(value_strategy, value_strategy, value_strategy, JSON)


AIBOT_MESSAGES = st.fixed_dictionaries({
    "msgid": maybe(st.uuids().map(str)),
    "from": maybe(st.fixed_dictionaries({"userid": maybe(st.sampled_from(["u1", "u2"]))})),
    "msgtype": maybe(st.sampled_from(["text", "mixed", "stream", "event", "image", "voice"])),
    "chattype": maybe(st.sampled_from(["single", "group"])),
    "chatid": maybe(st.just("g1")),
    "text": maybe(st.fixed_dictionaries({"content": maybe(COMMAND_TEXT)})),
    "mixed": maybe(st.fixed_dictionaries({"msg_item": st.lists(JSON, max_size=3)})),
    "stream": maybe(st.fixed_dictionaries({"id": JSON})),
    "response_url": JSON,
})
DING_MESSAGES = st.fixed_dictionaries({
    "msgtype": maybe(st.just("text")),
    "msgId": maybe(st.uuids().map(str)),
    "conversationId": maybe(st.just("cid1")),
    "conversationType": maybe(st.sampled_from(["1", "2"])),
    "senderStaffId": maybe(st.sampled_from(["u1", "u2"])),
    "text": maybe(st.fixed_dictionaries({"content": maybe(COMMAND_TEXT)})),
    "atUsers": JSON, "createAt": JSON, "sessionWebhook": JSON, "chatbotUserId": JSON,
    "sessionWebhookExpiredTime": JSON, "isInAtList": JSON, "senderNick": JSON,
})
XML_NAMES = st.sampled_from(["ToUserName", "FromUserName", "CreateTime", "MsgType", "Content",
                             "MsgId", "AgentID", "Event", "x"])
APP_XML = st.one_of(
    st.dictionaries(XML_NAMES, maybe(st.sampled_from(["text", "event", "u1"])) | COMMAND_TEXT,
                    max_size=7).map(lambda d: _xml(d)),
    ANY_TEXT,
)


def _xml(fields: dict) -> str:
    try:
        return xmltodict.unparse({"xml": {k: json.dumps(v) if isinstance(v, (list, dict))
                                          else v for k, v in fields.items()}})
    except Exception:  # a value XML cannot hold: send it raw, as a broken body
        return f"<xml>{fields}</xml>"


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    """One app (WeCom AI bot and app, DingTalk HTTP) on the pass's database, for all examples."""
    if TEST_DB == "postgres":
        if not POSTGRES_URL:
            pytest.skip("PostgreSQL not configured")
        schema = postgres_schema(POSTGRES_URL)
        url = schema.__enter__()
    else:
        schema, url = None, f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'djbot.db'}"
    engine = db.make_engine(url)
    SQLModel.metadata.create_all(engine)
    config = Settings(
        database_url=url, _env_file=None,
        wecom=WecomSettings(enabled=True, corp_id=fw.CORP_ID, aibot_token=fw.AIBOT_TOKEN,
                            aibot_aes_key=fw.AIBOT_AES_KEY, app_token=fw.APP_TOKEN,
                            app_aes_key=fw.APP_AES_KEY, agent_id="1000002",
                            api_base="http://127.0.0.1:9"),
        dingtalk=DingtalkSettings(enabled=True, app_key="k", app_secret=DING_SECRET,
                                  api_base="http://127.0.0.1:9"))
    runtime = build_runtime(config, clock=ManualClock(NOW), engine=engine, migrate=False)

    def org(session):
        branch = make_branch(session, "一支部")
        make_member(session, branch, "书记", role=Role.SECRETARY, wecom="u1", dingtalk="u1")
        make_member(session, branch, "党员", wecom="u2", dingtalk="u2")
        bind_chat(session, branch, "g1")
        bind_chat(session, branch, "cid1", platform="dingtalk")
    seed(engine, org)
    app = create_app(runtime, start_background=False)
    app.state.wecom.late_grace = 0
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, runtime
    engine.dispose()
    if schema is not None:
        schema.__exit__(None, None, None)


def stored(runtime) -> int:
    with Session(runtime.engine) as session:
        return session.exec(select(func.count()).select_from(ProcessedMessage)).one()


def _usable(payload, *, id_key: str, sender) -> bool:
    """Loosely: could this be a message at all (an id, a sender, some text)?"""
    return isinstance(payload, dict) and bool(payload.get(id_key)) and bool(sender)


def check(client, runtime, response, before: int, usable: bool) -> None:
    assert response.status_code < 500, response.text
    if response.status_code != 200 or not usable:
        assert stored(runtime) == before
    assert client.get("/healthz").status_code == 200


_nonces = itertools.count(1)


@EXAMPLES
@given(payload=AIBOT_MESSAGES | JSON)
def test_fuzz_wecom_aibot(service, payload):
    client, runtime = service
    before = stored(runtime)
    params, encrypt = fw.seal(fw.AIBOT_TOKEN, fw.AIBOT_AES_KEY, "", json.dumps(payload),
                              timestamp=int(NOW.timestamp()), nonce=str(next(_nonces)))
    response = client.post("/wecom/aibot", params=params, content=json.dumps({"encrypt": encrypt}))
    sender = payload.get("from", {}).get("userid") if isinstance(payload, dict) and \
        isinstance(payload.get("from"), dict) else None
    usable = _usable(payload, id_key="msgid", sender=sender) and \
        payload.get("msgtype") in ("text", "mixed", "voice")  # voice carries its transcript
    check(client, runtime, response, before, usable)


@EXAMPLES
@given(plaintext=APP_XML)
def test_fuzz_wecom_app(service, plaintext):
    client, runtime = service
    before = stored(runtime)
    try:
        params, body = fw.app_request(plaintext, timestamp=int(NOW.timestamp()),
                                      nonce=str(next(_nonces)))
    except UnicodeEncodeError:  # a lone surrogate cannot even be encrypted
        return
    response = client.post("/wecom/app", params=params, content=body)
    usable = "<MsgType>text</MsgType>" in plaintext and "<MsgId>" in plaintext
    check(client, runtime, response, before, usable)


_millis = itertools.count(1)


@EXAMPLES
@given(payload=DING_MESSAGES | JSON)
def test_fuzz_dingtalk_callback(service, payload):
    client, runtime = service
    before = stored(runtime)
    timestamp = int(NOW.timestamp() * 1000) - next(_millis)  # one pair per callback
    headers = {"timestamp": str(timestamp), "sign": sign(timestamp, DING_SECRET),
               "content-type": "application/json"}
    response = client.post("/dingtalk/callback", headers=headers, content=json.dumps(payload))
    usable = _usable(payload, id_key="msgId", sender=isinstance(payload, dict)
                     and payload.get("senderStaffId"))
    check(client, runtime, response, before, usable)


@EXAMPLES
@given(text=COMMAND_TEXT | ANY_TEXT, user=st.sampled_from(["u1", "u2", "stranger"]),
       chat=st.sampled_from(["g1", None, "unbound"]))
def test_fuzz_command_parser(service, text, user, chat):
    _, runtime = service
    reply = runtime.dispatcher.handle_sync(IncomingMessage(
        platform="wecom", chat_id=chat or user, sender_id=user, text=text,
        message_id=f"fuzz-{next(_nonces)}", at=runtime.clock.now(), is_private=chat is None))
    assert reply.text and len(reply.text) < 4000
    assert not any(c in reply.text for c in "\x00\x1b\u202e")
