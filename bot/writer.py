"""The threads that handle a service's messages, fed from one queue.

The database is synchronous, so messages are handled off the event loop. A thread hop per
message (asyncio.to_thread) cost about as much CPU as a quick-lane check-in itself, and on
SQLite, which has one writer, threads beyond the first only met its lock. So each writer
thread takes whatever has queued up (up to `batch` messages) and hands it to the
dispatcher at once: check-ins that arrived together share one transaction and one
COMMIT (group commit), and each caller is answered only after the commit that holds its
message. Idle threads end after `idle_seconds`; the next message starts one again.

Other writes that follow a message (a reply queued in the outbox) go through the same
queue as jobs (`call`), each run alone: on SQLite a second writing thread would only
wait for the writer's lock, and a burst piled such threads up by the hundred.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import queue
import threading
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

log = logging.getLogger("djbot.writer")

# A bureau's burst is a few hundred check-ins a minute; 32 in a transaction keeps one
# rolled-back batch (and its one-by-one retry) small.
BATCH = 32
IDLE_SECONDS = 5.0
# SQLite copies its write-ahead log back into the database file (a checkpoint, with an
# fsync) every 1,000 pages, in whichever connection commits then. On the event loop that
# held every request up for milliseconds (the burst p99 went from 3 to 7 ms), so the loop's
# connection does none: every CHECKPOINT_EVERY check-ins it writes, a worker thread does.
CHECKPOINT_EVERY = 500
# A write lock another connection holds: the loop tries again this often, this many times,
# before the writer thread waits for it.
LOCK_RETRY_SECONDS = 0.001
LOCK_RETRIES = 20

_STOP = object()


class MessageWriter:
    def __init__(self, handle_batch: Callable[[list[Any], list[contextvars.Context]],
                                              Sequence[Any]], *, threads: int,
                 batch: int = BATCH, idle_seconds: float = IDLE_SECONDS) -> None:
        self.handle_batch = handle_batch
        self.threads = threads
        self.batch = batch
        self.idle_seconds = idle_seconds
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._running: list[threading.Thread] = []
        self._outstanding = 0  # queued or being handled, not yet settled

    @property
    def busy(self) -> bool:
        """Something is queued or being handled (read without the lock: a hint)."""
        return self._outstanding > 0

    def enqueue(self, message: Any) -> asyncio.Future:
        """Queue the message; the future (of the running loop) settles once it is handled
        (and committed) with its result, or its exception if it failed."""
        return self._put(message, job=False)

    def call(self, job: Callable[[], Any]) -> asyncio.Future:
        """Queue a job (a write of its own, in its own transaction); its result as a future."""
        return self._put(job, job=True)

    def _put(self, work: Any, *, job: bool) -> asyncio.Future:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        # The caller's context (its request id for the log) goes with the message.
        context = contextvars.copy_context()
        with self._lock:  # a thread about to end checks the queue under the same lock
            self._outstanding += 1
            self._queue.put((work, future, loop, context, job))
            if len(self._running) < self.threads:
                thread = threading.Thread(target=self._run, name="djbot-writer", daemon=True)
                self._running.append(thread)
                thread.start()
        return future

    def close(self, timeout: float = 30.0) -> None:
        """Finish what is queued, then stop the threads (a later submit starts them again)."""
        with self._lock:
            running = list(self._running)
            for _ in running:
                self._queue.put(_STOP)
        for thread in running:
            thread.join(timeout)

    def _run(self) -> None:
        me = threading.current_thread()
        while True:
            try:
                item = self._queue.get(timeout=self.idle_seconds)
            except queue.Empty:
                with self._lock:
                    if self._queue.empty():
                        self._running.remove(me)
                        return
                continue
            stop = item is _STOP
            items = [] if stop else [item]
            while not stop and len(items) < self.batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is _STOP:
                    stop = True
                else:
                    items.append(item)
            if items:
                self._handle(items)
            if stop:
                with self._lock:
                    self._running.remove(me)
                return

    def _handle(self, items: list[tuple[Any, asyncio.Future, asyncio.AbstractEventLoop,
                                        contextvars.Context, bool]]) -> None:
        messages = [item for item in items if not item[4]]
        settled: list[tuple[Any, Any]] = []
        if messages:
            try:
                results = list(self.handle_batch([item[0] for item in messages],
                                                 [item[3] for item in messages]))
            except BaseException as exc:  # each caller gets the failure
                log.exception("handling %d messages failed", len(messages))
                results = [exc] * len(messages)
            settled += zip(messages, results, strict=True)
        for item in items:
            if item[4]:
                try:
                    settled.append((item, item[3].run(item[0])))
                except Exception as exc:  # noqa: BLE001 - handed to the job's caller
                    settled.append((item, exc))
        with self._lock:
            self._outstanding -= len(items)
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future, Any]]] = {}
        for (_, future, loop, _, _), result in settled:
            by_loop.setdefault(loop, []).append((future, result))
        for loop, settled in by_loop.items():
            try:  # one wake-up of the event loop for the whole batch
                loop.call_soon_threadsafe(_settle, settled)
            except RuntimeError:  # the loop has closed: nobody is waiting any more
                pass


def _settle(settled: list[tuple[asyncio.Future, Any]]) -> None:
    for future, result in settled:
        if future.done():  # the caller was cancelled; the work stays committed
            continue
        if isinstance(result, BaseException):
            future.set_exception(result)
        else:
            future.set_result(result)


class LockHeld(Exception):
    """Another connection holds SQLite's write lock: the batch did nothing."""


