"""`djbot doctor schedule`: is the holiday data there for this year and the next?"""

from __future__ import annotations

from datetime import datetime

from bot.config import Settings
from bot.scheduling.holidays import HolidayCalendar


def run(settings: Settings, *, calendar: HolidayCalendar | None = None,
        today: datetime | None = None) -> list[tuple[bool, str]]:
    calendar = calendar or HolidayCalendar()
    today = today or datetime.now(settings.tz)
    year = today.year
    lines: list[tuple[bool, str]] = []
    for y in (year, year + 1):
        if calendar.covers(y):
            lines.append((True, f"节假日数据包含 {y} 年（法定节假日与调休）"))
        elif y == year:
            lines.append((False, f"节假日数据不含 {y} 年：只按周末安排，请升级 chinesecalendar"))
        else:
            # Next year's holidays are announced around November: only late in the
            # year is their absence a problem.
            lines.append((today.month < 12, f"节假日数据尚不含 {y} 年（通常11月公布）；届时请升级 chinesecalendar，"
                                "在此之前该年只按周末安排"))
    return lines
