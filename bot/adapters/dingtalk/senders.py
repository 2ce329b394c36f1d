"""Getting djbot's words into DingTalk: replies to a message, and outbox sends.

- A reply goes to the message's sessionWebhook while it is valid; once it has expired
  (or the post fails) it is queued in the outbox, once per message id.
- A message delivered again (DingTalk's retry, a Stream redelivery, or a captured HTTP
  callback replayed) is answered again at most once, only soon after it first came, and
  not by the process that answered it already.
- The outbox Sender uses the robot's proactive APIs: groupMessages/send for a group,
  oToMessages/batchSend for people (at most 20 per call), or, when a branch has set one,
  its custom robot webhook (signed URL, 20 a minute, then a 10-minute block).
- A long message goes in numbered parts (common.split_to_bytes), each within PART_BYTES.
- batchSend answers 200 even when it reached only some people: the flow-controlled ones
  get their own outbox row, due later, from the part they missed; the invalid ones are
  noted on the sent row. Each person gets every part once, in order.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.adapters.common import WELCOME, cut_to_bytes, split_to_bytes
from bot.clock import Clock
from bot.config import DingtalkSettings
from bot.core import Reply
from bot.sender import PARTS_SENT, FollowUp, Outbound, PartsInterrupted, SendResult, send_parts
from storage import outbox
from storage.callbacks import claim_answer
from storage.db import session_scope
from storage.models import ChatBinding, ProcessedMessage, PushChannel
from storage.prepared import Writes

from .client import ROBOT_THROTTLE_SECONDS, DingtalkClient, DingtalkError
from .inbound import PLATFORM, Delivery
from .signing import signed_webhook_url

log = logging.getLogger("djbot.dingtalk")

BATCH_USERS = 20  # oToMessages/batchSend takes at most 20 userIds
MSG_PARAM_BYTES = 15_000  # msgParam is a JSON string of at most 15 000 bytes
# One part's text: room in msgParam for the title, the blank lines a reply gains as
# markdown and JSON's escaping of them. No smaller limit is published for sessionWebhook
# or custom-robot markdown, so their parts use the same size (docs/dingtalk.md).
PART_BYTES = 10_000
TEXT_BYTES = 12_000  # the hard cut for one part, should a part ever grow past PART_BYTES
ROBOT_PER_MINUTE = 20
MAX_KNOWN_GROUPS = 10_000  # a bureau has a few dozen groups; the set stays small regardless
# Flow-controlled batchSend recipients are tried again this much later, doubling each time
# they are held back again (DingTalk says only "flow controlled", not for how long), up to
# an hour; after FLOW_CONTROL_TRIES holds they are given up, named on the row for the
# operator: DingTalk's limit on what one person receives can last the day, and a row a
# minute for ever would only add to it.
FLOW_CONTROL_WAIT = timedelta(minutes=1)
FLOW_CONTROL_MAX_WAIT = timedelta(hours=1)
FLOW_CONTROL_TRIES = 8
HELD = "held_back"  # how many times this row's people were held back before
# A batchSend row's payload, besides parts_sent (the parts all its user_ids have): who
# already has the next part, when a failure cut it short; and the unknown userIds met so
# far, for the note on the sent row.
REACHED = "reached"
INVALID = "invalid_user_ids"


# --- rendering (pure) ------------------------------------------------------------------


def title_of(reply: Reply) -> str:
    """The line DingTalk shows in the notification and the conversation list."""
    first = reply.title or reply.text.strip().split("\n", 1)[0] or "党建助手"
    return first[:20]


def markdown_text(reply: Reply, mentions: tuple[str, ...] = ()) -> str:
    # DingTalk highlights an @ only when "@userId" appears in the text as well as in
    # atUserIds. Its markdown breaks a line only at a blank line, so a plain reply's lines
    # become paragraphs, and so do a markdown reply's (周报: one figure to a line).
    body = paragraphs(reply.text) if reply.markdown else "\n\n".join(reply.text.split("\n"))
    return cut_to_bytes(at_line(reply, " ".join(f"@{user}" for user in mentions)) + body,
                        TEXT_BYTES)


def paragraphs(markdown: str) -> str:
    """Markdown whose every line stands alone in DingTalk: a blank line between two lines
    that have none, but for a table's rows (a blank line would end the table)."""
    lines = markdown.split("\n")
    out = lines[:1]
    for before, line in zip(lines, lines[1:]):
        if before.strip() and line.strip() and not (_table_row(before) and _table_row(line)):
            out.append("")
        out.append(line)
    return "\n".join(out)


