"""The WeCom Sender for the outbox: groups through their push webhook (or the long
connection), people through the self-built app."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.adapters.common import head_within, split_to_bytes
from bot.adapters.wecom.client import WecomApiError, WecomClient, nothing_shown
from bot.config import WecomSettings
from bot.sender import (
    PARTS_SENT,
    WAITING_SINCE,
    Outbound,
    PartsInterrupted,
    SendResult,
    send_parts,
)
from storage import outbox
from storage.db import session_scope
from storage.models import ChatBinding, Identity, Member, PushChannel


class LongConnectionChannel(Protocol):
    """What sending needs of the long connection (longconn.py imports this module for
    render_markdown; naming the need here keeps the two from importing each other)."""

    @property
    def connected(self) -> bool: ...

    async def send_markdown(self, chat_id: str, content: str) -> None: ...


log = logging.getLogger("djbot.wecom.sender")

# Byte limits per channel (docs/wecom.md lists each with its source page):
TEXT_LIMIT = 2048  # text.content, webhook and message/send (path/91770, path/90236)
WEBHOOK_MARKDOWN_LIMIT = 4096  # markdown.content to a group webhook (path/91770)
APP_MARKDOWN_LIMIT = 2048  # markdown.content by the self-built app's message/send (path/90236)
STREAM_LIMIT = 20480  # the AI bot's stream.content (path/101031); also used for aibot_send_msg
MARKDOWN_LIMIT = WEBHOOK_MARKDOWN_LIMIT  # the name older code knows

# How long a row whose chat is known may wait for the long connection (held by no replica,
# or by another one) before it is given up: well past a restart, a takeover's hold-off
# (a lease, 90 s) and the reconnect backoff (a minute at most); a reminder later than this
# is of little use, and the operator should hear that the bot has been offline.
LONGCONN_PATIENCE = timedelta(hours=1)
NOT_HELD_WAIT = 30  # seconds: about a beat, so the holder's worker gets the row soon
DROPPED_WAIT = 10  # seconds: the reconnect backoff starts at 1 s


def _titled(payload: dict[str, Any]) -> str:
    text = str(payload.get("text") or "")
    if payload.get("title"):
        text = f"**{payload['title']}**\n{text}"
    return text


def _with_tail(text: str, tail: str, limit: int) -> list[str]:
    """Parts within limit, the tail (mentions) kept whole at the end of the last part."""
    parts = split_to_bytes(text, limit - len(tail.encode()))
    parts[-1] += tail
    return parts


def render_group(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """Webhook bodies from a Reply dict, in order: text with mentioned_list, or markdown
    with <@id> (both documented for the webhook, path/91770 and path/99110)."""
    if payload.get("image_base64"):
        raw = base64.b64decode(payload["image_base64"])
        return [{"msgtype": "image",
                 "image": {"base64": payload["image_base64"],
                           "md5": hashlib.md5(raw).hexdigest()}}]
    mentions = [m for m in payload.get("mentions") or [] if m]
    if payload.get("markdown"):
        tail = ("\n" + " ".join(f"<@{m}>" for m in mentions)) if mentions else ""
        return [{"msgtype": "markdown", "markdown": {"content": part}}
                for part in _with_tail(_titled(payload), tail, WEBHOOK_MARKDOWN_LIMIT)]
    bodies: list[dict[str, Any]] = [
        {"msgtype": "text", "text": {"content": part}}
        for part in split_to_bytes(str(payload.get("text") or ""), TEXT_LIMIT)]
    if mentions:  # the @ comes with the last part, once the whole message is there
        bodies[-1]["text"]["mentioned_list"] = mentions
    return bodies


def render_private(payload: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(msgtype, content) for each message/send the reply needs, in order."""
    if payload.get("markdown"):
        return [("markdown", {"content": part})
                for part in split_to_bytes(_titled(payload), APP_MARKDOWN_LIMIT)]
    return [("text", {"content": part})
            for part in split_to_bytes(str(payload.get("text") or ""), TEXT_LIMIT)]


def _mention_tail(payload: dict[str, Any]) -> str:
    """Mentions for the AI bot, whose markdown documents no <@userid> (path/101031, 101138):
    plain names where the payload knows them; ids alone would show as gibberish."""
    names = payload.get("mention_names") or {}
    shown = [f"@{names[m]}" for m in payload.get("mentions") or [] if m and names.get(m)]
    return ("\n" + " ".join(shown)) if shown else ""


