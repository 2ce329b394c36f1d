"""A DingTalk robot message (HTTP callback body or Stream frame data) → IncomingMessage.

Both modes deliver the same JSON; see shared/platforms.md §3 for the fields.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from bot.core import IncomingMessage

PLATFORM = "dingtalk"
SINGLE_CHAT = "1"  # conversationType: "1" single chat, "2" group

# DingTalk leaves the "@robot" out of text.content but keeps a leading space; some
# clients keep the mention itself. Only the leading ones go: "补签 @张三" keeps its @.
_LEADING_MENTIONS = re.compile(r"^\s*(?:@\S+\s+)*")


class BadPayload(ValueError):
    """A body that is JSON but not a usable robot message; the text is for our log."""


@dataclass(frozen=True)
class Delivery:
    """One received message plus where its answer may go."""

    message: IncomingMessage
    conversation_id: str
    sender_staff_id: str
    # The per-message reply URL and when it stops working (about 90 minutes).
    session_webhook: str | None
    session_webhook_expires_at: datetime | None

    def webhook_usable(self, now: datetime, *, margin_seconds: float = 30) -> bool:
        if not self.session_webhook or self.session_webhook_expires_at is None:
            return False
        return (self.session_webhook_expires_at - now).total_seconds() > margin_seconds


# Text with pictures (a 签到 sent with a photo of the session) comes as "richText": its
# text is the items' "text", in order (the official SDK's ChatbotMessage.get_text_list).
RICH_TEXT = "richText"
# A voice message (private chats only: in a group nobody can @ the robot by voice) comes
# as "audio" with DingTalk's own transcription in content.recognition (DingTalk's 接收消息
# page; third-party SDKs read the same field). An older member says 签到 rather than
# typing it.
AUDIO = "audio"


def is_text(payload: dict[str, Any]) -> bool:
    """A message with words to read: text, rich text with some text in it, or a voice
    message DingTalk transcribed."""
    msgtype = payload.get("msgtype", "text")
    return msgtype == "text" or (msgtype == RICH_TEXT and _rich_text(payload) is not None) \
        or (msgtype == AUDIO and _recognised(payload) is not None)


def _recognised(payload: dict[str, Any]) -> str | None:
    """What DingTalk heard in a voice message; None when it heard nothing."""
    content = payload.get("content")
    heard = content.get("recognition") if isinstance(content, dict) else None
    return heard if isinstance(heard, str) and heard.strip() else None


def _rich_text(payload: dict[str, Any]) -> str | None:
    """The words of a richText message, its text items joined (a picture between two parts
    keeps them apart); None when it has none."""
    content = payload.get("content")
    items = content.get("richText") if isinstance(content, dict) else None
    words = [item["text"] for item in (items if isinstance(items, list) else ())
             if isinstance(item, dict) and isinstance(item.get("text"), str)]
    joined = " ".join(word.strip() for word in words)  # 签到 [picture] 今天学习党章: apart
    return joined if joined.strip() else None


def parse(payload: dict[str, Any], *, received_at: datetime) -> Delivery:
    """Read a text (rich text, transcribed voice) message; raise BadPayload naming the
    first missing field."""
    msg_id = _required(payload, "msgId")
    conversation_id = _required(payload, "conversationId")
    # senderStaffId is the userid in the roster; it is absent for people outside the
    # organisation, whom djbot cannot place anyway.
    staff_id = _required(payload, "senderStaffId")
    if payload.get("msgtype") == RICH_TEXT:
        content = _rich_text(payload)
        if content is None:
            raise BadPayload("content.richText has no text")
    elif payload.get("msgtype") == AUDIO:
        content = _recognised(payload)
        if content is None:
            raise BadPayload("content.recognition missing")
    else:
        text_field = payload.get("text")
        content = text_field.get("content") if isinstance(text_field, dict) else None
        if not isinstance(content, str):
            raise BadPayload("text.content missing")
    is_private = str(payload.get("conversationType")) == SINGLE_CHAT
    bot_user = payload.get("chatbotUserId")
    at_users = payload.get("atUsers")
    mentions = tuple(
        str(user["staffId"])
        for user in (at_users if isinstance(at_users, list) else ())
        if isinstance(user, dict) and user.get("staffId") and user.get("dingtalkId") != bot_user
    )
    # Keep the raw payload for support, minus the reply URL (it works for anyone who has it).
    raw = {k: v for k, v in payload.items() if k != "sessionWebhook"}
    message = IncomingMessage(
        platform=PLATFORM,
        chat_id=staff_id if is_private else conversation_id,
        sender_id=staff_id,
        text=_LEADING_MENTIONS.sub("", content).strip(),
        message_id=msg_id,
        at=_from_ms(payload.get("createAt")) or received_at,
        is_private=is_private,
        mentioned_bot=is_private or bool(payload.get("isInAtList", True)),
        sender_name=nick if isinstance(nick := payload.get("senderNick"), str) else None,
        mentions=mentions,
        raw=raw,
    )
    webhook = payload.get("sessionWebhook")
    return Delivery(
        message=message,
        conversation_id=conversation_id,
        sender_staff_id=staff_id,
        session_webhook=webhook if isinstance(webhook, str) and webhook else None,
        session_webhook_expires_at=_from_ms(payload.get("sessionWebhookExpiredTime")),
    )


def _required(payload: dict[str, Any], key: str) -> str:
    value = payload.get(key)
    if not isinstance(value, str) or not value:
        raise BadPayload(f"{key} missing")
    return value


def _from_ms(value: Any) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(value) / 1000, timezone.utc)
    except (TypeError, ValueError, OverflowError, OSError):
        return None
