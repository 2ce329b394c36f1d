"""Dates as people type them in chat, pure: '12月4日至12月18日', '12.4-12.18', '4号到18号',
'11月20日', '2026-12-04'. The year and month, when left out, are inferred from today."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from bot.domain.text import show_date, with_years

_SEP = r"\s*(?:至|到|~|～|-|－|—|–)\s*"
_YMD = r"(?:(?P<{p}y>\d{{4}})\s*[年./-]\s*)?"
# One day: 2026年12月4日, 2026-12-04, 12月4日, 12.4, 12/4, 4号, 4日.
_DAY = (r"(?:(?:(?P<{p}y>\d{{4}})\s*[年./-]\s*)?(?P<{p}m>\d{{1,2}})\s*(?:月|\.|/|-)\s*)?"
        r"(?P<{p}d>\d{{1,2}})\s*(?P<{p}mark>[日号號])?")
_RANGE = re.compile(_DAY.format(p="a") + _SEP + _DAY.format(p="b"))
_ONE = re.compile(r"(?:(?P<ay>\d{4})\s*[年./-]\s*)?(?P<am>\d{1,2})\s*(?:月|\.|/|-)\s*"
                  r"(?P<ad>\d{1,2})\s*(?P<amark>[日号號])?")
_BRACKETS = re.compile(r"[（(]\s*[）)]|^[\s，,、：:]+|[\s，,、：:]+$")
LONGEST = timedelta(days=366)
# The longest range read as running into the next year when its end is written before
# its start with no year (12月1日至2月28日), and into the next month when it has no month
# either (28号到3号); longer, it is more likely a slip (3月1日至2月1日, 10号到8号).
_OVER_NEW_YEAR = timedelta(days=183)
_INTO_NEXT_MONTH = timedelta(days=15)


class DateError(ValueError):
    """A date that was written but cannot be right (no such day, the end before the start)."""


@dataclass(frozen=True)
class DateRange:
    first: date
    last: date
    rest: str  # the text with the dates taken out (the reason, the note)

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1


def _day(year: str | None, month: str | None, day: str, *, today: date,
         default_month: int | None = None, default_year: int | None = None) -> date:
    y = int(year) if year else (default_year or today.year)
    m = int(month) if month else (default_month or today.month)
    try:
        return date(y, m, int(day))
    except ValueError:
        raise DateError(f"没有 {m}月{int(day)}日 这一天") from None


def _strip(text: str, start: int, end: int) -> str:
    rest = (text[:start] + " " + text[end:]).strip()
    previous = None
    while previous != rest:
        previous, rest = rest, _BRACKETS.sub("", rest).strip()
    return re.sub(r"\s+", " ", rest)


# Said just before a range, these make it hours (今晚19.30-21.00, 下午2.30-4.30), not days.
_HOURS_BEFORE = re.compile(r"(?:晚|晚上|上午|下午|早上|早|中午|今天|明天|后天)\s*$")


def _plausible(match: re.Match, text: str) -> bool:
    """A bare '4-18' is a range only when it says 号/日 or names a month on either side;
    none with a month past 12 (19.30-21.00) or said after a time of day (今晚8.30-9.30) is."""
    g = match.groupdict()
    if any(g[k] and int(g[k]) > 12 for k in ("am", "bm")):
        return False
    if _HOURS_BEFORE.search(text[:match.start()]) and not (g["amark"] or g["bmark"]):
        return False
    return bool(g["am"] or g["bm"] or g["amark"] or g["bmark"])


def _over_the_turn(first: date, last: date, g: dict, today: date) -> tuple[date, date]:
    """A range whose end, its year (or month) left out, falls before its start runs into
    the next year (12月28日至1月3日) or month (28号到3号, 1月28日至3号): the end was taken in
    the start's. Returned as it was when it would then last over half a year (a month),
    for the caller to refuse: 3月1日至2月1日 and 10号到8号 are slips."""
    if g["bm"]:
        later = _day(str(last.year + 1), str(last.month), str(last.day), today=today)
        longest = _OVER_NEW_YEAR
    else:
        month = first.replace(day=1) + timedelta(days=31)
        later = _day(str(month.year), str(month.month), str(last.day), today=today)
        longest = _INTO_NEXT_MONTH
    if later - first > longest:
        return first, last
    return _the_one_meant(first, later, g, today)


def _the_one_meant(first: date, last: date, g: dict, today: date) -> tuple[date, date]:
    """With no year written, which year's range is meant: one ending next year is last
    year's if that one is under way or just over (12月28日至1月3日 on 1月2日), and one that
    ended months ago is next year's (1月3日至5日, or 1月28日至3号, typed in December)."""
    if g["ay"] or g["by"]:
        return first, last
    try:
        if last.year > today.year:
            earlier = first.replace(year=first.year - 1), last.replace(year=last.year - 1)
            if earlier[1] >= today - timedelta(days=180):
                return earlier
        elif last < today - timedelta(days=180):
            return first.replace(year=first.year + 1), last.replace(year=last.year + 1)
    except ValueError:  # 2月29日 moved to a year without one: as it was read
        pass
    return first, last