def _table_row(line: str) -> bool:
    return line.lstrip().startswith("|")


def at_line(reply: Reply, at: str) -> str:
    """What goes before the text to @ someone: on the same line for a plain reply, its own
    paragraph for markdown (周报 begins "## …", a heading only at the start of a line)."""
    if not at:
        return ""
    return f"{at}\n\n" if reply.markdown else f"{at} "


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


def reply_parts(reply: Reply) -> list[Reply]:
    """The reply as one or more messages, each within PART_BYTES, numbered when several."""
    texts = split_to_bytes(reply.text, PART_BYTES)
    if len(texts) == 1:
        return [reply]
    return [replace(reply, text=text) for text in texts]


def batches(user_ids: list[str], size: int = BATCH_USERS) -> list[list[str]]:
    return [user_ids[i : i + size] for i in range(0, len(user_ids), size)]


# --- replies to a received message ---------------------------------------------------


# A message delivered again may be answered again only this soon after djbot first received
# it, and once. DingTalk repeats a message whose answer (or ack) it did not get, within
# moments or a reconnect; the reply may well have gone, but djbot keeps no stored record of
# each reply's delivery (a write per message), so a repeat that soon gets it once more,
# unless this process itself answered it (Replier remembers the recent ones: a connection
# that drops with check-ins in hand must not answer each twice). Later a repeat is a
# replay of a captured callback (its pair is good for an hour): it changes nothing, and it
# must not post the stored reply into the group again and again.
REPEAT_WINDOW = timedelta(minutes=5)
# How many recent messages' answers a Replier remembers (a theme day's burst is hundreds).
RECENT_ANSWERS = 10_000


def reply_dedupe_key(message_id: str) -> str:
    return f"dingtalk.reply:{message_id}"