# What was left out of an AI-bot answer that one message could not hold, and how to see it
# all: the self-built app answers in as many parts as it takes.
LEFT_OUT = "……（未发完：后面还有约 {chars} 字，超出企业微信智能机器人一次回答的长度。{how}）"
SEE_ALL_BY_APP = "要看全文，请在企业微信工作台打开党建应用，发送同一条指令。"
SEE_ALL_NARROWER = "要看全文，请缩小范围再问（例如只问一个支部）。"
# The AI bot answers a callback at most twice: the stream, then the one-shot response_url.
ANSWER_LABELS = ("（1/2）\n", "（2/2）\n")
# The outbox row holding the rest of such an answer, and its payload's keys: the URL (one
# POST, then it is gone from the row) and the time after which it is no use.
RESPONSE_URL = "reply.response_url"
RESPONSE_URL_KEY = "response_url"
RESPONSE_URL_UNTIL = "response_url_until"
# Who asked, in a group: the rest is attached to what was asked by the response_url, but
# is a message of its own by the group's webhook, which then @-mentions them.
RESPONSE_URL_ASKER = "asker"
# The rest of a long self-built-app answer (or its late reply): message/send, in the app's
# own text parts, even where the AI bot's long connection sends the "reply" rows.
APP_REPLY = "reply.app"


def naming_the_asker(payload: dict[str, Any], asker: str) -> dict[str, Any]:
    """An answer that goes to a group as a message of its own (the webhook, aibot_send_msg),
    not attached to what was asked, @-mentions who asked."""
    mentions = [m for m in payload.get("mentions") or [] if m]
    return {**payload, "mentions": mentions if asker in mentions else [*mentions, asker]}


# Outbox kinds that answer a member's own message: a reply (late, or the rest of a long
# one) and the self-built app's.
ANSWERS = ("reply", APP_REPLY)


def see_all(settings: WecomSettings) -> str:
    """How to see an AI-bot answer that did not fit: the self-built app, when it answers."""
    app = (settings.corp_id and settings.app_token and settings.app_aes_key
           and settings.agent_id and settings.app_secret)
    return SEE_ALL_BY_APP if app else SEE_ALL_NARROWER


def within_one(text: str, limit: int, *, see_all: str) -> str:
    """The text as one message of at most `limit` bytes: whole, or as much as fits, then a
    line saying how much was left out and how to see it all (never a silent cut)."""
    if len(text.encode()) <= limit:
        return text
    widest = "\n" + LEFT_OUT.format(chars=len(text), how=see_all)
    head, rest = head_within(text, limit - len(widest.encode()))
    return head + "\n" + LEFT_OUT.format(chars=len(rest), how=see_all)


def render_markdown(payload: dict[str, Any], *, see_all: str = SEE_ALL_NARROWER) -> str:
    """One AI-bot markdown message (stream, response_url) within the stream's limit; a
    longer one ends with what was left out (within_one)."""
    tail = _mention_tail(payload)
    return within_one(_titled(payload), STREAM_LIMIT - len(tail.encode()), see_all=see_all) + tail


def answer_in_two(payload: dict[str, Any]) -> list[str]:
    """An AI-bot answer to a callback: the one stream when it fits; else the stream's
    part, "（1/2）", and the rest, "（2/2）", for the message's one-shot response_url. The
    rest may be longer than one message: it is cut when it is sent (render_markdown), and
    it carries the mentions, at the end of the whole answer."""
    text = _titled(payload)
    if len((text + _mention_tail(payload)).encode()) <= STREAM_LIMIT:
        return [render_markdown(payload)]
    first, rest = head_within(text, STREAM_LIMIT - len(ANSWER_LABELS[0].encode()))
    return [ANSWER_LABELS[0] + first, ANSWER_LABELS[1] + rest]


def render_markdown_parts(payload: dict[str, Any]) -> list[str]:
    """AI-bot markdown for aibot_send_msg, split into numbered parts when long."""
    return _with_tail(_titled(payload), _mention_tail(payload), STREAM_LIMIT)