def find_date_range(text: str, today: date) -> DateRange | None:
    """The first date range in the text, or None when there is none; DateError when one is
    written but impossible. A range without a year is this year's, or next year's when it
    would otherwise have ended months ago (1月3日至5日 typed in December); one whose end
    comes before its start runs into the next year or month (_over_the_turn). 明年 or 今年
    before a month is its year (12月17日至明年1月20日)."""
    text = with_years(text, today)
    for match in _RANGE.finditer(text):
        if not _plausible(match, text):
            continue
        g = match.groupdict()
        first = _day(g["ay"], g["am"], g["ad"], today=today)
        last = _day(g["by"] or g["ay"], g["bm"] or (g["am"] if not g["bm"] else None), g["bd"],
                    today=today, default_month=first.month, default_year=first.year)
        if g["by"] and not g["ay"]:
            # 12月17日至2027年1月20日: the start is the latest such day up to the end, of the
            # end's year or the one before, never taken from today.
            first = _day(str(last.year), g["am"] or str(last.month), g["ad"], today=today)
            if first > last and g["am"]:
                first = _day(str(last.year - 1), g["am"], g["ad"], today=today)
        if last < first and not g["by"]:
            try:
                first, last = _over_the_turn(first, last, g, today)
            except DateError:  # 31号到30号 has no 30th in February: the slip is said as such
                pass
        else:
            first, last = _the_one_meant(first, last, g, today)
        if last < first:
            raise DateError(f"结束日期 {last.month}月{last.day}日 早于开始日期 {first.month}月{first.day}日")
        if last - first >= LONGEST:
            raise DateError("一次最多写一年的日期范围")
        return DateRange(first, last, _strip(text, match.start(), match.end()))
    return None


def find_date(text: str, today: date) -> DateRange | None:
    """One date written with its month (11月20日, 2026-11-20, 11.20): as a one-day range,
    so the caller gets the rest of the text too. Without a year it is the latest such day
    of this year; only across New Year (12月30日 typed on 1月2日) is it last year's. A date
    still in the future is returned as written, for the caller to refuse."""
    text = with_years(text, today)
    match = _ONE.search(text)
    if match is None:
        return None
    g = match.groupdict()
    day = _day(g["ay"], g["am"], g["ad"], today=today)
    if not g["ay"] and day > today:
        before = _day(str(today.year - 1), g["am"], g["ad"], today=today)
        if today - before <= timedelta(days=60):
            day = before
    return DateRange(day, day, _strip(text, match.start(), match.end()))


