"""Prometheus metrics at /metrics, and the request id every log line of a request carries.

Other modules report what happened with one call each: `metrics.rejected("wecom",
"signature")`, `metrics.command_latency("签到", 0.012)`, `metrics.outbox_failure("dingtalk")`,
`metrics.dead_letter("wecom")`, `metrics.reminder_enqueued("reminder.group")`. Callbacks by
platform and outcome are counted here, by the middleware, from each callback's HTTP status.
The outbox depth is read from the database when Prometheus scrapes, so every replica
reports the same, true number.
"""

from __future__ import annotations

import logging
import random
import re
from typing import TYPE_CHECKING

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from bot.logs import request_id_var
from storage.models import OutboxMessage

if TYPE_CHECKING:  # the web app imports FastAPI; the command line never needs it
    from fastapi import FastAPI

log = logging.getLogger("djbot.http")

# Our own registry: only djbot's series, whatever else the process imports.
REGISTRY = CollectorRegistry()

CALLBACKS = Counter(
    "djbot_callbacks_total", "Platform callbacks received, by outcome",
    ["platform", "outcome"], registry=REGISTRY,
)
REJECTED = Counter(
    "djbot_rejected_total", "Messages or callbacks refused, by reason",
    ["platform", "reason"], registry=REGISTRY,
)
COMMAND_LATENCY = Histogram(
    "djbot_command_seconds", "Time to handle one message, by command",
    ["command"], registry=REGISTRY,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
OUTBOX_DEPTH = Gauge(
    "djbot_outbox_messages", "Outbox messages by status, read from the database at scrape",
    ["status"], registry=REGISTRY,
)
OUTBOX_FAILURES = Counter(
    "djbot_outbox_failures_total", "Failed outbox delivery attempts", ["platform"],
    registry=REGISTRY,
)
DEAD_LETTERS = Counter(
    "djbot_outbox_dead_letters_total", "Outbox messages given up on", ["platform"],
    registry=REGISTRY,
)
REMINDERS = Counter(
    "djbot_reminders_enqueued_total", "Reminders and other scheduled messages enqueued",
    ["kind"], registry=REGISTRY,
)

# The statuses an operator watches; each is reported even when zero.
OUTBOX_STATUSES = ("pending", "sending", "sent", "dead")
# Callback routes live under /<platform>/…; the first path segment names the platform.
PLATFORM_PREFIXES = ("wecom", "dingtalk")
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def callback(platform: str, outcome: str) -> None:
    CALLBACKS.labels(platform, outcome).inc()


def rejected(platform: str, reason: str) -> None:
    REJECTED.labels(platform, reason).inc()


def command_latency(command: str, seconds: float) -> None:
    COMMAND_LATENCY.labels(command).observe(seconds)


def outbox_failure(platform: str) -> None:
    OUTBOX_FAILURES.labels(platform).inc()


def dead_letter(platform: str) -> None:
    DEAD_LETTERS.labels(platform).inc()


def reminder_enqueued(kind: str) -> None:
    REMINDERS.labels(kind).inc()


def callback_outcome(status_code: int) -> str:
    """What a callback's HTTP status says happened: the platform only sees the status."""
    if status_code < 400:
        return "ok"
    if status_code in (401, 403):
        return "unauthorized"
    if status_code < 500:
        return "bad_request"
    return "error"


def collect_outbox_depth(engine: Engine) -> None:
    with engine.connect() as conn:
        rows = conn.execute(
            select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
        ).all()
    counts = dict.fromkeys(OUTBOX_STATUSES, 0) | {status: n for status, n in rows}
    for status, n in counts.items():
        OUTBOX_DEPTH.labels(status).set(n)


def render(engine: Engine) -> bytes:
    collect_outbox_depth(engine)
    return generate_latest(REGISTRY)


def incoming_request_id(value: str | None) -> str:
    """Keep the proxy's X-Request-ID when it is a sane token; otherwise make one."""
    if value and _SAFE_REQUEST_ID.match(value):
        return value
    # Unique, not secret: uuid4() reads the system's random source, a system call that
    # hands the interpreter lock to the writer threads and leaves the event loop waiting
    # to get it back (a tenth of a callback's CPU on PostgreSQL, docs/benchmarks.md).
    return f"{random.getrandbits(128):032x}"


def install(app: FastAPI, engine: Engine) -> None:
    """Add /metrics and the request-id middleware (which also counts platform callbacks and
    hands the POST callback routes in app.state.callback_routes their requests)."""
    from fastapi import Response

    @app.get("/metrics", include_in_schema=False)
    def metrics_endpoint():  # no annotation: FastAPI would look Response up in this module
        return Response(render(engine), media_type=CONTENT_TYPE_LATEST)

    app.state.callback_routes = {}
    app.add_middleware(RequestIdMiddleware, callback_routes=app.state.callback_routes)


class RequestIdMiddleware:
    """X-Request-ID in and out (and in every log line), and platform callbacks counted.

    A plain ASGI middleware rather than @app.middleware("http"): that one wraps every
    request in extra tasks and streams, a cost visible on the callback hot path. For the
    same reason a platform's POST callback (every check-in of a burst) goes from here
    straight to its endpoint in `callback_routes` (path → ASGI app), past the router and
    the framework's per-request layers, which it does not use.
    """

    def __init__(self, app, callback_routes: dict | None = None) -> None:
        self.app = app
        self.callback_routes = callback_routes if callback_routes is not None else {}

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming_request_id(given or None)
        platform = scope["path"].strip("/").split("/", 1)[0]
        counted = platform in PLATFORM_PREFIXES and scope["method"] == "POST"

        async def send_with_id(message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode("latin-1")))
                message = {**message, "headers": headers}
                if counted:
                    callback(platform, callback_outcome(message["status"]))
            await send(message)

        started = False

        async def send_tracked(message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send_with_id(message)

        token = request_id_var.set(request_id)
        endpoint = self.callback_routes.get(scope["path"]) if scope["method"] == "POST" else None
        try:
            await (endpoint or self.app)(scope, receive, send_tracked)
        except Exception:
            # A bug, not bad input: logged here through djbot's logger (JSON lines when
            # DJBOT_LOG_JSON is on, with the request id), counted, answered without details.
            log.exception("unhandled error on %s %s", scope["method"], scope["path"])
            if started:
                raise
            await send_tracked({"type": "http.response.start", "status": 500,
                                "headers": [(b"content-type", b"text/plain")]})
            await send_tracked({"type": "http.response.body", "body": b"internal error"})
        finally:
            request_id_var.reset(token)
