"""Pure attendance arithmetic: activity names, times, status and participation."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.domain.attendance import (
    Participation,
    checkin_status,
    leave_allowed,
    parse_activity_type,
    participation_rate,
    plan_times,
    show_time,
    split_lecturer,
)
from storage.models import ActivityType, AttendanceStatus
from tests.conftest import SHANGHAI, local


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("主题党日", ActivityType.THEME_DAY),
        ("党日", ActivityType.THEME_DAY),
        ("夜学", ActivityType.NIGHT_STUDY),
        ("中心组", ActivityType.CENTRAL_STUDY),
        ("大讲堂", ActivityType.LECTURE_HALL),
        (" 党课 ", ActivityType.PARTY_LECTURE),
        ("吃饭", None),
        ("", None),
    ],
)
def test_activity_types_by_name_and_alias(typed, expected):
    assert parse_activity_type(typed) == expected


def test_night_study_is_shorter_and_checkin_opens_before_the_start():
    start = local(2026, 11, 25, 19, 30)
    night = plan_times(ActivityType.NIGHT_STUDY, start, opens_minutes_before=30)
    assert night.ends_at == start + timedelta(minutes=90)
    assert night.checkin_opens_at == local(2026, 11, 25, 19, 0)
    assert night.checkin_closes_at == night.ends_at
    assert plan_times(
        ActivityType.THEME_DAY, start, opens_minutes_before=30
    ).ends_at == start + timedelta(hours=2)


def test_late_only_after_the_grace():
    start = local(2026, 11, 23, 9, 0)
    assert (
        checkin_status(start - timedelta(minutes=20), start, grace_minutes=10)
        == AttendanceStatus.PRESENT
    )
    assert (
        checkin_status(start + timedelta(minutes=10), start, grace_minutes=10)
        == AttendanceStatus.PRESENT
    )
    assert (
        checkin_status(start + timedelta(minutes=10, seconds=1), start, grace_minutes=10)
        == AttendanceStatus.LATE
    )


def test_leave_until_a_check_in_would_be_late():
    start = local(2026, 11, 23, 9, 0)
    assert leave_allowed(start - timedelta(days=1), start, grace_minutes=10)
    assert leave_allowed(start + timedelta(minutes=10), start, grace_minutes=10)
    assert not leave_allowed(start + timedelta(minutes=10, seconds=1), start, grace_minutes=10)


def test_participation_excludes_leave_from_the_denominator():
    assert participation_rate(present=6, late=1, makeup=1, expected=10, leave=1) == pytest.approx(
        8 / 9
    )
    assert participation_rate(present=0, late=0, makeup=0, expected=2, leave=2) is None
    figures = Participation(expected=10, present=7, late=1, leave=1)
    assert (figures.attended, figures.counted, figures.missing) == (8, 9, 1)
    assert figures.summary() == "8/9（88.9%）"


def test_lecturer_is_split_from_the_topic():
    assert split_lecturer("新时代公安工作 主讲 王五") == ("新时代公安工作", "王五")
    assert split_lecturer("新时代公安工作") == ("新时代公安工作", None)
    assert split_lecturer("主讲") == ("主讲", None)


def test_times_are_shown_in_the_bureau_zone():
    now = local(2026, 11, 23, 9, 0)
    assert show_time(local(2026, 11, 23, 9, 5), SHANGHAI, now) == "09:05"
    assert show_time(local(2026, 11, 30, 19, 30), SHANGHAI, now) == "11月30日 19:30"
