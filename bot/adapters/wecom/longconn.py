"""The AI bot's long connection (WebSocket mode), for sites without public ingress.

WeCom keeps one connection per bot: a new one kicks out the old, which is sent a
`disconnected_event` (path/101463). So with several replicas only the holder of the
"wecom-longconn" lease connects (renewing it while connected); the others hand their group
sends to it through the outbox. What the official SDK (WecomTeam/aibot-node-sdk src/ws.ts)
does, djbot does too:

- kicked out by `disconnected_event`: stop, release the lease, say so loudly, and wait a
  lease's length before asking for it again, so two clients never trade the bot back and
  forth; the lease decides who connects next;
- every reply waits for its ack (5 s); an errcode, a timeout or a dropped socket sends the
  reply through the outbox instead (aibot_send_msg from whichever replica is connected);
- a dispatcher error still answers the member, as the HTTP path does;
- one missed heartbeat is tolerated, two end the connection;
- five subscribe refusals in a row end the service with one clear error.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import uuid
from datetime import timedelta
from typing import Any

import websockets

from bot import metrics
from bot.adapters.common import WELCOME, cut_to_bytes
from bot.adapters.wecom.inbound import MalformedPayload, parse_aibot
from bot.adapters.wecom.senders import STREAM_LIMIT, naming_the_asker, render_markdown_parts
from bot.config import WecomSettings
from bot.core import IncomingMessage, Reply
from bot.runtime import Runtime
from storage import leases, outbox
from storage.db import session_scope

log = logging.getLogger("djbot.wecom.longconn")

LEASE_NAME = "wecom-longconn"
ACK_TIMEOUT = 5.0  # the official SDK waits 5 s for an ack (src/ws.ts replyAckTimeout)
MAX_MISSED_PINGS = 2  # src/ws.ts maxMissedPong
MAX_SUBSCRIBE_REFUSALS = 5  # shared/platforms.md: the SDK gives up after 5 refusals
FAILED = "处理这条消息时出错了，请稍后重新发送。"


class SubscribeRefused(ConnectionError):
    def __init__(self, errcode: Any, errmsg: str) -> None:
        super().__init__(f"subscribe refused, errcode {errcode}: {errmsg}")
        self.errcode = errcode


def reply_dedupe_key(message_id: str) -> str:
    return f"wecom.reply:{message_id}"


class LongConnection:
    """A service (start/stop) holding the AI bot's WebSocket while it holds the lease."""

    def __init__(self, runtime: Runtime, settings: WecomSettings, *, holder: str | None = None,
                 ping_seconds: float = 30.0, lease_seconds: float = 90.0,
                 first_backoff: float = 1.0, max_backoff: float = 60.0,
                 ack_timeout: float = ACK_TIMEOUT, yield_seconds: float | None = None) -> None:
        self.runtime = runtime
        self.settings = settings
        self.holder = holder or f"{socket.gethostname()}-{uuid.uuid4().hex[:8]}"
        self.ping_seconds = ping_seconds
        self.lease_ttl = timedelta(seconds=lease_seconds)
        self.first_backoff = first_backoff
        self.max_backoff = max_backoff
        self.ack_timeout = ack_timeout
        # After a takeover, how long to stay off before asking for the lease again.
        self.yield_seconds = lease_seconds if yield_seconds is None else yield_seconds
        self._ws: Any = None
        self._subscribed = False
        self._kicked = False
        self._acks: dict[str, asyncio.Future] = {}
        self._task: asyncio.Task | None = None
        self._handlers: set[asyncio.Task] = set()
        self.takeovers = 0
        self.gave_up: str | None = None  # why the service stopped for good

    @property
    def connected(self) -> bool:
        return self._ws is not None and self._subscribed

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="wecom-longconn")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        await asyncio.gather(*self._handlers, return_exceptions=True)
        await self._release()

    async def _release(self) -> None:
        """Give the lease up; if the database cannot be reached it lapses by itself."""
        try:
            await asyncio.to_thread(self._lease, release=True)
        except Exception as exc:
            log.warning("wecom long connection: the lease could not be released (%s); it "
                        "lapses within %.0f s", type(exc).__name__,
                        self.lease_ttl.total_seconds())

    def _lease(self, *, release: bool = False) -> bool:
        """Take or renew the lease (True while we hold it), or give it up."""
        with session_scope(self.runtime.engine) as session:
            if release:
                leases.release(session, name=LEASE_NAME, holder=self.holder)
                return False
            return leases.take(session, name=LEASE_NAME, holder=self.holder,
                               now=self.runtime.clock.now(), ttl=self.lease_ttl)

    async def _run(self) -> None:
        backoff = self.first_backoff
        refusals = 0
        while True:
            try:
                holding = await asyncio.to_thread(self._lease)
            except Exception as exc:
                # The lease is in the database: an outage there (a failover) is waited out
                # as a dropped socket is, or the bot would answer nobody until a restart.
                log.warning("wecom long connection: the lease could not be checked (%s); "
                            "trying again in %.1f s", type(exc).__name__, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self.max_backoff)
                continue
            if not holding:
                # Another replica holds the socket; check again when its lease may lapse.
                await asyncio.sleep(self.lease_ttl.total_seconds() / 3)
                continue
            was_subscribed = False
            try:
                await self._connect_once()
            except asyncio.CancelledError:
                raise
            except SubscribeRefused as exc:
                refusals += 1
                log.warning("wecom long connection: %s (%d in a row)", exc, refusals)
                if refusals >= MAX_SUBSCRIBE_REFUSALS:
                    self.gave_up = str(exc)
                    log.error("wecom long connection: WeCom refused the subscription %d times "
                              "in a row (%s); giving up. Check DJBOT_WECOM__BOT_ID and "
                              "DJBOT_WECOM__BOT_SECRET, then restart djbot.", refusals, exc)
                    await self._release()
                    return
            except Exception as exc:
                log.warning("wecom long connection lost: %s", type(exc).__name__)
            finally:
                was_subscribed = self._subscribed
                self._ws, self._subscribed = None, False
                for future in self._acks.values():
                    future.cancel()
                self._acks.clear()
            if was_subscribed:
                refusals = 0
            if self._kicked:
                self._kicked = False
                self.takeovers += 1
                log.error("wecom long connection taken over by another client "
                          "(disconnected_event): this replica (%s) stops, releases the lease "
                          "and stays off for %.0f s. If no other djbot replica holds the bot, "
                          "something else is using this bot's bot_id and secret.",
                          self.holder, self.yield_seconds)
                await self._release()
                await asyncio.sleep(self.yield_seconds)
                backoff = self.first_backoff
                continue
            if was_subscribed:  # it worked for a while: start the backoff afresh
                backoff = self.first_backoff
            log.info("wecom long connection: reconnecting in %.1f s", backoff)
            await asyncio.sleep(backoff)
            if not was_subscribed:
                backoff = min(backoff * 2, self.max_backoff)

    async def _connect_once(self) -> None:
        async with websockets.connect(self.settings.ws_url, open_timeout=10,
                                      ping_interval=None) as ws:
            self._ws = ws
            reader = asyncio.create_task(self._read(ws))
            try:
                ack = await self._request(ws, "aibot_subscribe",
                                          {"bot_id": self.settings.bot_id,
                                           "secret": self.settings.bot_secret})
                if ack.get("errcode"):
                    raise SubscribeRefused(ack.get("errcode"), str(ack.get("errmsg") or ""))
                self._subscribed = True
                log.info("wecom long connection subscribed as %s", self.holder)
                keeper = asyncio.create_task(self._keep_alive(ws))
                done, _ = await asyncio.wait({reader, keeper},
                                             return_when=asyncio.FIRST_COMPLETED)
                keeper.cancel()
                for task in done:
                    task.result()  # re-raise why the connection ended
            finally:
                reader.cancel()

    async def _keep_alive(self, ws) -> None:
        """Ping every ping_seconds and renew the lease; give up the socket if the lease is
        lost or two heartbeats in a row go unanswered (one may be lost on the way)."""
        missed = 0
        while True:
            await asyncio.sleep(self.ping_seconds)
            try:
                await self._request(ws, "ping", None)
                missed = 0
            except asyncio.TimeoutError:
                missed += 1
                log.warning("wecom long connection: heartbeat %d unanswered", missed)
                if missed >= MAX_MISSED_PINGS:
                    raise ConnectionError("heartbeats unanswered") from None
            if not await asyncio.to_thread(self._lease):
                raise ConnectionError("lease taken over by another replica")

    async def _request(self, ws, cmd: str, body: dict | None,
                       req_id: str | None = None) -> dict:
        req_id = req_id or f"{cmd}_{uuid.uuid4().hex}"
        future = asyncio.get_running_loop().create_future()
        self._acks[req_id] = future
        frame: dict[str, Any] = {"cmd": cmd, "headers": {"req_id": req_id}}
        if body is not None:
            frame["body"] = body
        try:
            await ws.send(json.dumps(frame, ensure_ascii=False))
            return await asyncio.wait_for(future, self.ack_timeout)
        finally:
            self._acks.pop(req_id, None)

    async def _read(self, ws) -> None:
        async for raw in ws:
            try:
                frame = json.loads(raw)
            except ValueError:
                log.warning("wecom long connection: a frame that is not JSON, ignored")
                continue
            if not await self._on_frame(ws, frame):
                return

    async def _on_frame(self, ws, frame: dict) -> bool:
        """Handle one frame; False when the connection must end (taken over)."""
        req_id = (frame.get("headers") or {}).get("req_id")
        cmd = frame.get("cmd")
        if cmd is None and req_id in self._acks:  # an ack to one of ours
            if not self._acks[req_id].done():
                self._acks[req_id].set_result(frame)
            return True
        if cmd not in ("aibot_msg_callback", "aibot_event_callback"):
            return True
        try:
            callback = parse_aibot(frame.get("body") or {}, now=self.runtime.clock.now())
        except MalformedPayload as exc:
            log.warning("wecom long connection: unusable callback (%s)", exc)
            metrics.rejected("wecom", "malformed")
            return True
        if callback.kind == "disconnected":
            self._kicked = True
            await ws.close()
            return False
        if callback.kind == "welcome":
            self._spawn(self._welcome(ws, req_id))
        elif callback.kind == "message" and callback.message is not None:
            self._spawn(self._on_message(ws, req_id, callback.message, callback.stream_id or ""))
        return True

    def _spawn(self, coro) -> None:
        task = asyncio.create_task(coro)
        self._handlers.add(task)
        task.add_done_callback(self._handlers.discard)

    async def _welcome(self, ws, req_id: str | None) -> None:
        try:
            await self._request(ws, "aibot_respond_welcome_msg",
                                {"msgtype": "text", "text": {"content": WELCOME}}, req_id=req_id)
        except Exception as exc:  # a missed welcome is not worth a retry
            log.info("wecom welcome not sent: %s", type(exc).__name__)

    async def _on_message(self, ws, req_id: str | None, message: IncomingMessage,
                          stream_id: str) -> None:
        try:
            reply = await self.runtime.dispatcher.handle(message)
        except Exception:
            log.exception("wecom message %s failed", message.message_id)
            reply = Reply(FAILED, is_error=True)
        parts = render_markdown_parts(reply.to_dict())
        # Reusing the callback's req_id is how WeCom knows which message this answers; it
        # belongs to the socket the callback came on.
        body = {"msgtype": "stream",
                "stream": {"id": stream_id, "finish": True,
                           "content": cut_to_bytes(parts[0], STREAM_LIMIT)}}
        problem = None
        try:
            ack = await self._request(ws, "aibot_respond_msg", body, req_id=req_id)
            if not ack.get("errcode"):
                if len(parts) > 1:  # the rest of a long answer, proactively
                    await asyncio.to_thread(self._enqueue_reply, message, reply, 1)
                return
            problem = f"errcode {ack.get('errcode')}: {ack.get('errmsg')}"
        except (asyncio.TimeoutError, ConnectionError, websockets.ConnectionClosed,
                asyncio.CancelledError) as exc:
            problem = type(exc).__name__
            if isinstance(exc, asyncio.CancelledError) and self._ws is ws:
                raise  # stopping with the socket still up: the platform will redeliver
        log.warning("wecom reply to %s not acknowledged (%s): sending it through the outbox",
                    message.message_id, problem)
        await asyncio.to_thread(self._enqueue_reply, message, reply, 0)

    def _enqueue_reply(self, message: IncomingMessage, reply: Reply, parts_sent: int) -> None:
        """The reply as a proactive aibot_send_msg, sent by whichever replica is connected;
        once per message, however often this runs."""
        payload = reply.to_dict()
        if parts_sent:
            payload["parts_sent"] = parts_sent
        elif not message.is_private:
            # Sent again whole as a message of its own in the group: it names who asked.
            # (Not the rest of a long answer: a mention would move where its parts fall,
            # and part 1 has gone.)
            payload = naming_the_asker(payload, message.sender_id)
        with session_scope(self.runtime.engine) as session:
            outbox.enqueue(session, platform="wecom",
                           target_kind="user" if message.is_private else "group",
                           target=message.chat_id, payload=payload,
                           now=self.runtime.clock.now(), kind="reply",
                           dedupe_key=reply_dedupe_key(message.message_id))

    async def send_markdown(self, chat_id: str, content: str) -> None:
        """A proactive message to a group (or, with a userid, a single chat)."""
        ws = self._ws
        if not self.connected or ws is None:
            raise ConnectionError("long connection not held")
        try:
            ack = await self._request(ws, "aibot_send_msg",
                                      {"chatid": chat_id, "msgtype": "markdown",
                                       "markdown": {"content": content}})
        except websockets.ConnectionClosed:
            raise ConnectionError("socket closed while sending") from None
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise  # the caller is being stopped
            # _run cancels the acks still awaited when the socket goes; to the outbox that
            # is a lost connection (wait for the next one), not its own cancellation.
            raise ConnectionError("socket closed before WeCom acknowledged") from None
        if ack.get("errcode"):
            from bot.adapters.wecom.client import WecomApiError

            raise WecomApiError(int(ack["errcode"]), str(ack.get("errmsg") or ""),
                                retryable=True)
