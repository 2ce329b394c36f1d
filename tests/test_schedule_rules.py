"""The rule parser and the holiday arithmetic: pure, no database."""

from __future__ import annotations

from datetime import date, time
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest

from bot.scheduling.holidays import MOVE, SKIP, HolidayCalendar, held_between, occurrences
from bot.scheduling.rules import RuleError, parse_duration, parse_rule
from tests.conftest import local

TZ = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize("text, kind, weekdays, at", [
    ("每月15日 14:30", "monthly_day", (), time(14, 30)),
    ("每月第一个周五 14:30", "monthly_weekday", (4,), time(14, 30)),
    ("每月最后一个周五 9:00", "monthly_weekday", (4,), time(9, 0)),
    ("每周三 19:30", "weekly", (2,), time(19, 30)),
    ("每周二、四 19:30", "weekly", (1, 3), time(19, 30)),
    ("每周二,四 19:30", "weekly", (1, 3), time(19, 30)),
    ("每周二，四 19:30", "weekly", (1, 3), time(19, 30)),
    ("周二和周四 19:30", "weekly", (1, 3), time(19, 30)),
    ("每周三19:30", "weekly", (2,), time(19, 30)),
    ("每月15号 14点半", "monthly_day", (), time(14, 30)),
    ("每周三 19点30分", "weekly", (2,), time(19, 30)),
    ("每周三 19时30分", "weekly", (2,), time(19, 30)),
    ("每周三 19点 30分", "weekly", (2,), time(19, 30)),
    ("每周三 19时", "weekly", (2,), time(19, 0)),
    ("每周三 晚上7点半", "weekly", (2,), time(19, 30)),
    ("每周三 晚上7:30", "weekly", (2,), time(19, 30)),
    ("每周三 晚上 7:30", "weekly", (2,), time(19, 30)),
    ("每周三晚上19:30", "weekly", (2,), time(19, 30)),
    ("每周三晚7点", "weekly", (2,), time(19, 0)),
    ("每月15日 下午2点半", "monthly_day", (), time(14, 30)),
    ("每月15日14:30", "monthly_day", (), time(14, 30)),
    ("每月第一个周五 下午3点", "monthly_weekday", (4,), time(15, 0)),
    ("每月15日 中午12点", "monthly_day", (), time(12, 0)),
    ("每月15日 中午1点半", "monthly_day", (), time(13, 30)),
    ("每月15日 上午9点", "monthly_day", (), time(9, 0)),
    # Hours said in words: the time was taken for the day, and the day blamed.
    ("每周三 晚七点半", "weekly", (2,), time(19, 30)),
    ("每月15日 下午三点", "monthly_day", (), time(15, 0)),
    ("每周三晚上七点三十分", "weekly", (2,), time(19, 30)),
    ("每周二、四 晚上八点十五", "weekly", (1, 3), time(20, 15)),
    # The day in words or digits, the time with a dot (each was refused as no day).
    ("每月十五号 下午两点半", "monthly_day", (), time(14, 30)),
    ("每月三十一日 14:30", "monthly_day", (), time(14, 30)),
    ("每周3 19:30", "weekly", (2,), time(19, 30)),
    ("每周2、4 19:30", "weekly", (1, 3), time(19, 30)),
    ("每周三 19.30", "weekly", (2,), time(19, 30)),
    ("每月15日 14.30", "monthly_day", (), time(14, 30)),
    # Weekdays run together, 每个月, and the day without 日 (each was refused).
    ("每周一三五 19:30", "weekly", (0, 2, 4), time(19, 30)),
    ("每周三周五 19:30", "weekly", (2, 4), time(19, 30)),
    ("每个星期二四 19:30", "weekly", (1, 3), time(19, 30)),
    ("每个月15号 14:30", "monthly_day", (), time(14, 30)),
    ("每月15 14:30", "monthly_day", (), time(14, 30)),
    ("每个月第一个周五 14:30", "monthly_weekday", (4,), time(14, 30)),
    # 每个周二 and 礼拜 (were 应以「每月」或「每周」开头).
    ("每个周二 19:30", "weekly", (1,), time(19, 30)),
    ("每礼拜二 19:30", "weekly", (1,), time(19, 30)),
    ("每个礼拜四 19:30", "weekly", (3,), time(19, 30)),
])
def test_the_forms_a_secretary_writes_are_understood(text, kind, weekdays, at):
    rule = parse_rule(text)
    assert (rule.kind, rule.weekdays, rule.at) == (kind, weekdays, at)


