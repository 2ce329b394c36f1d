"""The serving process keeps what it built at start out of the garbage collector's walks
(bot.app.freeze_startup_heap): a full collection over all of it stalled every request
for about 100 ms, a few times in a theme day's burst. What is made later is still
collected: a freed cycle of objects does not stay in memory."""

from __future__ import annotations

import gc
import weakref

from bot.app import create_app
from bot.runtime import build_runtime


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


async def test_the_started_service_freezes_its_start_up_heap_and_still_collects(
        settings, clock, engine):
    app = create_app(build_runtime(settings, clock=clock, engine=engine, migrate=False),
                     start_background=True)
    app.state.services.clear()  # the scheduler and outbox need not run for this
    gc.unfreeze()
    thresholds = gc.get_threshold()
    try:
        async with app.router.lifespan_context(app):
            assert gc.get_freeze_count() > 10_000  # the modules, models and app
            assert gc.get_threshold()[0] == 10_000  # young objects walked less often
            a, b = Node(), Node()  # a cycle made while serving, then dropped
            a.other, b.other = b, a
            gone = weakref.ref(a)
            del a, b
            gc.collect()
            assert gone() is None
    finally:
        gc.unfreeze()  # the rest of the test run collects as usual
        gc.set_threshold(*thresholds)
