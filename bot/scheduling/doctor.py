"""`djbot doctor schedule`: is the holiday data there for this year and the next?"""

from __future__ import annotations

from datetime import datetime

from bot.config import Settings
from bot.scheduling.holidays import HolidayCalendar


def run(settings: Settings, *, calendar: HolidayCalendar | None = None,
        today: datetime | None = None) -> list[tuple[bool | None, str]]:
    calendar = calendar or HolidayCalendar()
    today = today or datetime.now(settings.tz)
    year = today.year
    lines: list[tuple[bool | None, str]] = []
    for y in (year, year + 1):
        if calendar.covers(y):
            lines.append((True, f"节假日数据包含 {y} 年（法定节假日与调休）"))
        elif y == year:
            lines.append((False, f"节假日数据不含 {y} 年：只按周末和元旦、5月1–2日、10月1–3日安排，请升级 chinesecalendar"))
        else:
            # Next year's holidays are announced around November and reach the library
            # some weeks later: until the year begins their absence is a note, not a
            # failure (the year's own check fails from 1 January if still missing).
            lines.append((None, f"节假日数据尚不含 {y} 年（国务院通常在11月公布）；公布后请升级 "
                                "chinesecalendar，在此之前该年只按周末和元旦、5月1–2日、10月1–3日安排"))
    return lines