def test_a_rule_is_shown_back_in_its_canonical_form():
    assert parse_rule("周二和周四 19:30").describe() == "每周二、周四 19:30"
    assert parse_rule("每月最后一个周五 14:30").describe() == "每月最后一个周五 14:30"


@pytest.mark.parametrize("text, says", [
    ("每天 9:00", "应以「每月」或「每周」开头"),
    ("每月32日 9:00", "每月没有32日"),
    ("每周八 19:30", "「八」不是星期几"),
    ("每周8 19:30", "「8」不是星期几"),
    ("每月三十二日 9:00", "每月没有32日"),
    ("每周三 25.30", "没有这个时刻"),
    ("每周三", "缺少时间"),
    ("每周三 25:00", "没有这个时刻"),
    ("每周三 上午19:30", "上午没有19点"),
])
def test_an_unreadable_rule_says_what_was_not_understood_and_shows_the_forms(text, says):
    with pytest.raises(RuleError) as error:
        parse_rule(text)
    assert says in str(error.value)
    assert "每月第一个周五 14:30" in str(error.value)  # the accepted forms are listed


def test_a_missing_time_can_come_from_the_caller():
    assert parse_rule("每月最后一个周五", default_time=time(14, 30)).at == time(14, 30)


def test_durations():
    assert [parse_duration(t) for t in ("2小时", "90分钟", "1.5小时")] == [120, 90, 90]
    with pytest.raises(RuleError, match="2小时、90分钟"):
        parse_duration("两个钟")


def test_durations_said_in_words():
    """设置 夜学 每周二 19:30 两个小时 was refused: the secretary was told to write 2小时."""
    said = ("两小时", "两个小时", "一个半小时", "半小时", "一个半钟头", "一小时零十分")
    assert [parse_duration(t) for t in said] == [120, 120, 90, 30, 90, 70]
    from handlers.schedule import parse_spec
    from storage.models import ActivityType
    assert parse_spec(ActivityType.NIGHT_STUDY, "每周二 19:30 两个小时").minutes == 120
    assert parse_spec(ActivityType.NIGHT_STUDY, "每周二 19:30 一个半钟头").minutes == 90


def test_first_and_last_weekday_of_the_month():
    first = parse_rule("每月第一个周五 14:30")
    last = parse_rule("每月最后一个周五 14:30")
    assert list(first.days_between(date(2026, 11, 1), date(2026, 11, 30))) == [date(2026, 11, 6)]
    assert list(last.days_between(date(2026, 11, 1), date(2026, 11, 30))) == [date(2026, 11, 27)]


def test_the_31st_is_skipped_in_a_shorter_month():
    rule = parse_rule("每月31日 9:00")
    assert list(rule.days_between(date(2026, 11, 1), date(2026, 12, 31))) == [date(2026, 12, 31)]


def test_night_study_skips_a_holiday_and_theme_day_moves_to_the_next_working_day():
    calendar = HolidayCalendar()
    wednesday = parse_rule("每周三 19:30")
    held = held_between(wednesday, SKIP, calendar, local(2026, 9, 28, 0, 0), local(2026, 10, 15, 0, 0), TZ)
    assert [o.starts_at.date() for o in held] == [date(2026, 9, 30), date(2026, 10, 14)]  # 10-07 is 国庆

    first_friday = parse_rule("每月第一个周五 14:30")
    [october] = [o for o in occurrences(first_friday, MOVE, calendar, date(2026, 10, 1),
                                        date(2026, 10, 31), TZ)]
    assert october.nominal == local(2026, 10, 2, 14, 30)
    assert october.starts_at == local(2026, 10, 8, 14, 30)  # after 10-01..10-07
    assert "顺延到 10月8日" in october.note


def test_a_theme_day_moved_past_its_months_end_is_held_earlier_in_its_month():
    """May 2026: the 30th is a Saturday and June 1 the next working day. 顺延 there would
    leave May without its 主题党日 (a required monthly meeting) and give June two."""
    calendar = HolidayCalendar()
    thirtieth = parse_rule("每月30日 14:30")
    held = held_between(thirtieth, MOVE, calendar, local(2026, 5, 1, 0, 0),
                        local(2026, 7, 1, 0, 0), TZ)
    assert [o.starts_at for o in held] == [local(2026, 5, 29, 14, 30), local(2026, 6, 30, 14, 30)]
    assert "提前到 5月29日" in held[0].note
    # Asked for a span that ends before the nominal day, it is still found on its new day.
    [may] = held_between(thirtieth, MOVE, calendar, local(2026, 5, 28, 0, 0),
                         local(2026, 5, 29, 20, 0), TZ)
    assert may.starts_at == local(2026, 5, 29, 14, 30)
    # Within the month it still moves forward (August 30 is a Sunday: Monday the 31st).
    [august] = held_between(thirtieth, MOVE, calendar, local(2026, 8, 1, 0, 0),
                            local(2026, 9, 1, 0, 0), TZ)
    assert august.starts_at == local(2026, 8, 31, 14, 30) and "顺延到 8月31日" in august.note


