"""Recurrence rules written the way a secretary says them, parsed into data.

Accepted forms (the time may be left out when the caller supplies a default):
    每月15日 14:30        每月第一个周五 14:30      每月最后一个周五 14:30
    每周三 19:30          每周二、四 19:30          每周二,四 19:30 / 周二和周四 19:30
Times: 19:30, 19点, 19点半, 19点30分, 19时30分, 晚上7:30, 下午2点半 (下午/晚上 add 12 hours).
Durations: 2小时, 90分钟, 1.5小时.

Everything here is pure: text in, data out; occurrences are computed from a rule and a
time span, with no clock, database or holiday knowledge (see holidays.py for those).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from bot.domain.text import cn_number, parse_minutes

WEEKDAY_NAMES = "一二三四五六日"
# 周3, 周7: weekdays typed as digits, as 周5 is read in a date.
_WEEKDAY_INDEX = {name: i for i, name in enumerate(WEEKDAY_NAMES)} | {"天": 6, "七": 6} | {
    str(i + 1): i for i in range(7)}
_ORDINALS = {"一": 1, "二": 2, "三": 3, "四": 4, "1": 1, "2": 2, "3": 3, "4": 4}

ACCEPTED_FORMS = (
    "每月15日 14:30、每月第一个周五 14:30、每月最后一个周五 14:30、"
    "每周三 19:30、每周二、四 19:30"
)


class RuleError(ValueError):
    """A rule or duration djbot could not understand; the message is shown to the user."""


@dataclass(frozen=True)
class Recurrence:
    """One parsed rule. Exactly one of day / (nth, weekdays) / weekdays describes the day."""

    kind: str  # "monthly_day" | "monthly_weekday" | "weekly"
    at: time
    day: int | None = None  # 1..31 for monthly_day
    nth: int | None = None  # 1..4, or -1 for 最后一个
    weekdays: tuple[int, ...] = ()  # Monday = 0

    def describe(self) -> str:
        clock = self.at.strftime("%H:%M")
        days = "、".join(f"周{WEEKDAY_NAMES[d]}" for d in self.weekdays)
        if self.kind == "monthly_day":
            return f"每月{self.day}日 {clock}"
        if self.kind == "monthly_weekday":
            which = "最后一个" if self.nth == -1 else f"第{'一二三四'[self.nth - 1]}个"
            return f"每月{which}{days} {clock}"
        return f"每{days} {clock}"

    def days_between(self, first: date, last: date) -> Iterator[date]:
        """The rule's days from first to last inclusive, in order."""
        day = first
        while day <= last:
            if self._matches(day):
                yield day
            day += timedelta(days=1)

    def _matches(self, day: date) -> bool:
        if self.kind == "monthly_day":
            # A month without the 31st has no occurrence rather than a surprise on the 1st.
            return day.day == self.day
        if day.weekday() not in self.weekdays:
            return False
        if self.kind == "weekly":
            return True
        if self.nth == -1:
            return (day + timedelta(days=7)).month != day.month
        return (day.day - 1) // 7 + 1 == self.nth

    def starts_between(self, first: date, last: date, tz: tzinfo) -> Iterator[datetime]:
        """Nominal start times (aware, in tz) on the rule's days, before any holiday rule."""
        for day in self.days_between(first, last):
            yield datetime.combine(day, self.at, tzinfo=tz)


# A part of the day said before the hour (晚上7点半, 下午2:30), as people say it aloud.
PART_OF_DAY = r"(?:上午|下午|晚上|早上|中午|晚)"
# 19:30, 19点, 19点半, 19点30, 19点30分, 19时30分; the minutes may be typed apart (19点 30分).
_CLOCK = r"\d{1,2}\s*(?::\s*\d{2}|[点时](?:\s*半|\s*\d{1,2}\s*分?)?)"
_TIME = re.compile(rf"^(?P<part>{PART_OF_DAY})?\s*(?P<hour>\d{{1,2}})\s*"
                   r"(?::\s*(?P<minute>\d{2})|[点时]\s*(?:(?P<half>半)|(?P<minutes>\d{1,2})\s*分?)?)$")
# Glued to the day too (每周三晚上19:30, 每月15日14:30).
_TRAILING_TIME = re.compile(rf"\s*({PART_OF_DAY}?\s*{_CLOCK})$")
_AFTERNOON = ("下午", "晚上", "晚")
_DOTTED_TIME = re.compile(r"(?<![\d.])(\d{1,2})\.([0-5]\d)$")
_MONTHLY_DAY = re.compile(r"^每月(\d{1,2}|[一二三四五六七八九十]{1,3})[日号]?$")  # 15号, 十五号, 15
_MONTHLY_WEEKDAY = re.compile(r"^每月(?:第([一二三四1-4])个|(最后一个))(?:周|星期)([一二三四五六日天])$")
_WEEKLY = re.compile(r"^每?(?:周|星期)(.+)$")
_FIFTH_WEEKDAY = re.compile(r"^每月第[五5]个(?:周|星期)([一二三四五六日天])$")


# An hour or its minutes said in words (晚七点半, 下午三点, 八点十五): read as digits, or the
# time was taken for the day and the day was blamed.
_SPOKEN = re.compile(r"(?<![周期拜第个])([零〇一二两三四五六七八九十]{1,3})(?=\s*[点时分])"
                     r"|(?<=[点时])([零〇一二三四五六七八九十]{1,3})")


def fold(text: str) -> str:
    """Full-width digits and colons as ASCII, spaces run together as one, hours and
    minutes said in words as digits (晚七点半 → 晚7点半)."""
    folded = re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text or "")).strip()
    def digits(match: re.Match[str]) -> str:
        number = cn_number(match.group())
        return match.group() if number is None else str(number)
    return _SPOKEN.sub(digits, folded)


