"""设置 / 日程 / 暂停提醒 / 恢复提醒 / 不要提醒我 (关闭提醒) / 恢复提醒我, spoken in chat."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import Session, select

from storage.models import (
    Activity,
    BranchReminderSettings,
    Member,
    OutboxMessage,
    Role,
    Schedule,
)
from tests.conftest import TEST_DB, local
from tests.factories import bind_chat, make_branch, make_member, seed


@pytest.fixture
def branch(engine):
    def build(session):
        branch = make_branch(session, "城关支部")
        make_member(session, branch, "王书记", role=Role.SECRETARY, wecom="sec")
        make_member(session, branch, "小李", wecom="li")
        bind_chat(session, branch, "g1")
        return branch.id
    return seed(engine, build)


def schedules(engine) -> list[Schedule]:
    with Session(engine) as session:
        return list(session.exec(select(Schedule)).all())


def test_a_secretary_sets_a_monthly_theme_day_and_sees_the_next_dates(chat, engine, branch):
    reply = chat.say("sec", "设置 主题党日 每月15日 14:30 2小时", chat="g1")
    assert not reply.is_error, reply.text
    assert "每月15日 14:30" in reply.text and "顺延" in reply.text
    assert "12月15日 周二 14:30" in reply.text  # the clock is Monday 2026-11-23
    [saved] = schedules(engine)
    assert (saved.activity_type, saved.rule, saved.duration_minutes, saved.holiday_policy) == (
        "主题党日", "每月15日 14:30", 120, "move")


def test_night_study_defaults_to_skipping_holidays_and_a_second_set_changes_it(chat, engine, branch):
    chat.say("sec", "设置 夜学 每周三 19:30", chat="g1")
    reply = chat.say("sec", "设置 夜学 每周二、四 19:30 1.5小时", chat="g1")
    assert "不举行" in reply.text
    [saved] = schedules(engine)
    assert (saved.activity_type, saved.rule, saved.duration_minutes, saved.holiday_policy) == (
        "政治夜学", "每周二、周四 19:30", 90, "skip")


def test_a_rule_djbot_cannot_read_is_explained_and_nothing_is_saved(chat, engine, branch):
    reply = chat.say("sec", "设置 主题党日 每个月中旬", chat="g1")
    assert reply.is_error
    assert "看不懂「每个月中旬」" in reply.text and "每月第一个周五 14:30" in reply.text
    assert "例如：设置" in reply.text
    assert schedules(engine) == []


@pytest.mark.parametrize("said, rule, minutes", [
    # The minutes of the time typed apart, or with 分: the time, never a duration.
    ("设置 夜学 每周三 19点 30分", "每周三 19:30", 90),
    ("设置 主题党日 每月15日 14点 30分", "每月15日 14:30", 120),
    ("设置 夜学 每周三 19点30分", "每周三 19:30", 90),
    ("设置 夜学 每周三 19时30分", "每周三 19:30", 90),
    ("设置 夜学 每周三 19点30分 2小时", "每周三 19:30", 120),
    # The part of the day said with the hour, apart or glued to the day.
    ("设置 夜学 每周三 晚上7点半", "每周三 19:30", 90),
    ("设置 夜学 每周三 晚上7:30", "每周三 19:30", 90),
    ("设置 夜学 每周三晚上19:30", "每周三 19:30", 90),
    ("设置 主题党日 每月15日 下午2点半", "每月15日 14:30", 120),
    ("设置 主题党日 每月第一个周五 下午3点", "每月第一个周五 15:00", 120),
    # Hours said in words: taken for the day, and the day was blamed (不是星期几).
    ("设置 夜学 每周三 晚七点半 90分钟", "每周三 19:30", 90),
    ("设置 主题党日 每月15日 下午三点 2小时", "每月15日 15:00", 120),
    # From and to: the start and how long (the range was refused as no weekday).
    ("设置 夜学 每周三 19:30-21:00", "每周三 19:30", 90),
    ("设置 夜学 每周三 19:30至21:00", "每周三 19:30", 90),
    ("设置 夜学 每周三 19：30～21：00", "每周三 19:30", 90),
    ("设置 夜学 每周三 晚上7点到9点", "每周三 19:00", 120),
    ("设置 主题党日 每月15日 14:30-16:30", "每月15日 14:30", 120),
    ("设置 主题党日 每月15日 下午2点半到5点", "每月15日 14:30", 150),
    # A span said in words (was 「三晚上7点到」不是星期几).
    ("设置 夜学 每周三 晚上七点到九点", "每周三 19:00", 120),
    ("设置 主题党日 每月15日 下午两点半到四点半", "每月15日 14:30", 120),
    ("设置 夜学 每周三 晚上七点半到九点 一个半小时", "每周三 19:30", 90),
    # A phone's dots, and the length said again (were 「三19:30-」不是星期几).
    ("设置 夜学 每周三 19.30-21.00", "每周三 19:30", 90),
    ("设置 夜学 每周三 19.30-21.00 顺延", "每周三 19:30", 90),
    ("设置 夜学 每周三 19:30-21.00 1.5h", "每周三 19:30", 90),
    ("设置 夜学 每周三 19:30-21:00 1.5小时", "每周三 19:30", 90),
    ("设置 主题党日 每月15日 14:30-16:30，两个小时", "每月15日 14:30", 120),
    # Voice input's commas part the words (were 不知道要设置「主题党日，每月15日，…」).
    ("设置 主题党日，每月15日，14:30，两个小时，顺延", "每月15日 14:30", 120),
    ("设置 主题党日 每月15号下午2点半，2小时。", "每月15日 14:30", 120),
    ("设置 夜学，每周二，四，19:30", "每周二、周四 19:30", 90),
    ("设置 夜学 周三 19:30 吧", "每周三 19:30", 90),
])
def test_a_time_is_read_as_secretaries_write_it(chat, engine, branch, said, rule, minutes):
    reply = chat.say("sec", said, chat="g1")
    assert not reply.is_error, reply.text
    assert [(s.rule, s.duration_minutes) for s in schedules(engine)] == [(rule, minutes)]


@pytest.mark.parametrize("said, policy", [
    # The holiday rule in djbot's own words (its reply says 遇节假日顺延到下一个工作日), and
    # as people say it: each was refused as 每月的哪一天没写清楚 or 不是星期几.
    ("设置 主题党日 每月15日 14:30 2小时 遇节假日顺延到下一个工作日", "move"),
    ("设置 主题党日 每月15日 14:30 节假日顺延", "move"),
    ("设置 夜学 每周三 19:30 遇节假日不举行", "skip"),
    ("设置 夜学 每周三 19:30 节假日取消", "skip"),
    ("设置 主题党日 每月15日 14:30 不顺延", "skip"),
])
def test_the_holiday_rule_is_read_as_it_is_said(chat, engine, branch, said, policy):
    reply = chat.say("sec", said, chat="g1")
    assert not reply.is_error, reply.text
    assert [s.holiday_policy for s in schedules(engine)] == [policy]


def test_a_night_study_at_an_hour_of_the_morning_is_asked_about_not_saved(chat, engine, branch):
    reply = chat.say("sec", "设置 夜学 每周三 7:30", chat="g1")
    assert reply.is_error and reply.text.startswith(
        "是晚上7:30吗？请写 19:30 或 晚上7:30"), reply.text
    assert schedules(engine) == []
    reply = chat.say("sec", "设置 夜学 每周三 七点半", chat="g1")  # in words: asked the same
    assert reply.is_error and "是晚上7:30吗" in reply.text, reply.text
    assert schedules(engine) == []
    reply = chat.say("sec", "设置 夜学 每周三 七点半到九点", chat="g1")  # a span: the same
    assert reply.is_error and "是晚上7:30吗" in reply.text, reply.text
    assert schedules(engine) == []
    reply = chat.say("sec", "设置 夜学 每周三 早上7:30", chat="g1")  # said so: as said
    assert [s.rule for s in schedules(engine)] == ["每周三 07:30"], reply.text


@pytest.mark.parametrize("said, asked", [
    ("设置 主题党日 每月15日 2:30", "是下午2:30吗？请写 14:30 或 下午2:30"),
    ("设置 主题党日 每月15号 两点半", "是下午2:30吗"),
    ("设置 支委会 每月第一个周一 3点", "是下午3:00吗"),
    ("设置 党课 每月最后一个周五 6:00", "是晚上6:00吗"),
])
def test_any_activity_at_an_hour_of_the_night_is_asked_about_not_saved(chat, engine, branch,
                                                                       said, asked):
    # 设置 主题党日 每月15日 2:30 was saved as 02:30: the members were reminded in the night
    # and counted absent for an afternoon meeting.
    reply = chat.say("sec", said, chat="g1")
    assert reply.is_error and asked in reply.text, reply.text
    assert schedules(engine) == []
    reply = chat.say("sec", "设置 主题党日 每月15日 下午2:30", chat="g1")  # said so: as said
    assert [s.rule for s in schedules(engine)] == ["每月15日 14:30"], reply.text


def test_a_span_that_ends_before_it_starts_is_refused(chat, engine, branch):
    reply = chat.say("sec", "设置 夜学 每周三 21:00-19:30", chat="g1")
    assert reply.is_error and "「21:00-19:30」的结束时间不晚于开始时间" in reply.text, reply.text
    assert schedules(engine) == []


def test_a_span_of_minutes_is_refused_as_a_length_of_minutes_is(chat, engine, branch):
    # 19:30-19:35 (for 21:35) was saved as a 5-minute study: check-in closed at 19:35 and
    # everyone coming at 19:40 was counted absent; 「5分钟」 written as a length is refused.
    reply = chat.say("sec", "设置 夜学 每周三 19:30-19:35", chat="g1")
    assert reply.is_error and "「19:30-19:35」只有5分钟" in reply.text, reply.text
    assert "应在10分钟到24小时之间" in reply.text
    assert schedules(engine) == []


def test_a_span_and_a_length_that_disagree_are_asked_about(chat, engine, branch):
    reply = chat.say("sec", "设置 夜学 每周三 19:30-21:00 2小时", chat="g1")
    assert reply.is_error and reply.text.startswith(
        "「19:30-21:00」是1小时30分钟，和「2小时」不一致"), reply.text
    assert schedules(engine) == []


@pytest.mark.parametrize("said, asked", [
    ("设置 主题党日 每月15日 9:00-18:00", "一次9小时（09:00 至 18:00）"),
    ("设置 主题党日 每月15日 14:30 9小时", "一次9小时（14:30 至 23:30）"),
    ("设置 夜学 每周三 19:30 5小时", "一次5小时（19:30 至 00:30）"),
])
def test_an_activity_longer_than_half_a_day_is_asked_about_then_set_on_yes(
        chat, engine, branch, said, asked):
    # Saved as typed (9:00-18:00 for 9:00-10:00), the members could check in all day and
    # the secretary's list of those missing came in the evening, or the next morning.
    reply = chat.say("sec", said, chat="g1")
    assert not reply.is_error and asked in reply.text and "发送「确认」" in reply.text, reply.text
    assert schedules(engine) == []
    done = chat.say("sec", "确认", chat="g1")
    assert done.text.startswith("已设置"), done.text
    assert len(schedules(engine)) == 1


def test_half_a_day_is_set_without_asking(chat, engine, branch):
    reply = chat.say("sec", "设置 主题党日 每月15日 8:30-12:30", chat="g1")
    assert reply.text.startswith("已设置"), reply.text
    assert [s.duration_minutes for s in schedules(engine)] == [240]


def test_a_member_cannot_set_schedules(chat, engine, branch):
    assert chat.say("li", "设置 夜学 每周三 19:30", chat="g1").is_error
    assert schedules(engine) == []


def test_unknown_setting_lists_what_can_be_set(chat, branch):
    reply = chat.say("sec", "设置 会议 每周一 9:00", chat="g1")
    assert reply.is_error and "可以设置：主题党日、夜学" in reply.text


def test_other_modules_add_their_own_settings(runtime, chat, branch):
    from bot.core import Reply
    from bot.registry import MANAGERS, Setting

    seen = []
    runtime.registry.add_setting(Setting(
        "口号", lambda ctx, text: seen.append(text) or Reply("好"), "设置 口号 <文字>", MANAGERS))
    assert chat.say("sec", "设置 口号 不忘初心", chat="g1").text == "好"
    assert seen == ["不忘初心"]
    assert chat.say("li", "设置 口号 牢记使命", chat="g1").is_error  # a member may not
    assert seen == ["不忘初心"]


def test_agenda_shows_the_next_occurrences(chat, branch):
    assert "还没有固定日程" in chat.say("li", "日程", chat="g1").text
    chat.say("sec", "设置 夜学 每周三 19:30", chat="g1")
    reply = chat.say("li", "日程", chat="g1")
    assert "政治夜学：每周三 19:30" in reply.text
    assert "11月25日 周三 19:30" in reply.text


def test_asked_when_the_next_meeting_is_the_agenda_answers(chat, branch):
    """@党建助手 下次什么时候开会？ was 「没有找到支部「开会」」: the alias 下次什么时候 matched
    first and 开会 was taken for a branch."""
    chat.say("sec", "设置 夜学 每周三 19:30", chat="g1")
    for said in ("@党建助手 下次什么时候开会？", "下次什么时候搞活动"):
        reply = chat.say("li", said, chat="g1")
        assert not reply.is_error and "11月25日 周三 19:30" in reply.text, reply.text
    assert "没有找到支部「工会」" in chat.say("li", "日程 工会", chat="g1").text


@pytest.mark.parametrize("said", ["本周日程", "下周日程", "这周有啥活动", "近期活动安排"])
def test_the_weeks_agenda_asked_as_people_ask_it(chat, branch, said):
    """本周日程 was 「你是想发送「日程」吗」 (read as 本周日, a Sunday, and 程), 这周有啥活动 and
    近期活动安排 no command or a suggestion."""
    chat.say("sec", "设置 夜学 每周三 19:30", chat="g1")
    reply = chat.say("li", said, chat="g1")
    assert not reply.is_error and "11月25日 周三 19:30" in reply.text, reply.text


def test_pause_and_resume_reminders(chat, engine, branch):
    reply = chat.say("sec", "暂停提醒 至 2026-12-31", chat="g1")
    assert not reply.is_error and "12月31日" in reply.text
    with Session(engine) as session:
        assert session.get(BranchReminderSettings, branch).paused_until == date(2026, 12, 31)
    assert chat.say("sec", "暂停提醒 至 2025-01-01", chat="g1").is_error  # in the past
    assert "例如：暂停提醒 至 12月31日" in chat.say("sec", "暂停提醒 明年", chat="g1").text
    # A member cannot resume the branch's: their 恢复提醒 is their own nudges.
    assert "私聊提醒你" in chat.say("li", "恢复提醒", chat="g1").text
    with Session(engine) as session:
        assert session.get(BranchReminderSettings, branch).paused_until == date(2026, 12, 31)
    chat.say("sec", "恢复提醒", chat="g1")
    with Session(engine) as session:
        assert session.get(BranchReminderSettings, branch).paused_until is None


def test_resuming_reminders_that_are_not_paused_names_the_paused_schedule(chat, engine, branch):
    # 恢复提醒 after 暂停日程 said 「已恢复城关支部的活动提醒」, and the study stayed off: not
    # held, nobody reminded, till the date.
    chat.say("sec", "设置 夜学 每周三 19:30", chat="g1")
    chat.say("sec", "暂停日程 夜学 至 12月9日", chat="g1")
    reply = chat.say("sec", "恢复提醒", chat="g1")
    assert reply.is_error and reply.text == (
        "城关支部的活动提醒没有暂停。暂停的是政治夜学日程（至 12月9日，这期间不举行），"
        "要恢复请发送「恢复日程 夜学」。"), reply.text
    assert [s.paused_until for s in schedules(engine)] == [date(2026, 12, 9)]
    chat.say("sec", "恢复日程 夜学", chat="g1")
    reply = chat.say("sec", "恢复提醒", chat="g1")
    assert reply.is_error and reply.text == "城关支部的活动提醒没有暂停。", reply.text


def test_resuming_a_schedule_not_paused_names_the_paused_reminders(chat, engine, branch):
    # 恢复夜学 after 暂停提醒: 「没有暂停」 alone, and the reminders stayed off.
    chat.say("sec", "设置 夜学 每周三 19:30", chat="g1")
    chat.say("sec", "暂停提醒 至 12月9日", chat="g1")
    reply = chat.say("sec", "恢复夜学", chat="g1")
    assert reply.is_error and reply.text == (
        "城关支部的政治夜学没有暂停。暂停的是本支部的活动提醒（至 12月9日），"
        "要恢复请发送「恢复提醒」。"), reply.text


def test_a_member_turns_their_own_nudges_off_and_on(chat, engine, branch):
    assert not chat.say("li", "不要提醒我").is_error  # privately
    with Session(engine) as session:
        assert session.exec(select(Member).where(Member.name == "小李")).one().nudges_off
    chat.say("li", "恢复提醒我")
    with Session(engine) as session:
        assert not session.exec(select(Member).where(Member.name == "小李")).one().nudges_off


def test_reminders_resumed_with_a_space_and_turned_off_by_everyday_words(chat, engine, branch):
    chat.say("sec", "暂停提醒 至 2026-12-31", chat="g1")
    # 开启 is also 开始; typed apart, 开启 提醒 still means the reminders, not an activity.
    reply = chat.say("sec", "开启 提醒", chat="g1")
    assert not reply.is_error and "已恢复城关支部的活动提醒" in reply.text, reply.text
    with Session(engine) as session:
        assert session.get(BranchReminderSettings, branch).paused_until is None

    def nudges_off(name: str) -> bool:
        with Session(engine) as session:
            return session.exec(select(Member).where(Member.name == name)).one().nudges_off

    # A member's only reminder of their own is the private nudge: 关闭提醒 turns it off.
    reply = chat.say("li", "关闭提醒")
    assert not reply.is_error and "不再私聊提醒你签到" in reply.text and nudges_off("小李")
    # A secretary may mean the branch's: shown both ways, and nothing changes.
    reply = chat.say("sec", "关闭 提醒", chat="g1")
    assert "暂停提醒 至 12月31日" in reply.text and "不要提醒我" in reply.text, reply.text
    assert not nudges_off("王书记")
    with Session(engine) as session:
        assert session.get(BranchReminderSettings, branch).paused_until is None
    assert not chat.say("sec", "关闭提醒我").is_error and nudges_off("王书记")


def test_changing_a_rule_replaces_the_activities_already_created_from_it(runtime, chat, engine,
                                                                        branch):
    from bot.scheduling.tick import Ticker
    from storage.models import Activity
    from tests.conftest import local

    def starts():
        with Session(engine) as session:
            return [a.starts_at for a in session.exec(select(Activity))]

    ticker = Ticker(runtime.engine, runtime.settings, runtime.clock, runtime.rules)
    chat.say("sec", "设置 夜学 每周三 19:30", chat="g1")
    ticker.tick()  # Monday 09:00: activities exist three days ahead
    assert starts() == [local(2026, 11, 25, 19, 30)]
    chat.say("sec", "设置 夜学 每周四 19:30", chat="g1")
    ticker.tick()
    assert starts() == []  # Thursday 19:30 is more than three days away
    runtime.clock.set(local(2026, 11, 24, 9, 0))
    ticker.tick()
    assert starts() == [local(2026, 11, 26, 19, 30)]


def test_the_agenda_leaves_out_what_a_paused_schedule_will_not_hold(chat, branch):
    chat.say("sec", "设置 夜学 每周三 19:30", chat="g1")  # the clock is Monday 2026-11-23
    reply = chat.say("sec", "暂停日程 夜学 至 12月9日", chat="g1")
    assert not reply.is_error, reply.text
    agenda = chat.say("li", "日程", chat="g1").text
    assert "（暂停至 12月9日）" in agenda
    upcoming = agenda.split("接下来：")[1]
    for held_not in ("11月25日", "12月2日", "12月9日"):
        assert held_not not in upcoming, agenda
    assert "12月16日 周三 19:30 政治夜学" in upcoming, agenda


def test_pausing_without_a_date_says_which_date_is_missing(chat, branch):
    chat.say("sec", "设置 夜学 每周三 19:30", chat="g1")
    for said in ("暂停日程 夜学", "暂停日程 夜学 至"):
        reply = chat.say("sec", said, chat="g1")
        assert reply.is_error and reply.text == (
            "缺少暂停到的日期。\n例如：暂停日程 夜学 至 12月31日"), (said, reply.text)


@pytest.mark.parametrize("said", ["暂停日程 夜学至12月9日", "暂停日程 至12月9日 夜学",
                                  "暂停日程，至 12月9日，夜学"])
def test_a_pause_with_its_date_glued_on_or_said_first_is_made(chat, branch, said):
    # They were told 缺少暂停到的日期 and 没有「至12月9日」这种活动, and the study was held.
    chat.say("sec", "设置 夜学 每周三 19:30", chat="g1")
    reply = chat.say("sec", said, chat="g1")
    assert not reply.is_error and "已暂停" in reply.text and "2026-12-09" in reply.text, \
        reply.text
    assert "（暂停至 12月9日）" in chat.say("li", "日程", chat="g1").text


def test_pause_and_resume_said_with_the_activity_act_on_its_schedule(chat, branch):
    # 暂停夜学 至12月9日 was answered 你是想发送「暂停提醒」吗, which would have held the
    # studies without reminders and counted everyone absent.
    chat.say("sec", "设置 夜学 每周三 19:30", chat="g1")
    reply = chat.say("sec", "暂停夜学 至12月9日", chat="g1")
    assert not reply.is_error and "已暂停" in reply.text, reply.text
    reply = chat.say("sec", "恢复夜学", chat="g1")
    assert not reply.is_error and "已恢复" in reply.text, reply.text
    assert "暂停至" not in chat.say("li", "日程", chat="g1").text


@pytest.mark.parametrize("said", ["周三的夜学暂停吗", "明天夜学暂停吗？", "夜学暂停吗",
                                  "暂停下周三的夜学", "恢复夜学吗"])
def test_a_question_or_one_day_pauses_nothing(chat, engine, branch, said):
    """With 暂停夜学 read as 暂停日程, 周三的夜学暂停吗 (a question) paused the study from today
    to Wednesday, and 暂停下周三的夜学 (one day) every one up to it: nobody was told, and
    tonight's was gone from the figures."""
    chat.say("sec", "设置 夜学 每周一、三 19:30", chat="g1")  # the clock is Monday 2026-11-23
    chat.say("sec", said, chat="g1")
    assert [s.paused_until for s in schedules(engine)] == [None]


