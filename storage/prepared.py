"""A Core statement compiled once per dialect and run on the driver's cursor.

For the busiest path only (签到, storage.checkin). Executing a cached Core statement
through a Connection still cost about 60 µs of Python per statement here (parameter
construction, the execution context, the result wrapper) against 15 µs in SQLite itself.
This keeps what matters of Core: the SQL is written and compiled by SQLAlchemy for the
connection's dialect, values go through the column types' own bind and result processors
(UTC datetimes, JSON), driver errors become SQLAlchemy's exceptions (an IntegrityError is
still an IntegrityError), and the engine's before_cursor_execute listeners still see every
statement, and what one registered with retval=True returns is what is sent (tests
count them; a tracer comments them). An engine with a listener the cursor
would hide a statement from (after_cursor_execute, a tracer's end of a span; handle_error;
…: straight_to_cursor) has the statement run by SQLAlchemy instead, and the quick lanes
give way to the general path. It runs on the connection's open transaction, which
SQLAlchemy commits.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

from sqlalchemy.engine import Connection, Dialect, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import Executable


@dataclass(frozen=True)
class _Compiled:
    sql: str
    # The bind names in the order the driver wants them (qmark), or None (named styles).
    order: tuple[str, ...] | None
    binds: tuple[tuple[str, Callable[[Any], Any]], ...]  # names whose type converts the value
    fixed: dict[str, Any]  # the values written into the statement (status == "open")
    # The result columns whose type converts the value, by position (most need nothing).
    results: tuple[tuple[int, Callable[[Any], Any]], ...]
    returns_rows: bool  # a SELECT, or RETURNING (asking the cursor costs psycopg a lot)
    returning: tuple[str, ...]  # the names of an INSERT's RETURNING columns
    # The values in `order`, taken from the bound dict in one call (qmark): a generator over
    # a dozen names was a sixth of a statement's Python.
    _in_order: Callable[[dict[str, Any]], tuple] | None = field(init=False, repr=False)

    def __post_init__(self) -> None:
        order = self.order
        if order is None:
            in_order = None
        elif len(order) == 1:  # itemgetter of one name gives the value, not a tuple
            name = order[0]
            in_order = lambda values: (values[name],)  # noqa: E731
        elif not order:
            in_order = lambda values: ()  # noqa: E731
        else:
            in_order = itemgetter(*order)
        object.__setattr__(self, "_in_order", in_order)

    def bound(self, params: dict[str, Any]) -> dict[str, Any]:
        """The statement's values by bind name, each converted by its column's type."""
        values = {**self.fixed, **params}
        for name, processor in self.binds:
            if name in values:
                values[name] = processor(values[name])
        return values

    def parameters(self, params: dict[str, Any]) -> Any:
        """The values as the driver takes them: in order (qmark), or by name."""
        values = self.bound(params)
        return values if self._in_order is None else self._in_order(values)

    def convert(self, found: Sequence[Sequence[Any]]) -> list[tuple]:
        """The driver's rows with each value converted by its column's type."""
        if not self.results:
            return [tuple(row) for row in found]
        rows = []
        for row in found:
            values = list(row)
            for index, processor in self.results:
                values[index] = processor(values[index])
            rows.append(tuple(values))
        return rows


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
        columns = (getattr(statement, "selected_columns", ())
                   or getattr(statement, "_returning", ()))
        processors = (column.type.dialect_impl(dialect).result_processor(dialect, None)
                      for column in columns)
        results = tuple((index, processor) for index, processor in enumerate(processors)
                        if processor is not None)
        order = tuple(compiled.positiontup) if compiled.positional else None
        fixed = {name: value for name, value in compiled.construct_params(_check=False).items()
                 if value is not None}
        returns_rows = bool(getattr(statement, "selected_columns", ())
                            or getattr(statement, "_returning", ()))
        returning = tuple(column.name for column in getattr(statement, "_returning", ()))
        return _Compiled(compiled.string, order, tuple(binds), fixed, results, returns_rows,
                         returning)

    def rows(self, conn: Connection, params: dict[str, Any], *,
             direct: bool | None = None) -> list[tuple]:
        """Execute with `params` (by bind name) and return the rows, values converted.
        `direct`: straight_to_cursor(conn.engine) as the caller has just asked it (None:
        asked here)."""
        compiled = self._for(conn.dialect)
        return compiled.convert(_execute(conn, compiled.sql, compiled.parameters(params),
                                         compiled.returns_rows, direct))

    def bind(self, dialect: Dialect, params: dict[str, Any]) -> tuple[str, Any]:
        """The SQL and its parameters as the dialect's driver takes them (for a caller that
        sends them itself: bot.pglane, on an async connection)."""
        compiled = self._for(dialect)
        return compiled.sql, compiled.parameters(params)

    def convert(self, dialect: Dialect, found: Sequence[Sequence[Any]]) -> list[tuple]:
        """The driver's rows with each value converted by its column's type."""
        return self._for(dialect).convert(found)

    def first(self, conn: Connection, params: dict[str, Any], *,
              direct: bool | None = None) -> tuple | None:
        rows = self.rows(conn, params, direct=direct)
        return rows[0] if rows else None


def straight_to_cursor(engine: Engine) -> bool:
    """Whether a statement may go straight to the driver's cursor: no listener on `engine`
    would miss it there. before_cursor_execute's are called (_execute), and begin and
    commit are the connection's own; the rest of a statement's events SQLAlchemy alone
    fires. Read from the engine's public event dispatch, as event.listen fills it."""
    events, dialect = engine.dispatch, engine.dialect.dispatch
    return not (events.before_execute or events.after_execute or events.after_cursor_execute
                or dialect.do_execute or dialect.handle_error)


