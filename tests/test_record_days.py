"""A record names its day as people say it: 补签 张三 昨天 手机没电, 更正 李四 缺席 上周五 代签,
补签 张三 30号 …, 补签 张三 周二 夜学 …. What is recorded is past, so a bare weekday or day of
the month is the latest one; a day to come, or one that does not exist, is refused and
nothing changes.

What a user notices: the record of the day named changes, not the latest activity's, and
the reply names the activity and its day.
"""

from __future__ import annotations

from datetime import date

import pytest

from bot.domain.dates import DateError, find_record_day
from bot.domain.text import parse_date

THURSDAY = date(2026, 12, 3)


# --- the days, pure --------------------------------------------------------------------


@pytest.mark.parametrize(("said", "day"), [
    ("昨天", date(2026, 12, 2)),
    ("昨日", date(2026, 12, 2)),
    ("前天", date(2026, 12, 1)),
    ("大前天", date(2026, 11, 30)),
    ("上周四", date(2026, 11, 26)),
    ("上星期日", date(2026, 11, 29)),
    ("上上周一", date(2026, 11, 16)),
    ("周二", date(2026, 12, 1)),  # the last Tuesday
    ("周四", THURSDAY),  # today is the latest Thursday
    ("周五", date(2026, 11, 27)),
    ("9号", date(2026, 11, 9)),  # the last 9th
    ("3日", THURSDAY),
    ("30号", date(2026, 11, 30)),
    ("12月1日", date(2026, 12, 1)),
])
def test_a_day_past_is_the_latest_such_day(said, day):
    assert parse_date(said, THURSDAY, past=True) == day


@pytest.mark.parametrize(("said", "day"), [
    ("周二", date(2026, 12, 8)),  # leave and schedules: the next Tuesday
    ("9号", date(2026, 12, 9)),
    ("1月5日", date(2027, 1, 5)),
    ("上周四", date(2026, 11, 26)),  # said with its week, the same either way
    ("昨天", date(2026, 12, 2)),
])
def test_without_past_a_bare_day_is_still_the_next_one(said, day):
    assert parse_date(said, THURSDAY) == day


def test_a_month_and_day_past_is_last_years_only_across_new_year():
    assert parse_date("12月30日", date(2027, 1, 2), past=True) == date(2026, 12, 30)
    # Three weeks ahead is a day to come, for the caller to refuse, not last year's.
    assert parse_date("12月24日", THURSDAY, past=True) == date(2026, 12, 24)


@pytest.mark.parametrize(("text", "day", "rest"), [
    ("昨天 手机没电", date(2026, 12, 2), "手机没电"),
    ("昨晚 在值班室学习", date(2026, 12, 2), "在值班室学习"),
    ("前天的夜学 手机没电", date(2026, 12, 1), "夜学 手机没电"),
    ("12月1日的夜学 手机没电", date(2026, 12, 1), "夜学 手机没电"),
    ("周二，夜学 手机没电", date(2026, 12, 1), "夜学 手机没电"),
    ("9号 在场", date(2026, 11, 9), "在场"),
    ("明天 在场", date(2026, 12, 4), "在场"),  # returned, for the caller to refuse
])
def test_a_record_day_is_read_from_the_start_of_the_text(text, day, rest):
    found = find_record_day(text, THURSDAY)
    assert found is not None and (found.first, found.rest) == (day, rest)


@pytest.mark.parametrize("text", ["手机没电", "3号楼值班", "周二夜学时手机没电", "昨天他说了", ""])
def test_words_that_only_start_like_a_day_are_no_day(text):
    assert find_record_day(text, THURSDAY) is None


def test_a_day_that_does_not_exist_is_said_so():
    with pytest.raises(DateError, match="没有2月30日这一天"):
        find_record_day("2月30日 在场", THURSDAY)