def test_one_days_pause_says_it_is_cancelled_one_at_a_time(chat, engine, branch):
    chat.say("sec", "设置 夜学 每周三 19:30", chat="g1")
    reply = chat.say("sec", "暂停下周三的夜学", chat="g1")
    assert reply.is_error and "取消活动" in reply.text and "至 12月31日" in reply.text, reply.text


def test_a_pause_of_years_is_refused_and_nothing_changes(chat, engine, branch):
    """暂停日程 夜学 至 2099年1月1日 took the branch's night study, and so its part of the
    figures that decide 约谈, away for good, unseen: a pause is for half a year at most, and
    stopping for good is 删除日程."""
    chat.say("sec", "设置 夜学 每周三 19:30", chat="g1")  # the clock is Monday 2026-11-23
    reply = chat.say("sec", "暂停日程 夜学 至 2099年1月1日", chat="g1")
    assert reply.is_error and reply.text == (
        "暂停日程最长半年（至 2027年5月25日）。不再举行请发送「删除日程 政治夜学」；"
        "什么也没有改。"), reply.text
    assert [s.paused_until for s in schedules(engine)] == [None]
    assert not chat.say("sec", "暂停日程 夜学 至 2027年5月25日", chat="g1").is_error


GROUP_ONE = ("党小组会", "每月第一个周三 19:30", 60, "第一党小组")
GROUP_TWO = ("党小组会", "每月第一个周四 19:30", 60, "第二党小组")


