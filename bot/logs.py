"""Logging set-up: readable lines on a terminal, JSON lines in production (DJBOT_LOG_JSON)."""

from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar
from datetime import datetime, timezone

from bot.config import Settings

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}

# The id of the HTTP request being handled (set by bot.metrics' middleware); it follows
# the request into the dispatcher's worker thread, so every line of one request shares it.
request_id_var: ContextVar[str | None] = ContextVar("djbot_request_id", default=None)


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        request_id = request_id_var.get()
        if request_id is not None and not hasattr(record, "request_id"):
            record.request_id = request_id
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data = {
            "ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        data.update({k: v for k, v in record.__dict__.items() if k not in _STANDARD})
        if record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False, default=str)


class PlainFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        base = super().format(record)
        extra = {k: v for k, v in record.__dict__.items() if k not in _STANDARD}
        if extra:
            base += " " + " ".join(f"{k}={v}" for k, v in extra.items())
        return base


class _CurrentStderr(logging.StreamHandler):
    """Writes to whatever sys.stderr is when a line is logged: the console and test runners
    swap it, and a handler holding an old, closed one prints "Logging error" into chat."""

    @property
    def stream(self):  # type: ignore[override]
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        pass


def setup_logging(settings: Settings, *, default_level: str = "INFO") -> None:
    handler = _CurrentStderr()
    if settings.log_json:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(PlainFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger("djbot")
    root.handlers[:] = [handler]
    root.setLevel((settings.log_level or default_level).upper())
    root.propagate = False
