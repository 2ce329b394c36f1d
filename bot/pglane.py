"""PostgreSQL: the quick lane's check-ins read and written on the event loop, in pipelines.

Through the writer threads a check-in on PostgreSQL was two round trips in a thread (its
look-up, then its writes as one statement: storage.prepared.Writes), and the threads passed
the interpreter lock back and forth while psycopg sent and waited: half of a callback's CPU
(docs/benchmarks.md). Here the event loop sends them itself, on a few async connections of
its own in pipeline mode, for the messages that arrived in one turn of the loop together:

1. their look-ups, in one round trip (autocommit: READ COMMITTED reads committed rows per
   statement anyway, as the threads' look-ups did);
2. each answer from its row, in Python (the same Dispatcher.quick_answer as the threads');
3. their writes, one statement a message, in one transaction and one round trip, and each
   message answered only after that COMMIT.

Nothing is lost or doubled by it: a message its lane declines, and every message of a turn
whose writes fail (a unique key another delivery or replica won, a retried delivery, a lost
connection), goes to the writer threads, which handle it as before, from the start; a
failed transaction wrote nothing. The writer threads still do everything else.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from bot.writer import BATCH, forward, on_each_loop

log = logging.getLogger("djbot.pglane")

# Connections per event loop: a turn's batch in flight on each. Two round trips a batch, so
# a few in flight keep the loop busy while the server works; more only wait for the cores.
CONNECTIONS = 4


@dataclass(eq=False)
class _Item:
    message: Any
    future: asyncio.Future
    context: contextvars.Context
    read: tuple[str, Any] | None = None  # the lane's look-up as (sql, params)
    plan: Any = None
    answer: Any = None  # (answered, sql, params)
    handed: bool = False  # to the writer threads


@dataclass(eq=False)
class _LoopState:
    pending: list[_Item] = field(default_factory=list)
    idle: list[Any] = field(default_factory=list)  # psycopg.AsyncConnection
    opened: int = 0  # open or opening
    scheduled: bool = False
    tasks: set[asyncio.Task] = field(default_factory=set)


class PipelineLane:
    """The lane, given as functions of a message (each run in the message's context):

    - `plan(message)`: its look-up as (sql, params) and what `answer` needs, as a pair; or
      None: the writer threads take the message;
    - `answer(message, plan, row)`: from the look-up's row (None: no row), what `finish`
      needs and the message's write, as (answered, sql, params); or None: declined;
    - `finish(message, answered)`: once committed, the message's result;
    - `fallback(message)`: a future of the writer threads' result;
    - `observe(sql, params)`: shown every statement before it is sent, returns what to
      send (the engine's listeners: the tests count statements, a tracer may comment them).

    `connect_args`: psycopg.AsyncConnection.connect's, as the engine's dialect makes them
    (its adapters included, so values go and come back as on the engine's connections).
    """

    def __init__(self, *, connect_args: dict[str, Any], plan: Callable[[Any], Any],
                 answer: Callable[[Any, Any, tuple | None], Any],
                 finish: Callable[[Any, Any], Any],
                 fallback: Callable[[Any], asyncio.Future],
                 observe: Callable[[str, Any], tuple[str, Any]] | None = None,
                 connections: int = CONNECTIONS, batch: int = BATCH) -> None:
        self.connect_args = connect_args
        self.plan = plan
        self.answer = answer
        self.finish = finish
        self.fallback = fallback
        self.observe = observe
        self.connections = connections
        self.batch = batch
        self._loops: dict[asyncio.AbstractEventLoop, _LoopState] = {}

    def enqueue(self, message: Any) -> asyncio.Future:
        """A future that settles once the message is committed, with the result."""
        loop = asyncio.get_running_loop()
        state = self._loops.get(loop)
        if state is None:
            for gone in [other for other in self._loops if other.is_closed()]:
                self._forget(gone)  # a test's or a restarted server's loop
            state = self._loops[loop] = _LoopState()
        future = loop.create_future()
        state.pending.append(_Item(message, future, contextvars.copy_context()))
        if not state.scheduled:
            state.scheduled = True
            loop.call_soon(self._flush, loop, state)
        return future

    def close(self) -> None:
        """Close the loops' idle connections (the service's shutdown); one in flight is
        closed when its turn ends. A loop that runs in another thread closes its own,
        between two of its turns."""
        on_each_loop(list(self._loops), self._forget)

    def _forget(self, loop: asyncio.AbstractEventLoop) -> None:
        state = self._loops.pop(loop, None)
        if state is None:
            return
        for conn in state.idle:
            conn.pgconn.finish()  # no await: the loop may be gone
        state.idle.clear()

    def _flush(self, loop: asyncio.AbstractEventLoop, state: _LoopState) -> None:
        state.scheduled = False
        while state.pending and (state.idle or state.opened < self.connections):
            chunk, state.pending[:] = state.pending[:self.batch], state.pending[self.batch:]
            if state.idle:
                conn = state.idle.pop()
            else:
                conn = None
                state.opened += 1
            task = loop.create_task(self._run(loop, state, conn, chunk))
            state.tasks.add(task)
            task.add_done_callback(state.tasks.discard)

    async def _run(self, loop: asyncio.AbstractEventLoop, state: _LoopState, conn: Any,
                   chunk: list[_Item]) -> None:
        planned = []
        for item in chunk:
            try:
                planned_one = item.context.run(self.plan, item.message)
            except Exception:  # the writer threads try it from the start, and fail it alone
                planned_one = None
            if planned_one is None:
                self._to_writer(item)
            else:
                item.read, item.plan = planned_one
                planned.append(item)
        answered: list[_Item] = []
        try:
            if planned:
                if conn is None:
                    conn = await self._connect()
                rows = await self._read(conn, [item.read for item in planned])
                for item, row in zip(planned, rows, strict=True):
                    item.answer = item.context.run(self.answer, item.message, item.plan, row)
                    if item.answer is None:
                        self._to_writer(item)
                    else:
                        answered.append(item)
                if answered:
                    await self._write(conn, [item.answer[1:] for item in answered])
        except BaseException as exc:  # the writer threads handle each again, from the start
            # A COMMIT whose answer was lost may have been made: then the writer threads'
            # try fails on the message's record and answers it from the stored reply.
            log.info("pipeline of %d gave way (%s: %s); the writer threads take it",
                     len(planned), type(exc).__name__, _cause(exc))
            for item in planned:
                if not item.handed:
                    self._to_writer(item)
            answered = []
            if not isinstance(exc, Exception):  # cancelled: the loop is stopping
                raise
        finally:
            self._give_back(loop, state, conn)
        for item in answered:
            if item.future.done():  # the caller was cancelled; the message stays committed
                continue
            try:
                item.future.set_result(item.context.run(self.finish, item.message,
                                                        item.answer[0]))
            except Exception as exc:  # noqa: BLE001 - handed to the message's caller
                item.future.set_exception(exc)

    async def _connect(self) -> Any:
        import psycopg

        return await psycopg.AsyncConnection.connect(**self.connect_args, autocommit=True)

    async def _read(self, conn: Any, reads: list[tuple[str, Any]]) -> list[tuple | None]:
        cursors = []
        async with conn.pipeline():
            for sql, params in reads:
                if self.observe is not None:
                    sql, params = self.observe(sql, params)
                cursor = conn.cursor()
                await cursor.execute(sql, params)
                cursors.append(cursor)
        return [await cursor.fetchone() for cursor in cursors]

    async def _write(self, conn: Any, writes: list[tuple[str, Any]]) -> None:
        # Leaving the pipeline waits for every result, the COMMIT's included: only then
        # is anybody answered.
        async with conn.pipeline(), conn.transaction():
            for sql, params in writes:
                if self.observe is not None:
                    sql, params = self.observe(sql, params)
                await conn.execute(sql, params)

    def _give_back(self, loop: asyncio.AbstractEventLoop, state: _LoopState,
                   conn: Any) -> None:
        if conn is None or conn.closed or conn.broken or self._loops.get(loop) is not state:
            state.opened -= 1
            if conn is not None and not conn.closed:
                conn.pgconn.finish()
        else:
            state.idle.append(conn)
        if state.pending and not state.scheduled and not loop.is_closed():
            state.scheduled = True
            loop.call_soon(self._flush, loop, state)

    def _to_writer(self, item: _Item) -> None:
        item.handed = True
        later = item.context.run(self.fallback, item.message)
        later.add_done_callback(partial(forward, item.future))


def _cause(exc: BaseException) -> str:
    """The server's own line for what failed, without its DETAIL, which quotes the row it
    failed on (a stored answer naming the member, their account)."""
    diag = getattr(exc, "diag", None)
    if diag is not None:
        return str(diag.message_primary or "")
    return str(exc).split("\n", 1)[0]