_CN = r"(?:\d{1,2}|[一二三四五六七八九十]{1,3})"
# A bare 10号 or 12.10 must stand alone (10号楼, 3号线 are not days), or say what of the day
# follows (10号的夜学, 10号晚上: it was no day, and leave went to the activity at hand).
_END = r"(?=[\s，,、：:。的]|$|上午|下午|晚上|早上|中午|[晚早](?:[\s，,、：:。]|$))"
# A day named at the start of a leave's reason. 今天 is left out on purpose: leave for
# today is leave for the activity at hand, under way or next, as 请假 alone asks.
# 周5 and 下週三 too (digits, traditional input), but not 周10; 下个星期二 as spoken (it was
# no day, and the leave went to the activity at hand with it as the reason).
_WEEK_WORD = r"(?:周|週|星期|礼拜|禮拜)"
_WEEKDAY = rf"(?:(?:下下|下|这|本)个?)?{_WEEK_WORD}(?:[一二三四五六日天七]|[1-7](?!\d))"
# 本月28号, 下个月3号: a day of the month named.
_MONTH_NAMED = rf"(?:本月|这个?月|下个?月|上个?月)\s*{_CN}\s*[日号號]"
_MONTH_DAY = (rf"(?:(?:(?:\d{{4}}\s*[年./-]|今年|明年|去年)\s*)?{_CN}\s*月\s*{_CN}\s*[日号號]?"
              rf"|{_MONTH_NAMED})")
_LEADING_DAY = re.compile(
    rf"^\s*(明天|明日|明晚上?|明早上?|后天|大后天|{_WEEKDAY}|{_MONTH_DAY}"
    rf"|\d{{4}}[-./]\d{{1,2}}[-./]\d{{1,2}}{_END}"
    # 八号到十号: a bare day may start a range too (8号到10号 is read by find_date_range),
    # when a day follows (10号到岗 is no range).
    rf"|{_CN}\s*[日号號](?:{_END}|(?=[至到]\s*[\d一二三四五六七八九十周下本这]))"
    rf"|\d{{1,2}}[./]\d{{1,2}}{_END}"
    # 12-10 too, a month first: 19-21 (hours) is none.
    rf"|(?:1[0-2]|0?[1-9])-\d{{1,2}}{_END})"
    # 周四的夜学: the 的 ties the day to what follows, and is no part of a reason.
    r"(?:的(?=\S))?[\s，,、：:]*")
_RANGE_NEXT = re.compile(r"^(?:至|到|~|～|-|－|—|–)")
# A loose end of a range (到月底, 到下周, 至本月末): find_leading_day reads no such day.
_LOOSE_END = re.compile(r"(?:(?:本|这|下)?个?(?:月底|月末|月中|年底|年末|周末)"
                        r"|(?:下|本|这)个?(?:周|週|星期|礼拜|禮拜|月))")
_DASHED = re.compile(r"(\d{1,2})-(\d{1,2})")
# A week said first in a leave's reason (请假 下周 出差, 这周 值班): the days of that week, from
# today for this one; 下周二 and 下周末 are not the week.
_LEADING_WEEK = re.compile(
    r"^\s*(下下|下|这|本)(?:一|个)?(?:周|星期|礼拜)(?![一二三四五六日天七1-7末])"
    r"(?:的(?=\S))?[\s，,、：:]*")
_WEEK_AHEAD = {"这": 0, "本": 0, "下": 1, "下下": 2}
# 出差到12月10日, 至10号, 到周四为止: until a day, from today; at the start or the end.
_UNTIL_FIRST = re.compile(r"^\s*(?:一直)?(?:到|至|直到)\s*")
_UNTIL_LAST = re.compile(r"(?:一直)?(?:到|至)\s*(?P<day>[^\s，,、：:到至]+?)"
                         r"(?:为止|回来|返回|结束)?[\s。]*$")


def find_leading_week(text: str, today: date) -> DateRange | None:
    """A week the text starts with (下周 出差, 这周 值班, 本周的夜学) as its days from Monday
    to Sunday, this week's from today; None when it starts with none."""
    match = _LEADING_WEEK.match(text)
    if match is None:
        return None
    monday = today - timedelta(days=today.weekday()) + timedelta(weeks=_WEEK_AHEAD[match[1]])
    return DateRange(max(monday, today), monday + timedelta(days=6),
                     _strip(text, 0, match.end()))


