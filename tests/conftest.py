"""Shared fixtures: a fresh database per test, a manual clock, and a chat driver."""

from __future__ import annotations

import os
import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import SQLModel

from bot.clock import ManualClock
from bot.config import Settings
from bot.core import IncomingMessage, Reply
from bot.runtime import Runtime, build_runtime
from storage import db

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(*args: int) -> datetime:
    """A Shanghai wall-clock time, as the tests speak of it."""
    return datetime(*args, tzinfo=SHANGHAI)


@pytest.fixture
def clock() -> ManualClock:
    # A Monday morning in Shanghai; tests move it as they need.
    return ManualClock(local(2026, 11, 23, 9, 0))


@pytest.fixture
def db_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'djbot.db'}"


@pytest.fixture
def settings(db_url) -> Settings:
    return Settings(database_url=db_url, _env_file=None)


@pytest.fixture
def engine(settings):
    engine = db.make_engine(settings.database_url)
    SQLModel.metadata.create_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def runtime(settings, clock, engine) -> Runtime:
    return build_runtime(settings, clock=clock, engine=engine, migrate=False)


class ChatDriver:
    """Speaks to the core as platform users, the way the console and adapters do."""

    def __init__(self, runtime: Runtime, platform: str = "wecom") -> None:
        self.runtime = runtime
        self.platform = platform

    def say(self, user: str, text: str, *, chat: str | None = None, message_id: str | None = None,
            platform: str | None = None) -> Reply:
        private = chat is None
        return self.runtime.dispatcher.handle_sync(
            IncomingMessage(
                platform=platform or self.platform,
                chat_id=user if private else chat,
                sender_id=user,
                text=text,
                message_id=message_id or uuid.uuid4().hex,
                at=self.runtime.clock.now(),
                is_private=private,
            )
        )


@pytest.fixture
def chat(runtime) -> ChatDriver:
    return ChatDriver(runtime)
