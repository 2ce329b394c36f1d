"""WeCom callback routes: `/wecom/aibot` (AI bot, JSON) and `/wecom/app` (self-built app, XML).

Each request is checked in a fixed order: size, shape, signature, freshness, receiver;
any failure is a 4xx with the reason logged (never the body, never a secret) and nothing
stored. A retried msgid gets the stored reply.

A 200 means committed: djbot answers only once the message's transaction has committed,
always with the finished reply. WeCom waits 5 seconds and then delivers the message again
(to any replica); the retry joins the first delivery or finds its stored reply. A reply
that committed after WeCom hung up is sent late, once, unless a retry answered it first:
the AI bot's by its one-shot response_url, the app's by the outbox (message/send, retried);
whether a message was answered is kept in the database (docs/wecom.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any
from xml.sax.saxutils import escape

import xmltodict
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from sqlmodel import Session, select

from bot.adapters.common import (
    MAX_BODY_BYTES,
    CallbackEndpoint,
    ClosesClient,
    MalformedJson,
    count_refusal,
    cut_to_bytes,
    loads_json,
    read_limited,
)
from bot.adapters.wecom.client import WecomApiError, WecomClient, nothing_shown
from bot.adapters.wecom.crypto import CallbackCrypto, CallbackRejected
from bot.adapters.wecom.inbound import (
    MalformedPayload,
    parse_aibot,
    parse_app_xml,
    welcome_reply,
)
from bot.adapters.wecom.senders import (
    APP_REPLY,
    RESPONSE_URL,
    RESPONSE_URL_ASKER,
    RESPONSE_URL_KEY,
    RESPONSE_URL_UNTIL,
    TEXT_LIMIT,
    WecomSender,
    answer_in_two,
    naming_the_asker,
    render_markdown,
    render_private,
    see_all,
)
from bot.config import WecomSettings
from bot.core import IncomingMessage, Reply
from bot.runtime import Runtime
from bot.sender import PARTS_SENT
from storage import outbox
from storage.callbacks import answer_now_via, answered_via, claim_answer
from storage.db import session_scope
from storage.models import ChatBinding, ProcessedMessage

log = logging.getLogger("djbot.wecom")

# A reply committed after WeCom hung up waits this long for WeCom's retry (to any replica)
# to collect it, then goes to response_url (AI bot, once) or by the outbox (the app).
LATE_REPLY_GRACE_SECONDS = 60.0
# At shutdown the late replies still waiting go at once; a message whose own work never
# ends (a database that does not answer) must not hold the stop up past this.
STOP_WAIT_SECONDS = 10.0
# A reply that took this long checks whether WeCom hung up meanwhile (it waits 5 s).
HUNG_UP_CHECK_SECONDS = 1.0
STREAM_LIMIT = 20480  # bytes of stream.content
# A response_url is valid for an hour (path/101138); the rest of an answer queued for it
# goes another way (the group's webhook, the app) once this much has passed.
RESPONSE_URL_VALID = timedelta(minutes=55)
WORKING = "收到，正在处理…"
LOST = "这条消息没有处理完，请重新发送。"


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


def reply_key(message_id: str) -> str:
    """The outbox key of a message's reply, or of what is left of it: one row a message."""
    return f"wecom.reply:{message_id}"


class HandlingFailed(Exception):
    """The message could not be committed: WeCom gets a 503 and delivers it again."""


@dataclass(frozen=True)
class Committed:
    """A message's reply, once committed, for the delivery that is to answer it."""

    reply: Reply
    # An earlier delivery answered it late (response_url, message/send) with the whole
    # reply: the rest of a long answer must not be queued again (a response_url is spent).
    answered_late: bool = False


