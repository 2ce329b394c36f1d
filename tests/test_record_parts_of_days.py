"""The day of a record said with its part (周二晚上, 12月1日晚上, 周五下午) or an activity said
with 活动 (夜学活动): 补签 and 更正 made up or corrected the latest activity instead (更正
marked a member absent at the theme day he attended), 调研 and 约谈 were recorded on the day
they were typed, and 调研 lost counts written after a comma or after the note."""

from __future__ import annotations

from datetime import date

import pytest

from storage.models import AttendanceStatus, ResearchVisit, Talk
from tests.conftest import local
from tests.test_committee_loop import bureau, rows  # noqa: F401
from tests.test_figures import run_ticks
from tests.test_whose_activity import _branch, _records

pytestmark = pytest.mark.words  # the SQLite pass only (tests/conftest.py)

NIGHT_STUDY = ("政治夜学", "每周二、周四 19:30", 90, None)
THEME_DAY = ("主题党日", "每月2日 14:30", 120, None)  # Wednesday 12-2


@pytest.mark.parametrize("said", [
    "补签 李明 周二晚上 手机没电",
    "补签 李明 周二晚上的夜学 手机没电",
    "补签 李明 12月1日晚上 手机没电",
    "补签 李明 1号晚上 手机没电",
    "补签 李明 星期二晚上的政治夜学 手机没电",
    "补签 李明 夜学活动 手机没电",
    "补签 李明 政治夜学活动 手机没电",
])
def test_makeup_for_an_evening_named_goes_to_that_evenings_activity(runtime, chat, clock, said):
    _branch(runtime, NIGHT_STUDY, THEME_DAY)
    clock.set(local(2026, 11, 30, 8, 0))
    run_ticks(runtime, clock, local(2026, 12, 3, 10, 0))  # 夜学 Tue 12-1, 党日 Wed 12-2 held
    reply = chat.say("sec", said, chat="g1")
    made_up = [r for r in _records(runtime) if r[0] == "李明" and r[3] == AttendanceStatus.MAKEUP]
    assert made_up == [("李明", "政治夜学", "12-1", AttendanceStatus.MAKEUP)], (reply.text, made_up)


def test_correction_for_an_evening_named_goes_to_that_evenings_activity(runtime, chat, clock):
    _branch(runtime, NIGHT_STUDY, THEME_DAY)
    clock.set(local(2026, 11, 30, 8, 0))
    run_ticks(runtime, clock, local(2026, 12, 1, 19, 40))
    assert "签到成功" in chat.say("li", "签到", chat="g1").text          # 夜学 12-1
    run_ticks(runtime, clock, local(2026, 12, 2, 14, 40))
    assert "签到成功" in chat.say("li", "签到", chat="g1").text          # 党日 12-2
    run_ticks(runtime, clock, local(2026, 12, 3, 10, 0))
    reply = chat.say("sec", "更正 李明 缺席 周二晚上 他人代签", chat="g1")
    recs = {(r[1], r[2]): r[3] for r in _records(runtime) if r[0] == "李明"}
    assert recs[("主题党日", "12-2")] != AttendanceStatus.ABSENT, (reply.text, recs)
    assert recs[("政治夜学", "12-1")] == AttendanceStatus.ABSENT, (reply.text, recs)


@pytest.mark.parametrize("said", ["约谈 二支部 周五下午 问题 夜学到课率低 整改 按时开展",
                                  "约谈 二支部 11月20日下午 问题 夜学到课率低 整改 按时开展",
                                  "约谈 二支部 上周五晚上 问题 夜学到课率低 整改 按时开展"])
def test_a_talk_on_an_afternoon_named_is_recorded_on_that_day(runtime, chat, bureau,  # noqa: F811
                                                              said):
    reply = chat.say("lead", said, chat="lg")
    talks = rows(runtime, Talk)
    assert [t.talked_on for t in talks] == [date(2026, 11, 20)], reply.text


@pytest.mark.parametrize("said", ["调研 二支部 周五下午 发现问题 2 解决 1",
                                  "调研 二支部 上周五下午 发现问题 2 解决 1"])
def test_a_visit_on_an_afternoon_named_is_recorded_on_that_day(runtime, chat, bureau,  # noqa: F811
                                                               said):
    reply = chat.say("lead", said, chat="lg")
    visits = rows(runtime, ResearchVisit)
    assert [(v.visited_on, v.problems_found, v.problems_solved) for v in visits] == [
        (date(2026, 11, 20), 2, 1)], (
        reply.text, [(v.visited_on, v.problems_found, v.problems_solved, v.note) for v in visits])


@pytest.mark.parametrize("said", ["调研 二支部 11月20日下午 发现问题 2 解决 1",
                                  "调研 二支部，发现问题2，解决1",
                                  "调研 二支部 发现问题 2，解决 1",
                                  "调研 二支部 前天 走访值班室 发现问题 2 解决 1",
                                  # said in a sentence: 已解决 and 其中解决 were left in the note
                                  "调研 二支部 发现问题2个，已解决1个",
                                  "调研 二支部 发现问题 2 个，其中解决 1 个",
                                  "调研 二支部 走访值班室，共发现问题2个，当场解决1个"])
