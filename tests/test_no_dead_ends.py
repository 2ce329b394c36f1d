"""No dead ends: a leader in a private chat, a secretary asking for 周报, and replies that
say the date, the activity and what was replaced."""

from __future__ import annotations

import pytest

from storage.models import Role
from tests.factories import bind_chat, make_branch, make_member, seed


@pytest.fixture
def bureau(runtime):
    def build(session):
        cg = make_branch(session, "城关派出所党支部")
        jj = make_branch(session, "交警大队党支部")
        make_member(session, cg, "王建国", role=Role.SECRETARY, wecom="cg-sec")
        make_member(session, cg, "周强", wecom="zq")
        make_member(session, cg, "李明", wecom="lm")
        make_member(session, jj, "徐海涛", role=Role.SECRETARY, wecom="jj-sec")
        make_member(session, jj, "马丽", wecom="ml")
        make_member(session, None, "赵振华", role=Role.LEADER, wecom="boss")
        bind_chat(session, cg, "g-cg")
        bind_chat(session, jj, "g-jj")
        bind_chat(session, None, "g-leaders", leaders=True)
    seed(runtime.engine, build)


def test_a_leaders_private_missing_lists_every_running_activity_counts_first(chat, bureau):
    assert "没有进行中的活动" in chat.say("boss", "未签到").text
    chat.say("cg-sec", "开始 主题党日", chat="g-cg")
    chat.say("jj-sec", "开始 夜学", chat="g-jj")
    chat.say("zq", "签到", chat="g-cg")
    overview = chat.say("boss", "未签到").text
    assert "进行中的活动（2 个）" in overview
    assert "· 城关派出所党支部 主题党日（09:00）：未签到 2 人" in overview
    assert "· 交警大队党支部 政治夜学（09:00）：未签到 2 人" in overview
    assert "李明" not in overview  # names on request only
    names = chat.say("boss", "未签到 城关").text
    assert "未签到 2 人：" in names and {"王建国", "李明"} <= set(names.split("：")[-1].split("、"))


def test_a_leaders_private_board_agenda_and_activity(chat, bureau, clock):
    board = chat.say("boss", "排行榜")
    assert not board.is_error and "全局 本月积分排行" in board.text
    agenda = chat.say("boss", "日程")
    assert not agenda.is_error and "城关派出所党支部：还没有固定日程" in agenda.text
    chat.say("cg-sec", "设置 主题党日 每月15日 14:30 2小时", chat="g-cg")
    agenda = chat.say("boss", "日程").text
    assert "城关派出所党支部：12月15日 周二 14:30 主题党日" in agenda
    one = chat.say("boss", "日程 城关")
    assert not one.is_error and one.text.startswith("城关派出所党支部的日程")
    chat.say("cg-sec", "开始 主题党日 学习新党章", chat="g-cg")
    shown = chat.say("boss", "活动 城关")
    assert not shown.is_error and "主题党日「学习新党章」" in shown.text and "进行中" in shown.text


def test_a_secretary_gets_the_weekly_report_for_the_own_branch(chat, bureau):
    report = chat.say("cg-sec", "周报")
    assert not report.is_error and "城关派出所党支部" in report.text
    assert "交警大队党支部" not in report.text
    everyone = chat.say("boss", "周报").text
    assert "城关派出所党支部" in everyone and "交警大队党支部" in everyone
    assert chat.say("zq", "周报").is_error  # members do not get it


def test_replies_say_the_date_and_the_time_once(chat, bureau, clock):
    opened = chat.say("cg-sec", "开始 主题党日", chat="g-cg")
    assert "开始了" in opened.text
    clock.advance(minutes=3)
    checked = chat.say("zq", "签到", chat="g-cg").text
    assert checked == "周强 签到成功：主题党日（09:00），积分 +3。", checked
    leave = chat.say("lm", "请假 值班", chat="g-cg").text
    assert "11月23日 09:00" in leave  # the day the leave is for, not just a time
    approve = chat.say("cg-sec", "批准请假 李明", chat="g-cg")
    assert "李明 的请假在提交时已自动批准" in approve.text and "不用再批准" in approve.text


def test_a_replaced_schedule_shows_the_old_one(chat, bureau):
    first = chat.say("cg-sec", "设置 主题党日 每月15日 14:30 2小时", chat="g-cg").text
    assert first.startswith("已设置") and "原来的日程" not in first
    second = chat.say("cg-sec", "设置 主题党日 每月20日 15:00", chat="g-cg").text
    assert second.startswith("已改为 城关派出所党支部 主题党日：每月20日 15:00")
    assert "原来的日程（已替换）：每月15日 14:30，2小时" in second


def test_dates_are_written_one_way(chat, bureau, clock):
    chat.say("cg-sec", "设置 夜学 每周三 19:30", chat="g-cg")
    agenda = chat.say("zq", "日程", chat="g-cg").text
    assert "月0" not in agenda  # 12月2日, never 12月02日


def test_on_the_first_of_the_month_the_tiers_show_the_month_just_ended(runtime, chat, clock):
    from tests.conftest import local
    from tests.test_points import tiered_bureau

    seed(runtime.engine, tiered_bureau)  # a theme day in each branch on 5 November
    clock.set(local(2026, 12, 1, 8, 0))
    reply = chat.say("boss", "红黄蓝榜", chat="g-leaders").text
    assert reply.startswith("红黄蓝榜（上月") and "本期还没有开展活动" in reply
    assert "🔴 红榜（1 个）\n· 红星支部" in reply
    asked = chat.say("boss", "红黄蓝榜 本月", chat="g-leaders").text  # asked for: as asked
    assert "本期未开展活动" in asked


def test_a_leader_in_the_leaders_group_asks_who_is_missing(chat, bureau):
    quiet = chat.say("boss", "未签到", chat="g-leaders").text
    assert "没有进行中的活动" in quiet and "未签到 城关" in quiet  # how to go on
    chat.say("cg-sec", "开始 主题党日", chat="g-cg")
    chat.say("jj-sec", "开始 夜学", chat="g-jj")
    overview = chat.say("boss", "未签到", chat="g-leaders").text
    assert "进行中的活动（2 个）" in overview, overview  # not 「最近没有活动」
    assert "· 城关派出所党支部 主题党日（09:00）：未签到 3 人" in overview
    assert "王建国" not in overview and "李明" not in overview  # counts only in a group
    one = chat.say("boss", "未签到 城关", chat="g-leaders").text
    assert "还有 3 人未签到" in one and "李明" not in one
    assert "私聊我发送「未签到 城关派出所党支部」" in one  # privately, the same question gives the names
    assert "李明" in chat.say("boss", "未签到 城关").text


def test_a_leader_asking_for_the_activity_is_told_to_name_a_branch(chat, bureau):
    chat.say("cg-sec", "开始 主题党日", chat="g-cg")
    for where in (None, "g-leaders"):
        reply = chat.say("boss", "活动", chat=where).text
        assert "活动 城关" in reply, reply  # not a bare 「还没有活动记录」
