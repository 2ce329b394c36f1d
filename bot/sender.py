"""The Sender interface: how the outbox worker hands one message to a platform."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class Outbound:
    """One outbox row, as a sender sees it."""

    id: int
    platform: str
    target_kind: str  # "group" | "user" | "leaders"
    target: str  # chat id, platform user id, or branch id (for a group push channel)
    branch_id: int | None
    kind: str
    payload: dict[str, Any]  # Reply.to_dict(), plus optional platform hints


@dataclass(frozen=True)
class SendResult:
    ok: bool
    # A failure the platform may accept later (rate limit, 5xx, timeout): retry, with
    # retry_after seconds when the platform said how long to wait.
    retryable: bool = True
    retry_after: float | None = None
    error: str | None = None  # short, never a secret or the message body

    @classmethod
    def sent(cls) -> "SendResult":
        return cls(ok=True)

    @classmethod
    def failed(cls, error: str, *, retryable: bool = True,
               retry_after: float | None = None) -> "SendResult":
        return cls(ok=False, retryable=retryable, retry_after=retry_after, error=error)


class Sender(Protocol):
    platform: str

    async def send(self, message: Outbound) -> SendResult:
        """Deliver one message; never raise for a platform refusal, return a SendResult."""
        ...
