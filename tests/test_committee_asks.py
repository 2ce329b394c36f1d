"""What the committee's loop asks in chat of a day or a month gone by: 昨天谁没来, 红黄蓝榜 9月,
and a leader's 明天有活动吗, end to end through the chat core."""

from __future__ import annotations

from storage.models import Role
from tests.conftest import local
from tests.factories import bind_chat, make_member, seed
from tests.test_figures import night_studies, run_ticks


def _monday_night_then_tuesday(runtime, chat, clock):
    """城关支部's 政治夜学 on Monday 7 December: 李明 checked in, 张强 did not; on Tuesday
    the secretary opens a 主题党日, 张强 checks in and 李明 does not."""
    night_studies(runtime, "每周一 19:30", zhang=True)

    def leaders(session):
        bind_chat(session, None, "g-leaders", leaders=True)
        make_member(session, None, "王局", role=Role.LEADER, wecom="boss")
    seed(runtime.engine, leaders)
    clock.set(local(2026, 12, 5, 20, 0))
    run_ticks(runtime, clock, local(2026, 12, 7, 19, 35))
    assert not chat.say("li", "签到", chat="g1").is_error
    assert not chat.say("sec", "签到", chat="g1").is_error
    run_ticks(runtime, clock, local(2026, 12, 8, 10, 0))
    assert not chat.say("sec", "开始 主题党日 学习党章", chat="g1").is_error
    assert not chat.say("zhang", "签到", chat="g1").is_error


def test_who_was_missing_yesterday_is_answered_privately(runtime, chat, clock):
    """昨天谁没来 was answered 你是想发送「谁没来」吗, and 谁没来 gives the activity under way
    today: the secretary is told, privately, who missed yesterday's, and only that."""
    _monday_night_then_tuesday(runtime, chat, clock)
    for said in ("昨天谁没来", "昨天谁没签到？", "昨晚谁没来"):
        reply = chat.say("sec", said)
        assert not reply.is_error, reply.text
        assert reply.text == "政治夜学（12月7日 19:30）未签到 1 人：张强", (said, reply.text)
    # Today's list is still today's.
    assert "未签到 2 人：李明、王书记" in chat.say("sec", "谁没来").text


def test_who_was_missing_yesterday_is_not_named_in_the_group(runtime, chat, clock):
    _monday_night_then_tuesday(runtime, chat, clock)
    group = chat.say("sec", "昨天谁没来", chat="g1").text
    assert "张强" not in group
    assert group == ("政治夜学（12月7日 19:30）：还有 1 人未签到。"
                     "名单请私聊我发送「未签到 昨天」查看。")
    # The words it gives read as it says.
    assert chat.say("sec", "未签到 昨天").text == "政治夜学（12月7日 19:30）未签到 1 人：张强"


def test_a_member_asking_who_was_missing_yesterday_is_told_no_names(runtime, chat, clock):
    _monday_night_then_tuesday(runtime, chat, clock)
    for where in (None, "g1"):
        reply = chat.say("li", "昨天谁没来", chat=where) if where else chat.say("li", "昨天谁没来")
        assert reply.is_error and "张强" not in reply.text
        assert "仅限" in reply.text


def test_a_day_that_held_nothing_says_so_rather_than_another_days_list(runtime, chat, clock):
    """前天谁没来 on Tuesday (Sunday held nothing) gave Monday's names under 前天."""
    _monday_night_then_tuesday(runtime, chat, clock)
    reply = chat.say("sec", "前天谁没来").text
    assert reply.startswith("前天（12月6日）没有活动。"), reply
    assert "张强" not in reply and "李明" not in reply


def test_a_leader_asking_who_was_missing_yesterday_sees_each_branch_count(runtime, chat, clock):
    _monday_night_then_tuesday(runtime, chat, clock)
    for where in (None, "g-leaders"):
        reply = chat.say("boss", "昨天谁没来", chat=where) if where else chat.say("boss", "昨天谁没来")
        assert reply.text.splitlines() == [
            "昨天（12月7日）的活动（1 个）：",
            "· 城关支部 政治夜学（12月7日 19:30）：未签到 1 人",
            "发送「未签到 支部名称 昨天」查看名单，例如：未签到 城关 昨天"], reply.text
    named = chat.say("boss", "未签到 城关 昨天").text
    assert named == "政治夜学（12月7日 19:30）未签到 1 人：张强"
