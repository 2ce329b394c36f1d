"""The WeCom Sender for the outbox: groups through their push webhook (or the long
connection), people through the self-built app."""

from __future__ import annotations

import base64
import hashlib
import logging
from typing import Any, Protocol

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.adapters.common import cut_to_bytes
from bot.adapters.wecom.client import WecomApiError, WecomClient
from bot.sender import Outbound, SendResult
from storage.models import ChatBinding, PushChannel


class LongConnectionChannel(Protocol):
    """What sending needs of the long connection (longconn.py imports this module for
    render_markdown; naming the need here keeps the two from importing each other)."""

    @property
    def connected(self) -> bool: ...

    async def send_markdown(self, chat_id: str, content: str) -> None: ...


log = logging.getLogger("djbot.wecom.sender")

TEXT_LIMIT = 2048  # bytes, text.content (webhook and message/send)
MARKDOWN_LIMIT = 4096  # bytes, markdown.content


def render_group(payload: dict[str, Any]) -> dict[str, Any]:
    """A webhook body from a Reply dict: text with mentioned_list, or markdown with <@id>."""
    if payload.get("image_base64"):
        raw = base64.b64decode(payload["image_base64"])
        return {"msgtype": "image",
                "image": {"base64": payload["image_base64"], "md5": hashlib.md5(raw).hexdigest()}}
    mentions = [m for m in payload.get("mentions") or [] if m]
    text = str(payload.get("text") or "")
    if payload.get("markdown"):
        if payload.get("title"):
            text = f"**{payload['title']}**\n{text}"
        tail = ("\n" + " ".join(f"<@{m}>" for m in mentions)) if mentions else ""
        body = cut_to_bytes(text, MARKDOWN_LIMIT - len(tail.encode())) + tail
        return {"msgtype": "markdown", "markdown": {"content": body}}
    content: dict[str, Any] = {"content": cut_to_bytes(text, TEXT_LIMIT)}
    if mentions:
        content["mentioned_list"] = mentions
    return {"msgtype": "text", "text": content}


def render_private(payload: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """(msgtype, content) for the app's message/send."""
    text = str(payload.get("text") or "")
    if payload.get("markdown"):
        if payload.get("title"):
            text = f"**{payload['title']}**\n{text}"
        return "markdown", {"content": cut_to_bytes(text, MARKDOWN_LIMIT)}
    return "text", {"content": cut_to_bytes(text, TEXT_LIMIT)}


def render_markdown(payload: dict[str, Any]) -> str:
    """Markdown for the AI bot (stream, response_url, aibot_send_msg), mentions as <@id>."""
    text = str(payload.get("text") or "")
    if payload.get("title"):
        text = f"**{payload['title']}**\n{text}"
    mentions = [m for m in payload.get("mentions") or [] if m]
    tail = ("\n" + " ".join(f"<@{m}>" for m in mentions)) if mentions else ""
    return cut_to_bytes(text, MARKDOWN_LIMIT - len(tail.encode())) + tail


class WecomSender:
    platform = "wecom"

    def __init__(self, client: WecomClient, engine: Engine, *,
                 longconn: LongConnectionChannel | None = None) -> None:
        self.client = client
        self.engine = engine
        self.longconn = longconn

    async def send(self, message: Outbound) -> SendResult:
        try:
            if message.target_kind == "user":
                msgtype, content = render_private(message.payload)
                await self.client.send_app_message(message.target, msgtype, content)
                return SendResult.sent()
            if message.target_kind in ("group", "leaders"):
                return await self._send_group(message)
            return SendResult.failed(f"unknown target kind {message.target_kind}",
                                     retryable=False)
        except WecomApiError as exc:
            log.warning("wecom send %s failed: %s", message.id, exc.describe())
            return SendResult.failed(exc.describe(), retryable=exc.retryable,
                                     retry_after=exc.retry_after)

    async def _send_group(self, message: Outbound) -> SendResult:
        leaders = message.target_kind == "leaders"
        branch_id = message.branch_id
        if branch_id is None and message.target.isdigit() and not leaders:
            branch_id = int(message.target)
        if self.longconn is not None and self.longconn.connected:
            chat_id = self._bound_chat(branch_id, leaders)
            if chat_id is not None:
                try:
                    await self.longconn.send_markdown(chat_id, render_markdown(message.payload))
                except (ConnectionError, TimeoutError) as exc:
                    return SendResult.failed(f"long connection: {type(exc).__name__}",
                                             retryable=True, retry_after=10)
                return SendResult.sent()
        key = self._push_key(branch_id, leaders)
        if key is None:
            if self.longconn is not None:
                # Another replica holds the long connection; this row waits for it.
                return SendResult.failed("long connection not held here", retryable=True,
                                         retry_after=30)
            return SendResult.failed("no WeCom push webhook set for this group "
                                     "(设置 推送 <支部> <key>)", retryable=False)
        await self.client.webhook_send(key, render_group(message.payload))
        return SendResult.sent()

    def _push_key(self, branch_id: int | None, leaders: bool) -> str | None:
        with Session(self.engine) as session:
            query = select(PushChannel).where(PushChannel.platform == "wecom")
            if leaders:
                query = query.where(PushChannel.is_leaders == True)  # noqa: E712
            else:
                query = query.where(PushChannel.branch_id == branch_id,
                                    PushChannel.is_leaders == False)  # noqa: E712
            channel = session.exec(query).first()
            return channel.url if channel else None

    def _bound_chat(self, branch_id: int | None, leaders: bool) -> str | None:
        with Session(self.engine) as session:
            query = select(ChatBinding).where(ChatBinding.platform == "wecom")
            if leaders:
                query = query.where(ChatBinding.is_leaders == True)  # noqa: E712
            else:
                query = query.where(ChatBinding.branch_id == branch_id)
            binding = session.exec(query).first()
            return binding.chat_id if binding else None
