"""The HTTP service: FastAPI app built from a Runtime, adapters mounted as routers."""

from __future__ import annotations

import asyncio
import gc
import logging
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy import text

from bot import metrics
from bot.adapters.dingtalk import routes as dingtalk_routes
from bot.adapters.wecom import routes as wecom_routes
from bot.runtime import Runtime
from bot.scheduling.service import SchedulerService
from bot.web import routes as web_routes
from storage import db

log = logging.getLogger("djbot.app")

# Each has mount(app, runtime): adds its routes, its outbox Sender to app.state.senders
# and, via app.state.services, the background services it needs started and stopped.
ADAPTERS = [wecom_routes, dingtalk_routes]


def create_app(runtime: Runtime, *, start_background: bool = True) -> FastAPI:
    runtime.dispatcher  # built now (the runtime builds it lazily): the first callback waits for nothing
    services: list = []  # objects with async start() and async stop()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if start_background:
            for service in services:
                await service.start()
            freeze_startup_heap()
        try:
            yield
        finally:
            for service in reversed(services):
                if start_background:
                    await service.stop()
            # Messages still queued are handled and committed before the process ends.
            await asyncio.to_thread(runtime.dispatcher.close)

    app = FastAPI(title="djbot", lifespan=lifespan, docs_url=None, redoc_url=None,
                  openapi_url=None,  # no map of the service for strangers
                  **_telemetry_options())
    app.state.runtime = runtime
    app.state.services = services
    app.state.senders = {}  # platform -> outbox Sender; adapters add theirs in mount()
    metrics.install(app, runtime.engine)  # /metrics and the X-Request-ID middleware

    @app.get("/healthz")
    def healthz() -> dict:
        return {"status": "ok"}

    @app.get("/readyz")
    def readyz():
        try:
            with runtime.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            current = db.is_current(runtime.engine)
        except Exception as exc:  # the database is unreachable
            log.warning("not ready: %s", type(exc).__name__)
            return JSONResponse({"status": "database unreachable"}, status_code=503)
        if not current:
            return JSONResponse({"status": "migrations pending"}, status_code=503)
        return {"status": "ready"}

    for adapter in ADAPTERS:
        adapter.mount(app, runtime)
    web_routes.mount(app, runtime)  # the dashboard, when DJBOT_WEB__SECRET is set
    # Ticks and outbox delivery run in every replica; the tables make them safe to share.
    services.append(SchedulerService(runtime, app.state.senders))
    return app


def freeze_startup_heap() -> None:
    """Take what start-up made (modules, models, the app: several hundred thousand objects)
    out of the garbage collector's walks. Python's full collection visits every object it
    tracks, and it ran every few thousand callbacks: 90-100 ms in which no request was
    answered, the slowest hundredth of a theme day's burst (docs/benchmarks.md). Objects
    made after start are collected as before; the collection first drops start-up's own
    garbage, which would otherwise be kept for good.

    The youngest generation is then collected every 10,000 allocations rather than 700:
    a check-in callback allocates a few hundred objects, so the default walked it once
    every one or two callbacks (519 times in 5,900); in process that was 2–7% of a
    callback's CPU (docs/benchmarks.md). What a callback leaves is freed by reference
    counting; only cycles wait the little longer."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 10, 10)


def _telemetry_options() -> dict:
    """FastAPI's native OpenTelemetry (0.16x), off unless the deployment configures
    OpenTelemetry (an OTEL_* variable): otherwise it asked the environment for its three
    providers on every request, a tenth of a check-in callback's CPU. djbot's own /metrics
    and request ids do not depend on it."""
    import inspect
    import os

    if "telemetry" not in inspect.signature(FastAPI.__init__).parameters:
        return {}  # an older FastAPI has none
    if any(name.startswith("OTEL_") for name in os.environ):
        return {}
    return {"telemetry": {"tracing": False, "metrics": False, "logs": False}}