def _paused_by_group(engine) -> dict[str, date | None]:
    from storage.models import PartyGroup

    with Session(engine) as session:
        return {g.name: s.paused_until for s, g in session.exec(
            select(Schedule, PartyGroup).join(PartyGroup,
                                              PartyGroup.id == Schedule.party_group_id)).all()}


def test_pausing_and_resuming_one_party_groups_meetings_leaves_the_others(runtime, chat):
    from tests.conftest import local
    from tests.test_whose_activity import _branch

    _branch(runtime, GROUP_ONE, GROUP_TWO)
    runtime.clock.set(local(2026, 12, 3, 10, 0))
    reply = chat.say("sec", "暂停日程 党小组会 第一党小组 至 1月31日", chat="g1")
    assert not reply.is_error and "恢复日程 党小组会 第一党小组" in reply.text, reply.text
    assert _paused_by_group(runtime.engine) == {
        "第一党小组": date(2027, 1, 31), "第二党小组": None}, reply.text
    chat.say("sec", "暂停日程 党小组会 至 1月15日", chat="g1")  # no group named: every group's
    assert _paused_by_group(runtime.engine) == {
        "第一党小组": date(2027, 1, 15), "第二党小组": date(2027, 1, 15)}
    reply = chat.say("sec", "恢复日程 党小组会 第二党小组", chat="g1")
    assert not reply.is_error, reply.text
    assert _paused_by_group(runtime.engine) == {
        "第一党小组": date(2027, 1, 15), "第二党小组": None}, reply.text
    reply = chat.say("sec", "暂停日程 党小组会 第三党小组 至 1月31日", chat="g1")
    assert reply.is_error and "没有「第三党小组」" in reply.text, reply.text
    # The group said before the activity is that group's, not every group's.
    chat.say("sec", "恢复日程 党小组会", chat="g1")
    reply = chat.say("sec", "暂停日程 第一党小组 党小组会 至 1月31日", chat="g1")
    assert _paused_by_group(runtime.engine) == {
        "第一党小组": date(2027, 1, 31), "第二党小组": None}, reply.text


