"""The reminder plan, pure: due times, quiet hours, overrides, pausing and unique keys."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, time, timedelta
from zoneinfo import ZoneInfo

from bot.scheduling import plan as p
from tests.conftest import local

TZ = ZoneInfo("Asia/Shanghai")
QUIET = p.QuietHours(time(22, 0), time(7, 30))
SEC = p.Recipient(1, "书记", "wecom", "sec")
WANG = p.Recipient(2, "小王", "wecom", "wang")
LI = p.Recipient(3, "小李", "wecom", "li")
ZHAO = p.Recipient(4, "小赵", "wecom", "zhao")


def branch(**plan) -> p.BranchView:
    return p.BranchView(1, "一支部", (p.GroupChat("wecom", "g1"),), (SEC,),
                        plan=p.ReminderPlan.from_overrides(plan))


ACTIVITY_ID = 7


def activity(start, minutes=90) -> p.ActivityView:
    return p.ActivityView(
        ACTIVITY_ID, 1, "政治夜学", "学习党章", start, start + timedelta(minutes=minutes),
        expected=(p.Expected(SEC, "present"), p.Expected(WANG, "missing"),
                  p.Expected(LI, "leave"), p.Expected(ZHAO, "missing", nudges_off=True)))


def plan_of(reminders):
    return [(r.due_at.astimezone(TZ).strftime("%m-%d %H:%M"), r.kind, r.target) for r in reminders]


def test_the_default_plan_for_an_evening_study():
    reminders = p.activity_reminders(activity(local(2026, 11, 25, 19, 30)), branch(), TZ, QUIET)
    assert plan_of(reminders) == [
        ("11-24 09:00", "reminder.day_before", "sec"),
        ("11-25 18:30", "reminder.group_before", "g1"),
        ("11-25 19:30", "reminder.start", "g1"),
        ("11-25 19:45", "nudge", "wang"),  # not 小李 (on leave), not 小赵 (nudges off)
        ("11-25 21:00", "reminder.missing", "sec"),
    ]
    assert "小李" in reminders[0].text  # who is on leave, for the secretary
    assert "小赵" in reminders[-1].text and "小王" in reminders[-1].text
    assert all("小王" not in r.text for r in reminders if r.target_kind == "group")


def test_a_message_that_would_land_in_quiet_hours_waits_until_morning():
    reminders = p.activity_reminders(activity(local(2026, 11, 25, 20, 30), minutes=120), branch(),
                                     TZ, QUIET)
    assert ("11-26 07:30", "reminder.missing", "sec") in plan_of(reminders)  # ends 22:30


def test_a_nudge_in_quiet_hours_is_dropped_not_delayed():
    reminders = p.activity_reminders(activity(local(2026, 11, 25, 21, 50)), branch(), TZ, QUIET)
    assert "nudge" not in [r.kind for r in reminders]


def test_an_activity_the_secretary_set_in_quiet_hours_keeps_its_reminders():
    reminders = p.activity_reminders(activity(local(2026, 11, 25, 22, 30)), branch(), TZ, QUIET)
    assert ("11-25 22:45", "nudge", "wang") in plan_of(reminders)
    assert ("11-25 22:30", "reminder.start", "g1") in plan_of(reminders)


def test_a_branch_can_change_its_plan():
    reminders = p.activity_reminders(activity(local(2026, 11, 25, 19, 30)),
                                     branch(group_before_minutes=30, nudge_after_minutes=0,
                                            day_before=False, day_before_at="08:00"),
                                     TZ, QUIET)
    assert [k for _, k, _ in plan_of(reminders)] == ["reminder.group_before", "reminder.start",
                                                      "reminder.missing"]
    assert plan_of(reminders)[0][0] == "11-25 19:00"


def test_each_reminder_has_a_unique_key_of_kind_target_occurrence_and_activity():
    reminders = p.activity_reminders(activity(local(2026, 11, 25, 19, 30)), branch(), TZ, QUIET)
    keys = [r.dedupe_key for r in reminders]
    assert len(set(keys)) == len(keys)
    again = p.activity_reminders(activity(local(2026, 11, 25, 19, 30)), branch(), TZ, QUIET)
    assert [r.dedupe_key for r in again] == keys  # the same occurrence, the same keys
    nudge = next(r for r in reminders if r.kind == "nudge")
    assert nudge.dedupe_key == ("nudge|wecom:user:wang|2026-11-25T19:30:00+08:00"
                                f"|activity:{ACTIVITY_ID}")
    # Another activity of the branch at the same minute has reminders of its own.
    other = p.activity_reminders(replace(activity(local(2026, 11, 25, 19, 30)),
                                         id=ACTIVITY_ID + 1), branch(), TZ, QUIET)
    assert not {r.dedupe_key for r in other} & set(keys)


def test_pausing_covers_days_up_to_and_including_the_date():
    paused = p.BranchView(1, "一支部", (), (), paused_until=date(2026, 12, 31))
    assert p.is_paused(paused, local(2026, 12, 31, 23, 0), TZ)
    assert not p.is_paused(paused, local(2027, 1, 1, 7, 30), TZ)


def test_catch_up_sends_within_the_grace_and_reports_older_ones():
    reminders = p.activity_reminders(activity(local(2026, 11, 25, 19, 30)), branch(), TZ, QUIET)
    send, missed = p.partition_due(reminders, since=local(2026, 11, 25, 17, 0),
                                   now=local(2026, 11, 25, 20, 0), grace=timedelta(minutes=30))
    assert [r.kind for r in send] == ["reminder.start", "nudge"]
    assert [r.kind for r in missed] == ["reminder.group_before"]


def test_weekly_pushes_move_off_a_holiday_monday():
    workday = lambda d: d not in {date(2026, 10, 5), date(2026, 10, 6), date(2026, 10, 7)}  # noqa: E731
    pushes = p.weekly_pushes(local(2026, 10, 4, 0, 0), local(2026, 10, 13, 0, 0), TZ, workday)
    assert [(k.date(), at) for k, at in pushes] == [
        (date(2026, 10, 5), local(2026, 10, 8, 9, 0)), (date(2026, 10, 12), local(2026, 10, 12, 9, 0))]


def test_a_day_before_message_set_for_a_quiet_evening_goes_that_morning_not_on_the_day():
    # day_before_at 22:30 fell in quiet hours and waited for their end: 07:30 on the
    # activity's own day, where its 【明日活动】 said 明日 of today.
    reminders = p.activity_reminders(activity(local(2026, 11, 25, 19, 30)),
                                     branch(day_before_at="22:30"), TZ, QUIET)
    [day_before] = [r for r in reminders if r.kind == p.DAY_BEFORE]
    assert day_before.due_at.astimezone(TZ).strftime("%m-%d %H:%M") == "11-24 07:30"
    assert day_before.text.startswith("【明日活动】")
    early = p.activity_reminders(activity(local(2026, 11, 25, 19, 30)),
                                 branch(day_before_at="06:00"), TZ, QUIET)
    [day_before] = [r for r in early if r.kind == p.DAY_BEFORE]
    assert day_before.due_at.astimezone(TZ).strftime("%m-%d %H:%M") == "11-24 07:30"


def test_an_activity_as_quiet_hours_end_has_one_group_notice_not_two_at_once():
    # 07:30: the hour-before notice (06:30) waited for the end of quiet hours, 07:30, and
    # the group heard 「07:30 开始」 and 「现在开始」 in the same minute.
    reminders = p.activity_reminders(activity(local(2026, 11, 25, 7, 30)), branch(), TZ, QUIET)
    assert [(due, kind) for due, kind, target in plan_of(reminders) if target == "g1"] == [
        ("11-25 07:30", "reminder.start")]
    # At 08:00 the notice held to 07:30 still comes first, half an hour ahead.
    later = p.activity_reminders(activity(local(2026, 11, 25, 8, 0)), branch(), TZ, QUIET)
    assert [(due, kind) for due, kind, target in plan_of(later) if target == "g1"] == [
        ("11-25 07:30", "reminder.group_before"), ("11-25 08:00", "reminder.start")]


def test_a_plan_without_the_hour_before_notice_still_plans_the_rest():
    reminders = p.activity_reminders(activity(local(2026, 11, 25, 19, 30)),
                                     branch(group_before_minutes=0), TZ, QUIET)
    assert [kind for _, kind, target in plan_of(reminders) if target == "g1"] == ["reminder.start"]
