"""Statutory holidays and swapped working days (调休), and what they do to a schedule.

The data comes from chinesecalendar, which only knows a year once the State Council
has announced it (usually in November). For a year it does not know, weekends and the
holidays the law fixes by date (元旦, 劳动节 5-1 and 5-2, 国庆 10-1 to 10-3) are the
rest days, a warning is logged once per year, and `djbot doctor schedule` reports it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Protocol

from bot.scheduling.rules import Recurrence, RuleError, parse_rule

log = logging.getLogger("djbot.holidays")

# (is a rest day, holiday name or None), raising NotImplementedError for an unknown year:
# exactly chinese_calendar.get_holiday_detail, injectable for tests.
HolidaySource = Callable[[date], tuple[bool, str | None]]

SKIP, MOVE = "skip", "move"
# The defaults the issue asks for: a night study on a holiday is simply not held,
# a theme day (monthly, compulsory) is held on the next working day instead.
DEFAULT_POLICY = {"政治夜学": SKIP, "主题党日": MOVE}
# No holiday run in China is longer than this, so a moved occurrence lands within it.
MAX_MOVE_DAYS = 20
# The statutory holidays the law fixes by date (《全国年节及纪念日放假办法》, as of 2025):
# rest days in a year the library does not know yet, whatever its announcement adds.
# Without them 元旦 2027 (a Friday) had its night study and reminders. The lunar ones
# (春节, 清明, 端午, 中秋) and the 调休 around them wait for the announcement.
FIXED_BY_DATE = {(1, 1): "New Year's Day", (5, 1): "Labour Day", (5, 2): "Labour Day",
                 (10, 1): "National Day", (10, 2): "National Day", (10, 3): "National Day"}
# As the holidays are called in a reply (chinesecalendar names them in English).
CHINESE_NAMES = {"New Year's Day": "元旦", "Spring Festival": "春节", "Tomb-sweeping Day": "清明节",
                 "Labour Day": "劳动节", "Dragon Boat Festival": "端午节", "National Day": "国庆节",
                 "Mid-autumn Festival": "中秋节"}


def _chinese_calendar_source(day: date) -> tuple[bool, str | None]:
    import chinese_calendar

    return chinese_calendar.get_holiday_detail(day)


class HolidayCalendar:
    def __init__(self, source: HolidaySource | None = None) -> None:
        self._source = source or _chinese_calendar_source
        self._warned: set[int] = set()
        self._cache: dict[date, tuple[bool, str | None]] = {}

    def covers(self, year: int) -> bool:
        try:
            self._source(date(year, 6, 1))
        except NotImplementedError:
            return False
        return True

    def _detail(self, day: date) -> tuple[bool, str | None]:
        if day not in self._cache:
            self._cache[day] = self._lookup(day)
        return self._cache[day]

    def _lookup(self, day: date) -> tuple[bool, str | None]:
        try:
            return self._source(day)
        except NotImplementedError:
            if day.year not in self._warned:
                self._warned.add(day.year)
                log.warning(
                    "no holiday data for %d: weekends and the holidays fixed by date "
                    "(元旦, 5-1, 5-2, 10-1 to 10-3) are treated as the only rest days "
                    "(upgrade chinesecalendar once the State Council announces the year)",
                    day.year,
                )
            fixed = FIXED_BY_DATE.get((day.month, day.day))
            return (True, fixed) if fixed else (day.weekday() >= 5, None)

    def is_workday(self, day: date) -> bool:
        """True on ordinary weekdays and on swapped working days (调休)."""
        return not self._detail(day)[0]

    def is_statutory_holiday(self, day: date) -> bool:
        rest, name = self._detail(day)
        return rest and name is not None

    def holiday_name(self, day: date) -> str | None:
        """The statutory holiday the day is off for (元旦, 国庆节); None on any other day,
        a swapped working day (调休) named after its holiday among them."""
        rest, name = self._detail(day)
        return CHINESE_NAMES.get(name, name) if rest and name is not None else None

    def next_workday(self, day: date) -> date:
        for offset in range(1, MAX_MOVE_DAYS + 1):
            candidate = day + timedelta(days=offset)
            if self.is_workday(candidate):
                return candidate
        return day + timedelta(days=MAX_MOVE_DAYS)  # pragma: no cover - no such holiday


@dataclass(frozen=True)
class Occurrence:
    nominal: datetime  # when the rule alone says
    starts_at: datetime | None  # when it is held; None when skipped
    note: str | None = None  # "节假日顺延" / "节假日不举行", for previews and logs

    @property
    def moved(self) -> bool:
        return self.starts_at is not None and self.starts_at != self.nominal


def blocked(rule: Recurrence, day: date, calendar: HolidayCalendar) -> bool:
    """Whether the rule's day is a day off for this rule.

    Statutory holidays always are. An ordinary weekend is too, unless the rule names
    that weekday itself (每周六 means the secretary wants Saturdays). Swapped working
    days (调休) are working days, so 每月10日 falling on such a Saturday is held.
    """
    if calendar.is_statutory_holiday(day):
        return True
    if calendar.is_workday(day):
        return False
    return day.weekday() not in rule.weekdays


def occurrences(
    rule: Recurrence, policy: str, calendar: HolidayCalendar, first: date, last: date, tz: tzinfo
) -> Iterator[Occurrence]:
    """Occurrences whose nominal day is in [first, last], holidays applied, in nominal order."""
    for nominal in rule.starts_between(first, last, tz):
        day = nominal.date()
        if not blocked(rule, day, calendar):
            yield Occurrence(nominal, nominal)
        elif policy == MOVE:
            target = moved_day(rule, day, calendar)
            verb = "提前到" if target < day else "顺延到"
            moved = datetime.combine(target, rule.at, tzinfo=tz)
            yield Occurrence(nominal, moved,
                             f"{_why(day, calendar)}，{verb} {target.month}月{target.day}日")
        else:
            yield Occurrence(nominal, None, f"{_why(day, calendar)}，不举行")


def moved_day(rule: Recurrence, day: date, calendar: HolidayCalendar) -> date:
    """Where a blocked occurrence is held under 顺延: the next day the rule may be held on.

    A monthly rule stays in its month, because a month's 主题党日 is counted for that month
    (三会一课): when the next such day is in the month after (每月30日 on a Saturday), it
    is held on the last such day before instead.
    """
    target = day
    while blocked(rule, target, calendar):
        target = calendar.next_workday(target)
    if rule.kind == "weekly" or (target.year, target.month) == (day.year, day.month):
        return target
    earlier = day - timedelta(days=1)
    while earlier.month == day.month:
        if not blocked(rule, earlier, calendar):
            return earlier
        earlier -= timedelta(days=1)
    return target  # pragma: no cover - a whole month of days off


def _why(day: date, calendar: HolidayCalendar) -> str:
    return "法定节假日" if calendar.is_statutory_holiday(day) else "休息日"


def held_between(
    rule: Recurrence, policy: str, calendar: HolidayCalendar,
    start: datetime, end: datetime, tz: tzinfo,
) -> list[Occurrence]:
    """Occurrences actually held with start <= starts_at < end (a moved one counts on its new day)."""
    # A moved occurrence may come from either side of the span: 顺延 moves forward, and
    # back at a month's end (moved_day).
    first = start.astimezone(tz).date() - timedelta(days=MAX_MOVE_DAYS)
    last = end.astimezone(tz).date() + timedelta(days=MAX_MOVE_DAYS)
    found = sorted(
        (o for o in occurrences(rule, policy, calendar, first, last, tz)
         if o.starts_at is not None and start <= o.starts_at < end),
        # One moved onto a day the rule holds anyway (每周一、二 顺延: 清明 Monday onto
        # Tuesday) is the one meeting that day, as the scheduler creates it: listed once.
        key=lambda o: (o.starts_at, o.moved),  # type: ignore[arg-type, return-value]
    )
    return [o for i, o in enumerate(found) if i == 0 or o.starts_at != found[i - 1].starts_at]


def holds(rule: Recurrence, policy: str, calendar: HolidayCalendar, tz: tzinfo
          ) -> Callable[[datetime], bool]:
    """Whether the rule holds an occurrence starting at a given moment."""
    def at(start: datetime) -> bool:
        return any(o.starts_at == start for o in held_between(
            rule, policy, calendar, start, start + timedelta(minutes=1), tz))
    return at


def rule_holds(tz: tzinfo) -> Callable[[str, str, datetime], bool]:
    """Whether a rule as stored, with its holiday policy, holds an occurrence at a start (one
    djbot cannot read holds none): storage.schedules.save_schedule's `held`."""
    def held(rule: str, policy: str, start: datetime) -> bool:
        try:
            parsed = parse_rule(rule)
        except RuleError:
            return False
        return holds(parsed, policy, default_calendar(), tz)(start)
    return held


