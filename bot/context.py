"""What a handler gets: the message, one database session, the clock, settings and rules."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlmodel import Session

from bot.clock import Clock
from bot.config import Settings
from bot.core import IncomingMessage
from bot.domain.rules import Rules
from storage.models import AuditEntry, Branch, ChatBinding, Member, Role
from storage.prepared import Writes


class Commands(Protocol):
    """What a handler may ask of the command registry (帮助 lists it, 设置 dispatches on
    its settings); bot.registry imports Ctx's module, so Ctx names only this."""

    commands: list[Any]
    settings: dict[str, Any]

    def get(self, name: str) -> Any: ...

    def match(self, text: str) -> tuple[Any, str]: ...



@dataclass
class Ctx:
    message: IncomingMessage
    session: Session
    clock: Clock
    settings: Settings
    rules: Rules
    registry: Commands
    member: Member | None
    # The branch this chat speaks for: the bound group's branch, or in a private
    # chat the sender's own branch. None in the leaders' group or for a stranger.
    branch: Branch | None
    binding: ChatBinding | None
    # True in the leaders' group, or in a private chat with a leader or admin.
    bureau_wide: bool = False

    @property
    def now(self) -> datetime:
        return self.clock.now()

    @property
    def local_now(self) -> datetime:
        return self.clock.now().astimezone(self.settings.tz)

    def after_quiet_hours(self) -> datetime | None:
        """When a message written now may be sent: None (at once), or in quiet hours the
        moment they end. A message that is not an answer waits for the morning."""
        from bot.scheduling.plan import QuietHours

        return QuietHours.of(self.settings).held_until(self.local_now)

    @property
    def role(self) -> Role | None:
        return Role(self.member.role) if self.member else None

    def audit(self, action: str, *, target: str | None = None,
              detail: dict[str, Any] | None = None) -> AuditEntry:
        entry = AuditEntry(
            at=self.now,
            actor_id=self.member.id if self.member else None,
            actor=self.member.name if self.member else self.message.sender_id,
            action=action,
            target=target,
            detail=detail,
            platform=self.message.platform,
            chat_id=self.message.chat_id,
        )
        self.session.add(entry)
        return entry


@dataclass(frozen=True)
class QuickCtx:
    """What a command's quick lane answers with (beside its statement's row: QuickLane):
    the message, no session and nothing looked up beyond that row. It queues its INSERTs in
    `writes`, which the dispatcher sends with the message's record. The dispatcher has
    checked the text, the command and its arguments."""

    message: IncomingMessage
    writes: Writes
    now: datetime
    settings: Settings
    rules: Rules
