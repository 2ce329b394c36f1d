"""Chat capabilities, one module each. Each has register(registry); the order here is
the order 帮助 lists them in."""

from __future__ import annotations

from bot.registry import CommandRegistry
from handlers import attendance, attendance_corrections, corrections, dashboard
from handlers import help as help_
from handlers import org, points, push, reschedule, schedule, study, summary, visits
from handlers import committee, lecturers, meetings, pioneers, reading  # the committee's loop

# push after schedule: it adds 推送 / 钉钉推送 to schedule's 设置 table.
MODULES = [help_, attendance, attendance_corrections, points, org, study, visits, summary,
           dashboard, schedule, reschedule, push, corrections, committee, pioneers, meetings, lecturers,
           reading]


def register_all(registry: CommandRegistry) -> None:
    for module in MODULES:
        module.register(registry)
