"""WeCom payloads → IncomingMessage (pure), and the crypto wrapper's own checks."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from bot.adapters.wecom.crypto import CallbackCrypto, CallbackRejected
from bot.adapters.wecom.inbound import MalformedPayload, parse_aibot, parse_app_xml
from tests import fake_wecom as fw

NOW = datetime(2026, 11, 23, 1, 0, tzinfo=timezone.utc)


def test_group_text_becomes_a_message_without_the_mention_or_the_response_url():
    payload = fw.text_callback(msgid="m1", user="zhangsan", text="签到", chatid="chat-9")
    callback = parse_aibot(payload, now=NOW)
    message = callback.message
    assert callback.kind == "message" and callback.response_url == payload["response_url"]
    assert (message.chat_id, message.sender_id, message.text) == ("chat-9", "zhangsan", "签到")
    assert message.message_id == "m1" and not message.is_private
    assert "response_url" not in message.raw  # a one-shot credential stays out of storage


def test_single_chat_is_the_users_own_chat_and_mixed_text_is_joined():
    payload = {"msgid": "m2", "chattype": "single", "from": {"userid": "lisi"},
               "msgtype": "mixed", "mixed": {"msg_item": [
                   {"msgtype": "text", "text": {"content": "请假"}},
                   {"msgtype": "image", "image": {"url": "https://x"}},
                   {"msgtype": "text", "text": {"content": "家里有事"}}]}}
    message = parse_aibot(payload, now=NOW).message
    assert message.is_private and message.chat_id == "lisi"
    assert message.text == "请假 家里有事"


def test_refresh_events_and_images_are_not_commands():
    assert parse_aibot({"msgid": "r", "msgtype": "stream", "stream": {"id": "m1"}},
                       now=NOW).stream_id == "m1"
    assert parse_aibot({"msgid": "e", "msgtype": "event", "event": {"eventtype": "enter_chat"}},
                       now=NOW).kind == "welcome"
    assert parse_aibot({"msgid": "f", "msgtype": "event",
                        "event": {"eventtype": "feedback_event"}}, now=NOW).kind == "event"
    image = {"msgid": "i", "chattype": "single", "from": {"userid": "u"}, "msgtype": "image"}
    assert parse_aibot(image, now=NOW).kind == "ignored"
    with pytest.raises(MalformedPayload):
        parse_aibot({"msgtype": "text", "text": {"content": "x"}}, now=NOW)
    with pytest.raises(MalformedPayload):
        parse_aibot(["not", "a", "dict"], now=NOW)


def test_app_xml_text_and_events():
    xml = fw.app_text_xml(user="sec", text="未签到", msgid="77", create_time=1700000000)
    message = parse_app_xml(xml, now=NOW)
    assert (message.chat_id, message.sender_id, message.text) == ("sec", "sec", "未签到")
    assert message.is_private and message.message_id == "app:77"
    event = ("<xml><FromUserName>sec</FromUserName><MsgType>event</MsgType>"
             "<Event>enter_agent</Event></xml>")
    assert parse_app_xml(event, now=NOW) is None
    with pytest.raises(MalformedPayload):
        parse_app_xml("not xml <", now=NOW)


def test_crypto_checks_signature_then_freshness_then_receiver():
    crypto = CallbackCrypto(fw.AIBOT_TOKEN, fw.AIBOT_AES_KEY, "", 3600)
    ts = int(NOW.timestamp())
    params, encrypt = fw.seal(fw.AIBOT_TOKEN, fw.AIBOT_AES_KEY, "", "hello", timestamp=ts)
    args = dict(msg_signature=params["msg_signature"], timestamp=params["timestamp"],
                nonce=params["nonce"], encrypt=encrypt)
    assert crypto.decrypt(**args, now=NOW) == "hello"

    def status(**over):
        with pytest.raises(CallbackRejected) as caught:
            crypto.decrypt(**{**args, **over})
        return caught.value.status

    assert status(now=NOW, msg_signature="0" * 40) == 401
    assert status(now=datetime.fromtimestamp(ts + 3601, timezone.utc)) == 403
    assert status(now=NOW, timestamp=None) == 403
    assert status(now=NOW, nonce=None) == 400
    other = CallbackCrypto(fw.AIBOT_TOKEN, fw.AIBOT_AES_KEY, "ww-corp", 3600)
    with pytest.raises(CallbackRejected) as caught:
        other.decrypt(**args, now=NOW)
    assert caught.value.status == 403 and "another receiver" in caught.value.reason


def test_a_command_typed_right_after_the_bots_mention_is_still_the_command():
    # "@党建助手签到" (the space after the @ deleted) was read as an empty message, so the
    # member got 帮助 and no check-in; only a mention followed by a space is dropped here,
    # and the dispatcher drops the bot's own name wherever it is (bot.domain.text.clean).
    from bot.domain.text import clean

    payload = {"msgid": "m3", "chattype": "group", "chatid": "chat-9",
               "from": {"userid": "zhangsan"}, "msgtype": "text",
               "text": {"content": "@党建助手签到"}}
    assert clean(parse_aibot(payload, now=NOW).message.text) == "签到"
    payload["text"]["content"] = "@支部小助手 签到"  # a bot by any name, with its space
    assert clean(parse_aibot(payload, now=NOW).message.text) == "签到"
    payload["text"]["content"] = "@支部小助手"  # the bot by another name, alone: 帮助
    assert parse_aibot(payload, now=NOW).message.text == ""
    payload["text"]["content"] = "@党建助手\u2005签到"  # WeCom's own space after an @
    assert parse_aibot(payload, now=NOW).message.text == "签到"