@dataclass
class WecomCallbacks:
    runtime: Runtime
    client: WecomClient
    # A late reply waits this long for a retry (on any replica) to answer it first.
    late_grace: float = LATE_REPLY_GRACE_SECONDS
    # Messages being handled on this replica, by message id: a retry joins its first delivery.
    # Each task gives (reply, whether the dispatcher found it answered already).
    pending: dict[str, asyncio.Future] = field(default_factory=dict)
    background: set[asyncio.Task] = field(default_factory=set)
    # Set at shutdown: a late reply waiting out its grace goes at once (stop()).
    closing: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def settings(self) -> WecomSettings:
        return self.runtime.settings.wecom

    def _timestamp(self) -> str:
        return str(int(self.runtime.clock.now().timestamp()))

    def _track(self, coro) -> None:
        task = asyncio.create_task(coro)
        self.background.add(task)
        task.add_done_callback(self.background.discard)

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        """Finish the late replies before the process goes: their messages are committed
        and WeCom, which hung up, may never ask again. An app's is queued as soon as its
        message commits; an AI bot's response_url lives in this process only, so it is
        posted now rather than after its grace (its claim still keeps it to one answer)."""
        self.closing.set()
        deadline = time.monotonic() + STOP_WAIT_SECONDS
        while self.background and time.monotonic() < deadline:
            await asyncio.wait(list(self.background),
                               timeout=max(0.0, deadline - time.monotonic()))
        for task in list(self.background):  # a message whose database never answered
            log.warning("wecom: stopping with a late reply still waiting; it is lost")
            task.cancel()

    async def _committed_reply(self, request: Request, message: IncomingMessage,
                               answer_late: Callable[[asyncio.Future], None]
                               ) -> Committed | None:
        """The reply once the message is committed, or None when WeCom hung up meanwhile.

        No 200 leaves before the commit: a message WeCom gave up on is delivered again
        (to any replica), and de-duplication by message id makes that safe. If the work
        committed after WeCom hung up, the reply goes out late, once: answer_late is given
        the message's work (_answer_later, _queue_later).
        """
        key = message.message_id
        started = time.monotonic()
        task = self.pending.get(key)
        joined = task is not None
        if task is None:  # the dispatcher's future: no task of its own per message
            task = self.pending[key] = self.runtime.dispatcher.deliver(message)
            task.add_done_callback(lambda _t: self.pending.pop(key, None))
        try:
            reply, repeated = await asyncio.shield(task)
        except asyncio.CancelledError:  # the caller went away; the work goes on
            answer_late(task)
            raise
        except Exception:
            log.exception("wecom message %s failed; WeCom will deliver it again", key)
            raise HandlingFailed from None
        # WeCom waits five seconds: a reply ready within one finds it listening, and asking
        # the server whether the client left costs more than a quick check-in.
        if time.monotonic() - started >= HUNG_UP_CHECK_SECONDS and await request.is_disconnected():
            log.info("wecom message %s committed after WeCom hung up", key)
            answer_late(task)
            return None
        if repeated or joined:
            # An earlier delivery of this message may be waiting to answer it late: the
            # answer is recorded, in the database, before it is given.
            return Committed(reply, await asyncio.to_thread(self._answered_late, key))
        return Committed(reply)

    async def wait_late(self) -> None:
        """Give WeCom's retry (to any replica) the chance to collect the reply first."""
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self.closing.wait(), self.late_grace)

    def _claim(self, message_id: str, via: str) -> bool:
        with session_scope(self.runtime.engine) as session:
            return claim_answer(session, platform="wecom", message_id=message_id, via=via,
                                now=self.runtime.clock.now())

    def _answered_late(self, message_id: str) -> bool:
        """Record a passive answer; True when a late reply was given first. An app's late
        reply still waiting in the outbox, untried, is taken back: this answer replaces it
        (and queues its rest, as any passive answer does)."""
        with session_scope(self.runtime.engine) as session:
            now = self.runtime.clock.now()
            if claim_answer(session, platform="wecom", message_id=message_id, via="passive",
                            now=now):
                return False
            if answered_via(session, platform="wecom", message_id=message_id) != "late":
                return False
            if outbox.take_back_untried(session, kind=APP_REPLY,
                                        dedupe_key=reply_key(message_id)):
                answer_now_via(session, platform="wecom", message_id=message_id, via="passive")
                return False
            return True

    def _answer_later(self, task: asyncio.Future, message_id: str,
                      deliver: Callable[[Reply], Awaitable[None]]) -> None:
        async def later() -> None:
            reply = await _ours_to_answer(task)
            if reply is None:
                return
            await self.wait_late()
            try:
                claimed = await asyncio.to_thread(self._claim, message_id, "late")
            except Exception:
                log.exception("wecom late reply to %s not sent", message_id)
                return
            if not claimed:
                log.info("wecom message %s already answered elsewhere", message_id)
                return
            await deliver(reply)

        self._track(later())

    def _queue_later(self, task: asyncio.Future, message: IncomingMessage) -> None:
        """The app's late reply: into the outbox as soon as the message commits, due after
        the grace. message/send may be tried again (WeCom drops a duplicate), so the worker
        retries it with backoff, and a restart meanwhile loses nothing; a retry answering
        before it went takes it back (_answered_late)."""
        async def later() -> None:
            reply = await _ours_to_answer(task)
            if reply is None:
                return
            try:
                queued = await asyncio.to_thread(self._queue_late, message, reply)
            except Exception:  # WeCom, which got no answer, delivers it again
                log.exception("wecom late reply to %s not queued", message.message_id)
                return
            if not queued:
                log.info("wecom message %s already answered elsewhere", message.message_id)

        self._track(later())

    def _queue_late(self, message: IncomingMessage, reply: Reply) -> bool:
        """Claim the late answer and queue it, in one transaction; False when a retry
        answered first."""
        with session_scope(self.runtime.engine) as session:
            now = self.runtime.clock.now()
            if not claim_answer(session, platform="wecom", message_id=message.message_id,
                                via="late", now=now):
                return False
            self._enqueue_on(session, message, replace(reply, markdown=False).to_dict(),
                             kind=APP_REPLY, not_before=now + timedelta(seconds=self.late_grace))
            return True

    # --- URL verification (both endpoints) ----------------------------------------

    def verify_url(self, crypto: CallbackCrypto, request: Request) -> str:
        q = request.query_params
        return crypto.decrypt(msg_signature=q.get("msg_signature"), timestamp=q.get("timestamp"),
                              nonce=q.get("nonce"), encrypt=q.get("echostr"),
                              now=self.runtime.clock.now())

    # --- AI bot -------------------------------------------------------------------

    async def aibot(self, crypto: CallbackCrypto, request: Request) -> Response:
        body = await read_body(request)
        envelope = _json(body, "body")
        if not isinstance(envelope, dict) or not isinstance(envelope.get("encrypt"), str):
            raise CallbackRejected(400, "JSON body without an encrypt field")
        q = request.query_params
        plaintext = crypto.decrypt(msg_signature=q.get("msg_signature"),
                                   timestamp=q.get("timestamp"), nonce=q.get("nonce"),
                                   encrypt=envelope["encrypt"], now=self.runtime.clock.now())
        try:
            callback = parse_aibot(_json(plaintext, "decrypted payload"),
                                   now=self.runtime.clock.now())
        except (ValueError, MalformedPayload) as exc:
            raise CallbackRejected(400, f"decrypted payload unusable: {exc}") from None

        if callback.kind == "message":
            assert callback.message is not None and callback.stream_id is not None
            message, stream_id = callback.message, callback.stream_id

            async def to_response_url(reply: Reply) -> None:
                await self._respond_once(message, callback.response_url, reply)

            committed = await self._committed_reply(
                request, message,
                lambda task: self._answer_later(task, message.message_id, to_response_url))
            if committed is None:
                return Response(status_code=503)  # nobody is listening any more
            parts = answer_in_two(committed.reply.to_dict())
            if len(parts) > 1 and not committed.answered_late:
                # A stream holds 20480 bytes: a 未签到 of the whole bureau is longer. The
                # first part answers; the rest is in the outbox, for the message's one-shot
                # response_url, before the answer goes (a retry finds it queued, once).
                try:
                    await asyncio.to_thread(self._enqueue_rest, message,
                                            callback.response_url, committed.reply, parts[1])
                except Exception:
                    log.exception("wecom aibot reply to %s: the rest not queued; not "
                                  "acknowledged", message.message_id)
                    return Response(status_code=503)
            answer = stream_body(stream_id, parts[0], finish=True)
        elif callback.kind == "refresh":
            answer = await self._aibot_refresh(callback.stream_id or "")
        elif callback.kind == "welcome":
            answer = welcome_reply()
        else:  # other events and image/file: an empty 200 tells WeCom we got it
            return Response(status_code=200)
        return JSONResponse(crypto.encrypt_json_reply(answer, timestamp=self._timestamp()))

    async def _respond_once(self, message: IncomingMessage, response_url: str | None,
                            reply: Reply) -> None:
        """Post a late reply to the one-shot response_url; a foreign URL goes by the outbox."""
        if response_url and not self.client.owns(response_url):
            log.warning("wecom response_url of %s is not on the WeCom API host; refused",
                        message.message_id)
            response_url = None
        if not response_url:
            await asyncio.to_thread(self._enqueue_reply, message, reply.to_dict())
            return
        content = render_markdown(reply.to_dict(), see_all=see_all(self.settings))
        try:
            # Single use: never retried, not even on -1 (a second POST cannot succeed).
            await self.client.respond(response_url,
                                      {"msgtype": "markdown", "markdown": {"content": content}})
        except WecomApiError as exc:
            log.warning("wecom response_url for %s failed: %s", message.message_id,
                        exc.describe())
            if nothing_shown(exc):
                # WeCom refused it, or it never got there: nothing was shown, and this is
                # the member's only answer; it goes as any reply does (the group's webhook,
                # the app), as the rest of a long answer does (WecomSender._respond).
                try:
                    await asyncio.to_thread(self._enqueue_reply, message, reply.to_dict())
                except Exception:
                    log.exception("wecom late reply to %s not queued", message.message_id)

    def _enqueue_rest(self, message: IncomingMessage, response_url: str | None, reply: Reply,
                      rest: str) -> None:
        """The rest of a long AI-bot answer, for the message's response_url; by the proactive
        API instead when the URL is not WeCom's (or is missing)."""
        payload = {**reply.to_dict(), "text": rest, "title": None}
        if not (response_url and self.client.owns(response_url)):
            log.warning("wecom response_url of %s is missing or not on the WeCom API host; "
                        "the rest of its answer goes by the outbox", message.message_id)
            self._enqueue_reply(message, payload)
            return
        until = self.runtime.clock.now() + RESPONSE_URL_VALID
        payload = {**payload, RESPONSE_URL_KEY: response_url,
                   RESPONSE_URL_UNTIL: until.isoformat()}
        if not message.is_private:
            payload[RESPONSE_URL_ASKER] = message.sender_id
        self._enqueue_reply(message, payload, kind=RESPONSE_URL)

    def _enqueue_reply(self, message: IncomingMessage, payload: dict[str, Any], *,
                       kind: str = "reply") -> None:
        """A reply (or what is left of one) through the outbox, once per message."""
        with session_scope(self.runtime.engine) as session:
            self._enqueue_on(session, message, payload, kind=kind)

    def _enqueue_on(self, session: Session, message: IncomingMessage, payload: dict[str, Any],
                    *, kind: str, not_before: datetime | None = None) -> None:
        branch_id = None
        if not message.is_private:
            binding = session.exec(select(ChatBinding).where(
                ChatBinding.platform == "wecom",
                ChatBinding.chat_id == message.chat_id)).first()
            branch_id = binding.branch_id if binding else None
            if kind != RESPONSE_URL:  # by the group's webhook: a message of its own
                payload = naming_the_asker(payload, message.sender_id)
        outbox.enqueue(session, platform="wecom",
                       target_kind="user" if message.is_private else "group",
                       target=message.sender_id if message.is_private else message.chat_id,
                       branch_id=branch_id, payload=payload, now=self.runtime.clock.now(),
                       kind=kind, dedupe_key=reply_key(message.message_id),
                       not_before=not_before)

    async def _aibot_refresh(self, stream_id: str) -> str:
        """A refresh of a stream: djbot no longer leaves streams unfinished, but a message
        answered that way before an upgrade (or by another replica) is answered from the
        database; the answer is recorded so no late reply follows it."""
        task = self.pending.get(stream_id)
        if task is not None and not task.done():
            return stream_body(stream_id, WORKING, finish=False)
        reply = await asyncio.to_thread(self._stored_reply, stream_id)
        if reply is None:
            return stream_body(stream_id, LOST, finish=True)
        await asyncio.to_thread(self._claim, stream_id, "passive")
        return stream_body(stream_id, render_markdown(reply, see_all=see_all(self.settings)),
                           finish=True)

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

        committed = await self._committed_reply(
            request, message, lambda task: self._queue_later(task, message))
        if committed is None:
            return Response(status_code=503)
        reply = committed.reply
        parts = render_private({"text": reply.text})
        if len(parts) > 1 and not committed.answered_late:
            # A passive reply holds 2048 bytes: a private 未签到 of a big branch is longer.
            # The first part answers; the rest is in the outbox before the answer goes, so
            # an answered message has all of it on record (a retry finds it queued once).
            try:
                await asyncio.to_thread(self._enqueue_reply, message, {
                    **replace(reply, markdown=False).to_dict(), PARTS_SENT: 1}, kind=APP_REPLY)
            except Exception:
                log.exception("wecom app reply to %s: the rest not queued; not acknowledged",
                              message.message_id)
                return Response(status_code=503)
        timestamp = self._timestamp()
        plain = app_text_reply(message.sender_id, self.settings.corp_id,
                               parts[0][1]["content"], int(timestamp))
        return Response(crypto.encrypt_xml_reply(plain, timestamp=timestamp),
                        media_type="application/xml")



