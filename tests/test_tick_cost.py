"""Every replica ticks every half minute, day and night, and almost every tick finds nothing
due. This pins what such a tick costs the database: a fixed handful of statements in two
transactions, however many branches and schedules the bureau has."""

from __future__ import annotations

from datetime import timedelta

from bot.scheduling.holidays import HolidayCalendar
from bot.scheduling.tick import Ticker
from storage.models import Schedule

from .conftest import counting, local
from .factories import bind_chat, make_branch, make_member, seed

# Ending temporary branches, the schedules, the activities already made, the reminder
# plans and the activities near enough for a reminder (one transaction); the activities to
# close and those to finalize (the other). The committee's own reminders read nothing on an
# ordinary day.
QUIET_TICK = {"statements": 7, "transactions": 2}


def add_branches(engine, first: int, count: int) -> None:
    def build(session):
        for n in range(first, first + count):
            branch = make_branch(session, f"第{n}支部")
            make_member(session, branch, f"书记{n}", role="secretary", wecom=f"sec{n}")
            for m in range(5):
                make_member(session, branch, f"党员{n}-{m}", wecom=f"m{n}-{m}")
            bind_chat(session, branch, f"g{n}")
            for kind, rule, minutes in (("主题党日", "每月10日 14:30", 120),
                                        ("政治夜学", "每周三 19:30", 90)):
                session.add(Schedule(branch_id=branch.id, activity_type=kind, rule=rule,
                                     duration_minutes=minutes, holiday_policy="skip",
                                     created_at=local(2026, 9, 1, 0, 0),
                                     updated_at=local(2026, 9, 1, 0, 0)))

    seed(engine, build)


def quiet_tick(ticker: Ticker, clock) -> dict[str, int]:
    """A tick at 03:xx on an ordinary Tuesday, after one a quarter of an hour before it
    (which made the activities of the next three days and pruned)."""
    clock.advance(timedelta(minutes=15))
    ticker.tick()
    clock.advance(timedelta(minutes=15))
    with counting(ticker.engine) as seen:
        result = ticker.tick()
    assert not result.created and not result.enqueued  # nothing was due
    return {"statements": len(seen.statements), "transactions": seen.commits}


def test_a_quiet_tick_costs_the_same_few_statements_for_3_branches_or_30(runtime, clock):
    add_branches(runtime.engine, 1, 3)
    clock.set(local(2026, 10, 13, 2, 45))
    ticker = Ticker(runtime.engine, runtime.settings, clock, runtime.rules,
                    calendar=HolidayCalendar(), last=clock.now())
    assert quiet_tick(ticker, clock) == QUIET_TICK

    add_branches(runtime.engine, 4, 27)
    assert quiet_tick(ticker, clock) == QUIET_TICK
