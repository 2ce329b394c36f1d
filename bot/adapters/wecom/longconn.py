"""The AI bot's long connection (WebSocket mode), for sites without public ingress.

WeCom keeps one connection per bot: a new one kicks out the old. So with several replicas
only the holder of the "wecom-longconn" lease connects (renewing it while connected);
the others hand their group sends to it through the outbox.
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
from bot.adapters.wecom.inbound import MalformedPayload, parse_aibot
from bot.adapters.wecom.senders import render_markdown
from bot.config import WecomSettings
from bot.runtime import Runtime
from storage import leases
from storage.db import session_scope

log = logging.getLogger("djbot.wecom.longconn")

LEASE_NAME = "wecom-longconn"
ACK_TIMEOUT = 5.0  # the official SDK waits 5 s for an ack


class LongConnection:
    """A service (start/stop) holding the AI bot's WebSocket while it holds the lease."""

    def __init__(self, runtime: Runtime, settings: WecomSettings, *, holder: str | None = None,
                 ping_seconds: float = 30.0, lease_seconds: float = 90.0,
                 first_backoff: float = 1.0, max_backoff: float = 60.0) -> None:
        self.runtime = runtime
        self.settings = settings
        self.holder = holder or f"{socket.gethostname()}-{uuid.uuid4().hex[:8]}"
        self.ping_seconds = ping_seconds
        self.lease_ttl = timedelta(seconds=lease_seconds)
        self.first_backoff = first_backoff
        self.max_backoff = max_backoff
        self._ws: Any = None
        self._subscribed = False
        self._acks: dict[str, asyncio.Future] = {}
        self._task: asyncio.Task | None = None
        self._handlers: set[asyncio.Task] = set()

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
        await asyncio.to_thread(self._lease, release=True)

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
        while True:
            if not await asyncio.to_thread(self._lease):
                # Another replica holds the socket; check again when its lease may lapse.
                await asyncio.sleep(self.lease_ttl.total_seconds() / 3)
                continue
            was_subscribed = False
            try:
                await self._connect_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("wecom long connection lost: %s", type(exc).__name__)
            finally:
                was_subscribed = self._subscribed
                self._ws, self._subscribed = None, False
                for future in self._acks.values():
                    future.cancel()
                self._acks.clear()
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
                ack = await self._request("aibot_subscribe", {"bot_id": self.settings.bot_id,
                                                             "secret": self.settings.bot_secret})
                if ack.get("errcode"):
                    raise ConnectionError(f"subscribe refused, errcode {ack.get('errcode')}")
                self._subscribed = True
                log.info("wecom long connection subscribed as %s", self.holder)
                keeper = asyncio.create_task(self._keep_alive())
                done, _ = await asyncio.wait({reader, keeper},
                                             return_when=asyncio.FIRST_COMPLETED)
                keeper.cancel()
                for task in done:
                    task.result()  # re-raise why the connection ended
            finally:
                reader.cancel()

    async def _keep_alive(self) -> None:
        """Ping every ping_seconds and renew the lease; give up the socket if the lease is lost."""
        while True:
            await asyncio.sleep(self.ping_seconds)
            await self._request("ping", None)
            if not await asyncio.to_thread(self._lease):
                raise ConnectionError("lease taken over by another replica")

    async def _request(self, cmd: str, body: dict | None, req_id: str | None = None) -> dict:
        req_id = req_id or uuid.uuid4().hex
        future = asyncio.get_running_loop().create_future()
        self._acks[req_id] = future
        frame: dict[str, Any] = {"cmd": cmd, "headers": {"req_id": req_id}}
        if body is not None:
            frame["body"] = body
        try:
            await self._ws.send(json.dumps(frame, ensure_ascii=False))
            return await asyncio.wait_for(future, ACK_TIMEOUT)
        finally:
            self._acks.pop(req_id, None)

    async def _read(self, ws) -> None:
        async for raw in ws:
            try:
                frame = json.loads(raw)
            except ValueError:
                log.warning("wecom long connection: a frame that is not JSON, ignored")
                continue
            req_id = (frame.get("headers") or {}).get("req_id")
            cmd = frame.get("cmd")
            if cmd is None and req_id in self._acks:  # an ack to one of ours
                if not self._acks[req_id].done():
                    self._acks[req_id].set_result(frame)
            elif cmd == "aibot_msg_callback":
                task = asyncio.create_task(self._on_message(req_id, frame.get("body") or {}))
                self._handlers.add(task)
                task.add_done_callback(self._handlers.discard)

    async def _on_message(self, req_id: str | None, body: dict) -> None:
        try:
            callback = parse_aibot(body, now=self.runtime.clock.now())
        except MalformedPayload as exc:
            log.warning("wecom long connection: unusable callback (%s)", exc)
            metrics.rejected("wecom", "malformed")
            return
        if callback.kind != "message" or callback.message is None:
            return
        reply = await self.runtime.dispatcher.handle(callback.message)
        # Reusing the callback's req_id is how WeCom knows which message this answers.
        frame = {"cmd": "aibot_respond_msg", "headers": {"req_id": req_id},
                 "body": {"msgtype": "stream",
                          "stream": {"id": callback.stream_id, "finish": True,
                                     "content": render_markdown(reply.to_dict())}}}
        await self._ws.send(json.dumps(frame, ensure_ascii=False))

    async def send_markdown(self, chat_id: str, content: str) -> None:
        """A proactive message to a group (or, with a userid, a single chat)."""
        if not self.connected:
            raise ConnectionError("long connection not held")
        ack = await self._request("aibot_send_msg", {"chatid": chat_id, "msgtype": "markdown",
                                                    "markdown": {"content": content}})
        if ack.get("errcode"):
            from bot.adapters.wecom.client import WecomApiError

            raise WecomApiError(int(ack["errcode"]), str(ack.get("errmsg") or ""),
                                retryable=True)
