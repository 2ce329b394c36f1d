"""What the WeCom and DingTalk adapters do alike: read a bounded body, name a refusal for the
metrics, cut text to a byte limit or split it into numbered parts, cache an access token,
close an HTTP client at shutdown."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, Protocol
from urllib.parse import urlsplit

from fastapi import Request, Response

from bot import metrics
from bot.clock import Clock

# The one line a new chat gets (WeCom's enter_chat, DingTalk's first message in a new
# group): how to bind the group and where help is.
WELCOME = ("你好，我是党建助手。请支部书记在本支部群里@我发送「绑定 支部名称」把群绑定到支部；"
           "发送「帮助」查看全部指令。")

# Neither platform sends callbacks anywhere near this; a larger body is refused unread.
MAX_BODY_BYTES = 1024 * 1024

# The refusal's HTTP status names its reason in djbot_rejected_total; the detailed reason
# (free text) goes to the log only, so the metric keeps a handful of series.
REFUSAL_REASONS = {
    400: "malformed",   # not JSON/XML, undecryptable, fields missing
    401: "signature",   # the signature does not match
    403: "stale",       # timestamp missing or out of the window (WeCom: or another receiver)
    409: "replayed",    # DingTalk: a header pair already used with another body
    413: "too_large",
}


# A callback timestamp: ASCII digits only ("²".isdigit() is True, and int() of 5,000 digits
# raises), at most 13 (milliseconds until the year 2286).
_TIMESTAMP = re.compile(r"[0-9]{1,13}")


def is_timestamp(value: str | None) -> bool:
    return value is not None and _TIMESTAMP.fullmatch(value) is not None


class CallbackEndpoint:
    """A POST callback route as a plain ASGI app, called by the request-id middleware
    (bot.metrics, app.state.callback_routes) before the router.

    Every message of a theme day's burst comes this way. FastAPI's per-request machinery
    (dependency solving, two exit stacks, its exception wrapper, query parsing) cost about as
    much CPU as the check-in's own statements, and these routes use none of it: they read
    the body themselves. `failures` answers the exceptions a route raises the way the app's
    exception handlers would (the router, which calls those, is skipped); a response's
    background task (DingTalk's reply) runs after the answer, as under the router.
    """

    def __init__(self, handle: Callable[[Request], Awaitable[Response]], *,
                 failures: Mapping[type[Exception],
                                   Callable[[Request, Any], Awaitable[Response]]] | None = None,
                 ) -> None:
        self.handle = handle
        self.failures = dict(failures or {})
        self._caught = tuple(self.failures)

    async def __call__(self, scope, receive, send) -> None:
        request = Request(scope, receive)
        try:
            response = await self.handle(request)
        except self._caught as exc:
            answer = next(a for kind, a in self.failures.items() if isinstance(exc, kind))
            response = await answer(request, exc)
        await response(scope, receive, send)


class MalformedJson(ValueError):
    """A body that is not JSON djbot will read; the text is for the log."""


def loads_json(data: str | bytes) -> Any:
    """Parse a callback's JSON, refusing what would only fail later: nesting deep enough to
    exhaust the parser, lone surrogates (no database stores them) and NUL (PostgreSQL
    refuses it where SQLite stores it, so both refuse it here)."""
    try:
        value = json.loads(data)
    except RecursionError:
        raise MalformedJson("is nested too deeply") from None
    except ValueError:  # includes UnicodeDecodeError
        raise MalformedJson("is not JSON") from None
    if not isinstance(value, dict | list) or _plainly_safe(data):
        return value
    try:
        flat = json.dumps(value, ensure_ascii=False)
        flat.encode()
    except RecursionError:
        raise MalformedJson("is nested too deeply") from None
    except UnicodeEncodeError:
        raise MalformedJson("has a lone surrogate") from None
    if "\\u0000" in flat:
        raise MalformedJson("has a NUL character")
    return value


# Python's recursion limit is 1,000 frames: a text with fewer brackets than this cannot
# nest deep enough to trouble json.dumps later, wherever on the stack it is called.
_SHALLOW_BRACKETS = 200


def _plainly_safe(data: str | bytes) -> bool:
    """The checks of loads_json answered from the text alone, without writing the value out
    again (a tenth of a DingTalk check-in's HTTP side): only a \\u escape can spell a NUL or
    a lone surrogate in UTF-8 JSON (the parser refuses them raw, and strict UTF-8 decoding
    refuses surrogates), a NUL byte means a UTF-16 or UTF-32 text whose escapes this does
    not read, and few brackets cannot nest deep. Anything else is re-checked the long way."""
    if isinstance(data, str):
        try:
            data = data.encode()
        except UnicodeEncodeError:  # a lone surrogate in the text itself
            return False
    return (b"\\u" not in data and b"\x00" not in data
            and data.count(b"[") + data.count(b"{") < _SHALLOW_BRACKETS)


def on_platform_host(url: str, *, official: tuple[str, ...], bases: tuple[str, ...]) -> bool:
    """Whether a URL taken from a callback body is one djbot may POST to.

    https on one of the platform's own hosts, or exactly the scheme, host and port of a
    configured API base (private deployments, the tests' fakes). Everything else (loopback,
    numeric or IPv6-mapped addresses, djbot's own port, other hosts) is refused.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return False
    host = (parts.hostname or "").lower()
    if not host or parts.username or parts.password:
        return False
    if parts.scheme == "https" and host in official and port in (None, 443):
        return True
    for base in bases:
        b = urlsplit(base)
        if (parts.scheme, host, port or _default_port(parts.scheme)) == (
                b.scheme, (b.hostname or "").lower(), b.port or _default_port(b.scheme)):
            return True
    return False


def _default_port(scheme: str) -> int | None:
    return {"https": 443, "http": 80}.get(scheme)


async def read_limited(request: Request, limit: int = MAX_BODY_BYTES) -> bytes | None:
    """The request body, or None once it is past `limit` bytes (stopping before reading it all)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            return None
    return bytes(body)


def count_refusal(platform: str, status: int) -> None:
    """Count a refused callback under its reason (see REFUSAL_REASONS)."""
    metrics.rejected(platform, REFUSAL_REASONS.get(status, "other"))


def cut_to_bytes(text: str, limit: int, marker: str = "…") -> str:
    """Shorten text to at most `limit` UTF-8 bytes, ending with the marker when cut.

    Both platforms count their limits in bytes; the cut falls between characters, never
    inside one, so neither ever gets broken UTF-8.
    """
    if len(text.encode()) <= limit:
        return text
    room = limit - len(marker.encode())
    if room <= 0:
        return ""
    # errors="ignore" drops the partial character the byte cut left at the end.
    return text.encode()[:room].decode("utf-8", errors="ignore") + marker


def _byte_len(text: str) -> int:
    return len(text.encode())


def _part_label(index: int, total: int) -> str:
    return f"（{index}/{total}）\n"


def _is_table_row(line: str) -> bool:
    return line.lstrip().startswith("|")


def _table_header(lines: list[str], end: int) -> list[str]:
    """The header and separator rows of the markdown table that line `end` belongs to."""
    start = end
    while start > 0 and _is_table_row(lines[start - 1]):
        start -= 1
    head = lines[start:start + 2]
    if len(head) == 2 and set(head[1].replace("|", "").strip()) <= set("-: "):
        return head
    return []


def split_to_bytes(text: str, limit: int) -> list[str]:
    """Split text into parts of at most `limit` UTF-8 bytes, each headed "（i/n）".

    Both platforms count their limits in bytes and refuse (or silently cut) a longer
    message, so a long summary goes out whole in numbered parts instead. Cuts fall
    between lines, so a table row is never split; a part that starts inside a markdown
    table repeats the table's header rows so it still renders as a table. Only a single
    line longer than a whole part is cut: after its last separator (、，；。 or a space) in
    the part's second half, else between characters, never inside one.
    A text within the limit is returned as it is, unnumbered.
    """
    if _byte_len(text) <= limit:
        return [text]
    lines = text.split("\n")
    total_guess = max(2, -(-_byte_len(text) // limit))
    while True:
        # Room left for the text once the widest label ("（nn/nn）\n") is in.
        room = limit - _byte_len(_part_label(total_guess, total_guess))
        if room <= 0:
            raise ValueError(f"a {limit}-byte limit leaves no room for any text")
        parts = _pack(lines, room)
        if len(parts) <= total_guess or len(str(len(parts))) == len(str(total_guess)):
            break
        total_guess = len(parts)
    total = len(parts)
    return [_part_label(i, total) + part for i, part in enumerate(parts, 1)]


def head_within(text: str, limit: int) -> tuple[str, str]:
    """(head, rest): as much of text as `limit` UTF-8 bytes hold, and what is left, for a
    channel that takes one message and no more. The head ends between lines; a line that
    would not fit even a message of its own (a long list of names) fills the head and is
    cut after a separator, as split_to_bytes cuts it. A rest that starts inside a markdown
    table starts with the table's header rows again."""
    if _byte_len(text) <= limit:
        return text, ""
    lines = text.split("\n")
    head: list[str] = []
    size = 0
    for index, line in enumerate(lines):
        joint = 1 if head else 0
        if size + joint + _byte_len(line) <= limit:
            head.append(line)
            size += joint + _byte_len(line)
            continue
        room = limit - size - joint
        cut = _cut(line, room) if _byte_len(line) > limit and room > 0 else ""
        if cut:
            return "\n".join([*head, cut]), "\n".join([line[len(cut):], *lines[index + 1:]])
        rest = lines[index:]
        if _is_table_row(line) and _is_table_row(lines[index - 1]):
            rest = _table_header(lines, index) + rest
        return "\n".join(head), "\n".join(rest)
    return text, ""  # pragma: no cover - the text fit, returned above


_LIST_SEPARATORS = ("、", "，", ",", "；", ";", "。", " ")


def _cut(line: str, room: int) -> str:
    """The head of a line too long for `room` bytes, never cut inside a character."""
    head = line.encode()[:room].decode("utf-8", errors="ignore")
    # A long list on one line (未签到's names) is cut after a separator, so no name is
    # split between two messages.
    after = max(head.rfind(separator) for separator in _LIST_SEPARATORS) + 1
    return head[:after] if after > len(head) // 2 else head


def _pack(lines: list[str], room: int) -> list[str]:
    """Lines grouped greedily into chunks of at most `room` bytes (joined by newlines)."""
    parts: list[str] = []
    current: list[str] = []
    size = 0
    for index, line in enumerate(lines):
        if _byte_len(line) > room:  # one line longer than a part: cut between characters
            if current:
                parts.append("\n".join(current))
            while _byte_len(line) > room:
                head = _cut(line, room)
                parts.append(head)
                line = line[len(head):]
            current, size = [line], _byte_len(line)
            continue
        needed = _byte_len(line) + (1 if current else 0)
        if current and size + needed > room:
            parts.append("\n".join(current))
            current, size = [], 0
            if _is_table_row(line) and _is_table_row(lines[index - 1]):
                header = _table_header(lines, index)
                if header and _byte_len("\n".join([*header, line])) <= room:
                    current, size = list(header), _byte_len("\n".join(header))
            needed = _byte_len(line) + (1 if current else 0)
        current.append(line)
        size += needed
    if current:
        parts.append("\n".join(current))
    return parts


class TokenCache:
    """An access token kept until `margin` before the platform says it expires.

    `fetch` returns (token, seconds it is valid); concurrent callers share one fetch.
    """

    def __init__(self, clock: Clock, *, margin: timedelta = timedelta(minutes=5)) -> None:
        self.clock = clock
        self.margin = margin
        self._value: str | None = None
        self._renew_at: datetime | None = None
        # Made on first use, inside the event loop that uses it.
        self._lock: asyncio.Lock | None = None

    async def get(self, fetch: Callable[[], Awaitable[tuple[str, int]]], *,
                  force: bool = False) -> str:
        """The cached token, or a fresh one (always fresh with force: the platform refused it)."""
        if not force and self._fresh():
            return self._value  # type: ignore[return-value]
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if not force and self._fresh():  # another task fetched it while we waited
                return self._value  # type: ignore[return-value]
            value, valid_seconds = await fetch()
            self._value = value
            self._renew_at = self.clock.now() + timedelta(seconds=valid_seconds) - self.margin
            return value

    def forget(self) -> None:
        self._value = self._renew_at = None

    def _fresh(self) -> bool:
        return (self._value is not None and self._renew_at is not None
                and self.clock.now() < self._renew_at)


class _Closable(Protocol):
    async def aclose(self) -> None: ...


class ClosesClient:
    """A service (start/stop) that closes an outbound client's connections at shutdown."""

    def __init__(self, client: _Closable) -> None:
        self.client = client

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        await self.client.aclose()
