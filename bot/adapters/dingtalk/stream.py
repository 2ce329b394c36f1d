"""Stream mode: DingTalk pushes robot messages over an outbound WebSocket, so a site
with no public ingress still receives them. Uses the dingtalk-stream package for the
handshake, frames and acks, with four differences from its own run loop:

- replies go through djbot's async sender (Replier), never the SDK's blocking
  reply_text, and are sent after the ack; one that can only go by the outbox is queued
  in the message's own transaction, before the ack, as in HTTP mode;
- connections/open is posted by djbot's async client with a timeout (the SDK's is a
  blocking call with none), and we reconnect with backoff;
- only the replica holding the "dingtalk-stream" lease connects (several replicas would
  each receive a share of the messages, and none would see them all);
- on the gateway's "disconnect", when stopping and when the lease is lost, the frames in
  hand finish (and are acked) before the socket is closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import platform
import random
import socket
import sys
import uuid
from dataclasses import replace
from datetime import timedelta
from urllib.parse import quote_plus

import httpx
import websockets

from bot import metrics
from bot.runtime import Runtime
from storage import leases
from storage.db import session_scope

from .inbound import BadPayload, is_text, parse
from .senders import Replier

log = logging.getLogger("djbot.dingtalk.stream")


class _PingIsRoutine(logging.Filter):
    """dingtalk-stream acks the gateway's SYSTEM "ping" as the protocol asks (a 200 with the
    ping's data), then logs it, on the logger we give it, as a warning of an "unknown
    message topic" with the whole frame: a warning at every ping hides the real ones."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (str(record.msg).startswith("unknown message topic")
                    and isinstance(record.args, tuple) and record.args[:1] == ("ping",))


log.addFilter(_PingIsRoutine())

LEASE_NAME = "dingtalk-stream"
LEASE_TTL = timedelta(seconds=60)
LEASE_RENEW_SECONDS = 20
LEASE_RETRY_SECONDS = 15  # how often a standby replica asks for the lease
OPEN_TIMEOUT_SECONDS = 15
MAX_BACKOFF_SECONDS = 60
# How long stop() waits for the frames being handled to be committed and acked; within
# `djbot serve`'s graceful shutdown (bot/cli/platforms.py, 20 s).
STOP_GRACE_SECONDS = 10
# The same after the gateway's SYSTEM "disconnect", before it closes the socket itself
# (how long it waits is not documented; a message not acked by then comes again).
DISCONNECT_GRACE_SECONDS = 5


def import_sdk(api_base: str):
    """Import dingtalk-stream pointed at api_base.

    The SDK reads DINGTALK_OPENAPI_ENDPOINT once, at import, so it must be set first;
    an SDK already imported with another endpoint would silently talk to the wrong host.
    """
    api_base = api_base.rstrip("/")
    if "dingtalk_stream" not in sys.modules:
        os.environ.setdefault("DINGTALK_OPENAPI_ENDPOINT", api_base)
    import dingtalk_stream
    from dingtalk_stream import utils

    if utils.DINGTALK_OPENAPI_ENDPOINT.rstrip("/") != api_base:
        raise RuntimeError(
            "dingtalk-stream uses DINGTALK_OPENAPI_ENDPOINT="
            f"{utils.DINGTALK_OPENAPI_ENDPOINT} but DJBOT_DINGTALK__API_BASE={api_base}: "
            "set both to the same value")
    return dingtalk_stream