class Planned(Protocol):
    """What of a fixed schedule (storage.models.Schedule) says when it is held."""

    rule: str
    holiday_policy: str
    paused_until: date | None


def next_held(schedule: Planned, *, now: datetime, tz: tzinfo, count: int,
              calendar: HolidayCalendar | None = None,
              called_off: Collection[datetime] = (),
              until: date | None = None) -> list[Occurrence]:
    """The schedule's next `count` occurrences that will be held, from now, leaving out
    those `called_off` (取消活动, storage.schedules.called_off) and any after `until`, the
    last day of its branch (a 临时党支部's end, storage.schedules.last_day: the tick holds
    none then): 日程 shows them, 三会一课 counts the next as planned, and leave asked for
    one too far off to exist yet (请假 主题党日 出差) is leave for its day."""
    rule = parse_rule(schedule.rule)
    start = now
    if schedule.paused_until is not None:
        # 暂停日程: nothing is held up to that day (the tick skips it), so none is shown.
        start = max(start, datetime.combine(schedule.paused_until + timedelta(days=1), time(),
                                            tzinfo=tz))
    found = held_between(rule, schedule.holiday_policy, calendar or default_calendar(), start,
                         start + timedelta(days=45 if rule.kind == "weekly" else 400), tz)
    last = datetime.combine(until + timedelta(days=1), time(), tzinfo=tz) if until else None
    return [o for o in found if o.starts_at not in called_off
            and (last is None or o.starts_at < last)][:count]  # type: ignore[operator]


def held_on(schedule: Planned, day: date, *, tz: tzinfo,
            calendar: HolidayCalendar | None = None) -> list[Occurrence]:
    """The schedule's occurrences held on the local day, however far off (none while it is
    paused): leave asked for an evening months ahead finds the night study it holds then."""
    if schedule.paused_until is not None and day <= schedule.paused_until:
        return []
    start = datetime.combine(day, time(), tzinfo=tz)
    return held_between(parse_rule(schedule.rule), schedule.holiday_policy,
                        calendar or default_calendar(), start, start + timedelta(days=1), tz)


_default: HolidayCalendar | None = None


def default_calendar() -> HolidayCalendar:
    """One calendar per process, so the uncovered-year warning is logged once."""
    global _default
    if _default is None:
        _default = HolidayCalendar()
    return _default