@pytest.mark.parametrize("said", ["暂停日程 夜学 12月10日至12月31日",
                                  "暂停日程 夜学 12月10日到31日"])
def test_a_pause_written_as_a_range_is_refused_and_nothing_changes(chat, engine, branch, said):
    chat.say("sec", "设置 夜学 每周三 19:30", chat="g1")  # the clock is Monday 2026-11-23
    reply = chat.say("sec", said, chat="g1")
    assert reply.is_error and reply.text == (
        "暂停从今天起：请写「暂停日程 夜学 至 12月31日」，什么也没有改。"), reply.text
    assert [s.paused_until for s in schedules(engine)] == [None]


@pytest.mark.parametrize("said, until", [("暂停日程 夜学 至 30号", date(2026, 11, 30)),
                                         ("暂停日程 夜学 至 下周二", date(2026, 12, 1)),
                                         ("暂停日程 夜学 到明年1月5日", date(2027, 1, 5)),
                                         ("暂停日程 夜学 至 12.31", date(2026, 12, 31))])
def test_a_pause_ends_on_a_day_written_as_for_reminders(chat, engine, branch, said, until):
    chat.say("sec", "设置 夜学 每周三 19:30", chat="g1")  # the clock is Monday 2026-11-23
    reply = chat.say("sec", said, chat="g1")
    assert not reply.is_error, reply.text
    assert [s.paused_until for s in schedules(engine)] == [until], reply.text


def _outbox(engine) -> list[tuple[str, str, str]]:
    from storage.models import OutboxMessage

    with Session(engine) as session:
        return [(m.kind, m.target, m.payload["text"]) for m in session.exec(
            select(OutboxMessage).order_by(OutboxMessage.id))]


