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
from typing import Any

log = logging.getLogger("djbot.writer")

# A bureau's burst is a few hundred check-ins a minute; 32 in a transaction keeps one
# rolled-back batch (and its one-by-one retry) small.
BATCH = 32
IDLE_SECONDS = 5.0

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
            except BaseException as exc:  # noqa: BLE001 - each caller gets the failure
                log.exception("handling %d messages failed", len(messages))
                results = [exc] * len(messages)
            settled += zip(messages, results, strict=True)
        for item in items:
            if item[4]:
                try:
                    settled.append((item, item[3].run(item[0])))
                except Exception as exc:  # noqa: BLE001 - handed to the job's caller
                    settled.append((item, exc))
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