async def _ours_to_answer(task: asyncio.Future) -> Reply | None:
    """The reply a message's work gave, when this delivery committed it and so owes the
    late answer; None when nothing committed (nothing was acknowledged: WeCom retries) or
    another delivery committed it first, and answered it."""
    try:
        reply, repeated = await task
    except Exception:
        return None
    return None if repeated else reply


async def _handling_failed(request: Request, exc: HandlingFailed) -> Response:
    # Counted as an error by the metrics middleware (5xx); WeCom delivers the message again.
    return PlainTextResponse("try again", status_code=503)


# How a callback's failures are answered, by its endpoint and by the app's handlers alike.
FAILURES = {CallbackRejected: _rejected, HandlingFailed: _handling_failed}


def _json(data: str | bytes, what: str) -> Any:
    try:
        return loads_json(data)
    except MalformedJson as exc:
        raise CallbackRejected(400, f"{what} {exc}") from None


def mount(app: FastAPI, runtime: Runtime) -> None:
    settings = runtime.settings.wecom
    if not settings.enabled:
        return
    client = WecomClient(settings, runtime.clock)
    callbacks = WecomCallbacks(runtime, client)
    app.state.wecom = callbacks
    app.state.services.append(ClosesClient(client))
    app.state.services.append(callbacks)  # stopped before the client it posts with
    bot_crypto, self_app_crypto = aibot_crypto(settings), app_crypto(settings)

    longconn = None
    if settings.mode == "ws" and settings.bot_id and settings.bot_secret:
        from bot.adapters.wecom.longconn import LongConnection

        longconn = LongConnection(runtime, settings)
        app.state.services.append(longconn)
    # The outbox worker looks its senders up by platform.
    app.state.senders["wecom"] = WecomSender(client, runtime.engine, longconn=longconn)

    # Every refusal (bad signature, stale, malformed, too large) answers the same way.
    for failure, answer in FAILURES.items():
        app.add_exception_handler(failure, answer)

    if bot_crypto is not None and settings.mode != "ws":
        @app.get("/wecom/aibot")
        async def aibot_verify(request: Request) -> Response:
            return PlainTextResponse(callbacks.verify_url(bot_crypto, request))

        app.state.callback_routes["/wecom/aibot"] = CallbackEndpoint(
            lambda request: callbacks.aibot(bot_crypto, request), failures=FAILURES)

    if self_app_crypto is not None:
        @app.get("/wecom/app")
        async def app_verify(request: Request) -> Response:
            return PlainTextResponse(callbacks.verify_url(self_app_crypto, request))

        app.state.callback_routes["/wecom/app"] = CallbackEndpoint(
            lambda request: callbacks.app(self_app_crypto, request), failures=FAILURES)

    log.info("wecom adapter mounted (aibot %s, app %s, mode %s)",
             "on" if bot_crypto else "off", "on" if self_app_crypto else "off", settings.mode)
