"""Engines, sessions and migrations. Built from settings at start-up, never at import."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, create_engine

from storage.files import create_private
from storage.revisions import (  # noqa: F401
    MIGRATIONS_DIR,
    head_revisions_on_disk,
    revisions_on_disk,
)

if TYPE_CHECKING:  # Alembic costs a quarter second to import: only when migrating
    from alembic.config import Config



def normalize_url(url: str) -> str:
    """Let operators write postgresql://… as usual; djbot picks the psycopg 3 driver."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


# How long a SQLite connection waits for another's write lock before "database is locked".
BUSY_TIMEOUT_MS = 30_000
# How long opening a PostgreSQL connection may take (libpq's connect_timeout; a URL may set
# its own). psycopg otherwise waits 130 s for a server that accepts and never answers (hung,
# or its host gone behind a balancer): a callback got no answer at all, with a writer thread
# held, where one that cannot reach the database is answered 503 for the platform to
# deliver again. Each message tries twice (the event loop's lane, then the writer threads).
CONNECT_TIMEOUT_SECONDS = 3
# An open connection whose server host is gone (failed over, unplugged) answers nothing and
# sends no reset: a statement on it waited for TCP to give up, about 15 minutes, with a
# callback unanswered and a writer thread held; pool_pre_ping's own ping waited as long.
# The kernel now gives up on data unacknowledged for 10 s, and probes an idle connection
# after 30 s (three probes 10 s apart), so the pool finds it dead and opens another. A URL
# may set any of them itself; libpq ignores them on a Unix socket.
CONNECTION_DEFAULTS = {
    "connect_timeout": str(CONNECT_TIMEOUT_SECONDS),
    "keepalives": "1", "keepalives_idle": "30", "keepalives_interval": "10",
    "keepalives_count": "3", "tcp_user_timeout": "10000",
}
# SQLite's own default: a commit that finds the write-ahead log this many pages long copies
# it back into the database (bot.writer.LoopLane's connection does not; see there).
WAL_AUTOCHECKPOINT = 1000


def make_engine(url: str, *, echo: bool = False) -> Engine:
    # hide_parameters: a failed statement's error, which djbot logs whole, would quote its
    # values (a leave reason, a name, a push key); the statement and the cause stay. Only
    # echo, a developer's own look at the SQL, shows them.
    url = normalize_url(url)
    if url.startswith("sqlite"):
        database = make_url(url).database
        if database and database != ":memory:" and not database.startswith("file:"):
            # Created 0600 before SQLite opens it; its -wal and -shm files follow its mode.
            if not Path(database).exists() and Path(database).parent.is_dir():
                create_private(database)
        engine = create_engine(
            url, echo=echo, connect_args={"check_same_thread": False, "timeout": 30},
            hide_parameters=not echo,
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # pragma: no cover - trivial
            cur = dbapi_conn.cursor()
            # WAL lets readers run beside the one writer; the busy timeout makes a
            # second writer wait instead of failing with "database is locked".
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        return engine
    parsed = make_url(url)
    # In the URL, not the engine's connect_args: the event loop's own connections
    # (bot/pglane.py) are opened from it too.
    parsed = parsed.update_query_dict(
        {key: value for key, value in CONNECTION_DEFAULTS.items() if key not in parsed.query})
    return create_engine(parsed, echo=echo, pool_pre_ping=True, hide_parameters=not echo)


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One session and one transaction: committed on success, rolled back on error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def alembic_config(engine: Engine) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    from alembic import command

    command.upgrade(alembic_config(engine), revision)


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision(engine: Engine) -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()


def is_current(engine: Engine) -> bool:
    return current_revision(engine) == head_revision(engine)


def stamped_revisions(engine: Engine) -> set[str]:
    """The revisions recorded in alembic_version, read with plain SQL; empty when none."""
    from sqlalchemy import text
    from sqlalchemy.exc import SQLAlchemyError

    try:
        with engine.connect() as conn:
            return {row[0] for row in conn.execute(text("SELECT version_num FROM alembic_version"))}
    except SQLAlchemyError:
        return set()


def is_current_quick(engine: Engine) -> bool:
    """is_current without Alembic: what every start of the command line asks."""
    heads = head_revisions_on_disk()
    return bool(heads) and stamped_revisions(engine) == heads


def newer_schema(engine: Engine) -> str | None:
    """One line when a newer djbot migrated this database (a revision no migration here
    makes: djbot was taken back to an older version); None otherwise. Without Alembic,
    whose upgrade would only say it cannot locate the revision."""
    known = revisions_on_disk()
    unknown = sorted(stamped_revisions(engine) - known) if known is not None else []
    if not unknown:
        return None
    head = "、".join(sorted(head_revisions_on_disk() or ()))
    return (f"数据库结构 {'、'.join(unknown)} 来自更新版本的 djbot（本版本最新为 {head}）"
            "：请安装与之相同或更新的 djbot，或把升级前的备份恢复到一个空数据库")


def _first_line(exc: Exception) -> str:
    return str(getattr(exc, "orig", exc)).strip().splitlines()[0]


def write_problem(engine: Engine) -> str | None:
    """Why djbot cannot write to this database, in one line; None when it can.

    SQLite: a write transaction that creates and drops a table, rolled back (a read-only
    file, a read-only directory for its -wal file, `mode=ro`). PostgreSQL: a read-only
    transaction default or a standby (permissions are the migrations' business).
    """
    import sqlite3
    import uuid

    from sqlalchemy import text
    from sqlalchemy.exc import SQLAlchemyError

    try:
        if engine.dialect.name == "sqlite":
            # On the driver's own connection: pysqlite would commit DDL outside a transaction.
            raw = engine.raw_connection()
            try:
                cursor = raw.cursor()
                cursor.execute("BEGIN IMMEDIATE")
                cursor.execute(f"CREATE TABLE djbot_write_probe_{uuid.uuid4().hex} (x INTEGER)")
                cursor.execute("ROLLBACK")
            finally:
                raw.close()
            return None
        try:
            conn = engine.connect()
        except SQLAlchemyError as exc:  # a server not there is not one that refuses writes
            return f"无法连接数据库（{_first_line(exc)}）"
        with conn:
            read_only = conn.execute(text("SHOW transaction_read_only")).scalar()
            standby = conn.execute(text("SELECT pg_is_in_recovery()")).scalar()
            conn.rollback()
    except (SQLAlchemyError, sqlite3.Error) as exc:
        return f"数据库无法写入（{_first_line(exc)}）"
    if standby:
        return "数据库是只读的备库（standby），请连接主库"
    if read_only == "on":
        return "数据库连接是只读的（default_transaction_read_only），请换一个可写的账号或连接"
    return None