_BARE_WEEKDAY = re.compile(rf"^\s*{_WEEK_WORD}")
_TWO_DAYS = re.compile(r"^\s*明后(?:两)?天(?:的(?=\S))?[\s，,、：:]*")
# 今明两天, 今天到周四: days from today. 今天 alone is the activity at hand (_LEADING_DAY
# leaves it out), but a range from it is its days, or the ones after today are lost.
_TODAY_AND_TOMORROW = re.compile(r"^\s*今明(?:两)?天(?:的(?=\S))?[\s，,、：:]*")
_TODAY_TO = re.compile(r"^(?:今天|今日)(?=\s*(?:至|到|~|～|-|－|—|–))")
_FROM = re.compile(r"^\s*从\s*")
_TO = re.compile(r"^\s*(?:至|到|~|～|-|－|—|–)\s*")


def find_day_to_day(text: str, today: date) -> DateRange | None:
    """Days said in words from one to another at the start (从明天到周五, 周二到周四 值班,
    明后两天 出差): the range with the rest; None when there is none. DateError for a day
    that does not exist or an end before the start."""
    two = _TWO_DAYS.match(text)
    if two is not None:
        return DateRange(today + timedelta(days=1), today + timedelta(days=2),
                         _strip(text, 0, two.end()))
    both = _TODAY_AND_TOMORROW.match(text)
    if both is not None:
        return DateRange(today, today + timedelta(days=1), _strip(text, 0, both.end()))
    start = _FROM.match(text)
    body = text[start.end():] if start else text
    # 今天到周五: from today (a leading 今天 alone is the activity at hand, not a day).
    from_today = _TODAY_TO.match(body)
    first = from_today or _LEADING_DAY.match(body)
    to = _TO.match(body[first.end():]) if first is not None else None
    if first is None or to is None:
        return None
    said = "今天" if from_today else first.group(1)
    try:
        from bot.domain import text as words
        begin = words.parse_date("明天" if said.startswith(("明晚", "明早")) else said, today)
    except words.DateError as exc:
        raise DateError(str(exc)) from None
    end = find_leading_day(body[first.end() + to.end():], today)
    if end is None:
        return None
    if end.first < begin and _BARE_WEEKDAY.match(body[first.end() + to.end():]):
        # 下周一到周三: that week's Wednesday, not this week's before it.
        end = find_leading_day(body[first.end() + to.end():], begin)
    if end is None:
        return None
    if end.first < begin:
        raise DateError(f"结束日期 {end.first.month}月{end.first.day}日 早于开始日期 "
                        f"{begin.month}月{begin.day}日")
    return DateRange(begin, end.first, end.rest)


def find_until(text: str, today: date) -> DateRange | None:
    """A day the leave lasts until, said at the start (到12月10日 出差) or at the end
    (出差到12月10日, 出差至10号为止): the days from today to it, with the rest; None when
    there is none. DateError for a day that does not exist."""
    first = _UNTIL_FIRST.match(text)
    if first is not None:
        said = find_leading_day(text[first.end():], today)
        if said is not None:
            return DateRange(today, said.first, said.rest)
    last = _UNTIL_LAST.search(text)
    if last is not None:
        said = find_leading_day(last["day"], today)
        if said is not None and not said.rest:
            return DateRange(today, said.first, _strip(text, last.start(), len(text)))
    return None


_PARTS_OF_DAY = frozenset({"上午", "下午", "晚上", "早上", "中午", "晚", "早"})


def day_left(text: str) -> str | None:
    """A word of the text that is still a day after the days read (周二、周四 值班 read as
    周二 leaves 周四; 周二到周四 is read as no day at all): the word, for the caller to ask
    rather than excuse the wrong day; None when there is none. A day inside a word of the
    reason (明天补学) is the reason's."""
    for word in re.split(r"[\s,，、;；]+", text):
        word = word.lstrip("和及与跟还有")
        match = _LEADING_DAY.match(word) or _LEADING_WEEK.match(word)
        if match is not None and (match.end() == len(word)
                                  or _RANGE_NEXT.match(word[match.end():])
                                  or word[match.end():] in _PARTS_OF_DAY):  # 周四晚上
            return word
    return None


