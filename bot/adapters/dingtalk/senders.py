"""Getting djbot's words into DingTalk: replies to a message, and outbox sends.

- A reply goes to the message's sessionWebhook while it is valid; once it has expired
  (or the post fails) it is queued in the outbox, once per message id.
- The outbox Sender uses the robot's proactive APIs: groupMessages/send for a group,
  oToMessages/batchSend for people (at most 20 per call), or, when a branch has set one,
  its custom robot webhook (signed URL, 20 a minute, then a 10-minute block).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.adapters.common import cut_to_bytes
from bot.clock import Clock
from bot.config import DingtalkSettings
from bot.core import Reply
from bot.sender import Outbound, SendResult
from storage import outbox
from storage.db import session_scope
from storage.models import ChatBinding, PushChannel

from .client import ROBOT_THROTTLE_SECONDS, DingtalkClient, DingtalkError
from .inbound import PLATFORM, Delivery
from .signing import signed_webhook_url

log = logging.getLogger("djbot.dingtalk")

BATCH_USERS = 20  # oToMessages/batchSend takes at most 20 userIds
MSG_PARAM_BYTES = 15_000  # msgParam is a JSON string of at most 15 000 bytes
TEXT_BYTES = 12_000  # leaves room in msgParam for the title and JSON escaping
ROBOT_PER_MINUTE = 20


# --- rendering (pure) ------------------------------------------------------------------


def title_of(reply: Reply) -> str:
    """The line DingTalk shows in the notification and the conversation list."""
    first = reply.title or reply.text.strip().split("\n", 1)[0] or "党建助手"
    return first[:20]


def markdown_text(reply: Reply, mentions: tuple[str, ...] = ()) -> str:
    # DingTalk highlights an @ only when "@userId" appears in the text as well as in
    # atUserIds; a plain reply's lines become paragraphs so they are not run together.
    body = reply.text if reply.markdown else "\n\n".join(reply.text.split("\n"))
    prefix = "".join(f"@{user} " for user in mentions)
    return cut_to_bytes(prefix + body, TEXT_BYTES)


def webhook_body(reply: Reply, *, mentions: tuple[str, ...] = ()) -> dict[str, Any]:
    """A sessionWebhook or custom-robot message: markdown, @-mentioning by staff id."""
    return {
        "msgtype": "markdown",
        "markdown": {"title": title_of(reply), "text": markdown_text(reply, mentions)},
        "at": {"atUserIds": list(mentions), "isAtAll": False},
    }


def robot_message(reply: Reply) -> dict[str, str]:
    """msgKey and msgParam (a JSON string) for the proactive robot APIs."""
    if reply.markdown:
        param = {"title": title_of(reply), "text": markdown_text(reply)}
        return {"msgKey": "sampleMarkdown", "msgParam": json.dumps(param, ensure_ascii=False)}
    param = {"content": cut_to_bytes(reply.text, TEXT_BYTES)}
    return {"msgKey": "sampleText", "msgParam": json.dumps(param, ensure_ascii=False)}


def batches(user_ids: list[str], size: int = BATCH_USERS) -> list[list[str]]:
    return [user_ids[i : i + size] for i in range(0, len(user_ids), size)]


# --- replies to a received message ---------------------------------------------------


def reply_dedupe_key(message_id: str) -> str:
    return f"dingtalk.reply:{message_id}"


class Replier:
    """Answers one received message: sessionWebhook first, else the outbox (once)."""

    def __init__(self, client: DingtalkClient, engine: Engine, clock: Clock) -> None:
        self.client = client
        self.engine = engine
        self.clock = clock

    async def reply(self, delivery: Delivery, reply: Reply) -> str:
        """Send the reply; return "webhook" or "outbox" (where it went)."""
        message = delivery.message
        mentions: tuple[str, ...] = ()
        if not message.is_private:
            mentions = tuple(dict.fromkeys((delivery.sender_staff_id, *reply.mentions)))
        if delivery.session_webhook and not self.client.owns(delivery.session_webhook):
            log.warning("sessionWebhook of %s is not on a DingTalk host; refused",
                        message.message_id)
        elif delivery.webhook_usable(self.clock.now()):
            try:
                await self.client.webhook(delivery.session_webhook,  # type: ignore[arg-type]
                                          webhook_body(reply, mentions=mentions),
                                          what="sessionWebhook")
                return "webhook"
            except DingtalkError as exc:
                log.warning("sessionWebhook reply to %s failed (%s); queued instead",
                            message.message_id, exc.reason)
        await asyncio.to_thread(self._enqueue, delivery, reply)
        return "outbox"

    def _enqueue(self, delivery: Delivery, reply: Reply) -> None:
        message = delivery.message
        payload = reply.to_dict()
        if not message.is_private and message.sender_name:
            # The proactive group API cannot @ anyone; say who the answer is for.
            payload["text"] = f"@{message.sender_name} {reply.text}"
        with session_scope(self.engine) as session:
            outbox.enqueue(
                session,
                platform=PLATFORM,
                target_kind="user" if message.is_private else "group",
                target=delivery.sender_staff_id if message.is_private else delivery.conversation_id,
                payload=payload,
                now=self.clock.now(),
                kind="reply",
                # A retried delivery of the same message must not queue a second copy.
                dedupe_key=reply_dedupe_key(message.message_id),
            )


# --- the outbox Sender -------------------------------------------------------------------


@dataclass(frozen=True)
class _Robot:
    url: str
    secret: str | None


@dataclass(frozen=True)
class _Conversation:
    open_conversation_id: str


class RobotThrottle:
    """A custom robot takes 20 messages a minute and then blocks for 10 minutes; we count
    our own sends so we wait before hitting the block, and wait it out if we hit it."""

    def __init__(self, clock: Clock, per_minute: int = ROBOT_PER_MINUTE) -> None:
        self.clock = clock
        self.per_minute = per_minute
        self._sent: dict[str, deque[datetime]] = {}
        self._blocked_until: dict[str, datetime] = {}

    def wait_seconds(self, robot: str) -> float:
        """0 when a message may go now, else how long to wait."""
        now = self.clock.now()
        blocked = self._blocked_until.get(robot)
        if blocked is not None and blocked > now:
            return (blocked - now).total_seconds()
        window = self._sent.setdefault(robot, deque())
        while window and now - window[0] >= timedelta(minutes=1):
            window.popleft()
        if len(window) < self.per_minute:
            return 0.0
        return (window[0] + timedelta(minutes=1) - now).total_seconds()

    def sent(self, robot: str) -> None:
        self._sent.setdefault(robot, deque()).append(self.clock.now())

    def blocked(self, robot: str, seconds: float = ROBOT_THROTTLE_SECONDS) -> None:
        self._blocked_until[robot] = self.clock.now() + timedelta(seconds=seconds)


class DingtalkSender:
    """The outbox's Sender for platform "dingtalk"."""

    platform = PLATFORM

    def __init__(self, settings: DingtalkSettings, client: DingtalkClient, engine: Engine,
                 clock: Clock) -> None:
        self.settings = settings
        self.client = client
        self.engine = engine
        self.clock = clock
        self.throttle = RobotThrottle(clock)

    async def send(self, message: Outbound) -> SendResult:
        reply = Reply.from_dict(message.payload)
        try:
            if message.target_kind == "user":
                users = list(message.payload.get("user_ids") or [message.target])
                await self._to_users(users, reply)
                return SendResult.sent()
            route = await asyncio.to_thread(self._group_route, message)
            if route is None:
                return SendResult.failed(
                    "no DingTalk group for this target: bind a group or set a custom robot",
                    retryable=False)
            if isinstance(route, _Robot):
                return await self._to_robot(route, reply)
            await self._to_conversation(route.open_conversation_id, reply)
            return SendResult.sent()
        except DingtalkError as exc:
            return SendResult.failed(exc.reason, retryable=exc.retryable,
                                     retry_after=exc.retry_after)

    async def _to_users(self, user_ids: list[str], reply: Reply) -> None:
        # A failure after the first batch makes the outbox retry the whole row, so the
        # first batch may see the message twice: delivery is at least once.
        for batch in batches(user_ids):
            await self.client.api("/v1.0/robot/oToMessages/batchSend",
                                  {"robotCode": self.settings.robot_code, "userIds": batch,
                                   **robot_message(reply)})

    async def _to_conversation(self, open_conversation_id: str, reply: Reply) -> None:
        await self.client.api("/v1.0/robot/groupMessages/send",
                              {"robotCode": self.settings.robot_code,
                               "openConversationId": open_conversation_id,
                               **robot_message(reply)})

    async def _to_robot(self, robot: _Robot, reply: Reply) -> SendResult:
        wait = self.throttle.wait_seconds(robot.url)
        if wait > 0:
            return SendResult.failed("custom robot: waiting out its rate limit",
                                     retry_after=wait)
        url = signed_webhook_url(robot.url, robot.secret, self.clock.now()) if robot.secret \
            else robot.url
        try:
            await self.client.webhook(url, webhook_body(reply, mentions=reply.mentions),
                                      what="custom robot")
        except DingtalkError as exc:
            if exc.retry_after == ROBOT_THROTTLE_SECONDS:
                self.throttle.blocked(robot.url)
            raise
        self.throttle.sent(robot.url)
        return SendResult.sent()

    def _group_route(self, message: Outbound) -> _Robot | _Conversation | None:
        """A reply goes back to its conversation; a push uses the branch's custom robot
        when one is set, else the robot's bound group."""
        if message.kind == "reply":
            return _Conversation(message.target)
        with Session(self.engine) as session:
            binding = session.exec(select(ChatBinding).where(
                ChatBinding.platform == PLATFORM, ChatBinding.chat_id == message.target)).first()
            leaders = message.target_kind == "leaders" or bool(binding and binding.is_leaders)
            branch_id = message.branch_id
            if binding is not None:
                branch_id = binding.branch_id
            elif branch_id is None and message.target.isdigit():
                branch_id = int(message.target)  # a push addressed to a branch by id
            channel = session.exec(select(PushChannel).where(
                PushChannel.platform == PLATFORM,
                PushChannel.branch_id == (None if leaders else branch_id),
                PushChannel.is_leaders == leaders)).first()
            if channel is not None:
                return _Robot(channel.url, channel.secret)
            if binding is None:
                binding = session.exec(select(ChatBinding).where(
                    ChatBinding.platform == PLATFORM,
                    ChatBinding.is_leaders == leaders,
                    ChatBinding.branch_id == (None if leaders else branch_id))).first()
            return _Conversation(binding.chat_id) if binding is not None else None