def shown(listeners: Any, conn: Connection | None, cursor: Any, sql: str,
          parameters: Any) -> tuple[str, Any]:
    """The statement and parameters to send, once shown to before_cursor_execute's
    `listeners` as SQLAlchemy shows them: one registered with retval=True (a tracer's
    comment carrying the trace's id) returns them changed, and what it returns is sent."""
    for listen in listeners:
        sql, parameters = listen(conn, cursor, sql, parameters, None, False)
    return sql, parameters


def _execute(conn: Connection, sql: str, parameters: Any, returns_rows: bool,
             direct: bool | None = None) -> list:
    """One statement on the driver's cursor, inside the connection's open transaction; or,
    with a listener the cursor would hide it from, by SQLAlchemy, which shows it to all."""
    if not (straight_to_cursor(conn.engine) if direct is None else direct):
        result = conn.exec_driver_sql(sql, parameters)
        return result.fetchall() if returns_rows else []
    dbapi_connection = conn.connection.dbapi_connection
    cursor = dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        # The engine's listeners asked first: the connection's joined dispatch, asked
        # each time, was a sixth of this function's Python.
        if conn.engine.dispatch.before_cursor_execute:
            sql, parameters = shown(conn.dispatch.before_cursor_execute, conn, cursor, sql,
                                    parameters)
        try:
            cursor.execute(sql, parameters)
            return cursor.fetchall() if returns_rows else []
        except conn.dialect.loaded_dbapi.Error as exc:
            raise DBAPIError.instance(sql, parameters, exc, conn.dialect.loaded_dbapi.Error,
                                      hide_parameters=conn.engine.hide_parameters,
                                      dialect=conn.dialect) from exc
    finally:
        cursor.close()


@dataclass(frozen=True, slots=True)
class Returned:
    """A value one write takes from an earlier write of the same Writes: the first column
    of that write's RETURNING row (None when it wrote no row). On SQLite `convert` turns it
    into the column's value; PostgreSQL converts it by the column's own assignment cast."""

    write: int
    convert: Callable[[Any], Any] = str


# A bind in a statement compiled for psycopg (pyformat); a literal % is written %%.
_BIND = re.compile(r"(?<!%)%\((\w+)\)s")


