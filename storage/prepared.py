"""A Core statement compiled once per dialect and run on the driver's cursor.

For the busiest path only (签到, storage.checkin). Executing a cached Core statement
through a Connection still cost about 60 µs of Python per statement here (parameter
construction, the execution context, the result wrapper) against 15 µs in SQLite itself.
This keeps what matters of Core: the SQL is written and compiled by SQLAlchemy for the
connection's dialect, values go through the column types' own bind and result processors
(UTC datetimes, JSON), driver errors become SQLAlchemy's exceptions (an IntegrityError is
still an IntegrityError), and the engine's before_cursor_execute listeners still see every
statement (tests count them; tracing hooks there). It runs on the connection's open
transaction, which SQLAlchemy commits.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import Executable


@dataclass(frozen=True)
class _Compiled:
    sql: str
    # The bind names in the order the driver wants them (qmark), or None (named styles).
    order: tuple[str, ...] | None
    binds: tuple[tuple[str, Callable[[Any], Any]], ...]  # names whose type converts the value
    fixed: dict[str, Any]  # the values written into the statement (status == "open")
    results: tuple[Callable[[Any], Any] | None, ...]
    returns_rows: bool  # a SELECT, or RETURNING (asking the cursor costs psycopg a lot)


class Prepared:
    def __init__(self, statement: Executable | Callable[[str], Executable], *,
                 keys: Sequence[str] | None = None) -> None:
        """`statement`, or a function of the dialect's name that builds it (an INSERT …
        ON CONFLICT is written per dialect); `keys`: the columns an INSERT is given
        (compiled for exactly those)."""
        self.build = statement if callable(statement) else (lambda _dialect: statement)
        self.keys = list(keys) if keys is not None else None
        self._compiled: dict[str, _Compiled] = {}

    def _for(self, dialect: Dialect) -> _Compiled:
        compiled = self._compiled.get(dialect.name)
        if compiled is None:
            compiled = self._compiled[dialect.name] = self._compile(dialect)
        return compiled

    def _compile(self, dialect: Dialect) -> _Compiled:
        statement = self.build(dialect.name)
        compiled = statement.compile(dialect=dialect, column_keys=self.keys)
        binds = []
        for bind in compiled.binds.values():
            processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if processor is not None:
                binds.append((compiled.bind_names[bind], processor))
        results = tuple(
            column.type.dialect_impl(dialect).result_processor(dialect, None)
            for column in getattr(statement, "selected_columns", ()))
        if not results and getattr(statement, "_returning", ()):
            results = tuple(
                column.type.dialect_impl(dialect).result_processor(dialect, None)
                for column in statement._returning)  # type: ignore[attr-defined]
        order = tuple(compiled.positiontup) if compiled.positional else None
        fixed = {name: value for name, value in compiled.construct_params(_check=False).items()
                 if value is not None}
        returns_rows = bool(getattr(statement, "selected_columns", ())
                            or getattr(statement, "_returning", ()))
        return _Compiled(compiled.string, order, tuple(binds), fixed, results, returns_rows)

    def rows(self, conn: Connection, params: dict[str, Any]) -> list[tuple]:
        """Execute with `params` (by bind name) and return the rows, values converted."""
        compiled = self._for(conn.dialect)
        values = {**compiled.fixed, **params}
        for name, processor in compiled.binds:
            if name in values:
                values[name] = processor(values[name])
        parameters: Any = values if compiled.order is None else tuple(
            values[name] for name in compiled.order)
        dbapi_connection = conn.connection.dbapi_connection
        cursor = dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            if conn.dispatch.before_cursor_execute:
                conn.dispatch.before_cursor_execute(conn, cursor, compiled.sql, parameters,
                                                    None, False)
            try:
                cursor.execute(compiled.sql, parameters)
                found = cursor.fetchall() if compiled.returns_rows else []
            except conn.dialect.loaded_dbapi.Error as exc:
                raise DBAPIError.instance(compiled.sql, parameters, exc,
                                          conn.dialect.loaded_dbapi.Error,
                                          dialect=conn.dialect) from exc
        finally:
            cursor.close()
        if not any(compiled.results):
            return [tuple(row) for row in found]
        processors = compiled.results
        return [tuple(value if p is None else p(value) for p, value in zip(processors, row))
                for row in found]

    def first(self, conn: Connection, params: dict[str, Any]) -> tuple | None:
        rows = self.rows(conn, params)
        return rows[0] if rows else None