def _not_understood(text: str, what: str) -> RuleError:
    return RuleError(f"看不懂「{text}」：{what}。可用的写法：{ACCEPTED_FORMS}")


def parse_time(text: str) -> time:
    match = _TIME.search(fold(text))
    if not match:
        raise _not_understood(text, "时间应写成 14:30")
    hour = int(match.group("hour"))
    minute = 30 if match.group("half") else int(match.group("minute")
                                                 or match.group("minutes") or 0)
    part = match.group("part")
    if hour > 23 or minute > 59:
        raise _not_understood(text, "没有这个时刻")
    if part in ("晚上", "晚") and hour == 12:
        # 晚上12点 is midnight, which begins the next day: asked, not taken for noon.
        raise _not_understood(text, f"{part}12点是午夜（次日 0 点），请写明要的时刻，如 21:30")
    if part in _AFTERNOON and hour < 12:
        hour += 12  # 晚上7:30 is 19:30; 晚上19:30 is already
    elif part == "中午" and hour <= 2:
        hour += 12  # 中午1点 is 13:00; 中午12点 stays noon
    elif part in ("上午", "早上") and hour > 12:
        raise _not_understood(text, f"{part}没有{hour}点")
    return time(hour, minute)


def parse_rule(text: str, *, default_time: time | None = None) -> Recurrence:
    """Parse a rule such as 每月第一个周五 14:30; raise RuleError naming what is wrong."""
    # 19.30 at the end is a time typed with a phone's dot: read as 19:30, it was taken
    # for the day and the day blamed.
    folded = _DOTTED_TIME.sub(r"\1:\2", fold(text))
    if not folded:
        raise _not_understood(text, "规则是空的")
    glued = _TRAILING_TIME.search(folded)
    day_part = (folded[: glued.start()] if glued else folded).replace(" ", "")
    # 每个月15号, 每个星期三, 每个周二, 每礼拜二: 每月 or 每周 as the rules are written.
    day_part = re.sub(r"^每个(月|星期|周)|^每个?礼拜", lambda m: f"每{m.group(1) or '周'}", day_part)
    # The day is checked first: "每天" is better answered with what is accepted than with
    # a complaint about the missing time.
    shape = _day_shape(day_part, text)
    if glued:
        at = parse_time(glued.group(1))
    elif default_time is not None:
        at = default_time
    else:
        raise _not_understood(text, "缺少时间")
    return Recurrence(at=at, **shape)


def _day_shape(day_part: str, text: str) -> dict:
    if match := _MONTHLY_DAY.match(day_part):
        day = cn_number(match.group(1)) or 0
        if not 1 <= day <= 31:
            raise _not_understood(text, f"每月没有{day}日")
        return dict(kind="monthly_day", day=day)
    if match := _MONTHLY_WEEKDAY.match(day_part):
        nth = -1 if match.group(2) else _ORDINALS[match.group(1)]
        return dict(kind="monthly_weekday", nth=nth, weekdays=(_WEEKDAY_INDEX[match.group(3)],))
    if match := _WEEKLY.match(day_part):
        return dict(kind="weekly", weekdays=_weekdays(match.group(1), text))
    if match := _FIFTH_WEEKDAY.match(day_part):
        # Read as 「哪一天没写清楚」 before, though it was clear: it is the month that lacks it.
        day = "日" if match.group(1) == "天" else match.group(1)
        raise _not_understood(text, f"不是每个月都有第五个周{day}，"
                                    f"每月一次请写「每月最后一个周{day}」")
    if day_part.startswith("每月"):
        raise _not_understood(text, "每月的哪一天没写清楚")
    raise _not_understood(text, "应以「每月」或「每周」开头")


def _weekdays(listed: str, text: str) -> tuple[int, ...]:
    # 二、四 / 二,四 / 二和四 / 二、周四 / 二和周四: any separator, 周 or 星期 repeated or not.
    names = re.split(r"[、,，和及与/ ]+", re.sub(r"周|星期", "", listed))
    days: list[int] = []
    # 一三五, 三五 (周三周五 without 周): weekdays run together, one a character.
    names = [c for name in names for c in (
        name if len(name) > 1 and all(c in _WEEKDAY_INDEX for c in name) else [name])]
    for name in names:
        if name not in _WEEKDAY_INDEX:
            raise _not_understood(text, f"「{name}」不是星期几")
        if _WEEKDAY_INDEX[name] not in days:
            days.append(_WEEKDAY_INDEX[name])
    if not days:
        raise _not_understood(text, "缺少星期几")
    return tuple(sorted(days))


_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(小时|个小时|h|分钟|分|min)$")


def parse_duration(text: str) -> int:
    """2小时 / 90分钟 / 1.5小时 → minutes; as said aloud too (两个小时, 一个半小时, 半小时),
    as 学习 reads them."""
    folded = fold(text).replace(" ", "").lower()
    match = _DURATION.match(folded)
    spoken = parse_minutes(text.replace(" ", "")) if not match else None
    if match:
        amount = float(match.group(1))
        minutes = round(amount * 60) if match.group(2) in ("小时", "个小时", "h") else round(amount)
    elif spoken is not None and not text.strip().isdigit():  # a bare 90 says no unit
        minutes = spoken
    else:
        raise RuleError(f"看不懂时长「{text}」。可用的写法：2小时、90分钟、1.5小时")
    if not 10 <= minutes <= 24 * 60:
        raise RuleError(f"时长「{text}」不合理：应在10分钟到24小时之间")
    return minutes
