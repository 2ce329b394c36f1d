"""The platform-neutral message contract: an IncomingMessage in, a Reply out.

Adapters translate platform payloads into IncomingMessage and render Reply back;
handlers and the dispatcher never import a platform.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol


class Admission(Protocol):
    """An adapter's check of a message (IncomingMessage.admit), made with its own writes."""

    def __call__(self, conn: Any) -> bool:
        """Record what the check needs on the message's connection; False refuses it."""

    def claim(self, writes: Any) -> None:
        """Queue the same record with the message's writes (storage.prepared.Writes), so
        that it fails them, rather than answering False, where the check would need a
        closer look: the quick lane then gives the message to the general path."""


@dataclass(frozen=True)
class IncomingMessage:
    platform: str  # "wecom" | "dingtalk" (the console speaks as one of them)
    chat_id: str  # group chat id; for a private chat, the sender's own id
    sender_id: str  # the platform user id (WeCom userid, DingTalk staffId)
    text: str
    message_id: str  # the platform's id, used to count a retried delivery once
    at: datetime  # aware
    is_private: bool = False
    mentioned_bot: bool = True
    sender_name: str | None = None
    # Platform user ids @-mentioned in the text (other than the bot).
    mentions: tuple[str, ...] = ()
    raw: dict[str, Any] | None = field(default=None, compare=False, repr=False)
    # The adapter's own check, run on the connection of the message's transaction before
    # anything else (so it costs no transaction of its own): False refuses the message
    # with NotAdmitted and nothing is kept. DingTalk's one body per (timestamp, sign) pair.
    admit: Admission | None = field(default=None, compare=False, repr=False)
    # Where the reply goes when the adapter cannot answer in its response and must queue it
    # in the outbox (DingTalk without a usable sessionWebhook): run with the message's own
    # writes (storage.prepared.Writes) and the reply, so the answer is committed with what
    # it answers, or neither is. Not run for a repeated delivery (the first one queued it).
    queue_reply: Callable[[Any, Reply], None] | None = field(default=None, compare=False,
                                                             repr=False)


class NotAdmitted(Exception):
    """The message's admit check said no: nothing was handled or stored."""


@dataclass(frozen=True)
class Reply:
    text: str
    markdown: bool = False
    # Platform user ids to @-mention when the reply is rendered.
    mentions: tuple[str, ...] = ()
    # An error reply: the dispatcher rolls back whatever the handler changed.
    is_error: bool = False
    title: str | None = None

    @classmethod
    def error(cls, text: str) -> "Reply":
        return cls(text=text, is_error=True)

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "markdown": self.markdown,
            "mentions": list(self.mentions),
            "is_error": self.is_error,
            "title": self.title,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Reply":
        return cls(
            text=data["text"],
            markdown=bool(data.get("markdown")),
            mentions=tuple(data.get("mentions") or ()),
            is_error=bool(data.get("is_error")),
            title=data.get("title"),
        )
