"""DingTalk in djbot's HTTP service: POST /dingtalk/callback, or the Stream service.

A callback is checked in this order, each failure answered 4xx, logged with the reason
and stored nowhere: body size, sign and timestamp headers (or, with 消息体加密 on, the
msg_signature and decryption: crypto.open_callback), JSON, message fields. Then the
dispatcher handles it and commits, in one transaction with the header pair's record (a
pair already used with another body is refused 409 and nothing is kept; a retried msgId
gets the stored reply), we answer 200 (503 if nothing could be committed, so DingTalk
tries again), and the reply is sent after the answer (sessionWebhook on a DingTalk host,
else the outbox). A repeat is answered again once at most, and only soon after the message
first came (Replier.reply_again): a replayed callback does not post into the group.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from starlette.background import BackgroundTask

from bot.adapters.common import (
    MAX_BODY_BYTES,
    CallbackEndpoint,
    ClosesClient,
    count_refusal,
    read_limited,
)
from bot.core import NotAdmitted, Reply
from bot.runtime import Runtime
from storage.callbacks import HeaderPair

from .client import DingtalkClient
from .crypto import CallbackRefused, configuration_problem, open_callback
from .inbound import BadPayload, Delivery, is_text, parse
from .senders import DingtalkSender, Replier

log = logging.getLogger("djbot.dingtalk")

MODES = ("http", "stream")


def mount(app: FastAPI, runtime: Runtime) -> None:
    settings = runtime.settings.dingtalk
    if not settings.enabled:
        return
    if settings.mode not in MODES:
        raise ValueError(f"DJBOT_DINGTALK__MODE must be http or stream, not {settings.mode!r}")
    problem = configuration_problem(settings)
    if problem is not None:  # refuse to start rather than answer every message 400
        raise ValueError(problem)
    client = DingtalkClient(settings, runtime.clock)
    replier = Replier(client, runtime.engine, runtime.clock, write=runtime.dispatcher.write)
    app.state.services.append(ClosesClient(client))
    # The outbox worker looks its senders up by platform.
    app.state.senders["dingtalk"] = DingtalkSender(settings, client, runtime.engine, runtime.clock)

    if settings.mode == "stream":
        from .stream import StreamService  # imports dingtalk-stream only when used

        app.state.services.append(StreamService(runtime, replier))
        return
    # A theme day's burst: past the router, as WeCom's callbacks (bot.adapters.common).
    app.state.callback_routes[CALLBACK_PATH] = CallbackEndpoint(callback_handler(runtime, replier))


CALLBACK_PATH = "/dingtalk/callback"


def callback_handler(runtime: Runtime, replier: Replier) -> Callable[[Request],
                                                                      Awaitable[Response]]:
    settings = runtime.settings.dingtalk

    async def callback(request: Request) -> Response:
        body = await read_limited(request, MAX_BODY_BYTES)
        if body is None:
            return _refuse(413, "body larger than 1 MB")
        try:  # sign header, or 消息体加密's msg_signature and decryption
            opened = open_callback(body, headers=request.headers,
                                   query=lambda: request.query_params,
                                   settings=settings, now=runtime.clock.now())
        except CallbackRefused as exc:
            return _refuse(exc.status, exc.reason)
        payload = opened.payload
        admit = None
        if opened.signed_by is not None:
            # The sign covers only the timestamp: the pair is not a key to other bodies. It
            # is recorded in the message's own transaction (one commit for both).
            admit = HeaderPair(
                platform="dingtalk", timestamp=opened.signed_by[0],
                signature=opened.signed_by[1], body_sha256=hashlib.sha256(body).hexdigest(),
                now=runtime.clock.now())
        if payload is None or not is_text(payload):
            log.info("dingtalk %s ignored", "event" if payload is None else payload.get("msgtype"))
            return await _nothing_to_handle(runtime, admit) or JSONResponse(opened.answer)
        try:
            delivery = parse(payload, received_at=runtime.clock.now())
        except BadPayload as exc:
            return await _nothing_to_handle(runtime, admit) or _refuse(400, str(exc))
        # Without a usable sessionWebhook the reply goes by the outbox: queued with the
        # message when it can be (one transaction, and nothing to do after the answer).
        queued = replier.queue_with_message(delivery)
        message = delivery.message
        if admit is not None or queued is not None:  # one copy of the message, not two
            message = replace(message, admit=admit, queue_reply=queued)
        try:
            reply, repeated = await runtime.dispatcher.handle_delivery(message)
        except NotAdmitted:
            return _refuse(409, "timestamp and sign already used with another body")
        except Exception:
            log.exception("dingtalk message %s failed; not acknowledged",
                          delivery.message.message_id)
            return JSONResponse({"error": "try again"}, status_code=503)
        # Committed: answer now, send after; DingTalk does not wait for our reply. A repeat
        # goes the old way (its first delivery may have sent by webhook, or queued after),
        # if it may be answered again at all.
        if repeated:
            return JSONResponse(opened.answer, background=BackgroundTask(
                _send_reply, replier.reply_again, delivery, reply))
        if queued is None:
            return JSONResponse(opened.answer, background=BackgroundTask(
                _send_reply, replier.reply, delivery, reply))
        return JSONResponse(opened.answer)

    return callback


async def _nothing_to_handle(runtime: Runtime, admit: HeaderPair | None) -> Response | None:
    """A signed callback with nothing to handle (another msgtype; someone outside the
    organisation, with no staffId) still showed its pair on the wire: record it, so that it
    carries no other body. The answer when that fails or the pair came with another body."""
    if admit is None:
        return None
    try:
        admitted = await runtime.dispatcher.write(_admitted, runtime, admit)
    except Exception:
        log.exception("dingtalk header pair not recorded; not acknowledged")
        return JSONResponse({"error": "try again"}, status_code=503)
    if not admitted:
        return _refuse(409, "timestamp and sign already used with another body")
    return None


def _admitted(runtime: Runtime, pair: HeaderPair) -> bool:
    """Record the pair; False when it came before with another body."""
    with runtime.engine.begin() as conn:
        return pair(conn)


async def _send_reply(send: Callable[[Delivery, Reply], Awaitable[str | None]],
                      delivery: Delivery, reply: Reply) -> None:
    try:
        await send(delivery, reply)
    except Exception:  # the message is handled and stored; only this answer is lost
        log.exception("reply to dingtalk message %s failed", delivery.message.message_id)


def _refuse(status: int, reason: str) -> JSONResponse:
    log.warning("dingtalk callback refused (%d): %s", status, reason)
    count_refusal("dingtalk", status)
    return JSONResponse({"error": "refused"}, status_code=status)