def test_a_swapped_working_saturday_is_a_working_day():
    tenth = parse_rule("每月10日 14:30")
    held = held_between(tenth, MOVE, HolidayCalendar(), local(2026, 10, 1, 0, 0),
                        local(2026, 11, 1, 0, 0), TZ)
    assert [o.starts_at for o in held] == [local(2026, 10, 10, 14, 30)]  # a Saturday, 调休


def test_an_ordinary_weekend_moves_a_monthly_day_but_not_a_rule_that_names_the_weekday():
    calendar = HolidayCalendar()
    tenth = parse_rule("每月10日 14:30")  # 2027 is unknown; use 2026-01-10, a plain Saturday
    [january] = held_between(tenth, MOVE, calendar, local(2026, 1, 1, 0, 0), local(2026, 1, 31, 0, 0), TZ)
    assert january.starts_at == local(2026, 1, 12, 14, 30)
    saturday = parse_rule("每周六 9:00")
    held = held_between(saturday, SKIP, calendar, local(2026, 1, 1, 0, 0), local(2026, 1, 11, 0, 0), TZ)
    assert [o.starts_at.date() for o in held] == [date(2026, 1, 10)]


def _known_until_2025(day: date):
    if day.year >= 2026:
        raise NotImplementedError(f"no data for {day.year}")
    return chinese_calendar.get_holiday_detail(day)


def test_an_uncovered_year_treats_weekends_as_rest_days_and_warns_once(caplog):
    calendar = HolidayCalendar(source=_known_until_2025)
    assert not calendar.covers(2026) and calendar.covers(2025)
    wednesday = parse_rule("每周三 19:30")
    with caplog.at_level("WARNING", logger="djbot.holidays"):
        held = held_between(wednesday, SKIP, calendar, local(2026, 10, 1, 0, 0),
                            local(2026, 10, 15, 0, 0), TZ)
        calendar.is_workday(date(2026, 12, 1))
    # Without the data, 10-07 is an ordinary Wednesday: the night study is held.
    assert [o.starts_at.date() for o in held] == [date(2026, 10, 7), date(2026, 10, 14)]
    assert [r.message for r in caplog.records].count(caplog.records[0].message) == 1
    assert "2026" in caplog.records[0].message
    assert not calendar.is_workday(date(2026, 10, 10))  # no 调休 known: Saturday is rest


def test_an_uncovered_year_still_rests_on_the_holidays_fixed_by_date():
    # chinesecalendar 1.11 stops at 2026; on 2026-12-29 the scheduler creates the activities
    # of 2027-01-01, a Friday. 元旦, 劳动节 (5-1, 5-2) and 国庆 (10-1 to 10-3) are rest days
    # by law whatever the year's announcement says: nobody is called to a night study then.
    calendar = HolidayCalendar(source=_known_until_2025)
    thursday = parse_rule("每周四 19:30")  # 2026-01-01 is a Thursday
    held = held_between(thursday, SKIP, calendar, local(2026, 1, 1, 0, 0),
                        local(2026, 1, 10, 0, 0), TZ)
    assert [o.starts_at.date() for o in held] == [date(2026, 1, 8)]
    first = parse_rule("每月1日 14:30")
    [may] = held_between(first, MOVE, calendar, local(2026, 5, 1, 0, 0),
                         local(2026, 5, 31, 0, 0), TZ)
    assert may.starts_at == local(2026, 5, 4, 14, 30)  # 5-1 Friday, by law; then a weekend
    assert calendar.is_statutory_holiday(date(2026, 10, 3))
    assert calendar.is_workday(date(2026, 10, 7))  # the rest of 国庆 week is announced
    real = HolidayCalendar()  # 2027 unknown in the installed library
    assert not real.covers(2027) or real.is_statutory_holiday(date(2027, 1, 1))
    assert not real.is_workday(date(2027, 1, 1))
