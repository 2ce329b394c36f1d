"""A database state built once per test run and copied into each test that asks for it.

Playing the demo bureau's weeks through the dispatcher takes a second on SQLite and two to
four on PostgreSQL, and some thirty dashboard tests start from the same weeks. The first
test plays them; the others get a copy of the tables it left: the same people, activities,
attendance and ledger that playing them again would write (the demo's random choices are
seeded; only the messages' random ids would differ).

Only a database with nobody in it yet is filled from a copy (it replaces what is there, such
as the rule set the runtime wrote when it started): a test that set people up first plays the
history on top of them, as before.
"""

from __future__ import annotations

import atexit
import shutil
import sqlite3
import tempfile
import uuid
from collections.abc import Callable, Hashable
from contextlib import closing
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

from storage.models import Member
from tests.conftest import drop_schema

_taken: dict[Hashable, str] = {}  # key → SQLite file or PostgreSQL schema
_folder: Path | None = None


def built_once(engine: Engine, key: Hashable, build: Callable[[], None]) -> None:
    """Run `build` against the empty database behind `engine`, or copy what it wrote the
    first time it ran under `key` in this test run."""
    key = (engine.dialect.name, key)
    with engine.connect() as conn:
        empty = conn.execute(select(func.count()).select_from(Member)).scalar() == 0
    if not empty:
        build()
        return
    if key in _taken:
        _restore(engine, _taken[key])
        return
    build()
    _taken[key] = _take(engine)


def _take(engine: Engine) -> str:
    if engine.dialect.name == "sqlite":
        global _folder
        if _folder is None:
            _folder = Path(tempfile.mkdtemp(prefix="djbot-snapshots-"))
            atexit.register(shutil.rmtree, _folder, True)
        path = str(_folder / f"{uuid.uuid4().hex}.db")
        with engine.connect() as conn, closing(sqlite3.connect(path)) as copy:
            conn.connection.dbapi_connection.backup(copy)  # type: ignore[union-attr]
        return path
    schema = f"djbot_test_snapshot_{uuid.uuid4().hex[:12]}"
    with engine.begin() as conn:
        source = conn.exec_driver_sql("SELECT current_schema()").scalar()
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        for table in SQLModel.metadata.sorted_tables:
            conn.exec_driver_sql(f'CREATE TABLE "{schema}"."{table.name}" AS '
                                 f'SELECT * FROM "{source}"."{table.name}"')
    atexit.register(_drop_schema, engine.url, schema)
    return schema


def _restore(engine: Engine, taken: str) -> None:
    if engine.dialect.name == "sqlite":
        with closing(sqlite3.connect(taken)) as copy, engine.connect() as conn:
            copy.backup(conn.connection.dbapi_connection)  # type: ignore[arg-type]
        return
    with engine.begin() as conn:
        target = conn.exec_driver_sql("SELECT current_schema()").scalar()
        # What the runtime wrote when it started (its rule set) is in the copy too.
        conn.exec_driver_sql("TRUNCATE " + ", ".join(
            f'"{target}"."{table.name}"' for table in SQLModel.metadata.sorted_tables))
        for table in SQLModel.metadata.sorted_tables:  # parents before children
            conn.exec_driver_sql(f'INSERT INTO "{target}"."{table.name}" '
                                 f'SELECT * FROM "{taken}"."{table.name}"')
        # The ids come from sequences, which the copy did not advance.
        for table, column in conn.exec_driver_sql(
                "SELECT table_name, column_name FROM information_schema.columns "
                "WHERE table_schema = current_schema() AND column_default LIKE 'nextval%%'"):
            conn.exec_driver_sql(
                f'SELECT setval(pg_get_serial_sequence(\'"{target}"."{table}"\', \'{column}\'), '
                f'COALESCE((SELECT max("{column}") FROM "{target}"."{table}"), 0) + 1, false)')


def _drop_schema(url, schema: str) -> None:
    import psycopg

    try:
        drop_schema(url, schema)
    except psycopg.Error:
        pass  # the server went first; the schema goes with the test database
