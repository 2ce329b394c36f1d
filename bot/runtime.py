"""Builds djbot's parts from settings once, at start-up: engine, rules, registry, dispatcher."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.clock import Clock, SystemClock
from bot.config import Settings
from bot.domain.rules import Rules, load_rules
from bot.registry import CommandRegistry
from storage import db
from storage.ledger import insert_ignoring_duplicates
from storage.models import AuditEntry, RuleSet

if TYPE_CHECKING:
    from bot.dispatcher import Dispatcher

log = logging.getLogger("djbot.runtime")


@dataclass
class Runtime:
    settings: Settings
    clock: Clock
    engine: Engine
    rules: Rules
    # Built on first use: a report or an export from the shell never pays for loading
    # every handler, the dispatcher and its metrics.
    _registry: CommandRegistry | None = field(default=None, repr=False)
    _dispatcher: Dispatcher | None = field(default=None, repr=False)
    _building: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @property
    def registry(self) -> CommandRegistry:
        if self._registry is not None:
            return self._registry
        with self._building:
            if self._registry is None:
                self._registry = build_registry()
            return self._registry

    @property
    def dispatcher(self) -> Dispatcher:
        if self._dispatcher is not None:
            return self._dispatcher
        registry = self.registry
        with self._building:
            if self._dispatcher is None:
                from bot.dispatcher import Dispatcher

                self._dispatcher = Dispatcher(engine=self.engine, settings=self.settings,
                                              clock=self.clock, registry=registry,
                                              rules=self.rules)
            return self._dispatcher


def build_registry() -> CommandRegistry:
    import handlers

    registry = CommandRegistry()
    handlers.register_all(registry)
    return registry


def build_runtime(
    settings: Settings,
    *,
    clock: Clock | None = None,
    engine: Engine | None = None,
    migrate: bool = True,
) -> Runtime:
    clock = clock or SystemClock()
    engine = engine or db.make_engine(settings.database_url)
    if migrate and engine.dialect.name == "sqlite":
        # The embedded default upgrades itself; PostgreSQL is upgraded on purpose
        # (`djbot db upgrade`) so replicas never race to migrate. Checked first without
        # Alembic, whose import alone costs more than a command's SQL.
        if not db.is_current_quick(engine):
            db.upgrade(engine)
    rules = load_rules(settings.rules_file)
    record_rules(engine, rules, clock)
    return Runtime(settings, clock, engine, rules)


def record_rules(engine: Engine, rules: Rules, clock: Clock) -> int:
    """Store this version of the rules once; a new version is an audited rule change.

    Replicas start together, so the row is inserted with ON CONFLICT DO NOTHING and only
    the replica whose insert won writes the audit entry.
    """
    this_version = select(RuleSet.id).where(RuleSet.digest == rules.digest)
    # Nearly always the rules are those of the last start: one SELECT answers that, and a
    # command from the shell takes no write lock (the INSERT below would, even to do nothing).
    with engine.connect() as connection:
        known = connection.execute(this_version).scalar()
    if known is not None:
        return known
    with Session(engine, expire_on_commit=False) as session:
        had_rules = session.exec(select(RuleSet.id)).first() is not None
        inserted = insert_ignoring_duplicates(
            session, RuleSet, dict(digest=rules.digest, content=rules.source, loaded_at=clock.now())
        )
        ruleset_id = session.exec(this_version).one()
        if inserted:
            session.add(
                AuditEntry(
                    at=clock.now(),
                    actor="system",
                    action="rules.change" if had_rules else "rules.load",
                    target=rules.digest,
                    detail={"ruleset_id": ruleset_id},
                )
            )
            log.info("points rules %s recorded", rules.digest)
        session.commit()
        return ruleset_id
