"""WeCom callback routes: `/wecom/aibot` (AI bot, JSON) and `/wecom/app` (self-built app, XML).

Each request is checked in a fixed order: size, shape, signature, freshness, receiver;
any failure is a 4xx with the reason logged (never the body, never a secret) and nothing
stored. A message is handled by the dispatcher, which commits before the answer leaves,
so an acknowledged check-in is stored and a retried msgid gets the stored reply.

WeCom waits 5 seconds. djbot answers within REPLY_BUDGET: with the finished reply when the
work is done by then, otherwise with an unfinished stream (AI bot) that the platform's
refresh callbacks complete, or an empty 200 and a later message/send (app).
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import escape

import xmltodict
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from sqlmodel import Session, select

from bot.adapters.common import (
    MAX_BODY_BYTES,
    ClosesClient,
    count_refusal,
    cut_to_bytes,
    read_limited,
)
from bot.adapters.wecom.client import WecomApiError, WecomClient
from bot.adapters.wecom.crypto import CallbackCrypto, CallbackRejected
from bot.adapters.wecom.inbound import (
    AibotCallback,
    MalformedPayload,
    parse_aibot,
    parse_app_xml,
    welcome_reply,
)
from bot.adapters.wecom.senders import (
    TEXT_LIMIT,
    WecomSender,
    render_markdown,
    send_private,
)
from bot.config import WecomSettings
from bot.core import IncomingMessage, Reply
from bot.runtime import Runtime
from bot.sender import PartsInterrupted
from storage.models import ProcessedMessage

log = logging.getLogger("djbot.wecom")

# Answer well inside WeCom's 5 s, leaving room for the network both ways.
REPLY_BUDGET_SECONDS = 3.0
# A late reply not collected by a stream refresh within this time goes to response_url.
LATE_REPLY_GRACE_SECONDS = 60.0
# Concurrent dispatcher transactions on a server database (the thread pool's size).
WRITERS = 8
STREAM_LIMIT = 20480  # bytes of stream.content
WORKING = "收到，正在处理…"
FAILED = "处理这条消息时出错了，请稍后重新发送。"


def aibot_crypto(settings: WecomSettings) -> CallbackCrypto | None:
    if not (settings.aibot_token and settings.aibot_aes_key):
        return None
    # 企业内部智能机器人: the receiveid is the empty string.
    return CallbackCrypto(settings.aibot_token, settings.aibot_aes_key, "",
                          settings.max_clock_skew_seconds)


def app_crypto(settings: WecomSettings) -> CallbackCrypto | None:
    if not (settings.app_token and settings.app_aes_key and settings.corp_id):
        return None
    return CallbackCrypto(settings.app_token, settings.app_aes_key, settings.corp_id,
                          settings.max_clock_skew_seconds)


async def read_body(request: Request) -> bytes:
    """The body, refused with 413 past MAX_BODY_BYTES before it is all read."""
    body = await read_limited(request, MAX_BODY_BYTES)
    if body is None:
        raise CallbackRejected(413, "body over the limit")
    return body


async def _rejected(request: Request, exc: CallbackRejected) -> Response:
    endpoint = request.url.path.rstrip("/").rsplit("/", 1)[-1]  # "aibot" or "app"
    log.warning("wecom %s callback rejected: %s", endpoint, exc.reason,
                extra={"status": exc.status})
    count_refusal("wecom", exc.status)
    return PlainTextResponse("rejected", status_code=exc.status)


def stream_body(stream_id: str, content: str, *, finish: bool) -> str:
    return json.dumps(
        {"msgtype": "stream",
         "stream": {"id": stream_id, "finish": finish,
                    "content": cut_to_bytes(content, STREAM_LIMIT)}},
        ensure_ascii=False,
    )


def app_text_reply(to_user: str, corp_id: str, content: str, create_time: int) -> str:
    """The plaintext of a passive text reply from the self-built app."""
    content = cut_to_bytes(content, TEXT_LIMIT)
    return (
        f"<xml><ToUserName>{escape(to_user)}</ToUserName>"
        f"<FromUserName>{escape(corp_id)}</FromUserName>"
        f"<CreateTime>{create_time}</CreateTime><MsgType>text</MsgType>"
        f"<Content>{escape(content)}</Content></xml>"
    )


@dataclass
class _Pending:
    task: asyncio.Task
    response_url: str | None
    delivered: bool = False


@dataclass
class WecomCallbacks:
    runtime: Runtime
    client: WecomClient
    budget: float = REPLY_BUDGET_SECONDS
    late_grace: float = LATE_REPLY_GRACE_SECONDS
    # Replies still being worked on, by stream id; the stored reply survives a restart.
    pending: dict[str, _Pending] = field(default_factory=dict)
    background: set[asyncio.Task] = field(default_factory=set)

    def __post_init__(self) -> None:
        # SQLite has one writer: transactions from several threads at once only meet its
        # lock and sleep in its busy handler, so they are let through one at a time.
        sqlite = self.runtime.engine.dialect.name == "sqlite"
        self._writers = asyncio.Semaphore(1 if sqlite else WRITERS)

    @property
    def settings(self) -> WecomSettings:
        return self.runtime.settings.wecom

    def _timestamp(self) -> str:
        return str(int(self.runtime.clock.now().timestamp()))

    def _track(self, coro) -> None:
        task = asyncio.create_task(coro)
        self.background.add(task)
        task.add_done_callback(self.background.discard)

    async def _handle(self, message: IncomingMessage) -> Reply:
        try:
            async with self._writers:
                return await self.runtime.dispatcher.handle(message)
        except Exception:
            log.exception("wecom message %s failed", message.message_id)
            return Reply(FAILED, is_error=True)

    # --- URL verification (both endpoints) ----------------------------------------

    def verify_url(self, crypto: CallbackCrypto, request: Request) -> str:
        q = request.query_params
        return crypto.decrypt(msg_signature=q.get("msg_signature"), timestamp=q.get("timestamp"),
                              nonce=q.get("nonce"), encrypt=q.get("echostr"),
                              now=self.runtime.clock.now())

    # --- AI bot -------------------------------------------------------------------

    async def aibot(self, crypto: CallbackCrypto, request: Request) -> Response:
        body = await read_body(request)
        try:
            envelope = json.loads(body)
        except ValueError:
            raise CallbackRejected(400, "body is not JSON") from None
        if not isinstance(envelope, dict) or not isinstance(envelope.get("encrypt"), str):
            raise CallbackRejected(400, "JSON body without an encrypt field")
        q = request.query_params
        plaintext = crypto.decrypt(msg_signature=q.get("msg_signature"),
                                   timestamp=q.get("timestamp"), nonce=q.get("nonce"),
                                   encrypt=envelope["encrypt"], now=self.runtime.clock.now())
        try:
            callback = parse_aibot(json.loads(plaintext), now=self.runtime.clock.now())
        except (ValueError, MalformedPayload) as exc:
            raise CallbackRejected(400, f"decrypted payload unusable: {exc}") from None

        if callback.kind == "message":
            answer = await self._aibot_message(callback)
        elif callback.kind == "refresh":
            answer = await self._aibot_refresh(callback.stream_id or "")
        elif callback.kind == "welcome":
            answer = welcome_reply()
        else:  # other events and image/file: an empty 200 tells WeCom we got it
            return Response(status_code=200)
        return JSONResponse(crypto.encrypt_json_reply(answer, timestamp=self._timestamp()))

    async def _aibot_message(self, callback: AibotCallback) -> str:
        assert callback.message is not None and callback.stream_id is not None
        stream_id = callback.stream_id
        entry = self.pending.get(stream_id)
        if entry is None:  # a retry while the first delivery still runs joins it
            task = asyncio.create_task(self._handle(callback.message))
            entry = _Pending(task, callback.response_url)
            self.pending[stream_id] = entry
        done, _ = await asyncio.wait({entry.task}, timeout=self.budget)
        if done:
            entry.delivered = True
            self.pending.pop(stream_id, None)
            return stream_body(stream_id, render_markdown(entry.task.result().to_dict()),
                               finish=True)
        log.info("wecom message %s slower than %.1f s, answering by stream refresh",
                 callback.msgid, self.budget)
        entry.task.add_done_callback(lambda _t: self._on_done(stream_id))
        return stream_body(stream_id, WORKING, finish=False)

    def _on_done(self, stream_id: str) -> None:
        entry = self.pending.get(stream_id)
        if entry is not None and not entry.delivered:
            self._track(self._late_fallback(stream_id, entry))

    async def _late_fallback(self, stream_id: str, entry: _Pending) -> None:
        """If no stream refresh collects a late reply in time, post it to response_url."""
        await asyncio.sleep(self.late_grace)
        if entry.delivered or self.pending.get(stream_id) is not entry:
            return
        # Forget it either way; a later refresh is answered from the stored reply.
        self.pending.pop(stream_id, None)
        entry.delivered = True
        if not entry.response_url:
            return
        content = render_markdown(entry.task.result().to_dict())
        try:
            await self.client.respond(entry.response_url or "",
                                      {"msgtype": "markdown", "markdown": {"content": content}})
        except WecomApiError as exc:
            log.warning("wecom response_url for %s failed: %s", stream_id, exc.describe())

    async def _aibot_refresh(self, stream_id: str) -> str:
        entry = self.pending.get(stream_id)
        if entry is not None:
            if not entry.task.done():
                return stream_body(stream_id, WORKING, finish=False)
            entry.delivered = True
            self.pending.pop(stream_id, None)
            return stream_body(stream_id, render_markdown(entry.task.result().to_dict()),
                               finish=True)
        # Another replica (or this one before a restart) took the message: the reply
        # is in the database once its transaction committed.
        reply = await asyncio.to_thread(self._stored_reply, stream_id)
        if reply is None:
            return stream_body(stream_id, WORKING, finish=False)
        return stream_body(stream_id, render_markdown(reply), finish=True)

    def _stored_reply(self, message_id: str) -> dict[str, Any] | None:
        with Session(self.runtime.engine) as session:
            row = session.exec(select(ProcessedMessage).where(
                ProcessedMessage.platform == "wecom",
                ProcessedMessage.message_id == message_id)).first()
            return row.reply if row else None

    # --- self-built app -----------------------------------------------------------

    async def app(self, crypto: CallbackCrypto, request: Request) -> Response:
        body = await read_body(request)
        try:
            envelope = xmltodict.parse(body).get("xml")
        except Exception:  # expat errors
            raise CallbackRejected(400, "body is not XML") from None
        if not isinstance(envelope, dict) or not isinstance(envelope.get("Encrypt"), str):
            raise CallbackRejected(400, "XML body without an Encrypt element")
        q = request.query_params
        plaintext = crypto.decrypt(msg_signature=q.get("msg_signature"),
                                   timestamp=q.get("timestamp"), nonce=q.get("nonce"),
                                   encrypt=envelope["Encrypt"], now=self.runtime.clock.now())
        try:
            message = parse_app_xml(plaintext, now=self.runtime.clock.now())
        except MalformedPayload as exc:
            raise CallbackRejected(400, f"decrypted payload unusable: {exc}") from None
        if message is None:  # events: nothing to answer
            return Response(status_code=200)
        task = asyncio.create_task(self._handle(message))
        done, _ = await asyncio.wait({task}, timeout=self.budget)
        if not done:
            log.info("wecom app message %s slower than %.1f s, replying by message/send",
                     message.message_id, self.budget)
            self._track(self._send_later(message.sender_id, task))
            return Response(status_code=200)
        reply = task.result()
        timestamp = self._timestamp()
        plain = app_text_reply(message.sender_id, self.settings.corp_id, reply.text,
                               int(timestamp))
        return Response(crypto.encrypt_xml_reply(plain, timestamp=timestamp),
                        media_type="application/xml")

    async def _send_later(self, user_id: str, task: asyncio.Task) -> None:
        reply = await task
        if not self.settings.app_secret:
            log.warning("wecom app reply to a slow message dropped: no app secret to send with")
            return
        try:
            await send_private(self.client, user_id, {"text": reply.text})
        except PartsInterrupted as exc:
            log.warning("wecom app late reply failed after %d parts: %s", exc.sent, exc.cause)


def mount(app: FastAPI, runtime: Runtime) -> None:
    settings = runtime.settings.wecom
    if not settings.enabled:
        return
    client = WecomClient(settings, runtime.clock)
    callbacks = WecomCallbacks(runtime, client)
    app.state.wecom = callbacks
    app.state.services.append(ClosesClient(client))
    bot_crypto, self_app_crypto = aibot_crypto(settings), app_crypto(settings)

    longconn = None
    if settings.mode == "ws" and settings.bot_id and settings.bot_secret:
        from bot.adapters.wecom.longconn import LongConnection

        longconn = LongConnection(runtime, settings)
        app.state.services.append(longconn)
    # The outbox worker looks its senders up by platform.
    app.state.senders["wecom"] = WecomSender(client, runtime.engine, longconn=longconn)

    # Every refusal (bad signature, stale, malformed, too large) answers the same way.
    app.add_exception_handler(CallbackRejected, _rejected)

    if bot_crypto is not None and settings.mode != "ws":
        @app.get("/wecom/aibot")
        async def aibot_verify(request: Request) -> Response:
            return PlainTextResponse(callbacks.verify_url(bot_crypto, request))

        @app.post("/wecom/aibot")
        async def aibot_message(request: Request) -> Response:
            return await callbacks.aibot(bot_crypto, request)

    if self_app_crypto is not None:
        @app.get("/wecom/app")
        async def app_verify(request: Request) -> Response:
            return PlainTextResponse(callbacks.verify_url(self_app_crypto, request))

        @app.post("/wecom/app")
        async def app_message(request: Request) -> Response:
            return await callbacks.app(self_app_crypto, request)

    log.info("wecom adapter mounted (aibot %s, app %s, mode %s)",
             "on" if bot_crypto else "off", "on" if self_app_crypto else "off", settings.mode)