class LoopLane:
    """SQLite: the quick lane's check-ins written on the event loop, a loop turn's together.

    SQLite writes one transaction at a time whoever asks, and a quick-lane check-in is a
    few statements of microseconds each: handing it to the writer thread and back cost
    about as much again (two thread wake-ups, and the interpreter lock passed back and
    forth while the event loop is busy). So on SQLite the event loop runs the quick lane
    itself, as the one-commit baseline does: the check-ins that arrived in one turn of the
    loop are written at the end of it, in one transaction, and answered after its COMMIT.

    It never waits on the event loop. Each loop keeps a connection of its own (`connect`),
    so it never waits for the pool either, and that connection does not wait for the write
    lock: `try_now` (Dispatcher.quick_now) gives up at once when another writer holds it
    (the writer thread, the scheduler, a command in a shell), the loop tries again a
    millisecond later, up to LOCK_RETRIES times, and then the messages go to the writer
    thread, which waits. So do messages the quick lane declines and any batch that fails,
    and every message while the writer thread has work (DingTalk's replies queued in the
    outbox, say): it holds the lock then, and the attempt would only be rolled back.
    Nor does it copy the write-ahead log back into the database on the loop: that is done
    in a worker thread (`checkpoint`) every `checkpoint_every` messages it commits, and the
    messages that arrive meanwhile wait for it to end.
    """

    def __init__(self, try_now: Callable[[Any, list[Any], list[contextvars.Context]],
                                         Sequence[Any | None]],
                 writer: Callable[[], MessageWriter], writer_busy: Callable[[], bool], *,
                 connect: Callable[[], Any], release: Callable[[Any], None],
                 checkpoint: Callable[[], None], batch: int = BATCH,
                 checkpoint_every: int = CHECKPOINT_EVERY) -> None:
        self.try_now = try_now
        self.writer = writer
        self.writer_busy = writer_busy
        self.connect = connect
        self.release = release
        self.checkpoint = checkpoint
        self.batch = batch
        self.checkpoint_every = checkpoint_every
        self._written = 0  # messages committed on the loop since the last checkpoint began
        self._checkpointing: asyncio.Future | None = None
        self._held: set[asyncio.AbstractEventLoop] = set()  # loops whose messages wait for it
        self._lock_tries: dict[asyncio.AbstractEventLoop, int] = {}
        self._pending: dict[asyncio.AbstractEventLoop, list[tuple[Any, asyncio.Future,
                                                                  contextvars.Context]]] = {}
        self._connections: dict[asyncio.AbstractEventLoop, Any] = {}

    def enqueue(self, message: Any) -> asyncio.Future:
        """Like MessageWriter.enqueue: a future that settles once the message is committed."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        pending = self._pending.setdefault(loop, [])
        pending.append((message, future, contextvars.copy_context()))
        if len(pending) == 1:
            loop.call_soon(self._flush, loop)
        return future

    def close(self) -> None:
        """Give the loops' connections back (the service's shutdown). A loop that still
        runs in another thread may be writing on its connection right now: it gives its
        own back, between two of its turns."""
        on_each_loop(list(self._connections), self._release)

    def _connection(self, loop: asyncio.AbstractEventLoop) -> Any:
        for gone in [other for other in self._connections if other.is_closed()]:
            self._release(gone)  # a test's or a restarted server's loop
        conn = self._connections.get(loop)
        if conn is None or conn.closed or conn.invalidated:
            if conn is not None:
                self._release(loop)
            conn = self._connections[loop] = self.connect()
        return conn

    def _release(self, loop: asyncio.AbstractEventLoop) -> None:
        conn = self._connections.pop(loop, None)
        if conn is not None:
            try:
                self.release(conn)
            except Exception:  # an invalidated connection: nothing to give back
                log.debug("loop connection not released cleanly", exc_info=True)

    def _flush(self, loop: asyncio.AbstractEventLoop) -> None:
        pending = self._pending.pop(loop, [])
        while pending:
            if self._checkpointing is not None:
                # It holds writers off while it copies the log: the messages wait for it
                # here, and are written when it ends (_checkpointed), rather than in the
                # writer thread, whose wait for the lock sleeps in steps of milliseconds.
                self._put_back(loop, pending)
                self._held.add(loop)
                return
            chunk, pending = pending[:self.batch], pending[self.batch:]
            results: Sequence[Any | None] = [None] * len(chunk)
            if not self.writer_busy():
                try:
                    results = self.try_now(self._connection(loop), [item[0] for item in chunk],
                                           [item[2] for item in chunk])
                except LockHeld:
                    # Held for a moment, usually (another thread's write, a checkpoint):
                    # try again a millisecond later, a few times, before the writer thread
                    # waits for it (SQLite's wait sleeps 1, 2, 5, 10 … ms between tries).
                    tries = self._lock_tries.get(loop, 0) + 1
                    if tries <= LOCK_RETRIES:
                        self._lock_tries[loop] = tries
                        self._put_back(loop, chunk + pending)
                        loop.call_later(LOCK_RETRY_SECONDS, self._flush, loop)
                        return
                except Exception:  # a bug, or no connection: the writer thread takes them
                    log.exception("the event loop's batch failed; handing it to the writer")
            self._lock_tries.pop(loop, None)
            self._written += sum(result is not None for result in results)
            if self._written >= self.checkpoint_every and self._checkpointing is None:
                self._start_checkpoint(loop)
            for (message, future, context), result in zip(chunk, results, strict=True):
                if result is None:  # handled (and committed) there, even if nobody waits
                    later = context.run(self.writer().enqueue, message)
                    later.add_done_callback(partial(forward, future))
                elif not future.done():  # done: the caller was cancelled
                    future.set_result(result)

    def _put_back(self, loop: asyncio.AbstractEventLoop, items: list) -> None:
        """Messages not written yet go back to the head of the loop's queue, in order; while
        the queue is not empty, enqueue schedules no flush: the caller schedules one."""
        self._pending[loop] = items + self._pending.get(loop, [])

    def _start_checkpoint(self, loop: asyncio.AbstractEventLoop) -> None:
        self._written = 0
        self._checkpointing = loop.run_in_executor(None, self.checkpoint)
        self._checkpointing.add_done_callback(self._checkpointed)

    def _checkpointed(self, done: asyncio.Future) -> None:
        self._checkpointing = None
        if not done.cancelled() and done.exception() is not None:
            log.warning("WAL checkpoint failed: %s", done.exception())
        held, self._held = self._held, set()
        for loop in held:
            if not loop.is_closed():
                loop.call_soon_threadsafe(self._flush, loop)


def on_each_loop(loops: list[asyncio.AbstractEventLoop],
                 call: Callable[[asyncio.AbstractEventLoop], None]) -> None:
    """call(loop) for each loop: now, or from that loop's own thread between two of its turns
    when it runs in another thread (what it holds may be in use right now)."""
    try:
        current: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
    except RuntimeError:
        current = None
    for loop in loops:
        if loop is not current and loop.is_running():
            loop.call_soon_threadsafe(call, loop)
        else:
            call(loop)


def forward(target: asyncio.Future, source: asyncio.Future) -> None:
    """Settle `target` as `source` settled (a done callback of source)."""
    if target.done():
        return
    if source.cancelled():
        target.cancel()
    elif source.exception() is not None:
        target.set_exception(source.exception())  # type: ignore[arg-type]
    else:
        target.set_result(source.result())