class Writes:
    """The INSERTs of one message whose rows nobody reads, sent together when it is done.

    On PostgreSQL each statement is a round trip: a wait of this thread and a wake-up of the
    server's process, which on two cores cost more than the INSERT itself. So a check-in's
    attendance row, its ledger entry and the message's record (and for DingTalk the
    callback's header pair and a reply's outbox row) go as one statement, each INSERT a
    data-modifying WITH: PostgreSQL runs them all to completion in one snapshot, and a
    unique key any of them breaks fails the whole statement, as it failed the transaction
    before. A later INSERT reads an earlier one's RETURNING (the ledger entry's source is the
    attendance row's id). SQLite has no INSERT inside WITH: there they run one by one, in the
    order they were added.
    """

    def __init__(self, conn: Connection | None, *, dialect: Dialect | None = None,
                 direct: bool | None = None) -> None:
        """On `conn`; or, with no connection, for `dialect` (then `statement` gives what
        would be sent, and the caller sends it: bot.pglane). `direct`: as Prepared.rows."""
        self.conn = conn
        self.direct = direct
        self.dialect = dialect if dialect is not None else conn.dialect  # type: ignore[union-attr]
        # (statement, its plain values, its Returned values by bind name)
        self._writes: list[tuple[Prepared, dict[str, Any], dict[str, Returned]]] = []

    def add(self, statement: Prepared, params: dict[str, Any], *,
            taken: Sequence[str] = ()) -> int:
        """Queue an INSERT with `params`, of which those named in `taken` are Returned;
        its number in this batch."""
        returned: dict[str, Returned] = {}
        if taken:
            returned = {name: params[name] for name in taken}
            params = {name: value for name, value in params.items() if name not in returned}
        self._writes.append((statement, params, returned))
        return len(self._writes) - 1

    def flush(self) -> None:
        """Execute what is queued, in the connection's transaction (or, on PostgreSQL, as
        the one statement that needs none: Dispatcher._quick_alone)."""
        assert self.conn is not None, "no connection: send Writes.statement() yourself"
        writes, self._writes = self._writes, []
        if len(writes) > 1 and self.dialect.name == "postgresql":
            _execute(self.conn, *self._as_one(writes), False, self.direct)
            return
        returned: list[list[tuple]] = []
        for statement, params, taken in writes:
            for name, value in taken.items():
                rows = returned[value.write]
                params = {**params, name: value.convert(rows[0][0]) if rows else None}
            returned.append(statement.rows(self.conn, params, direct=self.direct))

    def statement(self) -> tuple[str, Any]:
        """PostgreSQL: what is queued as the one statement flush would send, with its
        parameters, and nothing queued any more."""
        if self.dialect.name != "postgresql":
            raise ValueError(f"{self.dialect.name}: the writes go one by one (flush)")
        writes, self._writes = self._writes, []
        if len(writes) == 1 and not writes[0][2]:
            return writes[0][0].bind(self.dialect, writes[0][1])
        return self._as_one(writes)

    def _as_one(self, writes: list[tuple[Prepared, dict[str, Any], dict[str, Returned]]]
                ) -> tuple[str, dict[str, Any]]:
        dialect = self.dialect
        shape = tuple((statement, tuple(sorted((name, value.write)
                                               for name, value in taken.items())))
                      for statement, _, taken in writes)
        sql = _COMPOSED.get((dialect.name, shape))
        if sql is None:
            sql = _COMPOSED[(dialect.name, shape)] = _compose(dialect, shape)
        parameters: dict[str, Any] = {}
        for index, (statement, params, _) in enumerate(writes):
            for name, value in statement._for(dialect).bound(params).items():
                parameters[f"w{index}_{name}"] = value
        return sql, parameters


_COMPOSED: dict[tuple, str] = {}


def _compose(dialect: Dialect, shape: tuple) -> str:
    """WITH w0 AS (INSERT …), w1 AS (INSERT …) SELECT 1, each write's binds renamed w<i>_…
    and a Returned value read from its write's CTE."""
    parts = []
    for index, (statement, refs) in enumerate(shape):
        compiled = statement._for(dialect)
        if compiled.order is not None:
            raise ValueError(f"{dialect.name}: only named parameters can be combined")
        takes = dict(refs)

        def bind(match: re.Match, index: int = index, takes: dict = takes) -> str:
            name = match.group(1)
            if name in takes:
                source = takes[name]
                column = shape[source][0]._for(dialect).returning[0]
                return f"(SELECT {column} FROM w{source})"
            return f"%(w{index}_{name})s"

        parts.append(f"w{index} AS ({_BIND.sub(bind, compiled.sql)})")
    return "WITH " + ",\n".join(parts) + "\nSELECT 1"