# A day said before a command (明天请假, 12月10日请假): the registry hands it to the
# command's arguments. 今天 and 今晚 too: 今天请假 is leave for the activity at hand.
# 明天晚上, 今天下午: the day, with the part of it people say.
DAY_AHEAD = re.compile(rf"(?:(?:今天|今日|明天|明日|后天|大后天)(?:上午|下午|晚上|早上|中午|晚|早)?"
                       rf"|今晚上?|明晚上?|今早上?|明早上?|上午|下午|晚上|早上|中午"
                       rf"|{_WEEKDAY}|{_MONTH_DAY})")


def _ends_a_range(after: str, today: date) -> bool:
    """Whether the words after a day go on to the end of a range (到周五, 至18号, 到月底),
    rather than to where the member goes: 明天 到市局开会, 明天 到上级单位开会 and 周四 到大队部
    开会 were read as ranges with no end, so no day at all, and the leave was refused as if
    the day held nothing (a first character like 上 or 大 had been taken for a day's)."""
    to = _RANGE_NEXT.match(after)
    if to is None:
        return False
    end = after[to.end():].lstrip()
    if not end or end[0].isdigit() or _LOOSE_END.match(end):
        return True
    try:
        return find_leading_day(end, today) is not None or _LEADING_WEEK.match(end) is not None
    except DateError:  # a day that does not exist (到32号): the range's reader says so
        return True


def find_leading_day(text: str, today: date) -> DateRange | None:
    """A day the text starts with (请假 12月10日 出差, 明天 值班, 下周二 培训, 10号 开会) as a
    one-day range, with the rest; None when it starts with none, or with the first day of
    a range (周一到周五). A month and day without a year is the next such day."""
    from bot.domain import text as words

    match = _LEADING_DAY.match(text)
    if match is None or _ends_a_range(text[match.end():], today):
        return None
    said = match.group(1)
    dashed = _DASHED.fullmatch(said)
    if dashed is not None and int(dashed[1]) < int(dashed[2]):
        # 12-10 can only be 12月10日; 3-5 may be 3月5日 or the 3rd to the 5th: asked.
        raise DateError(f"「{said}」是{dashed[1]}月{dashed[2]}日，还是{dashed[1]}号到{dashed[2]}号？"
                        f"请写成 {dashed[1]}月{dashed[2]}日 或 {dashed[1]}号至{dashed[2]}号")
    try:
        day = words.parse_date("明天" if said.startswith(("明晚", "明早")) else said, today)
    except words.DateError as exc:
        raise DateError(str(exc)) from None
    return DateRange(day, day, _strip(text, 0, match.end()))


# A day said first in a record of what was held or done (补签, 更正, 调研, 约谈): the past as
# people say it, and days to come too, so that one is refused rather than taken for words
# of the reason. 昨晚 is 昨天: a night study is held in the evening. A day stands alone or
# before 的 (12月9日的夜学), so 3号楼 and 周二夜学 are not read as days.
_ALONE = r"(?=[\s，,、：:。的]|$)"
# The part of the day may follow any of them (周二晚上, 12月1日晚上, 1号晚上的夜学).
# 周五晚, 上周5, and the hour said after (上周五晚七点半的夜学): the hour adds nothing to the
# day, which holds one such activity at most.
_CLOCK = r"(?:\d{1,2}\s*[:：]\s*\d{2}|[\d零〇一二两三四五六七八九十]{1,3}点(?:半|钟|整|[\d零一二三四五六七八九十]{1,3}分?)?)"
_RECORD_DAY = re.compile(
    rf"^\s*((?:(?:大前天|前天|昨天|昨日|今天|今日|明天|明日|大后天|后天)"
    rf"|(?:(?:上上|上|下下|下|这|本)个?)?{_WEEK_WORD}(?:[一二三四五六日天七]|[1-7](?!\d))"
    rf"|{_MONTH_DAY}|\d{{4}}[-./]\d{{1,2}}[-./]\d{{1,2}}|{_CN}\s*[日号號]"
    rf"|\d{{1,2}}[-./]\d{{1,2}}[日号號]?)"  # 12.1号 too: it was the reason, and the latest made up
    rf"(?:晚上|下午|上午|早上|中午|晚|早)?|昨晚上?|今晚上?|明晚上?)(?:{_CLOCK})?"
    rf"{_ALONE}的?[\s，,、：:]*")
