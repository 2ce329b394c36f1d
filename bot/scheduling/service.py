"""The scheduler service: one periodic job that runs a tick and then drains the outbox.

APScheduler only provides the heartbeat (every settings.tick_seconds). What is due is
computed from djbot's tables on each beat, so there is no job per reminder and no job
store to share: every replica may run this service, the tables keep it exactly-once.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from datetime import datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.outbox import OutboxWorker
from bot.runtime import Runtime
from bot.scheduling.plan import QuietHours
from bot.scheduling.tick import Ticker
from bot.sender import Sender
from storage import leases
from storage.db import session_scope

log = logging.getLogger("djbot.scheduler")

# How long a stopping service waits for the beat under way: a send answers in well under
# this (DingTalk's timeout is 5 s), and the whole stop stays inside the 10 s Docker gives
# a container before it kills it.
STOP_WAIT = 5


class SchedulerService:
    def __init__(self, runtime: Runtime, senders: dict[str, Sender]) -> None:
        self.runtime = runtime
        self.ticker = Ticker(runtime.engine, runtime.settings, runtime.clock, runtime.rules)
        # Platform adapters add their Sender to this dict when they mount; rows for a
        # platform with no sender wait in the outbox.
        self.worker = OutboxWorker(runtime.engine, runtime.clock, senders,
                                   quiet=QuietHours.of(runtime.settings), tz=runtime.settings.tz)
        self._scheduler: AsyncIOScheduler | None = None
        self._beating: asyncio.Task | None = None
        self.holder = f"{socket.gethostname()}:{os.getpid()}"

    async def beat(self) -> None:
        self._beating = asyncio.current_task()
        try:
            await asyncio.to_thread(self._mark_served)
        except Exception:
            log.exception("service lease not renewed")
        try:
            await asyncio.to_thread(self.ticker.tick)
        except Exception:
            # The next beat recomputes everything from the tables; nothing is lost.
            log.exception("tick failed")
        try:
            await self.worker.drain()
        except Exception:
            log.exception("outbox delivery failed")

    def _mark_served(self) -> None:
        """Say in the database that a service delivers its outbox (the console then won't)."""
        with session_scope(self.runtime.engine) as session:
            leases.take(session, name=f"{leases.SERVICE_PREFIX}{self.holder}",
                        holder=self.holder, now=self.runtime.clock.now(),
                        ttl=timedelta(seconds=3 * self.runtime.settings.tick_seconds))

    async def start(self) -> None:
        self._scheduler = AsyncIOScheduler(timezone=self.runtime.settings.tz)
        self._scheduler.add_job(
            self.beat, "interval", seconds=self.runtime.settings.tick_seconds,
            id="djbot-beat", max_instances=1, coalesce=True,
            # A beat that starts late still runs: it catches up from the tables anyway.
            misfire_grace_time=None,
            # The first beat right away, then every tick_seconds.
            next_run_time=datetime.now(self.runtime.settings.tz),
        )
        self._scheduler.start()

    async def stop(self) -> None:
        """Let a beat under way finish the send in hand and give the rest of its batch back
        (bot.outbox, stopping), for STOP_WAIT at most: the scheduler's shutdown cancels a
        running beat, and cancelled mid-send it left its batch claimed by a process that
        was gone, unsent by any replica until the claim timeout (5 minutes)."""
        if self._scheduler is None:
            return
        self._scheduler.pause()
        self.worker.stopping = True
        beat = self._beating
        if beat is not None and not beat.done():
            try:
                await asyncio.wait_for(asyncio.shield(beat), STOP_WAIT)
            except asyncio.TimeoutError:
                log.warning("the beat under way did not end within %d s; cancelled", STOP_WAIT)
            except Exception:
                pass  # the beat logs its own failures
        self._scheduler.shutdown(wait=False)
        self._scheduler = None
