"""WeCom payloads → IncomingMessage. Pure functions: no HTTP, no session."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import xmltodict

from bot.adapters.common import WELCOME, is_timestamp
from bot.core import IncomingMessage
from bot.domain.text import BOT_NAMES

PLATFORM = "wecom"
# Mentions followed by a space (the bot's, whatever it is named). A message that is one
# token, "@党建助手签到" (the space deleted), is the command glued to the bot's name, which
# the dispatcher drops (text.clean): taking the token left nothing, and 签到 got 帮助.
_LEADING_MENTION = re.compile(r"^(?:@\S+\s+)+")
# A message that is a mention alone: the bot by any other name, said nothing (帮助).
_ONLY_A_MENTION = re.compile("^@(?!(?:" + "|".join(map(re.escape, BOT_NAMES)) + "))\\S+$",
                             re.IGNORECASE)
# Fields that are credentials in all but name: never kept in IncomingMessage.raw.
_SECRET_FIELDS = ("response_url",)


class MalformedPayload(ValueError):
    """The plaintext decrypted but is not a WeCom message djbot understands."""


@dataclass(frozen=True)
class AibotCallback:
    """One decrypted AI-bot callback: a message to handle, a stream refresh, or an event."""

    kind: str  # "message" | "refresh" | "welcome" | "disconnected" | "event" | "ignored"
    message: IncomingMessage | None = None
    stream_id: str | None = None
    response_url: str | None = None
    msgid: str = ""


def _obj(value: Any) -> dict[str, Any]:
    """A field that should be an object; anything else (a string, a list) reads as empty."""
    return value if isinstance(value, dict) else {}


def _string(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _text_of(payload: dict[str, Any]) -> str | None:
    msgtype = payload.get("msgtype")
    if msgtype == "text":
        return str(_obj(payload.get("text")).get("content") or "")
    if msgtype == "voice":
        # WeCom transcribes a voice message (aibot-node-sdk src/types/message.ts
        # VoiceContent: "语音转换成文本的内容"): "签到" spoken is "签到" typed.
        return str(_obj(payload.get("voice")).get("content") or "")
    if msgtype == "mixed":
        # A mixed message is a list of items; only its text parts are commands.
        items = _obj(payload.get("mixed")).get("msg_item") or []
        if not isinstance(items, list):
            items = []
        parts = [str(_obj(i.get("text")).get("content") or "")
                 for i in items if isinstance(i, dict) and i.get("msgtype") == "text"]
        return " ".join(p for p in parts if p)
    return None


def parse_aibot(payload: Any, *, now: datetime) -> AibotCallback:
    """Read a decrypted AI-bot JSON callback (the chat is chatid, or the user in single chat)."""
    if not isinstance(payload, dict):
        raise MalformedPayload("not a JSON object")
    msgid = str(payload.get("msgid") or "")
    msgtype = payload.get("msgtype")
    if msgtype == "stream":
        stream_id = _obj(payload.get("stream")).get("id")
        if not stream_id:
            raise MalformedPayload("stream refresh without a stream id")
        return AibotCallback("refresh", stream_id=str(stream_id), msgid=msgid)
    if msgtype == "event":
        eventtype = str(_obj(payload.get("event")).get("eventtype") or "")
        # enter_chat: a user opens the bot's single chat (first time that day); the only
        # event a plain-text passive reply may answer (path/101031, aibot-node-sdk
        # src/types/event.ts). disconnected_event: another connection took the bot over
        # (long connection only, path/101463).
        kind = {"enter_chat": "welcome", "disconnected_event": "disconnected"}.get(
            eventtype, "event")
        return AibotCallback(kind, msgid=msgid)
    sender = _obj(payload.get("from")).get("userid")
    if not msgid or not sender:
        raise MalformedPayload("message without msgid or from.userid")
    text = _text_of(payload)
    if text is None:  # image, file: nothing djbot answers
        return AibotCallback("ignored", msgid=msgid)
    private = payload.get("chattype") != "group"
    chat_id = str(sender) if private else str(payload.get("chatid") or "")
    if not chat_id:
        raise MalformedPayload("group message without chatid")
    raw = {k: v for k, v in payload.items() if k not in _SECRET_FIELDS}
    message = IncomingMessage(
        platform=PLATFORM,
        chat_id=chat_id,
        sender_id=str(sender),
        # WeCom leaves "@机器人名 " at the start of a group message.
        text=_ONLY_A_MENTION.sub("", _LEADING_MENTION.sub("", text.strip())).strip(),
        message_id=msgid,
        at=now,
        is_private=private,
        mentioned_bot=True,
        raw=raw,
    )
    return AibotCallback("message", message=message, response_url=_string(payload.get("response_url")),
                         stream_id=stream_id_for(msgid), msgid=msgid)


def welcome_reply() -> str:
    """The passive reply to enter_chat: plain text is allowed for this event only."""
    return json.dumps({"msgtype": "text", "text": {"content": WELCOME}}, ensure_ascii=False)


def stream_id_for(msgid: str) -> str:
    """The passive stream's id: the msgid itself, so any replica can answer its refresh."""
    return msgid


def parse_app_xml(plaintext: str, *, now: datetime) -> IncomingMessage | None:
    """Read a decrypted self-built-app XML callback; events and non-text give None."""
    try:
        data = xmltodict.parse(plaintext).get("xml") or {}
    except Exception as exc:  # expat errors: not XML
        raise MalformedPayload(f"not XML ({type(exc).__name__})") from None
    if not isinstance(data, dict):
        raise MalformedPayload("empty XML")
    if data.get("MsgType") != "text":
        return None
    sender, msgid = data.get("FromUserName"), data.get("MsgId")
    if not sender or not msgid:
        raise MalformedPayload("text message without FromUserName or MsgId")
    sent_at = now
    if is_timestamp(str(data.get("CreateTime") or "")):
        try:
            sent_at = datetime.fromtimestamp(int(data["CreateTime"]), timezone.utc)
        except (ValueError, OverflowError, OSError):  # 13 digits of seconds: past year 9999
            pass
    return IncomingMessage(
        platform=PLATFORM,
        # The app only receives single-chat messages: the chat is the user.
        chat_id=str(sender),
        sender_id=str(sender),
        text=str(data.get("Content") or "").strip(),
        message_id=f"app:{msgid}",
        at=sent_at,
        is_private=True,
        raw=dict(data),
    )