def test_opening_the_scheduled_activity_by_hand_a_little_early_opens_that_one(
        runtime, chat, engine, branch):
    """The members are there at 19:20 for the 19:30 night study and the secretary sends
    开始 夜学. A second activity beside the scheduled one got nobody's check-in (签到 goes
    to the one starting last) and counted everyone absent; the scheduled one then nudged
    and listed as missing those who had come."""
    from bot.scheduling.tick import Ticker
    from storage.models import Activity, Attendance
    from tests.conftest import local

    ticker = Ticker(runtime.engine, runtime.settings, runtime.clock, runtime.rules)
    chat.say("sec", "设置 夜学 每周三 19:30", chat="g1")
    runtime.clock.set(local(2026, 11, 25, 18, 50))
    ticker.tick()
    refused = chat.say("sec", "开始 党课", chat="g1")  # another kind over it: nothing opens
    assert refused.is_error and "政治夜学（19:30）是固定日程" in refused.text
    assert "取消活动 下次" in refused.text

    runtime.clock.set(local(2026, 11, 25, 18, 55))  # before its check-in opens (19:00)
    reply = chat.say("sec", "开始 夜学", chat="g1")
    assert not reply.is_error, reply.text
    assert reply.text.startswith("政治夜学（19:30）按日程举行，现在已可签到")
    assert "19:40 后签到记为迟到" in reply.text
    assert "签到成功：政治夜学（19:30）" in chat.say("li", "签到", chat="g1").text
    assert "签到成功" in chat.say("sec", "签到", chat="g1").text
    for minute in (19 * 60 + 30, 19 * 60 + 45, 21 * 60, 21 * 60 + 5):
        runtime.clock.set(local(2026, 11, 25, minute // 60, minute % 60))
        ticker.tick()

    with Session(engine) as session:
        [activity] = session.exec(select(Activity)).all()
        assert activity.schedule_id is not None
        assert [a.status for a in session.exec(select(Attendance))] == ["present", "present"]
    assert [kind for kind, _, _ in _outbox(engine)] == [
        "reminder.group_before", "reminder.start", "reminder.missing"]  # nobody nudged
    assert "应到 2 人，签到 2 人" in _outbox(engine)[-1][2]


def test_a_changed_rule_cancels_an_answered_activity_it_no_longer_holds(
        runtime, chat, engine, branch):
    """小李 asked leave for Wednesday's night study; the secretary then moved the night
    study to Tuesdays. Wednesday's was kept (someone had answered it): the group was still
    reminded of a night study no longer planned, and those who stayed away were absent."""
    from bot.scheduling.tick import Ticker
    from storage.models import Activity
    from tests.conftest import local

    ticker = Ticker(runtime.engine, runtime.settings, runtime.clock, runtime.rules)
    chat.say("sec", "设置 夜学 每周三 19:30", chat="g1")
    ticker.tick()  # Monday 2026-11-23 09:00: Wednesday's is created
    assert "已请假" in chat.say("li", "请假 出差", chat="g1").text
    reply = chat.say("sec", "设置 夜学 每周四 19:30", chat="g1")
    assert "按原日程已安排、已通知过或已有人请假的 1 次活动已取消" in reply.text, reply.text
    for day, hour, minute in ((24, 9, 0), (25, 9, 0), (25, 18, 30), (25, 19, 30), (25, 21, 0),
                              (26, 18, 30)):
        runtime.clock.set(local(2026, 11, day, hour, minute))
        ticker.tick()
    with Session(engine) as session:
        held = [(a.starts_at, a.status) for a in session.exec(
            select(Activity).order_by(Activity.starts_at))]
    assert held == [(local(2026, 11, 25, 19, 30), "cancelled"),
                    (local(2026, 11, 26, 19, 30), "open")]
    told = [(kind, target, text) for kind, target, text in _outbox(engine)
            if kind != "reminder.meetings"]  # the month's 三会一课 reminder, beside the point
    # 小李, who had asked leave for it, hears once that it is off; nobody is reminded of it.
    assert told[0] == ("activity.cancel", "li", "【活动取消】你请过假的政治夜学（11月25日 19:30）"
                                                "已取消。原因：日程已改为 每周四 19:30")
    assert all("11月25日" not in text for _, _, text in told[1:]), told
    assert [kind for kind, _, _ in told[1:]] == ["reminder.day_before", "reminder.group_before"]


def test_a_changed_duration_keeps_the_answered_activity_with_its_leave(
        runtime, chat, engine, branch):
    from bot.scheduling.tick import Ticker
    from storage.models import Activity, Attendance
    from tests.conftest import local

    ticker = Ticker(runtime.engine, runtime.settings, runtime.clock, runtime.rules)
    chat.say("sec", "设置 夜学 每周三 19:30", chat="g1")
    ticker.tick()
    chat.say("li", "请假 出差", chat="g1")
    reply = chat.say("sec", "设置 夜学 每周三 19:30 2小时", chat="g1")
    assert "已取消" not in reply.text, reply.text
    ticker.tick()
    with Session(engine) as session:
        [activity] = session.exec(select(Activity)).all()
        assert (activity.status, activity.ends_at) == ("open", local(2026, 11, 25, 21, 30))
        [leave] = session.exec(select(Attendance)).all()
        assert leave.activity_id == activity.id and leave.status == "leave"


# --- what was queued about an activity a schedule change takes away ----------------------

# Each takes Wednesday 2026-11-25's night study away: removed (nobody answered it) or
# cancelled (someone did).
TAKEN_AWAY = {
    "删除日程": ("删除日程 夜学",),
    "暂停日程": ("暂停日程 夜学 至 11月30日",),
    "设置": ("设置 夜学 每周四 19:30",),
}


def _worker(runtime, sender):
    from bot.outbox import OutboxWorker
    from bot.scheduling.plan import QuietHours

    return OutboxWorker(runtime.engine, runtime.clock, {"wecom": sender},
                        quiet=QuietHours.of(runtime.settings), tz=runtime.settings.tz)


def _about_wednesday(sender) -> list[tuple[str, str]]:
    """What was sent about Wednesday's night study, but that it is off (one notice to whoever
    asked leave for it: the tests below)."""
    return [(m.kind, m.payload["text"]) for m in sender.sent if m.kind != "activity.cancel"
            and ("11月25日" in m.payload["text"] or "明日活动" in m.payload["text"])]


@pytest.mark.parametrize("said", list(TAKEN_AWAY.values()), ids=list(TAKEN_AWAY))
def test_a_reminder_the_platform_made_wait_is_not_sent_for_an_activity_taken_away(
        runtime, chat, branch, said):
    """Tuesday 09:00 the platform tells djbot to wait ten minutes with the secretary's
    【明日活动】 for Wednesday's night study; at 09:05 the schedule change takes Wednesday's
    away. The worker's next try must not tell the secretary of a night study not held."""
    import asyncio

    from bot.scheduling.tick import Ticker
    from tests.conftest import local
    from tests.test_reminders_restart import BlockedUntil

    clock = runtime.clock
    ticker = Ticker(runtime.engine, runtime.settings, clock, runtime.rules)
    chat.say("sec", "设置 夜学 每周三 19:30", chat="g1")
    ticker.tick()  # Monday 09:00: Wednesday's is created
    sender = BlockedUntil(clock, local(2026, 11, 24, 9, 1))
    worker = _worker(runtime, sender)
    clock.set(local(2026, 11, 24, 9, 0))
    ticker.tick()
    asyncio.run(worker.drain())
    assert sender.sent == [] and "reminder.day_before" in [k for k, _, _ in _outbox(runtime.engine)]

    clock.set(local(2026, 11, 24, 9, 5))
    for text in said:
        assert not chat.say("sec", text, chat="g1").is_error
    for minute in (15, 30, 45):
        clock.set(local(2026, 11, 24, 9, minute))
        ticker.tick()
        asyncio.run(worker.drain())
    assert _about_wednesday(sender) == []


TAKEN_AWAY_ANSWERED = {**TAKEN_AWAY, "取消活动": ("取消活动 下次 临时有任务", "确认")}


@pytest.mark.parametrize("said", list(TAKEN_AWAY_ANSWERED.values()),
                         ids=list(TAKEN_AWAY_ANSWERED))
def test_a_request_held_for_the_morning_is_not_sent_for_an_activity_taken_away(
        runtime, chat, branch, said):
    """小李 asks leave for Wednesday's night study at 23:00 on Tuesday: the request to the
    secretary waits for the morning. At 23:10 the secretary (still up) takes Wednesday's
    away. In the morning he is not asked to decide leave for a night study not held (nor
    would 「批准请假 小李」 find it)."""
    import asyncio

    from bot.scheduling.tick import Ticker
    from tests.conftest import local
    from tests.test_reminders_restart import Recorder

    runtime.dispatcher.settings = runtime.settings.model_copy(
        update={"leave_requires_approval": True})
    clock = runtime.clock
    ticker = Ticker(runtime.engine, runtime.settings, clock, runtime.rules)
    chat.say("sec", "设置 夜学 每周三 19:30", chat="g1")
    ticker.tick()
    sender = Recorder()
    worker = _worker(runtime, sender)
    clock.set(local(2026, 11, 24, 23, 0))
    assert "等待书记批准" in chat.say("li", "请假 值班").text
    clock.set(local(2026, 11, 24, 23, 10))
    for text in said:
        assert not chat.say("sec", text, chat="g1").is_error
    clock.set(local(2026, 11, 25, 7, 30))
    ticker.tick()
    asyncio.run(worker.drain())
    assert [m.payload["text"] for m in sender.sent if m.kind == "leave.ask"] == []
    assert _about_wednesday(sender) == []


@pytest.mark.parametrize("said", list(TAKEN_AWAY_ANSWERED.values()),
                         ids=list(TAKEN_AWAY_ANSWERED))
def test_a_member_who_asked_leave_hears_once_that_the_activity_is_off(
        runtime, chat, branch, said):
    """小李 asked leave for Wednesday's night study; 取消活动 or a schedule change calls it
    off on Tuesday. He hears it once, privately (a request waiting for a decision that will
    not come, or one turned down, would otherwise have him wait or come for nothing); the
    secretary who called it off and the group, never told of it, hear nothing."""
    import asyncio

    from bot.scheduling.tick import Ticker
    from tests.conftest import local
    from tests.test_reminders_restart import Recorder

    clock = runtime.clock
    ticker = Ticker(runtime.engine, runtime.settings, clock, runtime.rules)
    chat.say("sec", "设置 夜学 每周三 19:30", chat="g1")
    ticker.tick()
    clock.set(local(2026, 11, 24, 10, 0))
    assert "已请假" in chat.say("li", "请假 值班").text
    clock.set(local(2026, 11, 24, 10, 5))
    replies = [chat.say("sec", text, chat="g1") for text in said]
    assert "已私信告知请过假的 1 人。" in replies[-1].text, replies[-1].text
    sender = Recorder()
    asyncio.run(_worker(runtime, sender).drain())
    off = [(m.target, m.payload["text"]) for m in sender.sent if m.kind == "activity.cancel"]
    assert off == [
        ("li", f"【活动取消】你请过假的政治夜学（11月25日 19:30）已取消。原因：{_reason(said)}")]
    for text in said[:1]:  # said again: nothing more
        chat.say("sec", text, chat="g1")
        chat.say("sec", "确认", chat="g1")
    sender.sent.clear()
    asyncio.run(_worker(runtime, sender).drain())
    assert [m for m in sender.sent if m.kind == "activity.cancel"] == []


@pytest.mark.parametrize("said", list(TAKEN_AWAY.values()), ids=list(TAKEN_AWAY))
def test_a_group_told_an_hour_before_hears_the_activity_is_off(runtime, chat, engine, branch,
                                                               said):
    """Nobody asked leave for Wednesday's night study, but the group was told at 18:30 that
    it starts at 19:30. When the secretary takes it away at 18:40, the group hears it is off
    (it was simply deleted before, and the branch gathered for nothing), and the activity
    stays on record as cancelled, counting no one."""
    import asyncio

    from bot.scheduling.tick import Ticker
    from storage.models import Activity
    from tests.conftest import local
    from tests.test_reminders_restart import Recorder

    clock = runtime.clock
    ticker = Ticker(runtime.engine, runtime.settings, clock, runtime.rules)
    chat.say("sec", "设置 夜学 每周三 19:30", chat="g1")
    ticker.tick()
    sender = Recorder()
    clock.set(local(2026, 11, 25, 18, 30))
    ticker.tick()
    asyncio.run(_worker(runtime, sender).drain())
    assert [(m.kind, m.target) for m in sender.sent
            if m.kind.startswith("reminder.group")] == [("reminder.group_before", "g1")]
    clock.set(local(2026, 11, 25, 18, 40))
    replies = [chat.say("sec", text, chat="g1") for text in said]
    assert not any(reply.is_error for reply in replies)
    assert "已在收到过活动通知的 1 个群里说明取消。" in replies[-1].text, replies[-1].text
    sender.sent.clear()
    asyncio.run(_worker(runtime, sender).drain())
    assert [(m.target, m.payload["text"]) for m in sender.sent if m.kind == "activity.cancel"] \
        == [("g1", f"【活动取消】政治夜学（19:30）已取消。原因：{_reason(said)}")]
    with Session(engine) as session:
        wednesday = session.exec(select(Activity).where(
            Activity.starts_at == local(2026, 11, 25, 19, 30))).one()
        assert wednesday.status == "cancelled"


def _reminded_at_1830(runtime, chat):
    """Wednesday 18:31: the group's 【活动提醒】 for the 19:30 night study is queued."""
    from bot.scheduling.tick import Ticker
    from tests.conftest import local

    chat.say("sec", "设置 夜学 每周三 19:30", chat="g1")
    ticker = Ticker(runtime.engine, runtime.settings, runtime.clock, runtime.rules)
    ticker.tick()
    runtime.clock.set(local(2026, 11, 25, 18, 30))
    ticker.tick()
    runtime.clock.set(local(2026, 11, 25, 18, 31))


def _group_hears_it_is_off(runtime, engine, said, sender) -> None:
    """g1 read the reminder: it hears the activity is off, which stays on record as
    cancelled, and the reminder's row says it was sent."""
    import asyncio

    from storage.models import Activity, OutboxMessage

    assert [m.target for m in sender.sent if m.kind == "reminder.group_before"] == ["g1"]
    sender.sent.clear()
    asyncio.run(_worker(runtime, sender).drain())
    assert [(m.target, m.payload["text"]) for m in sender.sent if m.kind == "activity.cancel"] \
        == [("g1", f"【活动取消】政治夜学（19:30）已取消。原因：{_reason(said)}")]
    with Session(engine) as session:
        assert [a.status for a in session.exec(select(Activity)).all()] == ["cancelled"]
        assert {r.status for r in session.exec(select(OutboxMessage).where(
            OutboxMessage.kind == "reminder.group_before")).all()} == {"sent"}


@pytest.mark.parametrize("said", list(TAKEN_AWAY_ANSWERED.values()),
                         ids=list(TAKEN_AWAY_ANSWERED))
def test_a_group_whose_reminder_is_on_its_way_hears_the_activity_is_off(
        runtime, chat, engine, branch, said):
    """Another replica's worker holds the group's 【活动提醒】 (claimed, sending) when the
    secretary takes the night study away; its send goes through. The group must hear it is
    off. Before, only a row already `sent` counted as told: the activity was deleted and
    the group, having read the reminder, gathered for nothing."""
    import asyncio

    from tests.test_reminders_restart import Recorder

    _reminded_at_1830(runtime, chat)
    sender = Recorder()
    replica_b = _worker(runtime, sender)
    claimed = replica_b.claim()
    assert "reminder.group_before" in [m.kind for m in claimed]
    replies = [chat.say("sec", text, chat="g1") for text in said]
    assert not any(reply.is_error for reply in replies)
    for message in claimed:  # replica B's sends go through after the change
        replica_b.record(message.id, asyncio.run(sender.send(message)))
    _group_hears_it_is_off(runtime, engine, said, sender)


@pytest.mark.skipif(TEST_DB != "postgres", reason="two replicas at once: PostgreSQL's")
@pytest.mark.parametrize("said", list(TAKEN_AWAY_ANSWERED.values()),
                         ids=list(TAKEN_AWAY_ANSWERED))
def test_a_group_reminder_sent_as_the_activity_is_taken_away_is_followed_by_a_notice(
        runtime, chat, engine, branch, said, monkeypatch):
    """Between the change reading what was queued about the night study and withholding it,
    another replica sends the group's 【活动提醒】. Before, the change overwrote the row it
    had read as pending with `withdrawn` and deleted the activity: the group read the
    reminder and was never told it was off."""
    import asyncio
    import threading

    from storage import corrections
    from tests.test_reminders_restart import Recorder

    _reminded_at_1830(runtime, chat)
    sender = Recorder()
    replica_b = _worker(runtime, sender)
    read = corrections._queued_about
    raced: list[bool] = []

    def read_then_replica_b_sends(session, activity):
        about = read(session, activity)
        if not raced:
            raced.append(True)
            thread = threading.Thread(target=lambda: asyncio.run(replica_b.drain()))
            thread.start()
            thread.join(30)
        return about

    monkeypatch.setattr(corrections, "_queued_about", read_then_replica_b_sends)
    replies = [chat.say("sec", text, chat="g1") for text in said]
    monkeypatch.undo()
    assert raced and not any(reply.is_error for reply in replies)
    _group_hears_it_is_off(runtime, engine, said, sender)


def _reason(said: tuple[str, ...]) -> str:
    return {"删除日程": "删除日程 政治夜学", "暂停日程": "暂停日程 政治夜学",
            "设置": "日程已改为 每周四 19:30", "取消活动": "临时有任务"}[said[0].split()[0]]


def test_cancelling_an_activity_already_held_tells_nobody_privately(runtime, chat, branch):
    """取消活动 of last night's study puts a record right: 积分明细 shows it, and nobody who
    asked leave for it is written to."""
    import asyncio

    from bot.scheduling.tick import Ticker
    from tests.conftest import local
    from tests.test_reminders_restart import Recorder

    clock = runtime.clock
    ticker = Ticker(runtime.engine, runtime.settings, clock, runtime.rules)
    chat.say("sec", "设置 夜学 每周三 19:30", chat="g1")
    ticker.tick()
    clock.set(local(2026, 11, 24, 10, 0))
    chat.say("li", "请假 值班")
    clock.set(local(2026, 11, 26, 9, 0))
    ticker.tick()
    sender = Recorder()
    asyncio.run(_worker(runtime, sender).drain())
    chat.say("sec", "取消活动 记错了", chat="g1")
    reply = chat.say("sec", "确认", chat="g1")
    assert reply.text.startswith("已取消政治夜学") and "私信" not in reply.text, reply.text
    sender.sent.clear()
    asyncio.run(_worker(runtime, sender).drain())
    assert [m for m in sender.sent if m.target == "li"] == []


def test_a_member_away_for_days_is_not_written_to_about_each_activity_called_off(
        runtime, chat, branch):
    import asyncio

    from bot.scheduling.tick import Ticker
    from tests.test_reminders_restart import Recorder

    clock = runtime.clock
    ticker = Ticker(runtime.engine, runtime.settings, clock, runtime.rules)
    chat.say("sec", "设置 夜学 每周三 19:30", chat="g1")
    ticker.tick()
    assert "已安排的 1 次" in chat.say("li", "请假 11月24日至11月27日 外出培训").text
    reply = chat.say("sec", "删除日程 夜学", chat="g1")
    assert "已撤下尚未开始的 1 次活动" in reply.text and "私信" not in reply.text
    sender = Recorder()
    asyncio.run(_worker(runtime, sender).drain())
    assert [m for m in sender.sent if m.kind == "activity.cancel"] == []

# --- schedules set after today's start, paused, deleted (review) ---------------------------


@pytest.fixture
def set_branch(engine):
    def build(session):
        branch = make_branch(session, "城关支部")
        make_member(session, branch, "王书记", role=Role.SECRETARY, wecom="sec")
        make_member(session, branch, "小李", wecom="li")
        bind_chat(session, branch, "g1")
        return branch.id
    return seed(engine, build)


def _set_ticker(runtime):
    from bot.scheduling.tick import Ticker
    return Ticker(runtime.engine, runtime.settings, runtime.clock, runtime.rules)


def _set_outbox(engine):
    with Session(engine) as session:
        return [(m.kind, m.target, m.payload.get("text", "")) for m in session.exec(
            select(OutboxMessage).order_by(OutboxMessage.id))]


def _set_activities(engine):
    with Session(engine) as session:
        return [(a.starts_at, a.status) for a in session.exec(select(Activity))]


def test_setting_a_schedule_after_todays_start_does_not_hold_a_meeting_already_begun(
        runtime, chat, engine, set_branch):
    """Wednesday 19:45, the secretary sets the night study for Wednesdays 19:30. The reply
    says the next one is 12月2日; nobody met tonight, so nobody may be nudged or listed
    as missing for a 19:30 study that was never announced."""
    ticker = _set_ticker(runtime)
    runtime.clock.set(local(2026, 11, 25, 19, 40))
    ticker.tick()
    runtime.clock.set(local(2026, 11, 25, 19, 44))
    reply = chat.say("sec", "设置 夜学 每周三 19:30", chat="g1")
    assert not reply.is_error, reply.text
    first = reply.text.split("接下来：")[1].strip().splitlines()[0]
    assert "12月2日" in first, reply.text  # the reply: not tonight
    for hh, mm in ((19, 45), (19, 46), (21, 0), (21, 5)):
        runtime.clock.set(local(2026, 11, 25, hh, mm))
        ticker.tick()
    assert _set_activities(engine) == [], (_set_activities(engine), _set_outbox(engine))


def test_resuming_a_paused_schedule_after_todays_start_does_not_hold_it(
        runtime, chat, engine, set_branch):
    """恢复日程 at 19:44 made the tick create tonight's 19:30 study, begun, announced to
    nobody, and list both members missing at its end."""
    ticker = _set_ticker(runtime)
    chat.say("sec", "设置 夜学 每周三 19:30", chat="g1")
    runtime.clock.set(local(2026, 11, 25, 9, 0))
    ticker.tick()  # tonight's study exists
    assert len(_set_activities(engine)) == 1
    runtime.clock.set(local(2026, 11, 25, 10, 0))
    assert not chat.say("sec", "暂停日程 夜学 至 12月9日", chat="g1").is_error
    ticker.tick()
    assert _set_activities(engine) == []  # taken away: nobody had answered it
    runtime.clock.set(local(2026, 11, 25, 19, 44))
    ticker.tick()
    assert not chat.say("sec", "恢复日程 夜学", chat="g1").is_error
    for hh, mm in ((19, 45), (19, 46), (21, 0), (21, 5)):
        runtime.clock.set(local(2026, 11, 25, hh, mm))
        ticker.tick()
    assert _set_activities(engine) == [], (_set_activities(engine), _set_outbox(engine))


def test_a_schedule_deleted_while_paused_and_set_again_is_not_still_paused(
        runtime, chat, engine, set_branch):
    """Set again after 删除日程, the schedule kept the old pause: 已设置, and nothing held
    until the pause it no longer showed had ended."""
    chat.say("sec", "设置 夜学 每周三 19:30", chat="g1")
    assert not chat.say("sec", "暂停日程 夜学 至 12月31日", chat="g1").is_error
    assert not chat.say("sec", "删除日程 夜学", chat="g1").is_error
    reply = chat.say("sec", "设置 夜学 每周三 19:30", chat="g1")
    assert not reply.is_error, reply.text
    # A new schedule: the old pause went with the old one.
    assert "11月25日" in reply.text.split("接下来：")[1], reply.text
    with Session(engine) as session:
        [saved] = session.exec(select(Schedule)).all()
        assert saved.paused_until is None


def test_the_agenda_does_not_show_a_pause_that_is_over(runtime, chat, set_branch):
    """日程 said 暂停至 11月30日 on 12月7日."""
    chat.say("sec", "设置 夜学 每周三 19:30", chat="g1")
    assert not chat.say("sec", "暂停日程 夜学 至 11月30日", chat="g1").is_error
    runtime.clock.set(local(2026, 12, 7, 9, 0))
    agenda = chat.say("li", "日程", chat="g1").text
    assert "暂停至" not in agenda, agenda


def test_a_night_study_at_twelve_at_night_is_not_noon(chat, engine, set_branch):
    """设置 夜学 每周三 晚上12点 was saved as 12:00, noon: asked now."""
    reply = chat.say("sec", "设置 夜学 每周三 晚上12点", chat="g1")
    with Session(engine) as session:
        saved = session.exec(select(Schedule)).all()
    assert reply.is_error or [s.rule for s in saved] != ["每周三 12:00"], reply.text


def test_a_moved_occurrence_landing_on_another_is_not_listed_twice(runtime, chat, set_branch):
    """每周一、二 顺延: Monday 4-6 (清明) moves onto Tuesday 4-7, which has its own; the reply
    listed 4月7日 twice, though the scheduler holds one meeting that day."""
    runtime.clock.set(local(2026, 4, 1, 9, 0))
    reply = chat.say("sec", "设置 夜学 每周一、二 19:30 顺延", chat="g1")
    assert not reply.is_error, reply.text
    upcoming = reply.text.split("接下来：")[1]
    assert upcoming.count("4月7日") == 1, reply.text


def test_a_member_whose_leave_the_new_rule_leaves_behind_is_told(runtime, chat, engine,
                                                                 set_branch):
    """小李 asked leave for the next theme day (12月15日, not created yet); the secretary then
    moved the theme day to the 18th. He was told nothing: his leave excused nothing, and on
    the 18th he was nudged and listed missing. He hears it, and the secretary's reply says
    so; the leave is not moved (he may be free on the 18th)."""
    chat.say("sec", "设置 主题党日 每月15日 14:30 2小时", chat="g1")
    assert "12月15日" in chat.say("li", "请假 主题党日 出差").text
    runtime.clock.set(local(2026, 11, 24, 9, 0))
    changed = chat.say("sec", "设置 主题党日 每月18日 14:30 2小时", chat="g1")
    assert "已私信告知 1 位" in changed.text, changed.text
    told = [text for kind, target, text in _set_outbox(engine) if target == "li"]
    assert told == ["【请假提示】主题党日的日程已改为 每月18日 14:30，12月15日不再举行，你那天的"
                    "请假不再适用。如新日程那天也不能参加，请再发送「请假 主题党日 原因」。"], told
    # Changed again to a rule that still holds the 15th: nobody is told twice.
    chat.say("sec", "设置 主题党日 每月15日 14:30 2小时", chat="g1")
    assert len([t for _, target, t in _set_outbox(engine) if target == "li"]) == 1


def test_a_day_some_months_lack_is_said_when_set_and_a_fifth_weekday_is_refused_plainly(
        chat, engine, branch):
    # 每月31日 holds no 主题党日 in five months a year, and 三会一课 asks for one a month:
    # the reply said nothing of it, and the first the secretary heard was a late reminder.
    reply = chat.say("sec", "设置 主题党日 每月31日 14:30", chat="g1")
    assert not reply.is_error, reply.text
    assert "没有31日的月份不举行" in reply.text and "每月最后一个周五" in reply.text
    assert "没有" not in chat.say("sec", "设置 主题党日 每月28日 14:30", chat="g1").text
    # 第五个周三 is not in every month: said as such, not 「哪一天没写清楚」.
    reply = chat.say("sec", "设置 夜学 每月第五个周三 19:30", chat="g1")
    assert reply.is_error and "不是每个月都有第五个周三" in reply.text
    assert "每月最后一个周三" in reply.text
    assert [s.rule for s in schedules(engine)] == ["每月28日 14:30"]


def test_a_temporary_branch_is_not_promised_meetings_after_its_end(chat, engine):
    # 接下来 listed 11月27日 for a 临时党支部 ending on the 25th: no activity is created
    # after its end, so the secretary was told of a meeting never held.
    def build(session):
        force = make_branch(session, "专项临时支部", temporary=True)
        force.ends_on = date(2026, 11, 25)
        make_member(session, force, "周书记", role=Role.SECRETARY, wecom="sec9")
        bind_chat(session, force, "g9")
    seed(engine, build)
    reply = chat.say("sec9", "设置 支委会 每周二 15:00", chat="g9")  # Monday 2026-11-23
    assert not reply.is_error, reply.text
    assert "11月24日" in reply.text and "12月1日" not in reply.text
    agenda = chat.say("sec9", "日程", chat="g9").text
    assert "11月24日" in agenda and "12月1日" not in agenda


def test_reminders_are_not_paused_for_years(chat, engine, branch):
    # 暂停提醒 至 2099年12月31日 stopped the branch's reminders for good, though no switch
    # may (docs/schedules.md): members then miss activities unreminded and are counted
    # absent. Half a year at most, as 暂停日程.
    reply = chat.say("sec", "暂停提醒 至 2099-12-31", chat="g1")
    assert reply.is_error and "最长半年" in reply.text
    with Session(engine) as session:
        row = session.get(BranchReminderSettings, branch)
        assert row is None or row.paused_until is None
    assert not chat.say("sec", "暂停提醒 至 2027-05-24", chat="g1").is_error  # 182 days


def test_the_agenda_does_not_list_an_occasion_that_was_called_off(runtime, chat, clock, branch):
    # 取消活动 下次 took Wednesday's night study away, yet 日程 still listed 11月25日 as the
    # next one: a member reading it came to a study that was not held.
    from tests.test_figures import run_ticks

    chat.say("sec", "设置 夜学 每周三 19:30", chat="g1")
    run_ticks(runtime, clock, local(2026, 11, 23, 12, 0))
    assert chat.say("sec", "取消活动 下次 会议室停电", chat="g1").text.startswith("将取消")
    assert chat.say("sec", "确认", chat="g1").text.startswith("已取消")
    agenda = chat.say("li", "日程", chat="g1").text
    assert "11月25日" not in agenda and "12月2日 周三 19:30" in agenda, agenda
    again = chat.say("sec", "设置 夜学 每周三 19:30 2小时", chat="g1").text
    assert "11月25日" not in again.split("接下来")[1], again


def test_a_called_off_theme_day_is_not_counted_as_the_month_s_planned_meeting(
        runtime, chat, clock, branch):
    # 三会一课 read 已安排 for a 主题党日 called off by 取消活动 下次, and the secretary's
    # reminder that the month still lacks one was not sent.
    from tests.test_figures import run_ticks

    clock.set(local(2026, 11, 24, 9, 0))
    chat.say("sec", "设置 主题党日 每月26日 14:30", chat="g1")
    run_ticks(runtime, clock, local(2026, 11, 24, 12, 0))
    assert chat.say("sec", "取消活动 下次 上级检查", chat="g1").text.startswith("将取消")
    assert chat.say("sec", "确认", chat="g1").text.startswith("已取消")
    [line] = [x for x in chat.say("sec", "三会一课").text.splitlines() if "主题党日（" in x]
    assert "已安排" not in line and "11-26" not in line, line


@pytest.mark.parametrize("said, hour", [("8:00", "8:00"), ("八点", "8:00"), ("9点半", "9:30")])
def test_a_night_study_at_eight_or_nine_is_asked_about_too(chat, engine, branch, said, hour):
    # 设置 夜学 每周三 8:00 was saved as 08:00: the group was reminded at 07:30 of a study
    # nobody came to in the morning, and everyone was counted absent that evening.
    reply = chat.say("sec", f"设置 夜学 每周三 {said}", chat="g1")
    assert reply.is_error and f"是晚上{hour}吗" in reply.text, reply.text
    assert schedules(engine) == []


@pytest.mark.parametrize("said", ["取消 11.25 夜学 会议室停电", "取消 25号的夜学 会议室停电",
                                  "取消 11月25日 夜学 会议室停电", "取消 周三晚上 夜学 会议室停电"])
def test_cancel_said_with_the_day_first_proposes_that_study(runtime, chat, clock, branch, said):
    # 取消 11.25 夜学 was answered 你是想发送「取消提醒」吗, which stops the sender's own
    # reminders and leaves the study on.
    from tests.test_figures import run_ticks

    chat.say("sec", "设置 夜学 每周三 19:30", chat="g1")
    run_ticks(runtime, clock, local(2026, 11, 23, 12, 0))
    reply = chat.say("sec", said, chat="g1")
    assert reply.text.startswith("将取消政治夜学") and "11月25日" in reply.text, reply.text
    assert chat.say("sec", "确认", chat="g1").text.startswith("已取消")
    assert "11月25日" not in chat.say("li", "日程", chat="g1").text


def test_resume_said_of_one_party_group_restores_no_other_groups_meeting(runtime, chat):
    """恢复 党小组会 第一党小组, nothing paused: the 第二党小组's meeting, cancelled by 取消活动,
    is not the one meant, and stays cancelled."""
    from tests.test_whose_activity import _branch

    _branch(runtime, GROUP_ONE, GROUP_TWO)
    assert not chat.say("sec", "开始 党小组会 第二党小组", chat="g1").is_error
    chat.say("sec", "取消活动 开错了", chat="g1")
    assert chat.say("sec", "确认", chat="g1").text.startswith("已取消")
    reply = chat.say("sec", "恢复 党小组会 第一党小组", chat="g1")
    assert reply.is_error and "没有暂停" in reply.text, reply.text
    with Session(runtime.engine) as session:
        assert [a.status for a in session.exec(select(Activity))] == ["cancelled"]


def test_resume_said_of_a_party_group_not_in_the_branch_restores_nothing(runtime, chat):
    """恢复 党小组会 第三党小组 (no such group): 「本支部没有「第三党小组」」, as before 恢复夜学
    read what was cancelled; the 第二党小组's meeting cancelled by 取消活动 is not the one
    meant, and stays cancelled (it was restored, its group told, with 第三党小组 as reason)."""
    from tests.test_whose_activity import _branch

    _branch(runtime, GROUP_ONE, GROUP_TWO)
    assert not chat.say("sec", "开始 党小组会 第二党小组", chat="g1").is_error
    chat.say("sec", "取消活动 开错了", chat="g1")
    assert chat.say("sec", "确认", chat="g1").text.startswith("已取消")
    reply = chat.say("sec", "恢复 党小组会 第三党小组", chat="g1")
    assert reply.is_error and "本支部没有「第三党小组」" in reply.text, reply.text
    with Session(runtime.engine) as session:
        assert [a.status for a in session.exec(select(Activity))] == ["cancelled"]


def test_a_long_party_group_meeting_is_set_for_its_group_on_yes(runtime, chat):
    """设置 党小组会 第一党小组 … 5小时, asked about and confirmed: the question kept the words
    after the group's name, and 「确认」 read 每月第一个周三 as the group, answering 「党小组会
    要写明是哪个党小组」; nothing was set, though the secretary had said yes."""
    from storage.models import PartyGroup
    from tests.test_whose_activity import _branch

    _branch(runtime)
    asked = chat.say("sec", "设置 党小组会 第一党小组 每月第一个周三 14:00 5小时", chat="g1")
    assert "一次5小时" in asked.text and "发送「确认」" in asked.text, asked.text
    done = chat.say("sec", "确认", chat="g1")
    assert done.text.startswith("已设置"), done.text
    with Session(runtime.engine) as session:
        assert [(s.rule, s.duration_minutes, g.name) for s, g in session.exec(
            select(Schedule, PartyGroup).join(
                PartyGroup, PartyGroup.id == Schedule.party_group_id)).all()] == [
            ("每月第一个周三 14:00", 300, "第一党小组")]


def test_resuming_reminders_not_paused_names_the_senders_own_nudges_turned_off(
        chat, engine, branch):
    # The secretary sent 不要提醒我; weeks later 「开启提醒」 to have the nudges back was told
    # only 「城关支部的活动提醒没有暂停」, and the nudges stayed off, the way back unsaid.
    chat.say("sec", "不要提醒我", chat="g1")
    reply = chat.say("sec", "开启提醒", chat="g1")
    assert reply.is_error and reply.text.startswith("城关支部的活动提醒没有暂停。"), reply.text
    assert "「恢复提醒我」" in reply.text, reply.text
    with Session(engine) as session:
        assert session.exec(select(Member).where(Member.name == "王书记")).one().nudges_off
    assert chat.say("sec", "恢复提醒我", chat="g1").text.startswith("好的")
    assert "恢复提醒我" not in chat.say("sec", "恢复提醒", chat="g1").text


def test_a_member_turns_back_on_the_nudges_they_turned_off_in_the_words_they_used(
        chat, engine, branch):
    # 小李 sent 关闭提醒 (his own nudges, a member having no other); 开启提醒 was refused
    # 「仅限委员、书记、管理员使用」 and his nudges stayed off, the opposite words a dead end.
    assert chat.say("li", "关闭提醒", chat="g1").text.startswith("好的，不再私聊提醒你")
    reply = chat.say("li", "开启提醒", chat="g1")
    assert not reply.is_error and reply.text.startswith("好的，活动开始后"), reply.text
    with Session(engine) as session:
        assert not session.exec(select(Member).where(Member.name == "小李")).one().nudges_off
    # A secretary's 开启提醒 is still the branch's reminders.
    assert chat.say("sec", "开启提醒", chat="g1").text.startswith("城关支部的活动提醒没有暂停")