class StreamService:
    """Holds the Stream connection while this replica holds the lease; start()/stop()."""

    def __init__(self, runtime: Runtime, replier: Replier, *, holder: str | None = None) -> None:
        settings = runtime.settings.dingtalk
        sdk = import_sdk(settings.api_base)
        self.runtime = runtime
        self.holder = holder or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.client = sdk.DingTalkStreamClient(
            sdk.Credential(settings.app_key, settings.app_secret), logger=log)
        self.handler = make_handler(sdk, runtime, replier)
        self.client.register_callback_handler(sdk.ChatbotMessage.TOPIC, self.handler)
        self._task: asyncio.Task | None = None
        self._frames: set[asyncio.Task] = set()
        self._stopping = False
        self._taken_at = 0.0  # when the lease was last taken (the event loop's clock)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="dingtalk-stream")

    async def stop(self) -> None:
        # Take no new frame (unacked, the gateway delivers it to whoever holds next), and
        # let those being handled finish while the connection is open to carry their acks:
        # closed under them, each would be delivered and answered again.
        self._stopping = True
        if self._frames:
            await asyncio.wait(set(self._frames), timeout=STOP_GRACE_SECONDS)
        websocket = self.client.websocket
        if websocket is not None:
            # Then close cleanly, so the gateway hands new messages to whoever holds next.
            with contextlib.suppress(Exception):
                await asyncio.wait_for(websocket.close(), 5)
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await asyncio.gather(*self._frames, return_exceptions=True)
        await self.handler.drain()
        await asyncio.to_thread(self._release)

    async def _run(self) -> None:
        self.client.pre_start()
        backoff = 1.0
        while True:
            started = asyncio.get_running_loop().time()
            try:
                if not await asyncio.to_thread(self._take):
                    await asyncio.sleep(LEASE_RETRY_SECONDS)  # another replica holds it
                    continue
                self._taken_at = asyncio.get_running_loop().time()
                await self._connect_once()
                log.info("dingtalk stream closed; reconnecting")
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # network, gateway refusal, database: keep trying
                log.warning("dingtalk stream failed: %s",
                            exc if isinstance(exc, ConnectionError) else type(exc).__name__)
            if asyncio.get_running_loop().time() - started > 60:
                backoff = 1.0  # it had been working: reconnect promptly
            await asyncio.sleep(backoff * random.uniform(0.8, 1.2))
            backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)

    async def _open_connection(self) -> dict:
        """The SDK's connections/open (DingTalkStreamClient.open_connection: same URL, body
        and headers), posted here with a timeout. The SDK's own is a blocking requests call
        with none: run in a worker thread, a gateway that accepts the connection and never
        answers kept that thread for good, and a few such tries took every thread the
        outbox, the leases and the database reads run in."""
        from dingtalk_stream.version import VERSION_STRING  # imported by now (import_sdk)

        client = self.client
        body = {
            "clientId": client.credential.client_id,
            "clientSecret": client.credential.client_secret,
            "subscriptions": [{"type": "CALLBACK", "topic": topic}
                              for topic in client.callback_handler_map],
            "ua": f"dingtalk-sdk-python/v{VERSION_STRING}-union",
            "localIp": client.get_host_ip(),  # a UDP socket's address: sends nothing
        }
        headers = {"User-Agent": (f"DingTalkStream/1.0 SDK/{VERSION_STRING} Python/"
                                  f"{platform.python_version()} "
                                  "(+https://github.com/open-dingtalk/dingtalk-stream-sdk-python)")}
        async with httpx.AsyncClient(timeout=OPEN_TIMEOUT_SECONDS) as http:
            response = await http.post(client.OPEN_CONNECTION_API, json=body, headers=headers)
        if response.status_code != 200:
            try:  # DingTalk's reason, e.g. InvalidAuthentication (never the secret)
                code = response.json().get("code") or ""
            except (ValueError, AttributeError):
                code = ""
            raise ConnectionError(
                f"connections/open refused (HTTP {response.status_code} {code})".strip())
        connection = response.json()
        if not isinstance(connection, dict) or not connection.get("endpoint") \
                or not connection.get("ticket"):
            raise ConnectionError("connections/open: no endpoint and ticket")
        return connection

    async def _connect_once(self) -> None:
        connection = await self._open_connection()
        uri = f'{connection["endpoint"]}?ticket={quote_plus(connection["ticket"])}'
        async with websockets.connect(uri, ping_interval=60) as websocket:
            self.client.websocket = websocket
            log.info("dingtalk stream connected")
            # The lease is lost or the gateway said "disconnect": this connection takes no
            # more messages.
            leaving = asyncio.Event()
            keeper = asyncio.create_task(self._keep_lease(websocket, leaving))
            try:
                async for raw in websocket:
                    try:
                        frame = json.loads(raw)
                    except ValueError:
                        log.warning("dingtalk stream: a frame that is not JSON, skipped")
                        continue
                    if self._stopping or (leaving.is_set() and not _is_system(frame)):
                        continue  # never acked: the gateway delivers it to the next holder
                    if _is_disconnect(frame):
                        # The gateway is about to close. The SDK acks this and closes at
                        # once, under the frames still being handled: their acks would be
                        # lost and each message delivered, and answered, again. Let them
                        # finish first, reading nothing new, and take none of the messages
                        # behind it (unacked, each comes again on the next connection).
                        leaving.set()
                        in_hand = set(self._frames)
                        if in_hand:
                            await asyncio.wait(in_hand, timeout=DISCONNECT_GRACE_SECONDS)
                    # The SDK routes the frame to our handler and sends the ack.
                    task = asyncio.create_task(self.client.background_task(frame))
                    self._frames.add(task)
                    task.add_done_callback(self._frames.discard)
            finally:
                keeper.cancel()

    async def _keep_lease(self, websocket, leaving: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        renewed = self._taken_at
        while True:
            await asyncio.sleep(LEASE_RENEW_SECONDS)
            try:
                held = await asyncio.to_thread(self._take)
            except Exception as exc:
                # A busy database (a theme day's burst) may fail one renewal: the lease
                # still runs, so keep the connection while it would outlast the next try;
                # past that we cannot prove we hold it, and let it go.
                log.warning("dingtalk stream lease not renewed: %s", type(exc).__name__)
                held = (loop.time() - renewed + LEASE_RENEW_SECONDS
                        < LEASE_TTL.total_seconds())
            else:
                if held:
                    renewed = loop.time()
            if not held:
                # Closed under the frames in hand, their acks would be lost and each message
                # delivered, and answered, again: take nothing new, let them finish first.
                log.warning("dingtalk stream lease lost; disconnecting")
                leaving.set()
                in_hand = set(self._frames)
                if in_hand:
                    await asyncio.wait(in_hand, timeout=DISCONNECT_GRACE_SECONDS)
                await websocket.close()
                return

    def _take(self) -> bool:
        with session_scope(self.runtime.engine) as session:
            return leases.take(session, name=LEASE_NAME, holder=self.holder,
                               now=self.runtime.clock.now(), ttl=LEASE_TTL)

    def _release(self) -> None:
        with session_scope(self.runtime.engine) as session:
            leases.release(session, name=LEASE_NAME, holder=self.holder)


def _is_system(frame: object) -> bool:
    """The gateway's own frames (ping, disconnect), not a message."""
    return isinstance(frame, dict) and frame.get("type") == "SYSTEM"


def _is_disconnect(frame: object) -> bool:
    """The gateway's SYSTEM frame announcing that it closes this connection."""
    if not _is_system(frame):
        return False
    headers = frame.get("headers")
    return isinstance(headers, dict) and headers.get("topic") == "disconnect"


def make_handler(sdk, runtime: Runtime, replier: Replier):
    """The ChatbotHandler: frame → IncomingMessage → dispatcher (commits) → ack; the reply
    is sent by a tracked task after the ack, or was queued with the message."""

    class DjbotChatbotHandler(sdk.ChatbotHandler):
        def __init__(self) -> None:
            super().__init__()
            self.replies: set[asyncio.Task] = set()

        async def process(self, callback):
            payload = callback.data
            if not isinstance(payload, dict) or not is_text(payload):
                return sdk.AckMessage.STATUS_OK, "ignored"
            try:
                delivery = parse(payload, received_at=runtime.clock.now())
            except BadPayload as exc:
                log.warning("dingtalk stream message refused: %s", exc)
                metrics.rejected("dingtalk", "malformed")
                return sdk.AckMessage.STATUS_BAD_REQUEST, "bad message"
            # Without a usable sessionWebhook the reply is queued with the message: written
            # after the ack, a database error then would lose what the ack promised.
            queued = replier.queue_with_message(delivery)
            message = delivery.message
            if queued is not None:
                message = replace(message, queue_reply=queued)
            try:
                reply, repeated = await runtime.dispatcher.handle_delivery(message)
            except Exception:
                # Not committed: a non-OK ack lets DingTalk deliver it again.
                log.exception("dingtalk message %s failed", delivery.message.message_id)
                return sdk.AckMessage.STATUS_SYSTEM_EXCEPTION, "error"
            if repeated:  # a redelivery: answered again once, and only soon after
                send = replier.reply_again(delivery, reply)
            elif queued is None:
                send = replier.reply(delivery, reply)
            else:
                return sdk.AckMessage.STATUS_OK, "OK"
            task = asyncio.create_task(send)
            self.replies.add(task)
            task.add_done_callback(self._done)
            return sdk.AckMessage.STATUS_OK, "OK"

        def _done(self, task: asyncio.Task) -> None:
            self.replies.discard(task)
            if not task.cancelled() and task.exception() is not None:
                log.error("dingtalk stream reply failed: %s", type(task.exception()).__name__)

        async def drain(self) -> None:
            await asyncio.gather(*self.replies, return_exceptions=True)

    return DjbotChatbotHandler()
