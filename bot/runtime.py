"""Builds djbot's parts from settings once, at start-up: engine, rules, registry, dispatcher."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.clock import Clock, SystemClock
from bot.config import Settings
from bot.dispatcher import Dispatcher
from bot.domain.rules import Rules, load_rules
from bot.registry import CommandRegistry
from storage import db
from storage.models import AuditEntry, RuleSet

log = logging.getLogger("djbot.runtime")


@dataclass
class Runtime:
    settings: Settings
    clock: Clock
    engine: Engine
    rules: Rules
    registry: CommandRegistry
    dispatcher: Dispatcher


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
        # (`djbot db upgrade`) so replicas never race to migrate.
        db.upgrade(engine)
    rules = load_rules(settings.rules_file)
    record_rules(engine, rules, clock)
    registry = build_registry()
    dispatcher = Dispatcher(
        engine=engine, settings=settings, clock=clock, registry=registry, rules=rules
    )
    return Runtime(settings, clock, engine, rules, registry, dispatcher)


def record_rules(engine: Engine, rules: Rules, clock: Clock) -> int:
    """Store this version of the rules once; a new version is an audited rule change."""
    with Session(engine, expire_on_commit=False) as session:
        existing = session.exec(select(RuleSet).where(RuleSet.digest == rules.digest)).first()
        if existing is not None:
            return existing.id  # type: ignore[return-value]
        had_rules = session.exec(select(RuleSet.id)).first() is not None
        row = RuleSet(digest=rules.digest, content=rules.source, loaded_at=clock.now())
        session.add(row)
        session.flush()
        session.add(
            AuditEntry(
                at=clock.now(),
                actor="system",
                action="rules.change" if had_rules else "rules.load",
                target=rules.digest,
                detail={"ruleset_id": row.id},
            )
        )
        session.commit()
        log.info("points rules %s recorded", rules.digest)
        return row.id  # type: ignore[return-value]
