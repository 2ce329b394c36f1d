"""The Sender interface: how the outbox worker hands one message to a platform."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol, TypeVar

T = TypeVar("T")
# The payload key saying how many parts of a long message have gone out already.
PARTS_SENT = "parts_sent"
# The payload key saying since when a message has waited for its channel to come back (a
# sender that waits only so long sets it; `djbot outbox retry` starts the wait afresh).
WAITING_SINCE = "waiting_since"


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
class FollowUp:
    """What is left of a message for some of its recipients, to go later as a row of its
    own (people the platform held back). The worker writes it in the transaction that
    records the try, so a restart can neither lose it nor leave them on the first row too,
    keyed by the row's message and `target` (storage.outbox.follow_up_key): a recipient
    leaves a row at most once."""

    target: str
    payload: dict[str, Any]
    delay: float  # seconds from the try


@dataclass(frozen=True)
class SendResult:
    ok: bool
    # A failure the platform may accept later (rate limit, 5xx, timeout): retry, with
    # retry_after seconds when the platform said how long to wait.
    retryable: bool = True
    retry_after: float | None = None
    error: str | None = None  # short, never a secret or the message body
    # The row's payload for the next try, when what already went out must not go again
    # (the parts of a long message sent so far; the users a batch did reach).
    payload: dict[str, Any] | None = None
    # Sent, but some recipients the platform refused for good (unknown ids): kept on the
    # row for the operator (`djbot outbox`, `djbot doctor`).
    note: str | None = None
    follow_ups: tuple[FollowUp, ...] = ()

    @classmethod
    def sent(cls, note: str | None = None,
             follow_ups: tuple[FollowUp, ...] = ()) -> "SendResult":
        return cls(ok=True, note=note, follow_ups=follow_ups)

    @classmethod
    def failed(cls, error: str, *, retryable: bool = True, retry_after: float | None = None,
               payload: dict[str, Any] | None = None,
               follow_ups: tuple[FollowUp, ...] = ()) -> "SendResult":
        return cls(ok=False, retryable=retryable, retry_after=retry_after, error=error,
                   payload=payload, follow_ups=follow_ups)

    def resuming(self, payload: dict[str, Any], parts_sent: int) -> "SendResult":
        """This failure, with the next try starting after the parts already sent."""
        if parts_sent == int(payload.get(PARTS_SENT) or 0):
            return self
        return replace(self, payload={**payload, PARTS_SENT: parts_sent})


class PartsInterrupted(Exception):
    """A long message stopped part-way: `sent` parts (counting earlier tries) went out."""

    def __init__(self, sent: int, cause: Exception) -> None:
        super().__init__(str(cause))
        self.sent = sent
        self.cause = cause


async def send_parts(payload: dict[str, Any], parts: Sequence[T],
                     send_one: Callable[[T], Awaitable[Any]]) -> None:
    """Send the parts in order, starting after those a previous try already sent, so a
    retry neither repeats part 1 nor skips part 2; raise PartsInterrupted on a failure."""
    start = min(int(payload.get(PARTS_SENT) or 0), len(parts))
    for index in range(start, len(parts)):
        try:
            await send_one(parts[index])
        except Exception as exc:
            raise PartsInterrupted(index, exc) from exc


class Sender(Protocol):
    platform: str

    async def send(self, message: Outbound) -> SendResult:
        """Deliver one message; never raise for a platform refusal, return a SendResult."""
        ...


class SharesChannels(Protocol):
    """A sender some of whose group rows go through a channel several chats share (a
    branch's one push webhook for its two groups). The worker asks it, before a send, so
    that such a channel carries each message once (OutboxWorker.copy_sent)."""

    def shared_channel(self, message: Outbound) -> str | None:
        """A name for the channel the row would go through when other chats' rows may go
        through it too (never the credential itself); None when it goes to its own chat."""
        ...