async def send_private(client: WecomClient, user_id: str, payload: dict[str, Any], *,
                       duplicate_check: bool = True) -> set[str]:
    """A private message by the self-built app, in parts within 2048 bytes, resuming after
    payload["parts_sent"]; returns the recipients WeCom did not know."""
    invalid: set[str] = set()

    async def one(part: tuple[str, dict[str, Any]]) -> None:
        answer = await client.send_app_message(user_id, *part,
                                               duplicate_check=duplicate_check)
        # errcode 0 with "invaliduser": some recipients unknown (path/90236).
        invalid.update(u for u in str(answer.get("invaliduser") or "").split("|") if u)

    await send_parts(payload, render_private(payload), one)
    return invalid


class WecomSender:
    platform = "wecom"

    def __init__(self, client: WecomClient, engine: Engine, *,
                 longconn: LongConnectionChannel | None = None) -> None:
        self.client = client
        self.engine = engine
        self.longconn = longconn
        self.clock = client.clock

    def sends(self, message: Outbound) -> int:
        """The messages a row still takes, counted against its destination's rate: a
        private row's message/sends (one per part of 2048 bytes: WeCom drops whatever
        passes 30 a minute to one member without a word, path/90454); a group row's
        webhook messages (one per part: a robot takes 20 a minute, path/91770, and refuses
        the 21st). Anything else, and a group where the long connection may carry it: one."""
        if message.kind == RESPONSE_URL or (message.kind == "reply"
                                             and self.longconn is not None):
            return 1
        if message.target_kind == "user":
            parts = len(render_private(message.payload))
        elif (message.target_kind in ("group", "leaders") and self.longconn is None
              and not message.payload.get("image_base64")):  # a picture is one message
            parts = len(render_group(message.payload))
        else:
            return 1
        return parts - min(int(message.payload.get(PARTS_SENT) or 0), parts - 1)

    async def send(self, message: Outbound) -> SendResult:
        try:
            if message.kind == RESPONSE_URL:
                return await self._respond(message)
            if message.kind == "reply" and self.longconn is not None:
                return await self._send_reply(message)
            if message.target_kind == "user":
                return await self._send_private(message)
            if message.target_kind in ("group", "leaders"):
                return await self._send_group(message)
            return SendResult.failed(f"unknown target kind {message.target_kind}",
                                     retryable=False)
        except PartsInterrupted as exc:
            result = self._failure(message, exc.cause)
            return result.resuming(result.payload or message.payload, exc.sent)
        except WecomApiError as exc:
            return self._failure(message, exc)

    def _failure(self, message: Outbound, exc: Exception) -> SendResult:
        if isinstance(exc, WecomApiError):
            log.warning("wecom send %s failed: %s", message.id, exc.describe())
            return SendResult.failed(exc.describe(), retryable=exc.retryable,
                                     retry_after=exc.retry_after)
        if isinstance(exc, TimeoutError):
            # WeCom took the frame and never answered: it may have been shown, so this is
            # a try like any failed one; a wait, which uses none, could repeat it for ever.
            return SendResult.failed("long connection: no ack from WeCom for aibot_send_msg",
                                     retryable=True)
        if isinstance(exc, ConnectionError):
            return self._waiting(message, f"long connection lost ({exc})", DROPPED_WAIT)
        raise exc

    def _waiting(self, message: Outbound, error: str, retry_after: float) -> SendResult:
        """The chat is known but no long connection is at hand: wait (no try used up) until
        LONGCONN_PATIENCE has passed since the row first had to, then give it up."""
        now = self.clock.now()
        since = message.payload.get(WAITING_SINCE)
        if since and now - datetime.fromisoformat(since) >= LONGCONN_PATIENCE:
            minutes = int(LONGCONN_PATIENCE.total_seconds() // 60)
            return SendResult.failed(
                f"long connection unavailable for {minutes} minutes ({error}): no replica "
                "could send it. See djbot serve's log (长连接: subscribe, taken over), then "
                "djbot outbox retry <id>", retryable=False)
        payload = message.payload if since else {**message.payload, WAITING_SINCE: now.isoformat()}
        return SendResult.failed(error, retryable=True, retry_after=retry_after, payload=payload)

    async def _send_private(self, message: Outbound) -> SendResult:
        # An answer to the member's own message (a late reply, the rest of a long one) is
        # sent without WeCom's duplicate check: asked the same twice within 30 minutes, the
        # second answer's parts are the first's very requests, and WeCom would show none of
        # them (path/90236). A retry after a timeout may then show a part twice, not none.
        invalid = await send_private(self.client, message.target, message.payload,
                                     duplicate_check=message.kind not in ANSWERS)
        if invalid:
            return SendResult.sent(note=f"无效用户（企业微信不认识）：{'、'.join(sorted(invalid))}")
        return SendResult.sent()

    async def _respond(self, message: Outbound) -> SendResult:
        """The rest of an AI-bot answer, by the message's response_url: one POST, never
        repeated (the URL is taken off the row before it is used). With no URL left, or
        one past its hour, it goes as any reply does (the group's webhook, the app)."""
        url = await asyncio.to_thread(self._take_response_url, message.id)
        until = message.payload.get(RESPONSE_URL_UNTIL)
        asker = message.payload.get(RESPONSE_URL_ASKER)
        rest = {key: value for key, value in message.payload.items()
                if key not in (RESPONSE_URL_KEY, RESPONSE_URL_UNTIL, RESPONSE_URL_ASKER)}
        otherwise = naming_the_asker(rest, asker) if asker else rest
        if not url or (until and self.clock.now() >= datetime.fromisoformat(until)):
            result = await self.send(replace(message, kind="reply", payload=otherwise))
            return result if result.payload is not None else replace(result, payload=otherwise)
        content = render_markdown(self._with_names(rest), see_all=see_all(self.client.settings))
        try:
            await self.client.respond(url, {"msgtype": "markdown",
                                            "markdown": {"content": content}})
        except WecomApiError as exc:
            log.warning("wecom response_url for outbox %s failed: %s", message.id,
                        exc.describe())
            if nothing_shown(exc):
                # WeCom refused it, or it never got there: nothing was shown, so the rest
                # goes at once as any reply does (the group's webhook, the app).
                result = await self.send(replace(message, kind="reply", payload=otherwise))
                return (result if result.payload is not None
                        else replace(result, payload=otherwise))
            return SendResult.failed(
                f"response_url: {exc.describe()}; it is good for one try only. djbot outbox "
                f"retry {message.id} sends the rest by the group's webhook or the app",
                retryable=False, payload=rest)
        return replace(SendResult.sent(), payload=rest)

    def _take_response_url(self, message_id: int) -> str | None:
        with session_scope(self.engine) as session:
            return outbox.take_from_payload(session, message_id=message_id,
                                            key=RESPONSE_URL_KEY)

    async def _send_reply(self, message: Outbound) -> SendResult:
        """A long-connection reply whose ack never came: aibot_send_msg to the same chat
        (a group's chatid, or the member's userid for a single chat)."""
        if not self.longconn.connected:  # type: ignore[union-attr]
            return self._waiting(message, "long connection not held here", NOT_HELD_WAIT)
        payload = self._with_names(message.payload)
        await send_parts(message.payload, render_markdown_parts(payload),
                         lambda part: self.longconn.send_markdown(  # type: ignore[union-attr]
                             message.target, part))
        return SendResult.sent()

    def shared_channel(self, message: Outbound) -> str | None:
        """The push webhook a group row goes through, named by a hash of its key, when the
        chat has no destination of its own (bot.sender.SharesChannels): a branch has one
        webhook, and a message queued to each of its two groups must reach it once."""
        if message.target_kind not in ("group", "leaders") or message.kind == "reply":
            return None
        branch_id, leaders = self._scope(message)
        if not message.payload.get("image_base64") and self._own_chat(message.target,
                                                                      branch_id, leaders):
            return None
        key = self._push_key(branch_id, leaders)
        if key is None:
            return None
        return "wecom webhook " + hashlib.sha256(key.encode()).hexdigest()[:16]

    async def _send_group(self, message: Outbound) -> SendResult:
        branch_id, leaders = self._scope(message)
        if message.payload.get("image_base64"):
            return await self._send_picture(branch_id, leaders, message.payload)
        longconn = self.longconn
        chat_id = (self._bound_chat(message.target, branch_id, leaders)
                   if longconn is not None else None)
        if longconn is not None and chat_id is not None and longconn.connected:
            payload = self._with_names(message.payload)
            await send_parts(message.payload, render_markdown_parts(payload),
                             lambda part: longconn.send_markdown(chat_id, part))
            return SendResult.sent()
        # A chat with a connection of its own waits for it rather than take the branch's
        # webhook, which posts into one of the branch's groups and cannot say which.
        own = self._own_chat(message.target, branch_id, leaders)
        key = None if own else self._push_key(branch_id, leaders)
        if key is not None:
            await send_parts(message.payload, render_group(message.payload),
                             lambda body: self.client.webhook_send(key, body))
            return SendResult.sent()
        if longconn is None:
            return SendResult.failed("no WeCom push webhook set for this group "
                                     "(设置 推送 <支部> <key>)", retryable=False)
        if chat_id is None:
            # Nothing to send to, whichever replica holds the connection: waiting can't help.
            return SendResult.failed(
                "no WeCom group bound for this target and no push webhook: say "
                "@党建助手 绑定 <支部名称|领导> in the group (the AI bot must be in it), or "
                "设置 推送 <支部|领导> <key>; then djbot outbox retry <id>", retryable=False)
        # The chat is known; the connection is held by another replica, or by none just now.
        return self._waiting(message, "long connection not held here", NOT_HELD_WAIT)

    def _scope(self, message: Outbound) -> tuple[int | None, bool]:
        """Whose push webhook a group row may take (branch id, whether the leaders'): the
        chat's binding says, else the row. A bureau-wide activity's cancellation names no
        branch, yet each branch group it goes to is reached by that branch's webhook."""
        with Session(self.engine) as session:
            binding = session.exec(select(ChatBinding).where(
                ChatBinding.platform == "wecom",
                ChatBinding.chat_id == message.target)).first()
        if binding is not None:
            return (None, True) if binding.is_leaders else (binding.branch_id, False)
        if message.target_kind == "leaders":
            return None, True
        if message.branch_id is None and message.target.isdigit():
            return int(message.target), False  # a push addressed to a branch by id
        return message.branch_id, False

    def _own_chat(self, target: str, branch_id: int | None, leaders: bool) -> bool:
        """Whether a group row has a destination of its own: with the long connection, a
        bound chat among several of its branch (or of the leaders). The only bound chat
        may still take the webhook while the connection is away: that is its webhook."""
        if self.longconn is None:
            return False
        with Session(self.engine) as session:
            chats = list(session.exec(self._bindings(branch_id, leaders)).all())
        return target in chats and len(chats) > 1

    @staticmethod
    def _bindings(branch_id: int | None, leaders: bool):
        query = select(ChatBinding.chat_id).where(ChatBinding.platform == "wecom")
        if leaders:
            return query.where(ChatBinding.is_leaders == True)  # noqa: E712
        return query.where(ChatBinding.branch_id == branch_id,
                           ChatBinding.is_leaders == False)  # noqa: E712

    def _with_names(self, payload: dict[str, Any]) -> dict[str, Any]:
        """The payload with the names of the people it mentions, for the AI bot's markdown."""
        mentions = [m for m in payload.get("mentions") or [] if m]
        if not mentions:
            return payload
        # WeCom ignores case in a userid (org.CASELESS_IDS): the asker's ZhangSan is the
        # roster's zhangsan.
        with Session(self.engine) as session:
            rows = session.exec(
                select(Identity.user_id, Member.name)
                .join(Member, Member.id == Identity.member_id)
                .where(Identity.platform == "wecom",
                       func.lower(Identity.user_id).in_(  # type: ignore[arg-type]
                           [m.lower() for m in mentions]))).all()
        names = {user.lower(): name for user, name in rows}
        return {**payload, "mention_names": {m: names[m.lower()] for m in mentions
                                             if m.lower() in names}}

    async def _send_picture(self, branch_id: int | None, leaders: bool,
                            payload: dict[str, Any]) -> SendResult:
        """An image goes through the group robot's webhook only: the long connection and
        the app's message/send would need the picture uploaded as media first."""
        key = self._push_key(branch_id, leaders)
        if key is None:
            return SendResult.failed("a picture needs the group's push webhook "
                                     "(设置 推送 <支部|领导> <key>)", retryable=False)
        [body] = render_group(payload)  # a picture is one message, never split
        await self.client.webhook_send(key, body)
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

    def _bound_chat(self, target: str, branch_id: int | None, leaders: bool) -> str | None:
        """The chat a group row goes to by the long connection: the one it names, when
        bound (an activity announced to each of a branch's groups reaches each); else the
        leaders' group, or the branch's first bound group (a reminder names the branch)."""
        with Session(self.engine) as session:
            named = session.exec(select(ChatBinding.chat_id).where(
                ChatBinding.platform == "wecom", ChatBinding.chat_id == target)).first()
            if named is not None:
                return named
            if branch_id is None and not leaders:
                return None  # a branch's message never goes to the leaders' group
            return session.exec(self._bindings(branch_id, leaders)
                                .order_by(ChatBinding.id)).first()