_EVENINGS = {"昨晚": "昨天", "今晚": "今天", "明晚": "明天"}


def find_record_day(text: str, today: date) -> DateRange | None:
    """A day a record starts with (补签 张三 昨天 手机没电, 调研 城关 上周四 …, 9号, 周二,
    12月9日的夜学) as a one-day range, with the rest; None when it starts with none.
    What was held or done is past, so a bare weekday or day of the month is the latest
    such day, today included (parse_date's past=True). A day to come is returned as it
    is, for the caller to refuse; DateError for one that does not exist."""
    from bot.domain import text as words

    match = _RECORD_DAY.match(text)
    if match is None:
        return None
    said = match.group(1)
    # 今晚上 as spoken is 今晚 (it was no day: 取消活动 今晚上的夜学 proposed the latest).
    if said.removesuffix("上") in _EVENINGS:
        said = said.removesuffix("上")
    else:
        said = re.sub(r"(?:晚上|下午|上午|早上|中午|晚|早)$", "", said)
    said = re.sub(r"^(\d{1,2}[-./]\d{1,2})[日号號]$", r"\1", said)  # 12.1号
    try:
        day = words.parse_date(_EVENINGS.get(said, said), today, past=True)
    except words.DateError:
        raise DateError(f"没有{match.group(1)}这一天") from None
    return DateRange(day, day, _strip(text, 0, match.end()))



# A day among the words of what one did (学习 理论 45 昨天): said in words (昨天, 上周四,
# 12月9日, 9号), never in bare digits, which there are amounts (学习 党史 1.5: an hour and
# a half, not the 5th of January); or with a slash, which no amount has (12/1: it was the
# material, and the study recorded today).
_SAID_IN_WORDS = re.compile(r"[天日号號晚周期拜]|^\d{1,2}/\d{1,2}$")


def take_day(text: str, today: date, *, ahead: bool = False) -> tuple[date | None, str]:
    """The first word of its own in the text that is a day (as find_record_day reads it)
    and the text without it; (None, text) when there is none. DateError for a day that
    does not exist (2月30日). `ahead`: a bare weekday is the coming one, as a question
    about what is on (周五有活动吗) means, not the one gone by a record means."""
    from bot.domain.text import DateError, parse_date, split_words

    for said, at in split_words(text):
        if not _SAID_IN_WORDS.search(said):
            continue
        if ahead:
            day_part = DAY_AHEAD.fullmatch(said)
            try:
                word = _PART_SAID.sub("", said)
                word = {"今": "今天", "明": "明天"}.get(word, word)  # 明晚: 明天
                first = parse_date(word, today) if day_part else None
            except DateError:
                first = None
            if first is not None:
                return first, f"{text[:at]} {text[at + len(said):]}".strip()
            continue
        found = find_record_day(said, today)
        if found is not None and not found.rest:
            return found.first, f"{text[:at]} {text[at + len(said):]}".strip()
    return None, text


# The part of a day after it (明天晚上, 周五下午, 明晚): the day is what is read.
_PART_SAID = re.compile(r"(?:上午|下午|晚上|早上|中午)$|(?<=[今明])[晚早]上?$")

# 今天, 今晚 or 现在 said first in a leave's reason (请假 今晚 出差, 今晚请假 出差): the
# activity at hand, which 请假 alone already means, so it is no part of the reason.
_LEADING_NOW = re.compile(
    r"^\s*(?:今天晚上|今天下午|今天上午|今天|今日|今晚上|今晚|现在|这次)[\s，,、：:]+(?=\S)")


def without_leading_now(text: str) -> str:
    """The text less a leading 今天, 今晚 or 现在 that says which activity, not why: 今晚 出差
    is 出差. Said alone (请假 今晚) it stays, for the caller to ask for a reason."""
    return _LEADING_NOW.sub("", text, count=1)


def deadline(due_on: date, today: date) -> str:
    """An item's deadline as every place shows it (整改, its reply, the dashboard): by when, or
    how long past."""
    if due_on < today:
        return f"逾期 {(today - due_on).days} 天"
    return f"限 {show_date(due_on)}前"
