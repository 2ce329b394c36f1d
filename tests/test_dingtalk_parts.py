"""DingTalk's pure parts and small pieces: signatures, payload reading, rendering, the
token cache, the custom-robot throttle."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from bot.adapters.dingtalk.client import DingtalkClient, DingtalkError
from bot.adapters.dingtalk.inbound import BadPayload, parse
from bot.adapters.dingtalk.senders import (
    RobotThrottle, batches, robot_message, webhook_body,
)
from bot.adapters.dingtalk.signing import check_callback, sign, signed_webhook_url
from bot.clock import ManualClock
from bot.config import DingtalkSettings
from bot.core import Reply
from tests.fake_dingtalk import FakeDingtalk

NOW = datetime(2026, 11, 23, 1, 0, tzinfo=timezone.utc)
NOW_MS = int(NOW.timestamp() * 1000)


# --- signing ------------------------------------------------------------------------


def test_custom_robot_signature_matches_the_published_vector():
    # shared/platforms.md §4 D: secret "this is secret" at 1577262236757.
    assert sign(1577262236757, "this is secret") == "hmPWwU+7lVdm3ZZz0r9tSfx0L4Q26jWOZr9+Gs6EZQM="
    at = datetime.fromtimestamp(1577262236.757, timezone.utc)
    url = signed_webhook_url("https://oapi.dingtalk.com/robot/send?access_token=T",
                             "this is secret", at)
    assert url == ("https://oapi.dingtalk.com/robot/send?access_token=T&timestamp=1577262236757"
                   "&sign=hmPWwU%2B7lVdm3ZZz0r9tSfx0L4Q26jWOZr9%2BGs6EZQM%3D")


def _check(timestamp, signature, *, now=NOW):
    return check_callback(timestamp=timestamp, signature=signature, app_secret="app-secret",
                          now=now, max_skew_seconds=3600)


def test_callback_signature_accepts_genuine_and_fresh_headers():
    assert _check(str(NOW_MS), sign(NOW_MS, "app-secret")) is None
    # 59 minutes off either way is still fresh.
    assert _check(str(NOW_MS), sign(NOW_MS, "app-secret"), now=NOW + timedelta(minutes=59)) is None


@pytest.mark.parametrize("timestamp, signature, reason", [
    (str(NOW_MS), sign(NOW_MS, "other-secret"), "bad signature"),
    (str(NOW_MS + 1), sign(NOW_MS, "app-secret"), "bad signature"),  # sign of another time
    (None, sign(NOW_MS, "app-secret"), "missing"),
    (str(NOW_MS), None, "missing"),
    ("abc", "x", "not a number"),
    (str(NOW_MS - 3_601_000), sign(NOW_MS - 3_601_000, "app-secret"), "stale"),
    (str(NOW_MS + 3_601_000), sign(NOW_MS + 3_601_000, "app-secret"), "stale"),
])
def test_callback_signature_refusals_say_why(timestamp, signature, reason):
    assert reason in _check(timestamp, signature)


# --- reading a robot message ------------------------------------------------------------


def robot_payload(**over):
    payload = {
        "msgtype": "text", "text": {"content": " 签到"}, "msgId": "msgA", "createAt": NOW_MS,
        "conversationType": "2", "conversationId": "cidGroup1", "conversationTitle": "一支部",
        "senderId": "$:LWCP_v1:$abc", "senderStaffId": "staff-1", "senderNick": "张三",
        "chatbotUserId": "$:LWCP_v1:$bot", "isInAtList": True,
        "sessionWebhook": "https://oapi.dingtalk.com/robot/sendBySession?session=s",
        "sessionWebhookExpiredTime": NOW_MS + 5_400_000,
        "atUsers": [{"dingtalkId": "$:LWCP_v1:$bot"}],
    }
    payload.update(over)
    return payload


def test_group_message_becomes_an_incoming_message():
    delivery = parse(robot_payload(), received_at=NOW)
    m = delivery.message
    assert (m.platform, m.chat_id, m.sender_id) == ("dingtalk", "cidGroup1", "staff-1")
    assert m.message_id == "msgA"
    assert m.text == "签到" and not m.is_private and m.at == NOW and m.sender_name == "张三"
    assert m.mentions == ()  # the robot itself is not a mention
    assert "sessionWebhook" not in m.raw  # the reply URL is a credential while it lives
    assert delivery.webhook_usable(NOW) and not delivery.webhook_usable(NOW + timedelta(minutes=90))


def test_private_message_is_its_senders_chat_and_mentions_keep_other_people():
    delivery = parse(robot_payload(conversationType="1", text={"content": "@党建助手 补签 @李四 忘了"},
                                   atUsers=[{"dingtalkId": "$:LWCP_v1:$bot"},
                                            {"dingtalkId": "$:x", "staffId": "staff-2"}]),
                     received_at=NOW)
    m = delivery.message
    assert m.is_private and m.chat_id == "staff-1"
    assert m.text == "补签 @李四 忘了"
    assert m.mentions == ("staff-2",)


@pytest.mark.parametrize("field", ["msgId", "conversationId", "senderStaffId"])
def test_a_message_without_its_ids_is_refused(field):
    with pytest.raises(BadPayload, match=field):
        parse(robot_payload(**{field: None}), received_at=NOW)


# --- rendering ----------------------------------------------------------------------------


def test_webhook_reply_is_markdown_mentioning_the_sender_by_staff_id():
    body = webhook_body(Reply("张三 签到成功\n积分 +2"), mentions=("staff-1",))
    assert body["msgtype"] == "markdown"
    assert body["at"]["atUserIds"] == ["staff-1"]
    assert body["markdown"]["text"].startswith("@staff-1 ")
    assert body["markdown"]["title"] == "张三 签到成功"


def test_proactive_message_param_is_a_json_string():
    plain = robot_message(Reply("明晚 19:30 政治夜学"))
    assert plain["msgKey"] == "sampleText"
    assert json.loads(plain["msgParam"]) == {"content": "明晚 19:30 政治夜学"}
    md = robot_message(Reply("**本周排行**", markdown=True, title="本周排行"))
    assert md["msgKey"] == "sampleMarkdown"
    assert json.loads(md["msgParam"])["title"] == "本周排行"


def test_batches_hold_at_most_twenty_users():
    sizes = [len(b) for b in batches([f"u{i}" for i in range(45)])]
    assert sizes == [20, 20, 5]


# --- token cache ---------------------------------------------------------------------------


@pytest.fixture
def fake():
    with FakeDingtalk() as server:
        yield server


def _client(fake, clock) -> DingtalkClient:
    return DingtalkClient(DingtalkSettings(enabled=True, app_key=fake.app_key,
                                           app_secret=fake.app_secret, robot_code="robot",
                                           api_base=fake.base_url), clock)


async def test_token_is_cached_until_shortly_before_it_expires(fake):
    clock = ManualClock(NOW)
    client = _client(fake, clock)
    first = await client.access_token()
    clock.advance(minutes=100)
    assert await client.access_token() == first
    assert len(fake.posts("/v1.0/oauth2/accessToken")) == 1
    clock.advance(minutes=16)  # 116 min: inside the 5-minute margin of 120
    assert await client.access_token() != first
    assert len(fake.posts("/v1.0/oauth2/accessToken")) == 2
    await client.aclose()


async def test_a_rejected_token_is_renewed_once(fake):
    client = _client(fake, ManualClock(NOW))
    await client.access_token()
    fake.expire_tokens()  # DingTalk invalidated it early
    await client.api("/v1.0/robot/groupMessages/send",
                     {"robotCode": "robot", "openConversationId": "cid",
                      **robot_message(Reply("hi"))})
    assert len(fake.posts("/v1.0/oauth2/accessToken")) == 2
    assert len(fake.delivered("/v1.0/robot/groupMessages/send")) == 1
    await client.aclose()


async def test_wrong_app_secret_is_not_retryable(fake):
    client = DingtalkClient(DingtalkSettings(app_key="ding-key", app_secret="wrong",
                                             api_base=fake.base_url), ManualClock(NOW))
    with pytest.raises(DingtalkError) as caught:
        await client.access_token()
    assert not caught.value.retryable and "wrong" not in caught.value.reason
    await client.aclose()


# --- custom robot throttle -----------------------------------------------------------------------


def test_robot_throttle_allows_twenty_a_minute_and_waits_out_a_block():
    clock = ManualClock(NOW)
    throttle = RobotThrottle(clock)
    for _ in range(20):
        assert throttle.wait_seconds("r") == 0
        throttle.sent("r")
    assert throttle.wait_seconds("r") == 60
    clock.advance(seconds=60)
    assert throttle.wait_seconds("r") == 0
    throttle.blocked("r")
    assert throttle.wait_seconds("r") == 600