def test_a_visits_counts_are_not_lost_to_the_note(runtime, chat, bureau, said):  # noqa: F811
    reply = chat.say("lead", said, chat="lg")
    visits = rows(runtime, ResearchVisit)
    assert [(v.problems_found, v.problems_solved) for v in visits] == [(2, 1)], (
        reply.text, [(v.visited_on, v.problems_found, v.problems_solved, v.note) for v in visits])


@pytest.mark.parametrize("said", ["取消活动 今晚的夜学 临时勤务", "取消活动 今晚夜学 临时勤务",
                                  "取消活动 夜学活动 临时勤务", "取消活动 12月3日的夜学 临时勤务",
                                  # 取消 next to the activity, as a secretary types it
                                  "取消夜学 临时勤务", "夜学取消 临时勤务", "今晚的夜学取消 临时勤务",
                                  "取消 今晚的夜学 临时勤务",
                                  # 今晚上 as spoken: proposed the theme day, reason and all
                                  "取消活动 今晚上的夜学 临时勤务", "今晚上的夜学取消 临时勤务",
                                  # 下次 glued on (proposed the theme day), the part of the
                                  # day after the weekday (was no command)
                                  "取消活动 下次夜学 临时勤务", "取消 周四晚上的夜学 临时勤务",
                                  "取消活动 下一次的夜学 临时勤务"])
def test_cancelling_tonights_night_study_by_its_day_cancels_it(runtime, chat, clock, said):
    """Thursday 10:00: 取消活动 今晚的夜学 proposed yesterday's theme day, and 确认 cancelled
    it, its points reversed."""
    from sqlmodel import Session, select

    from storage.models import Activity

    _branch(runtime, NIGHT_STUDY, THEME_DAY)
    clock.set(local(2026, 11, 30, 8, 0))
    run_ticks(runtime, clock, local(2026, 12, 3, 10, 0))
    asked = chat.say("sec", said, chat="g1")
    assert asked.text.startswith("将取消政治夜学（19:30）"), asked.text  # tonight's
    assert "已取消" in chat.say("sec", "确认", chat="g1").text
    with Session(runtime.engine) as s:
        cancelled = [(a.type, a.cancel_reason) for a in s.exec(
            select(Activity).where(Activity.status == "cancelled"))]
    assert cancelled == [("政治夜学", "临时勤务")]


@pytest.mark.parametrize("said", ["开始 党课 廉政教育 主讲人 王建国", "开始 党课 廉政教育 主讲：王建国",
                                  "开始 党课 廉政教育 主讲 @王建国", "开始 党课 廉政教育 主讲 王建国同志"])
def test_the_lecturer_is_the_name_said_after_zhujiang(runtime, chat, clock, said):
    """主讲人 王建国 recorded the lecturer 「人 王建国」, 主讲：王建国 「:王建国」, and the @ of
    主讲 @王建国 was cleaned away with the group's mentions: no lecturer credited."""
    from sqlmodel import Session, select

    from storage.models import Activity

    _branch(runtime)
    clock.set(local(2026, 12, 3, 14, 0))
    assert not chat.say("sec", said, chat="g1").is_error
    with Session(runtime.engine) as s:
        [activity] = s.exec(select(Activity)).all()
    assert (activity.topic, activity.lecturer) == ("廉政教育", "王建国")


def test_a_reading_class_session_with_its_own_topic_counts_for_the_class(
        runtime, chat, clock, bureau):  # noqa: F811 - the fixture imported above
    """开始 读书班 主题教育第一期 第二讲 学习党章 was a session of no class: 已开课 0 次, and the
    class's 参训率 without it. 报名 张三、李四 called both unknown."""
    assert "报名 2 人" in chat.say("lead", "读书班 主题教育第一期 报名 张三、李四", chat="lg").text
    opened = chat.say("sec1", "开始 读书班 主题教育第一期 第二讲 学习党章", chat="g1")
    assert not opened.is_error, opened.text
    chat.say("zs", "签到", chat="g1")
    clock.advance(minutes=30)
    chat.say("sec1", "结束", chat="g1")
    assert "已开课 1 次" in chat.say("lead", "读书班 主题教育第一期", chat="lg").text


@pytest.mark.parametrize("said", ["取消活动 周四的夜学 临时勤务", "取消活动 10号的夜学 临时勤务"])
def test_cancelling_a_coming_weekdays_night_study(runtime, chat, clock, said):
    """Tuesday evening: 周四的夜学 is this Thursday's (it was read as last Thursday's)."""
    _branch(runtime, NIGHT_STUDY, THEME_DAY)
    clock.set(local(2026, 12, 8, 12, 0))
    run_ticks(runtime, clock, local(2026, 12, 8, 21, 30))
    reply = chat.say("sec", said, chat="g1")
    assert reply.text.startswith("将取消政治夜学（12月10日 19:30）"), reply.text