class Replier:
    """Answers one received message: sessionWebhook first, else the outbox (once)."""

    def __init__(self, client: DingtalkClient, engine: Engine, clock: Clock, *,
                 write: Callable[..., Awaitable[Any]] | None = None) -> None:
        self.client = client
        self.engine = engine
        self.clock = clock
        # Where the outbox write runs: the dispatcher's writer threads in the service (on
        # SQLite one writer for everything), a worker thread otherwise.
        self.write = write or asyncio.to_thread
        # Groups known not to be new (bound, or heard from before): a group never becomes
        # new again, so every message after the first skips the two queries.
        self._known_groups: set[str] = set()
        # Message id → whether this process's answer to it went (sent, or queued in the
        # outbox), resolved when known; the most recent RECENT_ANSWERS.
        self._answered: OrderedDict[str, asyncio.Future[bool]] = OrderedDict()

    async def reply(self, delivery: Delivery, reply: Reply) -> str:
        """Send the reply; return "webhook" or "outbox" (where it went)."""
        went = asyncio.get_running_loop().create_future()
        self._answered[delivery.message.message_id] = went
        self._answered.move_to_end(delivery.message.message_id)
        while len(self._answered) > RECENT_ANSWERS:
            self._answered.popitem(last=False)
        try:
            where = await self._reply(delivery, reply)
        except BaseException:
            went.set_result(False)
            raise
        went.set_result(True)
        return where

    async def _reply(self, delivery: Delivery, reply: Reply) -> str:
        message = delivery.message
        if (not message.is_private and message.chat_id not in self._known_groups
                and await asyncio.to_thread(self._new_group, message.chat_id)):
            # DingTalk has no "robot added to a group" event for an internal app's robot:
            # the first message from a group djbot has never seen gets the welcome.
            reply = replace(reply, text=f"{reply.text}\n\n{WELCOME}")
        mentions: tuple[str, ...] = ()
        if not message.is_private:
            mentions = tuple(dict.fromkeys((delivery.sender_staff_id, *reply.mentions)))
        sent = 0
        if delivery.session_webhook and not self.client.owns(delivery.session_webhook):
            log.warning("sessionWebhook of %s is not on a DingTalk host; refused",
                        message.message_id)
        elif self._webhook_usable(delivery):
            parts = reply_parts(reply)
            last = len(parts) - 1
            try:
                # The @ comes with the last part, once the whole answer is there.
                await send_parts({}, parts, lambda part: self.client.webhook(
                    delivery.session_webhook,  # type: ignore[arg-type]
                    webhook_body(part, mentions=mentions if part is parts[last] else ()),
                    what="sessionWebhook"))
                return "webhook"
            except PartsInterrupted as exc:
                sent = exc.sent
                log.warning("sessionWebhook reply to %s failed (%s); queued instead",
                            message.message_id, getattr(exc.cause, "reason", exc.cause))
        await self.write(self._enqueue, delivery, reply, sent)
        return "outbox"

    async def reply_again(self, delivery: Delivery, reply: Reply) -> str | None:
        """The reply to a repeated delivery: sent as reply() does when the message came
        within REPEAT_WINDOW and no repeat was answered before; else None, nothing sent."""
        message_id = delivery.message.message_id
        went = self._answered.get(message_id)
        if went is not None and await asyncio.shield(went):
            log.info("dingtalk message %s repeated; answered already", message_id)
            return None
        if not await self.write(self._may_answer_again, message_id):
            log.info("dingtalk message %s repeated; its reply is not sent again", message_id)
            return None
        return await self.reply(delivery, reply)

    def _may_answer_again(self, message_id: str) -> bool:
        with session_scope(self.engine) as session:
            now = self.clock.now()
            received = session.exec(select(ProcessedMessage.received_at).where(
                ProcessedMessage.platform == PLATFORM,
                ProcessedMessage.message_id == message_id)).first()
            if received is None or now - received > REPEAT_WINDOW:
                return False
            return claim_answer(session, platform=PLATFORM, message_id=message_id,
                                via="repeat", now=now)

    def _new_group(self, chat_id: str) -> bool:
        """No binding yet, and this message is the only one ever received from the group."""
        with Session(self.engine) as session:
            if session.exec(select(ChatBinding.id).where(
                    ChatBinding.platform == PLATFORM, ChatBinding.chat_id == chat_id)).first():
                new = False
            else:
                seen = session.exec(select(ProcessedMessage.id).where(
                    ProcessedMessage.platform == PLATFORM,
                    ProcessedMessage.chat_id == chat_id).limit(2)).all()
                new = len(seen) <= 1
        if not new and len(self._known_groups) < MAX_KNOWN_GROUPS:
            self._known_groups.add(chat_id)
        return new

    def queue_with_message(self, delivery: Delivery) -> Callable[[Writes, Reply], None] | None:
        """IncomingMessage.queue_reply for this delivery, when its reply can only go by the
        outbox (no usable sessionWebhook) and needs no welcome (a private chat, or a group
        heard from before): the reply is then queued in the message's own transaction,
        committed with what it answers, instead of in a second one after the answer."""
        message = delivery.message
        if self._webhook_usable(delivery):
            return None
        if not message.is_private and message.chat_id not in self._known_groups:
            return None
        return partial(self._enqueue_on, delivery)

    def _webhook_usable(self, delivery: Delivery) -> bool:
        """The reply can go to the message's sessionWebhook: one on a DingTalk host, not
        about to expire (reply() and queue_with_message() decide by this one rule)."""
        return (bool(delivery.session_webhook) and self.client.owns(delivery.session_webhook)
                and delivery.webhook_usable(self.clock.now()))

    def _enqueue(self, delivery: Delivery, reply: Reply, parts_sent: int = 0) -> None:
        with session_scope(self.engine) as session:
            outbox.enqueue(session, **self._queued(delivery, reply, parts_sent))

    def _enqueue_on(self, delivery: Delivery, writes: Writes, reply: Reply) -> None:
        outbox.enqueue_once_on(writes, **self._queued(delivery, reply, 0))

    def _queued(self, delivery: Delivery, reply: Reply, parts_sent: int) -> dict[str, Any]:
        """The reply as an outbox row's values."""
        message = delivery.message
        payload = reply.to_dict()
        if parts_sent:  # the rest of a long answer whose first parts went by webhook
            payload[PARTS_SENT] = parts_sent
        elif not message.is_private and message.sender_name:
            # The proactive group API cannot @ anyone; say who the answer is for.
            payload["text"] = at_line(reply, f"@{message.sender_name}") + reply.text
        return {
            "platform": PLATFORM,
            "target_kind": "user" if message.is_private else "group",
            "target": delivery.sender_staff_id if message.is_private else delivery.conversation_id,
            "payload": payload,
            "now": self.clock.now(),
            "kind": "reply",
            # A retried delivery of the same message must not queue a second copy.
            "dedupe_key": reply_dedupe_key(message.message_id),
        }


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
                # An empty list is a row with nobody left, not one for its target.
                listed = message.payload.get("user_ids")
                users = [message.target] if listed is None else list(listed)
                return await self._to_users(message, users, reply)
            route = await asyncio.to_thread(self._group_route, message)
            if route is None:
                return SendResult.failed(
                    "no DingTalk group for this target: bind a group or set a custom robot",
                    retryable=False)
            if isinstance(route, _Robot):
                return await self._to_robot(message, route, reply)
            await send_parts(message.payload, reply_parts(reply),
                             lambda part: self._to_conversation(route.open_conversation_id,
                                                                part))
            return SendResult.sent()
        except PartsInterrupted as exc:
            return self._failure(exc.cause).resuming(message.payload, exc.sent)
        except DingtalkError as exc:
            return self._failure(exc)

    def shared_channel(self, message: Outbound) -> str | None:
        """The branch's custom robot, when a group row goes through it (bot.sender.
        SharesChannels): the robot posts into its own group whichever bound group the row
        names, so a message queued to each of the branch's groups must go through it once."""
        if message.target_kind not in ("group", "leaders") or message.kind == "reply":
            return None
        route = self._group_route(message)
        if not isinstance(route, _Robot):
            return None
        return "dingtalk robot " + hashlib.sha256(route.url.encode()).hexdigest()[:16]

    @staticmethod
    def _failure(exc: Exception) -> SendResult:
        if isinstance(exc, DingtalkError):
            return SendResult.failed(exc.reason, retryable=exc.retryable,
                                     retry_after=exc.retry_after)
        raise exc

    async def _to_users(self, message: Outbound, user_ids: list[str],
                        reply: Reply) -> SendResult:
        """batchSend each part to the row's people, 20 at a time, so that each gets every
        part once and in order. A 200 may still leave people out (aliyun/dingtalk-sdk
        BatchSendOTOResponseBody): the flow-controlled ones leave this row for one of
        their own, from the part they missed, due after FLOW_CONTROL_WAIT; invalid ones
        are dropped and noted. A failure part-way stores who has what, so the next try
        sends the interrupted part only to those who lack it."""
        parts = reply_parts(reply)
        users = list(dict.fromkeys(user_ids))
        invalid: list[str] = list(message.payload.get(INVALID) or [])
        reached = set(message.payload.get(REACHED) or [])
        held_back: list[FollowUp] = []
        gave_up: list[str] = []
        index = min(int(message.payload.get(PARTS_SENT) or 0), len(parts))
        while index < len(parts):
            throttled: list[str] = []
            failure: DingtalkError | None = None
            for batch in batches([u for u in users if u not in reached]):
                try:
                    answer = await self.client.api(
                        "/v1.0/robot/oToMessages/batchSend",
                        {"robotCode": self.settings.robot_code, "userIds": batch,
                         **robot_message(parts[index])})
                except DingtalkError as exc:
                    failure = exc
                    break
                refused = [u for u in answer.get("invalidStaffIdList") or [] if u in batch]
                held = [u for u in answer.get("flowControlledStaffIdList") or []
                        if u in batch and u not in refused]
                invalid += refused
                throttled += held
                reached.update(u for u in batch if u not in refused and u not in held)
            users = [u for u in users if u not in invalid and u not in throttled]
            if throttled:
                follow_up = self._held_back(message, throttled, index)
                if follow_up is None:
                    log.warning("dingtalk batchSend %s: %s flow-controlled %d times; given up",
                                message.id, "、".join(throttled), FLOW_CONTROL_TRIES)
                    gave_up += throttled
                else:
                    log.info("dingtalk batchSend %s: %d flow-controlled at part %d, queued "
                             "again", message.id, len(throttled), index + 1)
                    held_back.append(follow_up)
            if failure is not None:
                progress = {**message.payload, "user_ids": users, PARTS_SENT: index,
                            REACHED: sorted(reached), INVALID: invalid}
                return replace(self._failure(failure), payload=progress,
                               follow_ups=tuple(held_back))
            index, reached = index + 1, set()
        notes = []
        if invalid:
            notes.append(f"无效用户（钉钉 invalidStaffIdList）：{'、'.join(dict.fromkeys(invalid))}")
        if gave_up:
            notes.append(f"钉钉限流 {FLOW_CONTROL_TRIES} 次后未送达：{'、'.join(gave_up)}")
        return SendResult.sent(note="；".join(notes) or None, follow_ups=tuple(held_back))

    @staticmethod
    def _held_back(message: Outbound, user_ids: list[str], part: int) -> FollowUp | None:
        """The flow-controlled users' own row: the part they missed onwards, later each
        time they are held back again; None once they have been FLOW_CONTROL_TRIES times."""
        held = int(message.payload.get(HELD) or 0) + 1
        if held >= FLOW_CONTROL_TRIES:
            return None
        payload = {key: value for key, value in message.payload.items()
                   if key not in (REACHED, INVALID)}
        wait = min(FLOW_CONTROL_WAIT * 2 ** (held - 1), FLOW_CONTROL_MAX_WAIT)
        return FollowUp(target=user_ids[0],
                        payload={**payload, "user_ids": user_ids, PARTS_SENT: part, HELD: held},
                        delay=wait.total_seconds())

    async def _to_conversation(self, open_conversation_id: str, reply: Reply) -> None:
        """groupMessages/send; its answer carries only processQueryKey."""
        await self.client.api("/v1.0/robot/groupMessages/send",
                              {"robotCode": self.settings.robot_code,
                               "openConversationId": open_conversation_id,
                               **robot_message(reply)})

    async def _to_robot(self, message: Outbound, robot: _Robot, reply: Reply) -> SendResult:
        parts = reply_parts(reply)

        async def one(part: Reply) -> None:
            wait = self.throttle.wait_seconds(robot.url)
            if wait > 0:
                raise DingtalkError("custom robot: waiting out its rate limit", retryable=True,
                                    retry_after=wait)
            url = signed_webhook_url(robot.url, robot.secret, self.clock.now()) \
                if robot.secret else robot.url
            mentions = reply.mentions if part is parts[-1] else ()
            try:
                await self.client.webhook(url, webhook_body(part, mentions=mentions),
                                          what="custom robot")
            except DingtalkError as exc:
                if exc.retry_after == ROBOT_THROTTLE_SECONDS:
                    self.throttle.blocked(robot.url)
                raise
            self.throttle.sent(robot.url)

        await send_parts(message.payload, parts, one)
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
