"""The fifth round of words people type, end to end: what a member, a secretary and a
leader send, and what they read back."""

from __future__ import annotations

from tests.conftest import local
from tests.test_figures import drain, night_studies, run_ticks


def test_remind_everyone_says_what_djbot_already_does(runtime, chat, clock):
    """提醒一下大家签到 from the secretary was 没有这个指令. djbot reminds once by itself,
    privately (no nagging, nobody named in the group): it says so and how to see who is
    missing, and sends nothing."""
    night_studies(runtime, "每周二 19:30", zhang=True)
    clock.set(local(2026, 12, 8, 19, 35))
    for said in ("提醒一下大家签到", "提醒大家签到。", "@党建助手 催一下签到"):
        reply = chat.say("sec", said, chat="g1")
        assert not reply.is_error, reply.text
        assert "15 分钟" in reply.text and "私聊提醒" in reply.text, reply.text
        assert "「未签到」" in reply.text
    assert chat.say("li", "提醒大家签到", chat="g1").is_error  # a member reminds nobody


def test_asked_whether_a_day_holds_an_activity_the_answer_leads(runtime, chat, clock):
    """明天有活动吗 answered with the whole agenda, the question's answer left to find."""
    night_studies(runtime, "每周三 19:30")
    clock.set(local(2026, 12, 7, 20, 0))  # Monday
    tuesday = chat.say("li", "明天有活动吗", chat="g1").text
    assert tuesday.startswith("明天（12月8日 周二）没有活动，下一次是12月9日 周三 19:30 政治夜学。")
    assert "的日程：" in tuesday and "接下来：" in tuesday  # the agenda as before
    for said in ("后天有什么活动", "周三有活动吗？", "日程 周三"):
        wednesday = chat.say("li", said, chat="g1").text
        assert "（12月9日 周三）有：19:30 政治夜学。" in wednesday.splitlines()[0], said
    assert chat.say("li", "日程", chat="g1").text.startswith("城关支部的日程：")


def test_who_is_on_leave_today_says_when_today_holds_nothing(runtime, chat, clock):
    """今天谁请假了 on a day without an activity answered for the last one, a week before,
    as if it were today's."""
    night_studies(runtime, "每周三 19:30", zhang=True)
    clock.set(local(2026, 12, 7, 20, 0))
    run_ticks(runtime, clock, local(2026, 12, 9, 12, 0))
    assert not chat.say("li", "请假 值班", chat="g1").is_error
    run_ticks(runtime, clock, local(2026, 12, 10, 9, 0))  # Thursday: nothing today
    reply = chat.say("sec", "今天谁请假了").text
    assert reply.startswith("今天（12月10日）没有活动，以下是最近一次活动的情况：\n政治夜学"), reply
    assert "12月9日" in reply
    # Asked without a day, or on the day itself, there is no such line.
    assert "没有活动" not in chat.say("sec", "谁请假了").text


def test_who_is_on_leave_is_named_privately_when_nobody_is_missing(runtime, chat, clock):
    """谁请假了 (请假名单) privately, everyone else present: 应到的同志都已签到或请假, and the
    names on leave it asked for were left out."""
    night_studies(runtime, "每周三 19:30", zhang=True)
    clock.set(local(2026, 12, 7, 20, 0))
    run_ticks(runtime, clock, local(2026, 12, 9, 12, 0))
    assert not chat.say("li", "请假 值班", chat="g1").is_error
    run_ticks(runtime, clock, local(2026, 12, 9, 19, 25))
    for who in ("sec", "zhang"):
        assert not chat.say(who, "签到", chat="g1").is_error
    private = chat.say("sec", "谁请假了").text
    assert private.endswith("应到的同志都已签到或请假。\n已请假 1 人：李明"), private
    group = chat.say("sec", "谁请假了", chat="g1").text
    assert "李明" not in group  # names never go to the group


def test_asked_how_long_one_studied_is_told_not_recorded(runtime, chat, clock):
    """我今天学习了多少分钟 was read as a study with no length (缺少学习时长), 我学了多久 was no
    command: they ask, and are told today's and this week's minutes."""
    night_studies(runtime, "每周三 19:30")
    clock.set(local(2026, 12, 8, 9, 0))  # Tuesday
    assert not chat.say("li", "学习 理论 40").is_error
    clock.set(local(2026, 12, 9, 9, 0))
    assert not chat.say("li", "看了学习强国30分钟").is_error
    # 我的学习时长 was 「「我的学习」后面不用写别的，收到了「时长」」.
    for said in ("我今天学习了多少分钟？", "我学了多久", "学习记录", "我的学习时长",
                 "我的学习情况", "本周学习时长"):
        reply = chat.say("li", said)
        assert not reply.is_error, reply.text
        assert reply.text.startswith("今天已记录学习 30 分钟，本周 70 分钟。"), reply.text
        assert "记录学习请写" not in reply.text  # one who logs is not taught how, each time
    clock.set(local(2026, 12, 14, 9, 0))  # a new week, nothing logged: how to log is said
    assert "记录学习请写：学习 理论 45" in chat.say("li", "我的学习").text


def test_asked_in_the_group_ones_study_minutes_go_privately(runtime, chat, clock):
    """我的学习 in the branch group read a member's minutes (本周 0 分钟) out to everyone:
    the group hears only that it was sent, the member reads it privately."""
    night_studies(runtime, "每周三 19:30")
    clock.set(local(2026, 12, 8, 9, 0))
    assert not chat.say("li", "学习 理论 40").is_error
    reply = chat.say("li", "我的学习", chat="g1")
    assert "分钟" not in reply.text and "私聊" in reply.text, reply.text
    sent = [text for _, kind, target, text in drain(runtime, clock) if target == "li"]
    assert any(text.startswith("今天已记录学习 40 分钟，本周 40 分钟。") for text in sent), sent
    assert chat.say("li", "我的学习").text.startswith("今天已记录学习 40 分钟")  # privately, as ever
