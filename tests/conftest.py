"""Shared fixtures: a fresh database per test, a manual clock, and a chat driver."""

from __future__ import annotations

import functools
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event
from sqlalchemy.engine import make_url
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


# --- databases ---------------------------------------------------------------------
# Every test gets a fresh database. By default that is a SQLite file; with
# DJBOT_TEST_DB=postgres (the second pass of `make test`) it is a new schema on the
# server at DJBOT_TEST_POSTGRES_URL, made for the test and dropped after it, so two
# runs (or two tests) on one server never see each other's rows.
POSTGRES_URL = os.environ.get("DJBOT_TEST_POSTGRES_URL", "")
TEST_DB = os.environ.get("DJBOT_TEST_DB", "sqlite").lower()
NO_POSTGRES = "PostgreSQL not configured: set DJBOT_TEST_POSTGRES_URL (`.ci/run` does)"


def pytest_configure(config) -> None:
    config.addinivalue_line(
        "markers", "own_databases: picks its own databases; runs once, in the SQLite pass"
    )
    config.addinivalue_line(
        "markers", "words: checks how what people type is read; runs once, in the SQLite pass"
    )


def pytest_collection_modifyitems(config, items) -> None:
    if TEST_DB != "postgres":
        return
    # The PostgreSQL pass is CI's longest: tests of the words people type write the same
    # rows as the tests of those rows, which run on both databases.
    reasons = {"own_databases": "chooses its own databases: runs in the SQLite pass",
               "words": "checks how words are read: runs in the SQLite pass"}
    for item in items:
        for marker, reason in reasons.items():
            if marker in item.keywords:
                item.add_marker(pytest.mark.skip(reason=reason))
                break


@contextmanager
def postgres_schema(base_url: str) -> Iterator[str]:
    """A fresh, empty schema on the test server; yields a URL whose search_path is that schema."""
    import psycopg

    schema = f"djbot_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_server(base_url), autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    # The application name marks this test's connections, so teardown can find them.
    url = make_url(base_url).update_query_dict(
        {"options": f"-csearch_path={schema} -csynchronous_commit=off", "application_name": schema}
    )
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        drop_schema(base_url, schema)


def drop_schema(url, schema: str) -> None:
    """Drop a test schema and what is in it (`url`: the server's, with or without options)."""
    import psycopg

    with psycopg.connect(_server(url), autocommit=True) as conn:
        # A connection the test left open (a server thread, an undisposed engine) must
        # not hold a lock that hangs the DROP.
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE application_name = %s AND pid <> pg_backend_pid()", (schema,)
        )
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def _server(url) -> str:
    """`url` as psycopg takes it, without a test schema's search path and name."""
    return make_url(url).set(drivername="postgresql", query={}).render_as_string(
        hide_password=False)


@dataclass
class Counted:
    statements: list[str] = field(default_factory=list)  # as sent to the driver
    commits: int = 0


@contextmanager
def counting(engine) -> Iterator[Counted]:
    """What `engine` sent while the block ran: each statement, and the commits."""
    seen = Counted()

    def statement(conn, cursor, sql, parameters, context, executemany):
        seen.statements.append(sql)

    def commit(conn):
        seen.commits += 1

    event.listen(engine, "before_cursor_execute", statement)
    event.listen(engine, "commit", commit)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", statement)
        event.remove(engine, "commit", commit)


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'djbot.db'}"


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL schema, whichever pass is running; skipped without a server."""
    if not POSTGRES_URL:
        pytest.skip(NO_POSTGRES)
    with postgres_schema(POSTGRES_URL) as url:
        yield url


@pytest.fixture
def db_url(request) -> str:
    """The database of this pass: SQLite, or PostgreSQL with DJBOT_TEST_DB=postgres."""
    if TEST_DB == "postgres":
        return request.getfixturevalue("pg_url")
    return request.getfixturevalue("sqlite_url")


@pytest.fixture
def settings(db_url) -> Settings:
    return Settings(database_url=db_url, _env_file=None)


@functools.cache
def _schema_ddl(dialect) -> str:
    """Every table and index as one script: on PostgreSQL, create_all's hundred round trips
    (existence checks, then a statement each) were most of a test's set-up."""
    from sqlalchemy.schema import CreateIndex, CreateTable

    statements = []
    for table in SQLModel.metadata.sorted_tables:
        statements.append(str(CreateTable(table).compile(dialect=dialect)).strip())
        statements += [str(CreateIndex(index).compile(dialect=dialect)).strip()
                       for index in sorted(table.indexes, key=lambda i: i.name or "")]
    return ";\n".join(statements) + ";"


@pytest.fixture
def engine(settings):
    engine = db.make_engine(settings.database_url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:  # the schema is new and empty: no existence checks
            conn.exec_driver_sql(_schema_ddl(engine.dialect))
    else:
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
